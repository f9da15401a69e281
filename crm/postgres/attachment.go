package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"parley/crm"
)

const attachmentCols = `a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256`

func scanAttachment(s scanner) (*crm.Attachment, error) {
	var a crm.Attachment
	if err := s.Scan(&a.ID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256); err != nil {
		return nil, err
	}
	a.URL = fmt.Sprintf("/api/v1/attachments/%d", a.ID)
	return &a, nil
}

// loadAttachments fills the attachments of msgs in one query.
func loadAttachments(ctx context.Context, q queryer, msgs []*crm.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	byID := make(map[int64]*crm.Message, len(msgs))
	ids := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
		ids = append(ids, m.ID)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+attachmentCols+` FROM attachments a
		WHERE a.message_id = ANY(?) ORDER BY a.id`, ids)
	if err != nil {
		return fmt.Errorf("query attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return fmt.Errorf("scan attachment: %w", err)
		}
		byID[a.MessageID].Attachments = append(byID[a.MessageID].Attachments, a)
	}
	return rows.Err()
}

// errBlobsFull is what a write answers when the attachment directory has no space left:
// nothing was saved, and a channel that gets no answer sends again.
var errBlobsFull = crm.Errorf(crm.EUNAVAILABLE, "the disk of the data directory is full: nothing was saved; try again later")

// writeBlob stores data once under its SHA-256 (see blobs.Disk.Write) and returns the
// hex digest. A full disk returns unavailable.
func (db *DB) writeBlob(data []byte) (string, error) {
	sum, err := db.blobs.Write(data)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		db.opt.Logger.Error("disk full: attachments cannot be written until space is freed in the data directory",
			"dir", db.opt.DataDir, "err", err)
		return "", fmt.Errorf("%w: %w", errBlobsFull, err)
	}
	return sum, err
}

// Attachment returns an attachment of a message the agent in ctx may see, with its
// content opened for reading. The caller closes it. Returns not_found.
func (db *DB) Attachment(ctx context.Context, id int64) (*crm.Attachment, io.ReadSeekCloser, error) {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	row := db.rdb().QueryRowContext(ctx, `SELECT `+attachmentCols+` FROM attachments a
		JOIN messages m ON m.id = a.message_id JOIN tickets t ON t.id = m.ticket_id
		WHERE a.id = ? AND `+vis, append([]any{id}, args...)...)
	a, err := scanAttachment(row)
	if err != nil {
		if isNoRows(err) {
			return nil, nil, crm.Errorf(crm.ENOTFOUND, "attachment %d not found", id)
		}
		return nil, nil, fmt.Errorf("query attachment: %w", err)
	}
	f, err := db.blobs.Open(a.SHA256)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, crm.Errorf(crm.ENOTFOUND, "attachment %d content not found", id)
	} else if err != nil {
		return nil, nil, fmt.Errorf("open attachment: %w", err)
	}
	return a, f, nil
}
