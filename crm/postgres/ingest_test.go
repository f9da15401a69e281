package postgres_test

import (
	"context"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/postgres/pgtest"
	"parley/crm/storetest"

	"github.com/jackc/pgx/v5"
)

// TestIngestRaceWithAnotherNode files a message while another node (a connection of its
// own) holds an uncommitted insert of the same message, or of the sender's identity: the
// store's insert waits for that transaction, and once it commits, Ingest files against
// the other node's row (a duplicate, or the other node's customer) instead of failing
// or storing it twice.
func TestIngestRaceWithAnotherNode(t *testing.T) {
	url := pgtest.URL(t)
	ctx := crm.AsSystem(context.Background())
	db, err := postgres.Open(ctx, url, postgres.Options{DataDir: t.TempDir(), SecretKey: storetest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "API"})
	if err != nil {
		t.Fatal(err)
	}
	ann := []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@example.com"}}
	first, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: "m1", ThreadKey: "k", From: ann, Text: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())

	// race runs insert in a transaction of the other node, files in while it is open and
	// returns what Ingest answered after the other node committed, with the id insert
	// returned.
	race := func(t *testing.T, in *crm.Inbound, insert string, args ...any) (*crm.IngestResult, int64) {
		t.Helper()
		otx, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer otx.Rollback(context.Background())
		var theirs int64
		var xid string
		if err := otx.QueryRow(ctx, insert, args...).Scan(&theirs); err != nil {
			t.Fatal(err)
		}
		if err := otx.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
			t.Fatal(err)
		}
		type result struct {
			res *crm.IngestResult
			err error
		}
		done := make(chan result, 1)
		go func() {
			r, err := db.Ingest(ctx, in)
			done <- result{r, err}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var waiting bool
			if err := other.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'transactionid'
				AND transactionid::text = $1 AND NOT granted)`, xid).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting {
				break
			}
			select {
			case r := <-done:
				t.Fatalf("Ingest returned %+v, %v before the other node committed", r.res, r.err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the store's insert never waited for the other node's")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := otx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("Ingest = %v, want it filed against the other node's row", r.err)
			}
			return r.res, theirs
		case <-time.After(10 * time.Second):
			t.Fatal("Ingest did not return after the other node committed")
		}
		return nil, 0
	}

	t.Run("message", func(t *testing.T) {
		in := &crm.Inbound{InboxID: inbox.ID, ExternalID: "m2", ThreadKey: "k", From: ann, Text: "Hello again"}
		r, theirs := race(t, in, `INSERT INTO messages (ticket_id, inbox_id, direction, channel, author_kind,
			author_id, text, status, external_id, created_at, updated_at)
			VALUES ($1, $2, 'in', 'api', 'customer', $3, 'Hello again', 'received', 'm2', 0, 0) RETURNING id`,
			first.TicketID, inbox.ID, first.CustomerID)
		if !r.Duplicate || r.MessageID != theirs || r.TicketID != first.TicketID {
			t.Fatalf("Ingest = %+v, want duplicate of message %d in ticket %d", r, theirs, first.TicketID)
		}
		msgs, _, err := db.Messages(ctx, first.TicketID, crm.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 {
			t.Fatalf("thread has %d messages, want 2", len(msgs))
		}
	})

	t.Run("identity", func(t *testing.T) {
		bob := []crm.Identity{{Kind: crm.IdentityEmail, Address: "bob@example.com"}}
		in := &crm.Inbound{InboxID: inbox.ID, ExternalID: "b1", From: bob, Text: "Hi"}
		r, theirs := race(t, in, `WITH c AS (INSERT INTO customers (name, created_at, updated_at)
			VALUES ('Bob', 0, 0) RETURNING id)
			INSERT INTO identities (customer_id, kind, address, created_at)
			SELECT id, 'email', 'bob@example.com', 0 FROM c RETURNING customer_id`)
		if r.Duplicate || r.CustomerID != theirs {
			t.Fatalf("Ingest = %+v, want a message of customer %d", r, theirs)
		}
	})
}

// TestWritesWhileReadersAreBusy: the writer has a connection of its own, so a message is
// stored while every connection of the readers is taken (by a burst of list requests,
// say), instead of waiting for one of them.
func TestWritesWhileReadersAreBusy(t *testing.T) {
	ctx := crm.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{DataDir: t.TempDir(), SecretKey: storetest.SecretKey, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	release, err := db.HoldReaders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	type result struct {
		res *crm.IngestResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: "busy-1", Text: "Where is my parcel?",
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "gil@example.com"}}})
		done <- result{res, err}
	}()
	var res *crm.IngestResult
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("ingest while the readers are busy: %v", r.err)
		}
		res = r.res
	case <-time.After(10 * time.Second):
		release() // lets the write finish before the database is dropped
		<-done
		t.Fatal("the message was still not stored after 10 s while every reader connection was taken")
	}
	release()
	m, _, err := db.Messages(ctx, res.TicketID, crm.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m[0].Text != "Where is my parcel?" {
		t.Fatalf("thread = %+v, want the message", m)
	}
}

// TestIngestInvalidUTF8 files mail whose ids, references, report and tags hold bytes
// that are not UTF-8, which PostgreSQL refuses in text: they are stored replaced, a
// reference finds the message whose id it repeats, and nothing fails.
func TestIngestInvalidUTF8(t *testing.T) {
	ctx := crm.AsSystem(context.Background())
	db, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{DataDir: t.TempDir(), SecretKey: storetest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Support"})
	if err != nil {
		t.Fatal(err)
	}
	from := []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@example.com"}}
	first, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: "<a\xff@example.com>", From: from,
		Subject: "Caf\xe9", Text: "Hello", NewTicketTags: []string{"t\xff"}})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: "<b@example.com>", From: from,
		Text: "Again", References: []string{"<a\xff@example.com>"}})
	if err != nil {
		t.Fatal(err)
	}
	if reply.TicketID != first.TicketID || reply.NewTicket {
		t.Fatalf("reply filed in %+v, want ticket %d", reply, first.TicketID)
	}
	// A report naming an id that is not UTF-8 matches nothing: a bounce ticket of its own.
	if _, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: "<c@example.com>", From: from,
		Text: "Bounced", Bounce: &crm.Bounce{ExternalIDs: []string{"<\xfe@example.com>"}, Failed: true, Reason: "x"}}); err != nil {
		t.Fatal(err)
	}
	tk, err := db.Ticket(ctx, first.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tk.Tags) != 1 || tk.Tags[0] != "t\uFFFD" {
		t.Fatalf("tags = %q", tk.Tags)
	}
}
