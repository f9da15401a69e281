package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"parley/crm"
)

// The teams and macros sections of docs/api.md work as written: their curl commands run
// against a real server, as a manager with a token, and answer with the documented fields.
func TestDocsTeamsAndMacrosExamples(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "Shop") // inbox 1
	e.agent("dana@shop.example", crm.RoleManager, inbox)
	dana := e.bearer("dana@shop.example") // agent 2
	if a, _ := e.db.AgentByEmail(ctxSystem(), "dana@shop.example"); a.ID != 2 || inbox != 1 {
		t.Fatalf("the docs name agent 2 and inbox 1; the test made agent %d, inbox %d", a.ID, inbox)
	}
	r1 := e.inbound(inbox, "d1", "alice@example.com", "Refund?")
	r2 := e.inbound(inbox, "d2", "bob@example.com", "Refund too?")
	vars := map[string]string{"TOKEN": dana.token, "TICKET": itoa(r1.TicketID)}
	run := func(section string, want []int, after func(i int, body []byte)) {
		t.Helper()
		examples := docExamples(t, "api.md", section)
		if len(examples) != len(want) {
			t.Fatalf("%s has %d examples, this test knows %d", section, len(examples), len(want))
		}
		for i, ex := range examples {
			cmd := strings.ReplaceAll(ex.command, "[1042, 1043]", fmt.Sprintf("[%d, %d]", r1.TicketID, r2.TicketID))
			cmd = strings.ReplaceAll(cmd, `"macro_id": 4`, `"macro_id": `+vars["MACRO"])
			status, body := runCurl(t, cmd, vars, e.srv.URL, dana)
			if status != want[i] {
				t.Fatalf("%s example %d: %s\n= %d %s", section, i+1, ex.command, status, body)
			}
			if ex.answer != "" {
				var doc, got any
				if err := json.Unmarshal([]byte(ex.answer), &doc); err != nil {
					t.Fatalf("%s example %d: the documented answer is not JSON: %v", section, i+1, err)
				}
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("%s example %d: answer %s: %v", section, i+1, body, err)
				}
				sameKeys(t, fmt.Sprintf("%s example %d", section, i+1), doc, got)
			}
			if after != nil {
				after(i, body)
			}
		}
	}
	run("## Teams and assignment", []int{201, 200, 200, 200, 200}, nil)
	if tk, _ := e.db.Ticket(ctxSystem(), r1.TicketID); tk.TeamID == nil || *tk.TeamID != 1 {
		t.Errorf("the documented PATCH left team %v", tk.TeamID)
	}
	run("## Macros", []int{201, 200, 200}, func(i int, body []byte) {
		switch i {
		case 0:
			var m crm.Macro
			json.Unmarshal(body, &m)
			vars["MACRO"] = itoa(m.ID)
		case 2:
			var out bulkAnswer
			json.Unmarshal(body, &out)
			if len(out.Tickets) != 2 || len(out.Errors) != 0 {
				t.Errorf("the documented bulk macro: %s", body)
			}
		}
	})
}
