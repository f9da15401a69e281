package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestBadInput sends malformed, oversized and hostile requests: each gets a clear JSON
// error or a correct result, never a 500, and changes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	r := e.inbound(inbox, "seed", "alice@x.example", "the blue mug")
	tk := fmt.Sprintf("/api/v1/tickets/%d", r.TicketID)
	big := `{"body":"` + strings.Repeat("a", 2<<20) + `"}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"malformed json", "POST", tk + "/messages", `{"body":`, 400, "invalid"},
		{"not an object", "POST", tk + "/messages", `[1,2]`, 400, "invalid"},
		{"wrong type", "PATCH", tk, `{"priority":5}`, 400, "invalid"},
		{"trailing data", "PATCH", tk, `{"priority":"low"} {"x":1}`, 400, "invalid"},
		{"empty body", "POST", tk + "/messages", ``, 400, "invalid"},
		{"unknown status", "PATCH", tk, `{"status":"done"}`, 400, "invalid"},
		{"mass-assign inbox", "PATCH", tk, `{"inbox_id":99}`, 400, "invalid"},
		{"mass-assign customer", "PATCH", tk, `{"customer_id":99}`, 400, "invalid"},
		{"mass-assign role", "PATCH", fmt.Sprintf("/api/v1/customers/%d", r.CustomerID), `{"role":"admin"}`, 400, "invalid"},
		{"mass-assign password", "PATCH", fmt.Sprintf("/api/v1/customers/%d", r.CustomerID), `{"password":"x"}`, 400, "invalid"},
		{"oversized", "POST", tk + "/messages", big, 413, "too_large"},
		{"empty reply", "POST", tk + "/messages", `{"body":"   "}`, 400, "invalid"},
		{"unknown ticket", "GET", "/api/v1/tickets/999999", nil, 404, "not_found"},
		{"bad id", "GET", "/api/v1/tickets/abc", nil, 400, "invalid"},
		{"negative id", "GET", "/api/v1/tickets/-1", nil, 400, "invalid"},
		{"unknown customer", "GET", "/api/v1/customers/424242", nil, 404, "not_found"},
		{"unknown agent", "GET", "/api/v1/agents/424242", nil, 404, "not_found"},
		{"unknown order", "GET", "/api/v1/orders/nope", nil, 404, "not_found"},
		{"unknown attachment", "GET", "/api/v1/attachments/5", nil, 404, "not_found"},
		{"bad limit", "GET", "/api/v1/tickets?limit=0", nil, 400, "invalid"},
		{"huge limit", "GET", "/api/v1/tickets?limit=100000", nil, 400, "invalid"},
		{"bad cursor", "GET", "/api/v1/tickets?cursor=not-a-cursor!", nil, 400, "invalid"},
		{"bad assignee", "GET", "/api/v1/tickets?assignee=bob", nil, 400, "invalid"},
		{"bad inbox filter", "GET", "/api/v1/tickets?inbox=x", nil, 400, "invalid"},
		{"unknown endpoint", "GET", "/api/v1/nope", nil, 404, "not_found"},
		{"inbound without id", "POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "from": map[string]string{"email": "a@x.example"}, "text": "x"}, 400, "invalid"},
		{"inbound bad email", "POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": "e", "from": map[string]string{"email": "not an email"}, "text": "x"}, 400, "invalid"},
		{"inbound bad phone", "POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": "e", "from": map[string]string{"phone": "12"}, "text": "x"}, 400, "invalid"},
		{"inbound no sender", "POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": "e", "text": "x"}, 400, "invalid"},
		{"inbound no text", "POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": "e", "from": map[string]string{"email": "a@x.example"}}, 400, "invalid"},
		{"inbound unknown inbox", "POST", "/api/v1/inbound", map[string]any{"inbox": 999, "external_id": "e", "from": map[string]string{"email": "a@x.example"}, "text": "x"}, 404, "not_found"},
		{"agent weak password", "POST", "/api/v1/agents", map[string]any{"email": "w@x.example", "name": "W", "password": "short"}, 400, "invalid"},
		{"agent bad role", "POST", "/api/v1/agents", map[string]any{"email": "w@x.example", "name": "W", "password": "long enough pw", "role": "root"}, 400, "invalid"},
		{"inbox bad kind", "POST", "/api/v1/inboxes", map[string]any{"kind": "fax", "name": "F"}, 400, "invalid"},
		{"order negative", "PUT", "/api/v1/orders/1001", map[string]any{"email": "a@x.example", "status": "paid", "currency": "USD", "total": -5, "placed_at": "2026-01-02T03:04:05Z"}, 400, "invalid"},
		{"order float", "PUT", "/api/v1/orders/1001", `{"email":"a@x.example","status":"paid","currency":"USD","total":12.5,"placed_at":"2026-01-02T03:04:05Z"}`, 400, "invalid"},
		{"order currency", "PUT", "/api/v1/orders/1001", map[string]any{"email": "a@x.example", "status": "paid", "currency": "dollars", "placed_at": "2026-01-02T03:04:05Z"}, 400, "invalid"},
		{"order script tracking link", "PUT", "/api/v1/orders/1001", map[string]any{"email": "a@x.example", "status": "shipped", "currency": "USD", "tracking_url": "javascript:alert(1)", "placed_at": "2026-01-02T03:04:05Z"}, 400, "invalid"},
	} {
		status, body := e.admin.do(tc.method, tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, status, body, tc.status)
			continue
		}
		if got := errCode(t, body); got != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
		}
	}
	var thread struct{ Messages []messageJSON }
	e.admin.mustDo("GET", tk+"/messages", nil, 200, &thread)
	var tkt ticketJSON
	e.admin.mustDo("GET", tk, nil, 200, &tkt)
	if len(thread.Messages) != 1 || tkt.Status != "open" || tkt.Priority != "normal" {
		t.Fatalf("bad requests changed the ticket: %d messages, %+v", len(thread.Messages), tkt)
	}
}

// TestSearchIsSafe sends FTS syntax and other hostile strings to every search surface.
func TestSearchIsSafe(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	e.inbound(inbox, "s1", "alice@x.example", "my order never arrived")
	for _, q := range []string{`NEAR(`, `"`, `*`, `AND`, `OR NOT`, `order AND`, `subject:x`, `'; DROP TABLE tickets; --`, `(((`, `^`, `-`, strings.Repeat("x ", 240), "\x00", "🙂"} {
		for _, path := range []string{"/api/v1/search?q=", "/api/v1/tickets?q=", "/api/v1/customers?q="} {
			status, body := e.admin.do("GET", path+url.QueryEscape(q), nil)
			if status != 200 {
				t.Errorf("%s%q = %d %s", path, q, status, body)
			}
		}
	}
	var res struct {
		Tickets   []ticketJSON
		Messages  []messageJSON
		Customers []struct{ ID int64 }
	}
	e.admin.mustDo("GET", "/api/v1/search?q="+url.QueryEscape(`arriv`), nil, 200, &res)
	if len(res.Messages) != 1 {
		t.Fatalf("prefix search found %d messages", len(res.Messages))
	}
	e.admin.mustDo("GET", "/api/v1/search?q="+url.QueryEscape(`ali`), nil, 200, &res)
	if len(res.Customers) != 1 {
		t.Fatalf("customer prefix search found %d", len(res.Customers))
	}
	e.admin.mustDo("GET", "/api/v1/search?q="+url.QueryEscape(`"never" (arriv*`), nil, 200, &res)
	if len(res.Messages) != 1 {
		t.Fatalf("words in hostile syntax found %d messages", len(res.Messages))
	}
}
