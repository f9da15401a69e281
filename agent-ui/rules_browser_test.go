package agentui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"parley/automation"
	"parley/crm"
)

// TestRulesScreen: a manager builds a rule on the Automation rules page with form
// controls only (a subject condition; add a tag, assign an agent, add a note), sees the
// dry run of the last 30 days before turning it on, turns it on, and a new ticket that
// matches gets the tag, the assignee and the note, which the agent sees on the ticket,
// with the rule's name in its history. Moving rules keeps the focus on the button.
func TestRulesScreen(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		automation.New(automation.Options{Store: f.db, Bus: f.bus, Poll: 20 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	f.agent("mia@test.example", "Mia Manager", crm.RoleManager)
	ben := f.agent("ben@test.example", "Ben Agent", crm.RoleAgent, f.inbox)
	old := f.inbound("old-1", "Olga", "olga@example.com", "Refund for my order", "I sent it back.")
	f.inbound("old-2", "Paul", "paul@example.com", "Where is my parcel?", "Still waiting.")

	m := f.newTab(t)
	m.login("mia@test.example", "#/settings/rules")
	m.waitText(`nav.tabs a[aria-current="page"]`, "Automation rules")
	m.waitText("#rules-none", "No rules yet")
	m.setValue("#rule-name", "Refunds to Ben")
	m.setValue("#rule-trigger", "ticket.created")
	m.click("#rule-all-group .add-cond")
	m.waitJS("the focus on the new condition", `() => document.activeElement && document.activeElement.classList.contains('cond-field')`)
	m.setValue("#rule-all .cond-field", "ticket.subject")
	m.setValue("#rule-all .cond-op", "contains")
	m.setValue("#rule-all .cond-value input", "refund")
	// The first action row is there: add tags.
	m.setValue("#rule-actions .rule-action:nth-child(1) .action-type", "add_tags")
	m.setValue("#rule-actions .rule-action:nth-child(1) input", "refund, returns")
	m.click("#rule-actions-group .add-action")
	m.setValue("#rule-actions .rule-action:nth-child(2) .action-type", "assign_agent")
	m.setValue("#rule-actions .rule-action:nth-child(2) select:not(.action-type)", fmt.Sprint(ben.ID))
	m.click("#rule-actions-group .add-action")
	m.setValue("#rule-actions .rule-action:nth-child(3) .action-type", "add_note")
	m.setValue("#rule-actions .rule-action:nth-child(3) textarea", "Refund request from {{customer.first_name}}: Ben handles refunds.")
	m.shot("rules-new")

	// The dry run of the form shows the old refund ticket only, and changes nothing.
	m.click("#rule-dry-run")
	m.waitText("#rule-form-dry", "1 of 2 tickets of the last 30 days match")
	m.waitText("#rule-form-dry", "Refund for my order")
	m.waitJS("the focus on the dry run", `() => document.activeElement.classList.contains('rule-dry-h')`)
	if tk := f.ticket(old); len(tk.Tags) != 0 || tk.AssigneeID != nil {
		t.Fatalf("the dry run changed ticket %d: %+v", old, tk)
	}

	m.click("#rule-form button[type=submit]")
	m.waitText("#rules-list", "Refunds to Ben")
	m.waitText("#rules-list .badge", "Off")
	m.waitText("#rules-list .rule-summary", "Subject contains “refund”")
	m.waitText("#rules-list .rule-summary", "assign to Ben Agent")

	// Turning it on shows the dry run first.
	m.click("#rules-list .rule-toggle")
	m.waitText("#rules-list .rule-dry", "1 of 2 tickets")
	m.shot("rules-dry-run")
	m.click("#rules-list .rule-turn-on")
	m.waitText("#rules-list .badge", "On")
	m.waitJS("the focus on the switch", `() => document.activeElement === document.querySelector('#rules-list .rule-toggle')`)

	// A second rule, then move it up with the keyboard's button: the focus stays on a
	// move button of the moved rule.
	m.setValue("#rule-name", "Urgent VIPs")
	m.setValue("#rule-actions .rule-action:nth-child(1) .action-type", "set_priority")
	m.setValue("#rule-actions .rule-action:nth-child(1) select:not(.action-type)", "urgent")
	m.click("#rule-form button[type=submit]")
	m.waitJS("two rules", `() => document.querySelectorAll('#rules-list > li').length === 2`)
	m.click("#rules-list > li:nth-child(2) .rule-up")
	m.waitText("#rules-list > li:nth-child(1) .rule-name", "Urgent VIPs")
	m.waitJS("the focus on the moved rule", `() => document.activeElement.closest('article') === document.querySelector('#rules-list > li:nth-child(1) article')`)
	rules, err := f.db.Rules(crm.AsSystem(context.Background()))
	if err != nil || len(rules) != 2 || rules[0].Name != "Urgent VIPs" || rules[0].Enabled || !rules[1].Enabled {
		t.Fatalf("rules %+v, %v", rules, err)
	}
	m.noScriptErrors()

	// A new refund ticket: the agent sees what the rule did, live.
	b := f.newTab(t)
	b.login("ben@test.example", "#/inbox/open")
	id := f.inbound("new-1", "Rita Jones", "rita@example.com", "Refund please", "The shoes do not fit.")
	b.click(fmt.Sprintf(`.ticket-row[data-id="%d"] a`, id))
	b.waitJS("the rule's tags on the ticket", `() => { const el = document.querySelector('#t-tags'); return !!el && el.value.includes('refund') && el.value.includes('returns'); }`)
	b.waitJS("the ticket assigned to Ben", `(id) => { const el = document.querySelector('#t-assignee'); return !!el && el.value === String(id); }`, ben.ID)
	b.waitText(".msg.dir-note", "Refund request from Rita: Ben handles refunds.")
	b.waitText(".msg.dir-note .author", "Refunds to Ben")
	b.click("#ticket-history summary")
	b.waitText("#history-list", "Rule “Refunds to Ben”")
	b.shot("rules-acted")
	b.noScriptErrors()

	tk := f.ticket(id)
	if !slices.Contains(tk.Tags, "refund") || tk.AssigneeID == nil || *tk.AssigneeID != ben.ID {
		t.Fatalf("ticket after the rule: %+v", tk)
	}
}
