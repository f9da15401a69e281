// Package migrations holds the numbered SQL files that build Parley's schema. A shipped
// file is never edited: a change is a new file.
package migrations

import "embed"

// FS holds every NNNN_name.sql file, applied in name order.
//
//go:embed *.sql
var FS embed.FS
