package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"parley/crm"

	"github.com/mattn/go-sqlite3"
)

// errDiskFull is what a write that failed for lack of space answers: the caller may try
// again later, and a channel that did not get an answer sends again (Twilio retries a
// 503, the email fetcher keeps the mail unread, the widget resends).
var errDiskFull = crm.Errorf(crm.EUNAVAILABLE, "the disk of the data directory is full: nothing was saved; try again later")

// fullDisk is the store's memory of a full disk: on from a write that failed for lack of
// space until the next commit, and what the log needs to report it at most once a
// minute however many requests fail.
type fullDisk struct {
	on atomic.Bool

	mu         sync.Mutex
	reported   time.Time // when a failure was last logged
	unreported int       // failed writes since then
	owed       bool      // a failure was logged, and the recovery after it not yet
}

// isDiskFull reports whether err says that a write failed for lack of space: SQLite's
// SQLITE_FULL ("database or disk is full": the database, its WAL or a temporary file
// could not grow) or ENOSPC or EDQUOT from a file Parley writes itself.
func isDiskFull(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return true
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// diskFull returns err as it is unless it says the disk is full. Then it marks the
// store degraded (Ping says so until a commit succeeds), logs it, at most once a minute
// with the number of writes that failed meanwhile, and returns unavailable with err
// kept in the chain for whoever logs it.
func (db *DB) diskFull(err error) error {
	if err == nil || crm.ErrorCode(err) == crm.EUNAVAILABLE || !isDiskFull(err) {
		return err
	}
	db.full.on.Store(true)
	f := &db.full
	now := db.opt.Now()
	f.mu.Lock()
	f.unreported++
	if f.reported.IsZero() || now.Sub(f.reported) >= time.Minute {
		db.opt.Logger.Error("disk full: writes fail until space is freed in the data directory",
			"dir", db.opt.DataDir, "database", db.path, "failed_writes", f.unreported, "err", err)
		f.reported, f.unreported, f.owed = now, 0, true
	}
	f.mu.Unlock()
	return fmt.Errorf("%w: %w", errDiskFull, err)
}

// spaceAgain ends the degraded state after a commit. The recovery is logged once after
// each logged failure, so that a disk at the edge, where small writes pass and large
// ones fail, logs at most two lines a minute.
func (db *DB) spaceAgain() {
	if !db.full.on.Load() || !db.full.on.CompareAndSwap(true, false) {
		return
	}
	f := &db.full
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.owed {
		db.opt.Logger.Info("disk space again: writes succeed", "dir", db.opt.DataDir, "failed_writes", f.unreported)
		f.owed, f.unreported = false, 0
	}
}

// maxPages is SQLite's largest max_page_count, its default.
const maxPages = 4294967294

// LimitPages caps the database at n pages (SQLite's max_page_count on the writer's
// connection), so that a write needing one more page fails with SQLITE_FULL as on a full
// disk; n <= 0 lifts the cap. SQLite raises a cap below the current size to that size.
// It exists for tests, which fill the "disk" of a real store with it.
func (db *DB) LimitPages(ctx context.Context, n int64) error {
	if n <= 0 {
		n = maxPages
	}
	if _, err := db.wdb.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.FormatInt(n, 10)); err != nil {
		return fmt.Errorf("set max_page_count: %w", err)
	}
	return nil
}

// WritableDir returns an error that names dir and the cause, such as "read-only file
// system" or "permission denied", when no file can be created in dir; nil when one can.
// Parley checks its data directory at start, since a read-only one would otherwise fail
// later with SQLite's words, which name neither.
func WritableDir(dir string) error {
	f, err := os.CreateTemp(dir, ".parley-write-check-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("data directory %s: remove write check: %w", dir, err)
	}
	return nil
}

// openError explains the errors of opening and migrating the database that an
// operator can fix; others it returns as they are.
func openError(path string, err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrReadonly:
		return fmt.Errorf("database %s is read-only: Parley must write it, its -wal and -shm files and %s: %w",
			path, filepath.Dir(path), err)
	case sqlite3.ErrFull:
		return fmt.Errorf("the disk of %s is full: %w", filepath.Dir(path), err)
	}
	return err
}
