package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"parley/crm"
)

var _ crm.PhoneStore = (*DB)(nil)

var e164Re = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// Limits of a call's notes, so that a flood of webhooks cannot grow a message forever.
const (
	maxCallNotes   = 20
	maxCallNoteLen = 2000
)

// SetPhoneOptOut records that phone opted out of (true) or back into (false) messages
// from the inbox. Returns invalid (not E.164) or not_found (unknown inbox).
func (db *DB) SetPhoneOptOut(ctx context.Context, inboxID int64, phone string, optedOut bool) error {
	if !e164Re.MatchString(phone) {
		return crm.Errorf(crm.EINVALID, "phone number %q is not in E.164 format", phone)
	}
	return db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM inboxes WHERE id = ?`, inboxID).Scan(&n); err != nil {
			return fmt.Errorf("find inbox: %w", err)
		} else if n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "inbox %d not found", inboxID)
		}
		var err error
		if optedOut {
			_, err = tx.ExecContext(ctx, `INSERT INTO phone_opt_outs (inbox_id, phone, created_at)
				VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, inboxID, phone, ms(tx.now))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM phone_opt_outs WHERE inbox_id = ? AND phone = ?`, inboxID, phone)
		}
		if err != nil {
			return fmt.Errorf("save opt-out: %w", err)
		}
		return nil
	})
}

// PhoneOptedOut reports whether phone opted out of messages from the inbox.
func (db *DB) PhoneOptedOut(ctx context.Context, inboxID int64, phone string) (bool, error) {
	var n int
	err := db.rdb().QueryRowContext(ctx, `SELECT count(*) FROM phone_opt_outs WHERE inbox_id = ? AND phone = ?`,
		inboxID, phone).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("find opt-out: %w", err)
	}
	return n > 0, nil
}

// deliveryRank orders delivery statuses; a report never moves a message back. Delivered
// and failed are both final, so whichever arrives first stays.
var deliveryRank = map[string]int{crm.MsgQueued: 1, crm.MsgSent: 2, crm.MsgDelivered: 3, crm.MsgFailed: 3}

// SetDeliveryStatus applies a channel's delivery report to the outbound message of the
// inbox with that external id. A report that does not move the status forward changes
// nothing and records no event. Returns invalid or not_found.
func (db *DB) SetDeliveryStatus(ctx context.Context, inboxID int64, externalID, status, reason string) (*crm.Message, error) {
	if _, ok := deliveryRank[status]; !ok {
		return nil, crm.Errorf(crm.EINVALID, "invalid delivery status %q", status)
	}
	if externalID == "" {
		return nil, crm.Errorf(crm.EINVALID, "external id required")
	}
	if status != crm.MsgFailed {
		reason = ""
	}
	reason = crm.CutRunes(reason, 1000)
	var m *crm.Message
	err := db.update(ctx, func(tx *Tx) error {
		var id int64
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT id, status FROM messages WHERE inbox_id = ? AND external_id = ?
			AND direction = 'out'`, inboxID, externalID).Scan(&id, &cur)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "message %q not found", externalID)
		} else if err != nil {
			return fmt.Errorf("find message: %w", err)
		}
		if deliveryRank[status] <= deliveryRank[cur] {
			m, err = findMessage(ctx, tx, id)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE id = ?`,
			status, reason, ms(tx.now), id); err != nil {
			return fmt.Errorf("update message %d: %w", id, err)
		}
		m, err = tx.messageUpdated(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// UpdateCall applies u to the call and rewrites its voice message's text, adding new
// attachments. Attachment content is written before the transaction, like Ingest does.
// Returns not_found (no voice message with that external id) or invalid.
func (db *DB) UpdateCall(ctx context.Context, inboxID int64, callSid string, u crm.CallUpdate) (*crm.PhoneCall, error) {
	if callSid == "" {
		return nil, crm.Errorf(crm.EINVALID, "call sid required")
	}
	if u.Direction != "" && u.Direction != crm.DirIn && u.Direction != crm.DirOut {
		return nil, crm.Errorf(crm.EINVALID, "invalid call direction %q", u.Direction)
	}
	sums := make([]string, len(u.Attachments))
	for i, a := range u.Attachments {
		if len(a.Data) > crm.MaxAttachmentSize {
			return nil, crm.Errorf(crm.ETOOLARGE, "attachment %q is larger than %d MiB", a.Filename, crm.MaxAttachmentSize>>20)
		}
		var err error
		if sums[i], err = db.writeBlob(a.Data); err != nil {
			return nil, err
		}
	}
	var c *crm.PhoneCall
	err := db.update(ctx, func(tx *Tx) error {
		c = &crm.PhoneCall{InboxID: inboxID, CallSid: callSid}
		err := tx.QueryRowContext(ctx, `SELECT id, ticket_id FROM messages WHERE inbox_id = ? AND external_id = ?`,
			inboxID, callSid).Scan(&c.MessageID, &c.TicketID)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "call %q not found", callSid)
		} else if err != nil {
			return fmt.Errorf("find call message: %w", err)
		}

		var notes string
		err = tx.QueryRowContext(ctx, `SELECT direction, party, agent, outcome, duration, notes FROM phone_calls
			WHERE inbox_id = ? AND call_sid = ?`, inboxID, callSid).Scan(&c.Direction, &c.Party, &c.Agent,
			&c.Outcome, &c.Duration, &notes)
		changed := false
		if isNoRows(err) {
			c.Direction, c.Party, c.Outcome, c.Notes, changed = u.Direction, u.Party, crm.CallInProgress, []string{}, true
			if c.Direction == "" {
				c.Direction = crm.DirIn
			}
		} else if err != nil {
			return fmt.Errorf("find call: %w", err)
		} else if err := json.Unmarshal([]byte(notes), &c.Notes); err != nil {
			return fmt.Errorf("unmarshal call notes: %w", err)
		}

		if u.Agent != "" && u.Agent != c.Agent {
			c.Agent, changed = crm.CutRunes(u.Agent, 200), true
		}
		if crm.CallOutcomeRank(u.Outcome) > crm.CallOutcomeRank(c.Outcome) {
			c.Outcome, changed = u.Outcome, true
		}
		if u.Ended && c.Outcome == crm.CallInProgress {
			c.Outcome, changed = crm.CallMissed, true
		}
		if u.Duration > 0 && u.Duration != c.Duration {
			c.Duration, changed = u.Duration, true
		}
		if note := crm.CutRunes(strings.TrimSpace(u.Note), maxCallNoteLen); note != "" &&
			!slices.Contains(c.Notes, note) && len(c.Notes) < maxCallNotes {
			c.Notes, changed = append(c.Notes, note), true
		}
		for i, na := range u.Attachments {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM attachments WHERE message_id = ? AND sha256 = ?`,
				c.MessageID, sums[i]).Scan(&n); err != nil {
				return fmt.Errorf("find attachment: %w", err)
			} else if n > 0 {
				continue
			}
			ct := na.ContentType
			if ct == "" {
				ct = "application/octet-stream"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (message_id, filename, content_type, size, sha256, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, c.MessageID, crm.AttachmentName(na.Filename, ct), ct, len(na.Data), sums[i], ms(tx.now)); err != nil {
				return fmt.Errorf("insert attachment: %w", err)
			}
			changed = true
		}
		if !changed {
			return nil
		}

		nb, _ := json.Marshal(c.Notes)
		if _, err := tx.ExecContext(ctx, `INSERT INTO phone_calls (inbox_id, call_sid, message_id, direction, party,
			agent, outcome, duration, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (inbox_id, call_sid) DO UPDATE SET agent = excluded.agent, outcome = excluded.outcome,
			duration = excluded.duration, notes = excluded.notes, updated_at = excluded.updated_at`,
			inboxID, callSid, c.MessageID, c.Direction, c.Party, c.Agent, c.Outcome, c.Duration, string(nb),
			ms(tx.now), ms(tx.now)); err != nil {
			return fmt.Errorf("save call: %w", err)
		}
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT text FROM messages WHERE id = ?`, c.MessageID).Scan(&old); err != nil {
			return fmt.Errorf("find call message: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = ?, updated_at = ? WHERE id = ?`,
			c.Text(), ms(tx.now), c.MessageID); err != nil {
			return fmt.Errorf("update call message: %w", err)
		}
		if err := tx.reindexMessage(ctx, c.MessageID, old, c.Text()); err != nil {
			return err
		}
		_, err = tx.messageUpdated(ctx, c.MessageID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
