package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"parley/crm"
)

// The cache of sessions, tokens and inboxes must never let a change through late: every
// change made through the store is seen by the very next read, and a change made to the
// file by another process within five seconds.
func TestCacheSeesChanges(t *testing.T) {
	db := MustOpenDB(t)
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindAPI, "API")
	other := MustCreateInbox(t, db, crm.KindAPI, "Other")
	a, err := db.CreateAgent(ctx, &crm.NewAgent{Email: "ann@example.com", Name: "Ann", Role: crm.RoleAgent,
		Password: "secret123", InboxIDs: []int64{in.ID}})
	if err != nil {
		t.Fatal(err)
	}
	session := func(token string) (*crm.Agent, error) {
		a, _, err := db.SessionAgent(ctx, token)
		return a, err
	}

	// A logout ends the session at once, though it was just read.
	token, _, _ := db.CreateSession(ctx, a.ID, time.Hour)
	if _, err := session(token); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	_, err = session(token)
	wantCode(t, err, crm.EUNAUTHORIZED)

	// A change of inboxes or role shows at once; a caller changing what it got changes
	// nothing for the next.
	token, _, _ = db.CreateSession(ctx, a.ID, time.Hour)
	got, err := session(token)
	if err != nil || len(got.InboxIDs) != 1 {
		t.Fatalf("session agent = %+v, %v", got, err)
	}
	got.InboxIDs[0], got.Role = 999, crm.RoleAdmin
	if got, _ := session(token); got.InboxIDs[0] != in.ID || got.Role != crm.RoleAgent {
		t.Fatalf("cached agent changed by a caller: %+v", got)
	}
	if _, err := db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{InboxIDs: &[]int64{other.ID}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := session(token); len(got.InboxIDs) != 1 || got.InboxIDs[0] != other.ID {
		t.Fatalf("inboxes after update = %v", got.InboxIDs)
	}

	// A cached session still expires on time.
	short, _, _ := db.CreateSession(ctx, a.ID, 2*time.Second)
	if _, err := session(short); err != nil {
		t.Fatal(err)
	}
	db.Clock.Add(3 * time.Second)
	_, err = session(short)
	wantCode(t, err, crm.EUNAUTHORIZED)

	// Disabling the agent locks out its session and token at once.
	apiToken, _, _ := db.CreateToken(ctx, a.ID, "ci", nil)
	if _, _, err := db.TokenAgent(ctx, apiToken); err != nil {
		t.Fatal(err)
	}
	if _, err := session(token); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = session(token)
	wantCode(t, err, crm.EUNAUTHORIZED)
	_, _, err = db.TokenAgent(ctx, apiToken)
	wantCode(t, err, crm.EUNAUTHORIZED)

	// Another process (the CLI) disabling an agent is seen within five seconds.
	if _, err := db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{Disabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.TokenAgent(ctx, apiToken); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", db.Path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE agents SET disabled = 1 WHERE id = ?`, a.ID); err != nil {
		t.Fatal(err)
	}
	db.Clock.Add(5 * time.Second)
	_, _, err = db.TokenAgent(ctx, apiToken)
	wantCode(t, err, crm.EUNAUTHORIZED)
}

func TestCacheInbox(t *testing.T) {
	db := MustOpenDB(t)
	ctx := crm.AsSystem(context.Background())
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindPhone, Name: "Phone",
		Config: map[string]any{"number": "+15550001111", "auth_token": "old", "list": []any{"a"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Inbox(ctx, in.ID)
	if err != nil || got.Secrets["auth_token"] != "old" {
		t.Fatalf("inbox = %+v, %v", got, err)
	}
	// A caller changing what it got changes nothing for the next.
	got.Secrets["auth_token"], got.Config["number"] = "mine", "+1"
	got.Config["list"].([]any)[0] = "b"
	got, _ = db.Inbox(ctx, in.ID)
	if got.Secrets["auth_token"] != "old" || got.Config["number"] != "+15550001111" || got.Config["list"].([]any)[0] != "a" {
		t.Fatalf("cached inbox changed by a caller: %+v", got)
	}
	// A change shows at once.
	if _, err := db.UpdateInbox(ctx, &crm.Inbox{ID: in.ID, Secrets: map[string]string{"auth_token": "new"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Inbox(ctx, in.ID); got.Secrets["auth_token"] != "new" {
		t.Fatalf("auth token after update = %q", got.Secrets["auth_token"])
	}
	// The cached inbox is still only for agents who may see it.
	agent := &crm.Agent{ID: 50, Role: crm.RoleAgent, InboxIDs: []int64{}}
	_, err = db.Inbox(crm.WithAgent(ctx, agent), in.ID)
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.Inbox(ctx, 999)
	wantCode(t, err, crm.ENOTFOUND)
}
