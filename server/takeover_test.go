package server_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestInboundCannotTakeOverAnotherInboxsCustomer checks that an agent of one api inbox
// cannot file a message under a customer known only in another inbox by naming that
// customer's email or phone: the API answers 409 and stores nothing, so the agent never
// gets to read the customer, its notes or its orders.
func TestInboundCannotTakeOverAnotherInboxsCustomer(t *testing.T) {
	e := newEnv(t)
	a := e.inbox("api", "Brand A")
	b := e.inbox("api", "Brand B")
	bert := e.inbound(b, "b1", "bert@x.example", "private matter")
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/customers/%d", bert.CustomerID), map[string]any{
		"notes": "VIP, secret notes", "add_identities": []map[string]string{{"kind": "phone", "address": "+14155550123"}},
	}, 200, nil)
	e.admin.mustDo("PUT", "/api/v1/orders/B-9", map[string]any{"email": "bert@x.example", "status": "paid",
		"currency": "USD", "total": 1000, "placed_at": "2026-01-02T03:04:05Z"}, 200, nil)
	e.agent("dana@test.example", "agent", a)
	dana := e.bearer("dana@test.example")

	for _, from := range []map[string]string{
		{"email": "bert@x.example"},
		{"email": "BERT@x.example", "name": "Bert"},
		{"phone": "(415) 555-0123"},
		{"email": "someone.new@x.example", "phone": "+14155550123"},
	} {
		status, body := dana.do("POST", "/api/v1/inbound", map[string]any{"inbox": a, "external_id": "t-" + fmt.Sprint(from),
			"from": from, "text": "hello, it is me"})
		if status != 409 || errCode(t, body) != "conflict" {
			t.Fatalf("inbound from %v = %d %s, want 409 conflict", from, status, body)
		}
		// Opening a ticket by hand follows the same rule.
		status, body = dana.do("POST", "/api/v1/tickets", map[string]any{"inbox_id": a, "subject": "call", "customer": from})
		if status != 409 || errCode(t, body) != "conflict" {
			t.Fatalf("new ticket for %v = %d %s, want 409 conflict", from, status, body)
		}
	}
	// Nothing was stored: inbox A has no ticket and no customer was created.
	var list struct{ Tickets []ticketJSON }
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets?inbox=%d", a), nil, 200, &list)
	if len(list.Tickets) != 0 {
		t.Fatalf("a refused inbound stored tickets: %+v", list.Tickets)
	}
	var customers struct{ Customers []customerJSON }
	e.admin.mustDo("GET", "/api/v1/customers?q=someone.new", nil, 200, &customers)
	if len(customers.Customers) != 0 {
		t.Fatalf("a refused inbound created customers: %+v", customers.Customers)
	}
	// And Bert, his notes and his order stay out of dana's reach.
	for _, path := range []string{
		fmt.Sprintf("/api/v1/customers/%d", bert.CustomerID),
		"/api/v1/orders/B-9",
	} {
		if status, body := dana.do("GET", path, nil); status != 404 {
			t.Errorf("GET %s = %d %s, want 404", path, status, body)
		}
	}
	if body := string(mustGet(t, dana, "/api/v1/search?q=bert")); strings.Contains(body, "bert@") || strings.Contains(body, "VIP") {
		t.Fatalf("search leaks bert: %s", body)
	}
	// A new sender and one of dana's own customers still work.
	anna := map[string]any{"inbox": a, "external_id": "anna-1", "from": map[string]string{"email": "anna@x.example"}, "text": "hi"}
	dana.mustDo("POST", "/api/v1/inbound", anna, 201, nil)
	anna["external_id"] = "anna-2"
	dana.mustDo("POST", "/api/v1/inbound", anna, 201, nil)
	// Channel ingest is not an agent's act: the system still files by identity across
	// inboxes (an admin's API call sees every inbox).
	var res inboundResult
	e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": a, "external_id": "sys-1",
		"from": map[string]string{"email": "bert@x.example"}, "text": "hi from A"}, 201, &res)
	if res.CustomerID != bert.CustomerID {
		t.Fatalf("admin inbound filed under customer %d, want %d", res.CustomerID, bert.CustomerID)
	}
}

// TestCustomerMergeNeedsEveryMovedTicket checks that an agent may merge customers only
// when it can see both and every ticket the merge (or its undo) would move.
func TestCustomerMergeNeedsEveryMovedTicket(t *testing.T) {
	e := newEnv(t)
	a := e.inbox("api", "Brand A")
	b := e.inbox("api", "Brand B")
	anna := e.inbound(a, "a1", "anna@x.example", "mine")
	carol := e.inbound(a, "c1", "carol@x.example", "in A")
	carolB := e.inbound(b, "c2", "carol@x.example", "in B")
	if carolB.CustomerID != carol.CustomerID {
		t.Fatalf("carol is two customers: %d, %d", carol.CustomerID, carolB.CustomerID)
	}
	dana := e.agent("dana@test.example", "agent", a)

	status, body := dana.do("POST", fmt.Sprintf("/api/v1/customers/%d/merge", carol.CustomerID), map[string]any{"into": anna.CustomerID})
	if status != 403 || errCode(t, body) != "forbidden" {
		t.Fatalf("merging a customer with tickets in another inbox = %d %s, want 403", status, body)
	}
	var tk ticketJSON
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d", carolB.TicketID), nil, 200, &tk)
	if tk.CustomerID != carol.CustomerID {
		t.Fatalf("a refused merge moved ticket #%d to customer %d", carolB.TicketID, tk.CustomerID)
	}
	var c customerJSON
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/customers/%d", carol.CustomerID), nil, 200, &c)
	if c.MergedInto != 0 || !c.has("email", "carol@x.example") {
		t.Fatalf("a refused merge changed carol: %+v", c)
	}

	// A manager may; the agent may not undo it, since the undo moves the B ticket back.
	var merged struct {
		MergeEventID int64 `json:"merge_event_id"`
	}
	e.admin.mustDo("POST", fmt.Sprintf("/api/v1/customers/%d/merge", carol.CustomerID), map[string]any{"into": anna.CustomerID}, 200, &merged)
	status, body = dana.do("POST", fmt.Sprintf("/api/v1/customers/merges/%d/undo", merged.MergeEventID), nil)
	if status != 403 || errCode(t, body) != "forbidden" {
		t.Fatalf("undoing a merge that moves another inbox's ticket = %d %s, want 403", status, body)
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/customers/%d", carol.CustomerID), nil, 200, &c)
	if c.MergedInto != anna.CustomerID {
		t.Fatalf("a refused undo changed carol: %+v", c)
	}
	e.admin.mustDo("POST", fmt.Sprintf("/api/v1/customers/merges/%d/undo", merged.MergeEventID), nil, 200, nil)

	// Both customers with all their tickets in the agent's inboxes: allowed.
	dave := e.inbound(a, "d1", "dave@x.example", "also mine")
	dana.mustDo("POST", fmt.Sprintf("/api/v1/customers/%d/merge", dave.CustomerID), map[string]any{"into": anna.CustomerID}, 200, &merged)
	dana.mustDo("POST", fmt.Sprintf("/api/v1/customers/merges/%d/undo", merged.MergeEventID), nil, 200, nil)
}
