package reports

import (
	"slices"
	"time"

	"parley/crm"
)

// MatchPolicy returns the most specific policy for a ticket of the inbox with the
// priority: inbox and priority, then inbox only, then priority only, then a default
// (neither); the lowest id wins a tie. It returns nil when none matches.
func MatchPolicy(policies []*crm.SLAPolicy, inboxID int64, priority string) *crm.SLAPolicy {
	var best *crm.SLAPolicy
	bestScore := -1
	for _, p := range policies {
		score := 0
		if p.InboxID != nil {
			if *p.InboxID != inboxID {
				continue
			}
			score += 2
		}
		if len(p.Priorities) > 0 {
			if !slices.Contains(p.Priorities, priority) {
				continue
			}
			score++
		}
		if score > bestScore || (score == bestScore && p.ID < best.ID) {
			best, bestScore = p, score
		}
	}
	return best
}

// policySet holds the policies with their compiled calendars.
type policySet struct {
	list []*crm.SLAPolicy
	byID map[int64]*crm.SLAPolicy
	cals map[int64]*Calendar
}

func newPolicySet(list []*crm.SLAPolicy) *policySet {
	ps := &policySet{list: list, byID: map[int64]*crm.SLAPolicy{}, cals: map[int64]*Calendar{}}
	for _, p := range list {
		ps.byID[p.ID] = p
		if c, err := NewCalendar(p.Schedule); err == nil {
			ps.cals[p.ID] = c
		}
	}
	return ps
}

// calendar returns the calendar of a policy; nil (the plain clock) for none or a deleted one.
func (ps *policySet) calendar(id int64) *Calendar { return ps.cals[id] }

// applyPolicy matches the ticket's policy and computes its due times from its creation.
func (ps *policySet) applyPolicy(r *crm.TicketSLA) {
	r.PolicyID, r.FirstResponseDue, r.ResolutionDue = 0, nil, nil
	p := MatchPolicy(ps.list, r.InboxID, r.Priority)
	if p == nil {
		return
	}
	r.PolicyID = p.ID
	cal := ps.calendar(p.ID)
	if p.FirstResponseMinutes > 0 {
		t := cal.Add(r.CreatedAt, time.Duration(p.FirstResponseMinutes)*time.Minute)
		r.FirstResponseDue = &t
	}
	if p.ResolutionMinutes > 0 {
		t := cal.Add(r.CreatedAt, time.Duration(p.ResolutionMinutes)*time.Minute)
		r.ResolutionDue = &t
	}
}

// durations computes the business seconds to the first response and first resolution.
func (ps *policySet) durations(r *crm.TicketSLA) {
	cal := ps.calendar(r.PolicyID)
	secs := func(t *time.Time) *int64 {
		if t == nil {
			return nil
		}
		v := int64(cal.Between(r.CreatedAt, *t) / time.Second)
		return &v
	}
	r.FirstResponseSecs, r.ResolutionSecs = secs(r.FirstResponseAt), secs(r.FirstResolvedAt)
}

// evaluate decides whether a ticket met its SLA. A target is missed when it was
// breached or met late; the outcome is "missed" at the first missed due time, "met" at
// the moment the last target was met, and undecided otherwise.
func evaluate(r *crm.TicketSLA) {
	r.Met, r.DecidedAt = nil, nil
	if r.PolicyID == 0 {
		return
	}
	targets := []struct{ due, done, breached *time.Time }{
		{r.FirstResponseDue, r.FirstResponseAt, r.FirstResponseBreachedAt},
		{r.ResolutionDue, r.FirstResolvedAt, r.ResolutionBreachedAt},
	}
	var missed, lastMet *time.Time
	open := false
	for _, x := range targets {
		switch {
		case x.due == nil:
		case x.breached != nil || (x.done != nil && x.done.After(*x.due)):
			if missed == nil || x.due.Before(*missed) {
				missed = x.due
			}
		case x.done != nil:
			if lastMet == nil || x.done.After(*lastMet) {
				lastMet = x.done
			}
		default:
			open = true
		}
	}
	no, yes := false, true
	switch {
	case missed != nil:
		r.Met, r.DecidedAt = &no, missed
	case !open && lastMet != nil:
		r.Met, r.DecidedAt = &yes, lastMet
	}
}
