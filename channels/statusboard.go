package channels

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"parley/crm"
)

// EventInboxStatus is a live event between the nodes of a cluster: the connection
// statuses of the inboxes whose fetcher or bot runs on the node that sends it, as
// {"<inbox id>": InboxStatus}.
const EventInboxStatus = "inbox.status"

// StatusBoard shares the connection statuses of inboxes between the nodes of a cluster.
// A mailbox's fetcher or a Discord bot runs on one node, the holder of its lease; the
// console may ask any node. Every Every, each node announces on the bus the statuses its
// own connectors report, and keeps those the other nodes announce for three rounds. Set
// the fields, then call Run once; Status is safe for concurrent use.
type StatusBoard struct {
	Bus      crm.Bus
	Registry *Registry
	Inboxes  InboxLister
	// Every is how often this node announces its statuses. Default 5 seconds.
	Every  time.Duration
	Logger *slog.Logger

	mu     sync.Mutex
	remote map[int64]heardStatus
}

type heardStatus struct {
	status InboxStatus
	heard  time.Time
}

// Run announces and gathers statuses until ctx is done. It returns nil.
func (b *StatusBoard) Run(ctx context.Context) error {
	if b.Every <= 0 {
		b.Every = 5 * time.Second
	}
	if b.Logger == nil {
		b.Logger = slog.Default()
	}
	ctx = crm.AsSystem(ctx)
	sub := b.Bus.Subscribe(256)
	defer sub.Close()
	tick := time.NewTicker(b.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			if e.Type == EventInboxStatus && e.Node != "" {
				b.heard(e)
			}
		case <-tick.C:
			b.announce(ctx)
		}
	}
}

// announce publishes the statuses this node's connectors report.
func (b *StatusBoard) announce(ctx context.Context) {
	inboxes, err := b.Inboxes.Inboxes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.Logger.Warn("list inboxes for their statuses", "err", err)
		}
		return
	}
	mine := map[int64]*InboxStatus{}
	for _, in := range inboxes {
		if r, ok := b.Registry.Connector(in.Kind).(StatusReporter); ok {
			if s := r.InboxStatus(in.ID); s != nil {
				mine[in.ID] = s
			}
		}
	}
	if len(mine) == 0 {
		return
	}
	data, err := json.Marshal(mine)
	if err != nil {
		b.Logger.Warn("encode inbox statuses", "err", err)
		return
	}
	b.Bus.Publish(&crm.Event{Type: EventInboxStatus, At: time.Now().UTC(), Data: data})
}

// heard keeps the statuses another node announced.
func (b *StatusBoard) heard(e *crm.Event) {
	var theirs map[int64]InboxStatus
	if err := json.Unmarshal(e.Data, &theirs); err != nil {
		b.Logger.Warn("inbox statuses from another node", "node", e.Node, "err", err)
		return
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.remote == nil {
		b.remote = map[int64]heardStatus{}
	}
	for id, s := range theirs {
		b.remote[id] = heardStatus{status: s, heard: now}
	}
}

// Status returns the status another node announced for an inbox in the last three
// rounds, or nil.
func (b *StatusBoard) Status(inboxID int64) *InboxStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.remote[inboxID]
	if !ok || time.Since(h.heard) > 3*b.every() {
		return nil
	}
	s := h.status
	return &s
}

func (b *StatusBoard) every() time.Duration {
	if b.Every <= 0 {
		return 5 * time.Second
	}
	return b.Every
}
