package postgres

import (
	"context"
	"fmt"

	"parley/crm"
)

var _ crm.MailStore = (*DB)(nil)

// MailCheckpoint returns how far the email channel has read an inbox's mailbox, or the
// zero checkpoint when it has not read it yet.
func (db *DB) MailCheckpoint(ctx context.Context, inboxID int64) (crm.MailCheckpoint, error) {
	var cp crm.MailCheckpoint
	err := db.rdb().QueryRowContext(ctx, `SELECT mailbox, uid_validity, last_uid FROM email_checkpoints
		WHERE inbox_id = ?`, inboxID).Scan(&cp.Mailbox, &cp.UIDValidity, &cp.LastUID)
	if err != nil && !isNoRows(err) {
		return cp, fmt.Errorf("find mail checkpoint: %w", err)
	}
	return cp, nil
}

// SetMailCheckpoint stores how far the email channel has read an inbox's mailbox.
// Returns not_found for an unknown inbox.
func (db *DB) SetMailCheckpoint(ctx context.Context, inboxID int64, cp crm.MailCheckpoint) error {
	return db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM inboxes WHERE id = ?`, inboxID).Scan(&n); err != nil {
			return fmt.Errorf("find inbox: %w", err)
		} else if n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "inbox %d not found", inboxID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO email_checkpoints (inbox_id, mailbox, uid_validity, last_uid, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (inbox_id) DO UPDATE SET mailbox = excluded.mailbox,
			uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
			inboxID, cp.Mailbox, cp.UIDValidity, cp.LastUID, ms(tx.now))
		if err != nil {
			return fmt.Errorf("save mail checkpoint: %w", err)
		}
		return nil
	})
}

// MessageByExternalID returns the message of an inbox with the given external id (for
// email its Message-ID), with its attachments. Returns not_found.
func (db *DB) MessageByExternalID(ctx context.Context, inboxID int64, externalID string) (*crm.Message, error) {
	msgs, err := queryMessages(ctx, db.rdb(), `SELECT `+messageCols+` FROM messages m
		WHERE m.inbox_id = ? AND m.external_id = ?`, inboxID, externalID)
	if err != nil {
		return nil, err
	} else if len(msgs) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "message %q not found", externalID)
	}
	return msgs[0], nil
}

// SetMessageHTML replaces the HTML of an inbound message and records a message.updated
// event. The caller passes HTML that is already sanitized. Returns not_found.
func (db *DB) SetMessageHTML(ctx context.Context, messageID int64, html string) error {
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET html = ?, updated_at = ? WHERE id = ? AND direction = 'in'`,
			html, ms(tx.now), messageID)
		if err != nil {
			return fmt.Errorf("update message html: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "inbound message %d not found", messageID)
		}
		_, err = tx.messageUpdated(ctx, messageID)
		return err
	})
}
