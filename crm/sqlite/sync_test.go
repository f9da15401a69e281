package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"parley/crm"
)

// TestSyncMode reads SQLite's own settings back from the connections of an open store:
// by default the writer and the checkpointer run with synchronous=FULL in WAL mode, so
// that every group commit syncs the WAL before its callers are answered; SyncNormal is
// the opt-out.
func TestSyncMode(t *testing.T) {
	for _, c := range []struct {
		mode SyncMode
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{"", 2}, {SyncFull, 2}, {SyncNormal, 1}} {
		dir := t.TempDir()
		db, err := Open(filepath.Join(dir, "parley.db"), Options{DataDir: dir, SecretKey: bytes.Repeat([]byte{1}, 32), Sync: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		for name, conn := range map[string]*sql.DB{"writer": db.wdb, "checkpointer": db.cdb} {
			var sync int
			var journal string
			if err := conn.QueryRowContext(crm.AsSystem(context.Background()), `PRAGMA synchronous`).Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRowContext(crm.AsSystem(context.Background()), `PRAGMA journal_mode`).Scan(&journal); err != nil {
				t.Fatal(err)
			}
			if sync != c.want || journal != "wal" {
				t.Errorf("Sync %q: %s has synchronous=%d journal_mode=%s, want %d and wal", c.mode, name, sync, journal, c.want)
			}
		}
		db.Close()
	}

	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "parley.db"), Options{DataDir: dir, Sync: "off"}); err == nil {
		t.Error("Open with Sync \"off\" succeeded, want an error")
	}
	for in, want := range map[string]SyncMode{"full": SyncFull, "FULL": SyncFull, "Normal": SyncNormal} {
		if got, err := ParseSync(in); err != nil || got != want {
			t.Errorf("ParseSync(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "off", "extra", "2"} {
		if _, err := ParseSync(in); err == nil {
			t.Errorf("ParseSync(%q) succeeded, want an error", in)
		}
	}
}
