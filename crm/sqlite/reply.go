package sqlite

import (
	"context"
	"fmt"

	"parley/crm"
)

// prepareReply checks the Bcc and the files of nm, where the files may go, and writes
// their contents, before the transaction as Ingest does, returning their SHA-256 names.
// A reply whose channel carries no files, or a closed ticket, is refused before anything
// is written; the transaction checks again. Returns invalid, too_large, conflict,
// not_found or unavailable.
func (db *DB) prepareReply(ctx context.Context, nm *crm.NewMessage) ([]string, error) {
	if _, err := crm.ParseBCC(nm.BCC); err != nil {
		return nil, err
	}
	if err := crm.CheckReplyAttachments(nm.Attachments); err != nil {
		return nil, err
	}
	if len(nm.Attachments) == 0 {
		return nil, nil
	}
	t, err := findTicket(ctx, db.rdb, nm.TicketID)
	if err != nil {
		return nil, err
	}
	if t.Status == crm.StatusClosed {
		return nil, crm.Errorf(crm.ECONFLICT, "ticket %d is closed", t.ID)
	}
	if !nm.Internal {
		ch, err := replyChannel(ctx, db.rdb, t)
		if err != nil {
			return nil, err
		}
		if !crm.CanAttach(ch) {
			return nil, crm.NoAttachments(t.ID, ch)
		}
	}
	sums := make([]string, len(nm.Attachments))
	for i, a := range nm.Attachments {
		if sums[i], err = db.writeBlob(a.Data); err != nil {
			return nil, err
		}
	}
	return sums, nil
}

// addFiles stores the rows of the files of message m, whose contents are under sums.
func (tx *Tx) addFiles(ctx context.Context, m *crm.Message, files []crm.NewAttachment, sums []string) error {
	for i, na := range files {
		a := &crm.Attachment{MessageID: m.ID, ContentType: na.ContentType, Size: int64(len(na.Data)), SHA256: sums[i]}
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		a.Filename = crm.AttachmentName(na.Filename, a.ContentType)
		res, err := tx.ExecContext(ctx, `INSERT INTO attachments (message_id, filename, content_type, size, sha256, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, a.MessageID, a.Filename, a.ContentType, a.Size, a.SHA256, ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
		a.ID, _ = res.LastInsertId()
		a.URL = fmt.Sprintf("/api/v1/attachments/%d", a.ID)
		m.Attachments = append(m.Attachments, a)
	}
	return nil
}
