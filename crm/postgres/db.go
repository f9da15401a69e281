// Package postgres implements Parley's store on PostgreSQL (15 or newer) with pgx. It
// keeps the SQLite store's semantics (crm/storetest runs against both): one writer
// goroutine per process commits the writes that arrive together in one transaction, and
// the events of every commit get ids in commit order, so that a reader resuming after an
// id never misses an event that commits later.
package postgres

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configure a DB.
type Options struct {
	// DataDir holds attachments (DataDir/attachments/ab/<sha256>) and, for the widget,
	// pending uploads. Required.
	DataDir string
	// SecretKey is the 32-byte AES-256-GCM key sealing inbox and order-source secrets.
	SecretKey []byte
	// Bus receives events after their transaction commits. It may be nil.
	Bus crm.Bus
	// ReopenWindow is how long after resolving an inbound message reopens a ticket
	// instead of starting a new one. Default 7 days.
	ReopenWindow time.Duration
	// Now is the clock. Default time.Now; tests inject their own.
	Now func() time.Time
	// Logger gets what the store reports by itself. Default slog.Default().
	Logger *slog.Logger
	// MaxConns bounds the connection pool. Default 16.
	MaxConns int32
	// SkipKeyCheck leaves the check of SecretKey against the database's (see checkKey)
	// to the next Open: for parley copy, which seals nothing and must say first that a
	// database is not empty.
	SkipKeyCheck bool
	// Blobs keeps the content of attachments. Default: a directory under DataDir, which
	// serves one node; several nodes need Blobs (see DB.Blobs) or another shared store.
	Blobs blobs.Store
}

// DB is the PostgreSQL store. Writes go to one writer goroutine, which runs the units
// of work waiting for it in one transaction and commits them together (see update);
// reads use the pool.
type DB struct {
	pool  *pgxpool.Pool // the readers'
	wpool *pgxpool.Pool // the writer's one connection
	opt   Options
	box   *secret.Box
	blobs blobs.Store
	// sharedBlobs says every node reads blobs (the database, S3): chat uploads wait
	// there too, not in DataDir.
	sharedBlobs bool

	cache *storecache.Cache // sessions, tokens and inboxes
	// Versions of ticket lists and threads for readers' caches, bumped by this
	// process's writer after each commit. Another node's commits must reach them through
	// Invalidate, or the server's read cache must be off.
	*storecache.Versions

	units     chan *unit
	quit      chan struct{}
	stopped   chan struct{}
	commits   atomic.Int64
	closeOnce sync.Once

	crm.GuesserSlot // the contact-reason guesser of new customers' first tickets (see Ingest)
}

// Open connects to the database at url (postgres://user@host/db?sslmode=...), applies
// pending migrations and starts the writer.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	if opt.ReopenWindow <= 0 {
		opt.ReopenWindow = 7 * 24 * time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 16
	}
	if opt.DataDir == "" {
		return nil, fmt.Errorf("open: a data directory is required for attachments")
	}
	opt.DataDir = filepath.Clean(opt.DataDir)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.MaxConns = opt.MaxConns
	db := &DB{opt: opt, cache: storecache.New(), Versions: &storecache.Versions{}, blobs: opt.Blobs}
	if db.box, err = secret.NewBox(opt.SecretKey); err != nil {
		return nil, err
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.pool.Ping(ctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	if !opt.SkipKeyCheck {
		if err := db.checkKey(ctx); err != nil {
			db.pool.Close()
			return nil, err
		}
	}
	if db.blobs == nil {
		db.blobs = blobs.Disk{Dir: opt.DataDir}
	} else {
		db.sharedBlobs = true
	}
	// The writer has a connection of its own: readers that take every connection of
	// theirs must not hold up the commits (it waited for one behind the look-ups of 32
	// clients in make bench).
	wcfg := cfg.Copy()
	wcfg.MaxConns, wcfg.MinConns = 1, 1
	if db.wpool, err = pgxpool.NewWithConfig(ctx, wcfg); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.units, db.quit, db.stopped = make(chan *unit), make(chan struct{}), make(chan struct{})
	go db.writer()
	return db, nil
}

// Close stops the writer, after the commit it is running, and closes the pool. Writes
// after Close fail. Closing twice is harmless.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.quit != nil {
			close(db.quit)
			<-db.stopped
		}
		if db.wpool != nil {
			db.wpool.Close()
		}
		db.pool.Close()
	})
	return nil
}

// Ping checks that the database answers. Returns unavailable when it does not.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return nil
}

// Backup is SQLite's consistent copy; PostgreSQL is backed up with its own tools. Returns
// invalid.
func (db *DB) Backup(ctx context.Context, path string) error {
	return crm.Errorf(crm.EINVALID, "parley backup copies a SQLite database; back up PostgreSQL with pg_dump (see docs/operations.md)")
}

// Commits returns how many write transactions the writer has committed.
func (db *DB) Commits() int64 { return db.commits.Load() }

var errUnavailable = crm.Errorf(crm.EUNAVAILABLE, "the database is unavailable; nothing was saved; try again later")

// unavailable turns an error of a lost or refused connection, or of a database that
// cannot take writes (shutting down, out of disk), into unavailable, so that callers
// answer 503 and channels try again; any other error comes back as it is.
func unavailable(err error) error {
	if err == nil || crm.ErrorCode(err) != crm.EINTERNAL {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception, 53: insufficient resources (53100: disk full),
		// 57P: the server is shutting down or cannot connect now.
		if !strings.HasPrefix(pe.Code, "08") && !strings.HasPrefix(pe.Code, "53") && !strings.HasPrefix(pe.Code, "57P") {
			return err
		}
	} else {
		var ne net.Error
		var ce *pgconn.ConnectError
		if !errors.As(err, &ne) && !errors.As(err, &ce) && !pgconn.SafeToRetry(err) &&
			!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) &&
			!strings.Contains(err.Error(), "closed pool") {
			return err
		}
	}
	return fmt.Errorf("%w: %w", errUnavailable, err)
}

// now returns the current time of the DB's clock in UTC, cut to milliseconds so that
// returned objects equal what a later read gives.
func (db *DB) now() time.Time {
	return time.UnixMilli(db.opt.Now().UnixMilli()).UTC()
}

// result is what a statement that returns no rows reports.
type result struct{ tag pgconn.CommandTag }

// RowsAffected returns the number of rows the statement changed.
func (r result) RowsAffected() (int64, error) { return r.tag.RowsAffected(), nil }

// queryer is what the pool and a Tx have in common. Queries are written with ? for their
// arguments, as on SQLite; they are rewritten to $1, $2, ... before they run.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (result, error)
	QueryContext(ctx context.Context, query string, args ...any) (pgx.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) pgx.Row
}

// reader runs reads on the pool.
type reader struct{ pool *pgxpool.Pool }

func (r reader) ExecContext(ctx context.Context, query string, args ...any) (result, error) {
	tag, err := r.pool.Exec(ctx, rebind(query), cleanArgs(args)...)
	return result{tag}, unavailable(err)
}

func (r reader) QueryContext(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	rows, err := r.pool.Query(ctx, rebind(query), cleanArgs(args)...)
	return rows, unavailable(err)
}

func (r reader) QueryRowContext(ctx context.Context, query string, args ...any) pgx.Row {
	return r.pool.QueryRow(ctx, rebind(query), cleanArgs(args)...)
}

// rdb is the pool as a queryer: what the SQLite store's read connections are.
func (db *DB) rdb() queryer { return reader{db.pool} }

// Tx is one unit of work inside a group commit (see update). Its events get their ids
// when the group commits.
type Tx struct {
	c      *txConn
	db     *DB
	now    time.Time
	events []*crm.Event
	// dropCache is set by a change to what the cache holds (agents, sessions,
	// memberships, inboxes): the writer empties the cache once it has committed.
	dropCache bool
	// alone is set when the unit runs in a savepoint of its own, after its batch failed
	// (see batcher.commit): flush then sends what the unit queued, so that an error of
	// those statements is its own.
	alone bool
	// taken are ids that an inbound message's look-up took for the rows it may insert
	// (see ingestOnce); an insert that uses one sets it back to 0.
	taken struct{ message, customer, ticket int64 }
	// firstGuess is the contact reason guessed for the message Ingest files, which a
	// new customer's new ticket gets (see SetReasonGuesser).
	firstGuess *crm.ReasonGuess
}

// txConn is the connection of a group commit's transaction with the statements queued
// for its next round trip: the BEGIN, the savepoints and what later queued. The units of
// the batch share it, so that what one unit queued goes out with the next one's first
// statement, or with the commit.
type txConn struct {
	conn    *pgx.Conn
	pending []*pgx.QueuedQuery
	sends   int // round trips so far
}

// queue adds a statement to the next round trip.
func (c *txConn) queue(query string, args ...any) {
	c.pending = append(c.pending, &pgx.QueuedQuery{SQL: rebind(query), Arguments: cleanArgs(args)})
}

// send sends the queries of b, written with ? like the others, in one round trip, after
// the queued statements. The caller reads b's results and closes them. An error of a
// queued statement comes back here, and nothing of b ran.
func (c *txConn) send(b *pgx.Batch) (pgx.BatchResults, error) {
	for _, q := range b.QueuedQueries {
		q.SQL, q.Arguments = rebind(q.SQL), cleanArgs(q.Arguments)
	}
	pending := c.pending
	c.pending = nil
	c.sends++
	b.QueuedQueries = append(pending, b.QueuedQueries...)
	br := c.conn.SendBatch(context.Background(), b)
	for range pending {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

// exec runs query after the queued statements.
func (c *txConn) exec(query string, args ...any) (pgconn.CommandTag, error) {
	if len(c.pending) == 0 {
		c.sends++
		return c.conn.Exec(context.Background(), rebind(query), cleanArgs(args)...)
	}
	var b pgx.Batch
	b.Queue(query, args...)
	br, err := c.send(&b)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// rollback ends the transaction, if it began, dropping what is queued. A failure is
// left to the pool, which closes a connection that is not idle when it comes back.
func (c *txConn) rollback() {
	c.pending = nil
	if c.sends > 0 {
		c.exec("ROLLBACK")
	}
}

// ExecContext runs a statement of the transaction. Like on SQLite, statements do not
// follow the caller's context once the unit runs: cancelling one would abort the whole
// group's transaction; a caller whose ctx is done gets ctx's error before it starts.
// NUL bytes are dropped from text arguments: PostgreSQL refuses them.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (result, error) {
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	tag, err := tx.c.exec(query, args...)
	return result{tag}, err
}

// QueryContext runs a query of the transaction; see ExecContext for its context.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(tx.c.pending) == 0 {
		tx.c.sends++
		return tx.c.conn.Query(context.Background(), rebind(query), cleanArgs(args)...)
	}
	br, err := tx.sendWith(query, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return batchRows{rows, br}, nil
}

// QueryRowContext runs a query of one row of the transaction; see ExecContext.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) pgx.Row {
	if err := ctx.Err(); err != nil {
		return errRow{err}
	}
	if len(tx.c.pending) == 0 {
		tx.c.sends++
		return tx.c.conn.QueryRow(context.Background(), rebind(query), cleanArgs(args)...)
	}
	br, err := tx.sendWith(query, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br.QueryRow(), br}
}

// later queues a statement whose outcome the unit does not need to go on (an insert
// with its id chosen, an update of a row the unit holds): it is sent in the same round
// trip as the next statement of the transaction, before it: the unit's own next one,
// else the next unit's first one or the commit. Its error is that statement's; the
// batch then runs again with each unit alone (see update), and the unit's flush sends
// it. The writer runs statements one at a time, and each round trip costs both
// processes a wake-up, far more than a small statement.
func (tx *Tx) later(query string, args ...any) {
	tx.c.queue(query, args...)
}

// flush sends the statements queued by later when the unit runs alone, so that their
// errors are the unit's: ingest turns some of them into errRaced. In a batch run
// straight they wait for the batch's next statement (see later).
func (tx *Tx) flush(ctx context.Context) error {
	if !tx.alone || len(tx.c.pending) == 0 {
		return nil
	}
	br, err := tx.sendBatch(ctx, &pgx.Batch{})
	if err != nil {
		return err
	}
	return br.Close()
}

// sendBatch sends the queries of b, written with ? like the others, in one round trip,
// after the statements queued by later; see ExecContext for its context. The caller
// reads b's results and closes them.
func (tx *Tx) sendBatch(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return tx.c.send(b)
}

// sendWith sends one statement after those queued by later.
func (tx *Tx) sendWith(query string, args []any) (pgx.BatchResults, error) {
	var b pgx.Batch
	b.Queue(query, args...)
	return tx.c.send(&b)
}

// batchRow is the row of a statement sent with others; Scan closes their results.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRows are the rows of a statement sent with others; Close closes their results.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// cleanArgs drops NUL bytes from text arguments and replaces invalid UTF-8 in them:
// PostgreSQL refuses both, and a hostile header or query parameter must not turn into a
// failed statement.
func cleanArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = validText(v)
		case []string:
			clean := make([]string, len(v))
			for j, s := range v {
				clean[j] = validText(s)
			}
			args[i] = clean
		}
	}
	return args
}

func validText(s string) string { return strings.ToValidUTF8(crm.NoNUL(s), "\uFFFD") }

var rebound sync.Map // query with ? -> query with $n

// rebind rewrites the ? placeholders of query to PostgreSQL's $1, $2, ..., outside
// quoted strings and identifiers. Queries are constants or built from constants, so the
// results are kept.
func rebind(query string) string {
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	q := b.String()
	rebound.Store(query, q)
	return q
}

// Limits of one group commit; see crm/sqlite for why it pays to gather writes. A unit
// here is a round trip to the server or more, a few hundred microseconds even on the
// same machine, so the batch may take longer than on SQLite before it stops taking more:
// with SQLite's 2 ms, most commits carried one or two units, each group paying a commit
// and its WAL flush.
const (
	maxBatch     = 64
	maxBatchTime = 10 * time.Millisecond
	lingerTime   = 250 * time.Microsecond
	// maxAttempts bounds how often update runs a unit that lost a race with another
	// transaction (see retryable).
	maxAttempts = 5
)

var errClosed = errors.New("database is closed")

// unit is the work of one update call and, once done is closed, its outcome.
type unit struct {
	ctx       context.Context
	fn        func(tx *Tx) error
	err       error
	panic     any
	events    []*crm.Event
	dropCache bool
	done      chan struct{}
}

// update runs fn in a write transaction and returns once that transaction has committed
// and its events are published, or with fn's error after everything fn did was rolled
// back. Concurrent calls are committed together: the writer runs their fns one after
// another in one transaction, gives the events of all of them ids in commit order,
// commits once and publishes. When one fn fails, the batch is run again with each fn in
// a savepoint, so that the failing one rolls back alone; and a fn that lost a race with
// another transaction (see retryable) runs again in a later one, which sees what the
// other committed. fn may therefore run more than once, and must change nothing but tx
// and set what it returns on every run. A nil error means committed. A ctx that acts as
// no one writes nothing (forbidden).
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	if crm.AgentFrom(ctx) == nil && !crm.IsSystem(ctx) {
		return crm.Errorf(crm.EFORBIDDEN, "no agent or system acts here")
	}
	for attempt := 1; ; attempt++ {
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
		if attempt < maxAttempts && retryable(u.err) {
			continue
		}
		return unavailable(u.err)
	}
}

// retryable reports whether err is that of a unit that lost a race with another
// transaction and will succeed when run again: a unique violation that only a concurrent
// insert can cause (errRaced), a deadlock, a serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, errRaced) ||
		(errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001"))
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

// commit runs the batch in one transaction, hands out the events' ids, commits,
// publishes the events and releases the callers. The units run straight, and what they
// queue goes out with the next statement; when one fails, or a statement it queued
// does, the transaction is rolled back and the batch runs again with each unit alone.
func (w *batcher) commit() {
	db := w.db
	defer func() {
		for _, u := range w.units {
			close(u.done)
		}
		w.last = len(w.units)
	}()
	conn, err := db.wpool.Acquire(context.Background())
	if err != nil {
		failAll(w.units, unavailable(fmt.Errorf("begin: %w", err)))
		return
	}
	defer conn.Release()
	c := w.run(conn, false)
	failed, err := w.finish(c)
	if err == nil && failed {
		c.rollback()
		for _, u := range w.units {
			u.err, u.panic, u.events, u.dropCache = nil, nil, nil, false
		}
		c = w.run(conn, true)
		if failed, err = w.finish(c); failed && err == nil {
			err = errors.New("a unit failed after its savepoint was released")
		}
	}
	if err != nil {
		c.rollback()
		failAll(w.units, unavailable(err))
		return
	}
	db.commits.Add(1)
	var events []*crm.Event
	for _, u := range w.units {
		events = append(events, u.events...)
		if u.dropCache {
			db.cache.Drop()
		}
	}
	db.Versions.Bump(events) // before any caller of the commit is released
	if db.opt.Bus != nil && len(events) > 0 {
		db.opt.Bus.Publish(events...)
	}
}

// run queues the BEGIN of the transaction on conn and runs the units of the batch in it.
// Straight, it stops at the first unit that fails; alone, each unit runs in a savepoint
// and one that fails is rolled back to it. It returns the transaction, whose state says
// the rest (see finish).
func (w *batcher) run(conn *pgxpool.Conn, alone bool) *batchTx {
	c := &batchTx{txConn: txConn{conn: conn.Conn()}}
	c.queue("BEGIN")
	// The writer's statements find rows by key, and the generic plan of each is planned
	// once per connection: a custom plan for each run (which PostgreSQL keeps choosing
	// for statements over arrays, such as the owners of a sender's identities) costs
	// more than running it.
	c.queue("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
	start := time.Now()
	for i := 0; i < len(w.units); i++ {
		u := w.units[i]
		if alone {
			if c.err = w.db.runAlone(&c.txConn, u); c.err != nil {
				return c
			}
			continue
		}
		if !w.db.runUnit(&c.txConn, u, false) {
			c.failed = true
			return c
		}
		if i == len(w.units)-1 {
			if u := w.next(start); u != nil {
				w.units = append(w.units, u)
			}
		}
	}
	return c
}

// batchTx is the transaction of a batch after run: a unit failed (failed), or the
// transaction is lost (err).
type batchTx struct {
	txConn
	failed bool
	err    error
}

// finish hands out the ids of the batch's events, inserts them and commits, in one
// round trip with what the units queued last. It reports whether a unit failed, in run
// or in a statement it queued, and returns an error when the transaction is lost or its
// commit failed.
func (w *batcher) finish(c *batchTx) (failed bool, err error) {
	if c.err != nil || c.failed {
		return c.failed, c.err
	}
	var b pgx.Batch
	events := w.queueEvents(&b)
	b.Queue("COMMIT")
	br, err := c.send(&b)
	if err != nil {
		return true, nil // a statement queued by a unit
	}
	defer br.Close()
	if len(events) > 0 {
		var last int64
		if err := br.QueryRow().Scan(&last); err != nil {
			return false, fmt.Errorf("insert events: %w", err)
		}
		for i, e := range events {
			e.ID = last - int64(len(events)) + 1 + int64(i)
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return false, fmt.Errorf("commit: %w", err)
	} else if tag.String() != "COMMIT" {
		return false, fmt.Errorf("commit: the transaction was rolled back (%s)", tag)
	}
	if err := br.Close(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
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

// runAlone runs u in a savepoint of c's transaction, rolled back to when u fails. Its
// error means the transaction is lost.
func (db *DB) runAlone(c *txConn, u *unit) error {
	sends := c.sends
	mark := len(c.pending)
	c.queue("SAVEPOINT unit")
	if db.runUnit(c, u, true) {
		c.queue("RELEASE SAVEPOINT unit")
		return nil
	}
	if c.sends == sends { // nothing of u went out, not even its savepoint
		c.pending = c.pending[:mark]
		return nil
	}
	c.pending = nil
	// Two round trips: pgx prepares every statement of a batch before it runs the first,
	// and while the transaction is aborted the server parses only the statements that
	// end it (ROLLBACK TO SAVEPOINT), so RELEASE in the same batch can fail with SQLSTATE
	// 25P02 and lose the transaction (seen when nodes deadlock on agents' row locks:
	// TestAutoAssignAcrossNodes under -race).
	for _, q := range []string{"ROLLBACK TO SAVEPOINT unit", "RELEASE SAVEPOINT unit"} {
		var b pgx.Batch
		b.Queue(q)
		br, err := c.send(&b)
		if err == nil {
			err = br.Close()
		}
		if err != nil {
			return fmt.Errorf("roll back savepoint: %w", err)
		}
	}
	return nil
}

// runUnit runs u in c's transaction, alone or not (see Tx.alone), keeps its outcome in
// u and reports whether it succeeded.
func (db *DB) runUnit(c *txConn, u *unit, alone bool) bool {
	if err := u.ctx.Err(); err != nil {
		u.err = fmt.Errorf("begin: %w", err)
		return true
	}
	tx := &Tx{c: c, db: db, now: db.now(), alone: alone}
	if l, ok := crm.LeaseFrom(u.ctx); ok {
		if u.err = tx.fence(l); u.err != nil {
			return false
		}
	}
	u.panic, u.err = call(tx, u.fn)
	if u.err == nil && u.panic == nil {
		u.err = tx.eventInboxes(u.ctx)
	}
	if u.err == nil && u.panic == nil {
		u.err = tx.flush(context.Background())
	}
	if u.err != nil || u.panic != nil {
		return false
	}
	u.events, u.dropCache = tx.events, tx.dropCache
	return true
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

// queueEvents queues the statement that hands out the ids of the batch's events and
// inserts them, the last one of the transaction before its COMMIT, and returns the
// events, whose ids its one row gives. The one row of event_ids stays locked until the
// commit, so the next batch, on this node or another, takes higher ids only once this
// one has committed: ids are in commit order.
func (w *batcher) queueEvents(b *pgx.Batch) []*crm.Event {
	var events []*crm.Event
	for _, u := range w.units {
		if u.err == nil && u.panic == nil {
			events = append(events, u.events...)
		}
	}
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	types, kinds, data, inboxes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	tickets, customers, inboxIDs, actors, at := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, e := range events {
		types[i], kinds[i], data[i] = e.Type, e.Actor.Kind, validText(string(e.Data))
		tickets[i], customers[i], inboxIDs[i], actors[i], at[i] = e.TicketID, e.CustomerID, e.InboxID, e.Actor.ID, ms(e.At)
		if e.InboxID == 0 && e.CustomerID != 0 {
			inboxes[i] = idsJSON(e.InboxIDs) // never "": NULL below
		}
	}
	b.Queue(`WITH ids AS (UPDATE event_ids SET last = last + ? WHERE id = 1 RETURNING last),
		ins AS (INSERT INTO events (id, type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at, inbox_ids)
			SELECT ids.last - ?::bigint + e.n, e.type, nullif(e.ticket_id, 0), nullif(e.customer_id, 0), nullif(e.inbox_id, 0),
				e.actor_kind, e.actor_id, e.data, e.at, nullif(e.inbox_ids, '')
			FROM ids, unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::text[],
				?::bigint[], ?::text[]) WITH ORDINALITY
				AS e (type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at, inbox_ids, n))
		SELECT last FROM ids`,
		n, n, types, tickets, customers, inboxIDs, kinds, actors, data, at, inboxes)
	return events
}

// event keeps an event of the transaction with data as its JSON; its id is handed out
// when the group commits (see writeEvents).
func (tx *Tx) event(ctx context.Context, typ string, ticketID, customerID, inboxID int64, actor crm.Actor, data any) (*crm.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("marshal %s event: %w", typ, err)
	}
	if typ == crm.EventAgentUpdated || typ == crm.EventInboxUpdated {
		tx.dropCache = true
	}
	e := &crm.Event{Type: typ, TicketID: ticketID, CustomerID: customerID, InboxID: inboxID,
		Actor: actor, Data: b, At: tx.now}
	tx.events = append(tx.events, e)
	return e, nil
}

// ticketEvent keeps an event about ticket t, with data as its JSON.
func (tx *Tx) ticketEvent(ctx context.Context, typ string, t *crm.Ticket, actor crm.Actor, data any) error {
	_, err := tx.event(ctx, typ, t.ID, t.CustomerID, t.InboxID, actor, data)
	return err
}

// eventInboxes gives each customer and order event of the unit the inboxes where the
// customer has tickets when the unit is done (see crm/sqlite's eventInboxes), unless
// the unit knew them already and set them (a customer it created).
func (tx *Tx) eventInboxes(ctx context.Context) error {
	var known map[int64][]int64
	for _, e := range tx.events {
		if e.InboxID != 0 || e.CustomerID == 0 || e.InboxIDs != nil {
			continue
		}
		ids, ok := known[e.CustomerID]
		if !ok {
			var err error
			ids, err = queryIDs(ctx, tx, `SELECT DISTINCT inbox_id FROM tickets WHERE customer_id = ? ORDER BY inbox_id`, e.CustomerID)
			if err != nil {
				return fmt.Errorf("find inboxes of customer %d: %w", e.CustomerID, err)
			}
			if known == nil {
				known = map[int64][]int64{}
			}
			known[e.CustomerID] = ids
		}
		e.InboxIDs = ids
	}
	return nil
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
// may see, with its arguments. The system, managers and admins see everything; a context
// that acts as no one sees nothing.
func inboxFilter(ctx context.Context, col string) (string, []any) {
	a := crm.AgentFrom(ctx)
	switch {
	case crm.SeesAll(ctx):
		return "TRUE", nil
	case a == nil:
		return "FALSE", nil
	}
	return col + " = ANY(?)", []any{nonNilIDs(a.InboxIDs)}
}

// customerFilter limits the customer table alias c to the customers the agent in ctx may
// see: those with a ticket in its inboxes, a merged-away one through the one it went
// into. Like inboxFilter, no one sees nothing.
func customerFilter(ctx context.Context) (string, []any) {
	a := crm.AgentFrom(ctx)
	switch {
	case crm.SeesAll(ctx):
		return "TRUE", nil
	case a == nil:
		return "FALSE", nil
	}
	return `EXISTS (SELECT 1 FROM tickets vt WHERE vt.customer_id IN (c.id, c.merged_into)
		AND vt.inbox_id = ANY(?))`, []any{nonNilIDs(a.InboxIDs)}
}

// seesAll reports whether a filter from inboxFilter or customerFilter lets everything
// through.
func seesAll(cond string) bool { return cond == "TRUE" }

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// idsJSON is ids as a JSON array, as events keep them.
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

func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

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
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// isUnique reports whether err is a unique violation, optionally of the named
// constraint.
func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}

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

// scanner is a row to scan: pgx.Row and pgx.Rows.
type scanner interface{ Scan(dest ...any) error }
