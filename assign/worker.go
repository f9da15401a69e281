package assign

import (
	"context"
	"log/slog"
	"time"

	"parley/crm"
)

// Store is what the worker uses of the store.
type Store interface {
	crm.AssignQueue
	crm.EventService
}

// Options configure a Worker. Store and Online are required.
type Options struct {
	Store Store
	// Online reports whether an agent has a live socket on any node: the server's
	// presence. An agent without one is offline whatever it chose.
	Online func(agentID int64) bool
	// Bus, when set, wakes the worker as soon as something changes: stored events and
	// live presence. Without it, or for what it misses, the worker looks every Poll.
	Bus    crm.Bus
	Logger *slog.Logger
	// Now is the clock of offline times. Default time.Now.
	Now func() time.Time
	// Poll is how often the worker looks without being woken. Default 5 seconds.
	Poll time.Duration
	// Batch bounds the waiting tickets one round reads. Default 500.
	Batch int
}

// Worker runs auto-assignment. It runs on one node of a cluster at a time (cmd/parley
// holds a lease), but its writes are safe without it: AutoAssign checks again.
type Worker struct {
	opt Options
	log *slog.Logger
	// offlineSince is when each agent was first seen offline by this worker: after a
	// restart the count starts again, which at worst returns tickets later.
	offlineSince map[int64]time.Time
	returned     map[int64]bool
}

// New returns a worker with opt's defaults filled in.
func New(opt Options) *Worker {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Poll <= 0 {
		opt.Poll = 5 * time.Second
	}
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	return &Worker{opt: opt, log: opt.Logger, offlineSince: map[int64]time.Time{}, returned: map[int64]bool{}}
}

// wakers are the stored event types after which a round may hand out tickets: a new or
// changed ticket (a resolve frees room), an agent's availability.
var wakers = map[string]bool{crm.EventTicketCreated: true, crm.EventTicketUpdated: true, crm.EventAgentUpdated: true}

// coalesce is how long after a waking event a round starts, so that a burst is one round
// (and one cursor write) rather than one per commit: ingest shares the writer (make bench).
const coalesce = 250 * time.Millisecond

// Run assigns until ctx is done, then returns nil.
func (w *Worker) Run(ctx context.Context) error {
	ctx = crm.AsSystem(ctx)
	var wake <-chan *crm.Event
	if w.opt.Bus != nil {
		sub := w.opt.Bus.Subscribe(256)
		defer sub.Close()
		wake = sub.C
	}
	tick := time.NewTicker(w.opt.Poll)
	defer tick.Stop()
	cursor, err := w.opt.Store.AssignCursor(ctx)
	if err != nil && ctx.Err() == nil {
		w.log.Error("read assign cursor", "err", err)
	}
	for {
		cursor = w.feed(ctx, cursor)
		w.Round(ctx)
		var soon <-chan time.Time
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				break wait
			case <-soon:
				break wait
			case e, ok := <-wake:
				if !ok {
					wake = nil
				} else if (e.ID == 0 && e.Type == crm.EventPresence || wakers[e.Type]) && soon == nil {
					soon = time.After(coalesce)
				}
			}
		}
	}
}

// feed reads the events stored since the cursor and stores the cursor past them. The
// round that follows reads the state they changed, so that an event missed live (on
// another node, during a restart) is still acted on.
func (w *Worker) feed(ctx context.Context, cursor int64) int64 {
	start := cursor
	for ctx.Err() == nil {
		events, err := w.opt.Store.Events(ctx, cursor, 1000)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("read events for assignment", "err", err)
			}
			break
		}
		if len(events) == 0 {
			break
		}
		cursor = events[len(events)-1].ID
		if len(events) < 1000 {
			break
		}
	}
	if cursor != start {
		if err := w.opt.Store.SetAssignCursor(ctx, cursor); err != nil && ctx.Err() == nil {
			w.log.Warn("store assign cursor", "err", err)
		}
	}
	return cursor
}

// Round returns the tickets of agents offline too long to the queue and hands out the
// waiting tickets. It reports how many tickets it assigned.
func (w *Worker) Round(ctx context.Context) int {
	ctx = crm.AsSystem(ctx)
	st, err := w.opt.Store.AssignState(ctx, w.opt.Batch)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("read assignment state", "err", err)
		}
		return 0
	}
	now := w.opt.Now()
	if w.returnOffline(ctx, st, now) {
		if st, err = w.opt.Store.AssignState(ctx, w.opt.Batch); err != nil {
			return 0
		}
	}
	v := NewView(st, w.opt.Online)
	n := 0
	for _, t := range st.Waiting {
		agent, capacity, ok := v.Decide(t)
		if !ok {
			continue
		}
		if _, err := w.opt.Store.AutoAssign(ctx, t.ID, agent, capacity); err != nil {
			if crm.ErrorCode(err) != crm.ECONFLICT && ctx.Err() == nil {
				w.log.Warn("auto-assign", "ticket", t.ID, "agent", agent, "err", err)
			}
			continue // the next round reads the state again
		}
		v.Took(agent, t.Channel, now)
		n++
	}
	return n
}

// returnOffline returns the open unanswered tickets of each agent offline for longer
// than the setting, once per absence. It reports whether it returned any.
func (w *Worker) returnOffline(ctx context.Context, st *crm.AssignState, now time.Time) bool {
	limit := time.Duration(st.Settings.OfflineMinutes) * time.Minute
	any := false
	for _, a := range st.Agents {
		offline := a.Availability == crm.Unavailable || !w.opt.Online(a.ID)
		if !offline {
			delete(w.offlineSince, a.ID)
			delete(w.returned, a.ID)
			continue
		}
		since, ok := w.offlineSince[a.ID]
		if !ok {
			since = now
			// An agent who chose offline left at that moment, even before this worker ran.
			if a.Availability == crm.Unavailable && !a.ChangedAt.IsZero() && a.ChangedAt.Before(now) && a.ChangedAt.Unix() > 0 {
				since = a.ChangedAt
			}
			w.offlineSince[a.ID] = since
		}
		if limit <= 0 || w.returned[a.ID] || now.Sub(since) < limit || a.Load == nil || sum(a.Load) == 0 {
			continue
		}
		n, err := w.opt.Store.ReturnToQueue(ctx, a.ID)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("return tickets to the queue", "agent", a.ID, "err", err)
			}
			continue
		}
		w.returned[a.ID] = true
		if n > 0 {
			any = true
			w.log.Info("returned an offline agent's tickets to the queue", "agent", a.ID, "tickets", n)
		}
	}
	return any
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
