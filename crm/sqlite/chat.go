package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
// Creating a stored visitor again with the same token changes nothing. Returns invalid,
// not_found (no such chat inbox) or conflict (the id belongs to another token).
func (db *DB) CreateChatVisitor(ctx context.Context, v *crm.ChatVisitor, tokenHash []byte) error {
	if err := checkNewVisitor(v, tokenHash); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		_, err := tx.saveVisitor(ctx, v, tokenHash, false)
		return err
	})
}

// checkNewVisitor checks a visitor to store and its token hash. Returns invalid.
func checkNewVisitor(v *crm.ChatVisitor, tokenHash []byte) error {
	if err := checkVisitor(v); err != nil {
		return err
	}
	if len(tokenHash) != 32 {
		return crm.Errorf(crm.EINVALID, "token hash must be 32 bytes")
	}
	return nil
}

// saveVisitor inserts a visitor of a chat inbox and reports whether it did. When the
// visitor exists with the same token and inbox, update says whether its page is saved and
// it is recorded as seen, else nothing changes: its name and email there are as new as
// the caller's or newer (another tab's form stored it). Returns not_found (no such chat
// inbox) or conflict.
func (tx *Tx) saveVisitor(ctx context.Context, v *crm.ChatVisitor, tokenHash []byte, update bool) (bool, error) {
	// The inbox is read first rather than in an INSERT ... SELECT, which SQLite runs in a
	// statement journal (see indexTicket).
	var kind string
	err := tx.QueryRowContext(ctx, `SELECT kind FROM inboxes WHERE id = ?`, v.InboxID).Scan(&kind)
	if isNoRows(err) || (err == nil && kind != crm.KindChat) {
		return false, crm.Errorf(crm.ENOTFOUND, "chat inbox %d not found", v.InboxID)
	} else if err != nil {
		return false, fmt.Errorf("find chat inbox: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO chat_visitors (id, inbox_id, token_hash, name, email, email_verified,
		page_url, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		v.ID, v.InboxID, tokenHash, v.Name, v.Email, v.EmailVerified, v.PageURL, ms(tx.now), ms(tx.now))
	if err != nil {
		return false, fmt.Errorf("insert chat visitor: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		v.CreatedAt, v.LastSeenAt = fromMS(ms(tx.now)), fromMS(ms(tx.now))
		return true, nil
	}
	set := `last_seen_at = last_seen_at`
	if update {
		set = `page_url = ?2, last_seen_at = ?3`
	}
	var created, seen int64
	err = tx.QueryRowContext(ctx, `UPDATE chat_visitors SET `+set+` WHERE id = ?4 AND token_hash = ?5 AND inbox_id = ?6
		RETURNING created_at, last_seen_at`, nil, v.PageURL, ms(tx.now), v.ID, tokenHash, v.InboxID).Scan(&created, &seen)
	if err == nil {
		v.CreatedAt, v.LastSeenAt = fromMS(created), fromMS(seen)
		return false, nil
	} else if !isNoRows(err) {
		return false, fmt.Errorf("update chat visitor: %w", err)
	}
	return false, crm.Errorf(crm.ECONFLICT, "chat visitor %s belongs to another token", v.ID)
}

// IngestChat files a shopper's message like Ingest and, in the same transaction, saves
// in.Visitor when in.TokenHash is set (only its page when it is stored already) and,
// unless the message is a duplicate, records in.Uploads as attached and adds the agents'
// note. The pending files of the uploads are removed after the commit. One write
// transaction per chat message instead of up to four is what lets the single writer
// keep up with many chats. Returns invalid, too_large, not_found or conflict.
func (db *DB) IngestChat(ctx context.Context, in *crm.ChatInbound) (*crm.IngestResult, error) {
	if in == nil {
		return nil, crm.Errorf(crm.EINVALID, "chat message required")
	}
	if in.TokenHash != nil {
		if err := checkNewVisitor(in.Visitor, in.TokenHash); err != nil {
			return nil, err
		}
	}
	if len(in.Uploads) > 0 && (in.Visitor == nil || len(in.Uploads) > maxAttachments) {
		return nil, crm.Errorf(crm.EINVALID, "uploads need their visitor, at most %d of them", maxAttachments)
	}
	sums, err := db.prepareInbound(ctx, in.Inbound)
	if err != nil {
		return nil, err
	}
	var res *crm.IngestResult
	var attached []string
	err = db.update(ctx, func(tx *Tx) error {
		attached = nil
		fresh := false
		if in.TokenHash != nil {
			inserted, err := tx.saveVisitor(ctx, in.Visitor, in.TokenHash, true)
			if err != nil {
				return err
			}
			fresh = inserted && firstOfVisitor(in)
		}
		r, t, err := tx.ingest(ctx, in.Inbound, sums, fresh)
		if err != nil {
			return err
		}
		if res = r; res.Duplicate {
			return nil
		}
		if attached, err = tx.attachUploads(ctx, in.Visitor, in.Uploads); err != nil {
			return err
		}
		lines := in.Note
		if res.NewTicket {
			lines = append(slices.Clip(in.NewTicketNote), in.Note...)
		}
		body := strings.TrimSpace(strings.Join(lines, "\n"))
		if body == "" {
			return nil
		}
		if len(body) > maxBody {
			body = crm.CutRunes(body, maxBody/4)
		}
		_, err = tx.addMessage(ctx, t, body, true, "", nil, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The message's attachment files hold the same bytes now.
	for _, id := range attached {
		if uploadIDRe.MatchString(id) {
			os.Remove(db.uploadPath(id))
		}
	}
	return res, nil
}

// attachUploads records that a message used the uploads ids of visitor v, so that they
// stop counting as pending, and returns the ids it changed.
func (tx *Tx) attachUploads(ctx context.Context, v *crm.ChatVisitor, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("marshal upload ids: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `UPDATE chat_uploads SET attached_at = ? WHERE visitor_id = ?
		AND attached_at IS NULL AND id IN (SELECT value FROM json_each(?)) RETURNING id`, ms(tx.now), v.ID, string(list))
	if err != nil {
		return nil, fmt.Errorf("attach chat uploads: %w", err)
	}
	defer rows.Close()
	var done []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan attached upload: %w", err)
		}
		done = append(done, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attach chat uploads: %w", err)
	}
	return done, nil
}

// firstOfVisitor reports whether in is keyed the way the chat channel keys a visitor's
// messages, all made of the visitor's id: the inbox, thread key, external id and sole
// identity. For a visitor inserted in the same transaction nothing stored can then
// match them, so IngestChat skips looking them up.
func firstOfVisitor(in *crm.ChatInbound) bool {
	v, m := in.Visitor, in.Inbound
	return m.InboxID == v.InboxID && m.ThreadKey == crm.ChatThreadKey(v.ID) && m.TicketID == 0 &&
		m.GuessTicketID == 0 && m.Bounce == nil && len(m.References) == 0 && strings.HasPrefix(m.ExternalID, crm.ChatThreadKey(v.ID)+":") &&
		len(m.From) == 1 && m.From[0] == crm.Identity{Kind: crm.IdentityChat, Address: v.ID}
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
	slices.Reverse(msgs) // newest were read first, for the limit
	return msgs, nil
}

// uploadIDRe is what an upload id may be: it names a file.
var uploadIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// uploadPath is the file of a pending upload. Pending uploads live apart from the
// content-addressed attachment files: they are deleted after a day, and deleting a
// shared content-addressed file could race with a message that stores the same bytes.
func (db *DB) uploadPath(id string) string {
	return filepath.Join(db.opt.DataDir, "chat-uploads", id)
}

// SaveChatUpload stores an upload of a visitor: its bytes in a file of its own, synced
// before the row is committed, and its metadata in chat_uploads. The write transaction
// only checks the caps and inserts one small row, so a large upload never holds up the
// single writer. Returns invalid, too_large (the file, or the visitor's pending bytes
// over limits.PerVisitor) or rate_limited (everyone's pending bytes over limits.Total).
func (db *DB) SaveChatUpload(ctx context.Context, u *crm.ChatUpload, limits crm.ChatUploadLimits) error {
	if u == nil || !uploadIDRe.MatchString(u.ID) || u.VisitorID == "" {
		return crm.Errorf(crm.EINVALID, "upload id and visitor required")
	}
	if len(u.Data) == 0 {
		return crm.Errorf(crm.EINVALID, "empty upload")
	} else if len(u.Data) > maxChatUpload {
		return crm.Errorf(crm.ETOOLARGE, "upload is larger than %d MiB", maxChatUpload>>20)
	}
	u.Size = int64(len(u.Data))
	sum := sha256.Sum256(u.Data)
	path := db.uploadPath(u.ID)
	if err := writeFileSynced(path, u.Data); err != nil {
		return db.diskFull(err)
	}
	err := db.update(ctx, func(tx *Tx) error {
		var mine, all int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM chat_uploads
			WHERE visitor_id = ? AND attached_at IS NULL`, u.VisitorID).Scan(&mine); err != nil {
			return fmt.Errorf("sum pending uploads of visitor: %w", err)
		}
		if limits.PerVisitor > 0 && mine+u.Size > limits.PerVisitor {
			return crm.Errorf(crm.ETOOLARGE, "you have %d MiB of files waiting to be sent; send them or wait a day",
				mine>>20)
		}
		if limits.Total > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM chat_uploads
				WHERE attached_at IS NULL`).Scan(&all); err != nil {
				return fmt.Errorf("sum pending uploads: %w", err)
			}
			if all+u.Size > limits.Total {
				return crm.Errorf(crm.ERATELIMITED, "too many files are waiting to be sent; please try again later")
			}
		}
		u.CreatedAt = fromMS(ms(tx.now))
		_, err := tx.ExecContext(ctx, `INSERT INTO chat_uploads (id, inbox_id, visitor_id, filename, content_type,
			size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.InboxID, u.VisitorID,
			crm.AttachmentName(u.Filename, u.ContentType), u.ContentType, u.Size, hex.EncodeToString(sum[:]), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert chat upload: %w", err)
		}
		return nil
	})
	if err != nil {
		os.Remove(path)
	}
	return err
}

// writeFileSynced writes data to path through a synced temporary file and a rename, so
// that a committed row never points to a torn file.
func writeFileSynced(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create upload dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("create upload: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write upload: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename upload: %w", err)
	}
	return nil
}

// chatUploadRow returns an upload's row and whether a message used it.
func (db *DB) chatUploadRow(ctx context.Context, visitorID, id string) (*crm.ChatUpload, string, bool, error) {
	var u crm.ChatUpload
	var sum string
	var created int64
	var attached sql.NullInt64
	err := db.rdb.QueryRowContext(ctx, `SELECT id, inbox_id, visitor_id, filename, content_type, size, sha256,
		attached_at, created_at FROM chat_uploads WHERE id = ? AND visitor_id = ?`, id, visitorID).Scan(&u.ID,
		&u.InboxID, &u.VisitorID, &u.Filename, &u.ContentType, &u.Size, &sum, &attached, &created)
	if isNoRows(err) {
		return nil, "", false, crm.Errorf(crm.ENOTFOUND, "upload %q not found", crm.CutRunes(id, 64))
	} else if err != nil {
		return nil, "", false, fmt.Errorf("find chat upload: %w", err)
	}
	u.CreatedAt = fromMS(created)
	return &u, sum, attached.Valid, nil
}

// ChatUpload returns an upload of the visitor with its content: from its own file while
// pending, from the attachment files once a message used it (a resent message reads it
// again). Returns not_found.
func (db *DB) ChatUpload(ctx context.Context, visitorID, id string) (*crm.ChatUpload, error) {
	for try := 0; ; try++ {
		u, sum, attached, err := db.chatUploadRow(ctx, visitorID, id)
		if err != nil {
			return nil, err
		}
		path := db.uploadPath(u.ID)
		if attached {
			path = db.blobs.Path(sum)
		}
		u.Data, err = os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) && !attached && try == 0 {
			continue // another message attached it meanwhile and removed the pending file
		} else if errors.Is(err, os.ErrNotExist) {
			return nil, crm.Errorf(crm.ENOTFOUND, "upload %q not found", id)
		} else if err != nil {
			return nil, fmt.Errorf("read chat upload: %w", err)
		}
		return u, nil
	}
}

// DeleteChatUploads removes the uploads created before t and their files, and any file
// of the upload directory older than t that no row points to any more (left by a crash
// or by a deleted inbox or visitor). It reports how many rows it removed.
func (db *DB) DeleteChatUploads(ctx context.Context, before time.Time) (int64, error) {
	var ids []string
	err := db.update(ctx, func(tx *Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `DELETE FROM chat_uploads WHERE created_at < ? RETURNING id`, ms(before))
		if err != nil {
			return fmt.Errorf("delete chat uploads: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("scan deleted upload: %w", err)
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if uploadIDRe.MatchString(id) {
			os.Remove(db.uploadPath(id))
		}
	}
	dir := filepath.Dir(db.uploadPath("x"))
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return int64(len(ids)), fmt.Errorf("list chat uploads: %w", err)
	}
	for _, e := range entries {
		// No row older than before is left, so an older file is an orphan; the minute
		// spares a file written just before its row.
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.ModTime().Before(before.Add(-time.Minute)) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return int64(len(ids)), nil
}

// OpenChatSurvey returns the unanswered, unexpired survey of a chat ticket that the
// widget should show. Returns not_found.
func (db *DB) OpenChatSurvey(ctx context.Context, ticketID int64) (*crm.CSATSurvey, error) {
	v, err := findSurvey(ctx, db.rdb, `c.ticket_id = ? AND c.channel = 'chat' AND c.status = 'sent'
		AND c.answered_at IS NULL AND c.expires_at >= ?`, ticketID, ms(db.now()))
	if err != nil {
		return nil, err
	} else if v == nil {
		return nil, crm.Errorf(crm.ENOTFOUND, "ticket %d has no open survey", ticketID)
	}
	return v, nil
}
