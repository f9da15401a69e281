package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/postgres/pgtest"
	"parley/crm/storetest"
)

// TestEventLogTailAcrossNodes checks the promise a resuming socket relies on when several
// nodes write one database: a reader that reads the events after the last id it saw
// never skips one that commits later with a lower id. Three stores on one schema, as three
// nodes would be, each with writers filing inbound messages and changing tickets, while
// a reader tails the log; at the end the reader must have seen every id of the events
// table, in order, exactly once. Ids taken from a sequence when an event is inserted
// fail it: a transaction that took lower ids commits after one that took higher ids,
// and a read in between skips them.
func TestEventLogTailAcrossNodes(t *testing.T) {
	url := pgtest.URL(t)
	ctx := crm.AsSystem(context.Background())
	const (
		nodes   = 3
		writers = 6 // per node
		rounds  = 40
	)
	dbs := make([]*postgres.DB, nodes)
	for i := range dbs { // one after another: the first applies the migrations
		db, err := postgres.Open(ctx, url, postgres.Options{DataDir: t.TempDir(), SecretKey: storetest.SecretKey, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	inbox, err := dbs[0].CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Orders"})
	if err != nil {
		t.Fatal(err)
	}
	base, err := dbs[0].Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var start int64 // the inbox's own events come before the test's
	if len(base) > 0 {
		start = base[len(base)-1].ID
	}
	last := start

	var (
		wg       sync.WaitGroup
		done     atomic.Bool
		writeErr = make(chan error, nodes*writers)
	)
	for n, db := range dbs {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := write(ctx, db, inbox.ID, fmt.Sprintf("n%d-w%d", n, w), rounds); err != nil {
					writeErr <- err
				}
			}()
		}
	}
	go func() {
		wg.Wait()
		done.Store(true)
	}()

	// The reader pages through the log as a resuming socket does, as fast as it can, on
	// a node of its own.
	reader := dbs[nodes-1]
	var seen []int64
	during := 0 // reads that found events while writers ran
	deadline := time.Now().Add(2 * time.Minute)
	for {
		finished := done.Load() // everything committed before this read is in it
		evs, err := reader.Events(ctx, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.ID <= last {
				t.Fatalf("event %d came after %d", e.ID, last)
			}
			seen = append(seen, e.ID)
			last = e.ID
		}
		if len(evs) > 0 && !finished {
			during++
		}
		if finished && len(evs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writers did not finish within 2 minutes")
		}
	}
	close(writeErr)
	for err := range writeErr {
		t.Error(err)
	}
	if during < 20 {
		t.Errorf("the reader found events only %d times while the writers ran; the test proves nothing", during)
	}

	rows, err := dbs[0].RawQuery(ctx, `SELECT id FROM events WHERE id > ? ORDER BY id`, start)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, r := range rows {
		want = append(want, r[0].(int64))
	}
	if want := nodes * writers * rounds * 3; len(rows) < want {
		t.Fatalf("the events table has %d events, want at least %d", len(rows), want)
	}
	if !slices.Equal(seen, want) {
		var missed []int64
		for _, id := range want {
			if _, found := slices.BinarySearch(seen, id); !found {
				missed = append(missed, id)
			}
		}
		t.Fatalf("the reader saw %d events, the table holds %d; it skipped %d of them, e.g. %v",
			len(seen), len(want), len(missed), missed[:min(len(missed), 10)])
	}
	t.Logf("%d events from %d nodes, read in %d reads while they were written", len(want), nodes, during)
}

// write files rounds inbound messages as one sender, each on a new ticket and then
// again on it, and changes the ticket's priority: three commits and at least three
// events a round.
func write(ctx context.Context, db *postgres.DB, inbox int64, name string, rounds int) error {
	from := []crm.Identity{{Kind: "email", Address: name + "@example.com"}}
	for i := range rounds {
		thread := name + "-" + strconv.Itoa(i)
		res, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox, Channel: crm.ChannelAPI, ExternalID: thread + "-a",
			ThreadKey: thread, From: from, Subject: "Order " + thread, Text: "where is my order"})
		if err != nil {
			return fmt.Errorf("%s: ingest: %w", name, err)
		}
		if _, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox, Channel: crm.ChannelAPI, ExternalID: thread + "-b",
			ThreadKey: thread, From: from, Text: "any news?"}); err != nil {
			return fmt.Errorf("%s: ingest again: %w", name, err)
		}
		high := crm.PriorityHigh
		if _, err := db.UpdateTicket(ctx, res.TicketID, crm.TicketUpdate{Priority: &high}); err != nil {
			return fmt.Errorf("%s: update ticket %d: %w", name, res.TicketID, err)
		}
	}
	return nil
}
