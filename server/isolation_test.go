package server_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestInboxIsolation checks that an agent of inbox A sees nothing of inbox B anywhere,
// and gets 404 (not 403) for B's ids so they do not leak.
func TestInboxIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.inbox("api", "Brand A")
	b := e.inbox("api", "Brand B")
	mine := e.inbound(a, "a1", "anna@x.example", "zebra question")
	theirs := e.inbound(b, "b1", "bert@x.example", "zebra confidential")
	dana := e.agent("dana@test.example", "agent", a)

	for _, path := range []string{
		fmt.Sprintf("/api/v1/tickets/%d", theirs.TicketID),
		fmt.Sprintf("/api/v1/tickets/%d/messages", theirs.TicketID),
		fmt.Sprintf("/api/v1/customers/%d", theirs.CustomerID),
		fmt.Sprintf("/api/v1/customers/%d/timeline", theirs.CustomerID),
		fmt.Sprintf("/api/v1/inboxes/%d", b),
	} {
		status, body := dana.do("GET", path, nil)
		if status != 404 || errCode(t, body) != "not_found" {
			t.Errorf("GET %s = %d %s, want 404", path, status, body)
		}
	}
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", fmt.Sprintf("/api/v1/tickets/%d", theirs.TicketID), map[string]any{"status": "closed"}},
		{"POST", fmt.Sprintf("/api/v1/tickets/%d/messages", theirs.TicketID), map[string]any{"body": "hi"}},
		{"POST", fmt.Sprintf("/api/v1/tickets/%d/merge", theirs.TicketID), map[string]any{"into": mine.TicketID}},
		{"POST", fmt.Sprintf("/api/v1/tickets/%d/merge", mine.TicketID), map[string]any{"into": theirs.TicketID}},
		{"PATCH", fmt.Sprintf("/api/v1/customers/%d", theirs.CustomerID), map[string]any{"name": "x"}},
		{"POST", fmt.Sprintf("/api/v1/customers/%d/merge", theirs.CustomerID), map[string]any{"into": mine.CustomerID}},
		{"POST", "/api/v1/inbound", map[string]any{"inbox": b, "external_id": "x", "from": map[string]string{"email": "q@x.example"}, "text": "x"}},
		{"POST", "/api/v1/tickets", map[string]any{"inbox_id": b, "subject": "x", "customer_id": mine.CustomerID}},
	} {
		status, body := dana.do(tc.method, tc.path, tc.body)
		if status != 404 {
			t.Errorf("%s %s = %d %s, want 404", tc.method, tc.path, status, body)
		}
	}
	var tk ticketJSON
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d", theirs.TicketID), nil, 200, &tk)
	if tk.Status != "open" {
		t.Fatalf("a refused PATCH changed the ticket: %s", tk.Status)
	}

	for _, path := range []string{"/api/v1/tickets", "/api/v1/search?q=zebra", "/api/v1/customers", "/api/v1/inboxes", "/api/v1/tickets?q=zebra"} {
		body := string(mustGet(t, dana, path))
		if strings.Contains(body, "bert@") || strings.Contains(body, "confidential") || strings.Contains(body, "Brand B") {
			t.Errorf("GET %s leaks inbox B: %s", path, body)
		}
	}
	var found struct{ Tickets []ticketJSON }
	dana.mustDo("GET", "/api/v1/search?q=zebra", nil, 200, &found)
	if len(found.Tickets) != 1 || found.Tickets[0].ID != mine.TicketID {
		t.Fatalf("search for own ticket = %+v", found.Tickets)
	}
	// Managers see both inboxes.
	manager := e.agent("max@test.example", "manager")
	var all struct{ Tickets []ticketJSON }
	manager.mustDo("GET", "/api/v1/tickets", nil, 200, &all)
	if len(all.Tickets) != 2 {
		t.Fatalf("manager sees %d tickets, want 2", len(all.Tickets))
	}
}
