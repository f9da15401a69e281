package automation

import (
	"context"
	"time"

	"parley/crm"
)

// DryRunDays is how far back a dry run looks.
const DryRunDays = 30

// maxDryRun bounds the tickets one dry run looks at.
const maxDryRun = 5000

// DryRunStore is what a dry run reads.
type DryRunStore interface {
	FactStore
	Tickets(ctx context.Context, f crm.TicketFilter) ([]*crm.Ticket, string, error)
	SLAPolicies(ctx context.Context) ([]*crm.SLAPolicy, error)
}

// DryRunMatch is a ticket a rule would have matched.
type DryRunMatch struct {
	ID      int64  `json:"id"`
	Subject string `json:"subject"`
	Status  string `json:"status"`
}

// DryRunResult is what a dry run found: the tickets the rule matches, newest activity
// first, out of Checked tickets active in the last DryRunDays days. Truncated says it
// stopped at its bound before it had looked at them all.
type DryRunResult struct {
	Matches   []DryRunMatch `json:"matches"`
	Checked   int           `json:"checked"`
	Since     time.Time     `json:"since"`
	Truncated bool          `json:"truncated"`
}

// DryRun returns the tickets of the last DryRunDays days that rule would match now,
// changing nothing: those its trigger concerns (created in the window for "ticket
// created", with a message of the customer for "message received", waiting long enough
// for the time-based triggers, any active one for the others), not closed, whose facts
// meet its conditions. These are the tickets the rule acts on when its trigger next
// happens to them. Returns invalid (a rule that does not compile).
func DryRun(ctx context.Context, st DryRunStore, rule *crm.Rule, now time.Time) (*DryRunResult, error) {
	var cals Calendars
	if needsCalendars([]*crm.Rule{rule}) {
		policies, err := st.SLAPolicies(ctx)
		if err != nil {
			return nil, err
		}
		cals = NewCalendars(policies)
	}
	c, err := CompileRule(rule, cals)
	if err != nil {
		return nil, err
	}
	since := now.Add(-DryRunDays * 24 * time.Hour)
	res := &DryRunResult{Matches: []DryRunMatch{}, Since: since.UTC()}
	trigger := rule.Trigger.Event
	p := crm.Page{Limit: crm.MaxLimit}
	for {
		list, next, err := st.Tickets(ctx, crm.TicketFilter{Snoozed: crm.SnoozedAny, Page: p})
		if err != nil {
			return nil, err
		}
		for _, t := range list {
			if res.Checked >= maxDryRun {
				res.Truncated = true
				return res, nil
			}
			active := t.CreatedAt.After(since) || t.UpdatedAt.After(since) || t.LastMessageAt.After(since)
			if !active || t.Status == crm.StatusClosed || t.MergedInto != 0 {
				continue
			}
			res.Checked++
			if trigger == crm.TriggerTicketCreated && t.CreatedAt.Before(since) {
				continue
			}
			if trigger == crm.TriggerPending || trigger == crm.TriggerNoCustomerReply {
				if _, due := Waiting(trigger, t, rule.Trigger.Hours, now); !due {
					continue
				}
			}
			f, err := LoadFacts(ctx, st, t, "", now)
			if err != nil {
				return nil, err
			}
			if trigger == crm.TriggerMessageReceived && f.Text == "" {
				continue
			}
			if trigger == crm.TriggerNoCustomerReply && f.LastDirection != crm.DirOut {
				continue
			}
			if c.Match(f) {
				res.Matches = append(res.Matches, DryRunMatch{ID: t.ID, Subject: t.Subject, Status: t.Status})
			}
		}
		if next == "" {
			return res, nil
		}
		p.Cursor = next
	}
}
