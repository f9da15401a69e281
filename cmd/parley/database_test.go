package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/crm/postgres/pgtest"
)

// server is a running `parley serve` of a test.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
	hc     *http.Client
	csrf   string
}

// startServer runs cmd (a parley serve on 127.0.0.1:0 or a shell running one), waits
// until it prints its URL, and stops it when the test ends. The command runs in a
// process group of its own, so that stopping a shell stops the server in it.
func startServer(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	s := &server{t: t, cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	urlRe := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/`)
	for s.base == "" && lines.Scan() {
		if m := urlRe.FindStringSubmatch(lines.Text()); m != nil {
			s.base = m[1]
		}
	}
	if s.base == "" {
		cmd.Wait()
		t.Fatalf("no URL printed; stderr:\n%s", s.stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	jar, _ := cookiejar.New(nil)
	s.hc = &http.Client{Jar: jar, Timeout: 15 * time.Second}
	return s
}

// lockedBuffer is a server's stderr, read while the server writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logs returns what the server logged so far.
func (s *server) logs() string { return s.stderr.String() }

// call makes a JSON request and wants the status want.
func (s *server) call(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.csrf)
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

func (s *server) login(email, password string) {
	s.t.Helper()
	out := s.call("POST", "/api/v1/login", map[string]string{"email": email, "password": password}, 200)
	s.csrf, _ = out["csrf_token"].(string)
}

// subjects returns the subjects of the first page of tickets.
func (s *server) subjects() []string {
	s.t.Helper()
	var out []string
	list, _ := s.call("GET", "/api/v1/tickets", nil, 200)["tickets"].([]any)
	for _, tk := range list {
		out = append(out, tk.(map[string]any)["subject"].(string))
	}
	return out
}

// stop ends the server with SIGTERM and wants a clean exit.
func (s *server) stop() {
	s.t.Helper()
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Fatalf("serve exited with %v\n%s", err, s.stderr.String())
		}
	case <-time.After(20 * time.Second):
		s.t.Fatal("serve did not stop on SIGTERM")
	}
}

// TestServeOnPostgres runs the binary on PostgreSQL (PARLEY_DATABASE_URL, then
// --database): it says which store it uses without the password, files a message, and
// after a restart the message is still there; the other sub-commands take the same
// flag; a bad URL and a server that cannot be reached stop it at once with the cause.
func TestServeOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL := pgtest.URL(t)
	bin := buildBinary(t)
	data := t.TempDir()

	for _, tc := range []struct{ url, says string }{
		{"mysql://parley@db.example/parley", "not a postgres:// URL"},
		{"postgres://parley:hunter2@db.example:port/parley", "--database: not a URL"},
		{"postgres://parley:hunter2@127.0.0.1:1/parley", "database postgres://parley@127.0.0.1:1/parley: connect to database:"},
		{"postgres://parley@127.0.0.1/parley?pool_max_conns=1", "pool_max_conns must be a number of connections, 2 or more"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--database", tc.url).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), tc.says) || strings.Contains(string(out), "hunter2") {
			t.Errorf("--database %s: %v\n%s", tc.url, err, out)
		}
	}

	env := append(os.Environ(), "PARLEY_ADMIN_EMAIL=boss@shop.example", "PARLEY_ADMIN_PASSWORD=a long admin password")
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = append(env, "PARLEY_DATABASE_URL="+dbURL)
	s := startServer(t, cmd)
	s.login("boss@shop.example", "a long admin password")
	inbox := s.call("POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "Backoffice"}, 201)
	s.call("POST", "/api/v1/inbound", map[string]any{"inbox": inbox["id"], "external_id": "ext-1",
		"from": map[string]string{"name": "Zoe", "email": "zoe@x.example"}, "subject": "Where is my parcel?", "text": "It has been a week."}, 201)
	s.stop()
	if !regexp.MustCompile(`msg=store database=postgres url="?postgres://postgres@127\.0\.0\.1:\d+/`).MatchString(s.stderr.String()) {
		t.Errorf("serve did not say which store it uses:\n%s", s.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, "parley.db")); err == nil {
		t.Errorf("serve on PostgreSQL made an SQLite database in --data")
	}

	// The sub-commands work on the same database with --database.
	db := []string{"--data", data, "--database", dbURL}
	if out := runCmd(t, bin, "", append([]string{"migrate"}, db...)...); !strings.Contains(out, "applied 0001_init") {
		t.Errorf("migrate printed %q", out)
	}
	if out := runCmd(t, bin, "hunter2 is long enough\n", append([]string{"agent", "add", "--email", "dana@shop.example", "--name", "Dana"}, db...)...); !strings.Contains(out, "created agent dana@shop.example") {
		t.Errorf("agent add printed %q", out)
	}
	tok := runCmd(t, bin, "", append([]string{"token", "create", "--email", "boss@shop.example"}, db...)...)
	if !strings.HasPrefix(tok, "pk_") {
		t.Fatalf("token create printed %q", tok)
	}
	if out := runCmd(t, bin, "", append([]string{"token", "list", "--email", "boss@shop.example"}, db...)...); !strings.Contains(out, "cli") {
		t.Errorf("token list printed %q", out)
	}
	csv := filepath.Join(t.TempDir(), "orders.csv")
	os.WriteFile(csv, []byte("number,email,status,currency,total,placed_at\n1001,zoe@x.example,shipped,USD,12.00,2026-11-22T10:00:00Z\n"), 0o600)
	if out := runCmd(t, bin, "", append([]string{"orders", "import", csv}, db...)...); !strings.Contains(out, "imported 1, skipped 0") {
		t.Errorf("orders import printed %q", out)
	}
	out, err := exec.Command(bin, append([]string{"backup", filepath.Join(t.TempDir(), "copy.db")}, db...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "pg_dump") {
		t.Errorf("backup on PostgreSQL: %v %s", err, out)
	}

	// After a restart, with the flag this time, all of it is there.
	cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, db...)...)
	cmd.Env = env
	s = startServer(t, cmd)
	s.login("dana@shop.example", "hunter2 is long enough")
	s.login("boss@shop.example", "a long admin password")
	if got := s.subjects(); len(got) != 1 || got[0] != "Where is my parcel?" {
		t.Errorf("tickets after the restart: %v", got)
	}
	if o := s.call("GET", "/api/v1/orders/1001", nil, 200); o["total"] != 1200.0 || o["customer_id"] == nil {
		t.Errorf("imported order: %v", o)
	}
	req, _ := http.NewRequest("GET", s.base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("the CLI's token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	s.stop()
}

// TestDemoOnPostgres runs `serve --demo` on PostgreSQL: the demo agents and their tickets,
// history included, are there, as on SQLite.
func TestDemoOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL := pgtest.URL(t)
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--database", dbURL, "--demo")
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_PASSWORD=", "PARLEY_ADMIN_EMAIL=")
	s := startServer(t, cmd)
	s.login("dana@demo.parley.test", "parley-demo")
	channels := map[string]bool{}
	list, _ := s.call("GET", "/api/v1/tickets?limit=200", nil, 200)["tickets"].([]any)
	for _, tk := range list {
		channels[tk.(map[string]any)["channel"].(string)] = true
	}
	if !channels["email"] || !channels["sms"] || !channels["chat"] || channels["discord"] || len(list) < 20 {
		t.Errorf("Dana's %d demo tickets by channel: %v", len(list), channels)
	}
	s.stop()
}
