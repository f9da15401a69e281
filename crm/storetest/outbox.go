package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Outbox", testOutbox)
	add("Outbox_Restart", testOutbox_Restart)
	add("Events", testEvents)
}

func testOutbox(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Mail",
		Config: map[string]any{"smtp_password": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "<in1@x>", Subject: "Hi", Text: "question",
		From: email("a@example.com")})
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "answer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "a note", Internal: true}); err != nil {
		t.Fatal(err)
	}

	claimed, err := db.ClaimOutbound(ctx, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 {
		t.Fatalf("claimed %d, want 1", len(claimed))
	}
	ob := claimed[0]
	if ob.Message.ID != m.ID || ob.Attempts != 1 || ob.Ticket.ID != r.TicketID || ob.Inbox.Secrets["smtp_password"] != "pw" ||
		ob.Customer.ID != r.CustomerID || !slices.Equal(ob.References, []string{"<in1@x>"}) || ob.Message.Author.Kind != "system" {
		t.Fatalf("outbound = %+v", ob)
	}
	// Leased: not claimed again until the lease runs out.
	if claimed, _ = db.ClaimOutbound(ctx, time.Minute, 10); len(claimed) != 0 {
		t.Fatal("claimed a leased message")
	}
	retry := db.Clock.Now().Add(30 * time.Second)
	if err := db.MarkFailed(ctx, m.ID, "smtp: 451 try later", retry); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := db.Messages(ctx, r.TicketID, crm.Page{})
	if got := msgs[1]; got.Status != crm.MsgQueued || got.Error != "smtp: 451 try later" {
		t.Fatalf("after retryable failure: %+v", got)
	}
	if claimed, _ = db.ClaimOutbound(ctx, time.Minute, 10); len(claimed) != 0 {
		t.Fatal("claimed before retryAt")
	}
	db.Clock.Add(31 * time.Second)
	if claimed, _ = db.ClaimOutbound(ctx, time.Minute, 10); len(claimed) != 1 || claimed[0].Attempts != 2 {
		t.Fatalf("claim after retryAt = %v", claimed)
	}
	if err := db.MarkSent(ctx, m.ID, "<out1@parley>"); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ = db.Messages(ctx, r.TicketID, crm.Page{})
	if got := msgs[1]; got.Status != crm.MsgSent || got.Error != "" {
		t.Fatalf("after sent: %+v", got)
	}
	db.Clock.Add(time.Hour)
	if claimed, _ = db.ClaimOutbound(ctx, time.Minute, 10); len(claimed) != 0 {
		t.Fatal("claimed a sent message")
	}
	// The next reply references the sent message too.
	m2, _ := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "follow-up"})
	claimed, _ = db.ClaimOutbound(ctx, time.Minute, 10)
	if len(claimed) != 1 || !slices.Equal(claimed[0].References, []string{"<in1@x>", "<out1@parley>"}) {
		t.Fatalf("claimed = %+v", claimed)
	}
	if err := db.MarkFailed(ctx, m2.ID, "mailbox unavailable", time.Time{}); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ = db.Messages(ctx, r.TicketID, crm.Page{})
	if got := msgs[3]; got.Status != crm.MsgFailed || got.Error != "mailbox unavailable" {
		t.Fatalf("after final failure: %+v", got)
	}
	wantCode(t, db.MarkSent(ctx, 999, ""), crm.ENOTFOUND)
	wantCode(t, db.MarkSent(ctx, r.MessageID, ""), crm.ENOTFOUND) // inbound messages are not in the outbox
}

func testOutbox_Restart(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindChat, "Chat")
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", Text: "hi", From: []crm.Identity{{Kind: crm.IdentityChat, Address: "v"}}})
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if claimed, _ := db.ClaimOutbound(ctx, time.Minute, 10); len(claimed) != 1 {
		t.Fatal("not claimed")
	}
	// The process dies before sending.
	db.Reopen(t)
	db.Clock.Add(2 * time.Minute)
	claimed, err := db.ClaimOutbound(ctx, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].Message.ID != m.ID || claimed[0].Attempts != 2 || claimed[0].Message.Channel != crm.ChannelChat {
		t.Fatalf("claimed after restart = %v", claimed)
	}
}

var systemActorForTest = crm.Actor{Kind: "system"}

func testEvents(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	a := MustCreateInbox(t, db, crm.KindEmail, "A")
	b := MustCreateInbox(t, db, crm.KindEmail, "B")
	sub := db.Bus.Subscribe(100)
	defer sub.Close()

	// Every published event must be readable from the log at once: published after commit.
	type seen struct {
		e         *crm.Event
		committed bool
	}
	got := make(chan seen, 100)
	go func() {
		for e := range sub.C {
			stored, err := db.Events(ctx, e.ID-1, 1)
			got <- seen{e, err == nil && len(stored) == 1 && stored[0].ID == e.ID}
		}
	}()
	r := MustIngest(t, db, &crm.Inbound{InboxID: b.ID, ExternalID: "1", Text: "hi", From: email("a@example.com")})
	want := []struct {
		typ   string
		inbox int64
	}{{crm.EventCustomerUpdated, 0}, {crm.EventTicketCreated, b.ID}, {crm.EventMessageCreated, b.ID}}
	for i, w := range want {
		select {
		case s := <-got:
			if !s.committed {
				t.Fatalf("event %d published before commit", s.e.ID)
			}
			if s.e.Type != w.typ || s.e.InboxID != w.inbox {
				t.Fatalf("event %d = %s inbox %d, want %s inbox %d", i, s.e.Type, s.e.InboxID, w.typ, w.inbox)
			}
			if w.typ != crm.EventCustomerUpdated && (s.e.TicketID != r.TicketID || s.e.CustomerID != r.CustomerID ||
				s.e.Actor != (crm.Actor{Kind: "customer", ID: r.CustomerID})) {
				t.Fatalf("event = %+v", s.e)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d not published", i)
		}
	}
	// The data is the object as the API shows it.
	events, err := db.Events(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var msg crm.Message
	if err := json.Unmarshal(events[len(events)-1].Data, &msg); err != nil || msg.ID != r.MessageID || msg.Text != "hi" {
		t.Fatalf("message event data %s", events[len(events)-1].Data)
	}

	// A failed transaction publishes nothing; a duplicate changes nothing.
	_, err = db.UpdateTicket(ctx, r.TicketID, crm.TicketUpdate{Status: ptr("bogus")})
	wantCode(t, err, crm.EINVALID)
	MustIngest(t, db, &crm.Inbound{InboxID: b.ID, ExternalID: "1", Text: "hi", From: email("a@example.com")})
	agent := MustCreateAgent(t, db, "ann@staff.example", crm.RoleAgent, a.ID, b.ID)
	if _, err := db.UpdateTicket(crm.WithAgent(ctx, agent), r.TicketID, crm.TicketUpdate{Priority: ptr(crm.PriorityHigh)}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.e.Type != crm.EventAgentUpdated || s.e.Actor != systemActorForTest {
		t.Fatalf("creating an agent published %+v, want agent.updated", s.e)
	}
	select {
	case s := <-got:
		if s.e.Type != crm.EventTicketUpdated || s.e.Actor != (crm.Actor{Kind: "agent", ID: agent.ID}) || s.e.InboxID != b.ID {
			t.Fatalf("next event = %+v", s.e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("update not published")
	}
	if after, _ := db.Events(ctx, 0, 0); len(after) != len(events)+2 {
		t.Fatalf("%d events stored, want %d", len(after), len(events)+2)
	}
	if page, _ := db.Events(ctx, 0, 2); len(page) != 2 || page[0].ID >= page[1].ID {
		t.Fatalf("events page = %v", page)
	}
}
