package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"parley/migrations"

	"github.com/jackc/pgx/v5"
)

// migration is a shipped migration file.
type migration struct {
	version string // the file name without .sql
	sql     string
	sum     string // hex SHA-256 of the file, line endings as LF
}

// shippedMigrations returns the embedded migration files in name order.
func shippedMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations.Postgres, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	list := make([]migration, len(names))
	for i, name := range names {
		buf, err := fs.ReadFile(migrations.Postgres, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		text := strings.ReplaceAll(string(buf), "\r\n", "\n")
		h := sha256.Sum256([]byte(text))
		list[i] = migration{version: strings.TrimSuffix(name, ".sql"), sql: text, sum: hex.EncodeToString(h[:])}
	}
	return list, nil
}

// migrationLock is the advisory lock key nodes take while they migrate, so that several
// starting at once apply each file once.
const migrationLock = 0x7061726c6579 // "parley"

// migrate applies every shipped file not yet recorded in schema_migrations, in name
// order, each in its own transaction with its SHA-256, under an advisory lock. Like on
// SQLite, it refuses to go on when a recorded migration's file was edited since it was
// applied or is not shipped at all (a newer Parley migrated the database).
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT   PRIMARY KEY,
		applied_at BIGINT NOT NULL,
		checksum   TEXT   NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	list, err := shippedMigrations()
	if err != nil {
		return err
	}
	recorded := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT version, checksum FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v, sum string
		if err := rows.Scan(&v, &sum); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		recorded[v] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	shipped := map[string]migration{}
	for _, m := range list {
		shipped[m.version] = m
	}
	for version, sum := range recorded {
		m, ok := shipped[version]
		if !ok {
			return fmt.Errorf("database was migrated by a newer Parley: unknown migration %s (this Parley ships up to %s); run the newer Parley, or restore a backup made before it",
				version, list[len(list)-1].version)
		} else if sum != m.sum {
			return fmt.Errorf("migration %s.sql differs from the file that was applied to this database (the file's sha256 is %s, the database recorded %s): a shipped migration must never be edited; put the change in a new file",
				version, m.sum, sum)
		}
	}
	for _, m := range list {
		if _, ok := recorded[m.version]; ok {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at, checksum) VALUES ($1, $2, $3)`,
				m.version, ms(db.now()), m.sum)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.version, err)
		}
	}
	return nil
}

// Migrations lists the applied migration versions in order.
func (db *DB) Migrations() ([]string, error) {
	return queryStrings(context.Background(), db.rdb(), `SELECT version FROM schema_migrations ORDER BY version`)
}
