package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"parley/crm"
)

var _ crm.ChatService = (*DB)(nil)

// Limits of chat visitor fields.
const (
	maxChatPageURL = 2048
	maxChatUpload  = 10 << 20
)

// visitorCols selects a visitor (alias v) with the ticket and customer of its newest
// ticket, found by thread key through the tickets_thread index.
const visitorCols = `v.id, v.inbox_id, v.name, v.email, v.email_verified, v.page_url, v.created_at, v.last_seen_at,
	coalesce((SELECT t.id FROM tickets t WHERE t.inbox_id = v.inbox_id AND t.thread_key = 'chat:' || v.id
		ORDER BY t.id DESC LIMIT 1), 0),
	coalesce((SELECT t.customer_id FROM tickets t WHERE t.inbox_id = v.inbox_id AND t.thread_key = 'chat:' || v.id
		ORDER BY t.id DESC LIMIT 1), 0)`

func scanVisitor(s scanner) (*crm.ChatVisitor, error) {
	var v crm.ChatVisitor
	var created, seen int64
	if err := s.Scan(&v.ID, &v.InboxID, &v.Name, &v.Email, &v.EmailVerified, &v.PageURL, &created, &seen,
		&v.TicketID, &v.CustomerID); err != nil {
		return nil, err
	}
	v.CreatedAt, v.LastSeenAt = fromMS(created), fromMS(seen)
	return &v, nil
}

func checkVisitor(v *crm.ChatVisitor) error {
	if v == nil || v.ID == "" || len(v.ID) > 64 || strings.ContainsAny(v.ID, " \t\r\n") {
		return crm.Errorf(crm.EINVALID, "invalid chat visitor id")
	}
	if len(v.Name) > 200 {
		return crm.Errorf(crm.EINVALID, "name is longer than 200 bytes")
	}
	if v.Email != "" {
		if err := checkIdentity(crm.Identity{Kind: crm.IdentityEmail, Address: v.Email}); err != nil {
			return err
		}
	}
	if len(v.PageURL) > maxChatPageURL {
		return crm.Errorf(crm.EINVALID, "page URL is longer than %d bytes", maxChatPageURL)
	}
	return nil
}

// CreateChatVisitor stores a new visitor of a chat inbox with the hash of its token.
// Returns invalid or not_found (no such chat inbox).
func (db *DB) CreateChatVisitor(ctx context.Context, v *crm.ChatVisitor, tokenHash []byte) error {
	if err := checkVisitor(v); err != nil {
		return err
	}
	if len(tokenHash) != 32 {
		return crm.Errorf(crm.EINVALID, "token hash must be 32 bytes")
	}
	return db.update(ctx, func(tx *Tx) error {
		var kind string
		err := tx.QueryRowContext(ctx, `SELECT kind FROM inboxes WHERE id = ?`, v.InboxID).Scan(&kind)
		if isNoRows(err) || kind != crm.KindChat {
			return crm.Errorf(crm.ENOTFOUND, "chat inbox %d not found", v.InboxID)
		} else if err != nil {
			return fmt.Errorf("find chat inbox: %w", err)
		}
		v.CreatedAt, v.LastSeenAt = fromMS(ms(tx.now)), fromMS(ms(tx.now))
		_, err = tx.ExecContext(ctx, `INSERT INTO chat_visitors (id, inbox_id, token_hash, name, email, email_verified,
			page_url, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.ID, v.InboxID, tokenHash, v.Name, v.Email, v.EmailVerified, v.PageURL, ms(tx.now), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert chat visitor: %w", err)
		}
		return nil
	})
}

// ChatVisitorByToken returns the visitor of the inbox with that token hash. Returns
// not_found.
func (db *DB) ChatVisitorByToken(ctx context.Context, inboxID int64, tokenHash []byte) (*crm.ChatVisitor, error) {
	v, err := scanVisitor(db.rdb.QueryRowContext(ctx, `SELECT `+visitorCols+` FROM chat_visitors v
		WHERE v.token_hash = ? AND v.inbox_id = ?`, tokenHash, inboxID))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "chat visitor not found")
	} else if err != nil {
		return nil, fmt.Errorf("find chat visitor: %w", err)
	}
	return v, nil
}

// ChatVisitorOfTicket returns the visitor whose thread the ticket is, following a ticket
// that was merged away. Returns not_found.
func (db *DB) ChatVisitorOfTicket(ctx context.Context, ticketID int64) (*crm.ChatVisitor, error) {
	v, err := scanVisitor(db.rdb.QueryRowContext(ctx, `SELECT `+visitorCols+` FROM tickets tk
		JOIN chat_visitors v ON v.id = substr(tk.thread_key, 6) AND v.inbox_id = tk.inbox_id
		WHERE tk.id = ? AND tk.thread_key LIKE 'chat:%'`, ticketID))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "ticket %d has no chat visitor", ticketID)
	} else if err != nil {
		return nil, fmt.Errorf("find chat visitor of ticket: %w", err)
	}
	return v, nil
}

// UpdateChatVisitor saves the visitor's name, email, email_verified and page URL and
// records it as seen. Returns invalid or not_found.
func (db *DB) UpdateChatVisitor(ctx context.Context, v *crm.ChatVisitor) error {
	if err := checkVisitor(v); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE chat_visitors SET name = ?, email = ?, email_verified = ?, page_url = ?,
			last_seen_at = ? WHERE id = ?`, v.Name, v.Email, v.EmailVerified, v.PageURL, ms(tx.now), v.ID)
		if err != nil {
			return fmt.Errorf("update chat visitor: %w", err)
		} else if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "chat visitor not found")
		}
		v.LastSeenAt = fromMS(ms(tx.now))
		return nil
	})
}

// ChatMessages returns the newest limit (at most 200) in and out messages of the
// visitor's tickets, oldest first. Notes never appear, and neither do other tickets of
// the same customer nor messages merged in from another inbox, so a shopper sees only
// the conversation of this browser.
func (db *DB) ChatMessages(ctx context.Context, v *crm.ChatVisitor, limit int) ([]*crm.Message, error) {
	limit = limitOf(limit, crm.DefaultLimit, crm.MaxLimit)
	msgs, err := queryMessages(ctx, db.rdb, `SELECT `+messageCols+` FROM messages m
		JOIN tickets t ON t.id = m.ticket_id
		WHERE t.inbox_id = ? AND t.thread_key = ? AND m.inbox_id = t.inbox_id AND m.direction IN ('in', 'out')
		ORDER BY m.id DESC LIMIT ?`, v.InboxID, crm.ChatThreadKey(v.ID), limit)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, nil
}

// SaveChatUpload stores an upload of a visitor. Returns invalid or too_large.
func (db *DB) SaveChatUpload(ctx context.Context, u *crm.ChatUpload) error {
	if u == nil || u.ID == "" || u.VisitorID == "" {
		return crm.Errorf(crm.EINVALID, "upload id and visitor required")
	}
	if len(u.Data) == 0 {
		return crm.Errorf(crm.EINVALID, "empty upload")
	} else if len(u.Data) > maxChatUpload {
		return crm.Errorf(crm.ETOOLARGE, "upload is larger than %d MiB", maxChatUpload>>20)
	}
	return db.update(ctx, func(tx *Tx) error {
		u.CreatedAt = fromMS(ms(tx.now))
		_, err := tx.ExecContext(ctx, `INSERT INTO chat_uploads (id, inbox_id, visitor_id, filename, content_type, data, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, u.ID, u.InboxID, u.VisitorID, attachmentName(u.Filename), u.ContentType, u.Data, ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert chat upload: %w", err)
		}
		return nil
	})
}

// ChatUpload returns an upload of the visitor. Returns not_found.
func (db *DB) ChatUpload(ctx context.Context, visitorID, id string) (*crm.ChatUpload, error) {
	var u crm.ChatUpload
	var created int64
	err := db.rdb.QueryRowContext(ctx, `SELECT id, inbox_id, visitor_id, filename, content_type, data, created_at
		FROM chat_uploads WHERE id = ? AND visitor_id = ?`, id, visitorID).Scan(&u.ID, &u.InboxID, &u.VisitorID,
		&u.Filename, &u.ContentType, &u.Data, &created)
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "upload %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find chat upload: %w", err)
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
}

// DeleteChatUploads removes the uploads created before t and reports how many.
func (db *DB) DeleteChatUploads(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM chat_uploads WHERE created_at < ?`, ms(before))
		if err != nil {
			return fmt.Errorf("delete chat uploads: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
