package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// keySuggestP99 is the suggested replies' figure in bench/results.json.
const keySuggestP99 = "suggest_p99_ms"

// benchSuggest measures GET /api/v1/tickets/{id}/suggestions on the filled store, where
// every ticket has one of the 13 default reasons and three in ten are resolved or closed:
// the p99 of one request for tickets spread over the whole fill, one at a time. Full
// scale has the 1,000,000 messages; smaller scales fewer.
func benchSuggest(ctx context.Context, s *server, sc scale, res *results, info *fillInfo) error {
	n := min(500, info.tickets)
	if sc.Name == "tiny" {
		n = min(50, info.tickets)
	}
	lat := make(latencies, 0, n)
	deadline := time.Now().Add(sc.SearchLimit)
	for i := range n {
		id := 1 + int64(i)*int64(info.tickets)/int64(n)
		t := time.Now()
		if err := s.get(ctx, "/api/v1/tickets/"+strconv.FormatInt(id, 10)+"/suggestions"); err != nil {
			return fmt.Errorf("suggestions of ticket %d: %w", id, err)
		}
		lat = append(lat, time.Since(t))
		if time.Now().After(deadline) {
			break
		}
	}
	res.set(keySuggestP99, lat.pct(99))
	res.note(fmt.Sprintf("suggest: %d requests over %d tickets and %d messages, p50 %.2f ms", len(lat), info.tickets, info.messages, lat.pct(50)))
	return nil
}

// waitReasonModel waits, up to sc.CatchUpLimit, until the server trained its first
// contact-reason model: a filled database has every ticket labelled and no model, so the
// server trains one at start, which takes a core for a while; the reads are measured
// after it, as they are after the reports' catch-up.
func waitReasonModel(ctx context.Context, s *server, sc scale, res *results) error {
	start := time.Now()
	for {
		var m struct {
			Model *struct {
				Version  int64 `json:"version"`
				Examples int   `json:"examples"`
			} `json:"model"`
		}
		if err := s.api(ctx, "GET", "/api/v1/reasons/model", nil, &m); err != nil {
			return fmt.Errorf("reason model: %w", err)
		}
		if m.Model != nil {
			res.note(fmt.Sprintf("the server trained its contact-reason model on %d labelled messages %s after it started; reads were measured after that",
				m.Model.Examples, time.Since(s.started).Round(100*time.Millisecond)))
			return nil
		}
		if time.Since(start) > sc.CatchUpLimit {
			res.note(fmt.Sprintf("the server had not trained its contact-reason model after %s; reads were measured while it went on", sc.CatchUpLimit))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
