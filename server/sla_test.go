package server_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/reports"
)

// An SLA warning travels like a typing signal: live, to the agents of the ticket's inbox.
func TestHubForwardsSLAWarnings(t *testing.T) {
	e := newHubEnv(t)
	inA, inB := e.inbox("api", "Shop A"), e.inbox("api", "Shop B")
	alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
	bob := e.dial(e.agent("bob@test.example", crm.RoleAgent, inB))
	e.admin.mustDo("POST", "/api/v1/sla-policies", map[string]any{"name": "Fast", "first_response_minutes": 5, "warn_minutes": 30}, 201, nil)
	ra := e.inbound(inA, "a-1", "anna@example.com", "parcel-missing")

	svc := reports.New(e.db, e.bus, reports.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := svc.Watch(crm.AsSystem(context.Background())); err != nil { // within 30 minutes of the due time: warn
		t.Fatal(err)
	}
	f := alice.waitFor("sla.warning", func(f wsFrame) bool { return f.Type == crm.EventSLAWarning })
	if f.ID != 0 || f.num("ticket_id") != ra.TicketID || f.str("target") != "first_response" {
		t.Fatalf("warning frame %s", f.raw)
	}
	due, err := time.Parse(time.RFC3339, f.str("due_at"))
	if err != nil || time.Until(due) > 5*time.Minute {
		t.Fatalf("due_at %q: %v", f.str("due_at"), err)
	}
	e.inbound(inB, "b-1", "bert@example.com", "later-in-b")
	bob.waitText("message.created", "later-in-b")
	for _, f := range bob.frames {
		if strings.Contains(f.raw, "sla.warning") {
			t.Fatalf("bob got a warning of another inbox: %s", f.raw)
		}
	}
}
