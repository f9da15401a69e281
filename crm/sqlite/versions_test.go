package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"parley/crm"
)

// Every write of the store that changes what a ticket list or a thread reads changes
// its version before the write returns, so that the server's cache of lists and
// threads never serves what was true before a change that was already answered. The
// test reads every thread and the whole list before and after each kind of write.
func TestVersionsFollowWrites(t *testing.T) {
	db := MustOpenDB(t)
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	a := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "<a1@x>", Subject: "Kettle", Text: "Where is it?",
		From: email("ann@example.com")})
	b := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "<b1@x>", Subject: "Refund", Text: "Refund please",
		From: email("bob@example.com")})
	bob := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "<b2@x>", Subject: "Other", Text: "Hello",
		From: email("bob2@example.com")})

	type state struct {
		list    string
		threads map[int64]string
	}
	read := func() state {
		t.Helper()
		tickets, _, err := db.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Limit: 200}})
		if err != nil {
			t.Fatal(err)
		}
		s := state{list: mustJSON(t, tickets), threads: map[int64]string{}}
		for _, tk := range tickets {
			msgs, _, err := db.Messages(ctx, tk.ID, crm.Page{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			s.threads[tk.ID] = mustJSON(t, msgs)
		}
		return s
	}
	var reply int64
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"inbound on a thread", func() error {
			_, err := db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, ExternalID: "<a2@x>", References: []string{"<a1@x>"},
				Subject: "Re: Kettle", Text: "Any news?", From: email("ann@example.com")})
			return err
		}},
		{"inbound with an attachment", func() error {
			_, err := db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, ExternalID: "<a3@x>", References: []string{"<a1@x>"},
				Subject: "Re: Kettle", Text: "Photo", From: email("ann@example.com"),
				Attachments: []crm.NewAttachment{{Filename: "p.png", ContentType: "image/png", Data: []byte("png")}}})
			return err
		}},
		{"note", func() error {
			_, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: a.TicketID, Body: "Checking", Internal: true})
			return err
		}},
		{"reply with a status", func() error {
			m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: a.TicketID, Body: "On its way", Status: crm.StatusPending})
			if m != nil {
				reply = m.ID
			}
			return err
		}},
		{"delivery failed, retried", func() error {
			return db.MarkFailed(ctx, reply, "mailbox full", time.Now().Add(time.Minute))
		}},
		{"sent", func() error { return db.MarkSent(ctx, reply, "<sent@x>") }},
		{"html of an inbound message", func() error { return db.SetMessageHTML(ctx, b.MessageID, "<p>Refund please</p>") }},
		{"tags", func() error {
			_, err := db.UpdateTicket(ctx, b.TicketID, crm.TicketUpdate{Tags: &[]string{"vip"}})
			return err
		}},
		{"status", func() error {
			s := crm.StatusResolved
			_, err := db.UpdateTicket(ctx, b.TicketID, crm.TicketUpdate{Status: &s})
			return err
		}},
		{"customer merge", func() error {
			_, err := db.MergeCustomers(ctx, bob.CustomerID, b.CustomerID)
			return err
		}},
		{"ticket merge", func() error {
			_, err := db.MergeTickets(ctx, bob.TicketID, b.TicketID)
			return err
		}},
		{"ticket opened by hand", func() error {
			_, err := db.CreateTicket(ctx, &crm.NewTicket{InboxID: in.ID, CustomerID: a.CustomerID, Subject: "Call", Body: "Called"})
			return err
		}},
	} {
		before := read()
		listV := db.TicketsVersion()
		threadV := map[int64]uint64{}
		for id := range before.threads {
			threadV[id] = db.ThreadVersion(id)
		}
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		after := read()
		if after.list == before.list && after.threads[a.TicketID] == before.threads[a.TicketID] &&
			after.threads[b.TicketID] == before.threads[b.TicketID] {
			t.Fatalf("%s: changed nothing the test can see", w.name)
		}
		if after.list != before.list && db.TicketsVersion() == listV {
			t.Errorf("%s: the list changed, its version did not", w.name)
		}
		for id, old := range before.threads {
			if after.threads[id] != old && db.ThreadVersion(id) == threadV[id] {
				t.Errorf("%s: the thread of ticket %d changed, its version did not", w.name, id)
			}
		}
	}

	// A change the store did not make itself, such as another node's, is announced with
	// Invalidate.
	listV, threadV := db.TicketsVersion(), db.ThreadVersion(a.TicketID)
	db.Invalidate(a.TicketID)
	if db.TicketsVersion() == listV || db.ThreadVersion(a.TicketID) == threadV {
		t.Error("Invalidate(id) left the versions as they were")
	}
	threadV = db.ThreadVersion(b.TicketID)
	db.Invalidate()
	if db.ThreadVersion(b.TicketID) == threadV {
		t.Error("Invalidate() left a thread version as it was")
	}
}

// A write that changes nothing a list or thread shows, or that fails, leaves the
// versions alone, so that cached answers stay useful.
func TestVersionsStillWithoutChange(t *testing.T) {
	db := MustOpenDB(t)
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindAPI, "API")
	a := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "a1", Subject: "Kettle", Text: "Where?", From: email("ann@example.com")})
	listV, threadV := db.TicketsVersion(), db.ThreadVersion(a.TicketID)
	s := crm.StatusOpen
	if _, err := db.UpdateTicket(ctx, a.TicketID, crm.TicketUpdate{Status: &s}); err != nil { // open already
		t.Fatal(err)
	}
	_, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: a.TicketID + 100, Body: "to nowhere"})
	wantCode(t, err, crm.ENOTFOUND)
	if res := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "a1", Subject: "Kettle", Text: "Where?",
		From: email("ann@example.com")}); !res.Duplicate {
		t.Fatal("the same message twice was not a duplicate")
	}
	if db.TicketsVersion() != listV || db.ThreadVersion(a.TicketID) != threadV {
		t.Errorf("versions moved without a change: list %d -> %d, thread %d -> %d",
			listV, db.TicketsVersion(), threadV, db.ThreadVersion(a.TicketID))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(fmt.Errorf("marshal: %w", err))
	}
	return string(b)
}
