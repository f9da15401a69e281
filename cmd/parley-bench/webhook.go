package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"parley/crm"
	"parley/webhooks"
)

// keyWebhookPerS is the webhook step's figure in bench/results.json.
const keyWebhookPerS = "webhook_deliveries_per_s"

// benchWebhooks measures outgoing webhook deliveries to one receiver on loopback, which
// checks each signature as a real one would. It files new tickets through the API first,
// so that there are events to send, adds a webhook for ticket.created and replays the
// stored ones (up to 10,000): the figure is the replayed deliveries over the time from
// the receiver's first request to its last, the worker's claims, requests and recorded
// outcomes included, without the filing of the events.
func benchWebhooks(ctx context.Context, s *server, sc scale, res *results) error {
	tickets := 3000
	if sc.Name == "tiny" {
		tickets = 300
	}
	var secret atomic.Pointer[string]
	empty := ""
	secret.Store(&empty)
	var got, bad atomic.Int64
	var first atomic.Pointer[time.Time]
	var want atomic.Int64
	want.Store(1 << 62)
	done := make(chan struct{})
	var once sync.Once
	check := func(n int64) {
		if n >= want.Load() {
			once.Do(func() { close(done) })
		}
	}
	recv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhooks.Verify(*secret.Load(), r.Header.Get(webhooks.HeaderSignature), body, time.Now(), 5*time.Minute) != nil {
			bad.Add(1)
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		n := got.Add(1)
		if n == 1 {
			t := time.Now()
			first.Store(&t)
		}
		check(n)
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go recv.Serve(ln)
	defer recv.Close()

	inbox, err := s.createInbox(ctx, crm.KindAPI, "Bench webhooks", map[string]any{})
	if err != nil {
		return err
	}
	run := randomHex(4)
	if _, err := runLoad(ctx, 16, tickets, 5*time.Minute, func(ctx context.Context, i int) error {
		return s.api(ctx, "POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": fmt.Sprintf("wh-%s-%d", run, i),
			"from": map[string]string{"email": fmt.Sprintf("webhook%d@bench.parley.test", i)}, "subject": "Where is my parcel?",
			"text": "It has not arrived."}, nil)
	}); err != nil {
		return fmt.Errorf("file tickets: %w", err)
	}
	var wh struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	if err := s.api(ctx, "POST", "/api/v1/webhooks", map[string]any{"url": "http://" + ln.Addr().String() + "/hook",
		"events": []string{crm.EventTicketCreated}}, &wh); err != nil {
		return err
	}
	secret.Store(&wh.Secret)
	defer s.api(context.WithoutCancel(ctx), "DELETE", fmt.Sprintf("/api/v1/webhooks/%d", wh.ID), nil, nil)

	// The worker hands out the new events within a moment; replay covers those it has.
	var queued int
	for deadline := time.Now().Add(30 * time.Second); queued == 0; {
		var rep crm.WebhookReplay
		if err := s.api(ctx, "POST", fmt.Sprintf("/api/v1/webhooks/%d/replay", wh.ID), map[string]any{"after": 0}, &rep); err != nil {
			return err
		}
		queued = rep.Queued
		if queued == 0 && time.Now().After(deadline) {
			return fmt.Errorf("no events to replay after filing %d tickets", tickets)
		} else if queued == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	want.Store(int64(queued))
	check(got.Load())
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("the receiver got %d of %d deliveries in 5 minutes", got.Load(), queued)
	case <-ctx.Done():
		return ctx.Err()
	}
	// From the first delivery to the last: the worker notices a replay at its next look
	// (every second), which is not delivery time.
	took := time.Since(*first.Load())
	if n := bad.Load(); n > 0 {
		return fmt.Errorf("%d deliveries had a bad signature", n)
	}
	slog.Info("webhook deliveries", "deliveries", queued, "took", took.Round(time.Millisecond))
	res.set(keyWebhookPerS, float64(queued-1)/took.Seconds())
	return nil
}
