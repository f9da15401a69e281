package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"parley/crm"
)

// ClaimOutbound leases up to limit (default 10, max 100) queued messages that are due,
// oldest due first, for lease (default one minute), and returns each with what its
// connector needs. The lease is stored in next_attempt_at, so a message whose sender
// died, or that was leased before a restart, is claimed again once the lease runs out.
// Rows another node is leasing at the same moment are skipped, not claimed twice.
func (db *DB) ClaimOutbound(ctx context.Context, lease time.Duration, limit int) ([]*crm.Outbound, error) {
	if lease <= 0 {
		lease = time.Minute
	}
	limit = limitOf(limit, 10, 100)
	// Most calls find nothing due: a read answers them without a turn of the writer.
	var due bool
	err := db.rdb().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages
		WHERE status = 'queued' AND next_attempt_at <= ?)`, ms(db.now())).Scan(&due)
	if err != nil {
		return nil, fmt.Errorf("find due messages: %w", err)
	} else if !due {
		return []*crm.Outbound{}, nil
	}
	var out []*crm.Outbound
	err = db.update(ctx, func(tx *Tx) error {
		out = []*crm.Outbound{}
		ids, err := queryIDs(ctx, tx, `SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`, ms(tx.now), limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var attempts int
			if err := tx.QueryRowContext(ctx, `UPDATE messages SET next_attempt_at = ?, attempts = attempts + 1
				WHERE id = ? RETURNING attempts`, ms(tx.now.Add(lease)), id).Scan(&attempts); err != nil {
				return fmt.Errorf("lease message %d: %w", id, err)
			}
			ob, err := db.outbound(ctx, tx, id)
			if err != nil {
				// One message that cannot be prepared (say, its inbox's secrets no longer
				// decrypt) fails alone instead of stopping every reply behind it.
				if err := tx.failMessage(ctx, id, "cannot prepare the message for sending: "+err.Error()); err != nil {
					return err
				}
				continue
			}
			ob.Attempts = attempts
			out = append(out, ob)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// outbound loads a message with its ticket, inbox, customer and thread references.
func (db *DB) outbound(ctx context.Context, q queryer, id int64) (*crm.Outbound, error) {
	sys := crm.AsSystem(ctx) // the outbox works for the system, across every inbox
	m, err := findMessage(sys, q, id)
	if err != nil {
		return nil, err
	}
	ob := &crm.Outbound{Message: m}
	if ob.Ticket, err = findTicket(sys, q, m.TicketID); err != nil {
		return nil, err
	}
	if ob.Inbox, err = db.findInbox(sys, q, ob.Ticket.InboxID); err != nil {
		return nil, err
	}
	if ob.Customer, err = findCustomer(sys, q, ob.Ticket.CustomerID); err != nil {
		return nil, err
	}
	// The chain the customer's latest message carried, then the thread's own ids: the
	// customer's mail program threads the reply with mail Parley never saw.
	chain, err := queryStrings(sys, q, `SELECT ref FROM message_refs WHERE message_id = (SELECT max(id)
		FROM messages WHERE ticket_id = ? AND direction = 'in' AND author_kind = 'customer') ORDER BY pos`, m.TicketID)
	if err != nil {
		return nil, err
	}
	own, err := queryStrings(sys, q, `SELECT external_id FROM messages
		WHERE ticket_id = ? AND external_id IS NOT NULL AND external_id <> '' ORDER BY id`, m.TicketID)
	if err != nil {
		return nil, err
	}
	ob.References = crm.JoinReferences(chain, own)
	// Replies go to the customer: a participant who wrote into the ticket is copied, not
	// answered.
	senders, err := queryStrings(sys, q, `SELECT sender FROM messages WHERE ticket_id = ? AND direction = 'in'
		AND author_kind = 'customer' AND sender <> '' GROUP BY sender ORDER BY max(id) DESC`, m.TicketID)
	if err != nil {
		return nil, err
	}
	for _, s := range senders {
		if kind, addr, ok := strings.Cut(s, ":"); ok {
			ob.ReplyTo = append(ob.ReplyTo, crm.Identity{Kind: kind, Address: addr})
		}
	}
	return ob, nil
}

// MarkSent records that a message was handed to its channel, with the channel's id of
// it when not empty. Returns not_found.
func (db *DB) MarkSent(ctx context.Context, messageID int64, externalID string) error {
	return db.markMessage(ctx, messageID, `UPDATE messages SET status = 'sent', error = '', next_attempt_at = NULL,
		external_id = coalesce(nullif(?::text, ''), external_id), updated_at = ? WHERE id = ? AND direction = 'out'`,
		externalID)
}

// MarkFailed records a failed delivery attempt. With a zero retryAt the failure is final;
// else the message stays queued until retryAt. Returns not_found.
func (db *DB) MarkFailed(ctx context.Context, messageID int64, reason string, retryAt time.Time) error {
	reason = crm.CutRunes(reason, 1000)
	if retryAt.IsZero() {
		return db.update(ctx, func(tx *Tx) error { return tx.failMessage(ctx, messageID, reason) })
	}
	return db.markMessage(ctx, messageID, `UPDATE messages SET status = 'queued', error = ?, next_attempt_at = ?,
		updated_at = ? WHERE id = ? AND direction = 'out'`, reason, ms(retryAt))
}

// markMessage runs an update of an outbound message taking args, then updated_at and
// the id, and appends a message.updated event.
func (db *DB) markMessage(ctx context.Context, id int64, query string, args ...any) error {
	return db.update(ctx, func(tx *Tx) error { return tx.markMessage(ctx, id, query, args...) })
}

func (tx *Tx) markMessage(ctx context.Context, id int64, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, append(args[:len(args):len(args)], ms(tx.now), id)...)
	if err != nil {
		return fmt.Errorf("update message %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "outbound message %d not found", id)
	}
	_, err = tx.messageUpdated(ctx, id)
	return err
}

// messageUpdated reads message id back after a change and appends its message.updated
// event, which names the ticket's customer and inbox beside the message.
func (tx *Tx) messageUpdated(ctx context.Context, id int64) (*crm.Message, error) {
	m, err := findMessage(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	// The ticket's inbox, not the message's: a merge may have moved the message.
	var customerID, inboxID int64
	if err := tx.QueryRowContext(ctx, `SELECT customer_id, inbox_id FROM tickets WHERE id = ?`, m.TicketID).Scan(
		&customerID, &inboxID); err != nil {
		return nil, fmt.Errorf("find ticket of message %d: %w", id, err)
	}
	_, err = tx.event(ctx, crm.EventMessageUpdated, m.TicketID, customerID, inboxID, actorFrom(ctx, systemActor), m)
	return m, err
}

// failMessage fails an outbound message for good with reason.
func (tx *Tx) failMessage(ctx context.Context, id int64, reason string) error {
	return tx.markMessage(ctx, id, `UPDATE messages SET status = 'failed', error = ?, next_attempt_at = NULL,
		updated_at = ? WHERE id = ? AND direction = 'out'`, crm.CutRunes(reason, 1000))
}
