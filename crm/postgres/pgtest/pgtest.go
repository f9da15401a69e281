// Package pgtest gives each test a PostgreSQL schema of its own on the server that
// PARLEY_TEST_POSTGRES names (for example postgres://postgres@127.0.0.1:5432/test), and
// drops it when the test ends. Without that variable the tests that need it skip,
// loudly, unless PARLEY_TEST_POSTGRES_REQUIRED is set (CI sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns the URL of a new, empty schema for tb on the test server, as the
// database URL of a store: its search_path is the schema, then public (where the
// extensions live). The schema is dropped when tb ends. Without PARLEY_TEST_POSTGRES it
// skips tb, or fails it when PARLEY_TEST_POSTGRES_REQUIRED is set.
func URL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("PARLEY_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("PARLEY_TEST_POSTGRES_REQUIRED") != "" {
			tb.Fatal("PARLEY_TEST_POSTGRES is not set, and PostgreSQL tests are required here")
		}
		tb.Skip("SKIPPED: PostgreSQL tests need PARLEY_TEST_POSTGRES=postgres://user@host:port/db (make test-postgres sets it to the local server)")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "parley_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to PARLEY_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("PARLEY_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}
