package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"parley/crm"
)

func BenchmarkIngest(b *testing.B) {
	db := MustOpenDB(b)
	inbox := MustCreateInbox(b, db, crm.KindEmail, "Mail")
	ctx := crm.AsSystem(context.Background())
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint("<", i, "@bench>"),
			ThreadKey: fmt.Sprint("t", i%500), Subject: "Order question", Text: "Where is my parcel? It has been a week.",
			From: email(fmt.Sprintf("c%d@example.com", i%1000))})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTickets(b *testing.B) {
	db := MustOpenDB(b)
	inbox := MustCreateInbox(b, db, crm.KindEmail, "Mail")
	for i := range 2000 {
		db.Clock.Add(time.Second)
		MustIngest(b, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint(i), Subject: fmt.Sprint("Ticket ", i),
			Text: "hello", From: email(fmt.Sprintf("c%d@example.com", i%300))})
	}
	agent := MustCreateAgent(b, db, "ann@staff.example", crm.RoleAgent, inbox.ID)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), agent)
	b.ResetTimer()
	for b.Loop() {
		tickets, next, err := db.Tickets(ctx, crm.TicketFilter{Status: crm.StatusOpen})
		if err != nil || len(tickets) != 50 || next == "" {
			b.Fatal(len(tickets), err)
		}
	}
}
