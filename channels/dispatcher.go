package channels

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"parley/crm"
)

// Dispatcher drives the outbox: it claims queued agent messages, hands each to its inbox's
// connector and records the outcome, retrying failures with exponential backoff. Claims are
// leases stored in the table, so messages queued before a crash or restart go out after it.
type Dispatcher struct {
	Outbox      crm.Outbox
	Bus         crm.Bus // optional: a message.created event of an agent or the system wakes the dispatcher at once
	Connectors  *Registry
	Logger      *slog.Logger
	Lease       time.Duration // how long a claimed message is hidden from other claims
	Poll        time.Duration // how often due retries are looked for
	MaxAttempts int           // attempts before a message fails for good
	BaseBackoff time.Duration // delay after the first failure; doubles each attempt
	MaxBackoff  time.Duration
	SendTimeout time.Duration
}

func (d *Dispatcher) defaults() {
	if d.Lease == 0 {
		d.Lease = 2 * time.Minute
	}
	if d.Poll == 0 {
		d.Poll = time.Second
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = 8
	}
	if d.BaseBackoff == 0 {
		d.BaseBackoff = 10 * time.Second
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = time.Hour
	}
	if d.SendTimeout == 0 {
		d.SendTimeout = time.Minute
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
}

// Run dispatches until ctx is done and returns nil once the sends under way have ended.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.defaults()
	ctx = crm.AsSystem(ctx) // the outbox of every inbox
	var wake <-chan *crm.Event
	if d.Bus != nil {
		sub := d.Bus.Subscribe(64)
		defer sub.Close()
		wake = sub.C
	}
	tick := time.NewTicker(d.Poll)
	defer tick.Stop()
	for {
		for d.dispatchBatch(ctx) {
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				break wait
			case e, ok := <-wake:
				if !ok {
					wake = nil // the bus closed: the tick goes on
				} else if queuedReply(e) {
					break wait // retries come with the tick
				}
			}
		}
	}
}

// queuedReply reports whether e may be a new message waiting in the outbox. Only an
// agent or the system writes one, but an agent also files inbound messages through the
// API, which under load wakes the dispatcher at every commit for an outbox with nothing
// due: the message's direction and status tell. Data it cannot read counts as a reply.
func queuedReply(e *crm.Event) bool {
	if e.Type != crm.EventMessageCreated || e.Actor.Kind == "customer" {
		return false
	}
	var m struct{ Direction, Status string }
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return true
	}
	return m.Direction == crm.DirOut && m.Status == crm.MsgQueued
}

// dispatchBatch sends one claimed batch concurrently and reports whether the batch was
// full, meaning more may be due.
func (d *Dispatcher) dispatchBatch(ctx context.Context) bool {
	const batch = 16
	outs, err := d.Outbox.ClaimOutbound(ctx, d.Lease, batch)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Error("claim outbound", "err", err)
		}
		return false
	}
	var wg sync.WaitGroup
	for _, out := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.send(ctx, out)
		}()
	}
	wg.Wait()
	return len(outs) == batch && ctx.Err() == nil
}

func (d *Dispatcher) send(ctx context.Context, out *crm.Outbound) {
	id := out.Message.ID
	var extID string
	var err error
	if IsDemo(out.Inbox) {
		extID = fmt.Sprintf("demo-sent-%d", id)
	} else if c := d.Connectors.Connector(out.Inbox.Kind); c == nil {
		err = fmt.Errorf("no connector for %s inboxes", out.Inbox.Kind)
	} else {
		sctx, cancel := context.WithTimeout(ctx, d.SendTimeout)
		extID, err = c.Send(sctx, out)
		cancel()
	}
	if err == nil {
		// Record a delivery even while shutting down: otherwise the message would be
		// claimed again after the restart and reach the customer twice.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := d.Outbox.MarkSent(mctx, id, extID); err != nil {
			d.Logger.Error("mark sent", "message", id, "err", err)
		}
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the lease expires and the message is claimed again
	}
	var retryAt time.Time
	if !IsPermanent(err) && out.Attempts < d.MaxAttempts {
		retryAt = time.Now().Add(d.backoff(out.Attempts))
	}
	d.Logger.Warn("send failed", "message", id, "inbox", out.Inbox.ID, "attempt", out.Attempts, "final", retryAt.IsZero(), "err", err)
	if err := d.Outbox.MarkFailed(ctx, id, err.Error(), retryAt); err != nil {
		d.Logger.Error("mark failed", "message", id, "err", err)
	}
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.BaseBackoff
	for i := 1; i < attempt && b < d.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, d.MaxBackoff)
}
