package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"
)

const slaPolicyCols = `id, name, inbox_id, priorities, first_response_minutes, resolution_minutes,
	warn_minutes, schedule, created_at, updated_at`

func scanSLAPolicy(s scanner) (*crm.SLAPolicy, error) {
	var p crm.SLAPolicy
	var inbox sql.NullInt64
	var prios, sched string
	var created, updated int64
	if err := s.Scan(&p.ID, &p.Name, &inbox, &prios, &p.FirstResponseMinutes, &p.ResolutionMinutes,
		&p.WarnMinutes, &sched, &created, &updated); err != nil {
		return nil, err
	}
	if inbox.Valid {
		p.InboxID = &inbox.Int64
	}
	if err := json.Unmarshal([]byte(prios), &p.Priorities); err != nil {
		return nil, fmt.Errorf("unmarshal priorities: %w", err)
	}
	if err := json.Unmarshal([]byte(sched), &p.Schedule); err != nil {
		return nil, fmt.Errorf("unmarshal schedule: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return &p, nil
}

// SLAPolicies lists every SLA policy by id.
func (db *DB) SLAPolicies(ctx context.Context) ([]*crm.SLAPolicy, error) {
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+slaPolicyCols+` FROM sla_policies ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("query sla policies: %w", err)
	}
	defer rows.Close()
	list := []*crm.SLAPolicy{}
	for rows.Next() {
		p, err := scanSLAPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("scan sla policy: %w", err)
		}
		list = append(list, p)
	}
	return list, rows.Err()
}

// SLAPolicy returns one policy. Returns not_found.
func (db *DB) SLAPolicy(ctx context.Context, id int64) (*crm.SLAPolicy, error) {
	return findSLAPolicy(ctx, db.rdb(), id)
}

func findSLAPolicy(ctx context.Context, q queryer, id int64) (*crm.SLAPolicy, error) {
	p, err := scanSLAPolicy(q.QueryRowContext(ctx, `SELECT `+slaPolicyCols+` FROM sla_policies WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "sla policy %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find sla policy: %w", err)
	}
	return p, nil
}

var (
	clockRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
	dateRe  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// weekdays are the keys of a schedule's hours.
var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// checkSLAPolicy validates and normalises a policy. Returns invalid.
func checkSLAPolicy(p *crm.SLAPolicy) error {
	p.Name = strings.TrimSpace(p.Name)
	if n := utf8.RuneCountInString(p.Name); n < 1 || n > 100 {
		return crm.Errorf(crm.EINVALID, "name must be 1 to 100 characters")
	}
	if p.InboxID != nil && *p.InboxID <= 0 {
		return crm.Errorf(crm.EINVALID, "inbox_id must be an inbox id or null")
	}
	prios := []string{}
	for _, pr := range p.Priorities {
		if !validPriority(pr) {
			return crm.Errorf(crm.EINVALID, "invalid priority %q", pr)
		}
		if !slices.Contains(prios, pr) {
			prios = append(prios, pr)
		}
	}
	p.Priorities = prios
	const maxMinutes = 365 * 24 * 60
	if p.FirstResponseMinutes < 0 || p.FirstResponseMinutes > maxMinutes ||
		p.ResolutionMinutes < 0 || p.ResolutionMinutes > maxMinutes {
		return crm.Errorf(crm.EINVALID, "targets must be 0 to %d minutes", maxMinutes)
	}
	if p.FirstResponseMinutes == 0 && p.ResolutionMinutes == 0 {
		return crm.Errorf(crm.EINVALID, "a policy needs a first_response_minutes or resolution_minutes target")
	}
	if p.WarnMinutes < 0 || p.WarnMinutes > 7*24*60 {
		return crm.Errorf(crm.EINVALID, "warn_minutes must be 0 to %d", 7*24*60)
	}
	s := &p.Schedule
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil || len(s.Timezone) > 64 {
		return crm.Errorf(crm.EINVALID, "unknown time zone %q", crm.CutRunes(s.Timezone, 64))
	}
	if s.Hours == nil {
		s.Hours = map[string][][2]string{}
	}
	for day, spans := range s.Hours {
		if !slices.Contains(weekdays, day) {
			return crm.Errorf(crm.EINVALID, "hours: unknown day %q (use mon, tue, ... sun)", crm.CutRunes(day, 10))
		}
		if len(spans) > 10 {
			return crm.Errorf(crm.EINVALID, "hours: at most 10 spans a day")
		}
		for _, sp := range spans {
			if !clockRe.MatchString(sp[0]) || !clockRe.MatchString(sp[1]) || sp[0] >= sp[1] {
				return crm.Errorf(crm.EINVALID, "hours: %s span %q-%q must be HH:MM-HH:MM with start before end", day, crm.CutRunes(sp[0], 8), crm.CutRunes(sp[1], 8))
			}
		}
	}
	if len(s.Holidays) > 1000 {
		return crm.Errorf(crm.EINVALID, "at most 1000 holidays")
	}
	for _, h := range s.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil || !dateRe.MatchString(h) {
			return crm.Errorf(crm.EINVALID, "holiday %q must be YYYY-MM-DD", crm.CutRunes(h, 20))
		}
	}
	if s.Holidays == nil {
		s.Holidays = []string{}
	}
	return nil
}

// CreateSLAPolicy stores a new policy. Returns invalid or not_found (inbox).
func (db *DB) CreateSLAPolicy(ctx context.Context, p *crm.SLAPolicy) (*crm.SLAPolicy, error) {
	return db.saveSLAPolicy(ctx, p, true)
}

// UpdateSLAPolicy replaces policy p.ID. It applies to tickets created or changed from now
// on. Returns invalid or not_found.
func (db *DB) UpdateSLAPolicy(ctx context.Context, p *crm.SLAPolicy) (*crm.SLAPolicy, error) {
	return db.saveSLAPolicy(ctx, p, false)
}

func (db *DB) saveSLAPolicy(ctx context.Context, p *crm.SLAPolicy, create bool) (*crm.SLAPolicy, error) {
	if p == nil {
		return nil, crm.Errorf(crm.EINVALID, "policy required")
	}
	if err := checkSLAPolicy(p); err != nil {
		return nil, err
	}
	prios, _ := json.Marshal(p.Priorities)
	sched, _ := json.Marshal(p.Schedule)
	var inbox any
	if p.InboxID != nil {
		inbox = *p.InboxID
	}
	var out *crm.SLAPolicy
	err := db.update(ctx, func(tx *Tx) error {
		if p.InboxID != nil {
			if _, err := db.findInbox(crm.AsSystem(ctx), tx, *p.InboxID); err != nil {
				return err
			}
		}
		id := p.ID
		if create {
			err := tx.QueryRowContext(ctx, `INSERT INTO sla_policies (name, inbox_id, priorities, first_response_minutes,
				resolution_minutes, warn_minutes, schedule, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				RETURNING id`, p.Name, inbox, string(prios), p.FirstResponseMinutes, p.ResolutionMinutes, p.WarnMinutes,
				string(sched), ms(tx.now), ms(tx.now)).Scan(&id)
			if err != nil {
				return fmt.Errorf("insert sla policy: %w", err)
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE sla_policies SET name = ?, inbox_id = ?, priorities = ?,
				first_response_minutes = ?, resolution_minutes = ?, warn_minutes = ?, schedule = ?, updated_at = ?
				WHERE id = ?`, p.Name, inbox, string(prios), p.FirstResponseMinutes, p.ResolutionMinutes, p.WarnMinutes,
				string(sched), ms(tx.now), p.ID)
			if err != nil {
				return fmt.Errorf("update sla policy: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return crm.Errorf(crm.ENOTFOUND, "sla policy %d not found", p.ID)
			}
		}
		var err error
		out, err = findSLAPolicy(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSLAPolicy removes a policy. Tickets it was applied to keep their due times.
// Returns not_found.
func (db *DB) DeleteSLAPolicy(ctx context.Context, id int64) error {
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sla_policies WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete sla policy: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "sla policy %d not found", id)
		}
		return nil
	})
}

// ProjectionCursor returns the id of the last event the reports service projected (0
// before the first run) and the id of the newest stored event.
func (db *DB) ProjectionCursor(ctx context.Context) (after, newest int64, err error) {
	err = db.rdb().QueryRowContext(ctx, `SELECT coalesce((SELECT after FROM report_cursor WHERE id = 1), 0),
		coalesce((SELECT max(id) FROM events), 0)`).Scan(&after, &newest)
	if err != nil {
		return 0, 0, fmt.Errorf("read report cursor: %w", err)
	}
	return after, newest, nil
}

const ticketSLACols = `s.ticket_id, s.inbox_id, s.status, s.priority, s.assignee_id, s.policy_id, s.created_at,
	s.first_response_at, s.first_response_by, s.first_response_secs, s.first_resolved_at, s.resolution_secs,
	s.first_response_due, s.resolution_due, s.first_response_breached_at, s.resolution_breached_at, s.sla_met,
	s.sla_decided_at`

func scanTicketSLA(s scanner) (*crm.TicketSLA, error) {
	var r crm.TicketSLA
	var created int64
	var frAt, frSecs, resAt, resSecs, frDue, resDue, frBr, resBr, decided sql.NullInt64
	var met sql.NullBool
	if err := s.Scan(&r.TicketID, &r.InboxID, &r.Status, &r.Priority, &r.AssigneeID, &r.PolicyID, &created,
		&frAt, &r.FirstResponseBy, &frSecs, &resAt, &resSecs, &frDue, &resDue, &frBr, &resBr, &met, &decided); err != nil {
		return nil, err
	}
	r.CreatedAt = fromMS(created)
	r.FirstResponseAt, r.FirstResolvedAt = nullTime(frAt), nullTime(resAt)
	r.FirstResponseDue, r.ResolutionDue = nullTime(frDue), nullTime(resDue)
	r.FirstResponseBreachedAt, r.ResolutionBreachedAt = nullTime(frBr), nullTime(resBr)
	r.DecidedAt = nullTime(decided)
	r.FirstResponseSecs, r.ResolutionSecs = nullInt(frSecs), nullInt(resSecs)
	if met.Valid {
		r.Met = &met.Bool
	}
	return &r, nil
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func nullBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func queryTicketSLAs(ctx context.Context, q queryer, query string, args ...any) ([]*crm.TicketSLA, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query ticket sla: %w", err)
	}
	defer rows.Close()
	list := []*crm.TicketSLA{}
	for rows.Next() {
		r, err := scanTicketSLA(rows)
		if err != nil {
			return nil, fmt.Errorf("scan ticket sla: %w", err)
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// TicketSLAs returns the stored SLA state of the tickets, by ticket id.
func (db *DB) TicketSLAs(ctx context.Context, ids []int64) (map[int64]*crm.TicketSLA, error) {
	list, err := queryTicketSLAs(ctx, db.rdb(), `SELECT `+ticketSLACols+` FROM ticket_sla s
		WHERE s.ticket_id = ANY(?)`, nonNilIDs(ids))
	if err != nil {
		return nil, err
	}
	m := make(map[int64]*crm.TicketSLA, len(list))
	for _, r := range list {
		m[r.TicketID] = r
	}
	return m, nil
}

// SaveProjection writes projected rows, resolutions and timeline marks and moves the
// report cursor, in one transaction. Breach columns are left alone: only
// RecordSLABreach sets them. The statements, one per row, go out together (see later):
// a batch of events projects hundreds of rows, and the writer that runs them runs
// everyone's writes.
func (db *DB) SaveProjection(ctx context.Context, p *crm.Projection) error {
	return db.update(ctx, func(tx *Tx) error {
		for _, r := range p.Rows {
			tx.later(`INSERT INTO ticket_sla (ticket_id, inbox_id, status, priority, assignee_id,
				policy_id, created_at, first_response_at, first_response_by, first_response_secs, first_resolved_at,
				resolution_secs, first_response_due, resolution_due, sla_met, sla_decided_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (ticket_id) DO UPDATE SET inbox_id = excluded.inbox_id, status = excluded.status,
				priority = excluded.priority, assignee_id = excluded.assignee_id, policy_id = excluded.policy_id,
				first_response_at = excluded.first_response_at, first_response_by = excluded.first_response_by,
				first_response_secs = excluded.first_response_secs, first_resolved_at = excluded.first_resolved_at,
				resolution_secs = excluded.resolution_secs, first_response_due = excluded.first_response_due,
				resolution_due = excluded.resolution_due, sla_met = excluded.sla_met, sla_decided_at = excluded.sla_decided_at`,
				r.TicketID, r.InboxID, r.Status, r.Priority, r.AssigneeID, r.PolicyID, ms(r.CreatedAt),
				nullMS(r.FirstResponseAt), r.FirstResponseBy, r.FirstResponseSecs, nullMS(r.FirstResolvedAt),
				r.ResolutionSecs, nullMS(r.FirstResponseDue), nullMS(r.ResolutionDue), nullBool(r.Met), nullMS(r.DecidedAt))
		}
		for _, res := range p.Resolutions {
			tx.later(`INSERT INTO ticket_resolutions (ticket_id, at, agent_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				res.TicketID, ms(res.At), res.By)
		}
		for _, h := range p.History {
			tx.later(`INSERT INTO history_events (event_id, ticket_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				h.EventID, h.TicketID, ms(h.At))
		}
		tx.later(`INSERT INTO report_cursor (id, after) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET after = GREATEST(report_cursor.after, excluded.after)`, p.After)
		if err := tx.flush(ctx); err != nil {
			return fmt.Errorf("save projection: %w", err)
		}
		return nil
	})
}

// DueSLAs returns the undecided SLA states of open and pending tickets with a first
// response or resolution target due before the given time, neither met nor breached.
func (db *DB) DueSLAs(ctx context.Context, before time.Time) ([]*crm.TicketSLA, error) {
	return queryTicketSLAs(ctx, db.rdb(), `SELECT `+ticketSLACols+` FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id
		WHERE s.policy_id <> 0 AND s.sla_met IS NULL AND t.status IN ('open', 'pending') AND (
			(s.first_response_due < ? AND s.first_response_at IS NULL AND s.first_response_breached_at IS NULL) OR
			(s.resolution_due < ? AND s.first_resolved_at IS NULL AND s.resolution_breached_at IS NULL))
		ORDER BY s.ticket_id`, ms(before), ms(before))
}

// RecordSLABreach marks a ticket's target as missed at its due time, decides the ticket's
// SLA as missed and stores a ticket.sla_breached event. It reports false, changing
// nothing, when the target was met, already breached or is not yet due. Returns invalid
// (unknown target) or not_found.
func (db *DB) RecordSLABreach(ctx context.Context, ticketID int64, target string) (bool, error) {
	var metCol, dueCol, brCol string
	switch target {
	case crm.TargetFirstResponse:
		metCol, dueCol, brCol = "first_response_at", "first_response_due", "first_response_breached_at"
	case crm.TargetResolution:
		metCol, dueCol, brCol = "first_resolved_at", "resolution_due", "resolution_breached_at"
	default:
		return false, crm.Errorf(crm.EINVALID, "unknown sla target %q", target)
	}
	breached := false
	err := db.update(ctx, func(tx *Tx) error {
		breached = false
		t, err := findTicket(crm.AsSystem(ctx), tx, ticketID)
		if err != nil {
			return err
		}
		var due int64
		err = tx.QueryRowContext(ctx, `UPDATE ticket_sla SET `+brCol+` = `+dueCol+`, sla_met = false,
			sla_decided_at = CASE WHEN NOT sla_met THEN LEAST(sla_decided_at, `+dueCol+`) ELSE `+dueCol+` END
			WHERE ticket_id = ? AND `+dueCol+` IS NOT NULL AND `+dueCol+` <= ? AND `+metCol+` IS NULL AND `+brCol+` IS NULL
			RETURNING `+dueCol, ticketID, ms(tx.now)).Scan(&due)
		if isNoRows(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("record sla breach: %w", err)
		}
		breached = true
		at := fromMS(due)
		return tx.ticketEvent(ctx, crm.EventSLABreached, t, systemActor, map[string]any{
			"ticket_id": t.ID, "target": target, "due_at": at, "breached_at": at})
	})
	return breached, err
}

// TicketSLA returns the SLA of a ticket the agent in ctx may see: its policy, due times,
// first response, resolution and breaches. A ticket without a policy has all of them
// null but the response and resolution times. Returns not_found.
func (db *DB) TicketSLA(ctx context.Context, ticketID int64) (*crm.TicketSLAView, error) {
	t, err := findTicket(ctx, db.rdb(), ticketID)
	if err != nil {
		return nil, err
	}
	v := &crm.TicketSLAView{Breaches: []crm.SLABreach{}, ResolvedAt: t.ResolvedAt}
	rows, err := queryTicketSLAs(ctx, db.rdb(), `SELECT `+ticketSLACols+` FROM ticket_sla s WHERE s.ticket_id = ?`, ticketID)
	if err != nil || len(rows) == 0 {
		return v, err
	}
	r := rows[0]
	v.FirstResponseAt = r.FirstResponseAt
	if r.PolicyID == 0 {
		return v, nil
	}
	v.Policy = &crm.PolicyRef{ID: r.PolicyID, Name: "(deleted policy)"}
	if p, err := findSLAPolicy(ctx, db.rdb(), r.PolicyID); err == nil {
		v.Policy.Name = p.Name
	}
	v.FirstResponseDue, v.ResolutionDue = r.FirstResponseDue, r.ResolutionDue
	if r.FirstResponseBreachedAt != nil {
		v.Breaches = append(v.Breaches, crm.SLABreach{Target: crm.TargetFirstResponse, At: *r.FirstResponseBreachedAt})
	} else if r.FirstResponseAt != nil && r.FirstResponseDue != nil && r.FirstResponseAt.After(*r.FirstResponseDue) {
		v.Breaches = append(v.Breaches, crm.SLABreach{Target: crm.TargetFirstResponse, At: *r.FirstResponseDue})
	}
	if r.ResolutionBreachedAt != nil {
		v.Breaches = append(v.Breaches, crm.SLABreach{Target: crm.TargetResolution, At: *r.ResolutionBreachedAt})
	} else if r.FirstResolvedAt != nil && r.ResolutionDue != nil && r.FirstResolvedAt.After(*r.ResolutionDue) {
		v.Breaches = append(v.Breaches, crm.SLABreach{Target: crm.TargetResolution, At: *r.ResolutionDue})
	}
	return v, nil
}
