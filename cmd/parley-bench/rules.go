package main

import (
	"fmt"
	"time"

	"parley/automation"
	"parley/crm"
)

// keyRulesEvalP99 is the rules step's figure in bench/results.json.
const keyRulesEvalP99 = "rules_eval_p99_ms"

// benchRules measures the automation engine: one event's facts (a ticket with tags, its
// customer, the latest order, the customer's message) evaluated against 200 enabled
// rules of the event's trigger, each with three to five conditions over the ticket, the
// customer and the order (text searches included), none of which stops the run. The
// figure is the p99 of one evaluation, the lower-casing of the facts included; loading
// the facts from the store is the store's figure, not this one.
func benchRules(sc scale, res *results) error {
	const n = 200
	rules := make([]*crm.Rule, n)
	for i := range rules {
		rules[i] = &crm.Rule{ID: int64(i + 1), Name: fmt.Sprintf("Rule %d", i+1), Enabled: true, Position: i + 1,
			Trigger: crm.RuleTrigger{Event: crm.TriggerMessageReceived},
			Conditions: crm.RuleConditions{
				All: []crm.RuleCondition{
					{Field: "ticket.status", Op: "is_not", Value: "closed"},
					{Field: "message.text", Op: "contains", Value: fmt.Sprintf("word%d", i%37)},
					{Field: "customer.lifetime_value", Op: "gte", Value: int64(i * 100)},
				},
				Any: []crm.RuleCondition{
					{Field: "ticket.tags", Op: "has", Value: fmt.Sprintf("tag%d", i%11)},
					{Field: "order.carrier", Op: "is", Value: "ups"},
				},
			},
			Actions: []crm.RuleAction{{Type: crm.ActionAddTags, Tags: []string{fmt.Sprintf("matched%d", i)}}},
		}
	}
	engine, errs := automation.Compile(rules, nil)
	if len(errs) > 0 {
		return fmt.Errorf("compile rules: %v", errs[0])
	}
	agent := int64(3)
	ticket := &crm.Ticket{ID: 1042, InboxID: 2, Subject: "Where is my parcel? Order 1001 has not arrived", Status: crm.StatusOpen,
		Priority: crm.PriorityNormal, Channel: crm.ChannelEmail, AssigneeID: &agent, Tags: []string{"tag3", "vip", "shipping"}}
	customer := &crm.Customer{ID: 77, Name: "Ann Lee", Identities: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@example.com"}}}
	order := &crm.Order{Number: "1001", Status: "shipped", Total: 12900, Carrier: "UPS", PlacedAt: time.Now().Add(-72 * time.Hour)}
	text := "Hello, I ordered last week (word5 word12) and the parcel has not arrived yet. Could you look into it please? " +
		"The tracking page says it left the warehouse on Monday."
	iters := 20000
	if sc.Name == "tiny" {
		iters = 2000
	}
	lat := make(latencies, 0, iters)
	matched := 0
	for range iters {
		f := &automation.Facts{Now: time.Now(), Ticket: ticket, Customer: customer, Orders: 4, Lifetime: 48000, Order: order, Text: text}
		start := time.Now()
		matched = len(engine.Match(crm.TriggerMessageReceived, f, crm.Actor{Kind: "customer", ID: 77}))
		lat = append(lat, time.Since(start))
	}
	if matched == 0 {
		return fmt.Errorf("no rule matched the bench's event")
	}
	res.set(keyRulesEvalP99, lat.pct(99))
	res.note(fmt.Sprintf("rules: %d evaluations of one event against %d rules, %d of which match", iters, n, matched))
	return nil
}
