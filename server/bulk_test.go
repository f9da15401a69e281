package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

type bulkAnswer struct {
	Tickets []crm.Ticket `json:"tickets"`
	Errors  []struct {
		TicketID int64 `json:"ticket_id"`
		Error    struct {
			Code string `json:"code"`
		} `json:"error"`
	} `json:"errors"`
}

// TestBulk changes several tickets in one request: each visible one changes, with its
// own ticket.updated event, one of an inbox the agent cannot see is reported not_found
// and left alone, a bad request changes nothing, and a merge folds the others into one.
func TestBulk(t *testing.T) {
	e := newEnv(t)
	shop, other := e.inbox("api", "Shop"), e.inbox("api", "Other")
	dana := e.agent("dana@test.example", crm.RoleAgent, shop)
	me, err := e.db.AgentByEmail(ctxSystem(), "dana@test.example")
	if err != nil {
		t.Fatal(err)
	}
	danaID := me.ID
	a := e.inbound(shop, "b1", "ann@example.com", "Where is my parcel?")
	b := e.inbound(shop, "b2", "bob@example.com", "Refund please")
	c := e.inbound(other, "b3", "cy@example.com", "Not Dana's")
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/tickets/%d", a.TicketID), map[string]any{"tags": []string{"vip", "late"}}, 200, nil)

	for _, bad := range []map[string]any{
		{"ticket_ids": []int64{}, "status": "resolved"},
		{"ticket_ids": []int64{a.TicketID}},
		{"ticket_ids": []int64{a.TicketID, a.TicketID}, "status": "resolved"},
		{"ticket_ids": []int64{a.TicketID}, "status": "done"},
		{"ticket_ids": []int64{a.TicketID}, "assignee_id": -1},
		{"ticket_ids": []int64{a.TicketID}, "add_tags": []string{" "}},
		{"ticket_ids": []int64{a.TicketID, b.TicketID}, "merge_into": c.TicketID},
		{"ticket_ids": []int64{a.TicketID, b.TicketID}, "merge_into": a.TicketID, "status": "open"},
	} {
		if code, body := dana.do("POST", "/api/v1/tickets/bulk", bad); code != http.StatusBadRequest || errCode(t, body) != "invalid" {
			t.Errorf("%v: %d %s", bad, code, body)
		}
	}

	var out bulkAnswer
	dana.mustDo("POST", "/api/v1/tickets/bulk", map[string]any{"ticket_ids": []int64{a.TicketID, b.TicketID, c.TicketID},
		"status": "pending", "priority": "high", "assignee_id": danaID, "add_tags": []string{"Wholesale"}, "remove_tags": []string{"LATE"}}, 200, &out)
	if len(out.Tickets) != 2 || len(out.Errors) != 1 || out.Errors[0].TicketID != c.TicketID || out.Errors[0].Error.Code != "not_found" {
		t.Fatalf("bulk answer: %+v", out)
	}
	for _, tk := range out.Tickets {
		if tk.Status != crm.StatusPending || tk.Priority != crm.PriorityHigh || tk.AssigneeID == nil || *tk.AssigneeID != danaID {
			t.Errorf("ticket %d after bulk: %+v", tk.ID, tk)
		}
	}
	got, err := e.db.Ticket(ctxSystem(), a.TicketID)
	slices.Sort(got.Tags)
	if err != nil || !slices.Equal(got.Tags, []string{"vip", "wholesale"}) {
		t.Fatalf("tags of the first ticket: %v %v", got.Tags, err)
	}
	if untouched, _ := e.db.Ticket(ctxSystem(), c.TicketID); untouched.Status != crm.StatusOpen || untouched.AssigneeID != nil {
		t.Fatalf("another inbox's ticket changed: %+v", untouched)
	}
	events, _ := e.db.Events(ctxSystem(), 0, 1000)
	updated := map[int64]int{}
	for _, ev := range events {
		if ev.Type == crm.EventTicketUpdated && ev.Actor.ID == danaID {
			updated[ev.TicketID]++
		}
	}
	if updated[a.TicketID] != 1 || updated[b.TicketID] != 1 || updated[c.TicketID] != 0 {
		t.Fatalf("ticket.updated events by dana: %v", updated)
	}

	// Ann wrote again in a ticket of its own; Bob's cannot be merged with hers.
	d := e.inbound(shop, "b4", "ann@example.com", "Also the invoice")
	if d.TicketID == a.TicketID {
		t.Fatal("the second message joined the first ticket")
	}
	dana.mustDo("POST", "/api/v1/tickets/bulk", map[string]any{"ticket_ids": []int64{a.TicketID, d.TicketID, b.TicketID}, "merge_into": a.TicketID}, 200, &out)
	if len(out.Tickets) != 1 || out.Tickets[0].ID != a.TicketID || len(out.Errors) != 1 || out.Errors[0].TicketID != b.TicketID || out.Errors[0].Error.Code != "conflict" {
		t.Fatalf("merge answer: %+v", out)
	}
	if merged, _ := e.db.Ticket(ctxSystem(), d.TicketID); merged.Status != crm.StatusClosed {
		t.Fatalf("the merged ticket is %s, want closed", merged.Status)
	}
}

// TestDocsBulkAndSearchExamples runs the bulk change and the filtered search of
// docs/api.md as written (the ticket ids, the agent and the dates made the test's own)
// and checks the answers have the documented fields.
func TestDocsBulkAndSearchExamples(t *testing.T) {
	e := newEnv(t)
	shop, other := e.inbox("api", "Shop"), e.inbox("api", "Other")
	dana := e.agent("dana@shop.example", crm.RoleAgent, shop)
	me, err := e.db.AgentByEmail(ctxSystem(), "dana@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	a := e.inbound(shop, "d1", "alice@example.com", "Where is my parcel?")
	b := e.inbound(shop, "d2", "alice@example.com", "The invoice")
	c := e.inbound(other, "d3", "cy@example.com", "Not Dana's")
	today := time.Now().UTC()
	ids := strings.NewReplacer("1040", itoa(a.TicketID), "1041", itoa(b.TicketID), "1042", itoa(c.TicketID),
		`"assignee_id": 7`, `"assignee_id": `+itoa(me.ID),
		"2026-12-01", today.AddDate(0, 0, -6).Format(time.DateOnly), "2026-12-07", today.Format(time.DateOnly))
	for _, tc := range []struct {
		heading string
		status  int
		check   func(body []byte)
	}{
		{"### `POST /api/v1/tickets/bulk`", 200, func(body []byte) {
			var out bulkAnswer
			json.Unmarshal(body, &out)
			if len(out.Tickets) != 2 || len(out.Errors) != 1 || out.Errors[0].TicketID != c.TicketID {
				t.Errorf("bulk answer %s", body)
			}
		}},
		{"### `GET /api/v1/search?q=`", 200, func(body []byte) {
			var out struct {
				Tickets []crm.Ticket `json:"tickets"`
			}
			json.Unmarshal(body, &out)
			if len(out.Tickets) != 2 || out.Tickets[0].Status != crm.StatusPending {
				t.Errorf("search answer %s", body)
			}
		}},
	} {
		examples := docExamples(t, "api.md", tc.heading)
		if len(examples) != 1 || examples[0].answer == "" {
			t.Fatalf("%s: %d examples, want one with its answer", tc.heading, len(examples))
		}
		status, body := runCurl(t, ids.Replace(examples[0].command), map[string]string{"CSRF": dana.csrf}, e.srv.URL, dana)
		if status != tc.status {
			t.Fatalf("%s: %s\n= %d %s", tc.heading, examples[0].command, status, body)
		}
		tc.check(body)
		var doc, got any
		if err := json.Unmarshal([]byte(examples[0].answer), &doc); err != nil {
			t.Fatalf("%s: the documented answer is not JSON: %v\nthe server answered %s", tc.heading, err, body)
		}
		json.Unmarshal(body, &got)
		sameKeys(t, tc.heading, doc, got)
	}
}
