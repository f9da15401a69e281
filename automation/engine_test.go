package automation

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/crm"
)

var now = time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC) // a Monday

func facts() *Facts {
	agent, reason, confidence := int64(7), int64(3), 0.874
	return &Facts{
		Now: now,
		Ticket: &crm.Ticket{ID: 42, InboxID: 3, Subject: "Refund for order #1001", Status: crm.StatusOpen,
			Priority: crm.PriorityHigh, Channel: crm.ChannelEmail, AssigneeID: &agent, Tags: []string{"VIP", "returns"},
			ReasonID: &reason, ReasonSource: crm.ReasonByAuto, ReasonConfidence: &confidence},
		Customer: &crm.Customer{ID: 9, Name: "Ann Lee", Identities: []crm.Identity{
			{Kind: crm.IdentityEmail, Address: "ann@Example.com"}, {Kind: crm.IdentityPhone, Address: "+15550001111"}}},
		Orders:   3,
		Lifetime: 25000,
		Order: &crm.Order{Number: "1001", Status: "shipped", Total: 12000, Carrier: "UPS",
			PlacedAt: now.Add(-50 * time.Hour)},
		Text: "Where is my PARCEL?",
	}
}

func rule(conds ...crm.RuleCondition) *crm.Rule {
	return &crm.Rule{ID: 1, Name: "r", Enabled: true, Trigger: crm.RuleTrigger{Event: crm.TriggerTicketCreated},
		Conditions: crm.RuleConditions{All: conds}, Actions: []crm.RuleAction{{Type: crm.ActionResolve}}}
}

func TestConditions(t *testing.T) {
	cals := NewCalendars([]*crm.SLAPolicy{
		{ID: 1, Schedule: crm.Schedule{Timezone: "UTC", Hours: map[string][][2]string{"mon": {{"09:00", "17:00"}}}}},
		{ID: 2, Schedule: crm.Schedule{Timezone: "UTC", Hours: map[string][][2]string{"tue": {{"09:00", "17:00"}}}}},
		{ID: 3, Schedule: crm.Schedule{Timezone: "UTC", Holidays: []string{"2026-12-07"}}},
	})
	tests := []struct {
		field, op string
		value     any
		want      bool
	}{
		{"ticket.inbox_id", "is", 3, true},
		{"ticket.inbox_id", "is", 4, false},
		{"ticket.inbox_id", "is_not", 4, true},
		{"ticket.assignee_id", "is", 7, true},
		{"ticket.reason", "is", 3, true},
		{"ticket.reason", "is", 0, false},
		{"ticket.reason", "is_not", 2, true},
		{"ticket.reason_confidence", "gte", 87, true},
		{"ticket.reason_confidence", "gte", 88, false},
		{"ticket.reason_confidence", "lt", 60, false},
		{"ticket.assignee_id", "is", 0, false},
		{"ticket.channel", "is", "Email", true},
		{"ticket.channel", "is_not", "sms", true},
		{"ticket.status", "is", "open", true},
		{"ticket.priority", "is", "urgent", false},
		{"ticket.tags", "has", "vip", true},
		{"ticket.tags", "has", "spam", false},
		{"ticket.tags", "has_not", "spam", true},
		{"ticket.subject", "contains", "REFUND", true},
		{"ticket.subject", "not_contains", "refund", false},
		{"message.text", "contains", "parcel", true},
		{"message.text", "contains", "invoice", false},
		{"ticket.business_hours", "in", 1, true},
		{"ticket.business_hours", "in", 2, false},
		{"ticket.business_hours", "not_in", 2, true},
		{"ticket.business_hours", "in", 3, false}, // a holiday
		{"customer.identity_kinds", "has", "phone", true},
		{"customer.identity_kinds", "has", "discord", false},
		{"customer.email_domain", "is", "example.com", true},
		{"customer.email_domain", "is_not", "example.com", false},
		{"customer.orders", "gte", 3, true},
		{"customer.orders", "gt", 3, false},
		{"customer.lifetime_value", "gt", 20000, true},
		{"customer.lifetime_value", "lt", 20000, false},
		{"order.status", "is", "shipped", true},
		{"order.total", "eq", 12000, true},
		{"order.total", "lte", 11999, false},
		{"order.age_hours", "gte", 48, true},
		{"order.age_hours", "gt", 50, false},
		{"order.carrier", "is", "ups", true},
		{"order.carrier", "is", "dhl", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %v", tt.field, tt.op, tt.value), func(t *testing.T) {
			c, err := CompileRule(rule(crm.RuleCondition{Field: tt.field, Op: tt.op, Value: tt.value}), cals)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Match(facts()); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionsWithoutOrder(t *testing.T) {
	f := facts()
	f.Order = nil
	for _, tt := range []struct {
		c    crm.RuleCondition
		want bool
	}{
		{crm.RuleCondition{Field: "order.total", Op: "lt", Value: 100}, false},
		{crm.RuleCondition{Field: "order.age_hours", Op: "gte", Value: 0}, false},
		{crm.RuleCondition{Field: "order.status", Op: "is", Value: ""}, true},
		{crm.RuleCondition{Field: "order.status", Op: "is_not", Value: "shipped"}, true},
	} {
		c, err := CompileRule(rule(tt.c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Match(f); got != tt.want {
			t.Errorf("%+v: got %v, want %v", tt.c, got, tt.want)
		}
	}
}

func TestAllAndAny(t *testing.T) {
	yes := crm.RuleCondition{Field: "ticket.status", Op: "is", Value: "open"}
	no := crm.RuleCondition{Field: "ticket.status", Op: "is", Value: "pending"}
	tests := []struct {
		all, any []crm.RuleCondition
		want     bool
	}{
		{nil, nil, true},
		{[]crm.RuleCondition{yes, yes}, nil, true},
		{[]crm.RuleCondition{yes, no}, nil, false},
		{nil, []crm.RuleCondition{no, yes}, true},
		{nil, []crm.RuleCondition{no, no}, false},
		{[]crm.RuleCondition{yes}, []crm.RuleCondition{no, yes}, true},
		{[]crm.RuleCondition{no}, []crm.RuleCondition{yes}, false},
	}
	for i, tt := range tests {
		r := rule()
		r.Conditions = crm.RuleConditions{All: tt.all, Any: tt.any}
		c, err := CompileRule(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Match(facts()); got != tt.want {
			t.Errorf("case %d: got %v, want %v", i, got, tt.want)
		}
	}
}

func TestBadRules(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *crm.Rule)
	}{
		{"no name", func(r *crm.Rule) { r.Name = " " }},
		{"unknown trigger", func(r *crm.Rule) { r.Trigger.Event = "ticket.deleted" }},
		{"timed without hours", func(r *crm.Rule) { r.Trigger.Event = crm.TriggerPending }},
		{"hours on an event", func(r *crm.Rule) { r.Trigger.Hours = 3 }},
		{"unknown field", func(r *crm.Rule) {
			r.Conditions.All = []crm.RuleCondition{{Field: "ticket.color", Op: "is", Value: "x"}}
		}},
		{"wrong op", func(r *crm.Rule) {
			r.Conditions.All = []crm.RuleCondition{{Field: "ticket.subject", Op: "gt", Value: "x"}}
		}},
		{"text for a number", func(r *crm.Rule) {
			r.Conditions.Any = []crm.RuleCondition{{Field: "order.total", Op: "gt", Value: "lots"}}
		}},
		{"fraction", func(r *crm.Rule) {
			r.Conditions.Any = []crm.RuleCondition{{Field: "order.total", Op: "gt", Value: 1.5}}
		}},
		{"unknown policy", func(r *crm.Rule) {
			r.Conditions.All = []crm.RuleCondition{{Field: "ticket.business_hours", Op: "in", Value: 99}}
		}},
		{"no actions", func(r *crm.Rule) { r.Actions = nil }},
		{"unknown action", func(r *crm.Rule) { r.Actions = []crm.RuleAction{{Type: "explode"}} }},
		{"bad status", func(r *crm.Rule) { r.Actions = []crm.RuleAction{{Type: crm.ActionSetStatus, Status: "done"}} }},
		{"empty tags", func(r *crm.Rule) { r.Actions = []crm.RuleAction{{Type: crm.ActionAddTags, Tags: []string{" "}}} }},
		{"empty note", func(r *crm.Rule) { r.Actions = []crm.RuleAction{{Type: crm.ActionAddNote}} }},
		{"snooze for nothing", func(r *crm.Rule) { r.Actions = []crm.RuleAction{{Type: crm.ActionSnooze}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rule()
			tt.edit(r)
			_, err := CompileRule(r, nil)
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Errorf("got %v, want invalid", err)
			}
		})
	}
}

func TestEngineOrderStopAndLoopGuard(t *testing.T) {
	mk := func(id int64, trigger string, stop bool, cond crm.RuleCondition) *crm.Rule {
		r := rule(cond)
		r.ID, r.Trigger.Event, r.Stop = id, trigger, stop
		return r
	}
	open := crm.RuleCondition{Field: "ticket.status", Op: "is", Value: "open"}
	closed := crm.RuleCondition{Field: "ticket.status", Op: "is", Value: "closed"}
	list := []*crm.Rule{
		mk(1, crm.TriggerTicketUpdated, false, open),
		mk(2, crm.TriggerTicketUpdated, false, closed),
		mk(3, crm.TriggerTicketUpdated, true, open),
		mk(4, crm.TriggerTicketUpdated, false, open), // after a stop
		mk(5, crm.TriggerTicketCreated, false, open), // another trigger
		mk(6, crm.TriggerTicketUpdated, false, open),
	}
	list[5].Enabled = false
	e, errs := Compile(list, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ids := func(rules []*crm.Rule) []int64 {
		var out []int64
		for _, r := range rules {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		trigger string
		actor   crm.Actor
		want    []int64
	}{
		{crm.TriggerTicketUpdated, crm.Actor{Kind: "agent", ID: 3}, []int64{1, 3}},
		{crm.TriggerTicketUpdated, crm.Actor{Kind: crm.ActorRule, ID: 1}, []int64{3}},
		// Rule 3's own change skips rule 3, so its stop does not hold: rule 4 runs.
		{crm.TriggerTicketUpdated, crm.Actor{Kind: crm.ActorRule, ID: 3}, []int64{1, 4}},
		{crm.TriggerTicketCreated, crm.Actor{Kind: "system"}, []int64{5}},
		{crm.TriggerSLABreached, crm.Actor{Kind: "system"}, nil},
	}
	for _, tt := range tests {
		if got := ids(e.Match(tt.trigger, facts(), tt.actor)); !slices.Equal(got, tt.want) {
			t.Errorf("%s by %+v: got %v, want %v", tt.trigger, tt.actor, got, tt.want)
		}
	}
	if e.Len() != 5 {
		t.Errorf("Len = %d, want 5 (the disabled rule left out)", e.Len())
	}
}

func TestTrigger(t *testing.T) {
	tests := []struct {
		e    crm.Event
		want string
	}{
		{crm.Event{Type: crm.EventTicketCreated}, crm.TriggerTicketCreated},
		{crm.Event{Type: crm.EventTicketUpdated}, crm.TriggerTicketUpdated},
		{crm.Event{Type: crm.EventMessageCreated, Data: []byte(`{"direction":"in","author":{"kind":"customer"},"text":"hi"}`)}, crm.TriggerMessageReceived},
		{crm.Event{Type: crm.EventMessageCreated, Data: []byte(`{"direction":"out","author":{"kind":"agent"}}`)}, ""},
		{crm.Event{Type: crm.EventMessageCreated, Data: []byte(`{"direction":"in","author":{"kind":"participant"}}`)}, ""},
		{crm.Event{Type: crm.EventSLAWarning}, crm.TriggerSLAWarning},
		{crm.Event{Type: crm.EventSLABreached}, crm.TriggerSLABreached},
		{crm.Event{Type: crm.EventOrderUpdated}, crm.TriggerOrderUpdated},
		{crm.Event{Type: crm.EventCustomerUpdated}, ""},
	}
	for _, tt := range tests {
		if got, _ := Trigger(&tt.e); got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.e.Type, tt.e.Data, got, tt.want)
		}
	}
}

func TestWaiting(t *testing.T) {
	tk := &crm.Ticket{Status: crm.StatusPending, UpdatedAt: now.Add(-49 * time.Hour), LastMessageAt: now.Add(-71 * time.Hour)}
	if _, due := Waiting(crm.TriggerPending, tk, 48, now); !due {
		t.Error("pending for 49 h is not due after 48 h")
	}
	if _, due := Waiting(crm.TriggerPending, tk, 50, now); due {
		t.Error("pending for 49 h is due after 50 h")
	}
	if _, due := Waiting(crm.TriggerNoCustomerReply, tk, 72, now); due {
		t.Error("71 h without a reply is due after 72 h")
	}
	tk.Status = crm.StatusResolved
	if _, due := Waiting(crm.TriggerPending, tk, 1, now); due {
		t.Error("a resolved ticket is due for pending")
	}
}

func TestFill(t *testing.T) {
	got, missing := Fill("Hi {{customer.first_name}}, ticket #{{ ticket.id }}, order {{order.number}}, {{agent.name}}", facts(), "")
	if want := "Hi Ann, ticket #42, order 1001, {{agent.name}}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !slices.Equal(missing, []string{"{{agent.name}}"}) {
		t.Errorf("missing = %v", missing)
	}
}
