package storecache

import (
	"sync/atomic"

	"parley/crm"
)

// threadSlots is how many counters the thread versions are spread over: a ticket's
// thread version is the counter of its id modulo threadSlots plus the counter of all
// threads. Two tickets that share a counter invalidate each other's cached threads,
// which costs a read again, never a stale answer, and the memory stays fixed (128 KiB).
const threadSlots = 1 << 14

// Versions counts the committed changes to what ticket lists and threads show, so that
// a reader (the server's cache of encoded lists and threads) can keep what it built
// for as long as the version it read before reading is unchanged.
//
// They follow the events: every change the store commits to a ticket, its tags, its
// messages or their attachments appends an event of that ticket (the console's live
// view and the replay for sockets rely on the same), and a change to a ticket without
// an event of its own, such as a customer merge moving it, appends one of its customer.
// After each commit, before any caller of the commit returns, the writer bumps the
// thread version of every ticket an event names and, if the commit has any event, the
// list version (see Bump). So no change is answered while a copy of the state before it
// can still be served: a reader that read the old rows after noting the version keeps
// them under a version that is already old.
type Versions struct {
	lists   atomic.Uint64 // any ticket, its tags included
	all     atomic.Uint64 // every thread, for Invalidate
	threads [threadSlots]atomic.Uint64
}

// Bump applies the events of a commit to the versions. The writer calls it after
// COMMIT, before releasing the callers.
func (v *Versions) Bump(events []*crm.Event) {
	if len(events) == 0 {
		return
	}
	v.lists.Add(1)
	for _, e := range events {
		if e.TicketID != 0 {
			v.threads[uint64(e.TicketID)%threadSlots].Add(1)
		}
	}
}

// TicketsVersion returns a number that changes whenever a change to any ticket or its
// tags is committed: a ticket list read while it stays the same is still what the list
// would read now. It means nothing across processes or restarts.
func (v *Versions) TicketsVersion() uint64 { return v.lists.Load() }

// ThreadVersion returns a number that changes whenever a change to ticket id, to one of
// its messages or to their attachments is committed: a thread read while it stays the
// same is still what the thread would read now. The numbers of different tickets may
// move together.
func (v *Versions) ThreadVersion(id int64) uint64 {
	return v.all.Load() + v.threads[uint64(id)%threadSlots].Load()
}

// Invalidate bumps the thread versions of the given tickets (of every ticket when none
// is given) and the list version, for changes the store did not commit itself. It is
// the hook for several nodes sharing one database, where each node must hear of the
// others' commits; on one node every change goes through the store and nothing needs it.
func (v *Versions) Invalidate(ticketIDs ...int64) {
	if len(ticketIDs) == 0 {
		v.all.Add(1)
	}
	for _, id := range ticketIDs {
		v.threads[uint64(id)%threadSlots].Add(1)
	}
	v.lists.Add(1)
}
