package phone

import (
	"context"

	"parley/crm"
)

// Store is what the phone channel needs of the store: *sqlite.DB serves it, as cmd/parley
// checks at compile time.
type Store interface {
	crm.PhoneStore
	Agent(ctx context.Context, id int64) (*crm.Agent, error)
	Customer(ctx context.Context, id int64) (*crm.Customer, error)
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
	Ingest(ctx context.Context, in *crm.Inbound) (*crm.IngestResult, error)
	Order(ctx context.Context, number string) (*crm.Order, error)
}
