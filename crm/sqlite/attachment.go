package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
		WHERE a.message_id IN (SELECT value FROM json_each(?)) ORDER BY a.id`, idsJSON(ids))
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

// blobPath is where the content with the given SHA-256 lives.
func (db *DB) blobPath(sum string) string {
	return filepath.Join(db.opt.DataDir, "attachments", sum[:2], sum)
}

// writeBlob stores data once under its SHA-256 and returns the hex digest. It writes a
// temporary file and renames it, so a reader never sees a partial file and a second
// write of the same content changes nothing.
//
// The file is synced before the rename and before the message row that points to it
// is written, so that no crash, of the process or of the machine, leaves a row that
// points to a missing or torn file. The sync is the caller's, made before its unit of
// work joins the group commit: concurrent callers sync at the same time, which the file
// system serves together, and the single writer never waits on a disk flush. Deferring
// the syncs to one round before each commit would not save flushes (there is one per
// new file either way), would stall every writer behind the slowest disk, and would
// give a lone caller, like an email fetcher, nothing. Content already stored costs no
// write and no sync: a file under its final name was synced before it got that name.
// A full disk returns unavailable (see diskFull).
func (db *DB) writeBlob(data []byte) (sum string, err error) {
	defer func() { err = db.diskFull(err) }()
	h := sha256.Sum256(data)
	sum = hex.EncodeToString(h[:])
	path := db.blobPath(sum)
	if _, err := os.Stat(path); err == nil {
		return sum, nil
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if errors.Is(err, os.ErrNotExist) {
		// The first file of its shard: create the directory only then.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create attachment dir: %w", err)
		}
		f, err = os.CreateTemp(dir, ".tmp-*")
	}
	if err != nil {
		return "", fmt.Errorf("create attachment: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", fmt.Errorf("write attachment: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("sync attachment: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close attachment: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("rename attachment: %w", err)
	}
	return sum, nil
}

// Attachment returns an attachment of a message the agent in ctx may see, with its
// content opened for reading. The caller closes it. Returns not_found.
func (db *DB) Attachment(ctx context.Context, id int64) (*crm.Attachment, io.ReadSeekCloser, error) {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	row := db.rdb.QueryRowContext(ctx, `SELECT `+attachmentCols+` FROM attachments a
		JOIN messages m ON m.id = a.message_id JOIN tickets t ON t.id = m.ticket_id
		WHERE a.id = ? AND `+vis, append([]any{id}, args...)...)
	a, err := scanAttachment(row)
	if err != nil {
		if isNoRows(err) {
			return nil, nil, crm.Errorf(crm.ENOTFOUND, "attachment %d not found", id)
		}
		return nil, nil, fmt.Errorf("query attachment: %w", err)
	}
	f, err := os.Open(db.blobPath(a.SHA256))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, crm.Errorf(crm.ENOTFOUND, "attachment %d content not found", id)
	} else if err != nil {
		return nil, nil, fmt.Errorf("open attachment: %w", err)
	}
	return a, f, nil
}
