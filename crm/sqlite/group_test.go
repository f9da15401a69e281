package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
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
// callers started meanwhile queue up and commit together. The unit runs again, without
// waiting, when a unit of its batch fails.
func blockWriter(t *testing.T, db *DB) (release func(), done <-chan error) {
	t.Helper()
	started, stop, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	start := sync.OnceFunc(func() { close(started) })
	go func() {
		errc <- db.update(crm.AsSystem(context.Background()), func(tx *Tx) error {
			start()
			<-stop
			return addCustomer(crm.AsSystem(context.Background()), tx, "blocker", nil)
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
	var wg, ready sync.WaitGroup
	for i := range n {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			var fail error
			if i%3 == 0 {
				fail = errBad
			}
			ready.Done()
			errs[i] = db.update(crm.AsSystem(context.Background()), func(tx *Tx) error {
				return addCustomer(crm.AsSystem(context.Background()), tx, fmt.Sprint("c", i), fail)
			})
		}()
	}
	ready.Wait()
	before := db.commits.Load()
	release()
	wg.Wait()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	// The callers that waited behind the blocker shared commits instead of one each
	// (a failing unit ends its batch's growth, so batches here are small).
	if c := db.commits.Load() - before; c > 30 {
		t.Errorf("%d commits for the blocker and %d waiting callers, want them grouped", c, n)
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
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	cancel()
	err := db.update(ctx, func(tx *Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("cancelled before: err %v, ran %v", err, ran)
	}

	// A caller cancelled while it waits for the writer leaves without its work running.
	release, blocked := blockWriter(t, db)
	ctx, cancel = context.WithCancel(crm.AsSystem(context.Background()))
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
	ctx, cancel = context.WithCancel(crm.AsSystem(context.Background()))
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
		otherErr = db.update(crm.AsSystem(context.Background()), func(tx *Tx) error {
			return addCustomer(crm.AsSystem(context.Background()), tx, "other", nil)
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
		db.update(crm.AsSystem(context.Background()), func(tx *Tx) error {
			if err := addCustomer(crm.AsSystem(context.Background()), tx, "panicked", nil); err != nil {
				return err
			}
			panic("boom")
		})
		t.Fatal("update returned after a panic")
	}()
	if n := customerCount(t, db, "panicked"); n != 0 {
		t.Fatalf("%d rows of a panicked unit", n)
	}
	if err := db.update(crm.AsSystem(context.Background()), func(tx *Tx) error {
		return addCustomer(crm.AsSystem(context.Background()), tx, "after", nil)
	}); err != nil || customerCount(t, db, "after") != 1 {
		t.Fatalf("writer after a panic: %v", err)
	}
}

func TestGroupCommit_Closed(t *testing.T) {
	db, _ := openGroupDB(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.update(crm.AsSystem(context.Background()), func(tx *Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("update after Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestGroupCommit_RunsAgainAfterAFailure(t *testing.T) {
	db, sub := openGroupDB(t)
	errBad := errors.New("bad unit")
	runs := map[string]int{}
	newUnit := func(name string, fail error) *unit {
		return &unit{ctx: crm.AsSystem(context.Background()), done: make(chan struct{}), fn: func(tx *Tx) error {
			runs[name]++
			return addCustomer(crm.AsSystem(context.Background()), tx, name, fail)
		}}
	}
	// One batch, run by the test itself while the writer waits for callers.
	batch := []*unit{newUnit("before", nil), newUnit("bad", errBad), newUnit("after", nil)}
	w := &batcher{db: db, units: batch, timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	w.commit()
	if batch[0].err != nil || batch[2].err != nil || !errors.Is(batch[1].err, errBad) {
		t.Fatalf("errors %v, %v, %v; want nil, %v, nil", batch[0].err, batch[1].err, batch[2].err, errBad)
	}
	for _, name := range []string{"before", "after"} {
		if n := customerCount(t, db, name); n != 1 {
			t.Fatalf("%d customers %q, want 1", n, name)
		}
	}
	if n := customerCount(t, db, "bad"); n != 0 {
		t.Fatalf("%d customers of the failed unit", n)
	}
	// The failure rolled back the batch: the units up to it ran again, in savepoints.
	if runs["before"] != 2 || runs["bad"] != 2 || runs["after"] != 1 {
		t.Fatalf("runs %v, want before and bad twice, after once", runs)
	}
	// Each committed unit's event is published once.
	seen := map[string]int{}
	for range 2 {
		select {
		case e := <-sub.C:
			var data map[string]string
			json.Unmarshal(e.Data, &data)
			seen[data["name"]]++
		case <-time.After(5 * time.Second):
			t.Fatalf("events missing; have %v", seen)
		}
	}
	select {
	case e := <-sub.C:
		t.Fatalf("extra event %s", e.Data)
	default:
	}
	if seen["before"] != 1 || seen["after"] != 1 {
		t.Fatalf("published %v", seen)
	}
}

func TestCheckpointer(t *testing.T) {
	db, _ := openGroupDB(t)
	if err := db.update(crm.AsSystem(context.Background()), func(tx *Tx) error {
		return addCustomer(crm.AsSystem(context.Background()), tx, "checkpointed", nil)
	}); err != nil {
		t.Fatal(err)
	}
	// immutable=1 reads the database file alone, without the WAL: the row shows there
	// once a checkpoint copied it, which the writer alone does only after 16 MB. Such a
	// connection takes the file for unchanging, so each look is a new one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := countInFile(db.path, "checkpointed")
		if err == nil && n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the row never reached the database file: %d rows, %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countInFile counts the customers named name in the database file at path, WAL aside.
func countInFile(path, name string) (int, error) {
	file, err := sql.Open(driverName, "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return 0, err
	}
	defer file.Close()
	var n int
	err = file.QueryRow(`SELECT count(*) FROM customers WHERE name = ?`, name).Scan(&n)
	return n, err
}
