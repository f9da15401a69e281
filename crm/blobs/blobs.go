// Package blobs keeps the content of attachments: each file once, named by its SHA-256.
// Disk keeps them under a directory (DIR/attachments/ab/<sha256>), for one node; a
// cluster of nodes needs a store every node reads: the database (crm/postgres) or
// S3-compatible storage (crm/blobs/s3).
package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Store keeps contents by their SHA-256. A content is written once and never changed
// or deleted, so a reader never sees a partial one and a second write of the same bytes
// changes nothing.
type Store interface {
	// Write stores data once under its SHA-256 and returns the hex digest. It returns
	// only once the content is durable: callers write it before the row that points to
	// it.
	Write(data []byte) (string, error)
	// Open opens the content with the given hex SHA-256 for reading. A missing content
	// is os.ErrNotExist in the error's chain.
	Open(sum string) (io.ReadSeekCloser, error)
}

// Sum returns the hex SHA-256 of data, the name of its content in every Store.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// ValidSum reports whether s is a hex SHA-256 as Sum writes it, so that it can name a
// file or an object.
func ValidSum(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Disk is a blob store in a directory.
type Disk struct{ Dir string }

var _ Store = Disk{}

// Path is where the content with the given hex SHA-256 lives.
func (d Disk) Path(sum string) string {
	return filepath.Join(d.Dir, "attachments", sum[:2], sum)
}

// Write stores data once under its SHA-256 and returns the hex digest. It writes a
// temporary file and renames it, so a reader never sees a partial file and a second
// write of the same content changes nothing.
//
// The file is synced before the rename, and callers write it before the row that points
// to it, so that no crash, of the process or of the machine, leaves a row that points to
// a missing or torn file. The sync is the caller's, made before its write joins the
// store's group commit: concurrent callers sync at the same time, which the file system
// serves together, and the store's writer never waits on a disk flush. Content already
// stored costs no write and no sync: a file under its final name was synced before it
// got that name.
func (d Disk) Write(data []byte) (string, error) {
	sum := Sum(data)
	path := d.Path(sum)
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

// Open opens the content with the given SHA-256 for reading. A missing file is
// os.ErrNotExist in the error's chain.
func (d Disk) Open(sum string) (io.ReadSeekCloser, error) {
	if !ValidSum(sum) {
		return nil, fmt.Errorf("open attachment %.80q: not a sha256: %w", sum, os.ErrNotExist)
	}
	f, err := os.Open(d.Path(sum))
	if err != nil {
		return nil, fmt.Errorf("open attachment: %w", err)
	}
	return f, nil
}
