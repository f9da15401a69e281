package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/cluster"
	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/postgres/pgtest"
	"parley/crm/storetest"
)

func openPG(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{DataDir: t.TempDir(), SecretKey: storetest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// worklog records which node runs which piece of work, and when two run one at once.
type worklog struct {
	mu      sync.Mutex
	running map[string]string // lease -> node
	twice   []string
}

func (w *worklog) work(node, name string) func(context.Context) {
	return func(ctx context.Context) {
		w.mu.Lock()
		if other, ok := w.running[name]; ok {
			w.twice = append(w.twice, name+" on "+other+" and "+node)
		}
		w.running[name] = node
		w.mu.Unlock()
		<-ctx.Done()
		w.mu.Lock()
		if w.running[name] == node {
			delete(w.running, name)
		}
		w.mu.Unlock()
	}
}

func (w *worklog) snapshot() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]string{}
	for k, v := range w.running {
		m[k] = v
	}
	return m
}

// TestLeasesRunWorkOnceAndMoveWhenANodeStops runs four pieces of work on two nodes:
// each runs on exactly one node, they spread two and two, and when a node stops its
// work moves to the other.
func TestLeasesRunWorkOnceAndMoveWhenANodeStops(t *testing.T) {
	db := openPG(t)
	log := &worklog{running: map[string]string{}}
	names := []string{"email/1", "email/2", "discord/3", "dispatcher"}
	var peers atomic.Int64 // the other nodes each node sees alive
	peers.Store(1)
	start := func(node string) (*cluster.Leases, context.CancelFunc, *sync.WaitGroup) {
		l := &cluster.Leases{Store: db, Node: node, Peers: func() int { return int(peers.Load()) }}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Go(func() { l.Hold(ctx, n, log.work(node, n)) })
		}
		return l, cancel, &wg
	}
	a, stopA, doneA := start("a")
	b, stopB, doneB := start("b")
	defer func() { stopB(); doneB.Wait() }()

	waitUntil(t, 40*time.Second, "the work spread two and two", func() bool {
		return len(log.snapshot()) == 4 && len(a.Held()) == 2 && len(b.Held()) == 2
	})
	stopA()
	doneA.Wait()
	peers.Store(0) // a's heartbeats stop
	waitUntil(t, 15*time.Second, "node b runs all four", func() bool {
		m := log.snapshot()
		for _, n := range names {
			if m[n] != "b" {
				return false
			}
		}
		return true
	})
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.twice) > 0 {
		t.Fatalf("work ran on two nodes at once: %v", log.twice)
	}
}

// TestLeaseFencesWritesOfAnOldHolder checks that once another node took a lease, the
// store refuses the writes of the holder that had it (a process paused past its
// lease's end), and takes those of the new holder.
func TestLeaseFencesWritesOfAnOldHolder(t *testing.T) {
	db := openPG(t)
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Shop", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	old, err := db.AcquireLease(ctx, "email/1", "a", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var cur crm.Lease
	waitUntil(t, 5*time.Second, "node b takes the lease", func() bool {
		cur, err = db.AcquireLease(ctx, "email/1", "b", time.Minute)
		return err == nil
	})
	if cur.Token <= old.Token {
		t.Fatalf("the new holder's token %d is not above the old one's %d", cur.Token, old.Token)
	}
	if _, err := db.AcquireLease(ctx, "email/1", "a", time.Minute); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Fatalf("node a took a lease node b holds: %v", err)
	}
	in := func(id string) *crm.Inbound {
		return &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelAPI, ExternalID: id,
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@example.com"}}, Text: "hello " + id}
	}
	if _, err := db.Ingest(crm.WithLease(ctx, old), in("old")); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Fatalf("a write fenced by the old lease: %v, want conflict", err)
	}
	if _, err := db.Ingest(crm.WithLease(ctx, cur), in("new")); err != nil {
		t.Fatalf("a write fenced by the current lease: %v", err)
	}
	list, _, err := db.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Limit: 10}})
	if err != nil || len(list) != 1 {
		t.Fatalf("tickets = %d, %v; want the new holder's one", len(list), err)
	}
}

func waitUntil(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
