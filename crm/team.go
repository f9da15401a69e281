package crm

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of teams.
const (
	MaxTeams    = 100
	MaxTeamName = 100
)

// Auto-assignment modes of an inbox or a team: off, round-robin (the available agent
// with room who got a ticket longest ago) or least-loaded (the available agent with room
// and the fewest open tickets).
const (
	AssignOff         = "off"
	AssignRoundRobin  = "round_robin"
	AssignLeastLoaded = "least_loaded"
)

// Agent availability: chosen by the agent in the console. An agent without a socket for
// a while is offline whatever it chose. Only available agents get tickets automatically.
const (
	Available   = "available"
	Away        = "away"
	Unavailable = "offline"
)

// Team is a group of agents; a ticket can be assigned to a team and to an agent in it.
// Assignment is the team's auto-assignment mode: new unassigned tickets of the team go
// to its available members.
type Team struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	AgentIDs   []int64   `json:"agent_ids"`
	Assignment string    `json:"assignment"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// TeamUpdate holds the changes of a team PATCH; nil fields stay.
type TeamUpdate struct {
	Name       *string
	AgentIDs   *[]int64
	Assignment *string
}

// TeamService manages teams. Every agent reads them; managers and admins (or the
// system) change them.
type TeamService interface {
	// Teams lists the teams by name.
	Teams(ctx context.Context) ([]*Team, error)
	// Team returns one team. Returns not_found.
	Team(ctx context.Context, id int64) (*Team, error)
	// CreateTeam stores a team. Returns invalid (a bad name, mode or agent), forbidden or
	// conflict (the name is taken; more than MaxTeams).
	CreateTeam(ctx context.Context, t *Team) (*Team, error)
	// UpdateTeam changes a team. Returns invalid, forbidden, not_found or conflict.
	UpdateTeam(ctx context.Context, id int64, u TeamUpdate) (*Team, error)
	// DeleteTeam removes a team; its tickets keep their assignee and lose the team.
	// Returns forbidden or not_found.
	DeleteTeam(ctx context.Context, id int64) error
}

// MayManageTeams returns forbidden unless a manager, an admin or the system acts in ctx:
// teams, macros shared with everyone and the assignment settings are theirs.
func MayManageTeams(ctx context.Context) error {
	if a := AgentFrom(ctx); (a != nil && a.SeesAllInboxes()) || (a == nil && IsSystem(ctx)) {
		return nil
	}
	return Errorf(EFORBIDDEN, "only managers and admins manage teams and assignment")
}

// CheckTeamName returns the name trimmed, or invalid.
func CheckTeamName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxTeamName {
		return "", Errorf(EINVALID, "a team's name must be 1 to %d characters", MaxTeamName)
	}
	return name, nil
}

// CheckAssignMode returns invalid unless mode is one of the auto-assignment modes; ""
// is off.
func CheckAssignMode(mode string) (string, error) {
	switch mode {
	case "":
		return AssignOff, nil
	case AssignOff, AssignRoundRobin, AssignLeastLoaded:
		return mode, nil
	}
	return "", Errorf(EINVALID, "assignment must be %q, %q or %q", AssignOff, AssignRoundRobin, AssignLeastLoaded)
}

// CheckAvailability returns invalid unless s is available, away or offline.
func CheckAvailability(s string) error {
	switch s {
	case Available, Away, Unavailable:
		return nil
	}
	return Errorf(EINVALID, "availability must be %q, %q or %q", Available, Away, Unavailable)
}

// SortedIDs returns ids sorted and without repeats, never nil.
func SortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []int64{}
	}
	return out
}
