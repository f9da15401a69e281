package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"parley/crm"
)

// Events returns up to limit (default 100, max 1000) stored events with an id above
// after, oldest first. An agent who sees only some inboxes gets only the ticket and
// message events of those inboxes: customer, order, inbox and agent events are filtered
// by the caller (the hub knows which customers the agent may see).
func (db *DB) Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error) {
	limit = limitOf(limit, 100, 1000)
	vis, args := inboxFilter(ctx, "e.inbox_id")
	if vis != "1" {
		vis = "e.ticket_id IS NOT NULL AND " + vis
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT e.id, e.type, e.ticket_id, e.customer_id, e.inbox_id,
		e.actor_kind, e.actor_id, e.data, e.at FROM events e
		WHERE e.id > ? AND `+vis+` ORDER BY e.id LIMIT ?`,
		append(append([]any{after}, args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	events := []*crm.Event{}
	for rows.Next() {
		var e crm.Event
		var ticket, customer, inbox sql.NullInt64
		var data string
		var at int64
		if err := rows.Scan(&e.ID, &e.Type, &ticket, &customer, &inbox, &e.Actor.Kind, &e.Actor.ID, &data, &at); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.TicketID, e.CustomerID, e.InboxID = ticket.Int64, customer.Int64, inbox.Int64
		e.Data = []byte(data)
		e.At = fromMS(at)
		events = append(events, &e)
	}
	return events, rows.Err()
}
