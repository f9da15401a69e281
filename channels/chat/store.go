package chat

import (
	"context"

	"parley/crm"
)

// Store is what the chat channel needs of the store: *sqlite.DB serves it, as cmd/parley
// checks at compile time.
type Store interface {
	crm.ChatService
	AddMessage(ctx context.Context, nm *crm.NewMessage) (*crm.Message, error)
	AnswerCSAT(ctx context.Context, ticketID int64, rating int, comment, channel string) (*crm.CSATSurvey, error)
	Customer(ctx context.Context, id int64) (*crm.Customer, error)
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
	Order(ctx context.Context, number string) (*crm.Order, error)
	Orders(ctx context.Context, f crm.OrderFilter) ([]*crm.Order, string, error)
	RecordProof(ctx context.Context, visitorID, email, orderNumber string) error
	RecordSelfService(ctx context.Context, inboxID int64, kind string) error
}
