package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"parley/migrations"
)

// migration is a shipped migration file.
type migration struct {
	version string // the file name without .sql
	sql     string
	sum     string // hex SHA-256 of the file
}

// shippedMigrations returns the embedded migration files in name order.
func shippedMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations.SQLite, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	list := make([]migration, len(names))
	for i, name := range names {
		buf, err := fs.ReadFile(migrations.SQLite, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		// Line endings do not count: a checkout that turned them into CRLF is the same file.
		h := sha256.Sum256([]byte(strings.ReplaceAll(string(buf), "\r\n", "\n")))
		list[i] = migration{version: strings.TrimSuffix(name, ".sql"), sql: string(buf), sum: hex.EncodeToString(h[:])}
	}
	return list, nil
}

// migrate checks the migrations the database has against the shipped files, then
// applies every file not yet recorded in schema_migrations, in name order, each in its
// own transaction with its SHA-256. A concurrent Open of the same file waits for the
// write lock and then finds the migration applied.
//
// It refuses to go on when a recorded migration's file was edited since it was applied
// (its checksum differs) or is not shipped at all (a newer Parley migrated the
// database): either way the schema is not the one this code was written for. Versions
// recorded before checksums were kept get the shipped file's checksum.
func (db *DB) migrate() error {
	ctx := context.Background()
	if _, err := db.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY,
		applied_at INTEGER NOT NULL,
		checksum   TEXT NOT NULL DEFAULT ''
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	list, err := shippedMigrations()
	if err != nil {
		return err
	}
	if err := db.checkMigrations(ctx, list); err != nil {
		return err
	}
	for _, m := range list {
		if err := db.migrateFile(ctx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.version, err)
		}
		if m.version == db.opt.stopAfter {
			break
		}
	}
	return nil
}

// checkMigrations compares the recorded migrations with the shipped ones and fills in
// the checksums of versions recorded without one, adding the column they go in to the
// schema_migrations of a Parley from before checksums.
func (db *DB) checkMigrations(ctx context.Context, list []migration) error {
	shipped := make(map[string]migration, len(list))
	for _, m := range list {
		shipped[m.version] = m
	}
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	defer tx.Rollback()
	// The table of a Parley from before checksums lacks the column. This is the runner's
	// own bookkeeping, not part of the schema the migration files build.
	var has int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('schema_migrations')
		WHERE name = 'checksum'`).Scan(&has); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	} else if has == 0 {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE schema_migrations ADD COLUMN checksum TEXT NOT NULL DEFAULT ''`); err != nil {
			return fmt.Errorf("add checksum to schema_migrations: %w", err)
		}
	}
	var recorded [][2]string // version, checksum
	rows, err := tx.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var r [2]string
		if err := rows.Scan(&r[0], &r[1]); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		recorded = append(recorded, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	var unsummed []string
	for _, r := range recorded {
		version, sum := r[0], r[1]
		m, ok := shipped[version]
		switch {
		case !ok:
			return fmt.Errorf("database was migrated by a newer Parley: unknown migration %s (this Parley ships up to %s); run the newer Parley, or restore a backup made before it",
				version, list[len(list)-1].version)
		case sum == "":
			unsummed = append(unsummed, version)
		case sum != m.sum:
			return fmt.Errorf("migration %s.sql differs from the file that was applied to this database (the file's sha256 is %s, the database recorded %s): a shipped migration must never be edited; put the change in a new file",
				version, m.sum, sum)
		}
	}
	for _, version := range unsummed {
		if _, err := tx.ExecContext(ctx, `UPDATE schema_migrations SET checksum = ? WHERE version = ?`,
			shipped[version].sum, version); err != nil {
			return fmt.Errorf("record checksum of migration %s: %w", version, err)
		}
	}
	return tx.Commit()
}

// migrateFile applies m in a transaction of its own unless it is recorded already.
func (db *DB) migrateFile(ctx context.Context, m migration) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at, checksum) VALUES (?, ?, ?)`,
		m.version, ms(db.now()), m.sum); err != nil {
		return err
	}
	return tx.Commit()
}

// Migrations lists the applied migration versions in order.
func (db *DB) Migrations() ([]string, error) {
	rows, err := db.rdb.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("query migrations: %w", err)
	}
	defer rows.Close()
	var versions []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("scan migration: %w", err)
		}
		versions = append(versions, v)
	}
	return versions, rows.Err()
}
