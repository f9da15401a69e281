package server

import (
	"slices"

	"parley/crm"
)

// eventAllowed decides whether agent a may get the stored event e: agents of its inbox
// for ticket and message events; for customer and order events, agents of an inbox the
// event names in InboxIDs, the inboxes where the customer had tickets when the store
// wrote it (or, for an older row, when the store read it back). Managers and admins see
// everything; an event with neither inbox nor customer goes to them only.
//
// It reads nothing: the hub decides for every socket in its own goroutine, and a read
// there would hold up every socket for as long as the database takes.
func eventAllowed(a *crm.Agent, e *crm.Event) bool {
	switch {
	case a == nil || a.Disabled:
		return false
	case a.SeesAllInboxes():
		return true
	case e.InboxID != 0:
		return a.CanSeeInbox(e.InboxID)
	case e.CustomerID == 0:
		return false
	}
	return slices.ContainsFunc(e.InboxIDs, a.CanSeeInbox)
}
