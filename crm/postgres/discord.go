package postgres

import (
	"context"
	"fmt"

	"parley/crm"
)

// TicketThreadKey returns the thread key a ticket was opened with (for example
// "discord-thread:<id>"), or "" for a ticket opened by hand. The Discord channel uses it
// to address a reply to the conversation the ticket came from. Merged tickets are not
// followed: a reply goes where the ticket itself came from. Returns not_found.
func (db *DB) TicketThreadKey(ctx context.Context, ticketID int64) (string, error) {
	vis, args := inboxFilter(ctx, "inbox_id")
	var key string
	err := db.rdb().QueryRowContext(ctx, `SELECT thread_key FROM tickets WHERE id = ? AND `+vis,
		append([]any{ticketID}, args...)...).Scan(&key)
	if isNoRows(err) {
		return "", crm.Errorf(crm.ENOTFOUND, "ticket %d not found", ticketID)
	} else if err != nil {
		return "", fmt.Errorf("find ticket thread key: %w", err)
	}
	return key, nil
}
