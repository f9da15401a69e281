package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"parley/crm"
)

// openGroupDB opens a store in a temporary directory with a bus subscription that
// records every published event.
func openGroupDB(t *testing.T) (*DB, *crm.Subscription) {
	t.Helper()
	dir := t.TempDir()
	bus := crm.NewBus()
	sub := bus.Subscribe(10000)
	db, err := Open(filepath.Join(dir, "parley.db"), Options{DataDir: dir, SecretKey: bytes.Repeat([]byte{1}, 32), Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, sub
}

// addCustomer is a unit of work: it inserts a customer named name with an event, then
// fails with fail when not nil.
func addCustomer(ctx context.Context, tx *Tx, name string, fail error) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO customers (name, created_at, updated_at) VALUES (?, ?, ?)`,
		name, ms(tx.now), ms(tx.now))
	if err != nil {
		return err
	}
	id, _ := res.LastInsertId()
	if _, err := tx.event(ctx, crm.EventCustomerUpdated, 0, id, 0, systemActor, map[string]string{"name": name}); err != nil {
		return err
	}
	return fail
}

func customerCount(t *testing.T, db *DB, name string) int {
	t.Helper()
	var n int
	if err := db.rdb.QueryRow(`SELECT count(*) FROM customers WHERE name = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// blockWriter runs a unit that holds the writer until release is closed, so that the
// callers started meanwhile queue up and commit together.
func blockWriter(t *testing.T, db *DB) (release func(), done <-chan error) {
	t.Helper()
	started, stop, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		errc <- db.update(context.Background(), func(tx *Tx) error {
			close(started)
			<-stop
			return addCustomer(context.Background(), tx, "blocker", nil)
		})
	}()
	<-started
	return sync.OnceFunc(func() { close(stop) }), errc
}

func TestGroupCommit_UnitsFailAlone(t *testing.T) {
	db, sub := openGroupDB(t)
	release, blocked := blockWriter(t, db)
	errBad := errors.New("bad unit")
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fail error
			if i%3 == 0 {
				fail = errBad
			}
			errs[i] = db.update(context.Background(), func(tx *Tx) error {
				return addCustomer(context.Background(), tx, fmt.Sprint("c", i), fail)
			})
		}()
	}
	release()
	wg.Wait()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	want := 1 // the blocker
	for i, err := range errs {
		name := fmt.Sprint("c", i)
		if i%3 == 0 {
			if !errors.Is(err, errBad) || customerCount(t, db, name) != 0 {
				t.Fatalf("unit %d: err %v, %d rows; want its own error and no row", i, err, customerCount(t, db, name))
			}
			continue
		}
		want++
		if err != nil || customerCount(t, db, name) != 1 {
			t.Fatalf("unit %d: err %v, %d rows; want committed", i, err, customerCount(t, db, name))
		}
	}
	// Every committed unit's event, and no other, was published after its commit, in
	// commit order, which is the order of the event ids.
	var last int64
	for range want {
		select {
		case e := <-sub.C:
			if e.ID <= last {
				t.Fatalf("event %d published after %d", e.ID, last)
			}
			last = e.ID
			var n int
			if err := db.rdb.QueryRow(`SELECT count(*) FROM events WHERE id = ?`, e.ID).Scan(&n); err != nil || n != 1 {
				t.Fatalf("published event %d is not stored: %v", e.ID, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("events missing")
		}
	}
	select {
	case e := <-sub.C:
		t.Fatalf("event of a failed unit published: %+v", e)
	default:
	}
}

func TestGroupCommit_Cancel(t *testing.T) {
	db, _ := openGroupDB(t)
	ran := false
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := db.update(ctx, func(tx *Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("cancelled before: err %v, ran %v", err, ran)
	}

	// A caller cancelled while it waits for the writer leaves without its work running.
	release, blocked := blockWriter(t, db)
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- db.update(ctx, func(tx *Tx) error { return addCustomer(ctx, tx, "waiting", nil) })
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}

	// A caller cancelled while its unit runs rolls back alone: its next statement fails,
	// and the unit committed beside it stays.
	ctx, cancel = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var midErr, otherErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		midErr = db.update(ctx, func(tx *Tx) error {
			if err := addCustomer(ctx, tx, "midway", nil); err != nil {
				return err
			}
			cancel()
			return addCustomer(ctx, tx, "midway", nil)
		})
	}()
	go func() {
		defer wg.Done()
		otherErr = db.update(context.Background(), func(tx *Tx) error {
			return addCustomer(context.Background(), tx, "other", nil)
		})
	}()
	release()
	wg.Wait()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(midErr, context.Canceled) || customerCount(t, db, "midway") != 0 {
		t.Fatalf("cancelled midway: err %v, %d rows", midErr, customerCount(t, db, "midway"))
	}
	if otherErr != nil || customerCount(t, db, "other") != 1 || customerCount(t, db, "blocker") != 1 {
		t.Fatalf("other units: err %v, other %d, blocker %d", otherErr, customerCount(t, db, "other"), customerCount(t, db, "blocker"))
	}
}

func TestGroupCommit_Panic(t *testing.T) {
	db, _ := openGroupDB(t)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the unit's panic", r)
			}
		}()
		db.update(context.Background(), func(tx *Tx) error {
			if err := addCustomer(context.Background(), tx, "panicked", nil); err != nil {
				return err
			}
			panic("boom")
		})
		t.Fatal("update returned after a panic")
	}()
	if n := customerCount(t, db, "panicked"); n != 0 {
		t.Fatalf("%d rows of a panicked unit", n)
	}
	if err := db.update(context.Background(), func(tx *Tx) error {
		return addCustomer(context.Background(), tx, "after", nil)
	}); err != nil || customerCount(t, db, "after") != 1 {
		t.Fatalf("writer after a panic: %v", err)
	}
}

func TestGroupCommit_Closed(t *testing.T) {
	db, _ := openGroupDB(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.update(context.Background(), func(tx *Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("update after Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
