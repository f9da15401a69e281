package sqlite

import (
	"context"
	"testing"

	"parley/crm"
)

// TestSearchRowsFollowEveryWrite runs each write that adds or changes a ticket subject
// or a message text, then asks FTS5 to check its indexes against the tables they index
// ('integrity-check' with rank 1 compares an index with its table: a missing, extra or stale
// row fails it), and searches.
func TestSearchRowsFollowEveryWrite(t *testing.T) {
	db, _ := openGroupDB(t)
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindPhone, Name: "Phone"})
	if err != nil {
		t.Fatal(err)
	}
	from := []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15551234567"}}
	first, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelSMS, ExternalID: "SM1",
		ThreadKey: "phone:+15551234567", Text: "parcel kettle", From: from})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { // a message on the same thread
			_, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelSMS, ExternalID: "SM2",
				ThreadKey: "phone:+15551234567", Text: "still waiting", From: from})
			return err
		},
		func() error {
			_, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "refund sent"})
			return err
		},
		func() error {
			_, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "vip customer", Internal: true})
			return err
		},
		func() error {
			subject := "broken teapot"
			_, err := db.UpdateTicket(ctx, first.TicketID, crm.TicketUpdate{Subject: &subject})
			return err
		},
		func() error {
			_, err := db.CreateTicket(ctx, &crm.NewTicket{InboxID: inbox.ID, CustomerID: first.CustomerID,
				Subject: "phone order", Body: "called about a mug"})
			return err
		},
		func() error { // a call whose message text grows with its notes
			if _, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelVoice, ExternalID: "CA1",
				Text: "call", From: from}); err != nil {
				return err
			}
			_, err := db.UpdateCall(ctx, inbox.ID, "CA1", crm.CallUpdate{Outcome: crm.CallMissed, Note: "voicemail about saucepans"})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for _, table := range []string{"tickets_fts", "messages_fts"} {
			if _, err := db.wdb.ExecContext(ctx, `INSERT INTO `+table+` (`+table+`, rank) VALUES ('integrity-check', 1)`); err != nil {
				t.Fatalf("after step %d, %s: %v", i, table, err)
			}
		}
	}
	for q, want := range map[string]int{"kettle": 1, "refund": 1, "teapot": 1, "mug": 1, "saucepans": 1, "waiting": 1} {
		res, err := db.Search(ctx, crm.SearchQuery{Q: q, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(res.Tickets) + len(res.Messages); got < want {
			t.Errorf("search %q found %d tickets and messages, want at least %d", q, got, want)
		}
	}
	// The old subject is gone from the tickets index; the first message still has it.
	if res, err := db.Search(ctx, crm.SearchQuery{Q: "parcel", Limit: 20}); err != nil {
		t.Fatal(err)
	} else if len(res.Tickets) != 0 || len(res.Messages) != 1 {
		t.Errorf("search parcel: %d tickets, %d messages; want 0 and 1", len(res.Tickets), len(res.Messages))
	}
	// The check does catch a message written without its search row.
	if _, err := db.wdb.ExecContext(ctx, `INSERT INTO messages (ticket_id, inbox_id, direction, channel, author_kind,
		text, created_at, updated_at) VALUES (?, ?, 'note', 'sms', 'system', 'unindexed words', 0, 0)`, first.TicketID, inbox.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.wdb.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`); err == nil {
		t.Fatal("integrity-check passed with a message missing from the index")
	}
}
