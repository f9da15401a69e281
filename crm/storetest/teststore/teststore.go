// Package teststore opens the store that the tests of every package run on: a SQLite
// file in the test's temporary directory by default, or a PostgreSQL schema of the
// test's own when PARLEY_TEST_STORE=postgres (which needs PARLEY_TEST_POSTGRES; see
// crm/postgres/pgtest). One switch thus runs the HTTP, hub, channel and browser tests
// on either store: `make test-postgres` sets it.
package teststore

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/postgres/pgtest"
	"parley/crm/sqlite"
	"parley/crm/storetest"

	"github.com/jackc/pgx/v5"
)

var (
	_ storetest.Store = (*sqlite.DB)(nil)
	_ storetest.Store = (*postgres.DB)(nil)
)

// The kinds of store the tests run on, as PARLEY_TEST_STORE names them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Kind returns the kind of store Open opens: PARLEY_TEST_STORE, SQLite when unset.
func Kind() string {
	if k := os.Getenv("PARLEY_TEST_STORE"); k != "" {
		return k
	}
	return SQLite
}

// Options are what a test asks of its store. Zero fields take the store's defaults.
type Options struct {
	// Now is the store's clock; real time when nil.
	Now func() time.Time
	// ReopenWindow is how long after resolving a message reopens a ticket.
	ReopenWindow time.Duration
	// Logger gets what the store reports by itself; slog.Default() when nil.
	Logger *slog.Logger
}

// Open returns a fresh, empty store of Kind for tb, migrated, sealing secrets with
// storetest.SecretKey and publishing its events to Env.Bus. Its attachments are in
// Env.DataDir, a temporary directory of tb. Env.Clock is nil: the test owns the clock it
// passes in opt.Now. The store is closed when tb ends, after the cleanups registered
// later (the servers and channels running on it). An unknown PARLEY_TEST_STORE, or
// postgres without PARLEY_TEST_POSTGRES, fails tb.
func Open(tb testing.TB, opt Options) *storetest.Env {
	tb.Helper()
	switch k := Kind(); k {
	case SQLite:
		return OpenSQLite(tb, opt)
	case Postgres:
		if os.Getenv("PARLEY_TEST_POSTGRES") == "" {
			tb.Fatal("PARLEY_TEST_STORE=postgres needs PARLEY_TEST_POSTGRES=postgres://user@host:port/db (make test-postgres sets both)")
		}
		return OpenPostgres(tb, opt)
	default:
		tb.Fatalf("PARLEY_TEST_STORE=%q: want %q or %q", k, SQLite, Postgres)
		return nil
	}
}

// SQLiteOnly skips tb when the tests run on PostgreSQL, saying why the test needs SQLite.
func SQLiteOnly(tb testing.TB, why string) {
	tb.Helper()
	if Kind() != SQLite {
		tb.Skipf("SKIPPED on %s: %s", Kind(), why)
	}
}

// OpenSQLite is Open on SQLite, whatever PARLEY_TEST_STORE says: the file parley.db in
// Env.DataDir. Env.Store is a *sqlite.DB.
func OpenSQLite(tb testing.TB, opt Options) *storetest.Env {
	tb.Helper()
	dir := tb.TempDir()
	env := &storetest.Env{Bus: crm.NewBus(), DataDir: dir}
	path := filepath.Join(dir, "parley.db")
	sopt := sqlite.Options{DataDir: dir, SecretKey: storetest.SecretKey, Bus: env.Bus, Now: opt.Now,
		ReopenWindow: opt.ReopenWindow, Logger: opt.Logger}
	var db *sqlite.DB
	open := func(tb testing.TB) {
		tb.Helper()
		var err error
		if db, err = sqlite.Open(path, sopt); err != nil {
			tb.Fatal(err)
		}
		env.Store = db
	}
	open(tb)
	tb.Cleanup(func() { db.Close() })
	env.Reopen = func(tb testing.TB) {
		tb.Helper()
		if err := db.Close(); err != nil {
			tb.Fatal(err)
		}
		open(tb)
	}
	env.Commits = func() int64 { return db.Commits() }
	env.Raw = func(tb testing.TB, query string, args ...any) [][]any {
		tb.Helper()
		raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			tb.Fatal(err)
		}
		defer raw.Close()
		rows, err := raw.Query(query, args...)
		if err != nil {
			tb.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			tb.Fatal(err)
		}
		var out [][]any
		for rows.Next() {
			row := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range row {
				ptrs[i] = &row[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			out = append(out, row)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		return out
	}
	return env
}

// OpenPostgres is Open on PostgreSQL, whatever PARLEY_TEST_STORE says: a new schema on
// the server of PARLEY_TEST_POSTGRES, dropped when tb ends (tb skips without that
// variable; see pgtest.URL). Env.Store is a *postgres.DB with a small pool, since many
// tests run at once against one server.
func OpenPostgres(tb testing.TB, opt Options) *storetest.Env {
	tb.Helper()
	url := pgtest.URL(tb)
	env := &storetest.Env{Bus: crm.NewBus(), DataDir: tb.TempDir()}
	popt := postgres.Options{DataDir: env.DataDir, SecretKey: storetest.SecretKey, Bus: env.Bus, Now: opt.Now,
		ReopenWindow: opt.ReopenWindow, Logger: opt.Logger, MaxConns: 8}
	var db *postgres.DB
	open := func(tb testing.TB) {
		tb.Helper()
		var err error
		if db, err = postgres.Open(context.Background(), url, popt); err != nil {
			tb.Fatal(err)
		}
		env.Store = db
	}
	open(tb)
	tb.Cleanup(func() { db.Close() })
	env.Reopen = func(tb testing.TB) {
		tb.Helper()
		if err := db.Close(); err != nil {
			tb.Fatal(err)
		}
		open(tb)
	}
	env.Commits = func() int64 { return db.Commits() }
	env.Raw = func(tb testing.TB, query string, args ...any) [][]any {
		tb.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, dollars(query), args...)
		if err != nil {
			tb.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		var out [][]any
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, vals)
		}
		if err := rows.Err(); err != nil {
			tb.Fatalf("%s: %v", query, err)
		}
		return out
	}
	return env
}

// dollars numbers the ? placeholders of query as PostgreSQL's $1, $2...; a ? inside a
// quoted literal or name stays.
func dollars(query string) string {
	var b strings.Builder
	n := 0
	var quote rune
	for _, c := range query {
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
		b.WriteRune(c)
	}
	return b.String()
}
