package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"parley/crm"
)

var (
	_ crm.AssignmentService = (*DB)(nil)
	_ crm.AssignQueue       = (*DB)(nil)
)

// readAssignmentSettings returns the stored settings, or the defaults.
func readAssignmentSettings(ctx context.Context, q queryer) (*crm.AssignmentSettings, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT settings FROM assignment WHERE id = 1`).Scan(&raw)
	if isNoRows(err) {
		return crm.DefaultAssignmentSettings(), nil
	} else if err != nil {
		return nil, fmt.Errorf("read assignment settings: %w", err)
	}
	s := crm.DefaultAssignmentSettings()
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		return nil, fmt.Errorf("assignment settings: %w", err)
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("assignment settings: %w", err)
	}
	return s, nil
}

// AssignmentSettings returns the settings of auto-assignment. Every agent reads them.
func (db *DB) AssignmentSettings(ctx context.Context) (*crm.AssignmentSettings, error) {
	return readAssignmentSettings(ctx, db.rdb())
}

// UpdateAssignmentSettings replaces the settings. Returns invalid (an unknown inbox or
// agent, a bad number) or forbidden.
func (db *DB) UpdateAssignmentSettings(ctx context.Context, s *crm.AssignmentSettings) (*crm.AssignmentSettings, error) {
	if err := crm.MayManageTeams(ctx); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, crm.Errorf(crm.EINVALID, "settings required")
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(s)
	err := db.update(ctx, func(tx *Tx) error {
		for _, in := range s.Inboxes {
			if err := rowExists(ctx, tx, `SELECT count(*) FROM inboxes WHERE id = ?`, in.InboxID); err != nil {
				return crm.Errorf(crm.EINVALID, "inbox %d not found", in.InboxID)
			}
		}
		for _, a := range s.Agents {
			if err := rowExists(ctx, tx, `SELECT count(*) FROM agents WHERE id = ?`, a.AgentID); err != nil {
				return crm.Errorf(crm.EINVALID, "agent %d not found", a.AgentID)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assignment (id, settings) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET settings = excluded.settings`, string(b)); err != nil {
			return fmt.Errorf("store assignment settings: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// rowExists returns not_found unless the count query finds a row.
func rowExists(ctx context.Context, q queryer, query string, args ...any) error {
	var n int
	if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "not found")
	}
	return nil
}

// SetAvailability sets an agent's availability and records an agent.updated event. An
// agent sets its own; managers and admins anyone's. Returns invalid, forbidden or
// not_found.
func (db *DB) SetAvailability(ctx context.Context, agentID int64, status string) (*crm.Agent, error) {
	if err := crm.CheckAvailability(status); err != nil {
		return nil, err
	}
	if a := crm.AgentFrom(ctx); a != nil && a.ID != agentID && !a.SeesAllInboxes() {
		return nil, crm.Errorf(crm.EFORBIDDEN, "agents set their own availability")
	}
	var out *crm.Agent
	err := db.update(ctx, func(tx *Tx) error {
		a, err := findAgent(ctx, tx, agentID)
		if err != nil {
			return err
		}
		if a.Availability == status {
			out = a
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET availability = ?, availability_at = ? WHERE id = ?`,
			status, ms(tx.now), agentID); err != nil {
			return fmt.Errorf("set availability: %w", err)
		}
		if err := tx.agentChanged(ctx, agentID); err != nil {
			return err
		}
		out, err = findAgent(ctx, tx, agentID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// autoScopes returns SQL conditions on tickets t (as literal ids) for the tickets whose
// inbox or team has auto-assignment on, and the team modes by id.
func autoScopes(s *crm.AssignmentSettings, teams []*crm.Team) (string, map[int64]string) {
	modes := map[int64]string{}
	var teamIDs, inboxIDs []string
	for _, t := range teams {
		modes[t.ID] = t.Assignment
		if t.Assignment != crm.AssignOff {
			teamIDs = append(teamIDs, strconv.FormatInt(t.ID, 10))
		}
	}
	for _, in := range s.Inboxes {
		inboxIDs = append(inboxIDs, strconv.FormatInt(in.InboxID, 10))
	}
	var conds []string
	if len(teamIDs) > 0 {
		conds = append(conds, `t.team_id IN (`+strings.Join(teamIDs, ",")+`)`)
	}
	if len(inboxIDs) > 0 {
		conds = append(conds, `(t.team_id IS NULL AND t.inbox_id IN (`+strings.Join(inboxIDs, ",")+`))`)
	}
	if len(conds) == 0 {
		return noScope, modes
	}
	return "(" + strings.Join(conds, " OR ") + ")", modes
}

// noScope is the condition of autoScopes when auto-assignment is off everywhere.
const noScope = "1 = 0"

// assignSLADue is the nearest SLA target of ticket t not yet met.
const assignSLADue = `(SELECT CASE WHEN s.first_response_at IS NULL AND s.first_response_due IS NOT NULL
	THEN s.first_response_due ELSE s.resolution_due END FROM ticket_sla s WHERE s.ticket_id = t.id)`

// AssignState reads what the assigner decides on: the settings, the teams, the enabled
// agents with their open tickets by channel, and up to limit waiting tickets, the most
// urgent first (SLA due soonest, then priority, then oldest).
func (db *DB) AssignState(ctx context.Context, limit int) (*crm.AssignState, error) {
	return assignState(ctx, db.rdb(), limit)
}

func assignState(ctx context.Context, q queryer, limit int) (*crm.AssignState, error) {
	st := &crm.AssignState{}
	var err error
	if st.Settings, err = readAssignmentSettings(ctx, q); err != nil {
		return nil, err
	}
	if st.Teams, err = queryTeams(ctx, q, `SELECT `+teamCols+` FROM teams ORDER BY id`); err != nil {
		return nil, err
	}
	scope, modes := autoScopes(st.Settings, st.Teams)
	if scope == noScope {
		return st, nil // auto-assignment is off everywhere: nothing to hand out or return
	}
	byID := map[int64]*crm.AssignAgent{}
	rows, err := q.QueryContext(ctx, `SELECT a.id, a.role, a.availability, a.availability_at, a.last_assigned_at
		FROM agents a WHERE NOT a.disabled ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("query agents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a := &crm.AssignAgent{Load: map[string]int{}}
		var changed, last int64
		if err := rows.Scan(&a.ID, &a.Role, &a.Availability, &changed, &last); err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		a.ChangedAt, a.LastAssigned = fromMS(changed), fromMS(last)
		st.Agents = append(st.Agents, a)
		byID[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query agents: %w", err)
	}
	rows.Close()
	for _, t := range st.Teams {
		for _, id := range t.AgentIDs {
			if a := byID[id]; a != nil {
				a.TeamIDs = append(a.TeamIDs, t.ID)
			}
		}
	}
	mrows, err := q.QueryContext(ctx, `SELECT agent_id, inbox_id FROM inbox_members ORDER BY inbox_id`)
	if err != nil {
		return nil, fmt.Errorf("query inbox members: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var agent, inbox int64
		if err := mrows.Scan(&agent, &inbox); err != nil {
			return nil, fmt.Errorf("scan inbox member: %w", err)
		}
		if a := byID[agent]; a != nil {
			a.InboxIDs = append(a.InboxIDs, inbox)
		}
	}
	if err := mrows.Err(); err != nil {
		return nil, fmt.Errorf("query inbox members: %w", err)
	}
	mrows.Close()
	lrows, err := q.QueryContext(ctx, `SELECT assignee_id, channel, count(*) FROM tickets
		WHERE status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id, channel`)
	if err != nil {
		return nil, fmt.Errorf("query loads: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var agent int64
		var channel string
		var n int
		if err := lrows.Scan(&agent, &channel, &n); err != nil {
			return nil, fmt.Errorf("scan load: %w", err)
		}
		if a := byID[agent]; a != nil {
			a.Load[channel] = n
		}
	}
	if err := lrows.Err(); err != nil {
		return nil, fmt.Errorf("query loads: %w", err)
	}
	lrows.Close()
	wrows, err := q.QueryContext(ctx, `SELECT id, inbox_id, team_id, channel, priority, created_at, due FROM
		(SELECT t.id, t.inbox_id, t.team_id, t.channel, t.priority, t.created_at, `+assignSLADue+` AS due
		FROM tickets t WHERE t.status = 'open' AND t.assignee_id IS NULL AND t.merged_into IS NULL AND `+scope+`) w
		ORDER BY due IS NULL, due, CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
		created_at, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("query waiting tickets: %w", err)
	}
	defer wrows.Close()
	for wrows.Next() {
		w := &crm.WaitingTicket{}
		var team, due sql.NullInt64
		var created int64
		if err := wrows.Scan(&w.ID, &w.InboxID, &team, &w.Channel, &w.Priority, &created, &due); err != nil {
			return nil, fmt.Errorf("scan waiting ticket: %w", err)
		}
		w.TeamID, w.Waiting, w.SLADue = team.Int64, fromMS(created), nullTime(due)
		if w.TeamID != 0 {
			w.Mode = modes[w.TeamID]
		} else {
			w.Mode = st.Settings.InboxMode(w.InboxID)
		}
		st.Waiting = append(st.Waiting, w)
	}
	return st, wrows.Err()
}

// AutoAssign gives a waiting ticket to an agent, as the system: in one transaction it
// checks that the ticket is open and unassigned, that the agent is enabled, available
// and may see its inbox, and that the agent holds fewer than capacity open tickets of the
// ticket's channel, then assigns it with a ticket.updated event by the system. Returns
// conflict when any of that no longer holds, not_found.
func (db *DB) AutoAssign(ctx context.Context, ticketID, agentID int64, capacity int) (*crm.Ticket, error) {
	ctx = crm.AsSystem(ctx)
	var t *crm.Ticket
	err := db.update(ctx, func(tx *Tx) error {
		var err error
		t, err = tx.autoAssign(ctx, ticketID, agentID, capacity)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (tx *Tx) autoAssign(ctx context.Context, ticketID, agentID int64, capacity int) (*crm.Ticket, error) {
	// Nodes assign at the same time: the agent's row lock makes the capacity check and the
	// assignment of one agent one at a time over the cluster, the ticket's row lock the
	// checks of one ticket (agent first, then ticket: always in that order).
	var locked int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM agents WHERE id = ? FOR UPDATE`, agentID).Scan(&locked); isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
	} else if err != nil {
		return nil, fmt.Errorf("lock agent: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM tickets WHERE id = ? FOR UPDATE`, ticketID).Scan(&locked); isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "ticket %d not found", ticketID)
	} else if err != nil {
		return nil, fmt.Errorf("lock ticket: %w", err)
	}
	a, err := findAgent(ctx, tx, agentID)
	if err != nil {
		return nil, err
	}
	t, err := findTicket(ctx, tx, ticketID)
	if err != nil {
		return nil, err
	}
	if t.Status != crm.StatusOpen || t.AssigneeID != nil || t.MergedInto != 0 {
		return nil, crm.Errorf(crm.ECONFLICT, "ticket %d is no longer waiting", ticketID)
	}
	if a.Disabled || a.Availability != crm.Available || !a.CanSeeInbox(t.InboxID) {
		return nil, crm.Errorf(crm.ECONFLICT, "agent %d cannot take ticket %d", agentID, ticketID)
	}
	var load int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tickets WHERE assignee_id = ? AND channel = ? AND status = 'open'`,
		agentID, t.Channel).Scan(&load); err != nil {
		return nil, fmt.Errorf("count load: %w", err)
	}
	if load >= capacity {
		return nil, crm.Errorf(crm.ECONFLICT, "agent %d is at capacity for %s", agentID, t.Channel)
	}
	t.AssigneeID, t.UpdatedAt = &a.ID, tx.now
	if err := tx.saveTicket(ctx, t); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE agents SET last_assigned_at = ? WHERE id = ?`, ms(tx.now), agentID); err != nil {
		return nil, fmt.Errorf("note assignment: %w", err)
	}
	return t, tx.ticketEvent(ctx, crm.EventTicketUpdated, t, systemActor, t)
}

// unanswered is the condition that the customer wrote last in ticket t.
const unanswered = `(SELECT m.direction FROM messages m WHERE m.ticket_id = t.id AND m.direction <> 'note'
	ORDER BY m.id DESC LIMIT 1) = 'in'`

// ReturnToQueue unassigns the agent's open unanswered tickets in inboxes and teams with
// auto-assignment on, each with a ticket.updated event by the system, and returns how
// many.
func (db *DB) ReturnToQueue(ctx context.Context, agentID int64) (int, error) {
	ctx = crm.AsSystem(ctx)
	var n int
	err := db.update(ctx, func(tx *Tx) error {
		n = 0
		s, err := readAssignmentSettings(ctx, tx)
		if err != nil {
			return err
		}
		teams, err := queryTeams(ctx, tx, `SELECT `+teamCols+` FROM teams ORDER BY id`)
		if err != nil {
			return err
		}
		scope, _ := autoScopes(s, teams)
		tickets, err := queryTickets(ctx, tx, `SELECT `+ticketListCols+` FROM tickets t WHERE t.assignee_id = ?
			AND t.status = 'open' AND `+scope+` AND `+unanswered+` ORDER BY t.id`, agentID)
		if err != nil {
			return err
		}
		for _, t := range tickets {
			t.AssigneeID, t.UpdatedAt = nil, tx.now
			if err := tx.saveTicket(ctx, t); err != nil {
				return err
			}
			if err := tx.ticketEvent(ctx, crm.EventTicketUpdated, t, systemActor, t); err != nil {
				return err
			}
		}
		n = len(tickets)
		return nil
	})
	return n, err
}

// AssignCursor returns the id of the last event the assigner has read: on its first run
// the newest event (what came before is in the state it reads anyway).
func (db *DB) AssignCursor(ctx context.Context) (int64, error) {
	var after int64
	err := db.rdb().QueryRowContext(ctx, `SELECT after_event FROM assignment WHERE id = 1`).Scan(&after)
	if isNoRows(err) || (err == nil && after == 0) {
		err = db.rdb().QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&after)
	}
	if err != nil {
		return 0, fmt.Errorf("read assign cursor: %w", err)
	}
	return after, nil
}

// SetAssignCursor stores the assigner's cursor.
func (db *DB) SetAssignCursor(ctx context.Context, after int64) error {
	def, _ := json.Marshal(crm.DefaultAssignmentSettings())
	return db.update(crm.AsSystem(ctx), func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO assignment (id, settings, after_event) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET after_event = excluded.after_event`, string(def), after); err != nil {
			return fmt.Errorf("store assign cursor: %w", err)
		}
		return nil
	})
}
