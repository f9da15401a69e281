package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/server"

	"github.com/gorilla/websocket"
)

type tokenJSON struct {
	ID         int64      `json:"id"`
	AgentID    int64      `json:"agent_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Token      string     `json:"token"`
}

// createToken creates an API token as c and returns it with its secret.
func createToken(c *client, body map[string]any) tokenJSON {
	c.t.Helper()
	var tok tokenJSON
	c.mustDo("POST", "/api/v1/tokens", body, 201, &tok)
	if !strings.HasPrefix(tok.Token, "pk_") || tok.ID == 0 {
		c.t.Fatalf("created token = %+v", tok)
	}
	return tok
}

// as returns a client that authenticates with the bearer token.
func (e *env) as(token string) *client {
	c := e.anon()
	c.token = token
	return c
}

func TestTokensAPI(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Shop")
	alice := e.agent("alice@test.example", crm.RoleAgent, inbox)
	bob := e.agent("bob@test.example", crm.RoleAgent, inbox)
	var me struct{ Agent crm.Agent }
	alice.mustDo("GET", "/api/v1/me", nil, 200, &me)
	aliceID := me.Agent.ID

	// An agent creates a token for itself; the answer is the only place the token shows.
	before := time.Now()
	tok := createToken(alice, map[string]any{"name": " zapier ", "expires_in_days": 90})
	if tok.AgentID != aliceID || tok.Name != "zapier" || tok.LastUsedAt != nil || tok.ExpiresAt == nil ||
		tok.ExpiresAt.Before(before.AddDate(0, 0, 90).Add(-time.Second)) || tok.ExpiresAt.After(time.Now().AddDate(0, 0, 90)) {
		t.Fatalf("token = %+v", tok)
	}
	forever := createToken(alice, map[string]any{"name": "forever"})
	if forever.ExpiresAt != nil {
		t.Fatalf("token without expiry = %+v", forever)
	}
	status, raw := alice.do("POST", "/api/v1/tokens", map[string]any{"name": "null expiry", "expires_at": nil})
	if status != 201 || !strings.Contains(string(raw), `"expires_at":null`) {
		t.Fatalf("expires_at null: %d %s", status, raw)
	}

	// The token works and lists its owner's tokens, never a secret.
	api := e.as(tok.Token)
	api.mustDo("GET", "/api/v1/me", nil, 200, &me)
	if me.Agent.ID != aliceID {
		t.Fatalf("token acts as %d, want %d", me.Agent.ID, aliceID)
	}
	for _, c := range []*client{alice, api} {
		status, raw := c.do("GET", "/api/v1/tokens", nil)
		var list struct{ Tokens []map[string]any }
		json.Unmarshal(raw, &list)
		if status != 200 || len(list.Tokens) != 3 || list.Tokens[0]["name"] != "zapier" || list.Tokens[0]["expires_at"] == nil ||
			list.Tokens[0]["last_used_at"] == nil || list.Tokens[1]["expires_at"] != nil {
			t.Fatalf("GET /api/v1/tokens = %d %s", status, raw)
		}
		if strings.Contains(string(raw), "pk_") || strings.Contains(string(raw), `"token"`) {
			t.Fatalf("the token list shows a secret: %s", raw)
		}
	}
	// A token cannot mint another: revoking a leaked one must be enough.
	status, raw = api.do("POST", "/api/v1/tokens", map[string]any{"name": "successor"})
	if status != 403 || errCode(t, raw) != crm.EFORBIDDEN {
		t.Fatalf("token creating a token: %d %s", status, raw)
	}

	// Another agent can neither see, create nor revoke Alice's tokens; her token id is
	// as unknown to Bob as one that does not exist.
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/api/v1/tokens?agent_id=" + itoa(aliceID), nil, 403},
		{"POST", "/api/v1/tokens", map[string]any{"name": "x", "agent_id": aliceID}, 403},
		{"DELETE", "/api/v1/tokens/" + itoa(tok.ID), nil, 404},
		{"DELETE", "/api/v1/tokens/999999", nil, 404},
		{"DELETE", "/api/v1/tokens/abc", nil, 400},
	} {
		if status, raw := bob.do(tt.method, tt.path, tt.body); status != tt.status {
			t.Fatalf("bob %s %s = %d %s, want %d", tt.method, tt.path, status, raw, tt.status)
		}
	}
	var bobList struct{ Tokens []tokenJSON }
	bob.mustDo("GET", "/api/v1/tokens", nil, 200, &bobList)
	if len(bobList.Tokens) != 0 {
		t.Fatalf("bob sees tokens %+v", bobList.Tokens)
	}
	api.mustDo("GET", "/api/v1/me", nil, 200, nil)

	// Bad input is refused and stores nothing.
	for _, body := range []string{
		`{}`,
		`{"name": "   "}`,
		`{"name": "` + strings.Repeat("x", 101) + `"}`,
		`{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}`,
		`{"name": "x", "expires_at": "tomorrow"}`,
		`{"name": "x", "expires_at": "` + time.Now().AddDate(11, 0, 0).UTC().Format(time.RFC3339) + `"}`,
		`{"name": "x", "expires_in_days": 0}`,
		`{"name": "x", "expires_in_days": 3651}`,
		`{"name": "x", "expires_in_days": 1.5}`,
		`{"name": "x", "expires_in_days": 1e30}`,
		`{"name": "x", "expires_in_days": 5, "expires_at": "2030-01-01T00:00:00Z"}`,
		`{"name": "x", "scopes": ["all"]}`,
		`{"name": "x", "agent_id": "me"}`,
		`[]`,
	} {
		status, raw := alice.do("POST", "/api/v1/tokens", body)
		if status != 400 || errCode(t, raw) != crm.EINVALID {
			t.Fatalf("POST /api/v1/tokens %s = %d %s", body, status, raw)
		}
	}
	var list struct{ Tokens []tokenJSON }
	alice.mustDo("GET", "/api/v1/tokens", nil, 200, &list)
	if len(list.Tokens) != 3 {
		t.Fatalf("refused requests stored tokens: %+v", list.Tokens)
	}

	// An admin sees, creates and revokes anyone's tokens.
	e.admin.mustDo("GET", "/api/v1/tokens?agent_id="+itoa(aliceID), nil, 200, &list)
	if len(list.Tokens) != 3 || list.Tokens[0].ID != tok.ID {
		t.Fatalf("admin's view of alice's tokens = %+v", list.Tokens)
	}
	for path, want := range map[string]int{"/api/v1/tokens?agent_id=999999": 404, "/api/v1/tokens?agent_id=-1": 400} {
		if status, raw := e.admin.do("GET", path, nil); status != want {
			t.Fatalf("GET %s = %d %s, want %d", path, status, raw, want)
		}
	}
	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	made := createToken(e.admin, map[string]any{"name": "for alice", "agent_id": aliceID, "expires_at": at.Format(time.RFC3339)})
	if made.AgentID != aliceID || made.ExpiresAt == nil || !made.ExpiresAt.Equal(at) {
		t.Fatalf("admin-made token = %+v, want expiry %v", made, at)
	}
	e.admin.mustDo("DELETE", "/api/v1/tokens/"+itoa(made.ID), nil, 204, nil)
	if status, _ := e.as(made.Token).do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("token revoked by an admin answers %d", status)
	}

	// Revoking stops the token at once; a second revoke finds nothing.
	alice.mustDo("DELETE", "/api/v1/tokens/"+itoa(tok.ID), nil, 204, nil)
	if status, raw := api.do("GET", "/api/v1/me", nil); status != 401 || errCode(t, raw) != crm.EUNAUTHORIZED {
		t.Fatalf("revoked token answers %d %s", status, raw)
	}
	if status, _ := alice.do("DELETE", "/api/v1/tokens/"+itoa(tok.ID), nil); status != 404 {
		t.Fatalf("second revoke = %d", status)
	}
	// A token may revoke itself.
	self := e.as(forever.Token)
	self.mustDo("DELETE", "/api/v1/tokens/"+itoa(forever.ID), nil, 204, nil)
	if status, _ := self.do("GET", "/api/v1/tokens", nil); status != 401 {
		t.Fatalf("self-revoked token answers %d", status)
	}

	// Each creation and revocation is in the audit log, never with the token.
	var audit struct {
		Entries []struct {
			Type string
			Data map[string]any
		}
	}
	status, raw = e.admin.do("GET", "/api/v1/audit?type=token.created", nil)
	json.Unmarshal(raw, &audit)
	if status != 200 || len(audit.Entries) != 4 || strings.Contains(string(raw), "pk_") {
		t.Fatalf("token.created audit = %d %s", status, raw)
	}
	e.admin.mustDo("GET", "/api/v1/audit?type=token.revoked", nil, 200, &audit)
	if len(audit.Entries) != 3 || audit.Entries[2].Data["token_id"] != float64(made.ID) || audit.Entries[2].Data["agent_id"] != float64(aliceID) {
		t.Fatalf("token.revoked audit = %+v", audit.Entries)
	}
}

// wantClosed waits until the server closes w with 1008 and the reason.
func wantClosed(t *testing.T, w *wsConn, reason string) {
	t.Helper()
	var ce *websocket.CloseError
	if err := w.closed(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != reason {
		t.Fatalf("socket ended with %v, want close 1008 %q", err, reason)
	}
}

// Revoking a token through the API closes the sockets it opened at once, through the
// bus: the periodic check is an hour away here. The agent's other sockets stay.
func TestHubClosesSocketsOfTokensRevokedThroughTheAPI(t *testing.T) {
	e := newHubEnvWith(t, server.Options{AuthRecheck: time.Hour})
	inbox := e.inbox("api", "Shop")
	alice := e.agent("alice@test.example", crm.RoleAgent, inbox)
	first := createToken(alice, map[string]any{"name": "first"})
	second := createToken(alice, map[string]any{"name": "second"})
	onFirst, onFirstToo, onSecond, onSession := e.dial(e.as(first.Token)), e.dial(e.as(first.Token)), e.dial(e.as(second.Token)), e.dial(alice)
	e.inbound(inbox, "m-1", "anna@example.com", "before-revoke")
	onFirst.waitText("message.created", "before-revoke")

	e.admin.mustDo("DELETE", "/api/v1/tokens/"+itoa(first.ID), nil, 204, nil)
	wantClosed(t, onFirst, "token revoked")
	wantClosed(t, onFirstToo, "token revoked")
	e.inbound(inbox, "m-2", "anna@example.com", "after-revoke")
	onSecond.waitText("message.created", "after-revoke")
	onSession.waitText("message.created", "after-revoke")
	if _, resp, err := e.dialRaw(e.as(first.Token), nil); err == nil || resp.StatusCode != 401 {
		t.Fatalf("revoked token reconnected: %v", err)
	}
}

// What no bus event announces is caught by the periodic check of open sockets: a token
// revoked by another process (the CLI writes the file), a token or session that expires.
func TestHubRecheckClosesSocketsOfEndedCredentials(t *testing.T) {
	e := newHubEnvWith(t, server.Options{AuthRecheck: 100 * time.Millisecond})
	ctx := crm.AsSystem(context.Background())
	inbox := e.inbox("api", "Shop")
	alice := e.agent("alice@test.example", crm.RoleAgent, inbox)
	aliceID := e.agentID("alice@test.example")

	revoked := createToken(alice, map[string]any{"name": "cli revokes me"})
	kept := createToken(alice, map[string]any{"name": "kept"})
	expiry := time.Now().Add(3 * time.Second)
	short, _, err := e.db.CreateToken(ctx, aliceID, "short", &expiry)
	if err != nil {
		t.Fatal(err)
	}
	session, _, err := e.db.CreateSession(ctx, aliceID, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	shortSession := e.anon()
	u, _ := url.Parse(e.srv.URL)
	shortSession.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "parley_session", Value: session, Path: "/"}})

	onRevoked, onKept, onShort, onShortSession := e.dial(e.as(revoked.Token)), e.dial(e.as(kept.Token)), e.dial(e.as(short)), e.dial(shortSession)
	if err := e.db.RevokeToken(ctx, aliceID, revoked.ID); err != nil { // no bus event
		t.Fatal(err)
	}
	wantClosed(t, onRevoked, "token revoked")
	wantClosed(t, onShort, "token expired")
	wantClosed(t, onShortSession, "signed out")
	e.inbound(inbox, "m-1", "anna@example.com", "still-here")
	onKept.waitText("message.created", "still-here")

	// An expired token is refused at the upgrade, saying why.
	_, resp, err := e.dialRaw(e.as(short), nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("expired token dialled: %v", err)
	}
	var body struct{ Error struct{ Message string } }
	json.NewDecoder(resp.Body).Decode(&body)
	if !strings.Contains(body.Error.Message, "expired") {
		t.Fatalf("refusal says %q", body.Error.Message)
	}
}

// Agents see their colleagues' names and inboxes but not how to reach them outside
// Parley; managers and admins see everything, and everyone sees their own record whole.
func TestAgentListHidesContactsFromAgents(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Shop")
	e.admin.mustDo("POST", "/api/v1/agents", map[string]any{"email": "bob@test.example", "name": "Bob", "role": "agent",
		"password": "password-123", "phone": "+15555550150", "inbox_ids": []int64{inbox}}, 201, nil)
	bob := e.login("bob@test.example", "password-123")
	alice := e.agent("alice@test.example", crm.RoleAgent, inbox)
	boss := e.agent("boss@test.example", crm.RoleManager)
	bobID := itoa(e.mustAgentID("bob@test.example"))

	type agentMap = map[string]any
	list := func(c *client) map[string]agentMap {
		var out struct{ Agents []agentMap }
		c.mustDo("GET", "/api/v1/agents", nil, 200, &out)
		byEmail := map[string]agentMap{}
		for _, a := range out.Agents {
			byEmail[a["name"].(string)] = a
		}
		return byEmail
	}
	seen := list(alice)
	if b := seen["Bob"]; b == nil || b["email"] != nil || b["phone"] != nil || b["role"] != "agent" || len(b["inbox_ids"].([]any)) != 1 {
		t.Fatalf("alice sees bob as %v", b)
	}
	if a := seen["Ada Admin"]; a == nil || a["email"] != nil {
		t.Fatalf("alice sees the admin as %v", a)
	}
	if me := seen["alice@test.example"]; me == nil || me["email"] != "alice@test.example" {
		t.Fatalf("alice sees herself as %v", me)
	}
	var one agentMap
	alice.mustDo("GET", "/api/v1/agents/"+bobID, nil, 200, &one)
	if one["name"] != "Bob" || one["email"] != nil || one["phone"] != nil {
		t.Fatalf("alice sees GET /agents/%s as %v", bobID, one)
	}
	bob.mustDo("GET", "/api/v1/agents/"+bobID, nil, 200, &one)
	if one["email"] != "bob@test.example" || one["phone"] != "+15555550150" {
		t.Fatalf("bob sees himself as %v", one)
	}
	for _, c := range []*client{boss, e.admin} {
		if b := list(c)["Bob"]; b["email"] != "bob@test.example" || b["phone"] != "+15555550150" {
			t.Fatalf("a manager sees bob as %v", b)
		}
		c.mustDo("GET", "/api/v1/agents/"+bobID, nil, 200, &one)
		if one["email"] != "bob@test.example" {
			t.Fatalf("a manager sees GET /agents/%s as %v", bobID, one)
		}
	}
}

func (e *env) mustAgentID(email string) int64 {
	e.t.Helper()
	a, err := e.db.AgentByEmail(crm.AsSystem(context.Background()), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}
