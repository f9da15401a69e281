// Package cluster joins the nodes of one Parley over NATS (github.com/nats-io/nats.go):
// each node publishes the events it commits and its live events (typing, viewing,
// presence), and hands every node's events to its own hub, widget relay and workers in
// event-id order. The database's event log stays the source of truth: ids are handed out
// in commit order, so when an event with id N arrives, every id below N is committed and
// can be read from the log; a node that misses NATS messages, or runs while NATS is down,
// reads them from there, at most a second late.
package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"parley/crm"

	"github.com/nats-io/nats.go"
)

// EventLog is what the relay reads of the store: the events after an id, and the newest.
type EventLog interface {
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	LatestEventID(ctx context.Context) (int64, error)
}

// clusterNamer is a store that names the cluster its nodes form: the nodes of one
// database publish on a subject of their own, so that several Parleys (or tests) can
// share one NATS server.
type clusterNamer interface {
	ClusterID(ctx context.Context) (string, error)
}

// Options configure a Relay.
type Options struct {
	// NodeID names this node; events it publishes carry it, and it skips its own.
	NodeID string
	// URL is the NATS server, nats://host:4222.
	URL string
	// Poll is how often the log is read for events that NATS did not bring. Default 1 s.
	Poll time.Duration
	// Remote, when set, is called with every stored event that another node committed
	// (or that this node may have missed), before it is delivered: for the caches that
	// other nodes' changes invalidate.
	Remote func(*crm.Event)
	Logger *slog.Logger
}

// Relay moves events between this node and the others. Its Bus is the node's bus: what
// the store commits and the server's live events are published on it and go out to the
// other nodes; what its hub, widget relay and workers subscribe to is every node's
// events, stored ones in id order.
type Relay struct {
	opt     Options
	commits *crm.LocalBus // what this node publishes
	events  *crm.LocalBus // what this node's parts receive
	log     EventLog
	nc      *nats.Conn
	subject string
	in      chan *crm.Event   // from NATS
	sub     *crm.Subscription // of commits, from New on, so that nothing is missed
	up      atomic.Bool       // connected to NATS
	next    int64             // the id of the next stored event to deliver; owned by Run

	mu   sync.Mutex
	seen map[string]time.Time // other nodes heard from, for Nodes
}

// envelope is one event on NATS, with the node that published it.
type envelope struct {
	Node  string     `json:"node"`
	Event *crm.Event `json:"event"`
}

// New makes a relay; SetLog connects it. The store needs the relay's Bus before it
// exists, and the relay needs the store's log before it connects.
func New(opt Options) (*Relay, error) {
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.NodeID == "" {
		return nil, fmt.Errorf("cluster: a node id is required")
	}
	r := &Relay{opt: opt, commits: crm.NewBus(), events: crm.NewBus(), in: make(chan *crm.Event, 8192),
		seen: map[string]time.Time{}}
	r.sub = r.commits.Subscribe(8192)
	return r, nil
}

// SetLog gives the relay the store whose event log fills what NATS does not bring,
// starts the relay at the log's end (the node's parts resume from the log by
// themselves) and connects to NATS, which it keeps reconnecting to for as long as the
// relay runs. Call it once, before the store commits anything.
func (r *Relay) SetLog(ctx context.Context, log EventLog) error {
	ctx = crm.AsSystem(ctx)
	latest, err := log.LatestEventID(ctx)
	if err != nil {
		return fmt.Errorf("cluster: read the newest event: %w", err)
	}
	r.log, r.next = log, latest+1
	r.subject = "parley.events"
	if n, ok := log.(clusterNamer); ok {
		id, err := n.ClusterID(ctx)
		if err != nil {
			return fmt.Errorf("cluster: read the cluster's id: %w", err)
		}
		r.subject = "parley." + id + ".events"
	}
	return r.connect()
}

func (r *Relay) connect() error {
	opt := r.opt
	nc, err := nats.Connect(opt.URL, nats.Name("parley "+opt.NodeID), nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond), nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if r.up.Swap(false) {
				opt.Logger.Warn("nats disconnected: events of other nodes come from the database log until it is back",
					"url", opt.URL, "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			if !r.up.Swap(true) {
				opt.Logger.Info("nats connected again", "url", opt.URL)
			}
		}),
		nats.ConnectHandler(func(*nats.Conn) { r.up.Store(true) }))
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", opt.URL, err)
	}
	r.nc = nc
	r.up.Store(nc.IsConnected())
	if _, err := nc.Subscribe(r.subject, r.receive); err != nil {
		nc.Close()
		return fmt.Errorf("subscribe to %s: %w", r.subject, err)
	}
	if nc.IsConnected() {
		// The server has the subscription once it answers a ping: from here on, nothing
		// another node publishes is missed (before, the log would bring it a poll later).
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			opt.Logger.Warn("cluster: nats did not answer", "url", opt.URL, "err", err)
		}
	}
	return nil
}

// Bus is the node's bus in a cluster: Publish sends to every node, Subscribe receives
// from every node.
func (r *Relay) Bus() crm.Bus { return bus{r} }

type bus struct{ r *Relay }

func (b bus) Publish(events ...*crm.Event)           { b.r.commits.Publish(events...) }
func (b bus) Subscribe(buffer int) *crm.Subscription { return b.r.events.Subscribe(buffer) }

// Connected reports whether NATS is reachable now.
func (r *Relay) Connected() bool { return r.up.Load() }

// receive takes one message from NATS. It runs on nats.go's goroutine and never blocks:
// when the relay falls behind, the log has what it drops.
func (r *Relay) receive(m *nats.Msg) {
	var env envelope
	if err := json.Unmarshal(m.Data, &env); err != nil || env.Event == nil {
		r.opt.Logger.Warn("cluster: undecodable event from nats", "err", err)
		return
	}
	if env.Node == r.opt.NodeID {
		return
	}
	r.mu.Lock()
	r.seen[env.Node] = time.Now()
	r.mu.Unlock()
	env.Event.Node = env.Node
	select {
	case r.in <- env.Event:
	default: // a stored event is read from the log later; a live one is gone, as live ones may be
	}
}

// Run relays until ctx is done, then closes the connection.
func (r *Relay) Run(ctx context.Context) error {
	defer r.nc.Close()
	sub := r.sub
	defer sub.Close()
	tick := time.NewTicker(r.opt.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			r.publish(e)
			if e.ID == 0 {
				r.events.Publish(e)
			} else {
				r.sequence(ctx, e, false)
			}
			if sub.Lagged() {
				r.catchUp(ctx)
			}
		case e := <-r.in:
			if e.ID == 0 {
				r.events.Publish(e)
			} else {
				r.sequence(ctx, e, true)
			}
		case <-tick.C:
			r.catchUp(ctx)
		}
	}
}

// publish sends an event this node made to the others. One that came from another node
// (a live event another node's hub re-published) is not sent back.
func (r *Relay) publish(e *crm.Event) {
	if e.Node != "" && e.Node != r.opt.NodeID {
		return
	}
	b, err := json.Marshal(envelope{Node: r.opt.NodeID, Event: e})
	if err != nil {
		r.opt.Logger.Error("cluster: encode event", "type", e.Type, "err", err)
		return
	}
	if err := r.nc.Publish(r.subject, b); err != nil && r.up.Load() {
		r.opt.Logger.Warn("cluster: publish event", "id", e.ID, "type", e.Type, "err", err)
	}
}

// sequence delivers stored event e in id order: the ids between the last delivered one
// and e are committed (ids are handed out in commit order), so they are read from the
// log first; an id delivered already is a repeat and dropped.
func (r *Relay) sequence(ctx context.Context, e *crm.Event, remote bool) {
	if e.ID < r.next {
		return
	}
	if e.ID > r.next && !r.fill(ctx, e.ID) {
		return // the log could not be read: the tick tries again, and delivers e then
	}
	if remote && r.opt.Remote != nil {
		r.opt.Remote(e)
	}
	r.deliver(e)
}

// fill reads and delivers the events from next up to, not including, id. It reports
// whether it got them all.
func (r *Relay) fill(ctx context.Context, id int64) bool {
	for r.next < id {
		events, err := r.read(ctx, int(min(id-r.next, 1000)))
		if err != nil {
			r.opt.Logger.Warn("cluster: read missed events from the log", "after", r.next-1, "err", err)
			return false
		}
		if len(events) == 0 {
			return false // not visible yet to this read: the tick tries again
		}
		for _, m := range events {
			if m.ID >= id {
				break
			}
			if r.opt.Remote != nil {
				r.opt.Remote(m) // whose it was is not known here: treat it as another node's
			}
			r.deliver(m)
		}
	}
	return true
}

// catchUp delivers whatever the log has beyond the last delivered event: what NATS did
// not bring, or everything while NATS is down.
func (r *Relay) catchUp(ctx context.Context) {
	for {
		events, err := r.read(ctx, 1000)
		if err != nil {
			r.opt.Logger.Warn("cluster: read the event log", "after", r.next-1, "err", err)
			return
		}
		for _, e := range events {
			if r.opt.Remote != nil {
				r.opt.Remote(e)
			}
			r.deliver(e)
		}
		if len(events) < 1000 {
			return
		}
	}
}

func (r *Relay) read(ctx context.Context, limit int) ([]*crm.Event, error) {
	ctx, cancel := context.WithTimeout(crm.AsSystem(ctx), 5*time.Second)
	defer cancel()
	return r.log.Events(ctx, r.next-1, limit)
}

func (r *Relay) deliver(e *crm.Event) {
	r.next = e.ID + 1
	r.events.Publish(e)
}

// Nodes returns the other nodes heard from within window, by id.
func (r *Relay) Nodes(window time.Duration) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id, at := range r.seen {
		if time.Since(at) <= window {
			ids = append(ids, id)
		}
	}
	return ids
}
