package crm

import (
	"context"
	"time"
)

// ChatVisitor is one shopper's browser on a chat inbox. The widget keeps the visitor's
// token, so the same conversation continues across page loads and reconnects. ID is also
// the address of the customer's chat identity and, as "chat:"+ID, the thread key of the
// visitor's tickets.
//
// Email is the address the shopper gave or the shop signed. Only a signed one
// (EmailVerified) is an identity of the customer; a typed one is a claim kept here, shown
// to agents as unverified and used as the continuity address for offline replies.
type ChatVisitor struct {
	ID            string    `json:"id"`
	InboxID       int64     `json:"inbox_id"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	PageURL       string    `json:"page_url"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`

	// TicketID and CustomerID are those of the visitor's newest ticket, 0 before the
	// first message. The store fills them on reads.
	TicketID   int64 `json:"ticket_id"`
	CustomerID int64 `json:"customer_id"`
}

// ChatThreadKey returns the thread key of the tickets of a chat visitor.
func ChatThreadKey(visitorID string) string { return "chat:" + visitorID }

// ChatInbound is a shopper's message with what the chat channel stores along with it, so
// that a chat message is one write: the visitor, the message, its uploads and the note
// for agents.
type ChatInbound struct {
	Inbound *Inbound
	// Visitor is the shopper who wrote. When TokenHash is set, it is saved first:
	// created, or only its page saved when it exists with that token (stored meanwhile by
	// a reload, a form or an upload). A visitor is stored lazily, with its first message,
	// unless something else needed it before.
	Visitor   *ChatVisitor
	TokenHash []byte
	// Note are the lines of an internal note for agents, added unless the message is a
	// duplicate. NewTicketNote are lines put before them when the message opens a ticket.
	NewTicketNote, Note []string
	// Uploads are the ids of the Visitor's pending uploads whose content the channel put
	// in Inbound.Attachments. Unless the message is a duplicate, they are recorded as
	// attached in the message's transaction, so they stop counting as pending, and their
	// pending files are removed once it commits.
	Uploads []string
}

// ChatUpload is a file a shopper uploaded from the widget, waiting to be attached to
// a chat message.
type ChatUpload struct {
	ID          string
	InboxID     int64
	VisitorID   string
	Filename    string
	ContentType string
	Data        []byte
	Size        int64
	CreatedAt   time.Time
}

// ChatUploadLimits cap the bytes of uploads that no message has used yet, so that
// uploads cannot fill the disk. A cap of 0 or less is no cap.
type ChatUploadLimits struct {
	PerVisitor int64 // pending bytes of one visitor
	Total      int64 // pending bytes of all visitors together
}

// ChatService keeps the visitors of chat inboxes and their pending uploads. It is not part
// of Store: the chat channel takes it from a store that implements it.
type ChatService interface {
	// CreateChatVisitor stores a new visitor with the SHA-256 hash of its token; the
	// token itself is never stored. Creating a stored visitor again with the same token
	// hash changes nothing. Returns invalid, not_found (an unknown inbox) or conflict
	// (the id is taken by another token).
	CreateChatVisitor(ctx context.Context, v *ChatVisitor, tokenHash []byte) error
	// IngestChat files a shopper's message as Ingest does, and in the same transaction
	// saves a visitor not stored yet, records its uploads as attached and adds the
	// agents' note. Returns what Ingest returns, and conflict (the visitor id is taken by
	// another token).
	IngestChat(ctx context.Context, in *ChatInbound) (*IngestResult, error)
	// ChatVisitorByToken returns the visitor of the inbox whose token hashes to tokenHash.
	// Returns not_found.
	ChatVisitorByToken(ctx context.Context, inboxID int64, tokenHash []byte) (*ChatVisitor, error)
	// ChatVisitorOfTicket returns the visitor whose conversation the ticket is. Returns
	// not_found for a ticket that did not start in the widget.
	ChatVisitorOfTicket(ctx context.Context, ticketID int64) (*ChatVisitor, error)
	// UpdateChatVisitor saves the visitor's name, email, email_verified and page URL and
	// records it as seen. Returns invalid or not_found.
	UpdateChatVisitor(ctx context.Context, v *ChatVisitor) error
	// ChatMessages returns the newest limit messages the visitor may see, oldest first:
	// the in and out messages of its own tickets, never notes.
	ChatMessages(ctx context.Context, v *ChatVisitor, limit int) ([]*Message, error)
	// SaveChatUpload stores an upload unless it would take the visitor's pending bytes
	// over limits.PerVisitor (too_large) or everyone's over limits.Total (rate_limited).
	// Returns invalid, too_large or rate_limited.
	SaveChatUpload(ctx context.Context, u *ChatUpload, limits ChatUploadLimits) error
	// ChatUpload returns an upload of the visitor with its content. Returns not_found.
	ChatUpload(ctx context.Context, visitorID, id string) (*ChatUpload, error)
	// OpenChatSurvey returns the unanswered, unexpired satisfaction survey the widget
	// should show for a chat ticket. Returns not_found.
	OpenChatSurvey(ctx context.Context, ticketID int64) (*CSATSurvey, error)
	// DeleteChatUploads removes uploads created before t and reports how many.
	DeleteChatUploads(ctx context.Context, before time.Time) (int64, error)
}
