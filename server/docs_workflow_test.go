package server_test

import (
	"encoding/json"
	"testing"

	"parley/crm"
)

// TestDocsWorkflowAndMyStats runs the examples of docs/api.md for the workflow settings
// and an agent's own numbers: a manager turns assign-on-reply off, and an agent reads
// their row (the agent's token, not a manager's: every role may).
func TestDocsWorkflowAndMyStats(t *testing.T) {
	e := newEnv(t)
	e.agent("mia@shop.example", crm.RoleManager)
	manager := e.bearer("mia@shop.example")
	settings := docExamples(t, "api.md", "### Workflow settings: `GET /api/v1/settings/workflow` (everyone) · `PATCH` (managers)")
	if len(settings) != 2 {
		t.Fatalf("docs/api.md has %d workflow examples, this test knows 2", len(settings))
	}
	for i, ex := range settings {
		status, body := runCurl(t, ex.command, map[string]string{"TOKEN": manager.token}, e.srv.URL, manager)
		if status != 200 || compactJSON(t, body) != compactJSON(t, []byte(ex.answer)) {
			t.Fatalf("example %d: %s\n= %d %s, documented %s", i+1, ex.command, status, body, ex.answer)
		}
	}
	set, err := e.db.WorkflowSettings(crm.AsSystem(t.Context()))
	if err != nil || set.AssignOnReply {
		t.Fatalf("after the documented PATCH the store has %+v, %v", set, err)
	}

	e.agent("alex@shop.example", crm.RoleAgent)
	agent := e.bearer("alex@shop.example")
	if status, _ := agent.do("PATCH", "/api/v1/settings/workflow", map[string]any{"assign_on_reply": true}); status != 403 {
		t.Errorf("an agent changed the workflow settings: %d", status)
	}
	me := docExamples(t, "api.md", "### `GET /api/v1/reports/me?from=&to=&tz=`")
	if len(me) != 1 {
		t.Fatalf("docs/api.md has %d examples of reports/me, this test knows 1", len(me))
	}
	status, body := runCurl(t, me[0].command, map[string]string{"TOKEN": agent.token}, e.srv.URL, agent)
	if status != 200 {
		t.Fatalf("%s\n= %d %s", me[0].command, status, body)
	}
	var doc, got any
	if err := json.Unmarshal([]byte(me[0].answer), &doc); err != nil {
		t.Fatalf("the documented answer is not JSON: %v", err)
	}
	json.Unmarshal(body, &got)
	sameKeys(t, "reports/me", doc, got)
	alex, _ := e.db.AgentByEmail(crm.AsSystem(t.Context()), "alex@shop.example")
	if id := got.(map[string]any)["agent"].(map[string]any)["agent_id"]; id != float64(alex.ID) {
		t.Errorf("reports/me answered the row of agent %v, want Alex's %d", id, alex.ID)
	}
	if status, _ := agent.do("GET", "/api/v1/reports/agents?from=2026-11-01&to=2026-11-30", nil); status != 403 {
		t.Errorf("an agent read the team's report: %d", status)
	}
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
