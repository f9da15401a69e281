package main_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm/postgres/pgtest"

	"github.com/jackc/pgx/v5"
)

// docBlock is a ```sql or ```sh block of a docs page.
type docBlock struct{ lang, text string }

// docBlocks returns the sql and sh blocks of the section of docs/<page> whose heading is
// heading, up to the next heading of the same level, in order; blocks inside list items
// lose their indentation.
func docBlocks(t *testing.T, page, heading string) []docBlock {
	t.Helper()
	b, err := os.ReadFile("../../docs/" + page)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("docs/%s has no %q", page, heading)
	}
	text = text[start+len(heading)+2:]
	if end := strings.Index(text, "\n"+heading[:strings.Index(heading, " ")+1]); end >= 0 {
		text = text[:end]
	}
	var out []docBlock
	for _, m := range regexp.MustCompile("(?ms)^( *)```(sql|sh)\n(.*?)^ *```\n").FindAllStringSubmatch(text, -1) {
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(m[3], "\n"), "\n") {
			lines = append(lines, strings.TrimPrefix(l, m[1]))
		}
		out = append(out, docBlock{m[2], strings.Join(lines, "\n")})
	}
	return out
}

// docsURL is the database URL the docs' commands use.
const docsURL = "postgres://parley:change-me@db.example:5432/parley?sslmode=verify-full"

// TestDocsPostgres runs the commands of "Running on PostgreSQL" and "Moving from SQLite"
// in docs/operations.md as written, in a shell with parley on the PATH, against a role
// and a database of their own on the test server (the docs' names made unique), the data
// and backup directories in temporary ones: the role and database the docs create are
// enough for Parley, a dump restored brings back what was dumped, and a shop copied from
// SQLite by the documented steps serves the same tickets.
func TestDocsPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pgtest.URL(t) // skips, or fails where required, without a test server
	admin := os.Getenv("PARLEY_TEST_POSTGRES")
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("PARLEY_TEST_POSTGRES_REQUIRED") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("SKIPPED: %s is not installed (PostgreSQL's client tools)", tool)
		}
	}
	running := docBlocks(t, "operations.md", "## Running on PostgreSQL")
	moving := docBlocks(t, "operations.md", "## Moving from SQLite")
	var kinds []string
	for _, b := range append(slices.Clone(running), moving...) {
		kinds = append(kinds, b.lang+": "+strings.Fields(b.text)[0]+" "+strings.Fields(b.text)[1])
	}
	want := []string{"sql: CREATE ROLE", "sh: parley serve", "sh: pg_dump --format=custom", "sh: pg_restore --clean",
		"sh: parley backup", "sh: parley copy", "sh: parley serve"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("the docs' examples are %q; this test runs %q", kinds, want)
	}
	bin := buildBinary(t)

	// database runs the docs' SQL with the role and database named anew, and returns the
	// URL to use for the docs' one.
	database := func() string {
		b := make([]byte, 4)
		rand.Read(b)
		name := "parley_docs_" + hex.EncodeToString(b)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			conn, err := pgx.Connect(ctx, admin)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(ctx)
			for _, q := range []string{`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`, `DROP ROLE IF EXISTS ` + name} {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Error(err)
				}
			}
		})
		sql := regexp.MustCompile(`\bparley\b`).ReplaceAllString(running[0].text, name)
		for _, q := range strings.Split(sql, ";") {
			if q = strings.TrimSpace(q); q != "" {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		u, _ := url.Parse(admin)
		return "postgres://" + name + ":change-me@" + u.Host + "/" + name + "?sslmode=disable"
	}
	data, backups := t.TempDir(), t.TempDir()
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PARLEY_ADDR=127.0.0.1:0", "PARLEY_ADMIN_EMAIL=boss@shop.example", "PARLEY_ADMIN_PASSWORD=a long admin password",
		"PARLEY_DATABASE_URL=", "PARLEY_DATA=")
	shell := func(block, dbURL string) *exec.Cmd {
		s := strings.NewReplacer(docsURL, dbURL, "/var/lib/parley", data, "/var/backups", backups).Replace(block)
		cmd := exec.Command("sh", "-c", s)
		cmd.Env = env
		return cmd
	}
	run := func(block, dbURL string) string {
		t.Helper()
		out, err := shell(block, dbURL).CombinedOutput()
		if err != nil {
			t.Fatalf("%s\n%v\n%s", block, err, out)
		}
		return string(out)
	}
	// A server's block is one command, which the shell runs in its place, so that it
	// gets the signal that stops it.
	serve := func(block, dbURL string) *server {
		t.Helper()
		if strings.Contains(block, "\n") {
			t.Fatalf("a server's block of more than one line: %s", block)
		}
		s := startServer(t, shell("exec "+block, dbURL))
		s.login("boss@shop.example", "a long admin password")
		return s
	}

	// Running on PostgreSQL: serve, dump, change, restore.
	dbURL := database()
	s := serve(running[1].text, dbURL)
	inbox := s.call("POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "Backoffice"}, 201)
	s.call("POST", "/api/v1/inbound", map[string]any{"inbox": inbox["id"], "external_id": "ext-1",
		"from": map[string]string{"name": "Zoe", "email": "zoe@x.example"}, "subject": "Before the dump", "text": "One"}, 201)
	s.stop()
	run(running[2].text, dbURL)
	if st, err := os.Stat(filepath.Join(backups, "parley.dump")); err != nil || st.Size() == 0 {
		t.Fatalf("pg_dump wrote no dump: %v", err)
	}
	s = serve(running[1].text, dbURL)
	s.call("POST", "/api/v1/inbound", map[string]any{"inbox": inbox["id"], "external_id": "ext-2",
		"from": map[string]string{"name": "Zoe", "email": "zoe@x.example"}, "subject": "After the dump", "text": "Two"}, 201)
	s.stop()
	run(running[3].text, dbURL)
	s = serve(running[1].text, dbURL)
	if got := s.subjects(); !slices.Equal(got, []string{"Before the dump"}) {
		t.Errorf("tickets after the restore: %q", got)
	}
	s.stop()

	// Moving from SQLite: a shop on SQLite in the data dir, then the documented steps.
	data = t.TempDir()
	cmd := exec.Command(bin, "serve", "--data", data, "--demo")
	cmd.Env = env
	s = startServer(t, cmd)
	s.login("boss@shop.example", "a long admin password")
	onSQLite := s.subjects()
	s.stop()
	dbURL = database()
	run(moving[0].text, dbURL)
	if st, err := os.Stat(filepath.Join(backups, "parley-before-postgres.db")); err != nil || st.Size() == 0 {
		t.Fatalf("parley backup wrote nothing: %v", err)
	}
	if out := run(moving[1].text, dbURL); !strings.Contains(out, "checked: every table has as many rows in PostgreSQL as in SQLite") {
		t.Fatalf("parley copy printed:\n%s", out)
	}
	s = serve(moving[2].text, dbURL)
	if got := s.subjects(); len(onSQLite) < 10 || !slices.Equal(got, onSQLite) {
		t.Errorf("tickets on PostgreSQL:\n%q\non SQLite:\n%q", got, onSQLite)
	}
	s.stop()
}
