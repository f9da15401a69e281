package reasoner

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"sync"
	"time"

	"parley/crm"
	"parley/reasons"
)

// Run guesses the reason of new tickets and trains the classifier until ctx is done; it
// runs on one node of a cluster at a time (cmd/parley holds the lease "reasons"). A
// ticket is guessed when it is created and again at each of its customer's first
// guessMessages messages, until an agent set its reason. Training happens at start when
// there is no model, then every Retrain when agents labelled tickets since.
func (r *Reasoner) Run(ctx context.Context) error {
	ctx = crm.AsSystem(ctx)
	var wake <-chan *crm.Event
	if r.opt.Bus != nil {
		sub := r.opt.Bus.Subscribe(256)
		defer sub.Close()
		wake = sub.C
	}
	cursor, err := r.opt.Store.ReasonCursor(ctx)
	for err != nil {
		if ctx.Err() != nil {
			return nil
		}
		r.log.Error("read reason cursor", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.opt.Poll):
		}
		cursor, err = r.opt.Store.ReasonCursor(ctx)
	}
	// After the cursor: the tickets that come while the first model trains are guessed
	// once it is ready.
	if err := r.Refresh(ctx); err != nil {
		r.log.Error("load the reason model", "err", err)
	}
	if r.Version() == 0 {
		if _, err := r.Train(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("no contact-reason classifier yet", "err", err)
		} else if err == nil {
			r.backfill(ctx)
		}
	}
	tick := time.NewTicker(r.opt.Poll)
	defer tick.Stop()
	retrain := time.NewTicker(r.opt.Retrain)
	defer retrain.Stop()
	for {
		cursor = r.drain(ctx, cursor)
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
			case <-retrain.C:
				r.retrain(ctx)
			case e, ok := <-wake:
				switch {
				case !ok:
					wake = nil
				case e.ID != 0 && soon == nil:
					soon = time.After(wakeBatches)
				}
			}
		}
	}
}

// backfill guesses the open tickets that have no reason, newest first, up to a few pages:
// when the shop's first model is ready (a new install, or an upgrade to a Parley with
// reasons), the tickets agents are working on get reasons too, not only the next ones.
func (r *Reasoner) backfill(ctx context.Context) {
	p := crm.Page{Limit: crm.MaxLimit}
	for range backfillPages {
		list, next, err := r.opt.Store.Tickets(ctx, crm.TicketFilter{Status: crm.StatusOpen, Page: p})
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("read open tickets to guess", "err", err)
			}
			return
		}
		var ids []int64
		for _, t := range list {
			if t.ReasonID == nil && len(t.ReasonSuggestions) == 0 {
				ids = append(ids, t.ID)
			}
		}
		r.guessAll(ctx, ids)
		if next == "" {
			return
		}
		p.Cursor = next
	}
}

// retrain trains again when the labelled tickets changed since the last training: one
// more, or one corrected (their fingerprint differs).
func (r *Reasoner) retrain(ctx context.Context) {
	examples, err := r.examples(ctx)
	if err != nil {
		r.log.Error("read labelled tickets", "err", err)
		return
	}
	if fingerprint(examples) == r.trained.Load() {
		return
	}
	if _, err := r.Train(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("train the contact-reason classifier", "err", err)
	}
}

// fingerprint sums up a set of examples, labels and texts, in their (fixed) order.
func fingerprint(x []reasons.Example) uint64 {
	h := fnv.New64a()
	for _, e := range x {
		h.Write([]byte(e.Label))
		h.Write([]byte{0})
		h.Write([]byte(e.Text))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// drain guesses the tickets of the stored events after cursor and returns the new
// cursor, stored.
func (r *Reasoner) drain(ctx context.Context, cursor int64) int64 {
	for ctx.Err() == nil {
		events, err := r.opt.Store.Events(ctx, cursor, eventPage)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("read events for reasons", "err", err)
			}
			return cursor
		}
		if len(events) == 0 {
			return cursor
		}
		var ids []int64
		seen := map[int64]bool{}
		for _, e := range events {
			if id := r.needsGuess(e); id != 0 && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
			cursor = e.ID
		}
		r.guessAll(ctx, ids)
		if err := r.opt.Store.SetReasonCursor(ctx, cursor); err != nil && ctx.Err() == nil {
			r.log.Error("store reason cursor", "err", err)
		}
		if len(events) < eventPage {
			return cursor
		}
	}
	return cursor
}

// guessAll guesses the tickets several at a time: their writes then share the store's
// group commits (one sync for many) instead of one each, which keeps a busy shop's
// classifier from slowing its ingest.
func (r *Reasoner) guessAll(ctx context.Context, ids []int64) {
	if len(ids) == 0 || r.current.Load() == nil {
		return
	}
	s, err := r.shop(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("read the reasons for guesses", "err", err)
		}
		return
	}
	sem := make(chan struct{}, guessConcurrency)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.guess(ctx, s, id); err != nil && crm.ErrorCode(err) != crm.ENOTFOUND && ctx.Err() == nil {
				r.log.Error("guess a ticket's reason", "ticket", id, "err", err)
			}
		}()
	}
	wg.Wait()
}

// needsGuess returns the ticket an event asks to classify: a new ticket, or one whose
// customer wrote one of their first guessMessages messages; 0 for none. (GuessReason
// leaves a ticket alone once an agent chose its reason.) A ticket's messages from before
// Run started are not counted.
func (r *Reasoner) needsGuess(e *crm.Event) int64 {
	if len(r.inbound) >= countedTickets {
		clear(r.inbound)
		clear(r.guessed)
	}
	switch e.Type {
	case crm.EventTicketCreated:
		// Opened with a guess already (a new customer's first message, GuessFirst):
		// nothing to do until the customer writes again.
		var t struct {
			ReasonID    *int64            `json:"reason_id"`
			Suggestions []crm.ReasonScore `json:"reason_suggestions"`
		}
		if json.Unmarshal(e.Data, &t) == nil && (t.ReasonID != nil || len(t.Suggestions) > 0) {
			r.guessed[e.TicketID] = true
			return 0
		}
		return e.TicketID
	case crm.EventMessageCreated:
		var m struct {
			Direction string `json:"direction"`
		}
		if json.Unmarshal(e.Data, &m) != nil || m.Direction != crm.DirIn {
			return 0
		}
		r.inbound[e.TicketID]++
		if r.inbound[e.TicketID] == 1 && r.guessed[e.TicketID] {
			delete(r.guessed, e.TicketID) // the message the ticket was opened and guessed with
			return 0
		}
		if r.inbound[e.TicketID] <= guessMessages {
			return e.TicketID
		}
	}
	return 0
}

// Keep loads each newer model that another node trained, every Reload, until ctx is
// done: every node classifies the widget's first messages with the newest model.
func (r *Reasoner) Keep(ctx context.Context) error {
	ctx = crm.AsSystem(ctx)
	t := time.NewTicker(r.opt.Reload)
	defer t.Stop()
	for {
		if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("load the reason model", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
