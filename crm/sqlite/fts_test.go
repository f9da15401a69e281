package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"parley/crm"
)

// TestSearchRowsFollowEveryWrite runs each write that adds or changes a ticket subject
// or a message text, catches the search backlog up, then asks FTS5 to check its indexes against the tables they index
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
		func() error { // a call whose message text grows with its notes, once indexed
			_, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelVoice, ExternalID: "CA1",
				Text: "call", From: from})
			return err
		},
		func() error {
			_, err := db.UpdateCall(ctx, inbox.ID, "CA1", crm.CallUpdate{Outcome: crm.CallMissed, Note: "voicemail about saucepans"})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if err := db.catchUpSearch(ctx); err != nil {
			t.Fatalf("after step %d, catch up the search backlog: %v", i, err)
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

// ftsIntact fails t unless the messages' search index matches the messages table.
func ftsIntact(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.wdb.Exec(`INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Fatalf("messages_fts does not match messages: %v", err)
	}
}

// TestSearchBacklogIndexesByItself stores messages and searches for none of them: the
// indexer empties the backlog on its own, and the index then matches the table.
func TestSearchBacklogIndexesByItself(t *testing.T) {
	db, _ := openGroupDB(t)
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "API"})
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := range 30 {
		res, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint("m", i), ThreadKey: fmt.Sprint("t", i%3),
			Text: fmt.Sprint("teapot number ", i), From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "a@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		last = res.MessageID
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var upto int64
		if err := db.rdb.QueryRow(`SELECT messages_upto FROM search_backlog`).Scan(&upto); err != nil {
			t.Fatal(err)
		}
		if upto == last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index holds messages up to %d, want %d", upto, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ftsIntact(t, db)
}

// TestSearchBacklogSurvivesRestart closes the store right after storing messages, before
// the indexer ran, and opens it again: a search finds them, and a message of the backlog
// whose text changed is found by its new text only.
func TestSearchBacklogSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() *DB {
		db, err := Open(filepath.Join(dir, "parley.db"), Options{DataDir: dir, SecretKey: bytes.Repeat([]byte{1}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db := open()
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindPhone, Name: "Phone"})
	if err != nil {
		t.Fatal(err)
	}
	from := []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15551234567"}}
	if _, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelSMS, ExternalID: "SM1",
		Text: "saucepan lid", From: from}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelVoice, ExternalID: "CA1",
		Text: "call", From: from}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateCall(ctx, inbox.ID, "CA1", crm.CallUpdate{Outcome: crm.CallMissed, Note: "voicemail about colanders"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = open()
	for q, want := range map[string]int{"saucepan": 1, "colanders": 1} {
		res, err := db.Search(ctx, crm.SearchQuery{Q: q, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) != want {
			t.Errorf("search %q after a restart found %d messages, want %d", q, len(res.Messages), want)
		}
	}
	ftsIntact(t, db)
}

// TestSearchFindsWhatWasStoredBefore stores and searches from several goroutines while
// others keep storing: each search finds the message its goroutine stored just before,
// however the indexer's passes and the group commits fall.
func TestSearchFindsWhatWasStoredBefore(t *testing.T) {
	db, _ := openGroupDB(t)
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "API"})
	if err != nil {
		t.Fatal(err)
	}
	ingest := func(id, text string) error {
		_, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: id, ThreadKey: id, Text: text,
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: id + "@example.com"}}})
		return err
	}
	stop := make(chan struct{})
	var noise sync.WaitGroup
	for g := range 4 {
		noise.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := ingest(fmt.Sprintf("noise%d-%d", g, i), "background chatter"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var searchers sync.WaitGroup
	for g := range 4 {
		searchers.Go(func() {
			for i := range 25 {
				word := fmt.Sprintf("kettle%dx%d", g, i)
				if err := ingest("probe-"+word, "about the "+word); err != nil {
					t.Error(err)
					return
				}
				res, err := db.Search(ctx, crm.SearchQuery{Q: word, Limit: 5})
				if err != nil {
					t.Error(err)
					return
				}
				if len(res.Messages) != 1 {
					t.Errorf("search %q right after storing it found %d messages, want 1", word, len(res.Messages))
				}
			}
		})
	}
	searchers.Wait()
	close(stop)
	noise.Wait()
	if err := db.catchUpSearch(ctx); err != nil {
		t.Fatal(err)
	}
	ftsIntact(t, db)
}
