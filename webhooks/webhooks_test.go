package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
	"parley/outbound"
	"parley/webhooks"
)

// clock is the settable clock of the store and the worker: a test moves it to the next
// attempt of a delivery instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on loopback that answers each request with the status
// answer gives for it (1 for the first), and keeps what it got.
type receiver struct {
	srv     *httptest.Server
	answer  func(n int, w http.ResponseWriter)
	mu      sync.Mutex
	hits    []hit
	conns   atomic.Int64 // connections accepted
	active  atomic.Int64 // requests in progress
	maxBusy atomic.Int64 // the most requests in progress at once
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		busy := rc.active.Add(1)
		defer rc.active.Add(-1)
		for {
			m := rc.maxBusy.Load()
			if busy <= m || rc.maxBusy.CompareAndSwap(m, busy) {
				break
			}
		}
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{r.Header.Clone(), body})
		n := len(rc.hits)
		rc.mu.Unlock()
		rc.answer(n, w)
	}))
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.conns.Add(1)
		}
	}
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	return rc
}

func status(code int) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) { w.WriteHeader(code) }
}

func (rc *receiver) got() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.hits)
}

// env is a store on the test's clock with an api inbox, and a worker to start.
type env struct {
	t     *testing.T
	clock *clock
	st    *storetest.Env
	inbox int64
	n     int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := newClock()
	st := teststore.Open(t, teststore.Options{Now: c.Now})
	return &env{t: t, clock: c, st: st, inbox: storetest.MustCreateInbox(t, st, crm.KindAPI, "Shop").ID}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs a worker on the test's clock, allowed to reach loopback, until the
// returned stop is called or the test ends.
func (e *env) start(opt webhooks.Options) (stop func()) {
	e.t.Helper()
	opt.Store = e.st
	opt.Now = e.clock.Now
	if opt.Client == nil {
		opt.Client = outbound.New(outbound.Options{AllowPrivateNetwork: true}) // the receivers are on loopback
	}
	if opt.Poll == 0 {
		opt.Poll = 5 * time.Millisecond
	}
	opt.Bus = e.st.Bus
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := webhooks.New(opt).Run(ctx); err != nil {
			e.t.Errorf("worker: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	e.t.Cleanup(stop)
	return stop
}

// webhook creates an enabled webhook to url for the event types.
func (e *env) webhook(url string, events ...string) *crm.Webhook {
	e.t.Helper()
	if len(events) == 0 {
		events = nil
	}
	w, err := e.st.CreateWebhook(crm.AsSystem(context.Background()), &crm.Webhook{URL: url, Events: events, Enabled: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// ticket files a message of a new customer: a new ticket and its events.
func (e *env) ticket() *crm.IngestResult {
	e.t.Helper()
	e.n++
	return storetest.MustIngest(e.t, e.st, &crm.Inbound{InboxID: e.inbox, Channel: crm.ChannelAPI,
		ExternalID: fmt.Sprintf("m%d", e.n), From: []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("c%d@example.com", e.n)}},
		Subject: "Where is my parcel?", Text: "Hello"})
}

// log returns the deliveries of a webhook, oldest first.
func (e *env) log(webhookID int64) []*crm.WebhookDelivery {
	e.t.Helper()
	list, _, err := e.st.WebhookDeliveries(crm.AsSystem(context.Background()), webhookID, crm.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(list)
	return list
}

// waitFor waits until cond holds, failing the test after ten seconds with what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitAttempts waits until the only delivery of a webhook has had n attempts and
// returns it.
func (e *env) waitAttempts(webhookID int64, n int) *crm.WebhookDelivery {
	e.t.Helper()
	var d *crm.WebhookDelivery
	waitFor(e.t, fmt.Sprintf("attempt %d of webhook %d", n, webhookID), func() bool {
		list := e.log(webhookID)
		if len(list) != 1 {
			return false
		}
		d = list[0]
		return d.Attempts >= n
	})
	if d.Attempts != n {
		e.t.Fatalf("delivery has %d attempts, want %d", d.Attempts, n)
	}
	return d
}

// signedAt returns the t= of a signature header.
func signedAt(t *testing.T, header string) int64 {
	t.Helper()
	for _, p := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(p, "t="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("signature %q: %v", header, err)
			}
			return n
		}
	}
	t.Fatalf("signature %q has no t=", header)
	return 0
}

// A receiver that fails twice with 500 and then answers 200 gets the event three times:
// the same body and X-Parley-Delivery each time, each signed afresh with a valid
// signature of a later timestamp; the log then shows it delivered after three attempts.
func TestRetriedUntilDelivered(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n <= 2 {
			http.Error(w, "database is down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	wh := e.webhook(rc.srv.URL+"/parley", crm.EventTicketCreated)
	res := e.ticket()
	e.start(webhooks.Options{})

	d := e.waitAttempts(wh.ID, 1)
	if d.State != crm.WebhookPending || d.StatusCode != 500 || d.Response != "database is down\n" || d.NextAttemptAt == nil {
		t.Fatalf("after the first attempt %+v", d)
	}
	if wait := d.NextAttemptAt.Sub(*d.LastAttemptAt); wait < 5*time.Second || wait > 10*time.Second {
		t.Fatalf("first retry after %s, want 5 to 10 s", wait)
	}
	e.clock.Set(*d.NextAttemptAt)
	d = e.waitAttempts(wh.ID, 2)
	e.clock.Set(*d.NextAttemptAt)
	waitFor(t, "the delivery to succeed", func() bool { return e.log(wh.ID)[0].State == crm.WebhookDelivered })
	d = e.log(wh.ID)[0]
	if d.Attempts != 3 || d.StatusCode != 204 || d.NextAttemptAt != nil || d.Error != "" || d.URL != wh.URL {
		t.Fatalf("delivered %+v", d)
	}

	hits := rc.got()
	if len(hits) != 3 {
		t.Fatalf("the receiver got %d requests, want 3", len(hits))
	}
	events, err := e.st.Events(crm.AsSystem(context.Background()), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ev *crm.Event
	for _, x := range events {
		if x.Type == crm.EventTicketCreated && x.TicketID == res.TicketID {
			ev = x
		}
	}
	want, _ := webhooks.Envelope(ev)
	var last int64
	for i, h := range hits {
		if string(h.body) != string(want) {
			t.Errorf("attempt %d body %s, want %s", i+1, h.body, want)
		}
		if got := h.header.Get("X-Parley-Delivery"); got != strconv.FormatInt(d.ID, 10) {
			t.Errorf("attempt %d X-Parley-Delivery %q, want %d", i+1, got, d.ID)
		}
		if got := h.header.Get("X-Parley-Event"); got != crm.EventTicketCreated {
			t.Errorf("attempt %d X-Parley-Event %q", i+1, got)
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("attempt %d Content-Type %q", i+1, ct)
		}
		sig := h.header.Get("X-Parley-Signature")
		if err := webhooks.Verify(wh.Secret, sig, h.body, time.Unix(signedAt(t, sig), 0), time.Minute); err != nil {
			t.Errorf("attempt %d signature %q: %v", i+1, sig, err)
		}
		if err := webhooks.Verify("another secret", sig, h.body, time.Unix(signedAt(t, sig), 0), time.Minute); err == nil {
			t.Errorf("attempt %d signature verifies with another secret", i+1)
		}
		if at := signedAt(t, sig); at <= last {
			t.Errorf("attempt %d signed at %d, not after the previous attempt's %d", i+1, at, last)
		} else {
			last = at
		}
	}
	var body struct {
		ID   int64           `json:"id"`
		Type string          `json:"type"`
		At   time.Time       `json:"at"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(hits[0].body, &body); err != nil || body.ID != ev.ID || body.Type != crm.EventTicketCreated ||
		body.At.IsZero() || len(body.Data) < 2 {
		t.Fatalf("body %s: %v", hits[0].body, err)
	}
}

// A 4xx other than 408 and 429, and a redirect, fail a delivery at once; 408, 429 and
// 5xx are retried, after the receiver's Retry-After when it gives one.
func TestWhichAnswersAreRetried(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		status int
		state  string
	}{
		{400, crm.WebhookFailed}, {401, crm.WebhookFailed}, {404, crm.WebhookFailed}, {410, crm.WebhookFailed},
		{422, crm.WebhookFailed}, {301, crm.WebhookFailed},
		{408, crm.WebhookPending}, {429, crm.WebhookPending}, {500, crm.WebhookPending}, {502, crm.WebhookPending},
		{503, crm.WebhookPending},
	}
	hooks := make([]*crm.Webhook, len(tests))
	for i, tt := range tests {
		rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
			if tt.status == 301 {
				w.Header().Set("Location", "https://elsewhere.example/")
			}
			if tt.status == 429 {
				w.Header().Set("Retry-After", "120")
			}
			w.WriteHeader(tt.status)
		})
		hooks[i] = e.webhook(rc.srv.URL, crm.EventTicketCreated)
	}
	e.ticket()
	e.start(webhooks.Options{})
	for i, tt := range tests {
		d := e.waitAttempts(hooks[i].ID, 1)
		if d.State != tt.state || d.StatusCode != tt.status {
			t.Errorf("%d: state %s (status %d), want %s", tt.status, d.State, d.StatusCode, tt.state)
		}
		if (d.NextAttemptAt != nil) != (tt.state == crm.WebhookPending) {
			t.Errorf("%d: next attempt %v", tt.status, d.NextAttemptAt)
		}
		if tt.status == 429 && d.NextAttemptAt.Sub(*d.LastAttemptAt) < 120*time.Second {
			t.Errorf("429 with Retry-After 120: retried after %s", d.NextAttemptAt.Sub(*d.LastAttemptAt))
		}
		if tt.status == 301 && !strings.Contains(d.Error, "redirects are not followed") {
			t.Errorf("301: error %q", d.Error)
		}
	}
	// A failed delivery is never tried again.
	e.clock.Set(e.clock.Now().Add(24 * time.Hour))
	due, err := e.st.DueWebhooks(crm.AsSystem(context.Background()), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if slices.Contains(due, hooks[i].ID) != (tt.state == crm.WebhookPending) {
			t.Errorf("%d: due %v", tt.status, due)
		}
	}
}

// A receiver that does not answer within the timeout, and an address where nothing
// listens, are retried like a 5xx.
func TestTimeoutsAndConnectionErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	slow := newReceiver(t, func(_ int, w http.ResponseWriter) { <-release })
	defer close(release)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	hs, hg := e.webhook(slow.srv.URL, crm.EventTicketCreated), e.webhook(gone.URL, crm.EventTicketCreated)
	e.ticket()
	e.start(webhooks.Options{Timeout: 100 * time.Millisecond})
	for _, wh := range []*crm.Webhook{hs, hg} {
		d := e.waitAttempts(wh.ID, 1)
		if d.State != crm.WebhookPending || d.StatusCode != 0 || d.Error == "" || d.NextAttemptAt == nil {
			t.Errorf("webhook to %s: %+v", wh.URL, d)
		}
	}
	if d := e.log(hs.ID)[0]; !strings.Contains(d.Error, "timed out") {
		t.Errorf("timeout error %q", d.Error)
	}
}

// A receiver that never answers 2xx gets retries with the default backoff until three
// days after the event, and then none: the delivery is dead.
func TestDeadAfterTheRetryWindow(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, status(http.StatusServiceUnavailable))
	wh := e.webhook(rc.srv.URL, crm.EventTicketCreated)
	e.ticket()
	e.start(webhooks.Options{})
	var d *crm.WebhookDelivery
	for n := 1; ; n++ {
		d = e.waitAttempts(wh.ID, n)
		if d.State != crm.WebhookPending {
			break
		}
		if n > 100 {
			t.Fatalf("still pending after %d attempts", n)
		}
		e.clock.Set(*d.NextAttemptAt)
	}
	if d.State != crm.WebhookDead || d.NextAttemptAt != nil {
		t.Fatalf("after the window: %+v", d)
	}
	// 12 doublings to 6 hours, then every 3 to 6 hours.
	if d.Attempts < 20 || d.Attempts > 36 {
		t.Errorf("%d attempts in three days, want 20 to 36", d.Attempts)
	}
	if end := d.CreatedAt.Add(webhooks.DefaultRetryFor); d.LastAttemptAt.After(end) || d.LastAttemptAt.Before(end.Add(-6*time.Hour)) {
		t.Errorf("last attempt at %s, window from %s to %s", d.LastAttemptAt, d.CreatedAt, end)
	}
	if got := len(rc.got()); got != d.Attempts {
		t.Errorf("the receiver got %d requests for %d attempts", got, d.Attempts)
	}
	e.clock.Set(e.clock.Now().Add(30 * 24 * time.Hour))
	if due, _ := e.st.DueWebhooks(crm.AsSystem(context.Background()), e.clock.Now()); len(due) != 0 {
		t.Fatalf("a dead delivery is due: %v", due)
	}
}

// A worker stopped while a request is under way records it, hands back what it had
// claimed and not sent, and a new worker goes on from the stored cursor: every event
// reaches the receiver exactly once, those stored while no worker ran too.
func TestRestartResumesFromTheCursor(t *testing.T) {
	e := newEnv(t)
	held := make(chan struct{})
	var once sync.Once
	inFlight := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 3 {
			once.Do(func() { close(inFlight) })
			<-held // the worker is stopped while this request waits
		}
		w.WriteHeader(http.StatusOK)
	})
	wh := e.webhook(rc.srv.URL, crm.EventTicketCreated)
	for range 10 {
		e.ticket()
	}
	stop := e.start(webhooks.Options{PerWebhook: 1})
	<-inFlight
	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	// The worker waits for the request under way before it returns.
	select {
	case <-stopped:
		t.Fatal("the worker stopped before its request under way ended")
	case <-time.After(50 * time.Millisecond):
	}
	close(held)
	<-stopped
	if got := len(rc.got()); got != 3 {
		t.Fatalf("the stopped worker sent %d requests, want 3", got)
	}
	for range 5 {
		e.ticket() // while no worker runs
	}
	e.start(webhooks.Options{})
	waitFor(t, "15 deliveries", func() bool {
		n := 0
		for _, d := range e.log(wh.ID) {
			if d.State == crm.WebhookDelivered {
				n++
			}
		}
		return n == 15
	})
	seen := map[string]bool{}
	events := map[int64]bool{}
	for _, h := range rc.got() {
		id := h.header.Get("X-Parley-Delivery")
		var body struct{ ID int64 }
		json.Unmarshal(h.body, &body)
		if seen[id] || events[body.ID] {
			t.Fatalf("delivery %s (event %d) arrived twice", id, body.ID)
		}
		seen[id], events[body.ID] = true, true
	}
	if len(seen) != 15 {
		t.Fatalf("the receiver got %d deliveries, want 15", len(seen))
	}
	for _, d := range e.log(wh.ID) {
		if d.Attempts != 1 {
			t.Fatalf("delivery %d has %d attempts", d.ID, d.Attempts)
		}
	}
}

// Deliveries to different webhooks go out in parallel: a receiver that holds its
// request until another webhook's receiver got one would wait forever otherwise. Those
// to one webhook stay within PerWebhook at a time.
func TestParallelWebhooksBounded(t *testing.T) {
	e := newEnv(t)
	other := make(chan struct{})
	var once sync.Once
	waiting := newReceiver(t, func(_ int, w http.ResponseWriter) {
		select {
		case <-other:
		case <-time.After(5 * time.Second):
			http.Error(w, "the other webhook got nothing meanwhile", http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	busy := newReceiver(t, func(_ int, w http.ResponseWriter) {
		once.Do(func() { close(other) })
		w.WriteHeader(http.StatusOK)
	})
	hw, hb := e.webhook(waiting.srv.URL, crm.EventTicketCreated), e.webhook(busy.srv.URL)
	for range 10 {
		e.ticket()
	}
	e.start(webhooks.Options{PerWebhook: 2})
	// Each ticket is three events: customer.updated, ticket.created, message.created.
	for _, c := range []struct {
		wh   *crm.Webhook
		want int
	}{{hw, 10}, {hb, 30}} {
		waitFor(t, fmt.Sprintf("%d deliveries to %s", c.want, c.wh.URL), func() bool {
			n := 0
			for _, d := range e.log(c.wh.ID) {
				if d.State == crm.WebhookDelivered {
					n++
				}
			}
			return n == c.want
		})
	}
	if m := busy.maxBusy.Load(); m > 2 || m < 1 {
		t.Fatalf("%d requests to one webhook at once, want at most 2", m)
	}
}

// With the strict outbound client, a webhook whose host name resolves to a loopback
// address is refused by the dialer before it connects: the delivery fails with the
// reason, and the receiver listening there never sees a connection.
func TestPrivateAddressRefused(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, status(http.StatusOK))
	_, port, _ := net.SplitHostPort(rc.srv.Listener.Addr().String())
	strict := outbound.New(outbound.Options{Lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "hooks.shop.example" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, fmt.Errorf("stub resolver: no such host %s", host)
	}})
	wh := e.webhook("http://hooks.shop.example:"+port+"/parley", crm.EventTicketCreated)
	e.ticket()
	e.start(webhooks.Options{Client: strict})
	d := e.waitAttempts(wh.ID, 1)
	if d.State != crm.WebhookFailed || !strings.Contains(d.Error, "refusing to connect to 127.0.0.1: loopback address") {
		t.Fatalf("delivery %+v", d)
	}
	if n := rc.conns.Load(); n != 0 || len(rc.got()) != 0 {
		t.Fatalf("the receiver saw %d connections", n)
	}
}

// Default backoff: doubling from 10 seconds to 6 hours, each delay cut by up to half at
// random.
func TestBackoff(t *testing.T) {
	full := 10 * time.Second
	for n := 1; n <= 40; n++ {
		for range 20 {
			d := webhooks.Backoff(n)
			if d < full/2 || d > full {
				t.Fatalf("Backoff(%d) = %s, want %s to %s", n, d, full/2, full)
			}
		}
		full = min(2*full, 6*time.Hour)
	}
}

func TestSignVerify(t *testing.T) {
	at := time.Unix(1741000000, 0)
	body := []byte(`{"id":1,"type":"ticket.created"}`)
	sig := webhooks.Sign("whsec_test", at, body)
	// HMAC-SHA256 of "1741000000.{...}" keyed with whsec_test, as docs/api.md computes it.
	if !strings.HasPrefix(sig, "t=1741000000,v1=") || len(sig) != len("t=1741000000,v1=")+64 {
		t.Fatalf("signature %q", sig)
	}
	for _, tt := range []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		want                 error
	}{
		{"valid", "whsec_test", sig, body, at.Add(time.Minute), nil},
		{"other secret", "whsec_other", sig, body, at, webhooks.ErrBadSignature},
		{"changed body", "whsec_test", sig, []byte(`{"id":2}`), at, webhooks.ErrBadSignature},
		{"too old", "whsec_test", sig, body, at.Add(10 * time.Minute), webhooks.ErrTooOld},
		{"changed time", "whsec_test", strings.Replace(sig, "t=1741000000", "t=1741000001", 1), body, at, webhooks.ErrBadSignature},
		{"no signature", "whsec_test", "t=1741000000", body, at, webhooks.ErrBadSignature},
		{"garbage", "whsec_test", "nonsense", body, at, webhooks.ErrBadSignature},
	} {
		if err := webhooks.Verify(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute); err != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
