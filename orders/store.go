package orders

import (
	"context"

	"parley/crm"
)

// Store is what the orders engine needs of the store: *sqlite.DB serves it, as cmd/parley
// checks at compile time.
type Store interface {
	crm.OrderSourceService
	AddMessage(ctx context.Context, nm *crm.NewMessage) (*crm.Message, error)
	Customer(ctx context.Context, id int64) (*crm.Customer, error)
	FinishOrderAction(ctx context.Context, a *crm.OrderAction) (*crm.OrderAction, error)
	Order(ctx context.Context, number string) (*crm.Order, error)
	OrderActionByKey(ctx context.Context, key string) (*crm.OrderAction, error)
	PutOrder(ctx context.Context, o *crm.Order) (*crm.Order, error)
	StartOrderAction(ctx context.Context, a *crm.OrderAction) (*crm.OrderAction, bool, error)
	Ticket(ctx context.Context, id int64) (*crm.Ticket, error)
}
