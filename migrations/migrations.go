// Package migrations holds the numbered SQL files that build Parley's schema, one set per
// store. A shipped file is never edited: a change is a new file. Each store records the
// checksum of every file it applied and refuses to start when one was edited.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql
var sqliteFiles embed.FS

//go:embed postgres/*.sql
var postgresFiles embed.FS

// SQLite holds the SQLite store's NNNN_name.sql files, applied in name order.
var SQLite = sub(sqliteFiles, "sqlite")

// Postgres holds the PostgreSQL store's NNNN_name.sql files, applied in name order.
var Postgres = sub(postgresFiles, "postgres")

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant that go:embed checked
	}
	return s
}
