package crm

import (
	"context"
	"encoding/json"
	"time"
)

// Roles of agents. A manager sees every inbox and manages reports and canned responses;
// an admin also manages agents, inboxes and settings.
const (
	RoleAgent   = "agent"
	RoleManager = "manager"
	RoleAdmin   = "admin"
)

// Inbox kinds: one configured channel endpoint each.
const (
	KindEmail   = "email"
	KindPhone   = "phone"
	KindChat    = "chat"
	KindDiscord = "discord"
	KindAPI     = "api"
)

// Identity kinds: the ways a customer is recognised on a channel.
const (
	IdentityEmail   = "email"
	IdentityPhone   = "phone"
	IdentityDiscord = "discord"
	IdentityChat    = "chat"
	IdentityShop    = "shop"
)

// Ticket statuses and priorities.
const (
	StatusOpen     = "open"
	StatusPending  = "pending"
	StatusResolved = "resolved"
	StatusClosed   = "closed"

	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Message directions, channels and delivery statuses.
const (
	DirIn   = "in"
	DirOut  = "out"
	DirNote = "note"

	ChannelEmail    = "email"
	ChannelSMS      = "sms"
	ChannelWhatsApp = "whatsapp"
	ChannelVoice    = "voice"
	ChannelChat     = "chat"
	ChannelDiscord  = "discord"
	ChannelAPI      = "api"

	MsgReceived  = "received"
	MsgQueued    = "queued"
	MsgSent      = "sent"
	MsgDelivered = "delivered"
	MsgFailed    = "failed"
)

// Event types. Presence, typing and viewing are relayed live on the bus with ID 0 and
// never stored. Inbox and agent events are for the server's own parts (channel managers
// reload an inbox, the hub re-reads an agent's inboxes); they are not sent to sockets.
const (
	EventInboxUpdated    = "inbox.updated"
	EventAgentUpdated    = "agent.updated"
	EventTicketCreated   = "ticket.created"
	EventTicketUpdated   = "ticket.updated"
	EventMessageCreated  = "message.created"
	EventMessageUpdated  = "message.updated"
	EventCustomerUpdated = "customer.updated"
	EventCustomerMerged  = "customer.merged"
	EventOrderUpdated    = "order.updated"
	EventPresence        = "presence"
	EventTyping          = "typing"
	EventViewing         = "viewing"
	// EventSessionEnded is live, on the bus only: an agent signed out of a browser. The
	// hub then closes that agent's sockets whose session is gone; no client sees it.
	EventSessionEnded = "session.ended"
	// EventTokenRevoked is live, on the bus only: an API token was revoked. Its data is
	// {"agent_id", "token_id"}; the hub closes the sockets that token opened.
	EventTokenRevoked = "token.revoked"
)

// Limits shared by every layer.
const (
	MaxAttachmentSize = 25 << 20
	DefaultLimit      = 50
	MaxLimit          = 200
)

// Agent is a person who works tickets in the console.
type Agent struct {
	ID       int64   `json:"id"`
	Email    string  `json:"email"`
	Name     string  `json:"name"`
	Role     string  `json:"role"`
	Phone    string  `json:"phone,omitempty"`
	InboxIDs []int64 `json:"inbox_ids"`
	Disabled bool    `json:"disabled"`
	// Avatar is "" without an avatar image, else a tag that changes with the image; the
	// image is at GET /api/v1/agents/{id}/avatar.
	Avatar string `json:"avatar"`
	// Availability is what the agent chose: available, away or offline (see
	// crm.Available). In the API's answers an agent without a live socket is offline.
	Availability string `json:"availability"`
	// TOTPEnabled says the agent signs in with a code of an authenticator app too.
	TOTPEnabled bool      `json:"totp_enabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// APIToken describes a bearer token of an agent; the token itself is never stored.
// ExpiresAt is nil for a token that never expires.
type APIToken struct {
	ID         int64      `json:"id"`
	AgentID    int64      `json:"agent_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

// Expired reports whether the token has expired at now.
func (t *APIToken) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// MaxTokenLifetime bounds the expiry of an API token; a token may also never expire.
const MaxTokenLifetime = 10 * 365 * 24 * time.Hour

// SeesAllInboxes reports whether a's role gives access to every inbox.
func (a *Agent) SeesAllInboxes() bool { return a.Role == RoleManager || a.Role == RoleAdmin }

// CanSeeInbox reports whether a may see tickets of the inbox.
func (a *Agent) CanSeeInbox(id int64) bool {
	if a.SeesAllInboxes() {
		return true
	}
	for _, x := range a.InboxIDs {
		if x == id {
			return true
		}
	}
	return false
}

// Inbox is one configured channel endpoint: a mailbox, a Twilio number, a widget, a
// Discord bot or an API source. Secrets hold the config values that are encrypted at rest
// and never returned by the API.
//
// A disabled inbox (Enabled false) keeps its tickets and stays in the lists, but its
// channel fetches nothing and takes no new messages. A deleted inbox (DeletedAt set) is
// archived: the store's Inbox and Inboxes no longer return it, so no channel can file into
// it or send from it, while its tickets stay readable to those who could read them.
type Inbox struct {
	ID        int64             `json:"id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Config    map[string]any    `json:"config"`
	Secrets   map[string]string `json:"-"`
	Enabled   bool              `json:"enabled"`
	DeletedAt *time.Time        `json:"deleted_at,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Accepts returns a conflict error when the inbox takes no new messages: it is disabled
// or deleted. Channels call it before they file what arrived.
func (in *Inbox) Accepts() error {
	if in.DeletedAt != nil {
		return Errorf(ENOTFOUND, "inbox %d not found", in.ID)
	}
	if !in.Enabled {
		return Errorf(ECONFLICT, "inbox %d is disabled", in.ID)
	}
	return nil
}

// Identity is one way to reach a customer: an email address, an E.164 phone number, a
// Discord user id, a chat visitor id or a shop customer id.
type Identity struct {
	Kind     string `json:"kind"`
	Address  string `json:"address"`
	Verified bool   `json:"verified"`
}

// Customer is a person who contacted the shop on any channel.
type Customer struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Notes      string     `json:"notes"`
	Identities []Identity `json:"identities"`
	MergedInto int64      `json:"merged_into,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Ticket is one conversation with a customer in one inbox.
type Ticket struct {
	ID              int64      `json:"id"`
	InboxID         int64      `json:"inbox_id"`
	CustomerID      int64      `json:"customer_id"`
	Subject         string     `json:"subject"`
	Status          string     `json:"status"`
	Priority        string     `json:"priority"`
	Channel         string     `json:"channel"`
	AssigneeID      *int64     `json:"assignee_id"`
	TeamID          *int64     `json:"team_id"` // the ticket's team, nil for none
	Tags            []string   `json:"tags"`
	LinkedTicketID  int64      `json:"linked_ticket_id,omitempty"`
	MergedInto      int64      `json:"merged_into,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	FirstResponseAt *time.Time `json:"first_response_at"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	LastMessageAt   time.Time  `json:"last_message_at"`

	// Participants are the people copied on the ticket's mail: not its customer, but
	// copied on its replies (the default CC of the composer) and able to write into it.
	Participants []Address `json:"participants,omitempty"`

	// WhatsAppWindowEndsAt, on one ticket read by itself (GET /api/v1/tickets/{id}) whose
	// replies go by WhatsApp, is when WhatsApp stops taking free-form replies: 24 hours
	// after the customer's last WhatsApp message. After it only approved templates go.
	WhatsAppWindowEndsAt *time.Time `json:"whatsapp_window_ends_at,omitempty"`

	// SnoozedUntil and SnoozeUntilReply say the ticket is snoozed (see Snooze): hidden
	// from the default lists until then, or until the customer writes. SnoozeEnded is
	// set only in the ticket.updated event that ended a snooze: SnoozeEndedTime or
	// SnoozeEndedReply. WaitingSince is when the customer's oldest unanswered message
	// arrived (nil: nobody waits).
	SnoozedUntil     *time.Time `json:"snoozed_until"`
	SnoozeUntilReply bool       `json:"snooze_until_reply"`
	SnoozeEnded      string     `json:"snooze_ended,omitempty"`
	WaitingSince     *time.Time `json:"waiting_since"`

	// ReasonID is the ticket's contact reason (nil: none yet) and ReasonSource who gave
	// it (agent, auto, tag, rule); ReasonConfidence is the classifier's confidence in an
	// automatic one. ReasonSuggestions are the classifier's top reasons when it was not
	// sure enough to apply one, until a reason is set.
	ReasonID          *int64        `json:"reason_id"`
	ReasonSource      string        `json:"reason_source,omitempty"`
	ReasonConfidence  *float64      `json:"reason_confidence,omitempty"`
	ReasonSuggestions []ReasonScore `json:"reason_suggestions,omitempty"`
}

// Snoozed reports whether t is snoozed.
func (t *Ticket) Snoozed() bool { return t.SnoozedUntil != nil || t.SnoozeUntilReply }

// Author is who wrote a message: a customer, an agent, the system or a participant
// (someone copied on the ticket's mail, who has no customer record of their own).
type Author struct {
	Kind string `json:"kind"` // "customer", "agent", "system" or "participant"
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Message is one entry of a ticket's thread: inbound, outbound or an internal note.
type Message struct {
	ID          int64         `json:"id"`
	TicketID    int64         `json:"ticket_id"`
	InboxID     int64         `json:"inbox_id"`
	Direction   string        `json:"direction"`
	Channel     string        `json:"channel"`
	Author      Author        `json:"author"`
	Text        string        `json:"text"`
	HTML        string        `json:"html"`
	Status      string        `json:"status"`
	Error       string        `json:"error"`
	ExternalID  string        `json:"-"`
	Attachments []*Attachment `json:"attachments"`
	CreatedAt   time.Time     `json:"created_at"`
	// MailAddresses are the From, To, CC and Via of an email; empty on other channels.
	MailAddresses
	// Template, on a WhatsApp reply sent as an approved template, names the template and
	// its variables; Text is the template's body filled in, as the customer reads it.
	Template *MessageTemplate `json:"template,omitempty"`
}

// Address is a mail address with its display name.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// MailAddresses are the people a mail names: who wrote it, whom it went to and who was
// copied. Via is the address it came through when that is not the writer's own: a
// contact form that sends from a no-reply address, a mailing list that rewrites From.
type MailAddresses struct {
	From *Address  `json:"from,omitempty"`
	To   []Address `json:"to,omitempty"`
	CC   []Address `json:"cc,omitempty"`
	// BCC, on an agent's reply, are the addresses it was sent to blind: never in the
	// headers of the mail, kept so that agents see who got it.
	BCC []Address `json:"bcc,omitempty"`
	Via *Address  `json:"via,omitempty"`
}

// Empty reports whether a names nobody.
func (a *MailAddresses) Empty() bool {
	return a.From == nil && len(a.To) == 0 && len(a.CC) == 0 && len(a.BCC) == 0 && a.Via == nil
}

// Attachment is a file of a message, stored once on disk by its SHA-256.
type Attachment struct {
	ID          int64  `json:"id"`
	MessageID   int64  `json:"message_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	URL         string `json:"url"`
}

// NewAttachment is the content of an attachment before it is stored.
type NewAttachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Order is a purchase of a customer in the shop. Money is in integer minor units.
type Order struct {
	Number          string          `json:"number"`
	CustomerID      int64           `json:"customer_id"`
	Email           string          `json:"email,omitempty"`
	Phone           string          `json:"phone,omitempty"`
	Status          string          `json:"status"`
	Currency        string          `json:"currency"`
	Subtotal        int64           `json:"subtotal"`
	Shipping        int64           `json:"shipping"`
	Tax             int64           `json:"tax"`
	Discount        int64           `json:"discount"`
	Total           int64           `json:"total"`
	Refunded        int64           `json:"refunded"`
	Items           []OrderItem     `json:"items"`
	ShippingAddress json.RawMessage `json:"shipping_address,omitempty"`
	Carrier         string          `json:"carrier,omitempty"`
	TrackingNumber  string          `json:"tracking_number,omitempty"`
	TrackingURL     string          `json:"tracking_url,omitempty"`
	PlacedAt        time.Time       `json:"placed_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	Source          string          `json:"source"`
	SourceID        int64           `json:"source_id"`
	ExternalID      string          `json:"external_id"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	UnitPrice  int64  `json:"unit_price"`
	LineItemID string `json:"line_item_id,omitempty"`
}

// Actor is who caused an event.
type Actor struct {
	Kind string `json:"kind"` // "agent", "customer", "system" or "rule" (ActorRule)
	ID   int64  `json:"id,omitempty"`
}

// Event is one stored change: the audit log, the source of reports, the replay buffer of
// sockets and the feed of webhooks. Data holds the changed object.
//
// InboxIDs, on a stored event of a customer without an inbox (customer and order
// events), are the inboxes where the customer had tickets when the event was written:
// their agents may see it. It rides with the event so that the hub decides who gets it
// without asking the store.
type Event struct {
	ID         int64   `json:"id"`
	Type       string  `json:"type"`
	TicketID   int64   `json:"ticket_id,omitempty"`
	CustomerID int64   `json:"customer_id,omitempty"`
	InboxID    int64   `json:"inbox_id,omitempty"`
	InboxIDs   []int64 `json:"inbox_ids,omitempty"`
	// Node is the node that published a live event, "" for this node's own: set by the
	// cluster relay on events from other nodes.
	Node  string          `json:"node,omitempty"`
	Actor Actor           `json:"actor"`
	Data  json.RawMessage `json:"data"`
	At    time.Time       `json:"at"`
}

// Inbound is one message from outside, normalised by its channel's connector, with
// everything the store files along with it, so that one inbound message is one commit
// and one set of events.
// ExternalID is the channel's own id of the message and the dedupe key within the inbox.
// TicketID may be set only by a connector that verified it (for example a signed
// reply-to address); otherwise ThreadKey and References find the ticket.
type Inbound struct {
	InboxID     int64
	Channel     string
	ExternalID  string
	ThreadKey   string
	References  []string
	TicketID    int64
	FromName    string
	From        []Identity
	Subject     string
	Text        string
	HTML        string
	Attachments []NewAttachment
	ReceivedAt  time.Time

	// GuessTicketID is a ticket named by something anyone can write, such as a [#1042]
	// token in a subject. The store files the message there only when nothing stronger
	// threads it (TicketID, a referenced message of the inbox), the ticket is of the
	// inbox, and the message is filed for that ticket's own customer; else it is ignored.
	GuessTicketID int64
	// Bounce, on a delivery report, names the message the report is about.
	Bounce *Bounce
	// ContentIDs maps the content-id of an inline part to its index in Attachments. The
	// store points the "cid:" links of HTML at the stored attachments
	// (/api/v1/attachments/{id}) before it records the message.
	ContentIDs map[string]int
	// NewTicketTags are tags for the ticket the message opens; a message that joins an
	// existing ticket leaves its tags as they are.
	NewTicketTags []string
	// ClearTicketTags are tags the ticket loses when the message joins it: a tag that
	// said what the ticket's first message was (an auto-reply) stops being true once the
	// customer writes for real.
	ClearTicketTags []string

	// Mail are the addresses of an email, kept with the message for the thread.
	Mail MailAddresses
	// Participants are people copied on the message (not the sender, not the inbox), who
	// join the ticket's participants. A message from one of a ticket's participants that
	// threads into the ticket is theirs: it creates no customer and leaves the ticket's
	// customer and reply address as they are.
	Participants []Address
	// ContentHash, when set, is a hash of what the message says. A stored message with
	// the same ExternalID is a duplicate only when it has the same sender and the same
	// hash; otherwise the message is another one that reuses the id (some senders give
	// every mail the same Message-ID) and is filed under ExternalID + "#" + ContentHash.
	ContentHash string
	// FindReferrer files the message into the ticket of a stored message of the inbox
	// whose References name ExternalID (a reply that arrived before its original), when
	// neither a verified TicketID nor a referenced message threads it.
	FindReferrer bool
}

// TagBounce marks the ticket of a delivery report that matched no message the inbox
// sent. Such a ticket is closed when it is opened, and reports leave it out.
const TagBounce = "bounce"

// Bounce is what a delivery report says about a message the inbox sent. A report that
// picks no message never joins a conversation and never opens one: it opens a ticket of
// its own, closed and tagged TagBounce.
type Bounce struct {
	// ExternalIDs are the ids of the reported message the report names, the likeliest
	// first. The first that an outbound message of the same inbox has picks the message,
	// and the report is filed in its ticket; an id of another inbox or of an inbound
	// message picks nothing.
	ExternalIDs []string
	// Failed says that delivery failed for good (not merely delayed): the reported
	// message is then marked failed with Reason, unless it is failed already.
	Failed bool
	Reason string
}

// IngestResult says where an inbound message was filed. CustomerID is the sender's
// customer; for a participant's message (see Inbound.Participants), the ticket's.
type IngestResult struct {
	TicketID   int64 `json:"ticket_id"`
	MessageID  int64 `json:"message_id"`
	CustomerID int64 `json:"customer_id"`
	NewTicket  bool  `json:"new_ticket"`
	Duplicate  bool  `json:"duplicate"`
}

// Outbound is a queued agent message handed to a channel connector with what it needs to
// deliver it: the ticket, its inbox, the customer, the external ids of the thread and the
// identities the customer wrote from in this ticket, the latest first (replies go there).
type Outbound struct {
	Message    *Message
	Ticket     *Ticket
	Inbox      *Inbox
	Customer   *Customer
	References []string
	ReplyTo    []Identity
	Attempts   int
}

// ReplyAddress returns the address of kind to answer: the latest one the customer wrote
// from in this ticket, else the customer's first one, else "".
func (o *Outbound) ReplyAddress(kind string) string {
	for _, id := range o.ReplyTo {
		if id.Kind == kind {
			return id.Address
		}
	}
	if o.Customer != nil {
		for _, id := range o.Customer.Identities {
			if id.Kind == kind {
				return id.Address
			}
		}
	}
	return ""
}

// actorKey holds who acts in a context: an agent, or the system.
type actorKey struct{}

// acting is the value under actorKey. The innermost one wins: an agent's context made
// from a system one acts as the agent.
type acting struct {
	agent  *Agent
	system bool
	rule   int64 // an automation rule acting as the system (see AsRule)
}

// WithAgent returns a context acting as agent a. Store reads and writes are limited to
// what a may see. A nil a acts as nobody: it sees nothing.
func WithAgent(ctx context.Context, a *Agent) context.Context {
	return context.WithValue(ctx, actorKey{}, acting{agent: a})
}

// AsSystem returns a context acting as Parley itself, which sees every inbox: for the
// work no agent asked for (a channel filing what a customer sent, the outbox, reports,
// the command line) and for a request that proved itself another way (a signed webhook,
// a shopper's widget). A context that acts as nobody sees nothing, so a path that
// forgets to say who acts fails closed.
func AsSystem(ctx context.Context) context.Context {
	return context.WithValue(ctx, actorKey{}, acting{system: true})
}

// AgentFrom returns the agent acting in ctx, or nil for the system and for nobody.
func AgentFrom(ctx context.Context) *Agent {
	v, _ := ctx.Value(actorKey{}).(acting)
	return v.agent
}

// IsSystem reports whether ctx acts as the system.
func IsSystem(ctx context.Context) bool {
	v, _ := ctx.Value(actorKey{}).(acting)
	return v.system
}

// SeesAll reports whether who acts in ctx sees every inbox: the system, a manager or an
// admin.
func SeesAll(ctx context.Context) bool {
	if a := AgentFrom(ctx); a != nil {
		return a.SeesAllInboxes()
	}
	return IsSystem(ctx)
}
