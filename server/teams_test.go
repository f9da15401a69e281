package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"parley/crm"
)

// TestTeamsAndAssignmentRoutes: managers make teams and set auto-assignment, agents read
// them and put tickets in a team (PATCH, bulk, the list filter), and each agent sets its
// own availability, which others see as offline while it has no socket.
func TestTeamsAndAssignmentRoutes(t *testing.T) {
	e := newEnv(t)
	shop := e.inbox("api", "Shop")
	mgr := e.agent("mia@test.example", crm.RoleManager)
	dana := e.agent("dana@test.example", crm.RoleAgent, shop)
	danaA, _ := e.db.AgentByEmail(ctxSystem(), "dana@test.example")

	if code, body := dana.do("POST", "/api/v1/teams", map[string]any{"name": "Mine"}); code != http.StatusForbidden {
		t.Errorf("agent creates a team: %d %s", code, body)
	}
	var team crm.Team
	mgr.mustDo("POST", "/api/v1/teams", map[string]any{"name": "Billing", "agent_ids": []int64{danaA.ID}, "assignment": "round_robin"}, 201, &team)
	for _, bad := range []map[string]any{{"name": ""}, {"name": "X", "assignment": "random"}, {"name": "X", "agent_ids": []int64{999}}} {
		if code, body := mgr.do("POST", "/api/v1/teams", bad); code != http.StatusBadRequest {
			t.Errorf("%v: %d %s", bad, code, body)
		}
	}
	if code, _ := mgr.do("POST", "/api/v1/teams", map[string]any{"name": "billing"}); code != http.StatusConflict {
		t.Errorf("same name: %d", code)
	}
	var list struct{ Teams []crm.Team }
	dana.mustDo("GET", "/api/v1/teams", nil, 200, &list)
	if len(list.Teams) != 1 || list.Teams[0].Assignment != crm.AssignRoundRobin || list.Teams[0].AgentIDs[0] != danaA.ID {
		t.Fatalf("teams %+v", list)
	}
	if code, _ := dana.do("PATCH", fmt.Sprintf("/api/v1/teams/%d", team.ID), map[string]any{"name": "X"}); code != http.StatusForbidden {
		t.Errorf("agent renames a team: %d", code)
	}

	a := e.inbound(shop, "t1", "ann@example.com", "Invoice")
	b := e.inbound(shop, "t2", "bob@example.com", "Refund")
	var tk crm.Ticket
	dana.mustDo("PATCH", fmt.Sprintf("/api/v1/tickets/%d", a.TicketID), map[string]any{"team_id": team.ID}, 200, &tk)
	if tk.TeamID == nil || *tk.TeamID != team.ID {
		t.Fatalf("team_id after PATCH: %+v", tk)
	}
	if code, _ := dana.do("PATCH", fmt.Sprintf("/api/v1/tickets/%d", b.TicketID), map[string]any{"team_id": "x"}); code != http.StatusBadRequest {
		t.Errorf("bad team_id: %d", code)
	}
	if code, _ := dana.do("PATCH", fmt.Sprintf("/api/v1/tickets/%d", b.TicketID), map[string]any{"team_id": team.ID + 50}); code != http.StatusBadRequest {
		t.Errorf("unknown team: %d", code)
	}
	var out bulkAnswer
	dana.mustDo("POST", "/api/v1/tickets/bulk", map[string]any{"ticket_ids": []int64{b.TicketID}, "team_id": team.ID}, 200, &out)
	if len(out.Tickets) != 1 || out.Tickets[0].TeamID == nil {
		t.Fatalf("bulk team: %+v", out)
	}
	var tl struct{ Tickets []crm.Ticket }
	dana.mustDo("GET", fmt.Sprintf("/api/v1/tickets?team=%d", team.ID), nil, 200, &tl)
	if len(tl.Tickets) != 2 {
		t.Fatalf("team filter: %d tickets", len(tl.Tickets))
	}
	dana.mustDo("PATCH", fmt.Sprintf("/api/v1/tickets/%d", a.TicketID), map[string]any{"team_id": nil}, 200, &tk)
	if tk.TeamID != nil {
		t.Fatalf("team_id null kept the team")
	}

	// Settings: agents read, managers write.
	var st crm.AssignmentSettings
	dana.mustDo("GET", "/api/v1/assignment", nil, 200, &st)
	if st.OfflineMinutes != 15 || st.Capacity["chat"] != 3 || st.Capacity["email"] != 15 {
		t.Fatalf("default settings %+v", st)
	}
	if code, _ := dana.do("PUT", "/api/v1/assignment", st); code != http.StatusForbidden {
		t.Errorf("agent writes settings: %d", code)
	}
	mgr.mustDo("PUT", "/api/v1/assignment", map[string]any{"offline_minutes": 30, "capacity": map[string]int{"chat": 2},
		"inboxes": []map[string]any{{"inbox_id": shop, "mode": "least_loaded"}}}, 200, &st)
	if st.OfflineMinutes != 30 || st.Capacity["chat"] != 2 || st.Capacity["email"] != 15 || len(st.Inboxes) != 1 {
		t.Fatalf("saved settings %+v", st)
	}
	for _, bad := range []map[string]any{{"capacity": map[string]int{"fax": 2}}, {"offline_minutes": -1},
		{"inboxes": []map[string]any{{"inbox_id": 999, "mode": "round_robin"}}}} {
		if code, body := mgr.do("PUT", "/api/v1/assignment", bad); code != http.StatusBadRequest {
			t.Errorf("%v: %d %s", bad, code, body)
		}
	}

	// Availability.
	var me struct{ Agent crm.Agent }
	dana.mustDo("PUT", "/api/v1/me/availability", map[string]string{"availability": "away"}, 200, &me)
	if me.Agent.Availability != crm.Away {
		t.Fatalf("availability %+v", me.Agent)
	}
	dana.mustDo("GET", "/api/v1/me", nil, 200, &me)
	if me.Agent.Availability != crm.Away {
		t.Fatalf("/me availability %q", me.Agent.Availability)
	}
	if code, _ := dana.do("PUT", "/api/v1/me/availability", map[string]string{"availability": "busy"}); code != http.StatusBadRequest {
		t.Errorf("bad availability: %d", code)
	}
	var agents struct {
		Agents []struct {
			ID           int64
			Availability string
		}
	}
	mgr.mustDo("GET", "/api/v1/agents", nil, 200, &agents)
	for _, a := range agents.Agents {
		if a.ID == danaA.ID && a.Availability != crm.Unavailable {
			t.Errorf("dana without a socket is %q, want offline", a.Availability)
		}
	}

	if code, _ := mgr.do("DELETE", fmt.Sprintf("/api/v1/teams/%d", team.ID), nil); code != http.StatusNoContent {
		t.Errorf("delete team: %d", code)
	}
	for _, typ := range []string{"team.created", "team.deleted", "settings.updated"} {
		var audit struct {
			Entries []struct{ Type string } `json:"entries"`
		}
		e.admin.mustDo("GET", "/api/v1/audit?type="+typ, nil, 200, &audit)
		if len(audit.Entries) == 0 {
			t.Errorf("no %s in the audit log", typ)
		}
	}
	if code, _ := mgr.do("DELETE", fmt.Sprintf("/api/v1/teams/%d", team.ID), nil); code != http.StatusNotFound {
		t.Errorf("delete team again: %d", code)
	}
}

// TestMacroRoutes: agents make personal macros and managers shared ones; applying one
// makes its changes, and queues its reply with the placeholders filled in only when
// asked; bulk applies it to each ticket the agent may see.
func TestMacroRoutes(t *testing.T) {
	e := newEnv(t)
	shop, other := e.inbox("api", "Shop"), e.inbox("api", "Other")
	mgr := e.agent("mia@test.example", crm.RoleManager)
	dana := e.agent("dana@test.example", crm.RoleAgent, shop)
	sam := e.agent("sam@test.example", crm.RoleAgent, shop)
	danaA, _ := e.db.AgentByEmail(ctxSystem(), "dana@test.example")

	if code, _ := dana.do("POST", "/api/v1/macros", map[string]any{"name": "Shared", "body": "x", "shared": true}); code != http.StatusForbidden {
		t.Errorf("agent makes a shared macro: %d", code)
	}
	var shared, mine crm.Macro
	mgr.mustDo("POST", "/api/v1/macros", map[string]any{"name": "Refund sent", "shared": true,
		"body":    "Hi {{customer.first_name}}, your refund for ticket {{ticket.id}} is on its way. {{agent.name}}",
		"actions": map[string]any{"status": "resolved", "add_tags": []string{"refund"}, "note": "Refunded"}}, 201, &shared)
	dana.mustDo("POST", "/api/v1/macros", map[string]any{"name": "Chase", "actions": map[string]any{"status": "pending", "assign_to_me": true}}, 201, &mine)
	if code, _ := dana.do("POST", "/api/v1/macros", map[string]any{"name": "Nothing"}); code != http.StatusBadRequest {
		t.Errorf("empty macro: %d", code)
	}
	var list struct{ Macros []crm.Macro }
	sam.mustDo("GET", "/api/v1/macros", nil, 200, &list)
	if len(list.Macros) != 1 || list.Macros[0].ID != shared.ID {
		t.Errorf("sam sees %+v", list.Macros)
	}
	if code, _ := sam.do("PATCH", fmt.Sprintf("/api/v1/macros/%d", mine.ID), map[string]any{"name": "x"}); code != http.StatusNotFound {
		t.Errorf("sam edits dana's macro: %d", code)
	}
	if code, _ := sam.do("PATCH", fmt.Sprintf("/api/v1/macros/%d", shared.ID), map[string]any{"name": "x"}); code != http.StatusForbidden {
		t.Errorf("sam edits a shared macro: %d", code)
	}

	a := e.inbound(shop, "m1", "ann@example.com", "Refund?")
	// Without send: the actions, and the reply filled in for the composer.
	var res struct {
		Ticket crm.Ticket
		Reply  *crm.Message
		Note   *crm.Message
		Body   string
	}
	dana.mustDo("POST", fmt.Sprintf("/api/v1/tickets/%d/macros/%d", a.TicketID, shared.ID), nil, 200, &res)
	want := fmt.Sprintf("Hi Alice, your refund for ticket %d is on its way. dana@test.example", a.TicketID)
	if res.Ticket.Status != crm.StatusResolved || res.Reply != nil || res.Body != want || res.Note == nil || res.Note.Text != "Refunded" {
		t.Fatalf("apply: %+v", res)
	}
	b := e.inbound(shop, "m2", "bob@example.com", "Refund too?")
	dana.mustDo("POST", fmt.Sprintf("/api/v1/tickets/%d/macros/%d", b.TicketID, shared.ID), map[string]any{"send": true}, 200, &res)
	if res.Reply == nil || res.Reply.Status != crm.MsgQueued || res.Reply.Author.ID != danaA.ID {
		t.Fatalf("apply with send: %+v", res)
	}
	if code, _ := sam.do("POST", fmt.Sprintf("/api/v1/tickets/%d/macros/%d", b.TicketID, mine.ID), nil); code != http.StatusNotFound {
		t.Errorf("sam applies dana's macro: %d", code)
	}
	c := e.inbound(shop, "m3", "cy@example.com", "Chase me")
	d := e.inbound(other, "m4", "di@example.com", "Not Dana's")
	var out bulkAnswer
	dana.mustDo("POST", "/api/v1/tickets/bulk", map[string]any{"ticket_ids": []int64{c.TicketID, d.TicketID}, "macro_id": mine.ID}, 200, &out)
	if len(out.Tickets) != 1 || out.Tickets[0].Status != crm.StatusPending || *out.Tickets[0].AssigneeID != danaA.ID ||
		len(out.Errors) != 1 || out.Errors[0].Error.Code != "not_found" {
		t.Fatalf("bulk macro: %+v", out)
	}
	if code, _ := dana.do("POST", "/api/v1/tickets/bulk", map[string]any{"ticket_ids": []int64{c.TicketID}, "macro_id": mine.ID, "status": "open"}); code != http.StatusBadRequest {
		t.Errorf("macro with other changes: %d", code)
	}
	if code, _ := dana.do("DELETE", fmt.Sprintf("/api/v1/macros/%d", mine.ID), nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
}
