package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Agents", testAgents)
	add("CreateInbox", testCreateInbox)
	add("TokenExpiry", testTokenExpiry)
}

func testAgents(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	a, err := db.CreateAgent(ctx, &crm.NewAgent{Email: " Ann@Example.com ", Name: "Ann", Password: "secret123", InboxIDs: []int64{inbox.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "ann@example.com" || a.Role != crm.RoleAgent || len(a.InboxIDs) != 1 || a.InboxIDs[0] != inbox.ID {
		t.Fatalf("agent = %+v", a)
	}
	for _, tt := range []struct {
		name string
		na   *crm.NewAgent
		code string
	}{
		{"taken", &crm.NewAgent{Email: "ANN@example.com", Name: "x", Password: "secret123"}, crm.ECONFLICT},
		{"bad email", &crm.NewAgent{Email: "ann", Name: "x", Password: "secret123"}, crm.EINVALID},
		{"no name", &crm.NewAgent{Email: "b@example.com", Password: "secret123"}, crm.EINVALID},
		{"bad role", &crm.NewAgent{Email: "b@example.com", Name: "x", Role: "root", Password: "secret123"}, crm.EINVALID},
		{"short password", &crm.NewAgent{Email: "b@example.com", Name: "x", Password: "short"}, crm.EINVALID},
		{"unknown inbox", &crm.NewAgent{Email: "b@example.com", Name: "x", Password: "secret123", InboxIDs: []int64{99}}, crm.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.CreateAgent(ctx, tt.na)
			wantCode(t, err, tt.code)
		})
	}
	if got, err := db.AgentByEmail(ctx, "ANN@example.com"); err != nil || got.ID != a.ID {
		t.Fatalf("by email = %v %v", got, err)
	}
	_, err = db.AgentByEmail(ctx, "nobody@example.com")
	wantCode(t, err, crm.ENOTFOUND)

	got, err := db.Authenticate(ctx, "ann@example.com", "secret123")
	if err != nil || got.ID != a.ID {
		t.Fatalf("authenticate = %v %v", got, err)
	}
	for _, tt := range []struct{ email, password string }{
		{"ann@example.com", "wrong-password"}, {"nobody@example.com", "secret123"}, {"", ""},
	} {
		_, err := db.Authenticate(ctx, tt.email, tt.password)
		wantCode(t, err, crm.EUNAUTHORIZED)
		if crm.ErrorMessage(err) != "invalid email or password" {
			t.Fatalf("message = %q", crm.ErrorMessage(err))
		}
	}

	// Sessions.
	token, csrf, err := db.CreateSession(ctx, a.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || csrf == "" || token == csrf {
		t.Fatalf("token %q csrf %q", token, csrf)
	}
	sa, gotCSRF, err := db.SessionAgent(ctx, token)
	if err != nil || sa.ID != a.ID || gotCSRF != csrf {
		t.Fatalf("session = %v %q %v", sa, gotCSRF, err)
	}
	_, _, err = db.SessionAgent(ctx, token+"x")
	wantCode(t, err, crm.EUNAUTHORIZED)
	db.Clock.Add(2 * time.Hour)
	_, _, err = db.SessionAgent(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED)
	token, _, _ = db.CreateSession(ctx, a.ID, 0)
	if err := db.DeleteSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.SessionAgent(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED)
	// A password change logs every browser out.
	token, _, _ = db.CreateSession(ctx, a.ID, time.Hour)
	if _, err := db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{Password: ptr("a brand new password")}); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.SessionAgent(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED)

	// API tokens.
	apiToken, _, err := db.CreateToken(ctx, a.ID, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(apiToken, "pk_") {
		t.Fatalf("token %q", apiToken)
	}
	if ta, tok, err := db.TokenAgent(ctx, apiToken); err != nil || ta.ID != a.ID || tok.AgentID != a.ID || tok.Name != "ci" {
		t.Fatalf("token agent = %v %+v %v", ta, tok, err)
	}
	if _, _, err := db.TokenAgent(ctx, apiToken); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "pk_", apiToken[3:], apiToken + "x"} {
		_, _, err := db.TokenAgent(ctx, bad)
		wantCode(t, err, crm.EUNAUTHORIZED)
	}
	_, _, err = db.CreateToken(ctx, 999, "x", nil)
	wantCode(t, err, crm.ENOTFOUND)

	// Listing shows names and use, never the token; revoking one stops it at once and
	// leaves the others.
	second, _, err := db.CreateToken(ctx, a.ID, "zapier", nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := db.Tokens(ctx, a.ID)
	if err != nil || len(list) != 2 || list[0].Name != "ci" || list[1].Name != "zapier" ||
		list[0].LastUsedAt == nil || list[1].LastUsedAt != nil {
		t.Fatalf("tokens = %+v, %v", list, err)
	}
	wantCode(t, db.RevokeToken(ctx, a.ID+1, list[1].ID), crm.ENOTFOUND) // another agent's id
	if _, _, err := db.TokenAgent(ctx, second); err != nil {
		t.Fatalf("token revoked through another agent: %v", err)
	}
	if err := db.RevokeToken(ctx, a.ID, list[1].ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.TokenAgent(ctx, second)
	wantCode(t, err, crm.EUNAUTHORIZED)
	wantCode(t, db.RevokeToken(ctx, a.ID, list[1].ID), crm.ENOTFOUND)
	if _, _, err := db.TokenAgent(ctx, apiToken); err != nil {
		t.Fatalf("the other token stopped: %v", err)
	}

	// A disabled agent can neither log in nor use its session or token.
	token, _, _ = db.CreateSession(ctx, a.ID, time.Hour)
	if _, err := db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{Disabled: ptr(true), Name: ptr("Ann B"), InboxIDs: &[]int64{}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.SessionAgent(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED)
	_, _, err = db.TokenAgent(ctx, apiToken)
	wantCode(t, err, crm.EUNAUTHORIZED)
	_, err = db.Authenticate(ctx, "ann@example.com", "secret123")
	wantCode(t, err, crm.EUNAUTHORIZED)
	if got, _ := db.Agent(ctx, a.ID); got.Name != "Ann B" || !got.Disabled || len(got.InboxIDs) != 0 {
		t.Fatalf("updated agent = %+v", got)
	}
	if _, err := db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{Disabled: ptr(false), Password: ptr("new password")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(ctx, "ann@example.com", "new password"); err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{Role: ptr("god")})
	wantCode(t, err, crm.EINVALID)
	agents, _ := db.Agents(ctx)
	if len(agents) != 1 {
		t.Fatalf("agents = %v", agents)
	}
}

func testCreateInbox(t *testing.T, open Opener) {
	db := open(t, Options{})
	admin := MustCreateAgent(t, db, "root@example.com", crm.RoleAdmin)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), admin)
	for _, tt := range []struct {
		name string
		in   *crm.Inbox
	}{
		{"nil", nil},
		{"bad kind", &crm.Inbox{Kind: "fax", Name: "x"}},
		{"no name", &crm.Inbox{Kind: crm.KindChat, Name: " "}},
		{"long name", &crm.Inbox{Kind: crm.KindChat, Name: strings.Repeat("x", 101)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.CreateInbox(ctx, tt.in)
			wantCode(t, err, crm.EINVALID)
		})
	}
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindDiscord, Name: "Discord", Config: map[string]any{"bot_token": "t0k", "guild": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.Secrets["bot_token"] != "t0k" || in.Config["guild"] != "1" {
		t.Fatalf("inbox = %+v", in)
	}
	if a, _ := db.Agent(crm.AsSystem(context.Background()), admin.ID); len(a.InboxIDs) != 1 || a.InboxIDs[0] != in.ID {
		t.Fatalf("creator not a member: %v", a.InboxIDs)
	}
	_, err = db.UpdateInbox(ctx, &crm.Inbox{ID: 999, Name: "x"})
	wantCode(t, err, crm.ENOTFOUND)
}

// An API token may expire: it stops at that moment, a cached read included, and stays
// in the list until revoked. Names and expiries are checked before anything is stored.
func testTokenExpiry(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	a := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent)
	now := db.Clock.Now()
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, tt := range []struct {
		name    string
		tokName string
		expires *time.Time
	}{
		{"past", "ci", at(-time.Minute)},
		{"now", "ci", at(0)},
		{"too far", "ci", at(crm.MaxTokenLifetime + time.Hour)},
		{"no name", "  ", nil},
		{"long name", strings.Repeat("é", 101), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := db.CreateToken(ctx, a.ID, tt.tokName, tt.expires)
			wantCode(t, err, crm.EINVALID)
		})
	}
	if list, _ := db.Tokens(ctx, a.ID); len(list) != 0 {
		t.Fatalf("refused tokens were stored: %+v", list)
	}

	token, rec, err := db.CreateToken(ctx, a.ID, " ci ", at(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == 0 || rec.AgentID != a.ID || rec.Name != "ci" || rec.ExpiresAt == nil || !rec.ExpiresAt.Equal(*at(time.Hour)) || rec.LastUsedAt != nil {
		t.Fatalf("record = %+v", rec)
	}
	forever, _, err := db.CreateToken(ctx, a.ID, "forever", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Token(ctx, rec.ID); err != nil || got.Name != "ci" || !got.ExpiresAt.Equal(*rec.ExpiresAt) {
		t.Fatalf("token = %+v, %v", got, err)
	}
	_, err = db.Token(ctx, rec.ID+100)
	wantCode(t, err, crm.ENOTFOUND)

	// Read two seconds before the expiry, the token is cached for less than cacheTTL.
	db.Clock.Add(time.Hour - 2*time.Second)
	if _, tok, err := db.TokenAgent(ctx, token); err != nil || tok.ID != rec.ID || tok.ExpiresAt == nil {
		t.Fatalf("token before expiry = %+v, %v", tok, err)
	}
	db.Clock.Add(2 * time.Second)
	_, _, err = db.TokenAgent(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED)
	if !strings.Contains(crm.ErrorMessage(err), "expired") {
		t.Fatalf("message = %q", crm.ErrorMessage(err))
	}
	if _, tok, err := db.TokenAgent(ctx, forever); err != nil || tok.ExpiresAt != nil {
		t.Fatalf("token without expiry = %+v, %v", tok, err)
	}
	list, err := db.Tokens(ctx, a.ID)
	if err != nil || len(list) != 2 || list[0].ExpiresAt == nil || !list[0].Expired(db.Clock.Now()) || list[1].ExpiresAt != nil {
		t.Fatalf("tokens = %+v, %v", list, err)
	}

	// An agent has at most maxTokens; a disabled agent gets none.
	for i := len(list); i < 100; i++ {
		if _, _, err := db.CreateToken(ctx, a.ID, "bulk", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = db.CreateToken(ctx, a.ID, "one too many", nil)
	wantCode(t, err, crm.EINVALID)
	b := MustCreateAgent(t, db, "bob@example.com", crm.RoleAgent)
	if _, err := db.UpdateAgent(ctx, b.ID, crm.AgentUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.CreateToken(ctx, b.ID, "ci", nil)
	wantCode(t, err, crm.EINVALID)
}
