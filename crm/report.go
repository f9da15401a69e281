package crm

import (
	"context"
	"encoding/json"
	"time"
)

// Event types of SLAs and CSAT. SLA warnings are relayed live on the bus with ID 0 and
// never stored; breaches and answers are stored. A csat.requested event tells the chat
// widget to show its rating form.
const (
	EventSLAWarning    = "sla.warning"
	EventSLABreached   = "ticket.sla_breached"
	EventCSATRequested = "csat.requested"
	EventCSATAnswered  = "csat.answered"
	// EventOrderAction is recorded by the orders engine for every action an agent takes
	// on an order (refund, cancel, resend); the audit log lists it.
	EventOrderAction = "order.action"
)

// SLA targets.
const (
	TargetFirstResponse = "first_response"
	TargetResolution    = "resolution"
)

// Schedule is the working time of an SLA policy: weekly hours in a time zone, minus
// holidays. Hours maps "mon".."sun" to [["09:00","17:00"], ...]; no hours at all means
// around the clock. Holidays are local dates, "2026-12-25".
type Schedule struct {
	Timezone string                 `json:"timezone"`
	Hours    map[string][][2]string `json:"hours"`
	Holidays []string               `json:"holidays"`
}

// SLAPolicy sets first-response and resolution targets, in business minutes of its
// Schedule, for the tickets it matches: those of its inbox (0: any inbox) with one of its
// priorities (empty: any priority). A zero target is not measured.
type SLAPolicy struct {
	ID                   int64     `json:"id"`
	Name                 string    `json:"name"`
	InboxID              *int64    `json:"inbox_id"`
	Priorities           []string  `json:"priorities"`
	FirstResponseMinutes int       `json:"first_response_minutes"`
	ResolutionMinutes    int       `json:"resolution_minutes"`
	Schedule             Schedule  `json:"schedule"`
	WarnMinutes          int       `json:"warn_minutes"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// TicketSLA is what reports keep per ticket, maintained from the event log: the
// matched policy, due times, first response and first resolution with their durations in
// business seconds, breaches, and whether the ticket met its SLA (Met, decided at
// DecidedAt; nil while undecided or without a policy). Status, Priority, InboxID and
// AssigneeID are the ticket's as last seen, to notice changes.
type TicketSLA struct {
	TicketID                int64
	InboxID                 int64
	Status                  string
	Priority                string
	AssigneeID              int64
	PolicyID                int64
	CreatedAt               time.Time
	FirstResponseAt         *time.Time
	FirstResponseBy         int64
	FirstResponseSecs       *int64
	FirstResolvedAt         *time.Time
	ResolutionSecs          *int64
	FirstResponseDue        *time.Time
	ResolutionDue           *time.Time
	FirstResponseBreachedAt *time.Time
	ResolutionBreachedAt    *time.Time
	Met                     *bool
	DecidedAt               *time.Time
}

// Projection is one batch of changes derived from the event log, saved in one
// transaction with the id of the last event it covers.
type Projection struct {
	Rows        []*TicketSLA
	Resolutions []Resolution
	History     []HistoryMark
	After       int64
}

// Resolution is one moment a ticket became resolved.
type Resolution struct {
	TicketID int64
	At       time.Time
	// By is the agent who resolved the ticket, 0 when it was not an agent (a rule, the
	// system, a customer's survey answer).
	By int64
}

// HistoryMark marks a stored event as worth showing in a customer's timeline: a
// status change, an assignment or a CSAT answer.
type HistoryMark struct {
	EventID  int64
	TicketID int64
	At       time.Time
}

// SLABreach is one target a ticket missed.
type SLABreach struct {
	Target string    `json:"target"`
	At     time.Time `json:"at"`
}

// PolicyRef names a policy.
type PolicyRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// TicketSLAView is a ticket's SLA as the API shows it.
type TicketSLAView struct {
	Policy           *PolicyRef  `json:"policy"`
	FirstResponseDue *time.Time  `json:"first_response_due"`
	ResolutionDue    *time.Time  `json:"resolution_due"`
	FirstResponseAt  *time.Time  `json:"first_response_at"`
	ResolvedAt       *time.Time  `json:"resolved_at"`
	Breaches         []SLABreach `json:"breaches"`
}

// ActorRef is who caused an event or an audit entry, with a name to show.
type ActorRef struct {
	Kind string `json:"kind"` // "agent", "customer", "system", "rule" or "anonymous"
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// TicketEvent is one entry of a ticket's history. Changes lists the fields a ticket
// event changed, as [old, new].
type TicketEvent struct {
	ID       int64             `json:"id"`
	Type     string            `json:"type"`
	TicketID int64             `json:"ticket_id"`
	Actor    ActorRef          `json:"actor"`
	At       time.Time         `json:"at"`
	Data     json.RawMessage   `json:"data"`
	Changes  map[string][2]any `json:"changes,omitempty"`
}

// HistoryFilter narrows a customer's timeline. Zero fields do not filter; Kinds empty
// means every kind ("message", "ticket", "order", "event").
type HistoryFilter struct {
	Channel string
	From    time.Time
	To      time.Time // exclusive
	Query   string
	Kinds   []string
	Page
}

// HistoryItem is one entry of a customer's full history: a timeline item, or an event
// (status change, assignment, CSAT answer) of one of the customer's tickets.
type HistoryItem struct {
	TimelineItem
	Event *TicketEvent `json:"event,omitempty"`
}

// CSATSettings say whether customers are asked to rate resolved tickets, and on which
// channels.
type CSATSettings struct {
	Enabled  bool     `json:"enabled"`
	Channels []string `json:"channels"`
}

// CSATRequest asks the store to queue the survey of a resolved ticket. Token is the
// random secret of the email link (stored hashed). EmailText goes to email customers,
// ReplyText to SMS, WhatsApp and Discord ones; chat customers get a csat.requested event
// for the widget instead of a message.
type CSATRequest struct {
	TicketID  int64
	Token     string
	EmailText string
	ReplyText string
	Channels  []string
}

// CSATSurvey is the survey of one ticket and its answer.
type CSATSurvey struct {
	ID         int64      `json:"id"`
	TicketID   int64      `json:"ticket_id"`
	InboxID    int64      `json:"inbox_id"`
	CustomerID int64      `json:"customer_id"`
	Channel    string     `json:"channel"`
	Status     string     `json:"status"` // "sent" or "skipped" (an opted-out number)
	Rating     int        `json:"rating"` // 0 until answered
	Comment    string     `json:"comment"`
	SentAt     time.Time  `json:"sent_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AnsweredAt *time.Time `json:"answered_at"`
	Subject    string     `json:"subject"`
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"`
	Actor ActorRef        `json:"actor"`
	IP    string          `json:"ip"`
	At    time.Time       `json:"at"`
	Data  json.RawMessage `json:"data"`
}

// AuditFilter selects audit entries. Zero fields do not filter; To is exclusive.
type AuditFilter struct {
	From    time.Time
	To      time.Time
	Type    string
	ActorID int64
	Page
}

// ReportFilter is the range and scope of a report: tickets of the inbox and channel (0 and
// "" for all) over [From, To).
type ReportFilter struct {
	From    time.Time
	To      time.Time
	InboxID int64
	Channel string
}

// TicketFact is what reports need of one ticket. ResolvedInRange is the ticket's last
// resolution inside the report's range, nil when there is none. Backlog marks a ticket
// that is open or pending now and was created before the range's end.
type TicketFact struct {
	ID                int64
	InboxID           int64
	Channel           string
	Status            string
	AssigneeID        int64
	CreatedAt         time.Time
	FirstResponseAt   *time.Time
	FirstResponseBy   int64
	FirstResponseSecs *int64
	ResolvedInRange   *time.Time
	ResolvedBy        int64 // the agent of the resolution in range, 0 when not an agent
	ResolutionSecs    *int64
	HasPolicy         bool
	SLAMet            *bool
	SLADecidedAt      *time.Time
	Rating            int
	AnsweredAt        *time.Time
	CSATChannel       string
	ReasonID          int64 // 0: none
	ReasonAuto        bool  // the classifier set the reason (source auto)
	HandleSecs        int64 // agents' time on the ticket, all of it
}

// ReplyCount counts agents' replies (outbound messages) of one agent on tickets of one
// inbox and channel.
type ReplyCount struct {
	AgentID int64
	InboxID int64
	Channel string
	Count   int
}

// ExportRow is one row of the tickets CSV export.
type ExportRow struct {
	Ticket          *Ticket
	Inbox           string
	Customer        string
	FirstResponseAt *time.Time
	ResolvedAt      *time.Time
	Assignee        string
	SLAMet          *bool
	Rating          int
}

// SLAService keeps SLA policies and the per-ticket SLA state reports are built from.
type SLAService interface {
	SLAPolicies(ctx context.Context) ([]*SLAPolicy, error)
	// SLAPolicy returns one policy or not_found.
	SLAPolicy(ctx context.Context, id int64) (*SLAPolicy, error)
	// CreateSLAPolicy returns invalid or not_found (inbox).
	CreateSLAPolicy(ctx context.Context, p *SLAPolicy) (*SLAPolicy, error)
	// UpdateSLAPolicy replaces a policy. Returns invalid or not_found.
	UpdateSLAPolicy(ctx context.Context, p *SLAPolicy) (*SLAPolicy, error)
	// DeleteSLAPolicy returns not_found.
	DeleteSLAPolicy(ctx context.Context, id int64) error
	// ProjectionCursor returns the id of the last event projected and of the newest event.
	ProjectionCursor(ctx context.Context) (after, newest int64, err error)
	// TicketSLAs returns the SLA state of the tickets that have one, by ticket id.
	TicketSLAs(ctx context.Context, ids []int64) (map[int64]*TicketSLA, error)
	// SaveProjection writes a batch of projected changes and its cursor atomically.
	SaveProjection(ctx context.Context, p *Projection) error
	// DueSLAs returns the undecided SLA states of open tickets with a target falling due
	// before the given time that is neither met nor breached.
	DueSLAs(ctx context.Context, before time.Time) ([]*TicketSLA, error)
	// RecordSLABreach marks a target of a ticket as missed at its due time and stores a
	// ticket.sla_breached event. It reports false when the target was met or already
	// breached. Returns not_found.
	RecordSLABreach(ctx context.Context, ticketID int64, target string) (bool, error)
	// TicketSLA returns the SLA of a ticket the agent in ctx may see. Returns not_found.
	TicketSLA(ctx context.Context, ticketID int64) (*TicketSLAView, error)
}

// CSATService queues customer satisfaction surveys and records their answers.
type CSATService interface {
	CSATSettings(ctx context.Context) (*CSATSettings, error)
	// SetCSATSettings returns invalid for an unknown channel.
	SetCSATSettings(ctx context.Context, s *CSATSettings) error
	// QueueCSATSurvey queues the survey of a resolved ticket once ever. It returns nil
	// when the ticket is not resolved, already has a survey, or its channel is not asked.
	QueueCSATSurvey(ctx context.Context, r *CSATRequest) (*CSATSurvey, error)
	// CSATSurveyByToken returns the survey of an email link. Returns not_found, or
	// invalid when the link expired.
	CSATSurveyByToken(ctx context.Context, token string) (*CSATSurvey, error)
	// AnswerCSATToken records or changes the answer of an email link; a nil comment keeps
	// the current one. Returns invalid or not_found.
	AnswerCSATToken(ctx context.Context, token string, rating int, comment *string) (*CSATSurvey, error)
	// AnswerCSAT records or changes the answer to a ticket's survey from a channel (the
	// chat widget). Returns invalid or not_found (no open survey).
	AnswerCSAT(ctx context.Context, ticketID int64, rating int, comment, channel string) (*CSATSurvey, error)
}

// ReportService reads the facts reports are computed from.
type ReportService interface {
	// ReportFacts returns every ticket a report over f counts: created, resolved, SLA
	// decided or rated in the range, or in the backlog.
	ReportFacts(ctx context.Context, f ReportFilter) ([]*TicketFact, error)
	// ReplyCounts counts agents' replies in the range by agent, inbox and channel.
	ReplyCounts(ctx context.Context, f ReportFilter) ([]ReplyCount, error)
	// TicketsByID returns the tickets in the order of ids, skipping unknown ones.
	TicketsByID(ctx context.Context, ids []int64) ([]*Ticket, error)
	// ExportTickets calls fn for each ticket created in the range, oldest first, while
	// reading them, so that no export is held in memory.
	ExportTickets(ctx context.Context, f ReportFilter, fn func(*ExportRow) error) error
	// TicketHistory returns every stored event of a ticket the agent in ctx may see,
	// oldest first. Returns not_found.
	TicketHistory(ctx context.Context, ticketID int64) ([]*TicketEvent, error)
	// CustomerHistory is the customer's timeline with events and filters. Returns
	// not_found or invalid.
	CustomerHistory(ctx context.Context, customerID int64, f HistoryFilter) ([]*HistoryItem, string, error)
}

// AuditService keeps the audit log.
type AuditService interface {
	// RecordAudit appends an entry; its ID and At are set by the store.
	RecordAudit(ctx context.Context, e *AuditEntry) error
	// AuditLog lists entries newest first, with order.action events and the changes of
	// automation rules. Returns invalid.
	AuditLog(ctx context.Context, f AuditFilter) ([]*AuditEntry, string, error)
}
