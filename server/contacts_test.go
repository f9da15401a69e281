package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
)

type contactJSON struct {
	customerJSON
	TicketCount   int     `json:"ticket_count"`
	LastContactAt *string `json:"last_contact_at"`
}

// TestContactsAndIdentities lists, sorts and edits customers through the API, and checks
// that an agent of another inbox can do none of it.
func TestContactsAndIdentities(t *testing.T) {
	e := newEnv(t)
	a := e.inbox("api", "A")
	b := e.inbox("api", "B")
	alice := e.inbound(a, "a1", "alice@x.example", "one")
	e.inbound(a, "a2", "alice@x.example", "two")
	bob := e.inbound(b, "b1", "bob@x.example", "three")
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/customers/%d", bob.CustomerID), map[string]any{"name": "Bob Builder"}, 200, nil)

	var list struct {
		Customers  []contactJSON `json:"customers"`
		NextCursor string        `json:"next_cursor"`
	}
	e.admin.mustDo("GET", "/api/v1/customers?sort=name&limit=1", nil, 200, &list)
	if len(list.Customers) != 1 || list.Customers[0].Name != "Alice" || list.Customers[0].TicketCount != 2 || list.NextCursor == "" {
		t.Fatalf("page 1 by name = %+v", list)
	}
	e.admin.mustDo("GET", "/api/v1/customers?sort=name&limit=1&cursor="+list.NextCursor, nil, 200, &list)
	if len(list.Customers) != 1 || list.Customers[0].Name != "Bob Builder" || list.NextCursor != "" {
		t.Fatalf("page 2 by name = %+v", list)
	}
	if status, data := e.admin.do("GET", "/api/v1/customers?sort=shoe", nil); status != 400 || errCode(t, data) != "invalid" {
		t.Fatalf("bad sort = %d %s", status, data)
	}

	agentB := e.agent("b@staff.example", "agent", b)
	agentB.mustDo("GET", "/api/v1/customers?sort=last_contacted", nil, 200, &list)
	if len(list.Customers) != 1 || list.Customers[0].ID != bob.CustomerID {
		t.Fatalf("agent B's contacts = %+v", list.Customers)
	}

	// Add a phone in any common format: stored in E.164.
	var c customerJSON
	path := fmt.Sprintf("/api/v1/customers/%d/identities", alice.CustomerID)
	e.admin.mustDo("POST", path, map[string]string{"kind": "phone", "address": "(415) 555-0123"}, 201, &c)
	if !c.has("phone", "+14155550123") {
		t.Fatalf("after add = %+v", c)
	}
	e.admin.mustDo("POST", path, map[string]string{"kind": "email", "address": " Alice@Work.Example "}, 201, &c)
	if !c.has("email", "alice@work.example") {
		t.Fatalf("email not lower-cased: %+v", c)
	}
	if status, data := e.admin.do("POST", path, map[string]string{"kind": "email", "address": "not-an-email"}); status != 400 {
		t.Fatalf("bad email = %d %s", status, data)
	}
	// Bob's address: a 409 that names Bob, for the console to offer a merge.
	status, data := e.admin.do("POST", path, map[string]string{"kind": "email", "address": "bob@x.example"})
	var conflict struct {
		Error struct {
			Code     string
			Message  string
			Customer struct {
				ID   int64
				Name string
			}
		}
	}
	decodeInto(t, data, &conflict)
	if status != 409 || conflict.Error.Code != "conflict" || conflict.Error.Customer.ID != bob.CustomerID || conflict.Error.Customer.Name != "Bob Builder" {
		t.Fatalf("identity of Bob = %d %s", status, data)
	}
	// An agent of inbox B neither adds to nor removes from Alice, nor learns of her.
	for _, req := range []struct{ method, path string }{
		{"POST", path},
		{"DELETE", path + "?kind=phone&address=" + url.QueryEscape("+14155550123")},
		{"GET", fmt.Sprintf("/api/v1/customers/%d/merges", alice.CustomerID)},
		{"GET", fmt.Sprintf("/api/v1/customers/%d/proofs", alice.CustomerID)},
		{"POST", fmt.Sprintf("/api/v1/customers/%d/proofs/1/link", alice.CustomerID)},
	} {
		status, data := agentB.do(req.method, req.path, map[string]string{"kind": "phone", "address": "+14155550199"})
		if status != 404 {
			t.Fatalf("agent B %s %s = %d %s", req.method, req.path, status, data)
		}
	}
	if status, data := agentB.do("PATCH", fmt.Sprintf("/api/v1/customers/%d", alice.CustomerID), map[string]any{"name": "Mallory"}); status != 404 {
		t.Fatalf("agent B renaming Alice = %d %s", status, data)
	}
	if status, data := agentB.do("POST", fmt.Sprintf("/api/v1/customers/%d/merge", alice.CustomerID), map[string]any{"into": bob.CustomerID}); status != 404 {
		t.Fatalf("agent B merging Alice = %d %s", status, data)
	}
	if status, data := agentB.do("POST", fmt.Sprintf("/api/v1/customers/%d/merge", bob.CustomerID), map[string]any{"into": alice.CustomerID}); status != 404 {
		t.Fatalf("agent B merging Bob into Alice = %d %s", status, data)
	}
	// Agent B adding Alice's address to Bob learns nothing about Alice.
	status, data = agentB.do("POST", fmt.Sprintf("/api/v1/customers/%d/identities", bob.CustomerID), map[string]string{"kind": "email", "address": "alice@x.example"})
	conflict.Error.Customer.ID = 0
	decodeInto(t, data, &conflict)
	if status != 409 || conflict.Error.Customer.ID != 0 {
		t.Fatalf("agent B's conflict = %d %s", status, data)
	}
	e.admin.mustDo("DELETE", path+"?kind=phone&address="+url.QueryEscape("415 555 0123"), nil, 200, &c)
	if c.has("phone", "+14155550123") {
		t.Fatalf("after remove = %+v", c)
	}
	if status, _ := e.admin.do("DELETE", path+"?kind=phone&address="+url.QueryEscape("+14155550123"), nil); status != 404 {
		t.Fatalf("removing a missing identity = %d", status)
	}
	var audit struct {
		Entries []struct{ Type string } `json:"entries"`
	}
	e.admin.mustDo("GET", "/api/v1/audit?type=customer.identity_added", nil, 200, &audit)
	if len(audit.Entries) == 0 {
		t.Fatal("identity changes are not audited")
	}

	// Merges into Alice are listed with Undo.
	var merged struct {
		MergeEventID int64 `json:"merge_event_id"`
	}
	e.admin.mustDo("POST", fmt.Sprintf("/api/v1/customers/%d/merge", bob.CustomerID), map[string]any{"into": alice.CustomerID}, 200, &merged)
	var merges struct {
		Merges []struct {
			MergeEventID int64  `json:"merge_event_id"`
			From         int64  `json:"from"`
			FromName     string `json:"from_name"`
			Undoable     bool   `json:"undoable"`
		} `json:"merges"`
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/customers/%d/merges", alice.CustomerID), nil, 200, &merges)
	if len(merges.Merges) != 1 || merges.Merges[0].MergeEventID != merged.MergeEventID || merges.Merges[0].FromName != "Bob Builder" || !merges.Merges[0].Undoable {
		t.Fatalf("merges = %+v", merges)
	}
}

// TestSplitTicket splits two messages off a ticket through the API.
func TestSplitTicket(t *testing.T) {
	e := newEnv(t)
	a := e.inbox("api", "A")
	b := e.inbox("api", "B")
	var first inboundResult
	for i, text := range []string{"where is my order", "my invoice is wrong", "it says two jackets"} {
		e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": a, "external_id": fmt.Sprint("t", i), "thread_key": "carol",
			"from": map[string]string{"email": "carol@x.example"}, "subject": "Order", "text": text}, 201, &first)
	}
	var thread struct{ Messages []messageJSON }
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", first.TicketID), nil, 200, &thread)
	if len(thread.Messages) != 3 {
		t.Fatalf("thread has %d messages", len(thread.Messages))
	}
	ids := []int64{thread.Messages[1].ID, thread.Messages[2].ID}
	path := fmt.Sprintf("/api/v1/tickets/%d/split", first.TicketID)

	agentB := e.agent("b@staff.example", "agent", b)
	if status, data := agentB.do("POST", path, map[string]any{"message_ids": ids}); status != 404 {
		t.Fatalf("agent B split = %d %s", status, data)
	}
	other := e.inbound(b, "b1", "carol@x.example", "elsewhere")
	if status, data := agentB.do("POST", fmt.Sprintf("/api/v1/tickets/%d/merge", other.TicketID), map[string]any{"into": first.TicketID}); status != 404 {
		t.Fatalf("agent B merging into A's ticket = %d %s", status, data)
	}
	if status, data := e.admin.do("POST", path, map[string]any{"message_ids": []int64{}}); status != 400 {
		t.Fatalf("empty split = %d %s", status, data)
	}
	agentA := e.agent("a@staff.example", "agent", a)
	var nt ticketJSON
	agentA.mustDo("POST", path, map[string]any{"message_ids": ids, "subject": "Wrong invoice"}, 201, &nt)
	if nt.Subject != "Wrong invoice" || nt.InboxID != a || nt.CustomerID != first.CustomerID || nt.ID == first.TicketID {
		t.Fatalf("new ticket = %+v", nt)
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", nt.ID), nil, 200, &thread)
	if len(thread.Messages) != 3 || thread.Messages[0].Text != "my invoice is wrong" ||
		thread.Messages[2].Text != fmt.Sprintf("Split from #%d: 2 messages moved here.", first.TicketID) {
		t.Fatalf("new thread = %+v", thread.Messages)
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", first.TicketID), nil, 200, &thread)
	if len(thread.Messages) != 2 || thread.Messages[1].Text != fmt.Sprintf("Moved 2 messages to #%d (split).", nt.ID) {
		t.Fatalf("old thread = %+v", thread.Messages)
	}
}

func decodeInto(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
}
