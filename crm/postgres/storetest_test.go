package postgres_test

import (
	"context"
	"testing"

	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/postgres/pgtest"
	"parley/crm/storetest"
)

var _ storetest.Store = (*postgres.DB)(nil)

// TestStore runs the stores' shared suite on a fresh PostgreSQL schema per case.
func TestStore(t *testing.T) { storetest.Run(t, openStore) }

// openStore is the PostgreSQL store of storetest: a schema of its own on the server of
// PARLEY_TEST_POSTGRES, attachments in tb's temporary directory.
func openStore(tb testing.TB, o storetest.Options) *storetest.Env {
	tb.Helper()
	url := pgtest.URL(tb)
	env := &storetest.Env{Clock: storetest.NewClock(), Bus: crm.NewBus(), DataDir: tb.TempDir()}
	opt := postgres.Options{DataDir: env.DataDir, SecretKey: storetest.SecretKey, Bus: env.Bus, Now: env.Clock.Now,
		ReopenWindow: o.ReopenWindow, MaxConns: 4}
	var db *postgres.DB
	open := func() {
		var err error
		if db, err = postgres.Open(context.Background(), url, opt); err != nil {
			tb.Fatal(err)
		}
		env.Store = db
	}
	open()
	tb.Cleanup(func() { env.Store.Close() })
	env.Reopen = func(tb testing.TB) {
		tb.Helper()
		if err := env.Store.Close(); err != nil {
			tb.Fatal(err)
		}
		open()
	}
	env.Commits = func() int64 { return db.Commits() }
	env.Raw = func(tb testing.TB, query string, args ...any) [][]any {
		tb.Helper()
		rows, err := db.RawQuery(context.Background(), query, args...)
		if err != nil {
			tb.Fatal(err)
		}
		return rows
	}
	return env
}
