package channels

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"

	"parley/crm"
)

// InboxLister is what InboxWorkers reads of the store.
type InboxLister interface {
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
	// Inbox returns not_found for an inbox that is gone.
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
}

// HoldFunc runs work while this node holds the lease name, until ctx is done or work
// returns; cluster.Leases.Hold is one.
type HoldFunc func(ctx context.Context, name string, work func(context.Context))

// InboxWorkers keeps one worker running per inbox of one kind, for the channels that hold
// a connection per inbox (an IMAP session, a Discord gateway). Demo inboxes and inboxes
// whose config says "disabled": true get none. An inbox.updated event restarts the worker
// of that inbox when its config or secrets changed, starts one for a new inbox and stops
// it for an inbox that is gone, disabled or turned into a demo; a lagging event
// subscription compares every inbox. Each worker has its own context and runs as the
// system. Set the fields, then call Run once.
type InboxWorkers struct {
	Kind   string // the inbox kind, crm.KindEmail for example
	Store  InboxLister
	Bus    crm.Bus // optional: without it the inboxes of the start run until the end
	Logger *slog.Logger
	// Work runs the worker of in until ctx is done. It may return early (a config it
	// cannot use): it is then started again only when the inbox changes.
	Work func(ctx context.Context, in *crm.Inbox)
	// Hold, when set, runs each worker only on the node that holds its lease, named
	// "<kind>/<inbox id>" (see cluster.Leases.Hold): several nodes on one database run
	// each inbox's connection once.
	Hold HoldFunc

	running map[int64]*inboxWorker // owned by Run's goroutine
}

type inboxWorker struct {
	key    [sha256.Size]byte
	cancel context.CancelFunc
	done   chan struct{}
}

// Run keeps the workers in step with the inboxes until ctx is done, then stops every
// worker and waits for them. It returns nil.
func (w *InboxWorkers) Run(ctx context.Context) error {
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	w.running = map[int64]*inboxWorker{}
	ctx = crm.AsSystem(ctx) // the workers file what customers sent, in every inbox
	var events <-chan *crm.Event
	var sub *crm.Subscription
	if w.Bus != nil {
		// Subscribed before the inboxes are read, so that no change falls in between.
		sub = w.Bus.Subscribe(256)
		defer sub.Close()
		events = sub.C
	}
	defer w.stopAll()
	w.reloadAll(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-events:
			if !ok {
				events = nil // the bus closed: the workers run on as they are
				continue
			}
			// A dropped event leaves a full buffer behind it, so the check after each
			// event received notices every lag.
			if sub.Lagged() {
				w.reloadAll(ctx)
			} else if e.Type == crm.EventInboxUpdated && e.InboxID != 0 {
				w.reload(ctx, e.InboxID)
			}
		}
	}
}

// wants reports whether in should have a worker.
func (w *InboxWorkers) wants(in *crm.Inbox) bool {
	return in.Kind == w.Kind && !IsDemo(in) && in.Enabled && in.DeletedAt == nil
}

// reloadAll starts, restarts or stops workers to match every stored inbox.
func (w *InboxWorkers) reloadAll(ctx context.Context) {
	inboxes, err := w.Store.Inboxes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.Logger.Error("list inboxes", "kind", w.Kind, "err", err)
		}
		return
	}
	want := map[int64]bool{}
	for _, in := range inboxes {
		if w.wants(in) {
			want[in.ID] = true
			w.ensure(ctx, in)
		}
	}
	for id := range w.running {
		if !want[id] {
			w.stop(id)
		}
	}
}

// reload brings the worker of one inbox in step with the store.
func (w *InboxWorkers) reload(ctx context.Context, id int64) {
	in, err := w.Store.Inbox(ctx, id)
	if err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
		if ctx.Err() == nil {
			w.Logger.Error("load inbox", "kind", w.Kind, "inbox", id, "err", err)
		}
		return
	}
	if err == nil && w.wants(in) {
		w.ensure(ctx, in)
	} else {
		w.stop(id)
	}
}

// ensure runs a worker with the inbox's current settings, replacing an outdated one. The
// old worker has stopped before the new one starts, so two never hold one inbox.
func (w *InboxWorkers) ensure(ctx context.Context, in *crm.Inbox) {
	key := fingerprint(in)
	if old := w.running[in.ID]; old != nil {
		if old.key == key {
			return
		}
		w.stop(in.ID)
	}
	wctx, cancel := context.WithCancel(ctx)
	iw := &inboxWorker{key: key, cancel: cancel, done: make(chan struct{})}
	w.running[in.ID] = iw
	go func() {
		defer close(iw.done)
		if w.Hold == nil {
			w.Work(wctx, in)
			return
		}
		w.Hold(wctx, fmt.Sprintf("%s/%d", w.Kind, in.ID), func(ctx context.Context) { w.Work(ctx, in) })
	}()
}

// fingerprint identifies the settings of an inbox: a worker restarts only when they
// change, not when the inbox is renamed.
func fingerprint(in *crm.Inbox) [sha256.Size]byte {
	b, _ := json.Marshal([]any{in.Config, in.Secrets}) // maps marshal in key order
	return sha256.Sum256(b)
}

// stop ends the worker of an inbox, if any, and waits for it.
func (w *InboxWorkers) stop(id int64) {
	if iw := w.running[id]; iw != nil {
		delete(w.running, id)
		iw.cancel()
		<-iw.done
	}
}

// stopAll ends every worker at once and waits for them all: a worker may take a moment
// to close its connection.
func (w *InboxWorkers) stopAll() {
	var done []chan struct{}
	for id, iw := range w.running {
		delete(w.running, id)
		iw.cancel()
		done = append(done, iw.done)
	}
	for _, d := range done {
		<-d
	}
}
