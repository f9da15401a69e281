package server

import (
	"context"
	"time"

	"parley/crm"
)

type resumeRequest struct {
	c     *conn
	after int64
}

// replayBatch is one page of stored events read for a resuming connection. upto is the id
// of the last event read, shown or not; final ends the replay.
type replayBatch struct {
	c      *conn
	frames []*frame
	upto   int64
	final  bool
	err    error
	f      *frame
}

// stopHold ends the hold and lets its timer go: an idle socket should keep nothing extra.
func (c *conn) stopHold() {
	c.holding = false
	if c.holdTimer != nil {
		c.holdTimer.Stop()
		c.holdTimer = nil
	}
}

// release ends the hold of a new connection that did not resume: the events held back
// go out in order and the connection is live.
func (h *hub) release(c *conn) {
	if c.closed || !c.holding {
		return
	}
	c.stopHold()
	pending := c.pending
	c.pending = nil
	for _, f := range pending {
		if !h.push(c, f) {
			return
		}
		if !c.covered {
			c.covered, c.coveredFrom = true, f.id-1
		}
		c.lastID = f.id
	}
}

// startReplay begins a resume. Every visible event from after up to the point where the
// connection's live delivery began is read from the store; live events that arrive
// meanwhile are held back and sent after the replay, skipping those it already sent.
func (h *hub) startReplay(r resumeRequest) {
	c := r.c
	if _, ok := h.conns[c]; !ok {
		return
	}
	if c.replaying {
		h.push(c, errorFrame(crm.ECONFLICT, "a resume is already running"))
		return
	}
	// The events held since the connection opened stay pending behind the replay.
	c.stopHold()
	var upTo int64 // 0: no live event yet, so replay up to the newest
	if c.covered {
		if r.after >= c.coveredFrom {
			h.push(c, resumedFrame(r.after, 0))
			return
		}
		upTo = c.coveredFrom
	}
	c.replaying, c.replayCursor, c.replayAfter, c.replayCount = true, r.after, r.after, 0
	h.wg.Add(1)
	go h.replay(c, r.after, upTo)
}

// replay reads stored events after after (up to upTo when it is not 0) page by page,
// filters them for the connection's agent and hands each page to the hub, waiting until
// the page is written before reading the next one.
func (h *hub) replay(c *conn, after, upTo int64) {
	defer h.wg.Done()
	cursor := after
	for {
		b := &replayBatch{c: c, upto: cursor}
		events, err := h.store.Events(c.ctx, cursor, replayPage)
		if err != nil {
			b.err, b.final = err, true
		}
		a := c.agent.Load()
		for _, e := range events {
			if upTo != 0 && e.ID > upTo {
				b.final = true
				break
			}
			b.upto = e.ID
			if e.Type == crm.EventAgentUpdated || e.Type == crm.EventInboxUpdated {
				continue
			}
			if !eventAllowed(a, e) {
				continue
			}
			f, err := encodeEvent(e)
			if err != nil {
				h.log.Error("encode event", "id", e.ID, "type", e.Type, "err", err)
				continue
			}
			b.frames = append(b.frames, f)
		}
		if len(events) < replayPage {
			b.final = true
		}
		b.f = &frame{written: make(chan struct{})}
		if len(b.frames) > 0 {
			waitForRoom(c)
		}
		select {
		case h.replayed <- b:
		case <-c.ctx.Done():
			return
		case <-h.stopped:
			return
		}
		if b.final {
			return
		}
		select {
		case <-b.f.written:
		case <-c.ctx.Done():
			return
		}
		cursor = b.upto
	}
}

// waitForRoom waits, up to roomWait, until the connection's queue is no more than half
// full. A catch-up starts when a burst filled the queue; its first page would find it
// still full and close a socket that reads, only slower than the burst came (a busy
// machine schedules its writer late). A socket that does not read is closed as slow once
// the wait is over, as before.
func waitForRoom(c *conn) {
	deadline := time.Now().Add(roomWait)
	for len(c.send) > cap(c.send)/2 && time.Now().Before(deadline) {
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// applyReplay queues one replayed page and, after the last one, the live events held
// back meanwhile that the replay did not already cover.
func (h *hub) applyReplay(b *replayBatch) {
	c := b.c
	if _, ok := h.conns[c]; !ok || !c.replaying {
		close(b.f.written)
		return
	}
	for _, f := range b.frames {
		if f.id > c.replayCursor {
			b.f.batch = append(b.f.batch, f.data)
			c.replayCursor = f.id
		}
	}
	c.replayCursor = max(c.replayCursor, b.upto)
	c.replayCount += len(b.f.batch)
	h.replays.Add(float64(len(b.f.batch)))
	if len(b.f.batch) == 0 {
		close(b.f.written)
	} else if !h.push(c, b.f) {
		close(b.f.written)
		return
	}
	if !b.final {
		return
	}
	if b.err != nil {
		h.log.Error("replay events", "agent", c.agentID, "after", c.replayAfter, "err", b.err)
		if !h.push(c, errorFrame(crm.EINTERNAL, "could not replay missed events; reload the page")) {
			return
		}
	}
	pending := c.pending
	c.replaying, c.pending = false, nil
	if !c.covered || c.replayAfter < c.coveredFrom {
		c.covered, c.coveredFrom = true, c.replayAfter
	}
	c.lastID = max(c.lastID, c.replayCursor)
	if c.catchingUp {
		c.catchingUp = false
	} else if !h.push(c, resumedFrame(c.replayAfter, c.replayCount)) {
		return
	}
	// Through deliver: a backlog that fills the queue again is caught up from the log
	// once more rather than closing a socket that reads.
	for _, f := range pending {
		if c.closed {
			return
		}
		h.deliver(c, f)
	}
}

// catchUpPage is one page of stored events that a catch-up re-read; final ends the round.
type catchUpPage struct {
	events []*crm.Event
	final  bool
	err    error
}

// startCatchUp begins re-reading the log after the bus dropped events because the hub
// fell behind. A round reads, on a goroutine of its own, every stored event after the
// last one the hub handled, to the end of the log, and hands the pages to the hub. The
// hub goes on meanwhile: live events, presence, connections and resumes as usual, while
// stored events from the bus wait for the round (see receive), since each socket must
// get them after those the round brings.
func (h *hub) startCatchUp(ctx context.Context) {
	h.lags.Inc()
	switch {
	case h.catching:
		// What the bus dropped now may lie beyond what this round reads.
		h.held, h.heldLost = nil, true
		return
	case h.lastSeen == 0:
		h.log.Warn("hub lagged before its first stored event; sockets should resume")
		return
	}
	if time.Since(h.lagLogged) > 10*time.Second { // an overload lags often; say it once
		h.lagLogged = time.Now()
		h.log.Warn("hub lagged behind the bus; re-reading events", "after", h.lastSeen)
	}
	h.catching = true
	h.wg.Add(1)
	go h.catchUp(ctx, h.lastSeen)
}

// hold keeps a stored event from the bus until the catch-up round is done. Once the bus
// dropped events during the round, or too many wait, none is kept: the next round reads
// them all from the log.
func (h *hub) hold(e *crm.Event) {
	if h.heldLost {
		return
	}
	if len(h.held) >= busBuffer {
		h.held, h.heldLost = nil, true
		return
	}
	h.held = append(h.held, e)
}

// catchUp reads the stored events after after page by page and hands each page to the
// hub, up to the end of the log or the first error.
func (h *hub) catchUp(ctx context.Context, after int64) {
	defer h.wg.Done()
	for {
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		events, err := h.store.Events(rctx, after, replayPage)
		cancel()
		p := &catchUpPage{events: events, err: err, final: err != nil || len(events) < replayPage}
		select {
		case h.caughtUp <- p:
		case <-h.stopped:
			return
		}
		if p.final {
			return
		}
		after = events[len(events)-1].ID
	}
}

// applyCatchUp sends a page of the catch-up to the sockets. After the last page the held
// events follow, skipping those the round already sent; when some were lost instead,
// another round reads on from the last event sent. A failed read ends the catch-up as
// it is: the sockets miss what it did not read, and the error is logged.
func (h *hub) applyCatchUp(ctx context.Context, p *catchUpPage) {
	for _, e := range p.events {
		h.handle(e)
	}
	if !p.final {
		return
	}
	held, lost := h.held, h.heldLost
	h.catching, h.held, h.heldLost = false, nil, false
	if p.err != nil {
		h.log.Error("re-read events after lag", "after", h.lastSeen, "err", p.err)
	} else if lost {
		h.catching = true
		h.wg.Add(1)
		go h.catchUp(ctx, h.lastSeen)
		return
	}
	for _, e := range held {
		h.handle(e)
	}
}
