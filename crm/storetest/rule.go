package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Rules", testRules)
	add("RuleCursor", testRuleCursor)
	add("RuleActor", testRuleActor)
}

func ruleNames(list []*crm.Rule) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.Name)
	}
	return out
}

func newRule(name string) *crm.Rule {
	return &crm.Rule{Name: name, Trigger: crm.RuleTrigger{Event: crm.TriggerTicketCreated},
		Conditions: crm.RuleConditions{All: []crm.RuleCondition{{Field: "ticket.subject", Op: "contains", Value: "Refund"}},
			Any: []crm.RuleCondition{{Field: "order.total", Op: "gte", Value: 5000.0}}},
		Actions: []crm.RuleAction{{Type: crm.ActionAddTags, Tags: []string{" Refunds ", "refunds"}}}}
}

// testRules checks who manages rules, their canonical form, their order (create at a
// position, move, delete closes the gap), bad input and a restart.
func testRules(t *testing.T, open Opener) {
	db := open(t, Options{})
	manager := crm.WithAgent(sys(), MustCreateAgent(t, db, "manager@test.example", crm.RoleManager))
	agent := crm.WithAgent(sys(), MustCreateAgent(t, db, "agent@test.example", crm.RoleAgent))

	a, err := db.CreateRule(manager, newRule(" Tag refunds "))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Name != "Tag refunds" || a.Enabled || a.Position != 1 || a.CreatedAt.IsZero() ||
		!slices.Equal(a.Actions[0].Tags, []string{"refunds"}) || a.Conditions.Any[0].Value != int64(5000) ||
		a.Conditions.All[0].Value != "Refund" {
		t.Fatalf("created %+v", a)
	}
	b, err := db.CreateRule(manager, newRule("B"))
	if err != nil {
		t.Fatal(err)
	}
	c := newRule("C")
	c.Position, c.Enabled, c.Stop = 1, true, true
	if c, err = db.CreateRule(manager, c); err != nil {
		t.Fatal(err)
	}
	list, err := db.Rules(manager)
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(list); !slices.Equal(got, []string{"C", "Tag refunds", "B"}) {
		t.Fatalf("order %v", got)
	}
	for i, r := range list {
		if r.Position != i+1 {
			t.Errorf("%s at position %d, want %d", r.Name, r.Position, i+1)
		}
	}
	if !list[0].Enabled || !list[0].Stop {
		t.Errorf("C: %+v", list[0])
	}

	// Move B up to the top, then edit it.
	hours := crm.RuleTrigger{Event: crm.TriggerPending, Hours: 48}
	b, err = db.UpdateRule(manager, b.ID, crm.RuleUpdate{Position: ptr(1), Name: ptr("B2"), Enabled: ptr(true), Trigger: &hours,
		Actions: &[]crm.RuleAction{{Type: crm.ActionSetStatus, Status: crm.StatusOpen}}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "B2" || !b.Enabled || b.Position != 1 || b.Trigger != hours || len(b.Actions) != 1 ||
		!slices.Equal(b.Conditions.All, a.Conditions.All) {
		t.Fatalf("updated %+v", b)
	}
	list, _ = db.Rules(manager)
	if got := ruleNames(list); !slices.Equal(got, []string{"B2", "C", "Tag refunds"}) {
		t.Fatalf("order after the move %v", got)
	}

	// Bad input changes nothing.
	bad := []func(r *crm.Rule){
		func(r *crm.Rule) { r.Name = "" },
		func(r *crm.Rule) { r.Trigger.Event = "nope" },
		func(r *crm.Rule) { r.Conditions.All[0].Op = "gt" },
		func(r *crm.Rule) { r.Actions = nil },
	}
	for i, edit := range bad {
		r := newRule("bad")
		edit(r)
		if _, err := db.CreateRule(manager, r); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("bad rule %d: %v", i, err)
		}
	}
	_, err = db.UpdateRule(manager, a.ID, crm.RuleUpdate{Actions: &[]crm.RuleAction{{Type: "explode"}}})
	wantCode(t, err, crm.EINVALID)
	_, err = db.UpdateRule(manager, a.ID, crm.RuleUpdate{Position: ptr(0), Name: ptr("changed")})
	wantCode(t, err, crm.EINVALID)
	_, err = db.UpdateRule(manager, 9999, crm.RuleUpdate{Name: ptr("x")})
	wantCode(t, err, crm.ENOTFOUND)
	if got, _ := db.Rule(manager, a.ID); got.Name != "Tag refunds" || len(got.Actions) != 1 || got.Actions[0].Type != crm.ActionAddTags {
		t.Errorf("after bad updates %+v", got)
	}

	// Only managers, admins and the system.
	for _, ctx := range []context.Context{agent, context.Background()} {
		_, err := db.Rules(ctx)
		wantCode(t, err, crm.EFORBIDDEN)
		_, err = db.CreateRule(ctx, newRule("x"))
		wantCode(t, err, crm.EFORBIDDEN)
		_, err = db.UpdateRule(ctx, a.ID, crm.RuleUpdate{Enabled: ptr(true)})
		wantCode(t, err, crm.EFORBIDDEN)
		wantCode(t, db.DeleteRule(ctx, a.ID), crm.EFORBIDDEN)
	}

	// Delete closes the gap; a restart keeps the rest.
	if err := db.DeleteRule(manager, c.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteRule(manager, c.ID), crm.ENOTFOUND)
	db.Reopen(t)
	list, err = db.Rules(sys())
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(list); !slices.Equal(got, []string{"B2", "Tag refunds"}) || list[1].Position != 2 {
		t.Fatalf("after delete and restart %v %+v", got, list)
	}
}

// testRuleCursor checks the runner's cursor (it starts at the newest event and survives
// a restart), the marks of time-based rules and the queueing of an event to a webhook.
func testRuleCursor(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	first := newTicket(t, db, inbox.ID, 1)
	events, err := db.Events(sys(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	newest := events[len(events)-1].ID
	got, err := db.RuleCursor(sys())
	if err != nil || got != newest {
		t.Fatalf("first cursor %d, %v; want the newest event %d", got, err, newest)
	}
	newTicket(t, db, inbox.ID, 2)
	if got, _ := db.RuleCursor(sys()); got != newest {
		t.Errorf("cursor moved by itself to %d", got)
	}
	if err := db.SetRuleCursor(sys(), newest+2); err != nil {
		t.Fatal(err)
	}
	db.Reopen(t)
	if got, _ := db.RuleCursor(sys()); got != newest+2 {
		t.Errorf("cursor after restart %d, want %d", got, newest+2)
	}

	r, err := db.CreateRule(sys(), newRule("timed"))
	if err != nil {
		t.Fatal(err)
	}
	if at, err := db.RuleFiredAt(sys(), r.ID, first.TicketID); err != nil || !at.IsZero() {
		t.Fatalf("never fired: %v, %v", at, err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.UTC)
	for _, when := range []time.Time{at.Add(-time.Hour), at} {
		if err := db.MarkRuleFired(sys(), r.ID, first.TicketID, when); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.RuleFiredAt(sys(), r.ID, first.TicketID); err != nil || !got.Equal(at) {
		t.Errorf("fired at %v, %v; want %v", got, err, at)
	}
	// A mark of a deleted rule goes with it.
	if err := db.DeleteRule(sys(), r.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkRuleFired(sys(), r.ID, first.TicketID, at); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.RuleFiredAt(sys(), r.ID, first.TicketID); !got.IsZero() {
		t.Errorf("mark of a deleted rule: %v", got)
	}

	// A rule's webhook action queues the event to one webhook, whatever it subscribes to.
	w := mustWebhook(t, db, "https://hooks.example.com/rules", crm.EventCSATAnswered)
	d, err := db.QueueWebhookEvent(sys(), w.ID, newest)
	if err != nil {
		t.Fatal(err)
	}
	if d.WebhookID != w.ID || d.EventID != newest || d.State != crm.WebhookPending || d.EventType != events[len(events)-1].Type {
		t.Errorf("queued %+v", d)
	}
	if got := deliveries(t, db, w.ID); len(got) != 1 || got[0].ID != d.ID {
		t.Errorf("deliveries %+v", got)
	}
	_, err = db.QueueWebhookEvent(sys(), w.ID+100, newest)
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.QueueWebhookEvent(sys(), w.ID, newest+1000)
	wantCode(t, err, crm.ENOTFOUND)
	manager := crm.WithAgent(sys(), MustCreateAgent(t, db, "manager@test.example", crm.RoleManager))
	_, err = db.QueueWebhookEvent(manager, w.ID, newest)
	wantCode(t, err, crm.EFORBIDDEN)
}

// testRuleActor checks that what a rule does is recorded with the actor
// {"kind":"rule","id":N}, shown by the rule's name in the ticket's history and the
// audit log.
func testRuleActor(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	res := newTicket(t, db, inbox.ID, 1)
	r, err := db.CreateRule(sys(), newRule("Tag refunds"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := crm.AsRule(sys(), r.ID)
	if _, err := db.UpdateTicket(ctx, res.TicketID, crm.TicketUpdate{Tags: &[]string{"refunds"}}); err != nil {
		t.Fatal(err)
	}
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "Tagged by a rule", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Author.Kind != "system" || m.Author.Name != "Tag refunds" {
		t.Errorf("note author %+v", m.Author)
	}
	hist, err := db.TicketHistory(sys(), res.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	var byRule []string
	for _, e := range hist {
		if e.Actor.Kind == crm.ActorRule {
			if e.Actor.ID != r.ID || e.Actor.Name != "Tag refunds" {
				t.Errorf("actor %+v", e.Actor)
			}
			byRule = append(byRule, e.Type)
		}
	}
	if !slices.Contains(byRule, crm.EventTicketUpdated) || !slices.Contains(byRule, crm.EventMessageCreated) {
		t.Errorf("events by the rule: %v", byRule)
	}
	entries, _, err := db.AuditLog(sys(), crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Actor.Kind == crm.ActorRule && e.Actor.ID == r.ID && e.Actor.Name == "Tag refunds" && e.Type == crm.EventTicketUpdated {
			found = true
		}
	}
	if !found {
		t.Errorf("audit log has no change by the rule: %+v", entries)
	}
	// An agent's context made from a rule's acts as the agent.
	agent := MustCreateAgent(t, db, "agent@test.example", crm.RoleAdmin)
	if _, err := db.UpdateTicket(crm.WithAgent(ctx, agent), res.TicketID, crm.TicketUpdate{Priority: ptr(crm.PriorityHigh)}); err != nil {
		t.Fatal(err)
	}
	events, _ := db.Events(sys(), 0, 1000)
	if last := events[len(events)-1]; last.Actor.Kind != "agent" || last.Actor.ID != agent.ID {
		t.Errorf("agent's change recorded as %+v", last.Actor)
	}
}
