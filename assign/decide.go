// Package assign hands waiting tickets to agents: round-robin or least-loaded within an
// inbox or a team, only to agents who are available and online, never past an agent's
// capacity for the ticket's channel, the most urgent tickets first. The decision is a
// pure function over an in-memory View, so that it is fast and measured by itself; the
// Worker reads the store's state into a View, decides, and makes each assignment with
// the store's AutoAssign, whose transaction checks capacity and the ticket again, so
// that concurrent assigners never overfill an agent nor give one ticket twice.
package assign

import (
	"maps"
	"slices"
	"time"

	"parley/crm"
)

// Agent is an agent as the decision sees it.
type Agent struct {
	ID int64
	// SeesAll is a manager's or admin's: it may see every inbox, but inbox queues go
	// only to an inbox's own members; teams go to their members.
	SeesAll      bool
	InboxIDs     []int64
	TeamIDs      []int64
	Available    bool // chose available and has a live socket
	LastAssigned time.Time
	Load         map[string]int // open tickets by channel
	total        int
}

// View is the state one round of decisions works on. Took updates it after each
// assignment, so that the next decision of the round sees it.
type View struct {
	Settings *crm.AssignmentSettings
	Agents   []*Agent
	teams    map[int64]*crm.Team
}

// NewView builds a view from the store's state, which Took leaves as it is; online says
// which agents have a live socket anywhere in the cluster.
func NewView(st *crm.AssignState, online func(agentID int64) bool) *View {
	v := &View{Settings: st.Settings, teams: make(map[int64]*crm.Team, len(st.Teams))}
	for _, t := range st.Teams {
		v.teams[t.ID] = t
	}
	v.Agents = make([]*Agent, 0, len(st.Agents))
	for _, a := range st.Agents {
		x := &Agent{ID: a.ID, SeesAll: a.Role == crm.RoleManager || a.Role == crm.RoleAdmin,
			InboxIDs: a.InboxIDs, TeamIDs: a.TeamIDs, LastAssigned: a.LastAssigned, Load: maps.Clone(a.Load),
			Available: a.Availability == crm.Available && online(a.ID)}
		if x.Load == nil {
			x.Load = map[string]int{}
		}
		for _, n := range x.Load {
			x.total += n
		}
		v.Agents = append(v.Agents, x)
	}
	return v
}

// Decide picks the agent for a waiting ticket and the capacity to hold it to, or ok
// false when no available agent of its inbox or team has room. Round-robin picks the
// agent who got a ticket longest ago; least-loaded the one with the fewest open tickets
// (then the one who waited longest). Ties go to the lower id, so that the decision is the
// same on every run.
func (v *View) Decide(t *crm.WaitingTicket) (agentID int64, capacity int, ok bool) {
	if t.Mode == crm.AssignOff || t.Mode == "" {
		return 0, 0, false
	}
	var team *crm.Team
	if t.TeamID != 0 {
		if team = v.teams[t.TeamID]; team == nil {
			return 0, 0, false
		}
	}
	var best *Agent
	bestCap := 0
	for _, a := range v.Agents {
		if !a.Available {
			continue
		}
		if team != nil {
			if !slices.Contains(a.TeamIDs, team.ID) || (!a.SeesAll && !slices.Contains(a.InboxIDs, t.InboxID)) {
				continue
			}
		} else if !slices.Contains(a.InboxIDs, t.InboxID) {
			continue
		}
		c := v.Settings.CapacityOf(a.ID, t.Channel)
		if a.Load[t.Channel] >= c {
			continue
		}
		if best == nil || better(t.Mode, a, best) {
			best, bestCap = a, c
		}
	}
	if best == nil {
		return 0, 0, false
	}
	return best.ID, bestCap, true
}

// better reports whether a should get the ticket rather than b.
func better(mode string, a, b *Agent) bool {
	if mode == crm.AssignLeastLoaded && a.total != b.total {
		return a.total < b.total
	}
	if !a.LastAssigned.Equal(b.LastAssigned) {
		return a.LastAssigned.Before(b.LastAssigned)
	}
	return a.ID < b.ID
}

// Took records that the agent got a ticket of the channel at now.
func (v *View) Took(agentID int64, channel string, now time.Time) {
	for _, a := range v.Agents {
		if a.ID == agentID {
			a.Load[channel]++
			a.total++
			a.LastAssigned = now
			return
		}
	}
}
