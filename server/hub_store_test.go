package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest"
	"parley/server"
)

// holdFor is how long a held read of holdStore waits at most.
const holdFor = 2 * time.Second

// holdStore is the real store whose reads the hub and the helpers beside it make (stored
// events, a customer's inboxes, a ticket, sessions and tokens) can be held back on
// demand: a database made slow by a long write or a busy disk.
type holdStore struct {
	storetest.Store
	mu      sync.Mutex
	gate    chan struct{} // closed while reads go through
	entered chan string   // the name of each read that starts waiting
}

func newHoldStore(db storetest.Store) *holdStore {
	open := make(chan struct{})
	close(open)
	return &holdStore{Store: db, gate: open, entered: make(chan string, 256)}
}

// hold makes every read from now on wait until release, holdFor at most.
func (s *holdStore) hold() {
	s.mu.Lock()
	s.gate = make(chan struct{})
	s.mu.Unlock()
}

func (s *holdStore) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.gate:
	default:
		close(s.gate)
	}
}

func (s *holdStore) wait(ctx context.Context, read string) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	select {
	case <-gate:
		return
	default:
	}
	select {
	case s.entered <- read:
	default:
	}
	t := time.NewTimer(holdFor)
	defer t.Stop()
	select {
	case <-gate:
	case <-t.C:
	case <-ctx.Done():
	}
}

// waitEntered reports whether a read named read starts waiting within d.
func (s *holdStore) waitEntered(read string, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case r := <-s.entered:
			if r == read {
				return true
			}
		case <-deadline.C:
			return false
		}
	}
}

func (s *holdStore) Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error) {
	s.wait(ctx, "Events")
	return s.Store.Events(ctx, after, limit)
}

func (s *holdStore) Ticket(ctx context.Context, id int64) (*crm.Ticket, error) {
	s.wait(ctx, "Ticket")
	return s.Store.Ticket(ctx, id)
}

func (s *holdStore) SessionAgent(ctx context.Context, token string) (*crm.Agent, string, error) {
	s.wait(ctx, "SessionAgent")
	return s.Store.SessionAgent(ctx, token)
}

func (s *holdStore) Tokens(ctx context.Context, agentID int64) ([]*crm.APIToken, error) {
	s.wait(ctx, "Tokens")
	return s.Store.Tokens(ctx, agentID)
}

// newHoldEnv is a hub over a holdStore.
func newHoldEnv(t *testing.T) (*hubEnv, *holdStore) {
	t.Helper()
	var st *holdStore
	e := newHubEnvStore(t, server.Options{}, func(db storetest.Store) server.Store {
		st = newHoldStore(db)
		return st
	})
	t.Cleanup(st.release) // before the hub stops
	return e, st
}

// promptly is how soon a socket must get what the hub can send without the store.
const promptly = 50 * time.Millisecond

// TestHubNeverWaitsOnTheStore holds every read the hub could make for 2 s and checks
// that the other sockets meanwhile get their events within 50 ms: a customer event
// decides who sees it with no read, and a catch-up after a lag runs beside the hub.
func TestHubNeverWaitsOnTheStore(t *testing.T) {
	t.Run("customer event", func(t *testing.T) {
		e, st := newHoldEnv(t)
		inA, inB := e.inbox("api", "Shop A"), e.inbox("api", "Shop B")
		// Bert's ticket is filed before any agent of an inbox is connected, so no
		// earlier look-up remembers where Bert's tickets are.
		rb := e.inbound(inB, "b-1", "bert@example.com", "bert-ticket")
		alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
		bob := e.dial(e.agent("bob@test.example", crm.RoleAgent, inB))
		for _, w := range []*wsConn{alice, bob} {
			// A first frame ends the hold of a new socket, as a console's resume does.
			w.send(map[string]any{"type": "presence", "status": "online"})
			w.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
		}

		st.hold()
		ctx := crm.AsSystem(context.Background())
		name := "Bert Renamed"
		if _, err := e.db.UpdateCustomer(ctx, rb.CustomerID, crm.CustomerUpdate{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: inA, Channel: crm.ChannelAPI, ExternalID: "a-1",
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "anna@example.com"}}, Text: "during-hold"}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		alice.waitText("message.created", "during-hold")
		if d := time.Since(start); d > promptly {
			t.Fatalf("inbox A's message reached its agent after %v, want within %v", d, promptly)
		}
		bob.waitText("customer.updated", "Bert Renamed")
		if d := time.Since(start); d > promptly {
			t.Fatalf("Bert's change reached the agent of his inbox after %v, want within %v", d, promptly)
		}

		// After the hold, a later event of each inbox fences off what came before: Alice,
		// who has no ticket of Bert's, never got his change.
		st.release()
		e.inbound(inA, "a-2", "anna@example.com", "fence-a")
		alice.waitText("message.created", "fence-a")
		alice.never("Bert Renamed")
	})

	t.Run("lag catch-up", func(t *testing.T) {
		e, st := newHoldEnv(t)
		inA := e.inbox("api", "Shop A")
		alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
		bob := e.dial(e.agent("bob@test.example", crm.RoleAgent, inA))
		bobID := e.agentID("bob@test.example")
		// A stored event seen, so that a lag makes the hub re-read the log after it.
		e.inbound(inA, "a-1", "anna@example.com", "before-lag")
		alice.waitText("message.created", "before-lag")

		st.hold()
		flood := make([]*crm.Event, 3*4096)
		for i := range flood {
			flood[i] = &crm.Event{Type: crm.EventTyping} // live noise the hub ignores
		}
		lagged := false
		for range 20 {
			e.bus.Publish(flood...) // overflows the hub's subscription: a lag
			if lagged = st.waitEntered("Events", 500*time.Millisecond); lagged {
				break
			}
		}
		if !lagged {
			t.Fatal("the hub never re-read events after a flood; the test did not test a lag")
		}

		// The catch-up's read is held; the hub goes on with everything else.
		start := time.Now()
		bob.send(map[string]any{"type": "presence", "status": "away"})
		alice.waitFor("bob away", func(f wsFrame) bool {
			return f.Type == "presence" && f.num("agent_id") == bobID && f.str("status") == "away"
		})
		if d := time.Since(start); d > promptly {
			t.Fatalf("presence reached the other socket after %v during a catch-up, want within %v", d, promptly)
		}

		// A stored event waits for the catch-up, which comes first: each event once, in
		// id order.
		ctx := crm.AsSystem(context.Background())
		if _, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: inA, Channel: crm.ChannelAPI, ExternalID: "a-2",
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "anna@example.com"}}, Text: "during-catch-up"}); err != nil {
			t.Fatal(err)
		}
		st.release()
		alice.waitText("message.created", "during-catch-up")
		e.inbound(inA, "a-3", "anna@example.com", "after-catch-up")
		alice.waitText("message.created", "after-catch-up")
		var last int64
		for _, f := range alice.frames {
			if f.ID == 0 {
				continue
			}
			if f.ID <= last {
				t.Fatalf("event %d after %d:\n%s", f.ID, last, alice.dump())
			}
			last = f.ID
		}
	})
}
