package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"
)

const ticketCols = `t.id, t.inbox_id, t.customer_id, t.subject, t.status, t.priority, t.channel,
	t.assignee_id, t.linked_ticket_id, t.merged_into, t.created_at, t.updated_at,
	t.first_response_at, t.resolved_at, t.last_message_at, t.participants,
	t.snoozed_until, t.snooze_until_reply, t.waiting_since, t.team_id,
	t.reason_id, t.reason_source, t.reason_confidence, t.reason_suggestions`

type scanner interface{ Scan(dest ...any) error }

func scanTicket(s scanner) (*crm.Ticket, error) {
	var t crm.Ticket
	var assignee, linked, merged, firstResp, resolved sql.NullInt64
	var created, updated, last int64
	var participants string
	var snoozed, waiting, team sql.NullInt64
	var reason, confidence sql.NullInt64
	var suggestions string
	if err := s.Scan(&t.ID, &t.InboxID, &t.CustomerID, &t.Subject, &t.Status, &t.Priority, &t.Channel,
		&assignee, &linked, &merged, &created, &updated, &firstResp, &resolved, &last, &participants,
		&snoozed, &t.SnoozeUntilReply, &waiting, &team,
		&reason, &t.ReasonSource, &confidence, &suggestions); err != nil {
		return nil, err
	}
	if err := scanTicketReason(&t, reason, confidence, suggestions); err != nil {
		return nil, err
	}
	if participants != "" { // most tickets have none
		if err := json.Unmarshal([]byte(participants), &t.Participants); err != nil {
			return nil, fmt.Errorf("ticket %d participants: %w", t.ID, err)
		}
	}
	if assignee.Valid {
		t.AssigneeID = &assignee.Int64
	}
	t.LinkedTicketID = linked.Int64
	t.MergedInto = merged.Int64
	t.CreatedAt, t.UpdatedAt, t.LastMessageAt = fromMS(created), fromMS(updated), fromMS(last)
	t.FirstResponseAt, t.ResolvedAt = nullTime(firstResp), nullTime(resolved)
	t.SnoozedUntil, t.WaitingSince = nullTime(snoozed), nullTime(waiting)
	if team.Valid {
		t.TeamID = &team.Int64
	}
	t.Tags = []string{}
	return &t, nil
}

// ticketListCols selects ticketCols and the ticket's tags as a JSON array, so that
// tickets are read with their tags in one statement; queryTickets reads rows of it.
const ticketListCols = ticketCols + `, (SELECT json_group_array(tag) FROM
	(SELECT tag FROM ticket_tags g WHERE g.ticket_id = t.id ORDER BY tag))`

// tagsScanner scans a row of ticketCols followed by the tags column of ticketListCols.
type tagsScanner struct {
	row  scanner
	tags *string
}

func (s tagsScanner) Scan(dest ...any) error { return s.row.Scan(append(dest, s.tags)...) }

// scanTicketWithTags scans a row of ticketListCols.
func scanTicketWithTags(s scanner) (*crm.Ticket, error) {
	var tags string
	t, err := scanTicket(tagsScanner{s, &tags})
	if err != nil {
		return nil, err
	}
	if tags != "[]" { // most tickets have none
		if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil {
			return nil, fmt.Errorf("ticket %d tags: %w", t.ID, err)
		}
	}
	return t, nil
}

// queryTickets runs a query selecting ticketListCols.
func queryTickets(ctx context.Context, q queryer, query string, args ...any) ([]*crm.Ticket, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query tickets: %w", err)
	}
	defer rows.Close()
	tickets := []*crm.Ticket{}
	for rows.Next() {
		t, err := scanTicketWithTags(rows)
		if err != nil {
			return nil, fmt.Errorf("scan ticket: %w", err)
		}
		tickets = append(tickets, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query tickets: %w", err)
	}
	return tickets, nil
}

// findTicket returns ticket id if the agent in ctx may see it. Returns not_found.
func findTicket(ctx context.Context, q queryer, id int64) (*crm.Ticket, error) {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	tickets, err := queryTickets(ctx, q, `SELECT `+ticketListCols+` FROM tickets t WHERE t.id = ? AND `+vis,
		append([]any{id}, args...)...)
	if err != nil {
		return nil, err
	} else if len(tickets) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "ticket %d not found", id)
	}
	return tickets[0], nil
}

// checkTicket returns not_found unless the agent in ctx may see ticket id. It reads one
// index entry, for the reads that only need to know (a thread, a ticket's events).
func checkTicket(ctx context.Context, q queryer, id int64) error {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM tickets t WHERE t.id = ? AND `+vis, append([]any{id}, args...)...).Scan(&one)
	if isNoRows(err) {
		return crm.Errorf(crm.ENOTFOUND, "ticket %d not found", id)
	} else if err != nil {
		return fmt.Errorf("find ticket: %w", err)
	}
	return nil
}

var ticketIDQuery = regexp.MustCompile(`^#?([0-9]{1,18})$`)

// Tickets lists the tickets the agent in ctx may see, newest activity first. Returns
// invalid for a bad cursor or filter value.
func (db *DB) Tickets(ctx context.Context, f crm.TicketFilter) ([]*crm.Ticket, string, error) {
	limit := limitOf(f.Limit, crm.DefaultLimit, crm.MaxLimit)
	if err := db.searchReady(ctx, f.Query); err != nil {
		return nil, "", err
	}
	w, none, err := ticketsWhere(ctx, f)
	if err != nil || none {
		return []*crm.Ticket{}, "", err
	}
	return db.sortedTickets(ctx, f, w, limit)
}

// ticketsWhere returns the conditions of f's tickets the agent in ctx may see; none
// says that f matches nothing (a query without words). Returns invalid.
func ticketsWhere(ctx context.Context, f crm.TicketFilter) (where, bool, error) {
	var w where
	vis, args := inboxFilter(ctx, "t.inbox_id")
	w.add(vis, args...)
	if f.Status != "" {
		if !validStatus(f.Status) {
			return w, false, crm.Errorf(crm.EINVALID, "invalid status %q", f.Status)
		}
		w.add("t.status = ?", f.Status)
	}
	if f.Unassigned {
		w.add("t.assignee_id IS NULL")
	} else if f.AssigneeID != 0 {
		w.add("t.assignee_id = ?", f.AssigneeID)
	}
	if f.InboxID != 0 {
		w.add("t.inbox_id = ?", f.InboxID)
	}
	if f.TeamID != 0 {
		w.add("t.team_id = ?", f.TeamID)
	}
	if f.Channel != "" {
		w.add("t.channel = ?", f.Channel)
	}
	if f.Tag != "" {
		w.add("EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ?)",
			strings.ToLower(strings.TrimSpace(f.Tag)))
	}
	if f.CustomerID != 0 {
		w.add("t.customer_id = ?", f.CustomerID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		var id int64
		if m := ticketIDQuery.FindStringSubmatch(q); m != nil {
			id, _ = strconv.ParseInt(m[1], 10, 64)
		}
		match := ftsQuery(q)
		if match == "" && id == 0 {
			return w, true, nil
		}
		byOrder, orderArgs := ticketsOfOrderCond(q)
		w.add(`(t.id = ?
			OR t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)
			OR t.id IN (SELECT m.ticket_id FROM messages m WHERE m.id IN
				(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))
			OR `+byOrder+`)`, append([]any{id, match, match}, orderArgs...)...)
	}
	if err := snoozedWhere(&w, f); err != nil {
		return w, false, err
	}
	return w, false, nil
}

// Ticket returns one ticket the agent in ctx may see. Returns not_found.
func (db *DB) Ticket(ctx context.Context, id int64) (*crm.Ticket, error) {
	return findTicket(ctx, db.rdb, id)
}

// channelOfInbox is the channel of a ticket opened by hand in an inbox of that kind.
var channelOfInbox = map[string]string{
	crm.KindEmail:   crm.ChannelEmail,
	crm.KindPhone:   crm.ChannelSMS,
	crm.KindChat:    crm.ChannelChat,
	crm.KindDiscord: crm.ChannelDiscord,
	crm.KindAPI:     crm.ChannelAPI,
}

// CreateTicket opens a ticket by hand for an existing customer or one found or created
// by its identities. Returns invalid, not_found (inbox or customer the agent in ctx may
// not see) or too_large (body).
func (db *DB) CreateTicket(ctx context.Context, nt *crm.NewTicket) (*crm.Ticket, error) {
	if nt == nil {
		return nil, crm.Errorf(crm.EINVALID, "ticket required")
	}
	subject, err := checkSubject(nt.Subject)
	if err != nil {
		return nil, err
	}
	priority := nt.Priority
	if priority == "" {
		priority = crm.PriorityNormal
	} else if !validPriority(priority) {
		return nil, crm.Errorf(crm.EINVALID, "invalid priority %q", priority)
	}
	body := strings.TrimSpace(nt.Body)
	if len(body) > maxBody {
		return nil, crm.Errorf(crm.ETOOLARGE, "message body is larger than 64 KiB")
	}
	name := strings.TrimSpace(nt.CustomerName)
	if utf8.RuneCountInString(name) > 200 {
		return nil, crm.Errorf(crm.EINVALID, "customer name is longer than 200 characters")
	}
	for _, id := range nt.Identities {
		if err := checkIdentity(id); err != nil {
			return nil, err
		}
	}
	if nt.CustomerID == 0 && name == "" && len(nt.Identities) == 0 {
		return nil, crm.Errorf(crm.EINVALID, "customer id, name or identity required")
	}

	var t *crm.Ticket
	err = db.update(ctx, func(tx *Tx) error {
		inbox, err := db.findInbox(ctx, tx, nt.InboxID)
		if err != nil {
			return err
		}
		actor := actorFrom(ctx, systemActor)
		var c *crm.Customer
		if nt.CustomerID != 0 {
			if c, err = findCustomer(ctx, tx, nt.CustomerID); err != nil {
				return err
			}
			if c.MergedInto != 0 {
				if c, err = findCustomer(ctx, tx, c.MergedInto); err != nil {
					return err
				}
			}
		} else {
			var changed bool
			if err := tx.ownersVisible(ctx, nt.Identities); err != nil {
				return err
			}
			if c, changed, err = tx.customerByIdentities(ctx, name, nt.Identities, true); err != nil {
				return err
			}
			if changed {
				if _, err := tx.event(ctx, crm.EventCustomerUpdated, 0, c.ID, 0, actor, c); err != nil {
					return err
				}
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO tickets (inbox_id, customer_id, subject, status,
			priority, channel, created_at, updated_at, last_message_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			inbox.ID, c.ID, subject, crm.StatusOpen, priority, channelOfInbox[inbox.Kind], ms(tx.now), ms(tx.now), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert ticket: %w", err)
		}
		id, _ := res.LastInsertId()
		if err := tx.indexTicket(ctx, id, subject); err != nil {
			return err
		}
		if t, err = findTicket(crm.AsSystem(ctx), tx, id); err != nil {
			return err
		}
		if err := tx.ticketEvent(ctx, crm.EventTicketCreated, t, actor, t); err != nil {
			return err
		}
		if body != "" {
			if _, err := tx.addMessage(ctx, t, body, nt.Internal, "", nil, nil); err != nil {
				return err
			}
			t, err = findTicket(crm.AsSystem(ctx), tx, id)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func checkSubject(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > 300 {
		return "", crm.Errorf(crm.EINVALID, "subject must be 1 to 300 characters")
	}
	return s, nil
}

func validStatus(s string) bool {
	switch s {
	case crm.StatusOpen, crm.StatusPending, crm.StatusResolved, crm.StatusClosed:
		return true
	}
	return false
}

func validPriority(s string) bool {
	switch s {
	case crm.PriorityLow, crm.PriorityNormal, crm.PriorityHigh, crm.PriorityUrgent:
		return true
	}
	return false
}

// normalizeTags trims, lower-cases and dedupes tags. Returns invalid for an empty or
// too long tag or more than 20 tags.
func normalizeTags(tags []string) ([]string, error) {
	out := []string{}
	for _, tag := range tags {
		tag = strings.ToLower(strings.TrimSpace(tag))
		if n := utf8.RuneCountInString(tag); n < 1 || n > 50 {
			return nil, crm.Errorf(crm.EINVALID, "tags must be 1 to 50 characters")
		}
		if !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	if len(out) > 20 {
		return nil, crm.Errorf(crm.EINVALID, "a ticket has at most 20 tags")
	}
	slices.Sort(out)
	return out, nil
}

// setStatus changes t's status in memory, setting resolved_at when it becomes resolved
// and clearing it when it leaves resolved. It reports whether anything changed.
func setStatus(t *crm.Ticket, status string, now time.Time) bool {
	if t.Status == status {
		return false
	}
	if status == crm.StatusResolved {
		t.ResolvedAt = &now
	} else {
		t.ResolvedAt = nil
	}
	t.Status = status
	return true
}

// The store writes the full-text rows of tickets and messages itself (migration 0010;
// messages by way of the search backlog, see backlog.go):
// every statement that SQLite runs in a statement journal, as it did for an insert with
// a trigger, made FTS5 write out what it held in memory. A statement of one row with no
// trigger needs none.

// indexTicket adds the search row of ticket id with its subject.
func (tx *Tx) indexTicket(ctx context.Context, id int64, subject string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO tickets_fts (rowid, subject) VALUES (?, ?)`, id, subject); err != nil {
		return fmt.Errorf("index ticket %d: %w", id, err)
	}
	return nil
}

// reindexTicket replaces the search row of ticket id, whose subject was old.
func (tx *Tx) reindexTicket(ctx context.Context, id int64, old, subject string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO tickets_fts (tickets_fts, rowid, subject) VALUES ('delete', ?, ?)`,
		id, old); err != nil {
		return fmt.Errorf("unindex ticket %d: %w", id, err)
	}
	return tx.indexTicket(ctx, id, subject)
}

// reindexMessage replaces the search row of message id, whose text was old. A message
// still in the search backlog has no row yet: the backlog indexes its new text.
func (tx *Tx) reindexMessage(ctx context.Context, id int64, old, text string) error {
	upto, err := tx.indexedUpto(ctx)
	if err != nil || id > upto {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', ?, ?)`,
		id, old); err != nil {
		return fmt.Errorf("unindex message %d: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (rowid, text) VALUES (?, ?)`, id, text); err != nil {
		return fmt.Errorf("index message %d: %w", id, err)
	}
	return nil
}

// saveActivity writes what a new message changes on its ticket: status, activity and
// response times. It sets no column with a foreign key, so that SQLite needs no
// statement journal for it (see indexTicket).
func (tx *Tx) saveActivity(ctx context.Context, t *crm.Ticket) error {
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET status = ?, updated_at = ?, first_response_at = ?,
		resolved_at = ?, last_message_at = ?, waiting_since = ?, snoozed_until = ?, snooze_until_reply = ? WHERE id = ?`,
		t.Status, ms(t.UpdatedAt), nullMS(t.FirstResponseAt), nullMS(t.ResolvedAt), ms(t.LastMessageAt),
		nullMS(t.WaitingSince), nullMS(t.SnoozedUntil), t.SnoozeUntilReply, t.ID)
	if err != nil {
		return fmt.Errorf("update ticket %d: %w", t.ID, err)
	}
	return nil
}

// saveTicket writes the changeable columns of t.
func (tx *Tx) saveTicket(ctx context.Context, t *crm.Ticket) error {
	var assignee any
	if t.AssigneeID != nil {
		assignee = *t.AssigneeID
	}
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET subject = ?, status = ?, priority = ?,
		assignee_id = ?, merged_into = ?, updated_at = ?, first_response_at = ?, resolved_at = ?,
		last_message_at = ?, team_id = ? WHERE id = ?`,
		t.Subject, t.Status, t.Priority, assignee, nullID(t.MergedInto), ms(t.UpdatedAt),
		nullMS(t.FirstResponseAt), nullMS(t.ResolvedAt), ms(t.LastMessageAt), teamOf(t), t.ID)
	if err != nil {
		return fmt.Errorf("update ticket %d: %w", t.ID, err)
	}
	return nil
}

// UpdateTicket changes a ticket's subject, status, priority, assignee, tags or contact
// reason (an agent's unless u says otherwise; 0 clears it). Returns invalid (also for an
// unknown or archived reason), not_found or conflict (a closed ticket).
func (db *DB) UpdateTicket(ctx context.Context, id int64, u crm.TicketUpdate) (*crm.Ticket, error) {
	var subject string
	var tags []string
	var err error
	if u.Subject != nil {
		if subject, err = checkSubject(*u.Subject); err != nil {
			return nil, err
		}
	}
	if u.Status != nil && !validStatus(*u.Status) {
		return nil, crm.Errorf(crm.EINVALID, "invalid status %q", *u.Status)
	}
	if u.Priority != nil && !validPriority(*u.Priority) {
		return nil, crm.Errorf(crm.EINVALID, "invalid priority %q", *u.Priority)
	}
	if u.Tags != nil {
		if tags, err = normalizeTags(*u.Tags); err != nil {
			return nil, err
		}
	}
	reasonSource := u.ReasonSource
	if u.ReasonID != nil {
		if *u.ReasonID < 0 {
			return nil, crm.Errorf(crm.EINVALID, "unknown contact reason %d", *u.ReasonID)
		}
		if reasonSource == "" {
			reasonSource = crm.ReasonByAgent
		} else if !crm.ValidReasonSource(reasonSource) {
			return nil, crm.Errorf(crm.EINVALID, "invalid reason source %q", reasonSource)
		}
	}

	var t *crm.Ticket
	err = db.update(ctx, func(tx *Tx) error {
		if t, err = findTicket(ctx, tx, id); err != nil {
			return err
		}
		changed := false
		oldSubject := t.Subject
		if u.Subject != nil && subject != t.Subject {
			t.Subject, changed = subject, true
		}
		wasClosed := t.Status == crm.StatusClosed
		if u.Status != nil && setStatus(t, *u.Status, tx.now) {
			changed = true
		}
		if u.Priority != nil && *u.Priority != t.Priority {
			t.Priority, changed = *u.Priority, true
		}
		if u.AssigneeID != nil {
			if *u.AssigneeID == 0 {
				if t.AssigneeID != nil {
					t.AssigneeID, changed = nil, true
				}
			} else if t.AssigneeID == nil || *t.AssigneeID != *u.AssigneeID {
				a, err := findAgent(ctx, tx, *u.AssigneeID)
				if crm.ErrorCode(err) == crm.ENOTFOUND || (a != nil && (a.Disabled || !a.CanSeeInbox(t.InboxID))) {
					return crm.Errorf(crm.EINVALID, "agent %d cannot be assigned to this ticket", *u.AssigneeID)
				} else if err != nil {
					return err
				}
				t.AssigneeID, changed = &a.ID, true
			}
		}
		if u.TeamID != nil {
			ch, err := tx.setTeam(ctx, t, *u.TeamID)
			if err != nil {
				return err
			}
			changed = changed || ch
		}
		tagsChanged := u.Tags != nil && !slices.Equal(tags, t.Tags)
		if tagsChanged {
			t.Tags, changed = tags, true
		}
		oldReason, reasonChanged := reasonOf(t), false
		if u.ReasonID != nil {
			if reasonChanged, err = tx.setReason(ctx, t, *u.ReasonID, reasonSource); err != nil {
				return err
			}
			changed = changed || reasonChanged
		}
		snoozeChanged, err := applySnooze(t, u.Snooze, tx.now)
		if err != nil {
			return err
		}
		changed = changed || snoozeChanged
		if !changed {
			return nil
		}
		if wasClosed {
			return crm.Errorf(crm.ECONFLICT, "ticket %d is closed", t.ID)
		}
		t.UpdatedAt = tx.now
		if err := tx.saveTicket(ctx, t); err != nil {
			return err
		}
		if snoozeChanged {
			if err := tx.saveSnooze(ctx, t); err != nil {
				return err
			}
		}
		if t.Subject != oldSubject {
			if err := tx.reindexTicket(ctx, t.ID, oldSubject, t.Subject); err != nil {
				return err
			}
		}
		if reasonChanged {
			if err := tx.saveReason(ctx, t, 0); err != nil {
				return err
			}
			if reasonOf(t) != oldReason {
				if err := tx.indexReasonText(ctx, t); err != nil {
					return err
				}
			}
		}
		if tagsChanged {
			if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_tags WHERE ticket_id = ?`, t.ID); err != nil {
				return fmt.Errorf("delete tags: %w", err)
			}
			for _, tag := range tags {
				if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_tags (ticket_id, tag) VALUES (?, ?)`, t.ID, tag); err != nil {
					return fmt.Errorf("insert tag: %w", err)
				}
			}
		}
		return tx.ticketEvent(ctx, crm.EventTicketUpdated, t, actorFrom(ctx, systemActor), t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// MergeTickets moves every message of ticket from into ticket into and closes from with
// merged_into set. Returns invalid (the same ticket), not_found or conflict (a ticket
// already merged away).
func (db *DB) MergeTickets(ctx context.Context, from, into int64) (*crm.Ticket, error) {
	if from == into {
		return nil, crm.Errorf(crm.EINVALID, "cannot merge a ticket into itself")
	}
	var dst *crm.Ticket
	err := db.update(ctx, func(tx *Tx) error {
		src, err := findTicket(ctx, tx, from)
		if err != nil {
			return err
		}
		if dst, err = findTicket(ctx, tx, into); err != nil {
			return err
		}
		if src.MergedInto != 0 || dst.MergedInto != 0 {
			return crm.Errorf(crm.ECONFLICT, "ticket already merged")
		}
		// One conversation must never show up in another person's widget or thread.
		if src.CustomerID != dst.CustomerID {
			return crm.Errorf(crm.ECONFLICT, "tickets #%d and #%d belong to different customers: merge the customers first", from, into)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET ticket_id = ? WHERE ticket_id = ?`, into, from); err != nil {
			return fmt.Errorf("move messages: %w", err)
		}
		if list, added := crm.AddParticipants(slices.Clip(dst.Participants), src.Participants, nil); added {
			if err := tx.saveParticipants(ctx, dst.ID, list); err != nil {
				return err
			}
			dst.Participants = list
		}
		if src.LastMessageAt.After(dst.LastMessageAt) {
			dst.LastMessageAt = src.LastMessageAt
		}
		if dst.FirstResponseAt == nil {
			dst.FirstResponseAt = src.FirstResponseAt
		}
		dst.UpdatedAt = tx.now
		src.Status, src.ResolvedAt, src.MergedInto, src.UpdatedAt = crm.StatusClosed, nil, into, tx.now
		if err := tx.saveTicket(ctx, src); err != nil {
			return err
		}
		if err := tx.saveTicket(ctx, dst); err != nil {
			return err
		}
		actor := actorFrom(ctx, systemActor)
		if err := tx.ticketEvent(ctx, crm.EventTicketUpdated, src, actor, src); err != nil {
			return err
		}
		return tx.ticketEvent(ctx, crm.EventTicketUpdated, dst, actor, dst)
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}
