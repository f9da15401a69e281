package sqlite

import (
	"context"
	"sync"

	"parley/crm"
)

// Bounds of the tail: the newest events it keeps, and the bytes of their data.
const (
	tailEvents = 4096
	tailBytes  = 4 << 20
)

// tail keeps the newest committed events in memory, as the writer published them. The
// event-log readers of this process (the workers, the socket hub's replays) each read
// every event a moment after its commit; from the tail, they do not each read and
// decode it from the database (7% of the server's CPU in make bench's ingest).
//
// Only this process's writer fills it, so it holds what was committed here: an event
// another process wrote (a command run beside the server) is not in it, and neither is
// one committed and not yet added. Events therefore serves from it only what it holds
// with no gap, through the newest event in the database.
type tail struct {
	mu     sync.RWMutex
	events []*crm.Event // ids one after another, oldest first
	bytes  int          // of their data
}

// add appends the events of a commit, in id order. Ids that do not follow the ones held
// (another process wrote between) start it over.
func (t *tail) add(events []*crm.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range events {
		if n := len(t.events); n > 0 && e.ID != t.events[n-1].ID+1 {
			clear(t.events)
			t.events, t.bytes = t.events[:0], 0
		}
		c := *e // as the database gives it back: the writer's clock is UTC to the millisecond
		t.events = append(t.events, &c)
		t.bytes += len(c.Data)
	}
	drop := 0
	for len(t.events)-drop > tailEvents || t.bytes > tailBytes && drop < len(t.events) {
		t.bytes -= len(t.events[drop].Data)
		drop++
	}
	if drop > 0 {
		clear(t.events[:drop])
		t.events = append(t.events[:0], t.events[drop:]...)
	}
}

// read returns up to limit events with an id above after, if the tail holds every one of
// them that newest, the id of the newest event in the database, allows; ok is false
// when it does not.
func (t *tail) read(after int64, limit int, newest int64) (out []*crm.Event, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.events)
	if n == 0 || t.events[n-1].ID != newest || after < t.events[0].ID-1 {
		return nil, false
	}
	out = []*crm.Event{}
	if after >= newest {
		return out, true
	}
	start := int(after - t.events[0].ID + 1) // ids are contiguous
	for _, e := range t.events[start:min(n, start+limit)] {
		c := *e // the caller's own copy of the fields; Data and InboxIDs are shared and read-only
		out = append(out, &c)
	}
	return out, true
}

// newestEvent returns the id of the newest event in the database, 0 when there is none.
func (db *DB) newestEvent(ctx context.Context) (int64, error) {
	var id int64
	err := db.rdb.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&id)
	return id, err
}
