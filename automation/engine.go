// Package automation runs Parley's automation rules. The engine compiles rules into
// closures once and evaluates an event's facts against them without touching the store
// (pure and fast: make bench measures it with 200 rules); the runner reads the event log
// after a cursor the store keeps, loads the facts of each event's ticket, takes the
// actions of the rules that match as the actor {"kind":"rule","id":N}, and scans for
// the time-based triggers; the dry run shows which recent tickets a rule would match.
package automation

import (
	"fmt"
	"math"
	"strings"
	"time"

	"parley/crm"
	"parley/reports"
)

// Facts are what a rule's conditions test: the ticket, its customer, the customer's
// orders and the latest of them, and the text of the customer's message.
type Facts struct {
	// Now is the time of the evaluation (business hours, order age).
	Now    time.Time
	Ticket *crm.Ticket
	// Customer may be nil (a deleted or merged-away customer).
	Customer *crm.Customer
	// Orders and Lifetime are the customer's number of orders and their total less
	// refunds, in minor units.
	Orders   int64
	Lifetime int64
	// Order is the customer's latest order, nil without one.
	Order *crm.Order
	// Text is the text of the customer's message that triggered the rule, else of the
	// customer's latest message on the ticket.
	Text string
	// LastDirection is the direction of the ticket's last message other than a note
	// ("in" or "out", "" without one): a time-based "no customer reply" needs "out".
	LastDirection string

	lower struct {
		done                    bool
		subject, text           string
		tags, kinds, domains    []string
		channel, status, prio   string
		orderStatus, orderCarry string
	}
}

// prepare lower-cases the facts' text once per evaluation.
func (f *Facts) prepare() {
	l := &f.lower
	if l.done {
		return
	}
	l.done = true
	if t := f.Ticket; t != nil {
		l.subject = strings.ToLower(t.Subject)
		l.channel, l.status, l.prio = strings.ToLower(t.Channel), t.Status, t.Priority
		l.tags = make([]string, len(t.Tags))
		for i, tag := range t.Tags {
			l.tags[i] = strings.ToLower(tag)
		}
	}
	l.text = strings.ToLower(f.Text)
	if c := f.Customer; c != nil {
		for _, id := range c.Identities {
			l.kinds = append(l.kinds, id.Kind)
			if id.Kind == crm.IdentityEmail {
				if _, d, ok := strings.Cut(id.Address, "@"); ok {
					l.domains = append(l.domains, strings.ToLower(d))
				}
			}
		}
	}
	if o := f.Order; o != nil {
		l.orderStatus, l.orderCarry = strings.ToLower(o.Status), strings.ToLower(o.Carrier)
	}
}

type cond func(f *Facts) bool

// Compiled is one rule made ready to evaluate.
type Compiled struct {
	Rule *crm.Rule
	all  []cond
	any  []cond
}

// Match reports whether f meets the rule's conditions: all of All and, when Any is not
// empty, one of Any. The trigger is the caller's business.
func (c *Compiled) Match(f *Facts) bool {
	f.prepare()
	for _, fn := range c.all {
		if !fn(f) {
			return false
		}
	}
	if len(c.any) == 0 {
		return true
	}
	for _, fn := range c.any {
		if fn(f) {
			return true
		}
	}
	return false
}

// Calendars are the business hours of SLA policies, by policy id, for the conditions
// on ticket.business_hours.
type Calendars map[int64]*reports.Calendar

// NewCalendars compiles the schedules of policies; a policy whose schedule does not
// compile is left out (its conditions then fail to compile).
func NewCalendars(policies []*crm.SLAPolicy) Calendars {
	out := Calendars{}
	for _, p := range policies {
		if c, err := reports.NewCalendar(p.Schedule); err == nil {
			out[p.ID] = c
		}
	}
	return out
}

// CompileRule checks r and compiles its conditions. Returns invalid.
func CompileRule(r *crm.Rule, cals Calendars) (*Compiled, error) {
	if err := crm.CheckRule(r); err != nil {
		return nil, err
	}
	c := &Compiled{Rule: r}
	for _, x := range r.Conditions.All {
		fn, err := compileCond(x, cals)
		if err != nil {
			return nil, err
		}
		c.all = append(c.all, fn)
	}
	for _, x := range r.Conditions.Any {
		fn, err := compileCond(x, cals)
		if err != nil {
			return nil, err
		}
		c.any = append(c.any, fn)
	}
	return c, nil
}

func compileCond(c crm.RuleCondition, cals Calendars) (cond, error) {
	kind := crm.RuleFields[c.Field]
	n, _ := crm.RuleNumber(c.Value)
	s, _ := c.Value.(string)
	negate := c.Op == "is_not" || c.Op == "has_not" || c.Op == "not_contains" || c.Op == "not_in"
	var fn cond
	switch kind {
	case crm.FieldID:
		get := map[string]func(*Facts) int64{
			"ticket.inbox_id": func(f *Facts) int64 { return f.Ticket.InboxID },
			"ticket.assignee_id": func(f *Facts) int64 {
				if f.Ticket.AssigneeID == nil {
					return 0
				}
				return *f.Ticket.AssigneeID
			},
			"ticket.reason": func(f *Facts) int64 {
				if f.Ticket.ReasonID == nil {
					return 0
				}
				return *f.Ticket.ReasonID
			},
		}[c.Field]
		fn = func(f *Facts) bool { return get(f) == n }
	case crm.FieldEnum:
		if c.Field == "customer.email_domain" {
			fn = func(f *Facts) bool { return contains(f.lower.domains, s) }
			break
		}
		get := map[string]func(*Facts) string{
			"ticket.channel":  func(f *Facts) string { return f.lower.channel },
			"ticket.status":   func(f *Facts) string { return f.lower.status },
			"ticket.priority": func(f *Facts) string { return f.lower.prio },
			"order.status":    func(f *Facts) string { return f.lower.orderStatus },
			"order.carrier":   func(f *Facts) string { return f.lower.orderCarry },
		}[c.Field]
		fn = func(f *Facts) bool { return get(f) == s }
	case crm.FieldTags:
		if c.Field == "customer.identity_kinds" {
			fn = func(f *Facts) bool { return contains(f.lower.kinds, s) }
		} else {
			fn = func(f *Facts) bool { return contains(f.lower.tags, s) }
		}
	case crm.FieldText:
		s = strings.ToLower(s)
		if c.Field == "ticket.subject" {
			fn = func(f *Facts) bool { return strings.Contains(f.lower.subject, s) }
		} else {
			fn = func(f *Facts) bool { return strings.Contains(f.lower.text, s) }
		}
	case crm.FieldNumber:
		get := map[string]func(*Facts) (int64, bool){
			"customer.orders": func(f *Facts) (int64, bool) { return f.Orders, true },
			"ticket.reason_confidence": func(f *Facts) (int64, bool) {
				t := f.Ticket
				switch {
				case t.ReasonID == nil:
					return 0, false
				case t.ReasonSource == crm.ReasonByAuto && t.ReasonConfidence != nil:
					return int64(math.Round(*t.ReasonConfidence * 100)), true
				}
				return 100, true
			},
			"customer.lifetime_value": func(f *Facts) (int64, bool) { return f.Lifetime, true },
			"order.total": func(f *Facts) (int64, bool) {
				if f.Order == nil {
					return 0, false
				}
				return f.Order.Total, true
			},
			"order.age_hours": func(f *Facts) (int64, bool) {
				if f.Order == nil {
					return 0, false
				}
				return int64(f.Now.Sub(f.Order.PlacedAt) / time.Hour), true
			},
		}[c.Field]
		cmp := map[string]func(a, b int64) bool{
			"eq":  func(a, b int64) bool { return a == b },
			"gt":  func(a, b int64) bool { return a > b },
			"gte": func(a, b int64) bool { return a >= b },
			"lt":  func(a, b int64) bool { return a < b },
			"lte": func(a, b int64) bool { return a <= b },
		}[c.Op]
		// Without an order, no comparison with the order's numbers holds.
		fn = func(f *Facts) bool {
			v, ok := get(f)
			return ok && cmp(v, n)
		}
	case crm.FieldHours:
		cal, ok := cals[n]
		if !ok {
			return nil, crm.Errorf(crm.EINVALID, "%s: there is no SLA policy %d", c.Field, n)
		}
		fn = func(f *Facts) bool { return cal.Open(f.Now) }
	default:
		return nil, fmt.Errorf("field %q has no kind", c.Field)
	}
	if negate {
		inner := fn
		fn = func(f *Facts) bool { return !inner(f) }
	}
	return fn, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Engine holds the enabled rules, compiled, by trigger, in position order.
type Engine struct {
	byTrigger map[string][]*Compiled
	n         int
}

// Compile compiles the enabled rules of list, which is in position order. A rule that
// does not compile (an SLA policy it names was deleted) is left out and reported in
// errs; the others still run.
func Compile(list []*crm.Rule, cals Calendars) (e *Engine, errs []error) {
	e = &Engine{byTrigger: map[string][]*Compiled{}}
	for _, r := range list {
		if !r.Enabled {
			continue
		}
		c, err := CompileRule(r, cals)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %d %q: %w", r.ID, r.Name, err))
			continue
		}
		e.byTrigger[r.Trigger.Event] = append(e.byTrigger[r.Trigger.Event], c)
		e.n++
	}
	return e, errs
}

// Len returns the number of enabled rules that compiled.
func (e *Engine) Len() int { return e.n }

// Has reports whether any rule has the trigger: without one, facts need not be loaded.
func (e *Engine) Has(trigger string) bool { return len(e.byTrigger[trigger]) > 0 }

// Rules returns the compiled rules of a trigger, in position order.
func (e *Engine) Rules(trigger string) []*Compiled { return e.byTrigger[trigger] }

// Match returns the rules of trigger whose conditions f meets, in position order, up
// to and including the first that says stop. A rule is skipped for an event its own
// actions caused (actor is {"kind":"rule","id":its id}), so that it never re-triggers
// itself; a skipped rule does not stop the others.
func (e *Engine) Match(trigger string, f *Facts, actor crm.Actor) []*crm.Rule {
	var out []*crm.Rule
	for _, c := range e.byTrigger[trigger] {
		if actor.Kind == crm.ActorRule && actor.ID == c.Rule.ID {
			continue
		}
		if c.Match(f) {
			out = append(out, c.Rule)
			if c.Rule.Stop {
				break
			}
		}
	}
	return out
}
