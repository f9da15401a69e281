package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"parley/crm"
	"parley/crm/sqlite"
	"parley/crm/storetest"
)

// TestStore runs the stores' shared suite on a fresh SQLite file per case.
func TestStore(t *testing.T) { storetest.Run(t, openStore) }

// openStore is the SQLite store of storetest: a file in tb's temporary directory.
func openStore(tb testing.TB, o storetest.Options) *storetest.Env {
	tb.Helper()
	dir := tb.TempDir()
	env := &storetest.Env{Clock: storetest.NewClock(), Bus: crm.NewBus(), DataDir: dir}
	path := filepath.Join(dir, "parley.db")
	opt := sqlite.Options{DataDir: dir, SecretKey: storetest.SecretKey, Bus: env.Bus, Now: env.Clock.Now,
		ReopenWindow: o.ReopenWindow}
	var db *sqlite.DB
	open := func() {
		var err error
		if db, err = sqlite.Open(path, opt); err != nil {
			tb.Fatal(err)
		}
		env.Store = db
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
			tb.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
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
	open()
	tb.Cleanup(func() { env.Store.Close() })
	env.Reopen = func(tb testing.TB) {
		tb.Helper()
		if err := env.Store.Close(); err != nil {
			tb.Fatal(err)
		}
		open()
	}
	return env
}
