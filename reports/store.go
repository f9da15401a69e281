package reports

import (
	"context"
	"time"

	"parley/crm"
)

// Store is what the reports service needs of the store: *sqlite.DB serves it, as cmd/parley
// checks at compile time.
type Store interface {
	CSATSettings(ctx context.Context) (*crm.CSATSettings, error)
	DueSLAs(ctx context.Context, before time.Time) ([]*crm.TicketSLA, error)
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
	ProjectionCursor(ctx context.Context) (after, newest int64, err error)
	QueueCSATSurvey(ctx context.Context, r *crm.CSATRequest) (*crm.CSATSurvey, error)
	RecordSLABreach(ctx context.Context, ticketID int64, target string) (bool, error)
	SLAPolicies(ctx context.Context) ([]*crm.SLAPolicy, error)
	SaveProjection(ctx context.Context, p *crm.Projection) error
	Ticket(ctx context.Context, id int64) (*crm.Ticket, error)
	TicketSLAs(ctx context.Context, ids []int64) (map[int64]*crm.TicketSLA, error)
}
