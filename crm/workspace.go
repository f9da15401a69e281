package crm

import (
	"context"
	"time"
)

// Sort orders of the ticket list (TicketFilter.Sort). Each keeps keyset pagination: its
// cursor holds the keys of the order.
const (
	// SortNewest lists the newest activity first (the default).
	SortNewest = "newest"
	// SortOldestWaiting lists first the tickets whose customer has waited longest for an
	// answer (WaitingSince), then those nobody waits on.
	SortOldestWaiting = "oldest_waiting"
	// SortSLADue lists first the tickets whose SLA target falls due soonest, then those
	// without a pending target.
	SortSLADue = "sla_due"
	// SortPriority lists urgent tickets first, then high, normal and low, each by newest
	// activity.
	SortPriority = "priority"
)

// ValidSort reports whether s names a sort order; "" is the default.
func ValidSort(s string) bool {
	switch s {
	case "", SortNewest, SortOldestWaiting, SortSLADue, SortPriority:
		return true
	}
	return false
}

// Snoozed values of TicketFilter: by default a list leaves snoozed tickets out.
const (
	SnoozedHide = ""     // leave snoozed tickets out (the default lists)
	SnoozedOnly = "only" // only snoozed tickets (the "Snoozed" entry of the sidebar)
	SnoozedAny  = "any"  // snoozed or not
)

// Why a snooze ended, in Ticket.SnoozeEnded of the ticket.updated event that ended it.
const (
	SnoozeEndedTime  = "time"  // its time came (the waker)
	SnoozeEndedReply = "reply" // the customer wrote
)

// Snooze is the snooze of a PATCH: until a time, until the customer replies, or both
// (whichever comes first). A Snooze with neither ends the ticket's snooze.
type Snooze struct {
	Until      *time.Time
	UntilReply bool
}

// MaxViews bounds the views one agent owns, and the shared views.
const MaxViews = 100

// ViewFilters are the filters of a saved view: those GET /api/v1/tickets takes.
// Assignee is "me", "unassigned" or an agent id; "me" is whoever looks at the view.
type ViewFilters struct {
	Status   string `json:"status,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	InboxID  int64  `json:"inbox,omitempty"`
	Channel  string `json:"channel,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Query    string `json:"q,omitempty"`
	Snoozed  string `json:"snoozed,omitempty"`
}

// View is a saved ticket list. A personal view (OwnerID set) is its owner's alone; a
// shared view (OwnerID nil) is everyone's, and only managers and admins make and change
// them. Count, filled by the API, is how many tickets the view shows the agent who asks,
// up to MaxViewCount (CountCapped then says there are more).
type View struct {
	ID          int64       `json:"id"`
	Name        string      `json:"name"`
	OwnerID     *int64      `json:"owner_id"`
	Shared      bool        `json:"shared"`
	Filters     ViewFilters `json:"filters"`
	Sort        string      `json:"sort"`
	CreatedBy   int64       `json:"created_by"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	Count       int         `json:"count"`
	CountCapped bool        `json:"count_capped"`
}

// MaxViewCount is where a view's count stops: the sidebar shows "999+" beyond it, so
// that counting stays cheap however many tickets match.
const MaxViewCount = 999

// ViewUpdate holds the changes of a view PATCH; nil fields stay.
type ViewUpdate struct {
	Name    *string
	Filters *ViewFilters
	Sort    *string
	Shared  *bool
}

// ViewService keeps saved views. The agent in ctx sees shared views and its own; another
// agent's personal view is not_found.
type ViewService interface {
	// Views lists the views the agent in ctx sees: shared ones first, then its own, each
	// by name.
	Views(ctx context.Context) ([]*View, error)
	// View returns one view. Returns not_found.
	View(ctx context.Context, id int64) (*View, error)
	// CreateView stores a view: personal unless Shared, which needs a manager or admin.
	// Returns invalid or forbidden.
	CreateView(ctx context.Context, v *View) (*View, error)
	// UpdateView changes a view. Returns invalid, not_found or forbidden (a shared view,
	// for an agent).
	UpdateView(ctx context.Context, id int64, u ViewUpdate) (*View, error)
	// DeleteView deletes a view. Returns not_found or forbidden.
	DeleteView(ctx context.Context, id int64) error
	// CountTickets counts the tickets of f the agent in ctx may see, up to limit+1, so
	// that a count stays cheap: a result above limit means "more than limit".
	CountTickets(ctx context.Context, f TicketFilter, limit int) (int, error)
	// WakeSnoozed ends the snooze of every ticket snoozed until now or before: it comes
	// back to open with its assignee, in a ticket.updated event of the system whose
	// ticket has SnoozeEnded "time". It returns how many it woke.
	WakeSnoozed(ctx context.Context, now time.Time) (int, error)
}

// Notification kinds.
const (
	NotifyAssigned        = "assigned"
	NotifyCustomerReplied = "customer_replied"
	NotifySLAWarning      = "sla_warning"
	NotifyMention         = "mention"
	NotifySnoozeEnded     = "snooze_ended"
)

// EventNotification is live, on the bus only: a notification for one agent (Data is the
// Notification). The hub sends it to that agent's sockets alone.
const EventNotification = "notification"

// Notification tells an agent about something on a ticket: an assignment, a customer's
// reply, an SLA about to breach, a mention, a snooze that ended. Subject is the ticket's
// subject and Text a short line about what happened; Actor is who caused it.
type Notification struct {
	ID        int64      `json:"id"`
	AgentID   int64      `json:"agent_id"`
	Kind      string     `json:"kind"`
	TicketID  int64      `json:"ticket_id"`
	InboxID   int64      `json:"inbox_id"`
	Subject   string     `json:"subject"`
	Actor     ActorRef   `json:"actor"`
	Text      string     `json:"text"`
	ReadAt    *time.Time `json:"read_at"`
	CreatedAt time.Time  `json:"created_at"`
	// Dedupe makes a notification unique per agent, so that deriving it twice (an event
	// read again after a crash) stores it once. Not shown.
	Dedupe string `json:"-"`
}

// NotificationService stores agents' notifications and the notifier's place in the
// event log.
type NotificationService interface {
	// AgentNotifications lists the notifications of the agent in ctx about tickets it may
	// see, newest first, and how many of those are unread.
	AgentNotifications(ctx context.Context, p Page) ([]*Notification, int, string, error)
	// MarkNotificationsRead marks notifications of the agent in ctx read: those of ids,
	// or all. It returns the unread count after.
	MarkNotificationsRead(ctx context.Context, ids []int64, all bool) (int, error)
	// NotifyCursor returns the id of the last event the notifier has read; a store that
	// never had one starts at the newest event, so that history is not notified.
	NotifyCursor(ctx context.Context) (int64, error)
	// SaveNotifications stores notifications (skipping those whose Dedupe an agent has
	// already) and, when after is not 0, moves the notifier's cursor to after, in one
	// transaction. It returns the notifications it stored, with their ids.
	SaveNotifications(ctx context.Context, list []*Notification, after int64) ([]*Notification, error)
	// TicketBefore returns the ticket as the last ticket.created or ticket.updated event
	// before event id recorded it, or nil when there is none.
	TicketBefore(ctx context.Context, ticketID, eventID int64) (*Ticket, error)
}
