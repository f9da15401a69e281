package email

import (
	"context"
	"io"

	"parley/crm"
)

// Store is what the email channel needs of the store: *sqlite.DB serves it, as cmd/parley
// checks at compile time.
type Store interface {
	crm.MailStore
	Attachment(ctx context.Context, id int64) (*crm.Attachment, io.ReadSeekCloser, error)
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
	Ingest(ctx context.Context, in *crm.Inbound) (*crm.IngestResult, error)
}
