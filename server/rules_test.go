package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/automation"
	"parley/channels/email"
	"parley/crm"
)

// newRulesEnv is an env with the rules runner running, at most rate automated actions
// a ticket a minute (0: the default).
func newRulesEnv(t *testing.T, rate int) *env {
	t.Helper()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.Default()
	}
	go func() {
		defer close(done)
		automation.New(automation.Options{Store: e.db, Bus: e.bus, Poll: 10 * time.Millisecond, Rate: rate, Logger: logger}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	// The runner starts its cursor at the newest event when it first runs: wait for it,
	// so that what the test does next is after it.
	waitFor(t, "the rules runner to start", func() bool {
		var n int
		for _, row := range e.st.Raw(t, `SELECT count(*) FROM rule_cursor`) {
			n = int(asInt(row[0]))
		}
		return n == 1
	})
	return e
}

func asInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

// waitFor waits until ok holds, for up to 15 seconds.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits until the rules runner has handled every stored event, those its own
// actions stored included.
func (e *env) settle(t *testing.T) {
	t.Helper()
	waitFor(t, "the rules runner to handle every event", func() bool {
		// The cursor first: an event a rule's action stored was stored before the cursor
		// passed the event that triggered it, so it is in the log read after.
		cursor, err := e.db.RuleCursor(ctxSystem())
		if err != nil {
			t.Fatal(err)
		}
		var last int64
		for {
			list, err := e.db.Events(ctxSystem(), last, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 {
				break
			}
			last = list[len(list)-1].ID
		}
		return last <= cursor
	})
}

type ruleOut struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	Position int    `json:"position"`
}

type dryRunOut struct {
	Matches []struct {
		ID      int64  `json:"id"`
		Subject string `json:"subject"`
	} `json:"matches"`
	Checked int `json:"checked"`
}

func (d dryRunOut) ids() []int64 {
	var out []int64
	for _, m := range d.Matches {
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return out
}

type ticketOut struct {
	ID         int64    `json:"id"`
	Tags       []string `json:"tags"`
	Priority   string   `json:"priority"`
	AssigneeID *int64   `json:"assignee_id"`
}

type messagesOut struct {
	Messages []struct {
		Direction string `json:"direction"`
		Text      string `json:"text"`
	} `json:"messages"`
}

func (e *env) messages(t *testing.T, ticket int64) messagesOut {
	var out messagesOut
	e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(ticket)+"/messages", nil, 200, &out)
	return out
}

func (m messagesOut) count(direction, text string) int {
	n := 0
	for _, x := range m.Messages {
		if x.Direction == direction && strings.Contains(x.Text, text) {
			n++
		}
	}
	return n
}

// TestRulesAPI: managers list, create, move, change and delete rules; agents may not;
// bad input is a clear 400 that changes nothing.
func TestRulesAPI(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "API")
	mgr := e.agent("mgr@shop.example", crm.RoleManager)
	agent := e.agent("agent@shop.example", crm.RoleAgent, inbox)
	body := func(name string) map[string]any {
		return map[string]any{"name": name, "trigger": map[string]any{"event": "ticket.created"},
			"conditions": map[string]any{"all": []any{map[string]any{"field": "ticket.inbox_id", "op": "is", "value": inbox}}},
			"actions":    []any{map[string]any{"type": "set_priority", "priority": "high"}}}
	}
	var a, b ruleOut
	mgr.mustDo("POST", "/api/v1/rules", body("A"), 201, &a)
	mgr.mustDo("POST", "/api/v1/rules", body("B"), 201, &b)
	if a.Enabled || a.Position != 1 || b.Position != 2 {
		t.Fatalf("created %+v %+v", a, b)
	}
	mgr.mustDo("PATCH", "/api/v1/rules/"+itoa(b.ID), map[string]any{"position": 1, "enabled": true}, 200, &b)
	var list struct {
		Rules    []ruleOut           `json:"rules"`
		Triggers []string            `json:"triggers"`
		Fields   map[string][]string `json:"fields"`
		Actions  []string            `json:"actions"`
	}
	mgr.mustDo("GET", "/api/v1/rules", nil, 200, &list)
	if len(list.Rules) != 2 || list.Rules[0].Name != "B" || !list.Rules[0].Enabled || list.Rules[1].Name != "A" ||
		!slices.Contains(list.Triggers, "time.pending") || !slices.Equal(list.Fields["order.total"], []string{"eq", "gt", "gte", "lt", "lte"}) ||
		!slices.Contains(list.Actions, "send_canned") {
		t.Fatalf("list %+v", list)
	}

	for _, bad := range []map[string]any{
		{"name": "x"},
		{"name": "x", "trigger": map[string]any{"event": "ticket.created"}, "actions": []any{map[string]any{"type": "assign_agent", "agent_id": 999}}},
		{"name": "x", "trigger": map[string]any{"event": "ticket.created"}, "actions": []any{map[string]any{"type": "send_canned", "canned_id": 5}}},
		{"name": "x", "trigger": map[string]any{"event": "ticket.created"}, "actions": []any{map[string]any{"type": "send_webhook", "webhook_id": 5}}},
		{"name": "x", "trigger": map[string]any{"event": "ticket.created"}, "actions": []any{map[string]any{"type": "resolve"}},
			"conditions": map[string]any{"all": []any{map[string]any{"field": "ticket.business_hours", "op": "in", "value": 3}}}},
		{"name": "x", "trigger": map[string]any{"event": "ticket.created"}, "actions": []any{map[string]any{"type": "resolve"}},
			"conditions": map[string]any{"all": []any{map[string]any{"field": "order.total", "op": "gt", "value": "many"}}}},
		{"name": "x", "color": "red"},
	} {
		status, data := mgr.do("POST", "/api/v1/rules", bad)
		if status != 400 || errCode(t, data) != "invalid" {
			t.Errorf("POST %v: %d %s", bad, status, data)
		}
	}
	status, data := mgr.do("PATCH", "/api/v1/rules/"+itoa(a.ID), map[string]any{"actions": []any{}})
	if status != 400 {
		t.Errorf("PATCH without actions: %d %s", status, data)
	}
	mgr.mustDo("GET", "/api/v1/rules", nil, 200, &list)
	if len(list.Rules) != 2 {
		t.Fatalf("bad input changed the rules: %+v", list.Rules)
	}

	for _, req := range [][2]string{{"GET", "/api/v1/rules"}, {"POST", "/api/v1/rules"}, {"PATCH", "/api/v1/rules/" + itoa(a.ID)},
		{"DELETE", "/api/v1/rules/" + itoa(a.ID)}, {"POST", "/api/v1/rules/dry-run"}} {
		if status, _ := agent.do(req[0], req[1], body("no")); status != 403 {
			t.Errorf("agent %s %s: %d", req[0], req[1], status)
		}
		if status, _ := e.anon().do(req[0], req[1], body("no")); status != 401 {
			t.Errorf("nobody %s %s: %d", req[0], req[1], status)
		}
	}
	mgr.mustDo("DELETE", "/api/v1/rules/"+itoa(a.ID), nil, 204, nil)
	mgr.mustDo("GET", "/api/v1/rules", nil, 200, &list)
	if len(list.Rules) != 1 || list.Rules[0].Position != 1 {
		t.Fatalf("after delete %+v", list.Rules)
	}
}

// TestRuleDryRunMatchesWhatItDoes: the dry run names the tickets the rule then acts on
// once it is enabled and its trigger happens to every ticket, no more and no fewer; the
// rule's changes carry its actor and name in the ticket's history.
func TestRuleDryRunMatchesWhatItDoes(t *testing.T) {
	e := newRulesEnv(t, 0)
	inbox := e.inbox(crm.KindAPI, "API")
	mgr := e.agent("mgr@shop.example", crm.RoleManager)
	var tickets []int64
	for i, text := range []string{"Refund please", "Where is my parcel?", "I want a REFUND for order 1001", "Hello"} {
		tickets = append(tickets, e.inbound(inbox, "dry-"+itoa(int64(i)), "alice@example.com", text).TicketID)
	}
	rule := map[string]any{"name": "Tag refunds", "trigger": map[string]any{"event": "ticket.updated"},
		"conditions": map[string]any{"all": []any{map[string]any{"field": "ticket.subject", "op": "contains", "value": "refund"}}},
		"actions": []any{map[string]any{"type": "add_tags", "tags": []string{"refund"}},
			map[string]any{"type": "add_note", "text": "Refund request from {{customer.first_name}}"}}}
	var dry dryRunOut
	mgr.mustDo("POST", "/api/v1/rules/dry-run", rule, 200, &dry)
	want := []int64{tickets[0], tickets[2]}
	if !slices.Equal(dry.ids(), want) || dry.Checked != 4 {
		t.Fatalf("dry run %+v, want %v of 4", dry, want)
	}
	var r ruleOut
	mgr.mustDo("POST", "/api/v1/rules", rule, 201, &r)
	var stored dryRunOut
	mgr.mustDo("POST", "/api/v1/rules/"+itoa(r.ID)+"/dry-run", nil, 200, &stored)
	if !slices.Equal(stored.ids(), want) {
		t.Fatalf("dry run of the stored rule %v, want %v", stored.ids(), want)
	}
	// The dry run changed nothing.
	e.settle(t)
	for _, id := range tickets {
		var tk ticketOut
		e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(id), nil, 200, &tk)
		if slices.Contains(tk.Tags, "refund") {
			t.Fatalf("ticket %d tagged before the rule was enabled", id)
		}
	}

	mgr.mustDo("PATCH", "/api/v1/rules/"+itoa(r.ID), map[string]any{"enabled": true}, 200, nil)
	for _, id := range tickets {
		e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(id), map[string]any{"priority": "high"}, 200, nil)
	}
	e.settle(t)
	var acted []int64
	for _, id := range tickets {
		var tk ticketOut
		e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(id), nil, 200, &tk)
		notes := e.messages(t, id).count("note", "Refund request from Alice")
		if slices.Contains(tk.Tags, "refund") {
			acted = append(acted, id)
			if notes != 1 {
				t.Errorf("ticket %d has %d notes of the rule", id, notes)
			}
		} else if notes != 0 {
			t.Errorf("ticket %d has a note but no tag", id)
		}
	}
	if !slices.Equal(acted, want) {
		t.Fatalf("the rule acted on %v; the dry run said %v", acted, want)
	}

	var hist struct {
		Events []struct {
			Type  string `json:"type"`
			Actor struct {
				Kind string `json:"kind"`
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"actor"`
		} `json:"events"`
	}
	e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(want[0])+"/events", nil, 200, &hist)
	var byRule []string
	for _, ev := range hist.Events {
		if ev.Actor.Kind == "rule" {
			if ev.Actor.ID != r.ID || ev.Actor.Name != "Tag refunds" {
				t.Errorf("actor %+v", ev.Actor)
			}
			byRule = append(byRule, ev.Type)
		}
	}
	if !slices.Equal(byRule, []string{"ticket.updated", "message.created"}) {
		t.Errorf("events by rule:%d in the history: %v", r.ID, byRule)
	}
	var audit struct {
		Entries []struct {
			Type  string `json:"type"`
			Actor struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"actor"`
		} `json:"entries"`
	}
	e.admin.mustDo("GET", "/api/v1/audit", nil, 200, &audit)
	n := 0
	for _, x := range audit.Entries {
		if x.Actor.Kind == "rule" && x.Actor.Name == "Tag refunds" {
			n++
		}
	}
	if n != 4 { // a tag and a note on each of two tickets
		t.Errorf("audit log lists %d changes by the rule, want 4", n)
	}
}

// TestRuleLoopGuard: a rule whose own change is its trigger acts once.
func TestRuleLoopGuard(t *testing.T) {
	e := newRulesEnv(t, 0)
	inbox := e.inbox(crm.KindAPI, "API")
	id := e.inbound(inbox, "loop-1", "alice@example.com", "Hello").TicketID
	e.admin.mustDo("POST", "/api/v1/rules", map[string]any{"name": "On every change", "enabled": true,
		"trigger": map[string]any{"event": "ticket.updated"},
		"actions": []any{map[string]any{"type": "add_tags", "tags": []string{"seen"}},
			map[string]any{"type": "add_note", "text": "The rule ran"}}}, 201, nil)
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(id), map[string]any{"priority": "urgent"}, 200, nil)
	e.settle(t)
	if n := e.messages(t, id).count("note", "The rule ran"); n != 1 {
		t.Fatalf("the rule ran %d times, want once", n)
	}
}

// TestRuleRateCap: two rules that undo each other's change would run forever; the cap
// of automated actions a ticket gets a minute stops them.
func TestRuleRateCap(t *testing.T) {
	e := newRulesEnv(t, 4)
	inbox := e.inbox(crm.KindAPI, "API")
	id := e.inbound(inbox, "cap-1", "alice@example.com", "Hello").TicketID
	for _, r := range [][2]string{{"ping", "pong"}, {"pong", "ping"}} {
		e.admin.mustDo("POST", "/api/v1/rules", map[string]any{"name": "Say " + r[0], "enabled": true,
			"trigger": map[string]any{"event": "ticket.updated"},
			"actions": []any{map[string]any{"type": "add_tags", "tags": []string{r[0]}},
				map[string]any{"type": "remove_tags", "tags": []string{r[1]}}}}, 201, nil)
	}
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(id), map[string]any{"priority": "urgent"}, 200, nil)
	e.settle(t)
	var hist struct {
		Events []struct {
			Actor struct{ Kind string } `json:"actor"`
		} `json:"events"`
	}
	e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(id)+"/events", nil, 200, &hist)
	n := 0
	for _, ev := range hist.Events {
		if ev.Actor.Kind == "rule" {
			n++
		}
	}
	if n != 2 { // 2 actions each: the cap of 4 lets each rule act once
		t.Fatalf("%d changes by rules, want 2", n)
	}
}

// TestRuleNoAutoReply: a rule's canned reply goes to a customer who wrote, never to an
// auto-reply (as the email channel tags it) nor to a number that opted out.
func TestRuleNoAutoReply(t *testing.T) {
	e := newRulesEnv(t, 0)
	inbox := e.inbox(crm.KindAPI, "API")
	phone, err := e.db.CreateInbox(ctxSystem(), &crm.Inbox{Kind: crm.KindPhone, Name: "SMS", Enabled: true, Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetPhoneOptOut(ctxSystem(), phone.ID, "+15550001111", true); err != nil {
		t.Fatal(err)
	}
	var canned struct{ ID int64 }
	e.admin.mustDo("POST", "/api/v1/canned-responses", map[string]any{"title": "Thanks",
		"body": "Hi {{customer.first_name}}, thanks for writing; ticket #{{ticket.id}} is with us."}, 201, &canned)
	e.admin.mustDo("POST", "/api/v1/rules", map[string]any{"name": "Acknowledge", "enabled": true,
		"trigger": map[string]any{"event": "ticket.created"},
		"actions": []any{map[string]any{"type": "send_canned", "canned_id": canned.ID}}}, 201, nil)

	human := e.inbound(inbox, "human-1", "alice@example.com", "Where is my parcel?").TicketID
	auto, err := e.db.Ingest(ctxSystem(), &crm.Inbound{InboxID: inbox, Channel: crm.ChannelAPI, ExternalID: "ooo-1",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "away@example.com"}}, FromName: "Bob Away",
		Subject: "Out of office", Text: "I am away until Monday.", NewTicketTags: []string{email.TagAutoReply}})
	if err != nil {
		t.Fatal(err)
	}
	stop, err := e.db.Ingest(ctxSystem(), &crm.Inbound{InboxID: phone.ID, Channel: crm.ChannelSMS, ExternalID: "SM1",
		From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15550001111"}}, FromName: "Carl Stop", Text: "Where is my order?"})
	if err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	want := "Hi Alice, thanks for writing; ticket #" + itoa(human) + " is with us."
	if n := e.messages(t, human).count("out", want); n != 1 {
		t.Fatalf("the customer got %d replies %q: %+v", n, want, e.messages(t, human))
	}
	if n := e.messages(t, auto.TicketID).count("out", ""); n != 0 {
		t.Errorf("the auto-reply got %d replies", n)
	}
	if n := e.messages(t, stop.TicketID).count("out", ""); n != 0 {
		t.Errorf("the opted-out number got %d replies", n)
	}
}

// The automation rules section of docs/api.md works as written: its curl commands run
// against a real server and answer with the documented fields.
func TestDocsRuleExamples(t *testing.T) {
	e := newEnv(t)
	e.inbound(e.inbox(crm.KindAPI, "Shop"), "docs-1", "anna@example.com", "Refund for order 1001")
	e.inbound(e.inbox(crm.KindAPI, "Chat"), "docs-2", "ben@example.com", "Where is my parcel?")
	if _, err := e.db.CreateWebhook(ctxSystem(), &crm.Webhook{URL: "https://hooks.example.com/parley?key=1", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e.agent("mgr@shop.example", crm.RoleManager)
	a, err := e.db.AgentByEmail(ctxSystem(), "mgr@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.db.CreateToken(ctxSystem(), a.ID, "docs", nil)
	if err != nil {
		t.Fatal(err)
	}
	examples := docExamples(t, "api.md", "## Automation rules")
	wantStatus := []int{201, 200, 200, 200, 204}
	if len(examples) != len(wantStatus) {
		t.Fatalf("docs/api.md has %d rule examples, this test knows %d", len(examples), len(wantStatus))
	}
	vars := map[string]string{"TOKEN": tok}
	for i, ex := range examples {
		status, body := runCurl(t, ex.command, vars, e.srv.URL, e.admin)
		if status != wantStatus[i] {
			t.Fatalf("example %d: %s\n= %d %s", i+1, ex.command, status, body)
		}
		if ex.answer != "" {
			var doc, got any
			if err := json.Unmarshal([]byte(ex.answer), &doc); err != nil {
				t.Fatalf("example %d: the documented answer is not JSON: %v", i+1, err)
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("example %d: answer %s: %v", i+1, body, err)
			}
			sameKeys(t, fmt.Sprintf("example %d", i+1), doc, got)
		}
		if i == 3 && !strings.Contains(string(body), `"url":"https://hooks.example.com/parley"`) {
			t.Errorf("the rules list offers the webhook as %s", body)
		}
	}
	if status, _ := e.admin.do("GET", "/api/v1/rules/1", nil); status != 404 {
		t.Fatalf("the deleted rule answers %d", status)
	}
}

// TestRuleTimePending: a time-based rule acts once on a ticket pending for its hours,
// and not on one pending for less, however often the scan looks.
func TestRuleTimePending(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "API")
	stale := e.inbound(inbox, "stale-1", "alice@example.com", "Waiting").TicketID
	fresh := e.inbound(inbox, "fresh-1", "bob@example.com", "Waiting too").TicketID
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(stale), map[string]any{"status": "pending"}, 200, nil)
	tk, err := e.db.Ticket(ctxSystem(), stale)
	if err != nil {
		t.Fatal(err)
	}
	// The fresh ticket goes pending at least 20 ms later.
	for time.Since(tk.UpdatedAt) < 20*time.Millisecond {
		time.Sleep(time.Millisecond)
	}
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(fresh), map[string]any{"status": "pending"}, 200, nil)
	// On the runner's clock the stale ticket has waited 48 hours and 10 ms, the fresh one
	// less than 48 hours.
	later := tk.UpdatedAt.Add(48*time.Hour + 10*time.Millisecond)
	e.admin.mustDo("POST", "/api/v1/rules", map[string]any{"name": "Nudge", "enabled": true,
		"trigger": map[string]any{"event": "time.pending", "hours": 48},
		"actions": []any{map[string]any{"type": "add_note", "text": "Pending for two days"}}}, 201, nil)
	var rules []*crm.Rule
	if rules, err = e.db.Rules(ctxSystem()); err != nil || len(rules) != 1 {
		t.Fatal(rules, err)
	}
	r := automation.New(automation.Options{Store: e.db, Now: func() time.Time { return later },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := crm.AsSystem(context.Background())
	// Three scans, as the runner makes one a minute.
	for range 3 {
		r.Load(ctx)
		r.ScanTimed(ctx)
	}
	if n := e.messages(t, stale).count("note", "Pending for two days"); n != 1 {
		t.Errorf("the stale ticket got %d notes, want 1", n)
	}
	if n := e.messages(t, fresh).count("note", "Pending for two days"); n != 0 {
		t.Errorf("the fresh ticket got %d notes", n)
	}
	if at, err := e.db.RuleFiredAt(ctxSystem(), rules[0].ID, stale); err != nil || at.IsZero() {
		t.Errorf("no mark of the rule on the stale ticket: %v %v", at, err)
	}
}

// TestRuleTeamAndSnooze: a rule assigns a new ticket to a team and snoozes it.
func TestRuleTeamAndSnooze(t *testing.T) {
	e := newRulesEnv(t, 0)
	inbox := e.inbox(crm.KindAPI, "API")
	var team struct{ ID int64 }
	e.admin.mustDo("POST", "/api/v1/teams", map[string]any{"name": "Returns"}, 201, &team)
	e.admin.mustDo("POST", "/api/v1/rules", map[string]any{"name": "Returns wait", "enabled": true,
		"trigger": map[string]any{"event": "ticket.created"},
		"actions": []any{map[string]any{"type": "assign_team", "team_id": team.ID},
			map[string]any{"type": "snooze", "hours": 2, "until_reply": true}}}, 201, nil)
	start := time.Now()
	id := e.inbound(inbox, "team-1", "alice@example.com", "Return label").TicketID
	e.settle(t)
	var tk struct {
		TeamID           *int64     `json:"team_id"`
		SnoozedUntil     *time.Time `json:"snoozed_until"`
		SnoozeUntilReply bool       `json:"snooze_until_reply"`
	}
	e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(id), nil, 200, &tk)
	if tk.TeamID == nil || *tk.TeamID != team.ID || !tk.SnoozeUntilReply || tk.SnoozedUntil == nil ||
		tk.SnoozedUntil.Before(start.Add(2*time.Hour-time.Second)) || tk.SnoozedUntil.After(time.Now().Add(2*time.Hour)) {
		t.Fatalf("ticket after the rule: team %v, snoozed until %v, until reply %v", tk.TeamID, tk.SnoozedUntil, tk.SnoozeUntilReply)
	}
}
