package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"
)

// The SQL that differs between the stores in this file.
const (
	sqlLeast  = "min" // the smaller of two values
	sqlIDList = "IN (SELECT value FROM json_each(?))"
	maxKey    = "9223372036854775807"
	sqlMark   = "?"  // a bigint parameter
	sqlIsSame = "IS" // equal, NULL to NULL too
)

func idsArg(ids []int64) any { return idsJSON(ids) }

// startWaiting records on t, which an inbound message in joins or opens at at, that its
// customer waits for an answer, and ends its snooze: the customer wrote. A delivery
// report is not the customer writing.
func startWaiting(t *crm.Ticket, in *crm.Inbound, at time.Time) {
	if in.Bounce != nil || t.Status == crm.StatusClosed {
		return
	}
	if t.WaitingSince == nil {
		t.WaitingSince = &at
	}
	if t.Snoozed() {
		t.SnoozedUntil, t.SnoozeUntilReply, t.SnoozeEnded = nil, false, crm.SnoozeEndedReply
	}
}

// snoozedWhere adds f's snooze condition to w. By default a list leaves snoozed tickets
// out, but a customer's tickets and a search show them all. Returns invalid.
func snoozedWhere(w *where, f crm.TicketFilter) error {
	switch f.Snoozed {
	case crm.SnoozedHide:
		if f.CustomerID == 0 && strings.TrimSpace(f.Query) == "" {
			w.add("t.snoozed_until IS NULL AND NOT t.snooze_until_reply")
		}
	case crm.SnoozedOnly:
		w.add("(t.snoozed_until IS NOT NULL OR t.snooze_until_reply)")
	case crm.SnoozedAny:
	default:
		return crm.Errorf(crm.EINVALID, "snoozed must be only or any")
	}
	return nil
}

// priorityRank orders priorities, urgent highest; the index tickets_priority has it.
const priorityRank = `(CASE t.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END)`

// slaDue is when the ticket's first pending SLA target falls due (overdue ones too),
// maxKey without one.
const slaDue = `coalesce((SELECT ` + sqlLeast + `(
		coalesce(CASE WHEN s.first_response_at IS NULL THEN s.first_response_due END, ` + maxKey + `),
		coalesce(CASE WHEN s.first_resolved_at IS NULL THEN s.resolution_due END, ` + maxKey + `))
	FROM ticket_sla s WHERE s.ticket_id = t.id AND s.policy_id <> 0 AND s.sla_met IS NULL), ` + maxKey + `)`

// ticketSort is one order of the ticket list: its keys, all in one direction, so that a
// row comparison pages it.
type ticketSort struct {
	keys []string
	desc bool
}

var ticketSorts = map[string]ticketSort{
	crm.SortNewest:        {[]string{"t.last_message_at", "t.id"}, true},
	crm.SortOldestWaiting: {[]string{"coalesce(t.waiting_since, " + maxKey + ")", "t.id"}, false},
	crm.SortSLADue:        {[]string{slaDue, "t.id"}, false},
	crm.SortPriority:      {[]string{priorityRank, "t.last_message_at", "t.id"}, true},
}

func rankOf(priority string) int64 {
	switch priority {
	case crm.PriorityUrgent:
		return 3
	case crm.PriorityHigh:
		return 2
	case crm.PriorityNormal:
		return 1
	}
	return 0
}

// sortedTickets reads a page of the tickets of w in f's order. The cursor of a sort
// other than newest starts with the sort's name, so that it cannot page another order.
// Returns invalid (sort, cursor).
func (db *DB) sortedTickets(ctx context.Context, f crm.TicketFilter, w where, limit int) ([]*crm.Ticket, string, error) {
	name := f.Sort
	if name == "" {
		name = crm.SortNewest
	}
	s, ok := ticketSorts[name]
	if !ok {
		return nil, "", crm.Errorf(crm.EINVALID, "sort must be newest, oldest_waiting, sla_due or priority")
	}
	if f.Cursor != "" {
		var vals []int64
		var err error
		if name == crm.SortNewest {
			vals, err = decodeIntCursor(f.Cursor, 2)
		} else {
			vals, err = decodeSortCursor(f.Cursor, name, len(s.keys))
		}
		if err != nil {
			return nil, "", err
		}
		op, marks, args := ">", make([]string, len(vals)), make([]any, len(vals))
		if s.desc {
			op = "<"
		}
		for i, v := range vals {
			marks[i], args[i] = sqlMark, v
		}
		w.add("("+strings.Join(s.keys, ", ")+") "+op+" ("+strings.Join(marks, ", ")+")", args...)
	}
	dir := " ASC"
	if s.desc {
		dir = " DESC"
	}
	tickets, err := queryTickets(ctx, db.rdb, `SELECT `+ticketListCols+` FROM tickets t WHERE `+w.String()+`
		ORDER BY `+strings.Join(s.keys, dir+", ")+dir+` LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	if len(tickets) <= limit {
		return tickets, "", nil
	}
	tickets = tickets[:limit]
	last := tickets[limit-1]
	var next string
	switch name {
	case crm.SortNewest:
		next = encodeCursor(itoa(ms(last.LastMessageAt)), itoa(last.ID))
	case crm.SortOldestWaiting:
		key := int64(1<<63 - 1)
		if last.WaitingSince != nil {
			key = ms(*last.WaitingSince)
		}
		next = encodeCursor(name, itoa(key), itoa(last.ID))
	case crm.SortSLADue:
		var key int64
		if err := db.rdb.QueryRowContext(ctx, `SELECT `+slaDue+` FROM tickets t WHERE t.id = ?`, last.ID).Scan(&key); err != nil {
			return nil, "", fmt.Errorf("read sla due: %w", err)
		}
		next = encodeCursor(name, itoa(key), itoa(last.ID))
	case crm.SortPriority:
		next = encodeCursor(name, itoa(rankOf(last.Priority)), itoa(ms(last.LastMessageAt)), itoa(last.ID))
	}
	return tickets, next, nil
}

// decodeSortCursor decodes a cursor of sort name with n integer keys. Returns invalid.
func decodeSortCursor(c, name string, n int) ([]int64, error) {
	parts, err := decodeCursor(c, n+1)
	if err != nil {
		return nil, err
	}
	if parts[0] != name {
		return nil, crm.Errorf(crm.EINVALID, "the cursor is of another sort")
	}
	vals := make([]int64, n)
	for i, p := range parts[1:] {
		if vals[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return nil, crm.Errorf(crm.EINVALID, "invalid cursor")
		}
	}
	return vals, nil
}

// CountTickets counts the tickets of f the agent in ctx may see, up to limit+1.
// Returns invalid.
func (db *DB) CountTickets(ctx context.Context, f crm.TicketFilter, limit int) (int, error) {
	if err := db.searchReady(ctx, f.Query); err != nil {
		return 0, err
	}
	w, none, err := ticketsWhere(ctx, f)
	if err != nil || none {
		return 0, err
	}
	var n int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM tickets t WHERE `+w.String()+` LIMIT ?) x`,
		append(w.args, limit+1)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tickets: %w", err)
	}
	return n, nil
}

// maxSnooze bounds how far ahead a ticket is snoozed.
const maxSnooze = 366 * 24 * time.Hour

// applySnooze sets the snooze of a PATCH on t and reports whether it changed. Returns
// invalid for a time not in the future or more than a year ahead.
func applySnooze(t *crm.Ticket, s *crm.Snooze, now time.Time) (bool, error) {
	if s == nil {
		return false, nil
	}
	var until *time.Time
	if s.Until != nil {
		u := s.Until.UTC().Truncate(time.Millisecond)
		if !u.After(now) {
			return false, crm.Errorf(crm.EINVALID, "snoozed_until must be in the future")
		}
		if u.Sub(now) > maxSnooze {
			return false, crm.Errorf(crm.EINVALID, "snoozed_until must be within a year")
		}
		until = &u
	}
	same := (until == nil) == (t.SnoozedUntil == nil) && (until == nil || until.Equal(*t.SnoozedUntil))
	if same && s.UntilReply == t.SnoozeUntilReply {
		return false, nil
	}
	t.SnoozedUntil, t.SnoozeUntilReply = until, s.UntilReply
	return true, nil
}

// saveSnooze writes t's snooze.
func (tx *Tx) saveSnooze(ctx context.Context, t *crm.Ticket) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET snoozed_until = ?, snooze_until_reply = ? WHERE id = ?`,
		nullMS(t.SnoozedUntil), t.SnoozeUntilReply, t.ID); err != nil {
		return fmt.Errorf("snooze ticket %d: %w", t.ID, err)
	}
	return nil
}

// WakeSnoozed ends the snooze of the tickets snoozed until now or before, 100 at a
// time: each comes back to open (a pending one) with its assignee, in a ticket.updated
// event of the system with snooze_ended "time".
func (db *DB) WakeSnoozed(ctx context.Context, now time.Time) (int, error) {
	var due []int64
	var err error
	if due, err = queryIDs(ctx, db.rdb, `SELECT id FROM tickets WHERE snoozed_until IS NOT NULL AND snoozed_until <= ?
		ORDER BY snoozed_until LIMIT 100`, ms(now)); err != nil || len(due) == 0 {
		return 0, err
	}
	woke := 0
	err = db.update(ctx, func(tx *Tx) error {
		woke = 0
		sys := crm.AsSystem(ctx)
		for _, id := range due {
			t, err := findTicket(sys, tx, id)
			if err != nil {
				return err
			}
			if t.SnoozedUntil == nil || t.SnoozedUntil.After(now) { // unsnoozed meanwhile
				continue
			}
			t.SnoozedUntil, t.SnoozeUntilReply, t.SnoozeEnded = nil, false, crm.SnoozeEndedTime
			if t.Status == crm.StatusPending {
				setStatus(t, crm.StatusOpen, tx.now)
			}
			t.UpdatedAt = tx.now
			if err := tx.saveActivity(ctx, t); err != nil {
				return err
			}
			if err := tx.ticketEvent(ctx, crm.EventTicketUpdated, t, systemActor, t); err != nil {
				return err
			}
			woke++
		}
		return nil
	})
	return woke, err
}

// Saved views.

const viewCols = `id, name, owner_id, filters, sort, created_by, created_at, updated_at`

func scanView(s scanner) (*crm.View, error) {
	var v crm.View
	var owner *int64
	var filters string
	var created, updated int64
	if err := s.Scan(&v.ID, &v.Name, &owner, &filters, &v.Sort, &v.CreatedBy, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(filters), &v.Filters); err != nil {
		return nil, fmt.Errorf("view %d filters: %w", v.ID, err)
	}
	v.OwnerID, v.Shared = owner, owner == nil
	v.CreatedAt, v.UpdatedAt = fromMS(created), fromMS(updated)
	return &v, nil
}

// viewVisible limits views to those the agent in ctx sees: shared ones and its own. The
// system sees all; nobody sees none.
func viewVisible(ctx context.Context) (string, []any) {
	if a := crm.AgentFrom(ctx); a != nil {
		return "(owner_id IS NULL OR owner_id = ?)", []any{a.ID}
	} else if crm.IsSystem(ctx) {
		return "1 = 1", nil
	}
	return "1 = 0", nil
}

// Views lists the views the agent in ctx sees, shared ones first, each by name.
func (db *DB) Views(ctx context.Context) ([]*crm.View, error) {
	vis, args := viewVisible(ctx)
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+viewCols+` FROM views WHERE `+vis+`
		ORDER BY owner_id IS NOT NULL, lower(name), id`, args...)
	if err != nil {
		return nil, fmt.Errorf("query views: %w", err)
	}
	defer rows.Close()
	list := []*crm.View{}
	for rows.Next() {
		v, err := scanView(rows)
		if err != nil {
			return nil, fmt.Errorf("scan view: %w", err)
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// View returns one view the agent in ctx sees. Returns not_found.
func (db *DB) View(ctx context.Context, id int64) (*crm.View, error) {
	return findView(ctx, db.rdb, id)
}

func findView(ctx context.Context, q queryer, id int64) (*crm.View, error) {
	vis, args := viewVisible(ctx)
	v, err := scanView(q.QueryRowContext(ctx, `SELECT `+viewCols+` FROM views WHERE id = ? AND `+vis, append([]any{id}, args...)...))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "view %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find view: %w", err)
	}
	return v, nil
}

var assigneeRe = regexp.MustCompile(`^(me|unassigned|[1-9][0-9]{0,17})$`)

// checkView validates and normalises a view's name, filters and sort. Returns invalid.
func checkView(v *crm.View) error {
	v.Name = strings.TrimSpace(v.Name)
	if n := utf8.RuneCountInString(v.Name); n < 1 || n > 100 {
		return crm.Errorf(crm.EINVALID, "name must be 1 to 100 characters")
	}
	if v.Sort == "" {
		v.Sort = crm.SortNewest
	}
	if !crm.ValidSort(v.Sort) {
		return crm.Errorf(crm.EINVALID, "sort must be newest, oldest_waiting, sla_due or priority")
	}
	f := &v.Filters
	f.Status, f.Assignee, f.Channel = strings.TrimSpace(f.Status), strings.TrimSpace(f.Assignee), strings.TrimSpace(f.Channel)
	f.Tag, f.Query = strings.ToLower(strings.TrimSpace(f.Tag)), strings.TrimSpace(f.Query)
	switch {
	case f.Status != "" && !validStatus(f.Status):
		return crm.Errorf(crm.EINVALID, "invalid status %q", crm.CutRunes(f.Status, 20))
	case f.Assignee != "" && !assigneeRe.MatchString(f.Assignee):
		return crm.Errorf(crm.EINVALID, "assignee must be me, unassigned or an agent id")
	case f.InboxID < 0:
		return crm.Errorf(crm.EINVALID, "inbox must be an inbox id")
	case utf8.RuneCountInString(f.Channel) > 20, utf8.RuneCountInString(f.Tag) > 50, utf8.RuneCountInString(f.Query) > 200:
		return crm.Errorf(crm.EINVALID, "channel, tag or q is too long")
	case f.Snoozed != crm.SnoozedHide && f.Snoozed != crm.SnoozedOnly && f.Snoozed != crm.SnoozedAny:
		return crm.Errorf(crm.EINVALID, "snoozed must be only or any")
	}
	return nil
}

// mayShare returns forbidden unless ctx may make or change shared views: a manager, an
// admin or the system.
func mayShare(ctx context.Context) error {
	if a := crm.AgentFrom(ctx); a != nil && !a.SeesAllInboxes() {
		return crm.Errorf(crm.EFORBIDDEN, "only managers and admins change shared views")
	} else if a == nil && !crm.IsSystem(ctx) {
		return crm.Errorf(crm.EFORBIDDEN, "forbidden")
	}
	return nil
}

// CreateView stores a view of the agent in ctx: shared when v.Shared (managers and
// admins only), else personal. Returns invalid or forbidden.
func (db *DB) CreateView(ctx context.Context, v *crm.View) (*crm.View, error) {
	if v == nil {
		return nil, crm.Errorf(crm.EINVALID, "view required")
	}
	nv := *v
	if err := checkView(&nv); err != nil {
		return nil, err
	}
	a := crm.AgentFrom(ctx)
	var owner *int64
	if nv.Shared {
		if err := mayShare(ctx); err != nil {
			return nil, err
		}
	} else if a == nil {
		return nil, crm.Errorf(crm.EFORBIDDEN, "a personal view needs an agent")
	} else {
		owner = &a.ID
	}
	var by int64
	if a != nil {
		by = a.ID
	}
	filters, _ := json.Marshal(nv.Filters)
	var out *crm.View
	err := db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM views WHERE owner_id `+sqlIsSame+` ?`, owner).Scan(&n); err != nil {
			return fmt.Errorf("count views: %w", err)
		}
		if n >= crm.MaxViews {
			return crm.Errorf(crm.EINVALID, "at most %d views", crm.MaxViews)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO views (name, owner_id, filters, sort, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, nv.Name, owner, string(filters), nv.Sort, by, ms(tx.now), ms(tx.now)).Scan(&id); err != nil {
			return fmt.Errorf("insert view: %w", err)
		}
		var err error
		out, err = findView(crm.AsSystem(ctx), tx, id)
		return err
	})
	return out, err
}

// UpdateView changes a view the agent in ctx sees: its own, or a shared one for a
// manager or admin, who may also share a view or make a shared one theirs. Returns
// invalid, not_found or forbidden.
func (db *DB) UpdateView(ctx context.Context, id int64, u crm.ViewUpdate) (*crm.View, error) {
	var out *crm.View
	err := db.update(ctx, func(tx *Tx) error {
		v, err := findView(ctx, tx, id)
		if err != nil {
			return err
		}
		if v.Shared || (u.Shared != nil && *u.Shared) {
			if err := mayShare(ctx); err != nil {
				return err
			}
		}
		if u.Name != nil {
			v.Name = *u.Name
		}
		if u.Filters != nil {
			v.Filters = *u.Filters
		}
		if u.Sort != nil {
			v.Sort = *u.Sort
		}
		if err := checkView(v); err != nil {
			return err
		}
		if u.Shared != nil && *u.Shared != v.Shared {
			if *u.Shared {
				v.OwnerID = nil
			} else if a := crm.AgentFrom(ctx); a != nil {
				v.OwnerID = &a.ID
			} else {
				return crm.Errorf(crm.EINVALID, "a personal view needs an agent")
			}
		}
		filters, _ := json.Marshal(v.Filters)
		if _, err := tx.ExecContext(ctx, `UPDATE views SET name = ?, owner_id = ?, filters = ?, sort = ?, updated_at = ?
			WHERE id = ?`, v.Name, v.OwnerID, string(filters), v.Sort, ms(tx.now), id); err != nil {
			return fmt.Errorf("update view: %w", err)
		}
		out, err = findView(crm.AsSystem(ctx), tx, id)
		return err
	})
	return out, err
}

// DeleteView deletes a view the agent in ctx sees: its own, or a shared one for a
// manager or admin. Returns not_found or forbidden.
func (db *DB) DeleteView(ctx context.Context, id int64) error {
	return db.update(ctx, func(tx *Tx) error {
		v, err := findView(ctx, tx, id)
		if err != nil {
			return err
		}
		if v.Shared {
			if err := mayShare(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM views WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete view: %w", err)
		}
		return nil
	})
}

// Notifications.

const notificationCols = `n.id, n.agent_id, n.kind, n.ticket_id, t.inbox_id, t.subject, n.actor_kind, n.actor_id,
	coalesce(CASE n.actor_kind WHEN 'agent' THEN (SELECT name FROM agents WHERE id = n.actor_id)
		WHEN 'customer' THEN (SELECT name FROM customers WHERE id = n.actor_id) END, ''),
	n.text, n.read_at, n.created_at`

func queryNotifications(ctx context.Context, q queryer, cond string, args ...any) ([]*crm.Notification, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications n JOIN tickets t ON t.id = n.ticket_id
		WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("query notifications: %w", err)
	}
	defer rows.Close()
	list := []*crm.Notification{}
	for rows.Next() {
		var n crm.Notification
		var read *int64
		var created int64
		if err := rows.Scan(&n.ID, &n.AgentID, &n.Kind, &n.TicketID, &n.InboxID, &n.Subject, &n.Actor.Kind, &n.Actor.ID,
			&n.Actor.Name, &n.Text, &read, &created); err != nil {
			return nil, fmt.Errorf("scan notification: %w", err)
		}
		if read != nil {
			at := fromMS(*read)
			n.ReadAt = &at
		}
		n.CreatedAt = fromMS(created)
		list = append(list, &n)
	}
	return list, rows.Err()
}

// AgentNotifications lists the notifications of the agent in ctx about tickets it may
// see, newest first, and how many of those are unread. Returns invalid (cursor).
func (db *DB) AgentNotifications(ctx context.Context, p crm.Page) ([]*crm.Notification, int, string, error) {
	a := crm.AgentFrom(ctx)
	if a == nil {
		return []*crm.Notification{}, 0, "", nil
	}
	limit := limitOf(p.Limit, crm.DefaultLimit, crm.MaxLimit)
	vis, vargs := inboxFilter(ctx, "t.inbox_id")
	w := where{}
	w.add("n.agent_id = ?", a.ID)
	w.add(vis, vargs...)
	var unread int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM notifications n JOIN tickets t ON t.id = n.ticket_id
		WHERE `+w.String()+` AND n.read_at IS NULL`, w.args...).Scan(&unread); err != nil {
		return nil, 0, "", fmt.Errorf("count unread notifications: %w", err)
	}
	if p.Cursor != "" {
		c, err := decodeIntCursor(p.Cursor, 1)
		if err != nil {
			return nil, 0, "", err
		}
		w.add("n.id < ?", c[0])
	}
	list, err := queryNotifications(ctx, db.rdb, w.String()+` ORDER BY n.id DESC LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return nil, 0, "", err
	}
	var next string
	if len(list) > limit {
		list = list[:limit]
		next = encodeCursor(itoa(list[limit-1].ID))
	}
	return list, unread, next, nil
}

// MarkNotificationsRead marks notifications of the agent in ctx read, those of ids or
// all, and returns the unread count after.
func (db *DB) MarkNotificationsRead(ctx context.Context, ids []int64, all bool) (int, error) {
	a := crm.AgentFrom(ctx)
	if a == nil {
		return 0, crm.Errorf(crm.EFORBIDDEN, "notifications are an agent's")
	}
	if !all && len(ids) == 0 {
		return 0, crm.Errorf(crm.EINVALID, "ids or all required")
	}
	if len(ids) > crm.MaxLimit {
		return 0, crm.Errorf(crm.EINVALID, "at most %d ids", crm.MaxLimit)
	}
	err := db.update(ctx, func(tx *Tx) error {
		cond, args := "n.read_at IS NULL AND n.agent_id = ?", []any{a.ID}
		if !all {
			cond += " AND n.id " + sqlIDList
			args = append(args, idsArg(ids))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notifications AS n SET read_at = ? WHERE `+cond,
			append([]any{ms(tx.now)}, args...)...); err != nil {
			return fmt.Errorf("mark notifications read: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	_, unread, _, err := db.AgentNotifications(ctx, crm.Page{Limit: 1})
	return unread, err
}

// NotifyCursor returns the id of the last event the notifier has read, starting it at
// the newest event.
func (db *DB) NotifyCursor(ctx context.Context) (int64, error) {
	var after int64
	err := db.rdb.QueryRowContext(ctx, `SELECT after FROM notify_cursor WHERE id = 1`).Scan(&after)
	if err == nil {
		return after, nil
	} else if !isNoRows(err) {
		return 0, fmt.Errorf("read notify cursor: %w", err)
	}
	err = db.update(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT after FROM notify_cursor WHERE id = 1),
			(SELECT max(id) FROM events), 0)`).Scan(&after); err != nil {
			return fmt.Errorf("start notify cursor: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_cursor (id, after) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, after)
		return err
	})
	return after, err
}

// SaveNotifications stores the notifications an agent has not got yet (by Dedupe) and
// moves the notifier's cursor to after (unless 0), in one transaction.
func (db *DB) SaveNotifications(ctx context.Context, list []*crm.Notification, after int64) ([]*crm.Notification, error) {
	var ids []int64
	err := db.update(ctx, func(tx *Tx) error {
		ids = ids[:0]
		for _, n := range list {
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO notifications (agent_id, kind, ticket_id, inbox_id, actor_kind, actor_id,
				text, dedupe, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, dedupe) DO NOTHING RETURNING id`,
				n.AgentID, n.Kind, n.TicketID, n.InboxID, n.Actor.Kind, n.Actor.ID, crm.CutRunes(n.Text, 300), n.Dedupe,
				ms(tx.now)).Scan(&id)
			if isNoRows(err) {
				continue
			} else if err != nil {
				return fmt.Errorf("insert notification: %w", err)
			}
			ids = append(ids, id)
		}
		if after != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notify_cursor (id, after) VALUES (1, ?)
				ON CONFLICT (id) DO UPDATE SET after = excluded.after`, after); err != nil {
				return fmt.Errorf("move notify cursor: %w", err)
			}
		}
		return nil
	})
	if err != nil || len(ids) == 0 {
		return []*crm.Notification{}, err
	}
	return queryNotifications(ctx, db.rdb, `n.id `+sqlIDList+` ORDER BY n.id`, idsArg(ids))
}

// TicketBefore returns the ticket as the last ticket event before event id recorded it,
// or nil.
func (db *DB) TicketBefore(ctx context.Context, ticketID, eventID int64) (*crm.Ticket, error) {
	var data string
	err := db.rdb.QueryRowContext(ctx, `SELECT data FROM events WHERE ticket_id = ? AND id < ?
		AND type IN ('ticket.created', 'ticket.updated') ORDER BY id DESC LIMIT 1`, ticketID, eventID).Scan(&data)
	if isNoRows(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read ticket before event %d: %w", eventID, err)
	}
	var t crm.Ticket
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		return nil, fmt.Errorf("ticket event data: %w", err)
	}
	return &t, nil
}
