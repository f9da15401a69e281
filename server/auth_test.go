package server_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestLoginSessionLogout(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	status, body := c.do("POST", "/api/v1/login", map[string]string{"email": "admin@test.example", "password": "wrong password"})
	if status != 401 || errCode(t, body) != "unauthorized" {
		t.Fatalf("wrong password: %d %s", status, body)
	}
	status, body = c.do("POST", "/api/v1/login", map[string]string{"email": "nobody@test.example", "password": "x"})
	if status != 401 {
		t.Fatalf("unknown email: %d %s", status, body)
	}

	c = e.login("ADMIN@test.example", adminPassword)
	var me struct {
		Agent struct{ Email, Role string }
		CSRF  string `json:"csrf_token"`
	}
	c.mustDo("GET", "/api/v1/me", nil, 200, &me)
	if me.Agent.Email != "admin@test.example" || me.Agent.Role != "admin" || me.CSRF != c.csrf {
		t.Fatalf("me = %+v", me)
	}
	if strings.Contains(string(mustGet(t, c, "/api/v1/me")), "password") {
		t.Fatal("/me leaks a password field")
	}
	c.mustDo("POST", "/api/v1/logout", nil, 204, nil)
	if status, _ := c.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("after logout /me = %d, want 401", status)
	}
}

func mustGet(t *testing.T, c *client, path string) []byte {
	t.Helper()
	status, body := c.do("GET", path, nil)
	if status != 200 {
		t.Fatalf("GET %s = %d %s", path, status, body)
	}
	return body
}

func TestLoginRotatesSessionAndSetsSafeCookie(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	req := `{"email":"admin@test.example","password":"` + adminPassword + `"}`
	resp, err := c.hc.Post(e.srv.URL+"/api/v1/login", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var first *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "parley_session" {
			first = ck
		}
	}
	if first == nil || !first.HttpOnly || first.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v, want HttpOnly SameSite=Lax", first)
	}
	// Logging in again with the old cookie replaces the session and kills the old one.
	c.mustDo("POST", "/api/v1/login", map[string]string{"email": "admin@test.example", "password": adminPassword}, 200, nil)
	old := e.anon()
	old.hc.Jar.SetCookies(resp.Request.URL, []*http.Cookie{{Name: "parley_session", Value: first.Value}})
	if status, _ := old.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("old session after a new login: %d, want 401", status)
	}
}

func TestLoginRateLimited(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	var last int
	for i := 0; i < 12; i++ {
		last, _ = c.do("POST", "/api/v1/login", map[string]string{"email": "admin@test.example", "password": "guess"})
	}
	if last != 429 {
		t.Fatalf("12th bad login = %d, want 429", last)
	}
	// Even the right password is refused while limited.
	status, body := c.do("POST", "/api/v1/login", map[string]string{"email": "admin@test.example", "password": adminPassword})
	if status != 429 || errCode(t, body) != "rate_limited" {
		t.Fatalf("right password while limited = %d %s", status, body)
	}
}

func TestCSRFAndBearer(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	body := map[string]any{"inbox": inbox, "external_id": "x1", "from": map[string]string{"email": "a@x.example"}, "text": "hi"}

	noCSRF := *e.admin
	noCSRF.csrf = ""
	status, data := noCSRF.do("POST", "/api/v1/inbound", body)
	if status != 403 || errCode(t, data) != "forbidden" {
		t.Fatalf("cookie POST without CSRF = %d %s", status, data)
	}
	wrong := *e.admin
	wrong.csrf = "nope"
	if status, _ := wrong.do("POST", "/api/v1/inbound", body); status != 403 {
		t.Fatalf("cookie POST with wrong CSRF = %d", status)
	}
	if got, _, _ := e.db.Tickets(ctxSystem(), ticketFilter()); len(got) != 0 {
		t.Fatalf("a refused request stored %d tickets", len(got))
	}

	b := e.bearer("admin@test.example")
	b.mustDo("POST", "/api/v1/inbound", body, 201, nil)
	bad := e.anon()
	bad.token = "pk_not_a_token"
	if status, _ := bad.do("GET", "/api/v1/tickets", nil); status != 401 {
		t.Fatalf("bad bearer = %d, want 401", status)
	}
	bad.token = ""
	bad.hc.Jar = nil
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/tickets", nil)
	req.Header.Set("Authorization", "Basic YTpi")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("basic auth = %d, want 401", resp.StatusCode)
	}
}

// TestEveryRouteNeedsAuth sends each API route without credentials.
func TestEveryRouteNeedsAuth(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	for _, r := range []string{
		"POST /api/v1/logout", "GET /api/v1/me", "GET /api/v1/tickets", "POST /api/v1/tickets",
		"GET /api/v1/tickets/1", "PATCH /api/v1/tickets/1", "GET /api/v1/tickets/1/messages",
		"POST /api/v1/tickets/1/messages", "POST /api/v1/tickets/1/merge", "GET /api/v1/attachments/1",
		"GET /api/v1/customers", "GET /api/v1/customers/1", "PATCH /api/v1/customers/1",
		"GET /api/v1/customers/1/timeline", "POST /api/v1/customers/1/merge", "POST /api/v1/customers/merges/1/undo",
		"POST /api/v1/inbound", "GET /api/v1/search?q=x", "GET /api/v1/orders?email=a@b.example",
		"GET /api/v1/orders/1001", "PUT /api/v1/orders/1001", "GET /api/v1/inboxes", "POST /api/v1/inboxes",
		"GET /api/v1/inboxes/1", "PATCH /api/v1/inboxes/1", "GET /api/v1/agents", "POST /api/v1/agents",
		"GET /api/v1/agents/1", "PATCH /api/v1/agents/1",
	} {
		method, path, _ := strings.Cut(r, " ")
		status, body := c.do(method, path, `{}`)
		if status != 401 || errCode(t, body) != "unauthorized" {
			t.Errorf("%s without auth = %d %s, want 401", r, status, body)
		}
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	agent := e.agent("dana@test.example", "agent", inbox)
	manager := e.agent("max@test.example", "manager")
	for _, tc := range []struct {
		c      *client
		method string
		path   string
		body   any
		want   int
	}{
		{agent, "POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "X"}, 403},
		{agent, "PATCH", "/api/v1/inboxes/1", map[string]any{"name": "X"}, 403},
		{agent, "POST", "/api/v1/agents", map[string]any{"email": "e@x.example", "name": "E", "password": "password-1"}, 403},
		{agent, "PATCH", "/api/v1/agents/2", map[string]any{"role": "admin"}, 403},
		{agent, "PUT", "/api/v1/orders/1001", map[string]any{"email": "a@x.example", "status": "paid", "currency": "USD", "placed_at": "2026-01-02T03:04:05Z"}, 403},
		{manager, "POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "X"}, 403},
		{manager, "PATCH", "/api/v1/agents/2", map[string]any{"role": "admin"}, 403},
		{agent, "GET", "/api/v1/agents", nil, 200},
		{agent, "GET", "/api/v1/inboxes", nil, 200},
	} {
		status, body := tc.c.do(tc.method, tc.path, tc.body)
		if status != tc.want {
			t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, status, body, tc.want)
		}
	}
	// Admins cannot lock themselves out.
	var me struct{ Agent struct{ ID int64 } }
	e.admin.mustDo("GET", "/api/v1/me", nil, 200, &me)
	status, _ := e.admin.do("PATCH", "/api/v1/agents/"+itoa(me.Agent.ID), map[string]any{"role": "agent"})
	if status != 409 {
		t.Fatalf("self-demotion = %d, want 409", status)
	}
}
