// Package sqlite implements crm.Store on an SQLite file (mattn/go-sqlite3, built with the
// sqlite_fts5 tag). Every SQLite-only choice of Parley lives here.
package sqlite

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"parley/crm"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
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
}

// DB is the SQLite store. Writes go through one connection in immediate transactions;
// reads use a separate pool of read-only connections so they never wait on the writer.
type DB struct {
	wdb   *sql.DB
	rdb   *sql.DB
	path  string
	opt   Options
	aead  cipher.AEAD
	pubMu sync.Mutex // keeps the publish order equal to the commit order
}

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
	db := &DB{path: path, opt: opt}
	if opt.SecretKey != nil {
		aead, err := newAEAD(opt.SecretKey)
		if err != nil {
			return nil, err
		}
		db.aead = aead
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database dir: %w", err)
	}

	var err error
	params := "_txlock=immediate&_foreign_keys=on&_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL"
	if db.wdb, err = sql.Open("sqlite3", path+"?"+params); err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	db.wdb.SetConnMaxIdleTime(0)
	db.wdb.SetConnMaxLifetime(0)
	if err := db.wdb.Ping(); err != nil {
		db.wdb.Close()
		return nil, fmt.Errorf("open writer: %w", err)
	}
	if err := db.migrate(); err != nil {
		db.wdb.Close()
		return nil, err
	}

	params = "_txlock=deferred&_foreign_keys=on&_busy_timeout=10000&_query_only=true"
	if db.rdb, err = sql.Open("sqlite3", path+"?"+params); err != nil {
		db.wdb.Close()
		return nil, fmt.Errorf("open reader: %w", err)
	}
	db.rdb.SetMaxOpenConns(4)
	db.rdb.SetMaxIdleConns(4)
	if err := db.rdb.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open reader: %w", err)
	}
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	if db.rdb != nil {
		errs = append(errs, db.rdb.Close())
	}
	if db.wdb != nil {
		errs = append(errs, db.wdb.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that both pools can reach the database file.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping writer: %w", err)
	}
	var one int
	if err := db.rdb.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping reader: %w", err)
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
// published once the transaction has committed and never before.
type Tx struct {
	*sql.Tx
	db     *DB
	now    time.Time
	events []*crm.Event
}

// update runs fn in an immediate write transaction: begin, work, append events, commit,
// publish. An error from fn rolls everything back and is returned as is.
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer stx.Rollback()
	tx := &Tx{Tx: stx, db: db, now: db.now()}
	if err := fn(tx); err != nil {
		return err
	}
	db.pubMu.Lock()
	defer db.pubMu.Unlock()
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if db.opt.Bus != nil && len(tx.events) > 0 {
		db.opt.Bus.Publish(tx.events...)
	}
	return nil
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

// actorFrom returns the agent in ctx as actor, else fallback.
func actorFrom(ctx context.Context, fallback crm.Actor) crm.Actor {
	if a := crm.AgentFrom(ctx); a != nil {
		return crm.Actor{Kind: "agent", ID: a.ID}
	}
	return fallback
}

var systemActor = crm.Actor{Kind: "system"}

// inboxFilter returns an SQL condition that limits col to the inboxes the agent in ctx
// may see, with its arguments. The system and managers see everything.
func inboxFilter(ctx context.Context, col string) (string, []any) {
	a := crm.AgentFrom(ctx)
	if a == nil || a.SeesAllInboxes() {
		return "1", nil
	}
	return col + " IN (SELECT value FROM json_each(?))", []any{idsJSON(a.InboxIDs)}
}

// customerFilter returns an SQL condition that limits the customer table alias c to the
// customers the agent in ctx may see: those with a ticket in its inboxes. A merged-away
// customer is seen through the customer it was merged into.
func customerFilter(ctx context.Context) (string, []any) {
	a := crm.AgentFrom(ctx)
	if a == nil || a.SeesAllInboxes() {
		return "1", nil
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
