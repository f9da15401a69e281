package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

// TestDocsReasons runs the examples of docs/api.md for contact reasons: a manager adds a
// reason, reads and changes the settings, and reads the reasons report of a ticket an
// agent labelled.
func TestDocsReasons(t *testing.T) {
	e := newEnv(t)
	e.agent("mia@shop.example", crm.RoleManager)
	manager := e.bearer("mia@shop.example")
	vars := map[string]string{"TOKEN": manager.token}

	add := docExamples(t, "api.md", "### Reasons: `GET /api/v1/reasons` (everyone) · `POST` · `PATCH /{id}` · `DELETE /{id}` (managers)")
	if len(add) != 1 {
		t.Fatalf("docs/api.md has %d reason examples, this test knows 1", len(add))
	}
	status, body := runCurl(t, add[0].command, vars, e.srv.URL, manager)
	if status != 201 {
		t.Fatalf("%s\n= %d %s", add[0].command, status, body)
	}
	var doc, got map[string]any
	json.Unmarshal([]byte(add[0].answer), &doc)
	json.Unmarshal(body, &got)
	sameKeys(t, "POST /api/v1/reasons", doc, got)
	for _, k := range []string{"slug", "name", "position"} {
		if got[k] != doc[k] {
			t.Errorf("%s = %v, the docs show %v", k, got[k], doc[k])
		}
	}

	settings := docExamples(t, "api.md", "### Reason settings: `GET /api/v1/settings/reasons` (everyone) · `PATCH` (managers)")
	if len(settings) != 2 {
		t.Fatalf("docs/api.md has %d reason settings examples, this test knows 2", len(settings))
	}
	for i, ex := range settings {
		status, body := runCurl(t, ex.command, vars, e.srv.URL, manager)
		if status != 200 || compactJSON(t, body) != compactJSON(t, []byte(ex.answer)) {
			t.Fatalf("example %d: %s\n= %d %s, documented %s", i+1, ex.command, status, body, ex.answer)
		}
	}

	// Reasons are required to resolve now: a ticket without one stays open.
	inbox := e.inbox("api", "Shop")
	res := e.inbound(inbox, "r1", "ann@example.com", "Where is my parcel?")
	path := "/api/v1/tickets/" + itoa(res.TicketID)
	if status, body := manager.do("PATCH", path, map[string]any{"status": "resolved"}); status != 400 ||
		!strings.Contains(string(body), "choose a contact reason") {
		t.Fatalf("resolve without a reason: %d %s", status, body)
	}
	var tk crm.Ticket
	manager.mustDo("PATCH", path, map[string]any{"reason_id": 1}, 200, &tk)
	if tk.ReasonID == nil || *tk.ReasonID != 1 || tk.ReasonSource != crm.ReasonByAgent {
		t.Fatalf("after PATCH reason_id 1: %v %q", tk.ReasonID, tk.ReasonSource)
	}
	if status, body := manager.do("PATCH", path, map[string]any{"reason_id": 999}); status != 400 {
		t.Fatalf("an unknown reason: %d %s", status, body)
	}
	manager.mustDo("PATCH", path, map[string]any{"status": "resolved"}, 200, &tk)

	report := docExamples(t, "api.md", "### `GET /api/v1/reports/reasons?from=&to=&inbox=&channel=&tz=` · `GET /api/v1/reports/reasons.csv?...` (managers)")
	if len(report) != 1 {
		t.Fatalf("docs/api.md has %d reasons report examples, this test knows 1", len(report))
	}
	// The documented month, moved to this one so that the ticket just made is in it.
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	cmd := strings.NewReplacer("from=2026-12-01", "from="+first.Format(time.DateOnly),
		"to=2026-12-31", "to="+first.AddDate(0, 1, -1).Format(time.DateOnly)).Replace(report[0].command)
	status, body = runCurl(t, cmd, vars, e.srv.URL, manager)
	if status != 200 {
		t.Fatalf("%s\n= %d %s", cmd, status, body)
	}
	var rdoc, rgot map[string]any
	if err := json.Unmarshal([]byte(report[0].answer), &rdoc); err != nil {
		t.Fatalf("the documented report is not JSON: %v", err)
	}
	json.Unmarshal(body, &rgot)
	sameKeys(t, "reports/reasons", rdoc, rgot)
	rows := rgot["reasons"].([]any)
	top := rows[0].(map[string]any)
	if top["name"] != "Where is my order" || top["contacts"] != float64(1) || rgot["contacts"] != float64(1) || rgot["currency"] != "EUR" {
		t.Fatalf("report: first row %v, contacts %v, currency %v", top, rgot["contacts"], rgot["currency"])
	}
	status, body = manager.do("GET", "/api/v1/reports/reasons.csv?from="+first.Format(time.DateOnly)+"&to="+first.AddDate(0, 1, -1).Format(time.DateOnly), nil)
	if status != 200 || !strings.Contains(string(body), "\n1,Where is my order,1,0,") {
		t.Fatalf("reasons.csv: %d\n%s", status, body)
	}
	var drill struct{ Tickets []crm.Ticket }
	manager.mustDo("GET", "/api/v1/reports/tickets?metric=created&reason=1&from="+first.Format(time.DateOnly)+"&to="+first.AddDate(0, 1, -1).Format(time.DateOnly), nil, 200, &drill)
	if len(drill.Tickets) != 1 || drill.Tickets[0].ID != res.TicketID {
		t.Fatalf("the tickets behind the count: %+v", drill.Tickets)
	}
	manager.mustDo("GET", "/api/v1/reports/tickets?metric=created&reason=2&from="+first.Format(time.DateOnly)+"&to="+first.AddDate(0, 1, -1).Format(time.DateOnly), nil, 200, &drill)
	if len(drill.Tickets) != 0 {
		t.Fatalf("tickets of another reason: %+v", drill.Tickets)
	}

	e.agent("alex@shop.example", crm.RoleAgent)
	agent := e.bearer("alex@shop.example")
	if status, _ := agent.do("PATCH", "/api/v1/settings/reasons", map[string]any{"threshold": 0.1}); status != 403 {
		t.Errorf("an agent changed the reason settings: %d", status)
	}
	if status, _ := agent.do("POST", "/api/v1/reasons", map[string]any{"name": "Mine"}); status != 403 {
		t.Errorf("an agent added a reason: %d", status)
	}
	if status, _ := agent.do("GET", "/api/v1/reports/reasons", nil); status != 403 {
		t.Errorf("an agent read the reasons report: %d", status)
	}
	if status, _ := agent.do("GET", "/api/v1/reasons", nil); status != 200 {
		t.Errorf("an agent could not list the reasons: %d", status)
	}
}

// TestSuggestedReplies: a ticket gets the reply an agent sent on a resolved ticket of
// the same reason whose customer wrote alike, with its own customer's name in place of
// the old one; a ticket of another reason does not.
func TestSuggestedReplies(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Shop")
	old := e.inbound(inbox, "s1", "old@example.com", "My parcel has not arrived, the tracking is stuck in Leipzig")
	var c crm.Customer
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(old.CustomerID), map[string]any{"name": "Zoë Öld"}, 200, &c)
	oldPath := "/api/v1/tickets/" + itoa(old.TicketID)
	e.admin.mustDo("POST", oldPath+"/messages", map[string]any{"body": "Hi Zoë, your parcel is with the carrier and arrives on Friday."}, 201, nil)
	e.admin.mustDo("PATCH", oldPath, map[string]any{"reason_id": 1, "status": "resolved"}, 200, nil)
	// The same answer to another customer, by name: one suggestion, not two.
	twin := e.inbound(inbox, "s1b", "paul@example.com", "Parcel has not arrived, tracking stuck since Monday")
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(twin.CustomerID), map[string]any{"name": "Paul Prior"}, 200, nil)
	e.admin.mustDo("POST", "/api/v1/tickets/"+itoa(twin.TicketID)+"/messages", map[string]any{"body": "Hi Paul, your parcel is with the carrier and arrives on Friday."}, 201, nil)
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(twin.TicketID), map[string]any{"reason_id": 1, "status": "resolved"}, 200, nil)
	other := e.inbound(inbox, "s2", "pat@example.com", "I want to return the shoes, the parcel was too small")
	e.admin.mustDo("POST", "/api/v1/tickets/"+itoa(other.TicketID)+"/messages", map[string]any{"body": "Here is your return label."}, 201, nil)
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(other.TicketID), map[string]any{"reason_id": 2, "status": "resolved"}, 200, nil)

	cur := e.inbound(inbox, "s3", "nia@example.com", "Where is my parcel? Tracking has been stuck for a week")
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(cur.CustomerID), map[string]any{"name": "Nia New"}, 200, nil)
	path := "/api/v1/tickets/" + itoa(cur.TicketID)
	var got struct {
		Replies []struct {
			TicketID  int64  `json:"ticket_id"`
			MessageID int64  `json:"message_id"`
			Text      string `json:"text"`
		} `json:"replies"`
	}
	e.admin.mustDo("GET", path+"/suggestions", nil, 200, &got)
	if len(got.Replies) != 0 {
		t.Fatalf("suggestions for a ticket without a reason: %+v", got.Replies)
	}
	e.admin.mustDo("PATCH", path, map[string]any{"reason_id": 1}, 200, nil)
	e.admin.mustDo("GET", path+"/suggestions", nil, 200, &got)
	if len(got.Replies) != 1 || (got.Replies[0].TicketID != old.TicketID && got.Replies[0].TicketID != twin.TicketID) {
		t.Fatalf("suggestions: %+v, want one reply, of #%d or #%d", got.Replies, old.TicketID, twin.TicketID)
	}
	if want := "Hi Nia, your parcel is with the carrier and arrives on Friday."; got.Replies[0].Text != want {
		t.Fatalf("suggested text %q, want %q", got.Replies[0].Text, want)
	}
	e.admin.mustDo("POST", path+"/suggestions/"+itoa(got.Replies[0].MessageID)+"/used", map[string]any{}, 204, nil)
	var rep struct {
		SuggestionsUsed int `json:"suggestions_used"`
	}
	day := time.Now().UTC().Format(time.DateOnly)
	e.admin.mustDo("GET", "/api/v1/reports/reasons?from="+day+"&to="+day+"&tz=UTC", nil, 200, &rep)
	if rep.SuggestionsUsed != 1 {
		t.Errorf("the reasons report counts %d suggestions used, want 1", rep.SuggestionsUsed)
	}
	if status, _ := e.admin.do("GET", "/api/v1/tickets/999999/suggestions", nil); status != 404 {
		t.Errorf("suggestions of a missing ticket: %d", status)
	}
}

// TestHandleTimeFromActivity: the console's activity frames on the ticket it views add
// to the agent's handle time, which the store has once the hub flushed it; a frame for
// a ticket the socket does not view adds nothing.
func TestHandleTimeFromActivity(t *testing.T) {
	e := newHubEnv(t)
	inbox := e.inbox("api", "Shop")
	res := e.inbound(inbox, "h1", "ann@example.com", "help")
	other := e.inbound(inbox, "h2", "bob@example.com", "help too")
	w := e.dial(e.admin)
	w.send(map[string]any{"type": "viewing", "ticket_id": res.TicketID})
	time.Sleep(1500 * time.Millisecond) // the time being measured, not a wait for anything
	w.send(map[string]any{"type": "active", "ticket_id": res.TicketID})
	w.send(map[string]any{"type": "active", "ticket_id": other.TicketID})
	w.send(map[string]any{"type": "active"})
	w.waitFor("the error of an active frame without a ticket", func(f wsFrame) bool { return f.Type == "error" })
	e.stop() // the hub writes what it holds when it stops
	now := time.Now().UTC()
	facts, err := e.db.ReportFacts(crm.AsSystem(t.Context()), crm.ReportFilter{From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	secs := map[int64]int64{}
	for _, f := range facts {
		secs[f.ID] = f.HandleSecs
	}
	if s := secs[res.TicketID]; s < 1 || s > 3 {
		t.Errorf("handle time of the viewed ticket: %d s, want about 1.5", s)
	}
	if s := secs[other.TicketID]; s != 0 {
		t.Errorf("handle time of a ticket not viewed: %d s", s)
	}
}
