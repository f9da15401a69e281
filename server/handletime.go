package server

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"parley/crm"
)

// Handle time is the time agents spend with a ticket open and in use: the console sends
// an "active" frame about every activeEvery while the ticket is open, its tab visible
// and its agent at work (keys, pointer, scrolling in the last minute); each frame adds
// the time since the previous one on that ticket, at most activeCap, so that a tab left
// open, a sleeping laptop or a closed lid count nothing. The support cost report turns
// it into money (docs/reports.md).
const (
	activeCap    = 30 * time.Second
	handleFlush  = 30 * time.Second
	handleBuffer = 10000 // (ticket, agent) pairs held between flushes at most
)

// handleKey is one agent on one ticket.
type handleKey struct{ ticket, agent int64 }

// handleClock adds up handle time in memory and writes it to the store every
// handleFlush, so that activity costs a socket frame and no write of its own.
type handleClock struct {
	store interface {
		AddHandleTime(ctx context.Context, h []crm.HandleTime) error
	}
	log  *slog.Logger
	mu   sync.Mutex
	secs map[handleKey]float64
}

// add credits d to the agent's time on the ticket; time beyond handleBuffer pairs is
// dropped rather than held without bound.
func (h *handleClock) add(ticket, agent int64, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.secs == nil {
		h.secs = map[handleKey]float64{}
	}
	k := handleKey{ticket, agent}
	if _, ok := h.secs[k]; !ok && len(h.secs) >= handleBuffer {
		return
	}
	h.secs[k] += d.Seconds()
}

// flush writes the time added since the last flush, in whole seconds.
func (h *handleClock) flush(ctx context.Context) {
	h.mu.Lock()
	var batch []crm.HandleTime
	now := time.Now().UTC()
	for k, s := range h.secs {
		if whole := int(math.Round(s)); whole > 0 {
			batch = append(batch, crm.HandleTime{TicketID: k.ticket, AgentID: k.agent, Secs: whole, At: now})
		}
	}
	clear(h.secs)
	h.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := h.store.AddHandleTime(ctx, batch); err != nil {
		h.log.Error("store handle time", "pairs", len(batch), "err", err)
	}
}

// run flushes every handleFlush until ctx is done, then once more.
func (h *handleClock) run(ctx context.Context) {
	t := time.NewTicker(handleFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			h.flush(fctx)
			cancel()
			return
		case <-t.C:
			h.flush(ctx)
		}
	}
}
