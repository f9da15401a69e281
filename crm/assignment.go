package crm

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// DefaultCapacity is how many open tickets of a channel an agent holds at most when the
// settings name no other number: few live conversations at once, many emails.
var DefaultCapacity = map[string]int{
	ChannelChat: 3, ChannelWhatsApp: 5, ChannelSMS: 10, ChannelDiscord: 5, ChannelVoice: 1,
	ChannelEmail: 15, ChannelAPI: 15,
}

// DefaultOfflineMinutes is how long an agent may be offline before its open unanswered
// tickets of auto-assigned inboxes and teams go back to the queue.
const DefaultOfflineMinutes = 15

// MaxCapacity bounds a capacity setting.
const MaxCapacity = 1000

// AssignmentSettings are the settings of auto-assignment: the mode of each inbox that
// has one (a ticket in a team follows its team's mode instead), the default capacity per
// channel, per-agent capacities that override it, and after how many minutes offline an
// agent's open unanswered tickets return to the queue (0: never).
type AssignmentSettings struct {
	OfflineMinutes int               `json:"offline_minutes"`
	Capacity       map[string]int    `json:"capacity"`
	Inboxes        []InboxAssignment `json:"inboxes"`
	Agents         []AgentCapacity   `json:"agents"`
}

// InboxAssignment is the auto-assignment mode of one inbox.
type InboxAssignment struct {
	InboxID int64  `json:"inbox_id"`
	Mode    string `json:"mode"`
}

// AgentCapacity overrides the default capacities for one agent, per channel.
type AgentCapacity struct {
	AgentID  int64          `json:"agent_id"`
	Capacity map[string]int `json:"capacity"`
}

// DefaultAssignmentSettings are the settings before anyone changed them: every inbox off.
func DefaultAssignmentSettings() *AssignmentSettings {
	c := make(map[string]int, len(DefaultCapacity))
	for k, v := range DefaultCapacity {
		c[k] = v
	}
	return &AssignmentSettings{OfflineMinutes: DefaultOfflineMinutes, Capacity: c,
		Inboxes: []InboxAssignment{}, Agents: []AgentCapacity{}}
}

// Check validates s and fills what it leaves out with the defaults. Returns invalid.
func (s *AssignmentSettings) Check() error {
	if s.OfflineMinutes < 0 || s.OfflineMinutes > 7*24*60 {
		return Errorf(EINVALID, "offline_minutes must be 0 (never) to 10080")
	}
	checkCap := func(c map[string]int) error {
		for ch, n := range c {
			if _, ok := DefaultCapacity[ch]; !ok {
				return Errorf(EINVALID, "capacity: unknown channel %q", ch)
			}
			if n < 0 || n > MaxCapacity {
				return Errorf(EINVALID, "capacity must be 0 to %d", MaxCapacity)
			}
		}
		return nil
	}
	if s.Capacity == nil {
		s.Capacity = map[string]int{}
	}
	if err := checkCap(s.Capacity); err != nil {
		return err
	}
	for ch, n := range DefaultCapacity {
		if _, ok := s.Capacity[ch]; !ok {
			s.Capacity[ch] = n
		}
	}
	seen := map[int64]bool{}
	inboxes := []InboxAssignment{}
	for _, in := range s.Inboxes {
		mode, err := CheckAssignMode(in.Mode)
		if err != nil {
			return err
		}
		if in.InboxID <= 0 || seen[in.InboxID] {
			return Errorf(EINVALID, "inboxes must name each inbox once")
		}
		seen[in.InboxID] = true
		if mode != AssignOff {
			inboxes = append(inboxes, InboxAssignment{in.InboxID, mode})
		}
	}
	slices.SortFunc(inboxes, func(a, b InboxAssignment) int { return cmp.Compare(a.InboxID, b.InboxID) })
	s.Inboxes = inboxes
	clear(seen)
	agents := []AgentCapacity{}
	for _, a := range s.Agents {
		if a.AgentID <= 0 || seen[a.AgentID] {
			return Errorf(EINVALID, "agents must name each agent once")
		}
		seen[a.AgentID] = true
		if err := checkCap(a.Capacity); err != nil {
			return err
		}
		if len(a.Capacity) > 0 {
			agents = append(agents, a)
		}
	}
	slices.SortFunc(agents, func(a, b AgentCapacity) int { return cmp.Compare(a.AgentID, b.AgentID) })
	s.Agents = agents
	return nil
}

// InboxMode returns the auto-assignment mode of an inbox.
func (s *AssignmentSettings) InboxMode(inboxID int64) string {
	for _, in := range s.Inboxes {
		if in.InboxID == inboxID {
			return in.Mode
		}
	}
	return AssignOff
}

// CapacityOf returns how many open tickets of the channel the agent holds at most.
func (s *AssignmentSettings) CapacityOf(agentID int64, channel string) int {
	for _, a := range s.Agents {
		if a.AgentID == agentID {
			if n, ok := a.Capacity[channel]; ok {
				return n
			}
		}
	}
	if n, ok := s.Capacity[channel]; ok {
		return n
	}
	if n, ok := DefaultCapacity[channel]; ok {
		return n
	}
	return 10
}

// WaitingTicket is an open unassigned ticket of an inbox or team with auto-assignment
// on, as the assigner sees it.
type WaitingTicket struct {
	ID       int64
	InboxID  int64
	TeamID   int64 // 0: none
	Channel  string
	Priority string
	Mode     string     // the team's mode when it has a team, else the inbox's
	SLADue   *time.Time // the nearest SLA target not yet met, if any
	Waiting  time.Time  // when the ticket was opened: the oldest waits longest
}

// AssignAgent is an agent as the assigner sees it.
type AssignAgent struct {
	ID           int64
	Role         string
	InboxIDs     []int64
	TeamIDs      []int64
	Availability string // as chosen; the server's presence decides whether it is online
	ChangedAt    time.Time
	LastAssigned time.Time
	// Load is the agent's open tickets by channel.
	Load map[string]int
}

// AssignState is what the assigner decides on, read in one go.
type AssignState struct {
	Settings *AssignmentSettings
	Teams    []*Team
	Agents   []*AssignAgent
	Waiting  []*WaitingTicket
}

// AssignmentService keeps the settings of auto-assignment and each agent's availability.
type AssignmentService interface {
	// AssignmentSettings returns the settings. Every agent reads them.
	AssignmentSettings(ctx context.Context) (*AssignmentSettings, error)
	// UpdateAssignmentSettings replaces the settings. Returns invalid or forbidden.
	UpdateAssignmentSettings(ctx context.Context, s *AssignmentSettings) (*AssignmentSettings, error)
	// SetAvailability sets an agent's availability and records an agent.updated event.
	// An agent sets its own; managers and admins anyone's. Returns invalid, forbidden or
	// not_found.
	SetAvailability(ctx context.Context, agentID int64, status string) (*Agent, error)
}

// AssignQueue is what the assigner uses: the state it decides on, the one write that
// hands a ticket to an agent, the return of an offline agent's tickets, and its cursor
// in the event log.
type AssignQueue interface {
	// AssignState reads the settings, teams, agents with their loads, and the waiting
	// tickets (at most limit, the most urgent first: SLA due soonest, then priority, then
	// waiting longest).
	AssignState(ctx context.Context, limit int) (*AssignState, error)
	// AutoAssign gives a waiting ticket to an agent, as the system, in one transaction
	// that checks again that the ticket is open and unassigned and that the agent holds
	// fewer than capacity open tickets of its channel: two calls never give one ticket
	// to two agents nor an agent more than capacity. Returns conflict when either no
	// longer holds, not_found.
	AutoAssign(ctx context.Context, ticketID, agentID int64, capacity int) (*Ticket, error)
	// ReturnToQueue unassigns the agent's open unanswered tickets (the customer wrote
	// last) in inboxes and teams with auto-assignment on, each with a ticket.updated
	// event by the system. It returns how many.
	ReturnToQueue(ctx context.Context, agentID int64) (int, error)
	// AssignCursor returns the id of the last event the assigner has read.
	AssignCursor(ctx context.Context) (int64, error)
	// SetAssignCursor stores it.
	SetAssignCursor(ctx context.Context, after int64) error
}
