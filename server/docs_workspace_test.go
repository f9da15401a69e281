package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

// The snooze, saved views and notifications sections of docs/api.md work as written:
// their curl commands run against a real server and answer with the documented fields.
func TestDocsWorkspaceExamples(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "Shop")
	dana := e.agent("dana@shop.example", crm.RoleAgent, inbox)
	r := e.inbound(inbox, "d1", "alice@example.com", "where is my order")
	a, err := e.db.AgentByEmail(ctxSystem(), "dana@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	dana.mustDo("PATCH", "/api/v1/tickets/"+itoa(r.TicketID), map[string]any{"assignee_id": a.ID, "priority": "urgent"}, 200, nil)
	vars := map[string]string{"CSRF": dana.csrf, "TICKET": itoa(r.TicketID)}
	run := func(section string, want []int, after func(i int, body []byte)) {
		t.Helper()
		examples := docExamples(t, "api.md", section)
		if len(examples) != len(want) {
			t.Fatalf("%s has %d examples, this test knows %d", section, len(examples), len(want))
		}
		for i, ex := range examples {
			// The documented snooze time moves to tomorrow, so that it stays in the future.
			cmd := strings.ReplaceAll(ex.command, "2026-12-08T08:00:00Z", time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339))
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
	run("## Snooze", []int{200, 200}, func(i int, body []byte) {
		if i == 1 && !strings.Contains(string(body), fmt.Sprintf(`"id":%d`, r.TicketID)) {
			t.Fatalf("the snoozed list lacks the snoozed ticket: %s", body)
		}
	})
	run("## Saved views", []int{201, 200, 200, 204}, func(i int, body []byte) {
		if i == 0 {
			var v struct {
				ID    int64
				Count int
			}
			json.Unmarshal(body, &v)
			if v.Count != 0 { // the ticket is snoozed: an open list leaves it out
				t.Fatalf("view count %d, want 0: %s", v.Count, body)
			}
			vars["ID"] = itoa(v.ID)
		}
	})
	if _, err := e.db.SaveNotifications(ctxSystem(), []*crm.Notification{{AgentID: a.ID, Kind: crm.NotifyMention,
		TicketID: r.TicketID, InboxID: inbox, Actor: crm.ActorRef{Kind: "agent", ID: 1}, Text: "@Dana can you check the tracking?",
		Dedupe: "docs"}}, 0); err != nil {
		t.Fatal(err)
	}
	run("## Notifications", []int{200, 200}, nil)
}
