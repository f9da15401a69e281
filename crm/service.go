package crm

import (
	"context"
	"io"
	"time"
)

// Page is the keyset pagination of lists: Limit (default 50, max 200) and the opaque
// Cursor of a previous page's NextCursor. Desc asks a list that supports it (a ticket's
// messages) for newest first; a cursor belongs to the order it was made in.
type Page struct {
	Limit  int
	Cursor string
	Desc   bool
}

// TicketFilter selects tickets. Zero fields do not filter.
type TicketFilter struct {
	Status     string
	AssigneeID int64
	Unassigned bool
	InboxID    int64
	TeamID     int64
	Channel    string
	Tag        string
	CustomerID int64
	Query      string
	// Sort is one of the Sort constants ("" is SortNewest); Snoozed one of the Snoozed
	// ones (by default snoozed tickets are left out, except from a customer's list).
	Sort    string
	Snoozed string
	Page
}

// TicketUpdate holds the changes of a PATCH; nil fields stay. AssigneeID 0 unassigns.
type TicketUpdate struct {
	Subject    *string
	Status     *string
	Priority   *string
	AssigneeID *int64
	Tags       *[]string
	// Snooze snoozes the ticket, or ends its snooze (see Snooze).
	Snooze *Snooze
	// TeamID 0 takes the ticket out of its team.
	TeamID *int64
	// ReasonID sets the contact reason (0 clears it), as ReasonSource says: an agent's
	// when empty.
	ReasonID     *int64
	ReasonSource string
}

// NewTicket opens a ticket by hand for an existing customer (CustomerID) or a new one
// (CustomerName and Identities). Body, when set, becomes the first message: a note when
// Internal, else a reply queued to the customer.
type NewTicket struct {
	InboxID      int64
	CustomerID   int64
	CustomerName string
	Identities   []Identity
	Subject      string
	Priority     string
	Body         string
	Internal     bool
}

// NewMessage is an agent's reply or internal note. Status, when set, is applied to the
// ticket in the same transaction (for example "pending" after a reply).
type NewMessage struct {
	TicketID int64
	Body     string
	Internal bool
	Status   string
	// CC, on a reply on an email ticket, are the addresses copied on it; they become the
	// ticket's participants. Nil keeps the ticket's participants; an empty list copies
	// nobody.
	CC []string
	// Template sends a WhatsApp reply as an approved template, with Body its text filled
	// in. Only a reply by WhatsApp takes one, and one outside the WhatsApp window must.
	Template *MessageTemplate
	// BCC, on a reply by email, are addresses the mail goes to blind (see ParseBCC).
	BCC []string
	// Attachments go with a reply by email or a note (see CanAttach), at most
	// MaxReplyAttachments of at most MaxReplyAttachmentsSize together.
	Attachments []NewAttachment
	// Formatted is Body's markup rendered by the caller (the server, see
	// htmlsafe.Markup): a reply by email is stored and sent with its Text and its
	// already sanitized HTML; other replies and notes keep Body as written.
	Formatted *FormattedBody
}

// CustomerUpdate holds the changes of a customer PATCH; nil fields stay.
type CustomerUpdate struct {
	Name             *string
	Notes            *string
	AddIdentities    []Identity
	RemoveIdentities []Identity
}

// TimelineItem is one entry of a customer's timeline: a ticket opened, a message or an order.
type TimelineItem struct {
	Kind    string    `json:"kind"` // "ticket", "message" or "order"
	At      time.Time `json:"at"`
	Ticket  *Ticket   `json:"ticket,omitempty"`
	Message *Message  `json:"message,omitempty"`
	Order   *Order    `json:"order,omitempty"`
}

// SearchResult is what a search finds, each list newest first.
type SearchResult struct {
	Tickets   []*Ticket   `json:"tickets"`
	Messages  []*Message  `json:"messages"`
	Customers []*Customer `json:"customers"`
}

// AgentUpdate holds the changes of an agent PATCH; nil fields stay.
type AgentUpdate struct {
	Name     *string
	Role     *string
	Phone    *string
	Password *string
	InboxIDs *[]int64
	Disabled *bool
}

// NewAgent is an agent to create. Password is plain text; the store hashes it.
type NewAgent struct {
	Email    string
	Name     string
	Role     string
	Password string
	Phone    string
	InboxIDs []int64
}

// OrderFilter selects orders of one customer, or by email or phone.
type OrderFilter struct {
	CustomerID int64
	Email      string
	Phone      string
	Query      string
	Page
}

// TicketService files, reads and changes tickets and their messages. Reads and writes
// are limited to the inboxes the agent in ctx may see; a ticket outside them is not_found.
type TicketService interface {
	// Ingest files an inbound message in one transaction: customer by identity, ticket by
	// thread, message deduplicated on (inbox, external id), with what the Inbound brings
	// along (tags, linked inline images, the failure a bounce reports), so that one
	// message is one commit and one set of events. A repeat changes nothing and returns
	// the first result with Duplicate set. An agent in ctx files only under customers it may see.
	// Returns invalid, not_found (unknown inbox) or conflict (a sender identity of a
	// customer the agent may not see).
	Ingest(ctx context.Context, in *Inbound) (*IngestResult, error)
	// Tickets lists tickets by newest activity. Returns invalid for a bad cursor.
	Tickets(ctx context.Context, f TicketFilter) ([]*Ticket, string, error)
	// Ticket returns one ticket or not_found.
	Ticket(ctx context.Context, id int64) (*Ticket, error)
	// CreateTicket opens a ticket by hand. Returns invalid, not_found or forbidden.
	CreateTicket(ctx context.Context, nt *NewTicket) (*Ticket, error)
	// UpdateTicket changes a ticket. Returns invalid, not_found or conflict (closed).
	UpdateTicket(ctx context.Context, id int64, u TicketUpdate) (*Ticket, error)
	// MergeTickets moves every message of ticket from into ticket into and closes from.
	// Returns invalid (same ticket, other customer's inbox) or not_found.
	MergeTickets(ctx context.Context, from, into int64) (*Ticket, error)
	// Messages lists a ticket's thread oldest first. Returns not_found.
	Messages(ctx context.Context, ticketID int64, p Page) ([]*Message, string, error)
	// AddMessage stores an agent's reply (queued in the outbox) or note. Returns invalid,
	// not_found or conflict (a closed ticket; a free-form WhatsApp reply after the
	// WhatsApp window closed).
	AddMessage(ctx context.Context, nm *NewMessage) (*Message, error)
	// WhatsAppWindow returns when the WhatsApp window of a ticket ends: WhatsAppWindow
	// after the last WhatsApp message of its customer to its inbox (the zero time when
	// there is none). ok is false when the ticket's replies do not go by WhatsApp.
	// Returns not_found.
	WhatsAppWindow(ctx context.Context, ticketID int64) (ends time.Time, ok bool, err error)
	// Attachment returns an attachment's metadata and an open file. Returns not_found.
	Attachment(ctx context.Context, id int64) (*Attachment, io.ReadSeekCloser, error)
}

// CustomerService reads, changes and merges customers.
type CustomerService interface {
	Customers(ctx context.Context, query string, p Page) ([]*Customer, string, error)
	Customer(ctx context.Context, id int64) (*Customer, error)
	// UpdateCustomer returns invalid, not_found or conflict (identity of another customer).
	UpdateCustomer(ctx context.Context, id int64, u CustomerUpdate) (*Customer, error)
	// MergeCustomers moves identities, tickets and orders of from into into and records
	// a customer.merged event that UnmergeCustomers can undo. The agent in ctx must see
	// both customers and every ticket that moves. Returns invalid, not_found or forbidden.
	MergeCustomers(ctx context.Context, from, into int64) (*Event, error)
	// UnmergeCustomers undoes the merge recorded by the event, under the same rule as
	// MergeCustomers. Returns not_found, forbidden or conflict.
	UnmergeCustomers(ctx context.Context, mergeEventID int64) (*Customer, error)
	// Timeline lists a customer's tickets, messages and orders, newest first.
	Timeline(ctx context.Context, customerID int64, p Page) ([]*TimelineItem, string, error)
}

// OrderService stores and finds orders.
type OrderService interface {
	// PutOrder inserts or replaces an order by number and attaches it to the customer
	// with its email or phone. An order with UpdatedAt set is applied only when that is
	// newer than the stored order's; else the stored order comes back unchanged (see
	// StaleOrder). Returns invalid.
	PutOrder(ctx context.Context, o *Order) (*Order, error)
	Order(ctx context.Context, number string) (*Order, error)
	Orders(ctx context.Context, f OrderFilter) ([]*Order, string, error)
}

// InboxService manages inboxes. Only admins create and change them. Inboxes and Inbox
// leave deleted inboxes out (not_found); ArchivedInboxes lists them.
type InboxService interface {
	Inboxes(ctx context.Context) ([]*Inbox, error)
	Inbox(ctx context.Context, id int64) (*Inbox, error)
	CreateInbox(ctx context.Context, in *Inbox) (*Inbox, error)
	UpdateInbox(ctx context.Context, in *Inbox) (*Inbox, error)
	// SetInboxEnabled enables or disables an inbox. Returns not_found.
	SetInboxEnabled(ctx context.Context, id int64, enabled bool) (*Inbox, error)
	// DeleteInbox archives an inbox: its tickets, messages and members stay. Returns
	// not_found.
	DeleteInbox(ctx context.Context, id int64) error
	// ArchivedInboxes lists the deleted inboxes the agent in ctx may see.
	ArchivedInboxes(ctx context.Context) ([]*Inbox, error)
}

// AgentService manages agents, sessions and API tokens.
type AgentService interface {
	Agents(ctx context.Context) ([]*Agent, error)
	Agent(ctx context.Context, id int64) (*Agent, error)
	AgentByEmail(ctx context.Context, email string) (*Agent, error)
	// CreateAgent returns invalid or conflict (email taken).
	CreateAgent(ctx context.Context, na *NewAgent) (*Agent, error)
	UpdateAgent(ctx context.Context, id int64, u AgentUpdate) (*Agent, error)
	// Authenticate returns the agent with that email and password or unauthorized.
	Authenticate(ctx context.Context, email, password string) (*Agent, error)
	// CreateSession returns a new session token and its CSRF token.
	CreateSession(ctx context.Context, agentID int64, ttl time.Duration) (token, csrf string, err error)
	// SessionAgent returns the agent and CSRF token of a live session or unauthorized.
	SessionAgent(ctx context.Context, token string) (*Agent, string, error)
	DeleteSession(ctx context.Context, token string) error
	// CreateToken returns a new bearer API token of the agent and its record; a nil
	// expiresAt never expires. Returns invalid or not_found.
	CreateToken(ctx context.Context, agentID int64, name string, expiresAt *time.Time) (string, *APIToken, error)
	// TokenAgent returns the agent of a live bearer token and the token's record, or
	// unauthorized (unknown, revoked or expired token, disabled agent).
	TokenAgent(ctx context.Context, token string) (*Agent, *APIToken, error)
	// Tokens lists the API tokens of an agent, oldest first, expired ones included.
	Tokens(ctx context.Context, agentID int64) ([]*APIToken, error)
	// Token returns the record of one API token of any agent. Returns not_found.
	Token(ctx context.Context, id int64) (*APIToken, error)
	// RevokeToken deletes an API token of the agent: it stops working at once. Returns
	// not_found.
	RevokeToken(ctx context.Context, agentID, tokenID int64) error
}

// EventService reads the append-only event log.
type EventService interface {
	// Events returns up to limit events with id > after, oldest first.
	Events(ctx context.Context, after int64, limit int) ([]*Event, error)
}

// SearchQuery is a search: the words, how many of each kind to return (0: the default),
// and filters that narrow the tickets and messages found (by their ticket's status,
// channel and inbox, and by the time of the ticket's last activity or of the message);
// customers are found by the words alone.
type SearchQuery struct {
	Q        string
	Limit    int
	Status   string
	Channel  string
	InboxID  int64
	From, To time.Time // zero: open-ended; From inclusive, To exclusive
}

// SearchService finds tickets, messages and customers by words; any text is safe.
type SearchService interface {
	Search(ctx context.Context, q SearchQuery) (*SearchResult, error)
}

// Outbox is the queue of agent messages waiting for their channel.
type Outbox interface {
	// ClaimOutbound leases up to limit due messages for lease and returns them.
	ClaimOutbound(ctx context.Context, lease time.Duration, limit int) ([]*Outbound, error)
	// MarkSent records a delivery to the channel and the channel's id of the message.
	MarkSent(ctx context.Context, messageID int64, externalID string) error
	// MarkFailed records a failed attempt; a zero retryAt makes the failure final.
	MarkFailed(ctx context.Context, messageID int64, reason string, retryAt time.Time) error
}

// Store is everything Parley keeps.
type Store interface {
	TicketService
	CustomerService
	ContactService
	OrderService
	OrderSourceService
	OrderActionService
	InboxService
	AgentService
	AccountService
	EventService
	SearchService
	CannedService
	SLAService
	CSATService
	WorkflowService
	ReportService
	AuditService
	OAuthStore
	Outbox
	WebhookService
	WebhookQueue
	ViewService
	NotificationService
	RuleService
	RuleQueue
	TeamService
	MacroService
	AssignmentService
	AssignQueue
	ReasonService
	Ping(ctx context.Context) error
	Backup(ctx context.Context, path string) error
	Close() error
}
