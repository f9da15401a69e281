package email

import (
	"context"
	"io"
	"time"

	"parley/crm"
)

// Store is what the email channel needs of the store: *sqlite.DB serves it, as cmd/parley
// checks at compile time.
type Store interface {
	crm.MailStore
	Attachment(ctx context.Context, id int64) (*crm.Attachment, io.ReadSeekCloser, error)
	Customer(ctx context.Context, id int64) (*crm.Customer, error)
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
	Ingest(ctx context.Context, in *crm.Inbound) (*crm.IngestResult, error)
	MarkFailed(ctx context.Context, messageID int64, reason string, retryAt time.Time) error
	Ticket(ctx context.Context, id int64) (*crm.Ticket, error)
	UpdateTicket(ctx context.Context, id int64, u crm.TicketUpdate) (*crm.Ticket, error)
}
