package automation

import (
	"fmt"
	"testing"

	"parley/crm"
)

// BenchmarkMatch200 evaluates one event against 200 rules of its trigger (make bench
// reports the p99 as rules_eval_p99_ms).
func BenchmarkMatch200(b *testing.B) {
	rules := make([]*crm.Rule, 200)
	for i := range rules {
		r := rule(
			crm.RuleCondition{Field: "ticket.status", Op: "is_not", Value: "closed"},
			crm.RuleCondition{Field: "message.text", Op: "contains", Value: fmt.Sprintf("word%d", i%37)},
			crm.RuleCondition{Field: "customer.lifetime_value", Op: "gte", Value: i * 100})
		r.ID = int64(i + 1)
		r.Conditions.Any = []crm.RuleCondition{{Field: "ticket.tags", Op: "has", Value: fmt.Sprintf("tag%d", i%11)}}
		rules[i] = r
	}
	e, errs := Compile(rules, nil)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	base := facts()
	base.Text = "Hello, I ordered last week (word5 word12) and the parcel has not arrived yet."
	b.ReportAllocs()
	for b.Loop() {
		f := *base
		e.Match(crm.TriggerTicketCreated, &f, crm.Actor{Kind: "customer"})
	}
}
