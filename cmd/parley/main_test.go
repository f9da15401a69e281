package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// buildBinary compiles parley once per test run into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinaryServesAndFilesInbound starts the real binary, logs in as the first admin,
// creates an api inbox, files an inbound message and finds it in the ticket list; then
// uses the other sub-commands on the same data directory.
func TestBinaryServesAndFilesInbound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL=boss@shop.example", "PARLEY_ADMIN_PASSWORD=a long admin password")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := bufio.NewScanner(stdout)
	urlRe := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/`)
	var base string
	for base == "" && lines.Scan() {
		if m := urlRe.FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("no URL printed; stderr:\n%s", stderr.String())
	}
	if !lines.Scan() || !strings.Contains(lines.Text(), "boss@shop.example") {
		t.Fatalf("admin login not printed: %q", lines.Text())
	}
	go io.Copy(io.Discard, stdout)

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	call := func(method, path, csrf string, body any, want int) map[string]any {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
		}
		var out map[string]any
		json.Unmarshal(raw, &out)
		return out
	}
	call("GET", "/healthz", "", nil, 200)
	login := call("POST", "/api/v1/login", "", map[string]string{"email": "boss@shop.example", "password": "a long admin password"}, 200)
	csrf, _ := login["csrf_token"].(string)
	inbox := call("POST", "/api/v1/inboxes", csrf, map[string]any{"kind": "api", "name": "Backoffice"}, 201)
	res := call("POST", "/api/v1/inbound", csrf, map[string]any{"inbox": inbox["id"], "external_id": "ext-1",
		"from": map[string]string{"name": "Zoe", "email": "zoe@x.example"}, "subject": "Where is my parcel?", "text": "It has been a week."}, 201)
	list := call("GET", "/api/v1/tickets", "", nil, 200)
	tickets, _ := list["tickets"].([]any)
	if len(tickets) != 1 || tickets[0].(map[string]any)["subject"] != "Where is my parcel?" || tickets[0].(map[string]any)["id"] != res["ticket_id"] {
		t.Fatalf("tickets = %v", list)
	}
	metrics, err := hc.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if !strings.Contains(string(raw), `parley_http_requests_total{code="201",route="POST /api/v1/inbound"} 1`) {
		t.Fatalf("metrics lack the inbound request:\n%s", raw)
	}

	// Sub-commands work on the live data directory (WAL allows it).
	tok := runCmd(t, bin, "", "token", "create", "--email", "boss@shop.example", "--data", data)
	if !strings.HasPrefix(tok, "pk_") || strings.Contains(tok, " ") {
		t.Fatalf("token create printed %q", tok)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token from the CLI: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	tokens := runCmd(t, bin, "", "token", "list", "--email", "boss@shop.example", "--data", data)
	rows := strings.Split(strings.TrimSpace(tokens), "\n")
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "ID") || !strings.Contains(rows[1], "cli") || strings.Contains(tokens, tok) {
		t.Fatalf("token list printed %q", tokens)
	}
	id := strings.Fields(rows[1])[0]
	// A socket the token opened ends when the CLI revokes it behind the server's back.
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws",
		http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatalf("socket with the CLI's token: %v", err)
	}
	defer ws.Close()
	if out := runCmd(t, bin, "", "token", "revoke", "--email", "boss@shop.example", "--id", id, "--data", data); !strings.Contains(out, "revoked token "+id) {
		t.Fatalf("token revoke printed %q", out)
	}
	ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code == websocket.ClosePolicyViolation && ce.Text == "token revoked" {
			break
		} else if err != nil {
			t.Fatalf("socket of the revoked token ended with %v, want 1008 token revoked", err)
		}
	}
	// The server keeps a token it saw for up to 5 seconds; a revoked one is refused then.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked token still answered %d", resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// --expires takes days or a Go duration; the list shows when a token expires.
	runCmd(t, bin, "", "token", "create", "--email", "boss@shop.example", "--name", "quarterly", "--expires", "90d", "--data", data)
	runCmd(t, bin, "", "token", "create", "--email", "boss@shop.example", "--name", "monthly", "--expires", "720h", "--data", data)
	tokens = runCmd(t, bin, "", "token", "list", "--email", "boss@shop.example", "--data", data)
	rows = strings.Split(tokens, "\n")
	in90, in30 := time.Now().AddDate(0, 0, 90).UTC().Format("2006-01-02"), time.Now().AddDate(0, 0, 30).UTC().Format("2006-01-02")
	if len(rows) != 3 || !strings.HasSuffix(strings.TrimSpace(rows[0]), "EXPIRES") ||
		!strings.Contains(rows[1], "quarterly") || !strings.Contains(rows[1], in90) ||
		!strings.Contains(rows[2], "monthly") || !strings.Contains(rows[2], in30) {
		t.Fatalf("token list printed %q, want expiries on %s and %s", tokens, in90, in30)
	}
	for _, bad := range []string{"0d", "-5h", "soon", "99999d"} {
		out, err := exec.Command(bin, "token", "create", "--email", "boss@shop.example", "--expires", bad, "--data", data).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--expires") || strings.Contains(string(out), "pk_") {
			t.Fatalf("token create --expires %s: %v %q", bad, err, out)
		}
	}
	if out := runCmd(t, bin, "hunter2 is long enough\n", "agent", "add", "--email", "dana@shop.example", "--name", "Dana", "--data", data); !strings.Contains(out, "created agent dana@shop.example") {
		t.Fatalf("agent add printed %q", out)
	}
	call("POST", "/api/v1/logout", csrf, nil, 204)
	call("POST", "/api/v1/login", "", map[string]string{"email": "dana@shop.example", "password": "hunter2 is long enough"}, 200)
	backupFile := filepath.Join(t.TempDir(), "copy.db")
	runCmd(t, bin, "", "backup", backupFile, "--data", data)
	if st, err := os.Stat(backupFile); err != nil || st.Size() == 0 {
		t.Fatalf("backup: %v", err)
	}
	if out := runCmd(t, bin, "", "migrate", "--data", data); !strings.Contains(out, "applied 0001_init") {
		t.Fatalf("migrate printed %q", out)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

func runCmd(t *testing.T, bin, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley %v: %v\n%s", args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestDemoSeed runs `serve --demo` and checks the demo tickets are there for Dana.
func TestDemoSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--demo")
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_PASSWORD=", "PARLEY_ADMIN_EMAIL=")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var base, login, shopURL string
	var logins []string
	for lines.Scan() {
		if m := regexp.MustCompile(`open (http://[^ ]+)/`).FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
		}
		if strings.HasPrefix(lines.Text(), "Admin login:") {
			login = lines.Text()
		}
		if strings.HasPrefix(lines.Text(), "Demo ") && strings.Contains(lines.Text(), " login: ") {
			logins = append(logins, lines.Text())
		}
		if u, ok := strings.CutPrefix(lines.Text(), "Demo shop with the chat widget: "); ok {
			shopURL = u
			break
		}
	}
	if base == "" || !strings.Contains(login, "admin@parley.local") || !strings.Contains(login, "shown once") {
		t.Fatalf("printed url %q login %q", base, login)
	}
	// Every demo login is printed, and the demo shop's page.
	if strings.Join(logins, "\n") != "Demo agent login: dana@demo.parley.test / parley-demo\nDemo manager login: max@demo.parley.test / parley-demo" ||
		shopURL != base+"/demo" {
		t.Fatalf("printed demo logins %q, shop %q", logins, shopURL)
	}
	go io.Copy(io.Discard, stdout)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Post(base+"/api/v1/login", "application/json", strings.NewReader(`{"email":"dana@demo.parley.test","password":"parley-demo"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("demo login: %v %v", err, resp.StatusCode)
	}
	var session struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&session)
	resp.Body.Close()
	if resp, err := http.Get(shopURL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the demo shop page: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	resp, err = hc.Get(base + "/api/v1/tickets")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Tickets []struct {
			ID      int64  `json:"id"`
			Channel string `json:"channel"`
			Subject string `json:"subject"`
		} `json:"tickets"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	channels := map[string]bool{}
	var whatsapp int64
	for _, tk := range list.Tickets {
		channels[tk.Channel] = true
		if tk.Channel == "whatsapp" {
			whatsapp = tk.ID
		}
	}
	// Dana works the email, phone and chat inboxes only.
	if !channels["email"] || !channels["sms"] || !channels["whatsapp"] || !channels["chat"] || channels["discord"] || channels["api"] {
		t.Fatalf("Dana's demo tickets by channel: %v", channels)
	}
	// The demo shop answers in process: Dana cancels the order the WhatsApp customer
	// asks about.
	req, _ := http.NewRequest("POST", base+"/api/v1/orders/1004/actions", strings.NewReader(
		fmt.Sprintf(`{"action":"cancel","ticket_id":%d,"idempotency_key":"demo-seed-test"}`, whatsapp)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", session.CSRF)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"succeeded"`) || !strings.Contains(string(body), `"status":"cancelled"`) {
		t.Fatalf("cancel on the demo shop: %d %s", resp.StatusCode, body)
	}
}
