package server_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"parley/crm"
)

// runDocExamples runs the examples of a docs section in order, each with its expected
// status, and checks every documented answer's fields against the real one.
func runDocExamples(t *testing.T, page, heading string, vars map[string]string, base string, session *client, want []int) {
	t.Helper()
	examples := docExamples(t, page, heading)
	if len(examples) != len(want) {
		t.Fatalf("docs/%s %q has %d examples, this test knows %d", page, heading, len(examples), len(want))
	}
	for i, ex := range examples {
		status, body := runCurl(t, ex.command, vars, base, session)
		if status != want[i] {
			t.Fatalf("example %d: %s\n= %d %s", i+1, ex.command, status, body)
		}
		if ex.answer == "" {
			continue
		}
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

// The WhatsApp section of docs/api.md works as written: the window and templates of a
// ticket whose customer wrote a day ago, a template reply, and the refused free-form one.
func TestDocsWhatsAppExamples(t *testing.T) {
	w := newWAServer(t, 25*time.Hour)
	a, err := w.db.AgentByEmail(crm.AsSystem(t.Context()), "admin@test.example")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := w.db.CreateToken(crm.AsSystem(t.Context()), a.ID, "docs", nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"TOKEN": tok, "TICKET": itoa(w.ticket)}
	runDocExamples(t, "api.md", "## WhatsApp", vars, w.srv.URL, nil, []int{200, 201, 409})
}

// The sign-in section of docs/api.md works as written, in an admin's browser session.
func TestDocsSignInExamples(t *testing.T) {
	o := newOAuthServer(t)
	vars := map[string]string{"CSRF": o.admin.csrf, "INBOX": itoa(o.inbox)}
	examples := docExamples(t, "api.md", "### Sign in with Google or Microsoft (admins)")
	if len(examples) != 3 {
		t.Fatalf("docs/api.md has %d sign-in examples, this test knows 3", len(examples))
	}
	// The last example shows a grant: sign in first, as the browser would.
	status, loc, page := visit(t, o.admin, o.start(o.admin))
	if status != 303 {
		t.Fatalf("sign-in: %d %s %s", status, loc, page)
	}
	runDocExamples(t, "api.md", "### Sign in with Google or Microsoft (admins)", vars, o.srv.URL, o.admin, []int{200, 200, 200})
}
