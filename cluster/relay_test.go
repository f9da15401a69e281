package cluster_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"parley/cluster"
	"parley/crm"
	"parley/crm/sqlite"
	"parley/crm/storetest"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// startNATS runs a NATS server in the test on a free loopback port.
func startNATS(t *testing.T) *natsserver.Server {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// node is one node of a test cluster: a relay and what its parts would receive.
type node struct {
	relay *cluster.Relay
	sub   *crm.Subscription
}

func newNode(t *testing.T, id, url string, log cluster.EventLog, poll time.Duration) *node {
	t.Helper()
	r, err := cluster.New(cluster.Options{NodeID: id, URL: url, Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetLog(context.Background(), log); err != nil {
		t.Fatal(err)
	}
	n := &node{relay: r, sub: r.Bus().Subscribe(10000)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return n
}

// storeLog is the event log of one store, which the nodes of a test share, with the
// events published to a node's bus by hand: a store commits to one node's bus only.
type storeLog struct {
	mu     sync.Mutex
	events []*crm.Event
}

func (l *storeLog) add(e *crm.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ID = int64(len(l.events) + 1)
	l.events = append(l.events, e)
}

func (l *storeLog) Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*crm.Event
	for _, e := range l.events {
		if e.ID > after && len(out) < limit {
			c := *e
			out = append(out, &c)
		}
	}
	return out, nil
}

func (l *storeLog) LatestEventID(ctx context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.events)), nil
}

// wantIDs reads stored events from sub until it has n and checks they are 1..n in order.
func wantIDs(t *testing.T, sub *crm.Subscription, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for want := int64(1); want <= int64(n); {
		select {
		case e := <-sub.C:
			if e.ID == 0 {
				continue
			}
			if e.ID != want {
				t.Fatalf("got event %d, want %d: events must arrive once each, in id order", e.ID, want)
			}
			want++
		case <-deadline:
			t.Fatalf("only %d of %d events arrived within %s", want-1, n, within)
		}
	}
}

// TestRelayDeliversEveryNodesEventsInOrder checks that the events two nodes commit reach
// a third node, and each other, once each and in id order, including those whose NATS
// messages went missing: they are read from the log.
func TestRelayDeliversEveryNodesEventsInOrder(t *testing.T) {
	ns := startNATS(t)
	log := &storeLog{}
	a := newNode(t, "a", ns.ClientURL(), log, time.Hour)
	b := newNode(t, "b", ns.ClientURL(), log, time.Hour)
	c := newNode(t, "c", ns.ClientURL(), log, time.Hour)
	for i := range 300 {
		e := &crm.Event{Type: crm.EventMessageCreated, TicketID: int64(i%7 + 1), At: time.Now()}
		log.add(e) // committed: in the log, with its id
		switch {
		case i%50 == 49:
			// A message that NATS never carries, as when a node misses it: the next
			// event's arrival makes the others read it from the log.
		case i%2 == 0:
			a.relay.Bus().Publish(e)
		default:
			b.relay.Bus().Publish(e)
		}
	}
	e := &crm.Event{Type: crm.EventTicketUpdated, TicketID: 1, At: time.Now()}
	log.add(e)
	a.relay.Bus().Publish(e)
	for _, n := range []*node{a, b, c} {
		wantIDs(t, n.sub, 301, 10*time.Second)
	}
}

// TestRelayCatchesUpWithoutNATS checks that while NATS is down, a node gets the events
// other nodes commit from the log, within the poll interval, and that live events go
// through NATS to the other nodes only, with the node that sent them.
func TestRelayCatchesUpWithoutNATS(t *testing.T) {
	ns := startNATS(t)
	log := &storeLog{}
	a := newNode(t, "a", ns.ClientURL(), log, 100*time.Millisecond)
	b := newNode(t, "b", ns.ClientURL(), log, 100*time.Millisecond)

	a.relay.Bus().Publish(&crm.Event{Type: crm.EventTyping, TicketID: 3, InboxID: 1, Actor: crm.Actor{Kind: "agent", ID: 9}})
	select {
	case e := <-b.sub.C:
		if e.Type != crm.EventTyping || e.Node != "a" || e.Actor.ID != 9 {
			t.Fatalf("live event on b = %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a typing event did not reach the other node")
	}
	if e := <-a.sub.C; e.Type != crm.EventTyping || e.Node != "" {
		t.Fatalf("live event on a itself = %+v", e)
	}

	ns.Shutdown()
	for range 20 {
		e := &crm.Event{Type: crm.EventMessageCreated, TicketID: 1}
		log.add(e)
		a.relay.Bus().Publish(e)
	}
	wantIDs(t, b.sub, 20, 5*time.Second)
	if b.relay.Connected() {
		t.Fatal("b says it is connected to a NATS server that is down")
	}
}

// TestRelayOnTheStore runs two relays over one real store, as two nodes on one database
// would be: what node a's store commits reaches node b's subscribers, in order.
func TestRelayOnTheStore(t *testing.T) {
	ns := startNATS(t)
	ra, err := cluster.New(cluster.Options{NodeID: "a", URL: ns.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "parley.db"), sqlite.Options{DataDir: dir, SecretKey: storetest.SecretKey, Bus: ra.Bus()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := ra.SetLog(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ra.Run(ctx)
	b := newNode(t, "b", ns.ClientURL(), store, time.Hour)

	inbox := storetest.MustCreateInbox(t, store, crm.KindAPI, "API")
	var want []string
	for i := range 20 {
		res := storetest.MustIngest(t, store, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint(i),
			Text: "hello", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("c%d@x.example", i)}}})
		want = append(want, fmt.Sprint(res.TicketID))
	}
	deadline := time.After(10 * time.Second)
	var last int64
	var got []string
	for len(got) < len(want) {
		select {
		case e := <-b.sub.C:
			if e.ID <= last {
				t.Fatalf("event %d after %d", e.ID, last)
			}
			last = e.ID
			if e.Type == crm.EventTicketCreated {
				got = append(got, fmt.Sprint(e.TicketID))
			}
		case <-deadline:
			t.Fatalf("node b got tickets %v, want %v", got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("node b got tickets %v, want %v", got, want)
	}
}
