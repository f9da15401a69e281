package sqlite_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/secret"
	"parley/crm/sqlite"
	"parley/migrations"
)

// Clock is an injectable clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// DB is a store on a file in a temporary directory with a test clock and bus.
type DB struct {
	*sqlite.DB
	Path  string
	Opt   sqlite.Options
	Clock *Clock
	Bus   *crm.LocalBus
}

var testKey = bytes.Repeat([]byte{7}, 32)

// MustOpenDB opens a new store in tb's temporary directory and closes it at the end.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	dir := tb.TempDir()
	clock := &Clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	bus := crm.NewBus()
	db := &DB{Path: filepath.Join(dir, "parley.db"), Clock: clock, Bus: bus,
		Opt: sqlite.Options{DataDir: dir, SecretKey: testKey, Bus: bus, Now: clock.Now}}
	var err error
	if db.DB, err = sqlite.Open(db.Path, db.Opt); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.DB.Close() })
	return db
}

// MustReopen closes and opens the store again on the same file.
func (db *DB) MustReopen(tb testing.TB) {
	tb.Helper()
	if err := db.DB.Close(); err != nil {
		tb.Fatal(err)
	}
	var err error
	if db.DB, err = sqlite.Open(db.Path, db.Opt); err != nil {
		tb.Fatal(err)
	}
}

func MustCreateInbox(tb testing.TB, db *DB, kind, name string) *crm.Inbox {
	tb.Helper()
	in, err := db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: kind, Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

func MustIngest(tb testing.TB, db *DB, in *crm.Inbound) *crm.IngestResult {
	tb.Helper()
	res, err := db.Ingest(crm.AsSystem(context.Background()), in)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func MustTicket(tb testing.TB, db *DB, id int64) *crm.Ticket {
	tb.Helper()
	t, err := db.Ticket(crm.AsSystem(context.Background()), id)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func MustCreateAgent(tb testing.TB, db *DB, email, role string, inboxes ...int64) *crm.Agent {
	tb.Helper()
	a, err := db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: email, Name: email, Role: role,
		Password: "correct horse", InboxIDs: inboxes})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func email(addr string) []crm.Identity {
	return []crm.Identity{{Kind: crm.IdentityEmail, Address: addr}}
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := crm.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestMigrate(t *testing.T) {
	db := MustOpenDB(t)
	names, err := fs.Glob(migrations.SQLite, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range names {
		want = append(want, strings.TrimSuffix(n, ".sql"))
	}
	if len(want) == 0 || want[0] != "0001_init" {
		t.Fatalf("migration files %v", want)
	}
	got, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("migrations = %v, want %v", got, want)
	}
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	db.MustReopen(t)
	if got, err = db.Migrations(); err != nil {
		t.Fatal(err)
	} else if !slices.Equal(got, want) {
		t.Fatalf("after reopen migrations = %v, want %v", got, want)
	}
	if _, err := db.Inbox(crm.AsSystem(context.Background()), inbox.ID); err != nil {
		t.Fatalf("inbox lost on reopen: %v", err)
	}
	if err := db.Ping(crm.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
}

func TestBackup(t *testing.T) {
	db := MustOpenDB(t)
	MustCreateInbox(t, db, crm.KindAPI, "API")
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(crm.AsSystem(context.Background()), path); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.Backup(crm.AsSystem(context.Background()), path), crm.EINVALID)
	b, err := sqlite.Open(path, sqlite.Options{SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	inboxes, err := b.Inboxes(crm.AsSystem(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if len(inboxes) != 1 || inboxes[0].Name != "API" {
		t.Fatalf("backup inboxes = %v", inboxes)
	}
}

func TestSecrets(t *testing.T) {
	db := MustOpenDB(t)
	ctx := crm.AsSystem(context.Background())
	const secret = "hunter2-very-secret-value"
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Support", Config: map[string]any{
		"imap_host": "imap.example.com", "imap_password": secret, "smtp_port": 587,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Secrets["imap_password"]; got != secret {
		t.Fatalf("secret = %q", got)
	}
	if _, ok := in.Config["imap_password"]; ok {
		t.Fatal("secret left in config")
	}
	// An omitted or empty secret keeps the old value.
	in, err = db.UpdateInbox(ctx, &crm.Inbox{ID: in.ID, Name: "Mail", Config: map[string]any{
		"imap_host": "imap2.example.com", "imap_password": "",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "Mail" || in.Config["imap_host"] != "imap2.example.com" || in.Secrets["imap_password"] != secret {
		t.Fatalf("updated inbox = %+v", in)
	}
	db.MustReopen(t)
	if in, err = db.Inbox(ctx, in.ID); err != nil {
		t.Fatal(err)
	} else if in.Secrets["imap_password"] != secret {
		t.Fatalf("secret after reopen = %q", in.Secrets["imap_password"])
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{db.Path, db.Path + "-wal"} {
		buf, err := os.ReadFile(name)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(buf, []byte(secret)) {
			t.Fatalf("secret in plain text in %s", name)
		}
	}
	db.MustReopen(t)
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	k1, err := secret.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := secret.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 || !bytes.Equal(k1, k2) {
		t.Fatalf("keys differ: %x %x", k1, k2)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v", fi.Mode())
	}
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"0707070707070707070707070707070707070707070707070707070707070707", true},
		{"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", true},
		{"short", false},
		{"", false},
	} {
		key, err := secret.ParseKey(tt.in)
		if ok := err == nil; ok != tt.ok {
			t.Errorf("ParseKey(%q) err = %v", tt.in, err)
		} else if ok && !bytes.Equal(key, testKey) {
			t.Errorf("ParseKey(%q) = %x", tt.in, key)
		}
	}
}

func ptr[T any](v T) *T { return &v }
