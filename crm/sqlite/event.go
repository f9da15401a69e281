package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"parley/crm"
)

// Events returns up to limit (default 100, max 1000) stored events with an id above
// after, oldest first. An agent who sees only some inboxes gets only the ticket and
// message events of those inboxes: customer, order, inbox and agent events are filtered
// by the caller, the hub, by the InboxIDs that customer and order events carry. A row
// written before events kept them gets the inboxes where the customer has tickets now.
func (db *DB) Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error) {
	limit = limitOf(limit, 100, 1000)
	vis, args := inboxFilter(ctx, "e.inbox_id")
	if vis == "1" {
		newest, err := db.newestEvent(ctx)
		if err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		if events, ok := db.tail.read(after, limit, newest); ok {
			return events, nil
		}
	} else {
		vis = "e.ticket_id IS NOT NULL AND " + vis
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT e.id, e.type, e.ticket_id, e.customer_id, e.inbox_id,
		e.actor_kind, e.actor_id, e.data, e.at,
		CASE WHEN e.inbox_id IS NULL AND e.customer_id IS NOT NULL THEN coalesce(e.inbox_ids,
			(SELECT json_group_array(DISTINCT t.inbox_id) FROM tickets t WHERE t.customer_id = e.customer_id)) END
		FROM events e
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
		var inboxes sql.NullString
		var at int64
		if err := rows.Scan(&e.ID, &e.Type, &ticket, &customer, &inbox, &e.Actor.Kind, &e.Actor.ID, &data, &at, &inboxes); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.TicketID, e.CustomerID, e.InboxID = ticket.Int64, customer.Int64, inbox.Int64
		e.Data = []byte(data)
		e.At = fromMS(at)
		if inboxes.Valid {
			if err := json.Unmarshal([]byte(inboxes.String), &e.InboxIDs); err != nil {
				return nil, fmt.Errorf("inboxes of event %d: %w", e.ID, err)
			}
			slices.Sort(e.InboxIDs)
		}
		events = append(events, &e)
	}
	return events, rows.Err()
}

// eventInboxes gives each customer and order event of the unit (one with a customer and
// no inbox) the inboxes where the customer has tickets, and stores them with the event.
// It runs when the unit is done, not as each event is appended: a new customer's
// customer.updated comes before the ticket that shows it to that ticket's inbox.
func (tx *Tx) eventInboxes(ctx context.Context) error {
	var known map[int64][]int64
	for _, e := range tx.events {
		if e.InboxID != 0 || e.CustomerID == 0 {
			continue
		}
		ids, ok := known[e.CustomerID]
		if !ok {
			var err error
			ids, err = queryIDs(ctx, tx, `SELECT DISTINCT inbox_id FROM tickets WHERE customer_id = ? ORDER BY inbox_id`, e.CustomerID)
			if err != nil {
				return fmt.Errorf("find inboxes of customer %d: %w", e.CustomerID, err)
			}
			if known == nil {
				known = map[int64][]int64{}
			}
			known[e.CustomerID] = ids
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET inbox_ids = ? WHERE id = ?`, idsJSON(ids), e.ID); err != nil {
			return fmt.Errorf("store inboxes of event %d: %w", e.ID, err)
		}
		e.InboxIDs = ids
	}
	return nil
}

// LatestEventID returns the id of the newest stored event, 0 when there is none.
func (db *DB) LatestEventID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.rdb.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("read newest event: %w", err)
	}
	return id, nil
}
