// Package sqlite implements crm.Store on an SQLite file (mattn/go-sqlite3, built with the
// sqlite_fts5 tag). Every SQLite-only choice of Parley lives here.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/crm"
	"parley/crm/blobs"
	"parley/crm/secret"
	"parley/crm/storecache"

	"github.com/mattn/go-sqlite3"
)

var _ crm.Store = (*DB)(nil)

// Options configure a DB.
type Options struct {
	// DataDir holds attachments (DataDir/attachments/ab/<sha256>). Default: the
	// directory of the database file.
	DataDir string
	// SecretKey is the 32-byte AES-256-GCM key sealing inbox secrets.
	SecretKey []byte
	// Bus receives events after their transaction commits. It may be nil.
	Bus crm.Bus
	// ReopenWindow is how long after resolving an inbound message reopens a ticket
	// instead of starting a new one. Default 7 days.
	ReopenWindow time.Duration
	// Now is the clock. Default time.Now; tests inject their own.
	Now func() time.Time
	// Sync says when SQLite syncs what the writer commits to disk: SyncFull (the
	// default) or SyncNormal.
	Sync SyncMode
	// Logger gets what the store reports by itself, such as a full disk. Default
	// slog.Default().
	Logger *slog.Logger

	// stopAfter, set only by tests, applies the migrations up to this version and no
	// further, to build the database of an older Parley.
	stopAfter string
}

// SyncMode is SQLite's synchronous setting for the store's writes in WAL mode.
type SyncMode string

const (
	// SyncFull syncs the WAL to disk at every group commit, before any caller of the
	// commit gets its answer: an acknowledged write survives a power cut or an
	// operating-system crash. One fsync per group commit.
	SyncFull SyncMode = "full"
	// SyncNormal syncs the WAL only at checkpoints, which the checkpointer runs within
	// about 100 ms of a commit: a crash of Parley loses nothing, but a power cut can
	// lose the writes of the last moments, already acknowledged. Never corrupts.
	SyncNormal SyncMode = "normal"
)

// ParseSync returns the SyncMode named s ("full" or "normal", in any case).
func ParseSync(s string) (SyncMode, error) {
	switch m := SyncMode(strings.ToLower(s)); m {
	case SyncFull, SyncNormal:
		return m, nil
	}
	return "", fmt.Errorf("sync mode %q: want full or normal", s)
}

// DB is the SQLite store. Writes go through one connection, in immediate transactions
// that one writer goroutine runs and commits in groups (see update); reads use a
// separate pool of read-only connections so they never wait on the writer.
type DB struct {
	wdb   *sql.DB
	rdb   *sql.DB
	cdb   *sql.DB // the checkpointer's connection; see checkpointer
	path  string
	opt   Options
	box   *secret.Box
	blobs blobs.Disk

	cache *storecache.Cache // sessions, tokens and inboxes
	// Versions of ticket lists and threads for readers' caches (TicketsVersion,
	// ThreadVersion, Invalidate), bumped by the writer after each commit.
	*storecache.Versions

	units     chan *unit    // update calls waiting for the writer; unbuffered
	quit      chan struct{} // closed by Close to stop the writer and the checkpointer
	stopped   chan struct{} // closed by the writer when it has stopped
	ckptDone  chan struct{} // closed by the checkpointer when it has stopped
	indexDone chan struct{} // closed by the indexer when it has stopped
	// The search backlog (see backlog.go): stored signals the indexer after a commit that
	// stored messages; storedGen counts such commits (from 1: what an earlier run left
	// is unknown) and indexedGen the ones the index is known to hold.
	stored     chan struct{}
	storedGen  atomic.Int64
	indexedGen atomic.Int64
	committed  atomic.Bool  // set by the writer after a commit, cleared by the checkpointer
	commits    atomic.Int64 // group commits made, for tests
	closeOnce  sync.Once

	full fullDisk // whether the last writes failed for lack of space; see diskfull.go
	tail tail     // the newest events committed here; see tail.go

	crm.GuesserSlot // the contact-reason guesser of new customers' first tickets (see Ingest)
}

// driverName is mattn/go-sqlite3 with the settings every connection of the store gets.
const driverName = "sqlite3-parley"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// Savepoint and statement journals, sorts and temporary indexes stay in memory.
		// On disk, every group commit opened and wrote a temporary file for the
		// savepoints of its units. The checkpointer copies the WAL into the database
		// file; the writer does so itself only when the WAL has grown past 16 MB, which
		// happens when readers keep the checkpointer from finishing.
		_, err := c.Exec(`PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000`, nil)
		return err
	}})
}

// Both connection pools keep each connection's prepared statements (mattn/go-sqlite3's
// per-connection cache), so a hot statement is compiled once instead of on every call:
// preparing was about 130 µs of every Ingest. A statement in use is taken out of the
// cache until it is done, so a query may run again while its rows are still open.
const stmtCacheSize = "128"

// Open opens or creates the database file at path and applies pending migrations.
func Open(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("open: empty database path")
	}
	if opt.ReopenWindow <= 0 {
		opt.ReopenWindow = 7 * 24 * time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DataDir == "" {
		opt.DataDir = filepath.Dir(path)
	}
	if opt.Sync == "" {
		opt.Sync = SyncFull
	}
	if _, err := ParseSync(string(opt.Sync)); err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	db := &DB{path: path, opt: opt, cache: storecache.New(), Versions: &storecache.Versions{}, blobs: blobs.Disk{Dir: opt.DataDir}}
	var err error
	if db.box, err = secret.NewBox(opt.SecretKey); err != nil {
		return nil, err
	}
	for _, dir := range []string{filepath.Dir(path), opt.DataDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", dir, err)
		}
		if err := WritableDir(dir); err != nil {
			return nil, err
		}
	}

	// The writer's synchronous setting decides when a commit reaches the disk (see
	// SyncMode). The checkpointer gets the same: a checkpoint syncs the WAL before it
	// copies it and the database file after, with NORMAL as with FULL, and without
	// those syncs (OFF) the writer could start the WAL over before the copied pages
	// were on disk.
	syncParam := "&_synchronous=" + strings.ToUpper(string(opt.Sync))
	params := "_txlock=immediate&_foreign_keys=on&_busy_timeout=10000&_journal_mode=WAL" + syncParam +
		"&_stmt_cache_size=" + stmtCacheSize
	if db.wdb, err = sql.Open(driverName, path+"?"+params); err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	db.wdb.SetConnMaxIdleTime(0)
	db.wdb.SetConnMaxLifetime(0)
	if err := db.wdb.Ping(); err != nil {
		db.wdb.Close()
		return nil, openError(path, fmt.Errorf("open writer: %w", err))
	}
	if err := db.migrate(); err != nil {
		db.wdb.Close()
		return nil, openError(path, err)
	}

	params = "_txlock=deferred&_foreign_keys=on&_busy_timeout=10000&_query_only=true&_stmt_cache_size=" + stmtCacheSize
	if db.rdb, err = sql.Open(driverName, path+"?"+params); err != nil {
		db.wdb.Close()
		return nil, fmt.Errorf("open reader: %w", err)
	}
	db.rdb.SetMaxOpenConns(4)
	db.rdb.SetMaxIdleConns(4)
	if err := db.rdb.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open reader: %w", err)
	}
	params = "_txlock=deferred&_busy_timeout=10000" + syncParam
	if db.cdb, err = sql.Open(driverName, path+"?"+params); err != nil {
		db.Close()
		return nil, fmt.Errorf("open checkpointer: %w", err)
	}
	db.cdb.SetMaxOpenConns(1)
	db.cdb.SetMaxIdleConns(1)
	db.units, db.quit = make(chan *unit), make(chan struct{})
	db.stopped, db.ckptDone, db.indexDone = make(chan struct{}), make(chan struct{}), make(chan struct{})
	db.stored = make(chan struct{}, 1)
	db.storedGen.Store(1)
	db.stored <- struct{}{}
	go db.writer()
	go db.checkpointer()
	go db.indexer()
	return db, nil
}

// Commits returns how many group commits the store has made, so that a test can tell
// one write transaction from several.
func (db *DB) Commits() int64 { return db.commits.Load() }

// Close stops the writer, after the group commit it is running, and closes both
// connection pools. Writes after Close fail. Closing twice is harmless.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.quit != nil {
			close(db.quit)
			<-db.stopped
			<-db.ckptDone
			<-db.indexDone
		}
	})
	var errs []error
	if db.cdb != nil {
		errs = append(errs, db.cdb.Close())
	}
	if db.rdb != nil {
		errs = append(errs, db.rdb.Close())
	}
	if db.wdb != nil {
		errs = append(errs, db.wdb.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that both pools can reach the database file. While writes fail for lack
// of disk space, until one succeeds again, it returns unavailable with the message
// "disk full".
func (db *DB) Ping(ctx context.Context) error {
	if err := db.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping writer: %w", err)
	}
	var one int
	if err := db.rdb.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping reader: %w", err)
	}
	if db.full.on.Load() {
		return crm.Errorf(crm.EUNAVAILABLE, "disk full")
	}
	return nil
}

// Backup writes a consistent copy of the database to path with VACUUM INTO. Returns
// invalid when path is empty or already exists.
func (db *DB) Backup(ctx context.Context, path string) error {
	if path == "" {
		return crm.Errorf(crm.EINVALID, "backup path required")
	}
	if _, err := os.Stat(path); err == nil {
		return crm.Errorf(crm.EINVALID, "backup file %s already exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stat backup file: %w", err)
	}
	// The writer runs it: query_only connections may not write even another file.
	if _, err := db.wdb.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("vacuum into: %w", err)
	}
	return nil
}

// now returns the current time of the DB's clock in UTC, cut to milliseconds so that
// returned objects equal what a later read gives.
func (db *DB) now() time.Time {
	return time.UnixMilli(db.opt.Now().UnixMilli()).UTC()
}

// queryer is what *sql.DB, *sql.Tx and *Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a write transaction that collects the events it appends, so that they are
// published once the transaction has committed and never before. It is one caller's
// unit of work inside a group commit (see update).
type Tx struct {
	conn   *sql.Conn // the writer connection, inside BEGIN IMMEDIATE
	db     *DB
	now    time.Time
	events []*crm.Event
	// dropCache is set by a change to what the cache holds (agents, sessions,
	// memberships, inboxes): the writer empties the cache once it has committed.
	dropCache bool
	// storedMessages: tx stored messages, which the search backlog holds (unindexed).
	storedMessages bool
	// firstGuess is the contact reason guessed for the message Ingest files, which a
	// new customer's new ticket gets (see SetReasonGuesser).
	firstGuess *crm.ReasonGuess
}

// ExecContext runs a statement of the transaction. Statements run under a context of
// their own, never the caller's: cancelling a running statement interrupts the
// connection, and SQLite answers an interrupted write by rolling back the whole
// transaction, which would take the other units of the group commit with it. A caller
// whose ctx is done gets ctx's error before the statement starts instead, so that its
// unit alone rolls back. A context that is never done also spares database/sql and the
// driver the goroutines they start per statement to watch one.
//
// It also drops NUL bytes from text arguments, so that no stored text has one whatever
// path it came by: SQLite's functions and full-text index stop at a NUL and PostgreSQL
// refuses it.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = crm.NoNUL(s)
		}
	}
	return tx.conn.ExecContext(context.Background(), query, args...)
}

// QueryContext runs a query of the transaction; see ExecContext for its context.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return tx.conn.QueryContext(context.Background(), query, args...)
}

// QueryRowContext runs a query of one row of the transaction; see ExecContext for its
// context. With ctx done, the driver returns ctx's error, from Scan, before it steps
// the statement, so nothing runs and nothing is interrupted.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if ctx.Err() != nil {
		return tx.conn.QueryRowContext(ctx, query, args...)
	}
	return tx.conn.QueryRowContext(context.Background(), query, args...)
}

// Limits of one group commit. A batch ends when no other caller is waiting, or at
// either limit, which bounds what a caller waits for the work of others. After a batch
// of several units the next one lingers up to lingerTime for each further unit, until it
// is as large as that one was: the callers released by a commit mostly come back at
// once, and a commit shared by more of them costs less, since a commit writes every page
// it changed to the WAL and most of those pages are the same for every message. A lone
// caller never waits.
const (
	maxBatch     = 64
	maxBatchTime = 2 * time.Millisecond
	lingerTime   = 250 * time.Microsecond
)

var errClosed = errors.New("database is closed")

// unit is the work of one update call and, once done is closed, its outcome.
type unit struct {
	ctx    context.Context
	fn     func(tx *Tx) error
	err    error
	panic  any // what fn panicked with, panicked again in the caller
	events []*crm.Event
	// dropCache: fn changed what the cache holds.
	dropCache bool
	// storedMessages: fn stored messages for the search backlog.
	storedMessages bool
	done           chan struct{}
}

// update runs fn in an immediate write transaction and returns once that transaction
// has committed and its events are published, or with fn's error, returned as is,
// after everything fn did was rolled back.
//
// Concurrent calls are committed together (group commit): the writer goroutine runs
// their fns one after another in one transaction, commits once and publishes the events
// of every fn in commit order. A commit costs about as much for 64 messages as for one,
// since they share the same B-tree and full-text index pages. When one fn fails, the
// writer rolls the whole transaction back and runs the batch again with each fn in a
// savepoint of its own, so that a failing fn rolls back alone (see batcher.commit).
// fn may therefore run more than once: it must change nothing but tx, and set what it
// returns to its caller on every run. A caller whose ctx is done before its fn starts
// gets ctx's error; once fn has started, update waits for the commit, so that a nil
// error always means committed and any error means nothing of fn was committed. A
// write that failed for lack of disk space returns unavailable (see diskFull).
//
// A ctx that acts as no one (neither crm.WithAgent nor crm.AsSystem) writes nothing:
// forbidden, so that a path that forgot to say who acts fails closed.
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	if crm.AgentFrom(ctx) == nil && !crm.IsSystem(ctx) {
		return crm.Errorf(crm.EFORBIDDEN, "no agent or system acts here")
	}
	u := &unit{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case db.units <- u:
	case <-ctx.Done():
		return fmt.Errorf("begin: %w", ctx.Err())
	case <-db.quit:
		return fmt.Errorf("begin: %w", errClosed)
	}
	<-u.done
	if u.panic != nil {
		panic(u.panic)
	}
	return db.diskFull(u.err)
}

// writer runs the group commits, one at a time, until Close.
func (db *DB) writer() {
	defer close(db.stopped)
	w := &batcher{db: db, units: make([]*unit, 0, maxBatch), timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	for {
		select {
		case u := <-db.units:
			w.units = append(w.units[:0], u)
			w.commit()
			clear(w.units)
		case <-db.quit:
			return
		}
	}
}

// batcher is the writer's state: the units of the group commit it runs, the size of the
// one before and the timer it lingers with.
type batcher struct {
	db    *DB
	units []*unit
	last  int
	timer *time.Timer
}

// next returns another unit for the batch that started at start, or nil when the batch
// is complete.
func (w *batcher) next(start time.Time) *unit {
	left := maxBatchTime - time.Since(start)
	if len(w.units) >= maxBatch || left <= 0 {
		return nil
	}
	select {
	case u := <-w.db.units:
		return u
	default:
	}
	if len(w.units) >= w.last {
		return nil
	}
	w.timer.Reset(min(left, lingerTime))
	defer w.timer.Stop()
	select {
	case u := <-w.db.units:
		return u
	case <-w.timer.C:
	case <-w.db.quit:
	}
	return nil
}

// commit runs the units of the batch, and those that arrive meanwhile up to the limits,
// in one transaction, commits it, publishes the events and releases the callers.
//
// The units run straight in the transaction: a savepoint per unit made every group
// commit several times dearer, since SQLite's full-text index writes out what it holds
// in memory at every savepoint and its release, one small index segment per unit and
// table, which it then has to merge. Units rarely fail, and when one does, the batch is
// rolled back and run again with a savepoint per unit, in which the failing unit rolls
// back alone and the others are committed.
//
// It holds the writer connection as a *sql.Conn and says BEGIN and COMMIT itself rather
// than using a *sql.Tx, whose context makes database/sql start a goroutine for every
// query; the connection goes back to the pool between batches for the few writes made
// outside update (Backup, a token's last use).
func (w *batcher) commit() {
	db := w.db
	defer func() {
		for _, u := range w.units {
			close(u.done)
		}
		w.last = len(w.units)
	}()
	bg := context.Background() // not the callers': the transaction outlives each of them
	conn, err := db.wdb.Conn(bg)
	if err != nil {
		w.units[0].err = fmt.Errorf("begin: %w", err)
		return
	}
	defer conn.Close()
	failed, err := w.run(conn, false)
	if err == nil && failed {
		// Run again from the start: what the units before the failing one did is gone
		// with the rollback, and the units after it have not run yet. ROLLBACK fails
		// when the failure made SQLite roll back already; a connection it leaves inside
		// a transaction makes BEGIN fail.
		conn.ExecContext(bg, `ROLLBACK`)
		for _, u := range w.units {
			u.err, u.panic, u.events, u.dropCache, u.storedMessages = nil, nil, nil, false, false
		}
		_, err = w.run(conn, true)
	}
	if err != nil {
		conn.ExecContext(bg, `ROLLBACK`) // may fail when SQLite rolled back already
		failAll(w.units, err)
		return
	}
	if _, err := conn.ExecContext(bg, `COMMIT`); err != nil {
		conn.ExecContext(bg, `ROLLBACK`) // COMMIT may fail and leave the transaction open
		failAll(w.units, fmt.Errorf("commit: %w", err))
		return
	}
	db.committed.Store(true)
	db.commits.Add(1)
	db.spaceAgain()
	// Emptied before any caller returns, so that once a change (a disabled agent, a
	// deleted session) is answered, no request is let in on the old state.
	var events []*crm.Event
	stored := false
	for _, u := range w.units {
		events = append(events, u.events...)
		if u.dropCache {
			db.cache.Drop()
		}
		stored = stored || u.storedMessages
	}
	if stored {
		db.storedGen.Add(1)
		select {
		case db.stored <- struct{}{}:
		default: // the indexer has been told already
		}
	}
	db.tail.add(events) // before the events are published, so that readers woken by them find them
	db.Versions.Bump(events)
	if db.opt.Bus == nil {
		return
	}
	if len(events) > 0 {
		db.opt.Bus.Publish(events...)
	}
}

// run begins the transaction on conn and runs the units of the batch in it, keeping the
// outcome of each in the unit. Without savepoints it stops at the first unit that fails
// and says so; the batch is open to units that arrive meanwhile only then, so that the
// run with savepoints runs the same units. Its error means the transaction is lost.
func (w *batcher) run(conn *sql.Conn, savepoints bool) (failed bool, err error) {
	bg := context.Background()
	if _, err := conn.ExecContext(bg, `BEGIN IMMEDIATE`); err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	start := time.Now()
	for i := 0; i < len(w.units); i++ {
		if savepoints {
			if err := w.db.runSavepoint(conn, w.units[i]); err != nil {
				return false, err
			}
			continue
		}
		if !w.db.runUnit(conn, w.units[i]) {
			return true, nil
		}
		if i == len(w.units)-1 {
			if u := w.next(start); u != nil {
				w.units = append(w.units, u)
			}
		}
	}
	return false, nil
}

// failAll gives err to every unit of batch that had not failed on its own.
func failAll(batch []*unit, err error) {
	for _, u := range batch {
		if u.err == nil && u.panic == nil {
			u.err, u.events = err, nil
		}
	}
}

// runUnit runs u in the transaction on conn, keeps its outcome in u and says whether
// the transaction holds nothing of a failure: false when u failed after it started. A
// unit whose ctx is done gets ctx's error without running.
func (db *DB) runUnit(conn *sql.Conn, u *unit) bool {
	if err := u.ctx.Err(); err != nil {
		u.err = fmt.Errorf("begin: %w", err)
		return true
	}
	tx := &Tx{conn: conn, db: db, now: db.now()}
	u.panic, u.err = call(tx, u.fn)
	if u.err == nil && u.panic == nil {
		u.err = tx.eventInboxes(u.ctx)
	}
	if u.err != nil || u.panic != nil {
		return false
	}
	u.events, u.dropCache, u.storedMessages = tx.events, tx.dropCache, tx.storedMessages
	return true
}

// runSavepoint runs u in a savepoint of the transaction on conn, which is rolled back
// if u fails. Its error means the transaction itself is lost.
func (db *DB) runSavepoint(conn *sql.Conn, u *unit) error {
	if err := u.ctx.Err(); err != nil {
		u.err = fmt.Errorf("begin: %w", err)
		return nil
	}
	bg := context.Background()
	if _, err := conn.ExecContext(bg, `SAVEPOINT unit`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if db.runUnit(conn, u) {
		if _, err := conn.ExecContext(bg, `RELEASE unit`); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	}
	// ROLLBACK TO undoes the unit but keeps the savepoint open; RELEASE ends it. It
	// fails when the unit's error made SQLite roll back the whole transaction (it may,
	// on a full disk): the unit's error, kept in the chain, is then everyone's cause.
	if _, err := conn.ExecContext(bg, `ROLLBACK TO unit`); err != nil {
		if u.err != nil {
			return fmt.Errorf("roll back savepoint: %w (after: %w)", err, u.err)
		}
		return fmt.Errorf("roll back savepoint: %w", err)
	}
	if _, err := conn.ExecContext(bg, `RELEASE unit`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// checkpointEvery is how often the checkpointer looks for commits to copy.
const checkpointEvery = 100 * time.Millisecond

// checkpointer copies what the writer committed to the WAL into the database file, on a
// connection of its own, until Close. A checkpoint run by the writer, as SQLite does
// after a commit that grows the WAL past wal_autocheckpoint, holds up every caller
// waiting for the next group commit while it copies pages and syncs both files; a
// passive checkpoint here runs beside the writer and readers without blocking them.
// Once it has copied the whole WAL, the writer starts the WAL over at its next
// transaction, which keeps the file small. A checkpoint that fails (say, the disk is
// full) is tried again at the next tick; the writer's own checkpoint stays the backstop.
func (db *DB) checkpointer() {
	defer close(db.ckptDone)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-db.quit:
			return
		}
		if db.committed.Swap(false) {
			db.cdb.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// call runs fn, turning a panic into a value so that it reaches its own caller instead
// of ending the writer.
func call(tx *Tx, fn func(tx *Tx) error) (p any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p = r
		}
	}()
	return nil, fn(tx)
}

// event appends an event row with data as its JSON and keeps it for publishing.
func (tx *Tx) event(ctx context.Context, typ string, ticketID, customerID, inboxID int64, actor crm.Actor, data any) (*crm.Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("marshal %s event: %w", typ, err)
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO events (type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		typ, nullID(ticketID), nullID(customerID), nullID(inboxID), actor.Kind, actor.ID, string(b), ms(tx.now))
	if err != nil {
		return nil, fmt.Errorf("insert %s event: %w", typ, err)
	}
	id, _ := res.LastInsertId()
	if typ == crm.EventAgentUpdated || typ == crm.EventInboxUpdated {
		tx.dropCache = true
	}
	e := &crm.Event{ID: id, Type: typ, TicketID: ticketID, CustomerID: customerID, InboxID: inboxID,
		Actor: actor, Data: b, At: tx.now}
	tx.events = append(tx.events, e)
	return e, nil
}

// ticketEvent appends an event about ticket t, with data as its JSON.
func (tx *Tx) ticketEvent(ctx context.Context, typ string, t *crm.Ticket, actor crm.Actor, data any) error {
	_, err := tx.event(ctx, typ, t.ID, t.CustomerID, t.InboxID, actor, data)
	return err
}

// actorFrom returns the agent or the automation rule in ctx as actor, else fallback.
func actorFrom(ctx context.Context, fallback crm.Actor) crm.Actor {
	if a := crm.AgentFrom(ctx); a != nil {
		return crm.Actor{Kind: "agent", ID: a.ID}
	}
	if id := crm.RuleFrom(ctx); id != 0 {
		return crm.Actor{Kind: crm.ActorRule, ID: id}
	}
	return fallback
}

var systemActor = crm.Actor{Kind: "system"}

// inboxFilter returns an SQL condition that limits col to the inboxes the agent in ctx
// may see, with its arguments. The system, managers and admins see everything; a
// context that acts as nobody (crm.AsSystem and crm.WithAgent were never called on it)
// sees nothing.
func inboxFilter(ctx context.Context, col string) (string, []any) {
	a := crm.AgentFrom(ctx)
	switch {
	case crm.SeesAll(ctx):
		return "1", nil
	case a == nil:
		return "0", nil
	}
	return col + " IN (SELECT value FROM json_each(?))", []any{idsJSON(a.InboxIDs)}
}

// customerFilter returns an SQL condition that limits the customer table alias c to the
// customers the agent in ctx may see: those with a ticket in its inboxes. A merged-away
// customer is seen through the customer it was merged into. Like inboxFilter, nobody
// sees nothing.
func customerFilter(ctx context.Context) (string, []any) {
	a := crm.AgentFrom(ctx)
	switch {
	case crm.SeesAll(ctx):
		return "1", nil
	case a == nil:
		return "0", nil
	}
	return `EXISTS (SELECT 1 FROM tickets vt WHERE vt.customer_id IN (c.id, c.merged_into)
		AND vt.inbox_id IN (SELECT value FROM json_each(?)))`, []any{idsJSON(a.InboxIDs)}
}

func idsJSON(ids []int64) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// ms converts t to unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts unix milliseconds to a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullTime converts a nullable millisecond column to a *time.Time.
func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// nullMS converts t to a nullable millisecond value.
func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}

// nullID stores 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// limitOf applies a list's default and maximum to n.
func limitOf(n, def, max int) int {
	if n < 1 {
		return def
	} else if n > max {
		return max
	}
	return n
}

// encodeCursor joins the keyset values of a list's last row into an opaque cursor.
func encodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

// decodeCursor splits a cursor into n parts. Returns invalid for anything else.
func decodeCursor(c string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "invalid cursor")
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != n {
		return nil, crm.Errorf(crm.EINVALID, "invalid cursor")
	}
	return parts, nil
}

// decodeIntCursor decodes a cursor of n integers.
func decodeIntCursor(c string, n int) ([]int64, error) {
	parts, err := decodeCursor(c, n)
	if err != nil {
		return nil, err
	}
	v := make([]int64, n)
	for i, p := range parts {
		if v[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return nil, crm.Errorf(crm.EINVALID, "invalid cursor")
		}
	}
	return v, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// where builds the WHERE clause of a list query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return "1"
	}
	return strings.Join(w.conds, " AND ")
}

func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// queryIDs returns the integer first column of a query.
func queryIDs(ctx context.Context, q queryer, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query ids: %w", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan id: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// queryStrings returns the text first column of a query.
func queryStrings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query strings: %w", err)
	}
	defer rows.Close()
	list := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("scan string: %w", err)
		}
		list = append(list, s)
	}
	return list, rows.Err()
}
