package chat

import (
	"context"
	"time"

	"parley/crm"
)

// A new visitor is stored with its first message, in the same write transaction, so that
// a new chat costs the store's single writer one transaction instead of three. Until
// then the visitor is pending: kept here by token hash, so that a reload, a second tab
// or an upload before the first message still finds it, and then stored right away.

// pendingTTL is how long a visitor who has not written is kept in memory: long enough for
// a reload or a later page of the same visit. Most visitors never write, so a day would
// fill the map with them on a busy shop.
const pendingTTL = time.Hour

// pendingVisitor is a visitor not stored yet, as its hello left it.
type pendingVisitor struct {
	v  crm.ChatVisitor
	at time.Time
}

// addPending remembers a new visitor until its first message. It reports false when too
// many visitors are pending; the caller then stores the visitor at once.
func (ch *Channel) addPending(tokenHash []byte, v *crm.ChatVisitor) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if len(ch.pending) >= maxLookupVisitors {
		return false
	}
	ch.pending[string(tokenHash)] = &pendingVisitor{v: *v, at: time.Now()}
	return true
}

// dropPending forgets a pending visitor once it is stored.
func (ch *Channel) dropPending(tokenHash []byte) {
	ch.mu.Lock()
	delete(ch.pending, string(tokenHash))
	ch.mu.Unlock()
}

// visitorByToken returns the visitor of the inbox with that token: a stored one, or a
// pending one, which it stores first. Returns not_found.
func (ch *Channel) visitorByToken(ctx context.Context, inboxID int64, token string) (*crm.ChatVisitor, error) {
	hash := hashToken(token)
	v, err := ch.visitors.ChatVisitorByToken(ctx, inboxID, hash)
	if crm.ErrorCode(err) != crm.ENOTFOUND {
		return v, err
	}
	ch.mu.Lock()
	p := ch.pending[string(hash)]
	ch.mu.Unlock()
	if p == nil || p.v.InboxID != inboxID {
		return nil, err
	}
	v = new(crm.ChatVisitor)
	*v = p.v
	if err := ch.storeVisitor(ctx, v, hash); err != nil {
		return nil, err
	}
	return v, nil
}

// storeVisitor stores a pending visitor now, because something other than its first
// message needs the row. Storing it twice is harmless.
func (ch *Channel) storeVisitor(ctx context.Context, v *crm.ChatVisitor, tokenHash []byte) error {
	if err := ch.visitors.CreateChatVisitor(ctx, v, tokenHash); err != nil {
		return err
	}
	ch.dropPending(tokenHash)
	return nil
}

// sweepPending forgets visitors who have not written within pendingTTL and have no
// socket open: an open widget may still upload or write.
func (ch *Channel) sweepPending() {
	old := map[string]string{} // token hash -> visitor id
	ch.mu.Lock()
	for h, p := range ch.pending {
		if time.Since(p.at) > pendingTTL {
			old[h] = p.v.ID
		}
	}
	ch.mu.Unlock()
	for h, id := range old {
		if ch.hub.connected(id) {
			continue
		}
		ch.mu.Lock()
		delete(ch.pending, h)
		ch.mu.Unlock()
	}
}

// peekLookups returns the lookups waiting for a visitor's first message without
// forgetting them: they go only once the message that carries them is committed.
func (ch *Channel) peekLookups(visitorID string) []string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if p := ch.lookups[visitorID]; p != nil {
		return append([]string(nil), p.lines...)
	}
	return nil
}
