package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/server"

	"github.com/gorilla/websocket"
)

// TestPublicURL runs the server behind a public URL other than the address the test
// reaches it at, as behind a TLS proxy: the session cookie is Secure, the console's
// socket opens from the public origin and not from the address itself, and a shop's
// webhook URL is under the public URL.
func TestPublicURL(t *testing.T) {
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	const public = "https://desk.example.test"
	srv := server.New(db, server.Options{PublicURL: &url.URL{Scheme: "https", Host: "desk.example.test"}, Bus: bus,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); cancel(); <-done })
	if _, err := db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "admin@test.example", Name: "Ada Admin",
		Role: crm.RoleAdmin, Password: adminPassword}); err != nil {
		t.Fatal(err)
	}

	body, _ := json.Marshal(map[string]string{"email": "admin@test.example", "password": adminPassword})
	resp, err := http.Post(hs.URL+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != 200 || len(cookies) != 1 || !cookies[0].Secure || login.CSRF == "" {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, cookies)
	}
	cookie := cookies[0].Name + "=" + cookies[0].Value

	dial := func(origin string) int {
		t.Helper()
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		ws, resp, err := d.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/api/v1/ws", http.Header{"Origin": {origin}, "Cookie": {cookie}})
		if ws != nil {
			ws.Close()
		}
		if resp == nil {
			t.Fatalf("dial from %s: %v", origin, err)
		}
		return resp.StatusCode
	}
	// Run starts on its own goroutine: until the hub runs, the socket is refused with 500.
	deadline := time.Now().Add(10 * time.Second)
	for status := dial(public); status != http.StatusSwitchingProtocols; status = dial(public) {
		if status != http.StatusInternalServerError || time.Now().After(deadline) {
			t.Fatalf("socket from the public origin: %d", status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if status := dial(hs.URL); status != http.StatusForbidden {
		t.Errorf("socket from the listen address: %d, want 403", status)
	}

	req, _ := http.NewRequest("POST", hs.URL+"/api/v1/order-sources",
		strings.NewReader(`{"kind":"webhook","name":"My shop","secret":"a-long-webhook-secret"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", cookie)
	req.Header.Set("X-CSRF-Token", login.CSRF)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var src sourceOut
	json.NewDecoder(resp.Body).Decode(&src)
	if resp.StatusCode != 201 || src.WebhookURL != public+"/webhooks/orders/"+itoa(src.ID) {
		t.Errorf("order source: %d, webhook_url %q", resp.StatusCode, src.WebhookURL)
	}
}
