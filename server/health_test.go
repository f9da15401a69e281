package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"parley/crm"
	"parley/crm/sqlite"
	"parley/crm/storetest/teststore"
	"parley/server"
)

// get sends a GET with an optional Authorization header and returns the status, the
// headers and the body.
func get(t *testing.T, url, auth string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestDiskFullAnswers fills the store's database for real (SQLite's max_page_count, so a
// write needing another page fails with SQLITE_FULL as on a full disk) and checks what a
// client sees: the write answers 503 unavailable and saves nothing, /healthz says
// degraded until a write succeeds again, and reads go on.
func TestDiskFullAnswers(t *testing.T) {
	teststore.SQLiteOnly(t, "it fills the database with SQLite's max_page_count")
	e := newEnv(t)
	db := e.db.(*sqlite.DB)
	inbox := e.inbox("api", "API")
	first := e.inbound(inbox, "first", "alice@example.com", "hello")
	if status, _, body := get(t, e.srv.URL+"/healthz", ""); status != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("healthz before: %d %s", status, body)
	}
	if err := db.LimitPages(crm.AsSystem(context.Background()), 1); err != nil {
		t.Fatal(err)
	}
	post := func(extID string) (int, []byte) {
		return e.admin.do("POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": extID,
			"from": map[string]string{"name": "Alice", "email": "alice@example.com"}, "subject": "Big",
			"text": strings.Repeat("a long complaint ", 1200)})
	}
	var failed string
	for i := 0; i < 50 && failed == ""; i++ {
		id := "big-" + itoa(int64(i))
		status, body := post(id)
		switch {
		case status == 201:
		case status == 503 && errCode(t, body) == "unavailable" && strings.Contains(string(body), "disk of the data directory is full"):
			failed = id
		default:
			t.Fatalf("write %d on a full disk: %d %s, want 201 or 503 unavailable", i, status, body)
		}
	}
	if failed == "" {
		t.Fatal("50 messages fit; the database never filled")
	}
	status, _, body := get(t, e.srv.URL+"/healthz", "")
	if status != 503 || strings.TrimSpace(body) != `{"status":"degraded","store":"disk full"}` {
		t.Fatalf("healthz while full: %d %s", status, body)
	}
	e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(first.TicketID), nil, 200, nil)

	if err := db.LimitPages(crm.AsSystem(context.Background()), 0); err != nil {
		t.Fatal(err)
	}
	status, data := post(failed)
	var res inboundResult
	if status != 201 || json.Unmarshal(data, &res) != nil || res.Duplicate {
		t.Fatalf("the failed write again, with space: %d %s (it must not have been saved before)", status, data)
	}
	if status, _, body := get(t, e.srv.URL+"/healthz", ""); status != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("healthz after a write succeeded: %d %s", status, body)
	}
}

// TestMetricsProtection checks who gets GET /metrics: anyone by default; with a token,
// only a client sending it; with a listener of its own, nobody on the main one.
func TestMetricsProtection(t *testing.T) {
	e := newEnv(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	const token = "metrics-token-0123456789abcdef"
	const series = "parley_http_requests_total"

	if status, _, body := get(t, e.srv.URL+"/metrics", ""); status != 200 || !strings.Contains(body, series) {
		t.Errorf("default /metrics: %d %.200s", status, body)
	}

	guarded := httptest.NewServer(server.New(e.db, server.Options{Logger: quiet, MetricsToken: token}))
	defer guarded.Close()
	for _, auth := range []string{"", "Bearer wrong-token", "Basic " + token, "Bearer " + token + "x", token} {
		status, h, body := get(t, guarded.URL+"/metrics", auth)
		if status != 401 || !strings.Contains(body, `"code":"unauthorized"`) || h.Get("WWW-Authenticate") == "" {
			t.Errorf("/metrics with Authorization %q: %d %s %v", auth, status, body, h)
		}
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		if status, _, body := get(t, guarded.URL+"/metrics", auth); status != 200 || !strings.Contains(body, series) {
			t.Errorf("/metrics with Authorization %q: %d %.200s", auth, status, body)
		}
	}

	apart := server.New(e.db, server.Options{Logger: quiet, MetricsToken: token, MetricsElsewhere: true})
	front := httptest.NewServer(apart)
	defer front.Close()
	metrics := httptest.NewServer(apart.MetricsHandler())
	defer metrics.Close()
	if status, _, body := get(t, front.URL+"/metrics", "Bearer "+token); status != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("/metrics on the main listener when it has its own: %d %.200s", status, body)
	}
	if status, _, _ := get(t, metrics.URL+"/metrics", ""); status != 401 {
		t.Errorf("/metrics on its own listener without the token: %d", status)
	}
	if status, _, body := get(t, metrics.URL+"/metrics", "Bearer "+token); status != 200 || !strings.Contains(body, series) {
		t.Errorf("/metrics on its own listener: %d %.200s", status, body)
	}
}
