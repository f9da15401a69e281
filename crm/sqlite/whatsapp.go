package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"parley/crm"
)

// templateJSON is the template column of a message: ” for a message that is not a
// template.
func templateJSON(t *crm.MessageTemplate) string {
	if t == nil {
		return ""
	}
	b, _ := json.Marshal(t)
	return string(b)
}

// replyChannel is the channel replies on ticket t go by: that of its last inbound
// message, else the ticket's.
func replyChannel(ctx context.Context, q queryer, t *crm.Ticket) (string, error) {
	var ch string
	err := q.QueryRowContext(ctx, `SELECT channel FROM messages WHERE ticket_id = ? AND direction = 'in'
		ORDER BY id DESC LIMIT 1`, t.ID).Scan(&ch)
	if isNoRows(err) {
		return t.Channel, nil
	} else if err != nil {
		return "", fmt.Errorf("find reply channel: %w", err)
	}
	return ch, nil
}

// whatsAppWindowEnd returns when the WhatsApp window of t's customer with t's inbox
// ends: crm.WhatsAppWindow after the customer's last WhatsApp message there, on any
// ticket, since WhatsApp counts per conversation of a number with the business. The
// zero time when the customer never wrote there by WhatsApp.
func whatsAppWindowEnd(ctx context.Context, q queryer, t *crm.Ticket) (time.Time, error) {
	var last int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(m.created_at), 0) FROM messages m
		WHERE m.ticket_id IN (SELECT id FROM tickets WHERE customer_id = ?) AND m.inbox_id = ?
		AND m.direction = 'in' AND m.channel = ?`, t.CustomerID, t.InboxID, crm.ChannelWhatsApp).Scan(&last)
	if err != nil {
		return time.Time{}, fmt.Errorf("find last whatsapp message: %w", err)
	}
	if last == 0 {
		return time.Time{}, nil
	}
	return fromMS(last).Add(crm.WhatsAppWindow), nil
}

// checkWhatsApp applies WhatsApp's rules to a reply on t going by channel: a template
// only on WhatsApp, and free-form text only inside the window. Returns invalid or
// conflict.
func (tx *Tx) checkWhatsApp(ctx context.Context, t *crm.Ticket, channel string, tmpl *crm.MessageTemplate) error {
	if channel != crm.ChannelWhatsApp {
		if tmpl != nil {
			return crm.Errorf(crm.EINVALID, "templates are for WhatsApp replies; ticket %d is answered by %s", t.ID, channel)
		}
		return nil
	}
	if tmpl != nil {
		return nil
	}
	ends, err := whatsAppWindowEnd(ctx, tx, t)
	if err != nil {
		return err
	}
	if tx.now.Before(ends) {
		return nil
	}
	if ends.IsZero() {
		return crm.Errorf(crm.ECONFLICT, "the customer has not written by WhatsApp yet, so WhatsApp takes only an approved template: choose one")
	}
	return crm.Errorf(crm.ECONFLICT, "WhatsApp's 24-hour window closed at %s (24 hours after the customer's last message): "+
		"WhatsApp takes only an approved template until the customer writes again", ends.UTC().Format(time.RFC3339))
}

// WhatsAppWindow returns when the WhatsApp window of a ticket the agent in ctx may see
// ends; ok is false when its replies do not go by WhatsApp. Returns not_found.
func (db *DB) WhatsAppWindow(ctx context.Context, ticketID int64) (time.Time, bool, error) {
	t, err := findTicket(ctx, db.rdb, ticketID)
	if err != nil {
		return time.Time{}, false, err
	}
	ch, err := replyChannel(ctx, db.rdb, t)
	if err != nil || ch != crm.ChannelWhatsApp {
		return time.Time{}, false, err
	}
	ends, err := whatsAppWindowEnd(ctx, db.rdb, t)
	return ends, err == nil, err
}
