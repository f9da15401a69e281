package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
	"parley/server"
)

// env is a running API over a real store (teststore's), with an admin already created.
type env struct {
	t     testing.TB
	st    *storetest.Env
	db    storetest.Store
	bus   *crm.LocalBus
	srv   *httptest.Server
	admin *client
}

const adminPassword = "correct horse battery"

func newEnv(t testing.TB) *env {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	db := st.Store
	srv := httptest.NewServer(server.New(db, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, db: db, bus: st.Bus, srv: srv}
	if _, err := db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "admin@test.example", Name: "Ada Admin", Role: crm.RoleAdmin, Password: adminPassword}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login("admin@test.example", adminPassword)
	return e
}

// client is a browser-like session: a cookie jar and the CSRF token from login.
type client struct {
	t     testing.TB
	base  string
	hc    *http.Client
	csrf  string
	token string // bearer token instead of the cookie when set
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.srv.URL, hc: &http.Client{Jar: jar}}
}

func (e *env) login(email, password string) *client {
	e.t.Helper()
	c := e.anon()
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	c.mustDo("POST", "/api/v1/login", map[string]string{"email": email, "password": password}, 200, &out)
	if out.CSRF == "" {
		e.t.Fatal("login returned no csrf_token")
	}
	c.csrf = out.CSRF
	return c
}

// bearer returns a client that authenticates with a new API token of the agent.
func (e *env) bearer(email string) *client {
	e.t.Helper()
	a, err := e.db.AgentByEmail(crm.AsSystem(context.Background()), email)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := e.db.CreateToken(crm.AsSystem(context.Background()), a.ID, "test", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.anon()
	c.token = tok
	return c
}

// agent creates an agent of role in the given inboxes and returns a logged-in client.
func (e *env) agent(email, role string, inboxes ...int64) *client {
	e.t.Helper()
	e.admin.mustDo("POST", "/api/v1/agents", map[string]any{"email": email, "name": email, "role": role, "password": "password-123", "inbox_ids": inboxes}, 201, nil)
	return e.login(email, "password-123")
}

// inbox creates an inbox of kind and returns its id.
func (e *env) inbox(kind, name string) int64 {
	e.t.Helper()
	var in struct{ ID int64 }
	e.admin.mustDo("POST", "/api/v1/inboxes", map[string]any{"kind": kind, "name": name, "config": map[string]any{}}, 201, &in)
	return in.ID
}

// inbound files an api-channel message and returns the result.
func (e *env) inbound(inbox int64, extID, email, text string) inboundResult {
	e.t.Helper()
	var res inboundResult
	e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": extID,
		"from": map[string]string{"name": "Alice", "email": email}, "subject": "Help: " + text, "text": text}, 201, &res)
	return res
}

type inboundResult struct {
	TicketID   int64 `json:"ticket_id"`
	MessageID  int64 `json:"message_id"`
	CustomerID int64 `json:"customer_id"`
	Duplicate  bool  `json:"duplicate"`
}

// do sends a request with a JSON body (a string is sent as is) and returns the status
// and the raw response body.
func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// mustDo is do that fails the test unless the status is want, then decodes into out.
func (c *client) mustDo(method, path string, body any, want int, out any) {
	c.t.Helper()
	status, data := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// errCode returns the error code of a JSON error body.
func errCode(t *testing.T, data []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not a JSON error body: %s", data)
	}
	return e.Error.Code
}

func ctxSystem() context.Context { return crm.AsSystem(context.Background()) }

func ticketFilter() crm.TicketFilter { return crm.TicketFilter{Page: crm.Page{Limit: 200}} }

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
