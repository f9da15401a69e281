package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"parley/crm"
)

// TestEventsFromTheTailAsFromTheDatabase: the events the workers read from memory are
// those the database gives after a restart, field for field, through group commits
// with a failing unit (whose event ids are taken again), customer events (whose
// inboxes are added at the end of their unit), merges and agent changes.
func TestEventsFromTheTailAsFromTheDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	opt := Options{DataDir: dir, SecretKey: bytes.Repeat([]byte{1}, 32), Bus: crm.NewBus()}
	db, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 7 {
				err := db.update(ctx, func(tx *Tx) error { return addCustomer(ctx, tx, "Gone", errors.New("fails")) })
				if err == nil {
					t.Error("the failing unit committed")
				}
				return
			}
			_, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint("m", i), ThreadKey: fmt.Sprint("t", i%3),
				FromName: fmt.Sprint("Shopper ", i%4), Text: fmt.Sprint("Where is order ", i),
				From: []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("s%d@example.com", i%4)}}})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	customers, _, err := db.Customers(ctx, "", crm.Page{})
	if err != nil || len(customers) < 2 {
		t.Fatalf("customers: %v, %v", customers, err)
	}
	if _, err := db.MergeCustomers(ctx, customers[0].ID, customers[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAgent(ctx, &crm.NewAgent{Email: "ann@shop.example", Name: "Ann", Role: crm.RoleAgent, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}

	newest, err := db.newestEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.tail.read(0, 1000, newest); !ok {
		t.Fatalf("the tail does not hold the %d events of this run", newest)
	}
	fromTail, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path, opt); err != nil {
		t.Fatal(err)
	}
	fromDB, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromTail) != len(fromDB) || int64(len(fromDB)) != newest {
		t.Fatalf("%d events from the tail, %d from the database, newest id %d", len(fromTail), len(fromDB), newest)
	}
	for i := range fromDB {
		if !reflect.DeepEqual(fromTail[i], fromDB[i]) {
			t.Errorf("event %d\nfrom the tail:     %+v\nfrom the database: %+v", fromDB[i].ID, fromTail[i], fromDB[i])
		}
	}
	// A page from the middle is the same too.
	page, err := db.Events(ctx, 5, 3)
	if err != nil || len(page) != 3 || page[0].ID != 6 {
		t.Fatalf("page after 5: %v, %v", page, err)
	}
}

// TestEventsOfAnotherProcess: an event that another process wrote into the database (a
// command run beside the server) is read, although the tail of this one never saw it,
// and the tail starts over once its ids no longer follow on.
func TestEventsOfAnotherProcess(t *testing.T) {
	db, _ := openGroupDB(t)
	ctx := crm.AsSystem(context.Background())
	ingest := func(id string) {
		t.Helper()
		if _, err := db.Ingest(ctx, &crm.Inbound{InboxID: 1, ExternalID: id, Text: "Hello " + id,
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@example.com"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	ingest("m1")
	newest, err := db.newestEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite3", db.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`INSERT INTO events (type, actor_kind, actor_id, data, at) VALUES ('agent.updated', 'system', 0, '{"id":9}', 1)`); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, newest, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Type != crm.EventAgentUpdated || string(got[0].Data) != `{"id":9}` {
		t.Fatalf("events after %d: %+v, want the other process's agent.updated", newest, got)
	}
	ingest("m2")
	all, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has id %d: %+v", i, e.ID, all)
		}
	}
	if last := all[len(all)-1]; last.Type != crm.EventMessageCreated || last.ID <= newest+1 {
		t.Fatalf("last event %+v, want m2's message.created after the other process's", last)
	}
	if after, err := db.Events(ctx, newest+1, 100); err != nil || len(after) == 0 || after[0].ID != newest+2 {
		t.Fatalf("events after the other process's: %+v, %v", after, err)
	}
}
