package channels_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/crm/storetest/teststore"
)

// workerLog records what InboxWorkers did with the fake workers it ran.
type workerLog struct {
	t       *testing.T
	mu      sync.Mutex
	running map[int64]string // inbox id -> the "host" the worker was started with
	starts  map[int64]int
	holding chan int64     // a held worker's inbox once its context is done
	hold    map[int64]bool // workers that wait for release after their context is done
	release chan struct{}
}

func newWorkerLog(t *testing.T) *workerLog {
	return &workerLog{t: t, running: map[int64]string{}, starts: map[int64]int{}, hold: map[int64]bool{},
		holding: make(chan int64, 1), release: make(chan struct{})}
}

func (l *workerLog) work(ctx context.Context, in *crm.Inbox) {
	host, _ := in.Config["host"].(string)
	l.mu.Lock()
	if _, ok := l.running[in.ID]; ok {
		l.t.Errorf("inbox %d: a second worker started while one runs", in.ID)
	}
	if !crm.IsSystem(ctx) {
		l.t.Errorf("inbox %d: the worker does not act as the system", in.ID)
	}
	l.running[in.ID] = host
	l.starts[in.ID]++
	l.mu.Unlock()
	<-ctx.Done()
	l.mu.Lock()
	hold := l.hold[in.ID]
	l.mu.Unlock()
	if hold {
		l.holding <- in.ID
		<-l.release
	}
	l.mu.Lock()
	delete(l.running, in.ID)
	l.mu.Unlock()
}

// wait waits until exactly the workers in want run, with those hosts.
func (l *workerLog) wait(what string, want map[int64]string) {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := maps.Clone(l.running)
		l.mu.Unlock()
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s: running %v, want %v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *workerLog) startsOf(id int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.starts[id]
}

// TestInboxWorkers runs the keeper of per-inbox workers on a real store and bus with fake
// workers: one worker per email inbox that is neither a demo nor disabled; a changed
// config restarts it, a rename does not; a disabled, deleted or new inbox is stopped or
// started; a change whose event was lost is caught by the lag check; at the end every
// worker has stopped before Run returns.
func TestInboxWorkers(t *testing.T) {
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	ctx := crm.AsSystem(context.Background())
	create := func(kind, name string, config map[string]any) *crm.Inbox {
		t.Helper()
		in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: kind, Name: name, Config: config})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	update := func(in *crm.Inbox) {
		t.Helper()
		if _, err := db.UpdateInbox(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	a := create(crm.KindEmail, "Support", map[string]any{"host": "a1"})
	b := create(crm.KindEmail, "Sales", map[string]any{"host": "b1"})
	create(crm.KindEmail, "Demo", map[string]any{"host": "demo", "demo": true})
	old := create(crm.KindEmail, "Old", map[string]any{"host": "old"})
	enable := func(in *crm.Inbox, on bool) {
		t.Helper()
		if _, err := db.SetInboxEnabled(ctx, in.ID, on); err != nil {
			t.Fatal(err)
		}
	}
	enable(old, false)
	create(crm.KindAPI, "Backoffice", map[string]any{"host": "api"})

	log := newWorkerLog(t)
	w := &channels.InboxWorkers{Kind: crm.KindEmail, Store: db, Bus: bus, Work: log.work}
	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(rctx) }()
	log.wait("at start", map[int64]string{a.ID: "a1", b.ID: "b1"})

	a.Config["host"] = "a2"
	update(a)
	log.wait("a's config changed", map[int64]string{a.ID: "a2", b.ID: "b1"})

	b.Name = "Sales team"
	update(b)
	c := create(crm.KindEmail, "Returns", map[string]any{"host": "c1"}) // its event comes after b's
	log.wait("c created", map[int64]string{a.ID: "a2", b.ID: "b1", c.ID: "c1"})
	if n := log.startsOf(b.ID); n != 1 {
		t.Errorf("a rename started b's worker %d times, want once", n)
	}

	enable(a, false)
	log.wait("a disabled", map[int64]string{b.ID: "b1", c.ID: "c1"})
	enable(old, true)
	log.wait("old enabled", map[int64]string{b.ID: "b1", c.ID: "c1", old.ID: "old"})
	enable(old, false)
	log.wait("old disabled again", map[int64]string{b.ID: "b1", c.ID: "c1"})

	if err := db.DeleteInbox(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	log.wait("c deleted", map[int64]string{b.ID: "b1"})

	// Lost events: while Run waits for b's worker to stop, the bus overflows and the
	// event of d's new config is dropped. The lag check still restarts d.
	d := create(crm.KindEmail, "Wholesale", map[string]any{"host": "d1"})
	log.wait("d created", map[int64]string{b.ID: "b1", d.ID: "d1"})
	log.mu.Lock()
	log.hold[b.ID] = true
	log.mu.Unlock()
	enable(b, false)
	select {
	case <-log.holding:
	case <-time.After(10 * time.Second):
		t.Fatal("b's worker was not stopped")
	}
	for i := range 300 {
		bus.Publish(&crm.Event{ID: int64(1000 + i), Type: crm.EventTicketUpdated, TicketID: 1})
	}
	d.Config["host"] = "d2"
	update(d)
	close(log.release)
	log.wait("after the lag", map[int64]string{d.ID: "d2"})

	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.running) != 0 {
		t.Errorf("workers still running after Run returned: %v", log.running)
	}
}

// TestInboxWorkersWithoutBus runs the workers of the inboxes there are at start, with no
// bus to announce changes.
func TestInboxWorkersWithoutBus(t *testing.T) {
	db := teststore.Open(t, teststore.Options{}).Store
	ids := map[int64]string{}
	for i := range 3 {
		host := fmt.Sprintf("h%d", i)
		in, err := db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindDiscord, Name: host,
			Config: map[string]any{"host": host}})
		if err != nil {
			t.Fatal(err)
		}
		ids[in.ID] = host
	}
	log := newWorkerLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- (&channels.InboxWorkers{Kind: crm.KindDiscord, Store: db, Work: log.work}).Run(ctx) }()
	log.wait("at start", ids)
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run = %v", err)
	}
	log.wait("after Run", map[int64]string{})
}
