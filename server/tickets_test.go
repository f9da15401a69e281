package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

type ticketJSON struct {
	ID         int64    `json:"id"`
	Subject    string   `json:"subject"`
	Status     string   `json:"status"`
	Priority   string   `json:"priority"`
	Channel    string   `json:"channel"`
	InboxID    int64    `json:"inbox_id"`
	CustomerID int64    `json:"customer_id"`
	AssigneeID *int64   `json:"assignee_id"`
	Tags       []string `json:"tags"`
}

type messageJSON struct {
	ID        int64  `json:"id"`
	TicketID  int64  `json:"ticket_id"`
	Direction string `json:"direction"`
	Channel   string `json:"channel"`
	Text      string `json:"text"`
	HTML      string `json:"html"`
	Status    string `json:"status"`
	Author    struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"author"`
}

func TestInboundReplyNoteResolve(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	c := e.bearer("admin@test.example")
	body := map[string]any{"inbox": inbox, "external_id": "rma-1", "thread_key": "rma-1",
		"from":    map[string]string{"name": "Alice Shopper", "email": "Alice@Example.COM", "phone": "+1 (555) 555-0101"},
		"subject": "Broken lamp", "text": "The switch is broken.", "html": `<p>The switch is <b>broken</b>.<script>alert(1)</script><img src=x onerror=alert(1)></p>`}
	var first inboundResult
	c.mustDo("POST", "/api/v1/inbound", body, 201, &first)
	var again inboundResult
	c.mustDo("POST", "/api/v1/inbound", body, 200, &again)
	if !again.Duplicate || again.MessageID != first.MessageID || again.TicketID != first.TicketID {
		t.Fatalf("repeat = %+v, first %+v", again, first)
	}

	var cust struct {
		Name       string
		Identities []struct{ Kind, Address string }
	}
	c.mustDo("GET", fmt.Sprintf("/api/v1/customers/%d", first.CustomerID), nil, 200, &cust)
	ids := fmt.Sprint(cust.Identities)
	if cust.Name != "Alice Shopper" || !strings.Contains(ids, "alice@example.com") || !strings.Contains(ids, "+15555550101") {
		t.Fatalf("customer = %+v", cust)
	}

	var list struct {
		Tickets    []ticketJSON `json:"tickets"`
		NextCursor string       `json:"next_cursor"`
	}
	c.mustDo("GET", "/api/v1/tickets?status=open", nil, 200, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].Subject != "Broken lamp" || list.Tickets[0].Channel != "api" || list.Tickets[0].Tags == nil {
		t.Fatalf("tickets = %+v", list.Tickets)
	}
	tid := first.TicketID
	path := fmt.Sprintf("/api/v1/tickets/%d", tid)

	var reply, note messageJSON
	e.admin.mustDo("POST", path+"/messages", map[string]any{"body": "We'll send a new one."}, 201, &reply)
	e.admin.mustDo("POST", path+"/messages", map[string]any{"body": "Checked stock: 3 left.", "internal": true}, 201, &note)
	if reply.Direction != "out" || reply.Status != "queued" || reply.Author.Name != "Ada Admin" || reply.Channel != "api" {
		t.Fatalf("reply = %+v", reply)
	}
	if note.Direction != "note" {
		t.Fatalf("note = %+v", note)
	}
	var thread struct{ Messages []messageJSON }
	e.admin.mustDo("GET", path+"/messages", nil, 200, &thread)
	if len(thread.Messages) != 3 || thread.Messages[0].Direction != "in" || thread.Messages[2].Direction != "note" {
		t.Fatalf("thread = %+v", thread.Messages)
	}
	in := thread.Messages[0]
	if strings.Contains(in.HTML, "script") || strings.Contains(in.HTML, "onerror") || !strings.Contains(in.HTML, "<b>broken</b>") {
		t.Fatalf("inbound html not sanitized: %q", in.HTML)
	}

	var tk ticketJSON
	e.admin.mustDo("PATCH", path, map[string]any{"status": "resolved", "priority": "high", "tags": []string{"Refund", "lamp", "refund"}}, 200, &tk)
	if tk.Status != "resolved" || tk.Priority != "high" || strings.Join(tk.Tags, ",") != "lamp,refund" {
		t.Fatalf("patched = %+v", tk)
	}
	// Assign and unassign.
	var me struct{ Agent struct{ ID int64 } }
	e.admin.mustDo("GET", "/api/v1/me", nil, 200, &me)
	e.admin.mustDo("PATCH", path, map[string]any{"assignee_id": me.Agent.ID}, 200, &tk)
	if tk.AssigneeID == nil || *tk.AssigneeID != me.Agent.ID {
		t.Fatalf("assignee = %v", tk.AssigneeID)
	}
	e.admin.mustDo("GET", "/api/v1/tickets?assignee=me", nil, 200, &list)
	if len(list.Tickets) != 1 {
		t.Fatalf("assignee=me lists %d", len(list.Tickets))
	}
	e.admin.mustDo("PATCH", path, map[string]any{"assignee_id": nil}, 200, &tk)
	if tk.AssigneeID != nil {
		t.Fatalf("unassign left %v", *tk.AssigneeID)
	}
	e.admin.mustDo("GET", "/api/v1/tickets?assignee=unassigned&tag=refund", nil, 200, &list)
	if len(list.Tickets) != 1 {
		t.Fatalf("unassigned+tag lists %d", len(list.Tickets))
	}
	// The customer writes again: the resolved ticket reopens.
	body["external_id"] = "rma-1-b"
	c.mustDo("POST", "/api/v1/inbound", body, 201, &again)
	c.mustDo("GET", path, nil, 200, &tk)
	if again.TicketID != tid || tk.Status != "open" {
		t.Fatalf("reply to resolved ticket: %+v, status %s", again, tk.Status)
	}
}

func TestCreateTicketByHand(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Phone log")
	var tk ticketJSON
	e.admin.mustDo("POST", "/api/v1/tickets", map[string]any{"inbox_id": inbox, "subject": "Called about a refund",
		"customer": map[string]string{"name": "Carla", "phone": "+15555550123"}, "body": "Carla called, wants a refund.", "internal": true}, 201, &tk)
	if tk.ID == 0 || tk.Status != "open" || tk.Subject != "Called about a refund" {
		t.Fatalf("ticket = %+v", tk)
	}
	var thread struct{ Messages []messageJSON }
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", tk.ID), nil, 200, &thread)
	if len(thread.Messages) != 1 || thread.Messages[0].Direction != "note" {
		t.Fatalf("thread = %+v", thread.Messages)
	}
	var tk2 ticketJSON
	e.admin.mustDo("POST", "/api/v1/tickets", map[string]any{"inbox_id": inbox, "subject": "Follow-up", "customer_id": tk.CustomerID}, 201, &tk2)
	if tk2.CustomerID != tk.CustomerID {
		t.Fatalf("customer_id ignored: %+v", tk2)
	}
}

func TestTicketPagination(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	for i := 0; i < 7; i++ {
		e.inbound(inbox, fmt.Sprintf("m%d", i), fmt.Sprintf("c%d@x.example", i), fmt.Sprintf("question %d", i))
	}
	seen := map[int64]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		var list struct {
			Tickets    []ticketJSON `json:"tickets"`
			NextCursor string       `json:"next_cursor"`
		}
		e.admin.mustDo("GET", "/api/v1/tickets?limit=3&cursor="+cursor, nil, 200, &list)
		for _, tk := range list.Tickets {
			if seen[tk.ID] {
				t.Fatalf("ticket %d listed twice", tk.ID)
			}
			seen[tk.ID] = true
		}
		if list.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		cursor = list.NextCursor
	}
	if len(seen) != 7 {
		t.Fatalf("saw %d tickets, want 7", len(seen))
	}
}

func TestMergeTickets(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	a := e.inbound(inbox, "a", "a@x.example", "first")
	b := e.inbound(inbox, "b", "a@x.example", "second")
	var into ticketJSON
	e.admin.mustDo("POST", fmt.Sprintf("/api/v1/tickets/%d/merge", b.TicketID), map[string]any{"into": a.TicketID}, 200, &into)
	var thread struct{ Messages []messageJSON }
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", a.TicketID), nil, 200, &thread)
	if len(thread.Messages) != 2 {
		t.Fatalf("merged thread has %d messages", len(thread.Messages))
	}
	var from ticketJSON
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d", b.TicketID), nil, 200, &from)
	if from.Status != "closed" {
		t.Fatalf("merged-away ticket status %s", from.Status)
	}
	status, _ := e.admin.do("POST", fmt.Sprintf("/api/v1/tickets/%d/merge", a.TicketID), map[string]any{"into": a.TicketID})
	if status != 400 {
		t.Fatalf("merge into itself = %d", status)
	}
}

// TestConcurrentDuplicateInbound delivers the same message from many clients at once.
func TestConcurrentDuplicateInbound(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	c := e.bearer("admin@test.example")
	body := map[string]any{"inbox": inbox, "external_id": "same", "from": map[string]string{"email": "a@x.example"}, "text": "hello"}
	var wg sync.WaitGroup
	statuses := make([]int, 12)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = c.do("POST", "/api/v1/inbound", body)
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 200:
		default:
			t.Fatalf("status %d in %v", s, statuses)
		}
	}
	var thread struct{ Messages []messageJSON }
	var list struct{ Tickets []ticketJSON }
	c.mustDo("GET", "/api/v1/tickets", nil, 200, &list)
	if created != 1 || len(list.Tickets) != 1 {
		t.Fatalf("created %d, tickets %d", created, len(list.Tickets))
	}
	c.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", list.Tickets[0].ID), nil, 200, &thread)
	if len(thread.Messages) != 1 {
		t.Fatalf("%d messages, want 1", len(thread.Messages))
	}
}
