package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/server"
	"parley/webhooks"
)

// webhookOut is a webhook as the API shows it.
type webhookOut struct {
	ID        int64    `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Enabled   bool     `json:"enabled"`
	Secret    string   `json:"secret"`
	CreatedAt string   `json:"created_at"`
}

type deliveryOut struct {
	ID           int64  `json:"id"`
	EventID      int64  `json:"event_id"`
	EventType    string `json:"event_type"`
	State        string `json:"state"`
	Attempts     int    `json:"attempts"`
	StatusCode   int    `json:"status_code"`
	Error        string `json:"error"`
	RedeliveryOf *int64 `json:"redelivery_of"`
}

// TestWebhooksAPI manages webhooks through the HTTP API: only admins; the secret is shown
// by the answers that set it and never listed; bad input and internal hosts are 400 and
// change nothing.
func TestWebhooksAPI(t *testing.T) {
	e := newEnv(t) // the strict outbound client: no private or loopback hosts
	manager := e.agent("manager@test.example", crm.RoleManager)
	agent := e.agent("agent@test.example", crm.RoleAgent)

	var w webhookOut
	e.admin.mustDo("POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/parley",
		"events": []string{"ticket.created"}}, 201, &w)
	if w.ID == 0 || !w.Enabled || !strings.HasPrefix(w.Secret, "whsec_") || w.Events[0] != "ticket.created" {
		t.Fatalf("created %+v", w)
	}
	var list struct {
		Webhooks   []map[string]any `json:"webhooks"`
		EventTypes []string         `json:"event_types"`
	}
	e.admin.mustDo("GET", "/api/v1/webhooks", nil, 200, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0]["secret"] != nil || len(list.EventTypes) != len(crm.WebhookEvents) {
		t.Fatalf("list %+v", list)
	}
	status, data := e.admin.do("GET", "/api/v1/webhooks/"+itoa(w.ID), nil)
	if status != 200 || strings.Contains(string(data), w.Secret) {
		t.Fatalf("get: %d %s", status, data)
	}

	for _, c := range []*client{manager, agent} {
		for _, req := range [][2]string{{"GET", "/api/v1/webhooks"}, {"POST", "/api/v1/webhooks"},
			{"PATCH", "/api/v1/webhooks/" + itoa(w.ID)}, {"DELETE", "/api/v1/webhooks/" + itoa(w.ID)},
			{"GET", "/api/v1/webhooks/" + itoa(w.ID) + "/deliveries"}, {"POST", "/api/v1/webhooks/" + itoa(w.ID) + "/replay"},
			{"POST", "/api/v1/webhooks/" + itoa(w.ID) + "/deliveries/1/redeliver"}} {
			if status, data := c.do(req[0], req[1], map[string]any{"url": "https://x.example", "after": 0}); status != 403 {
				t.Errorf("%s %s as a non-admin: %d %s", req[0], req[1], status, data)
			}
		}
	}

	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"url": "ftp://hooks.example.com/"}, "http:// or https://"},
		{map[string]any{"url": "https://hooks.example.com/", "events": []string{}}, "at least one event type"},
		{map[string]any{"url": "https://hooks.example.com/", "events": []string{"typing"}}, `unknown event type \"typing\"`},
		{map[string]any{"url": "https://hooks.example.com/", "secret": "short"}, "secret must be"},
		{map[string]any{"url": "http://127.0.0.1:9000/hook"}, "url must name a public host, not 127.0.0.1 (loopback address)"},
		{map[string]any{"url": "http://localhost/hook"}, "loopback address"},
		{map[string]any{"url": "http://10.1.2.3/hook"}, "private address"},
		{map[string]any{"url": "http://[::ffff:169.254.169.254]/"}, "link-local address"},
		{map[string]any{"url": "https://hooks.example.com/", "secrets": "x"}, "unknown field"},
	} {
		status, data := e.admin.do("POST", "/api/v1/webhooks", tt.body)
		if status != 400 || errCode(t, data) != "invalid" || !strings.Contains(string(data), tt.want) {
			t.Errorf("%v: %d %s, want 400 with %q", tt.body, status, data, tt.want)
		}
	}
	if status, data := e.admin.do("PATCH", "/api/v1/webhooks/"+itoa(w.ID), map[string]any{"url": "http://192.168.1.10/"}); status != 400 {
		t.Errorf("patch to a private host: %d %s", status, data)
	}
	if status, data := e.admin.do("POST", "/api/v1/webhooks/"+itoa(w.ID)+"/replay", map[string]any{}); status != 400 ||
		!strings.Contains(string(data), "after is required") {
		t.Errorf("replay without after: %d %s", status, data)
	}
	e.admin.mustDo("GET", "/api/v1/webhooks", nil, 200, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0]["url"] != "https://hooks.example.com/parley" {
		t.Fatalf("after the refused changes: %+v", list.Webhooks)
	}

	var u webhookOut
	e.admin.mustDo("PATCH", "/api/v1/webhooks/"+itoa(w.ID), map[string]any{"enabled": false}, 200, &u)
	if u.Enabled || u.Secret != "" {
		t.Fatalf("disabled %+v", u)
	}
	e.admin.mustDo("PATCH", "/api/v1/webhooks/"+itoa(w.ID), map[string]any{"new_secret": true}, 200, &u)
	if !strings.HasPrefix(u.Secret, "whsec_") || u.Secret == w.Secret {
		t.Fatalf("new secret %+v", u)
	}
	for _, path := range []string{"/api/v1/webhooks/999", "/api/v1/webhooks/999/deliveries"} {
		if status, data := e.admin.do("GET", path, nil); status != 404 || errCode(t, data) != "not_found" {
			t.Errorf("GET %s: %d %s", path, status, data)
		}
	}
	if status, _ := e.admin.do("POST", "/api/v1/webhooks/"+itoa(w.ID)+"/deliveries/999/redeliver", nil); status != 404 {
		t.Errorf("redeliver an unknown delivery: %d", status)
	}
	e.admin.mustDo("DELETE", "/api/v1/webhooks/"+itoa(w.ID), nil, 204, nil)
	if status, _ := e.admin.do("DELETE", "/api/v1/webhooks/"+itoa(w.ID), nil); status != 404 {
		t.Errorf("delete twice: %d", status)
	}

	var audit struct {
		Entries []struct{ Type string } `json:"entries"`
	}
	e.admin.mustDo("GET", "/api/v1/audit?type=webhook.created", nil, 200, &audit)
	if len(audit.Entries) != 1 {
		t.Errorf("audit entries of webhook.created: %+v", audit.Entries)
	}
}

// newWebhookEnv is a hub env whose server may reach loopback, with the webhook
// delivery worker running.
func newWebhookEnv(t *testing.T) *hubEnv {
	t.Helper()
	he := newHubEnvWith(t, server.Options{Outbound: allowPrivate})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		webhooks.New(webhooks.Options{Store: he.db, Client: allowPrivate, Bus: he.bus, Poll: 10 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return he
}

// waitDelivered waits until the webhook has n delivered deliveries and returns the log.
func (e *env) waitDelivered(webhookID int64, n int) []deliveryOut {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var log struct {
			Deliveries []deliveryOut `json:"deliveries"`
		}
		e.admin.mustDo("GET", "/api/v1/webhooks/"+itoa(webhookID)+"/deliveries", nil, 200, &log)
		got := 0
		for _, d := range log.Deliveries {
			if d.State == crm.WebhookDelivered {
				got++
			}
		}
		if got >= n {
			return log.Deliveries
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("webhook %d: %d of %d deliveries delivered: %+v", webhookID, got, n, log.Deliveries)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWebhookBodyIsTheSocketFrame: a webhook gets, for an event, the very bytes an
// agent's socket gets.
func TestWebhookBodyIsTheSocketFrame(t *testing.T) {
	he := newWebhookEnv(t)
	var mu sync.Mutex
	bodies := map[string]string{} // by X-Parley-Event
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.Header.Get("X-Parley-Event")] = string(b)
		mu.Unlock()
	}))
	defer rc.Close()
	var w webhookOut
	he.admin.mustDo("POST", "/api/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"ticket.created", "message.created"}}, 201, &w)
	ws := he.dial(he.admin)
	inbox := he.inbox(crm.KindAPI, "Shop")
	he.inbound(inbox, "same-bytes-1", "anna@example.com", "The zebra teapot is cracked")
	he.waitDelivered(w.ID, 2)
	for _, typ := range []string{"ticket.created", "message.created"} {
		f := ws.waitFor(typ, func(f wsFrame) bool { return f.Type == typ })
		mu.Lock()
		body := bodies[typ]
		mu.Unlock()
		if body != f.raw {
			t.Errorf("%s: webhook body\n%s\nsocket frame\n%s", typ, body, f.raw)
		}
	}
}

// codeBlocks returns the fenced blocks of language lang in the section of docs/page
// under heading, up to the next heading of the same level.
func codeBlocks(t *testing.T, page, heading, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("../docs/" + page)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("docs/%s has no %q", page, heading)
	}
	text = text[start+len(heading)+2:]
	level := heading[:strings.Index(heading, " ")+1]
	if end := strings.Index(text, "\n"+level); end >= 0 {
		text = text[:end]
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```\n").FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDocsWebhookExamples runs the curl commands of docs/api.md's Outgoing webhooks
// section against a real server: each answers with its documented status and fields.
func TestDocsWebhookExamples(t *testing.T) {
	e := newEnv(t)
	examples := docExamples(t, "api.md", "## Outgoing webhooks")
	wantStatus := []int{201, 200, 200, 201, 200, 200, 204}
	if len(examples) != len(wantStatus) {
		t.Fatalf("docs/api.md has %d webhook examples, this test knows %d", len(examples), len(wantStatus))
	}
	admin, err := e.db.AgentByEmail(ctxSystem(), "admin@test.example")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.db.CreateToken(ctxSystem(), admin.ID, "docs", nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"TOKEN": tok}
	for i, ex := range examples {
		if i == 2 {
			// An event for the log: the worker is not running, the delivery waits.
			e.inbound(e.inbox(crm.KindAPI, "Shop"), "docs-1", "anna@example.com", "Where is my parcel?")
			if _, err := e.db.FanOutWebhooks(ctxSystem(), 0); err != nil {
				t.Fatal(err)
			}
		}
		status, body := runCurl(t, ex.command, vars, e.srv.URL, e.admin)
		if status != wantStatus[i] {
			t.Fatalf("example %d: %s\n= %d %s", i+1, ex.command, status, body)
		}
		if ex.answer != "" {
			var doc, got any
			if err := json.Unmarshal([]byte(ex.answer), &doc); err != nil {
				t.Fatalf("example %d: the documented answer is not JSON: %v", i+1, err)
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("example %d: answer %s: %v", i+1, body, err)
			}
			sameKeys(t, fmt.Sprintf("example %d", i+1), doc, got)
		}
	}
	if status, _ := e.admin.do("GET", "/api/v1/webhooks/1", nil); status != 404 {
		t.Fatalf("the deleted webhook answers %d", status)
	}
}

// TestDocsWebhookReceivers runs the signature-checking receivers of docs/api.md, in Go,
// Python and Node.js, as written: each gets a real delivery and answers 204, which the
// delivery log shows, and answers 400 to a wrong signature and to an old one. Python
// and Node.js are skipped, loudly, where they are not installed.
func TestDocsWebhookReceivers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the documented receivers")
	}
	const heading = "### Verifying a signature"
	for _, tc := range []struct {
		name, lang, file string
		run              func(t *testing.T, dir, file string) *exec.Cmd
	}{
		{"go", "go", "main.go", func(t *testing.T, dir, file string) *exec.Cmd {
			bin := filepath.Join(dir, "receiver")
			build := exec.Command("go", "build", "-o", bin, file)
			build.Dir = dir
			build.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build the documented receiver: %v\n%s", err, out)
			}
			return exec.Command(bin)
		}},
		{"python", "python", "receiver.py", func(t *testing.T, dir, file string) *exec.Cmd {
			return exec.Command(lookTool(t, "python3"), file)
		}},
		{"node", "js", "receiver.js", func(t *testing.T, dir, file string) *exec.Cmd {
			return exec.Command(lookTool(t, "node"), file)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks := codeBlocks(t, "api.md", heading, tc.lang)
			if len(blocks) != 1 {
				t.Fatalf("docs/api.md %q has %d %s blocks, want 1", heading, len(blocks), tc.lang)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(blocks[0]), 0o644); err != nil {
				t.Fatal(err)
			}
			e := newWebhookEnv(t)
			var w webhookOut
			port := freePort(t)
			e.admin.mustDo("POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:" + port + "/parley",
				"events": []string{"ticket.created"}}, 201, &w)

			cmd := tc.run(t, dir, tc.file)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PORT="+port, "PARLEY_WEBHOOK_SECRET="+w.Secret)
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			var logMu sync.Mutex
			var logged strings.Builder
			go func() {
				s := bufio.NewScanner(out)
				for s.Scan() {
					logMu.Lock()
					logged.WriteString(s.Text() + "\n")
					logMu.Unlock()
				}
			}()
			waitListening(t, "127.0.0.1:"+port)

			res := e.inbound(e.inbox(crm.KindAPI, "Shop"), "receiver-"+tc.name, "anna@example.com", "Where is my parcel?")
			log := e.waitDelivered(w.ID, 1)
			if d := log[0]; d.StatusCode != 204 || d.EventType != "ticket.created" || d.Attempts != 1 {
				t.Fatalf("delivery %+v", d)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				logMu.Lock()
				got := logged.String()
				logMu.Unlock()
				if strings.Contains(got, "ticket.created delivery "+strconv.FormatInt(log[0].ID, 10)) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the receiver did not log the delivery: %q", got)
				}
				time.Sleep(5 * time.Millisecond)
			}

			// Forged and replayed requests are refused.
			body := []byte(fmt.Sprintf(`{"id":1,"type":"ticket.created","at":"2026-03-01T10:00:00Z","data":{"id":%d}}`, res.TicketID))
			for _, c := range []struct {
				name, sig string
				want      int
			}{
				{"no signature", "", 400},
				{"another secret", webhooks.Sign("whsec_not_the_secret", time.Now(), body), 400},
				{"an hour old", webhooks.Sign(w.Secret, time.Now().Add(-time.Hour), body), 400},
				{"valid", webhooks.Sign(w.Secret, time.Now(), body), 204},
			} {
				req, _ := http.NewRequest("POST", "http://127.0.0.1:"+port+"/parley", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Parley-Event", "ticket.created")
				req.Header.Set("X-Parley-Delivery", "999")
				if c.sig != "" {
					req.Header.Set("X-Parley-Signature", c.sig)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
				}
			}
		})
	}
}

// lookTool returns the path of a program, or skips the test loudly without it.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("\n\n!!! %s NOT RUN: %s is not installed; the documented %s receiver is untested here.\n", t.Name(), name, name)
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// waitListening waits until something accepts connections at addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens at %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
