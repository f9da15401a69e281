// Package webhooks delivers Parley's outgoing webhooks. Its worker reads the event log
// after a cursor the store keeps, so that nothing is lost on a restart or a crash, fans
// each event out into a delivery per webhook that wants it, and POSTs the deliveries
// through the outbound client, signed, retrying failures with exponential backoff and
// jitter for up to three days. Deliveries to different webhooks go out in parallel,
// within bounds. It runs on one node of a cluster at a time (cmd/parley holds a lease).
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"parley/crm"
	"parley/outbound"
)

// Store is what the worker uses of the store.
type Store interface {
	crm.WebhookQueue
}

// Options configure a Worker. Store and Client are required.
type Options struct {
	Store Store
	// Client makes every request: the program's one outbound client, which refuses
	// private and loopback addresses unless the operator allows them.
	Client *outbound.Client
	// Bus, when set, wakes the worker as soon as events are stored; without it, or for
	// events of other nodes it misses, the worker looks every Poll.
	Bus    crm.Bus
	Logger *slog.Logger
	// Now is the clock of attempts, retries and the retry window. Default time.Now.
	Now func() time.Time
	// Backoff is the delay before the retry after a delivery's attempt-th failed
	// attempt. Default Backoff.
	Backoff func(attempt int) time.Duration
	// RetryFor is how long after a delivery was queued it is retried; then it is dead.
	// Default three days.
	RetryFor time.Duration
	// Timeout bounds one request, connecting to the last byte read. Default 10 seconds.
	Timeout time.Duration
	// Poll is how often the worker looks for new events and due retries. Default one
	// second.
	Poll time.Duration
	// Workers bounds the requests in flight over all webhooks (default 32), PerWebhook
	// those to one webhook (default 8).
	Workers    int
	PerWebhook int
	// Keep is how long delivered, failed and dead deliveries stay in the log. Default 30
	// days.
	Keep time.Duration
}

// Worker delivers the webhooks. Create it with New and call Run once.
type Worker struct {
	opt    Options
	log    *slog.Logger
	client *http.Client
	slots  chan struct{} // Workers
	batch  int           // deliveries one claim takes
	lease  time.Duration
}

// Defaults of Options.
const (
	DefaultRetryFor = 72 * time.Hour
	DefaultTimeout  = 10 * time.Second
	firstBackoff    = 10 * time.Second
	maxBackoff      = 6 * time.Hour
	fanOutPage      = 1000
	coalesce        = 20 * time.Millisecond
	drainLimit      = 64 << 10 // of a response body, read so that the connection is reused
)

// New returns a worker with opt's defaults filled in.
func New(opt Options) *Worker {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Backoff == nil {
		opt.Backoff = Backoff
	}
	if opt.RetryFor <= 0 {
		opt.RetryFor = DefaultRetryFor
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Workers <= 0 {
		opt.Workers = 32
	}
	if opt.PerWebhook <= 0 {
		opt.PerWebhook = 8
	}
	if opt.Keep <= 0 {
		opt.Keep = 30 * 24 * time.Hour
	}
	w := &Worker{opt: opt, log: opt.Logger, slots: make(chan struct{}, opt.Workers), batch: 2 * opt.PerWebhook}
	w.client = opt.Client.HTTPClient(opt.Timeout)
	// A redirect is not followed: the receiver's address is the one the admin saved.
	w.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// A claim stays leased while its batch is sent, PerWebhook at a time: a lease that
	// ran out would let a delivery go twice.
	w.lease = time.Duration(w.batch/opt.PerWebhook+1)*opt.Timeout + time.Minute
	return w
}

// Backoff is the default delay before the retry after the attempt-th failed attempt:
// 10 seconds doubling up to 6 hours, of which a random part (up to half) is taken off,
// so that the retries of many deliveries that failed together spread out. Three days
// hold 20 to 36 attempts, about 25.
func Backoff(attempt int) time.Duration {
	d := firstBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d - rand.N(d/2+1)
}

// Run delivers until ctx is done and returns nil once the requests under way have
// ended and are recorded.
func (w *Worker) Run(ctx context.Context) error {
	ctx = crm.AsSystem(ctx) // every webhook gets the events of every inbox
	var wake <-chan *crm.Event
	if w.opt.Bus != nil {
		sub := w.opt.Bus.Subscribe(256)
		defer sub.Close()
		wake = sub.C
	}
	tick := time.NewTicker(w.opt.Poll)
	defer tick.Stop()
	running := map[int64]bool{} // webhooks whose lane runs
	done := make(chan int64)
	var lanes sync.WaitGroup
	defer func() {
		// Lanes report on done until they have all returned.
		go func() {
			lanes.Wait()
			close(done)
		}()
		for range done {
		}
	}()
	var pruned time.Time
	for {
		w.fanOut(ctx)
		if now := w.opt.Now(); now.Sub(pruned) > time.Hour {
			pruned = now
			if n, err := w.opt.Store.PruneWebhookDeliveries(ctx, now.Add(-w.opt.Keep)); err != nil && ctx.Err() == nil {
				w.log.Warn("prune webhook deliveries", "err", err)
			} else if n > 0 {
				w.log.Info("pruned webhook deliveries", "deleted", n)
			}
		}
		due, err := w.opt.Store.DueWebhooks(ctx, w.opt.Now())
		if err != nil && ctx.Err() == nil {
			w.log.Error("find due webhooks", "err", err)
		}
		for _, id := range due {
			if !running[id] {
				running[id] = true
				lanes.Add(1)
				go func() {
					defer lanes.Done()
					w.lane(ctx, id)
					done <- id
				}()
			}
		}
		// A stored event wakes the worker a moment later, so that the events of a busy
		// shop are fanned out a batch at a time instead of a transaction each.
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
			case id := <-done:
				delete(running, id)
			case e, ok := <-wake:
				if !ok {
					wake = nil // the bus closed: the tick goes on
				} else if e.ID != 0 && soon == nil {
					soon = time.After(coalesce)
				}
			}
		}
	}
}

// fanOut turns the events stored since the last round into deliveries.
func (w *Worker) fanOut(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := w.opt.Store.FanOutWebhooks(ctx, fanOutPage)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("fan out events to webhooks", "err", err)
			}
			return
		}
		if n < fanOutPage {
			return
		}
	}
}

// lane sends the due deliveries of one webhook, a claim at a time, until none is due.
// The requests of a claim under way when ctx ends still finish and are recorded; what
// was not sent yet is handed back.
func (w *Worker) lane(ctx context.Context, webhookID int64) {
	for ctx.Err() == nil {
		jobs, err := w.opt.Store.ClaimWebhookDeliveries(ctx, webhookID, w.opt.Now(), w.lease, w.batch)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("claim webhook deliveries", "webhook", webhookID, "err", err)
			}
			return
		}
		if len(jobs) == 0 {
			return
		}
		attempts := make([]*crm.WebhookAttempt, len(jobs))
		own := make(chan struct{}, w.opt.PerWebhook)
		var sends sync.WaitGroup
		var unsent []int64
		for i, j := range jobs {
			if !w.acquire(ctx, own) {
				for _, j := range jobs[i:] {
					unsent = append(unsent, j.Delivery.ID)
				}
				break
			}
			sends.Go(func() {
				defer w.release(own)
				attempts[i] = w.attempt(ctx, j)
			})
		}
		sends.Wait()
		var done []*crm.WebhookAttempt
		for _, a := range attempts {
			if a != nil {
				done = append(done, a)
			}
		}
		// Recorded even while shutting down: a delivery that went out and was not
		// recorded would go again after the restart.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := w.opt.Store.RecordWebhookAttempts(rctx, done); err != nil {
			w.log.Error("record webhook attempts", "webhook", webhookID, "err", err)
		}
		if err := w.opt.Store.ReleaseWebhookDeliveries(rctx, unsent, w.opt.Now()); err != nil {
			w.log.Error("hand back webhook deliveries", "webhook", webhookID, "err", err)
		}
		cancel()
		if len(jobs) < w.batch {
			return
		}
	}
}

// acquire takes a slot of the lane and one of the worker, or reports false once ctx is
// done.
func (w *Worker) acquire(ctx context.Context, own chan struct{}) bool {
	select {
	case own <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	select {
	case w.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		<-own
		return false
	}
}

func (w *Worker) release(own chan struct{}) {
	<-w.slots
	<-own
}

// attempt sends one delivery and says what became of it. The request has a timeout of
// its own and is not cut short by ctx: once sent, its answer is recorded.
func (w *Worker) attempt(ctx context.Context, j *crm.WebhookJob) *crm.WebhookAttempt {
	d := j.Delivery
	a := &crm.WebhookAttempt{DeliveryID: d.ID, URL: j.URL, At: w.opt.Now()}
	if j.Event == nil {
		a.State, a.Error = crm.WebhookFailed, fmt.Sprintf("event %d is no longer stored", d.EventID)
		return a
	}
	body, err := Envelope(j.Event)
	if err != nil {
		a.State, a.Error = crm.WebhookFailed, "encode the event: "+err.Error()
		return a
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, j.URL, strings.NewReader(string(body)))
	if err != nil {
		a.State, a.Error = crm.WebhookFailed, "bad url: "+err.Error()
		return a
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Parley-Webhooks/1")
	h.Set(HeaderEvent, j.Event.Type)
	h.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))
	// Signed afresh on every attempt: a receiver may refuse old timestamps.
	h.Set(HeaderSignature, Sign(j.Secret, w.opt.Now(), body))
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		a.Duration, a.At = time.Since(start), w.opt.Now()
		a.Error = requestError(err)
		if outbound.IsRefused(err) {
			// The address will not change by waiting; the admin changes the URL.
			a.State = crm.WebhookFailed
			w.log.Warn("webhook refused", "webhook", d.WebhookID, "delivery", d.ID, "err", a.Error)
			return a
		}
		return w.retry(a, d, 0)
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, crm.MaxWebhookResponse))
	io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	resp.Body.Close()
	a.Duration, a.At = time.Since(start), w.opt.Now()
	a.StatusCode, a.Response = resp.StatusCode, text(excerpt)
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		a.State = crm.WebhookDelivered
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return w.retry(a, d, retryAfter(resp.Header.Get("Retry-After")))
	default:
		a.State = crm.WebhookFailed
		if c >= 300 && c < 400 {
			a.Error = "redirects are not followed: save the URL the receiver redirects to"
		}
		w.log.Warn("webhook delivery refused", "webhook", d.WebhookID, "delivery", d.ID, "status", c)
	}
	return a
}

// retry schedules the next attempt of a delivery that failed, no sooner than after
// (a Retry-After), or declares it dead when that falls after its retry window.
func (w *Worker) retry(a *crm.WebhookAttempt, d *crm.WebhookDelivery, after time.Duration) *crm.WebhookAttempt {
	next := a.At.Add(max(w.opt.Backoff(d.Attempts+1), after))
	if next.After(d.CreatedAt.Add(w.opt.RetryFor)) {
		a.State = crm.WebhookDead
		w.log.Warn("webhook delivery dead", "webhook", d.WebhookID, "delivery", d.ID, "attempts", d.Attempts+1,
			"status", a.StatusCode, "err", a.Error)
		return a
	}
	a.State, a.NextAttemptAt = crm.WebhookPending, next
	return a
}

// retryAfter reads a Retry-After of seconds, at most an hour; 0 for anything else.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, time.Hour)
}

// requestError says why a request got no answer, without Go's "Post \"url\":" prefix.
func requestError(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error()
	}
	if ue.Timeout() {
		return "no answer in time (timed out)"
	}
	return ue.Err.Error()
}

// text turns the start of a response body into text to store: valid UTF-8, without
// NUL bytes.
func text(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return crm.NoNUL(s)
}
