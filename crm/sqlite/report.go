package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"parley/crm"
)

// reportScope returns the conditions on tickets t of a report's inbox and channel,
// leaving out merged tickets and unmatched delivery reports.
func reportScope(f crm.ReportFilter, w *where) {
	w.add("t.merged_into IS NULL")
	// A delivery report that matched nothing is no conversation with anyone.
	w.add("NOT EXISTS (SELECT 1 FROM ticket_tags b WHERE b.ticket_id = t.id AND b.tag = ?)", crm.TagBounce)
	if f.InboxID != 0 {
		w.add("t.inbox_id = ?", f.InboxID)
	}
	if f.Channel != "" {
		w.add("t.channel = ?", f.Channel)
	}
}

// ReportFacts returns every ticket a report over f counts: created, resolved, SLA
// decided or rated in [f.From, f.To), or open or pending now and created before f.To.
// Tickets merged into another are left out: they count through the ticket they joined.
func (db *DB) ReportFacts(ctx context.Context, f crm.ReportFilter) ([]*crm.TicketFact, error) {
	from, to := ms(f.From), ms(f.To)
	var w where
	reportScope(f, &w)
	args := []any{from, to, from, to, from, to, from, to, to, from, to, from, to}
	rows, err := db.rdb.QueryContext(ctx, `WITH ids AS (
			SELECT id FROM tickets WHERE created_at >= ? AND created_at < ?
			UNION SELECT ticket_id FROM ticket_resolutions WHERE at >= ? AND at < ?
			UNION SELECT ticket_id FROM ticket_sla WHERE sla_decided_at >= ? AND sla_decided_at < ?
			UNION SELECT ticket_id FROM csat_surveys WHERE answered_at >= ? AND answered_at < ?
			UNION SELECT id FROM tickets WHERE status IN ('open', 'pending') AND created_at < ?
		)
		SELECT t.id, t.inbox_id, t.channel, t.status, coalesce(t.assignee_id, 0), t.created_at,
			s.first_response_at, coalesce(s.first_response_by, 0), s.first_response_secs,
			(SELECT max(r.at) FROM ticket_resolutions r WHERE r.ticket_id = t.id AND r.at >= ? AND r.at < ?),
			coalesce((SELECT r.agent_id FROM ticket_resolutions r WHERE r.ticket_id = t.id AND r.at >= ? AND r.at < ?
				ORDER BY r.at DESC LIMIT 1), 0),
			s.resolution_secs, coalesce(s.policy_id, 0), s.sla_met, s.sla_decided_at,
			coalesce(c.rating, 0), c.answered_at, coalesce(c.channel, ''),
			coalesce(t.reason_id, 0), t.reason_source = 'auto',
			coalesce((SELECT sum(h.secs) FROM handle_time h WHERE h.ticket_id = t.id), 0)
		FROM ids JOIN tickets t ON t.id = ids.id
		LEFT JOIN ticket_sla s ON s.ticket_id = t.id
		LEFT JOIN csat_surveys c ON c.ticket_id = t.id
		WHERE `+w.String()+` ORDER BY t.id`, append(args, w.args...)...)
	if err != nil {
		return nil, fmt.Errorf("query report facts: %w", err)
	}
	defer rows.Close()
	facts := []*crm.TicketFact{}
	for rows.Next() {
		var x crm.TicketFact
		var created int64
		var policy int64
		var frAt, frSecs, resolved, resSecs, met, decided, answered sql.NullInt64
		if err := rows.Scan(&x.ID, &x.InboxID, &x.Channel, &x.Status, &x.AssigneeID, &created, &frAt,
			&x.FirstResponseBy, &frSecs, &resolved, &x.ResolvedBy, &resSecs, &policy, &met, &decided, &x.Rating, &answered,
			&x.CSATChannel, &x.ReasonID, &x.ReasonAuto, &x.HandleSecs); err != nil {
			return nil, fmt.Errorf("scan report fact: %w", err)
		}
		x.CreatedAt = fromMS(created)
		x.FirstResponseAt, x.ResolvedInRange = nullTime(frAt), nullTime(resolved)
		x.FirstResponseSecs, x.ResolutionSecs = nullInt(frSecs), nullInt(resSecs)
		x.HasPolicy = policy != 0
		if met.Valid {
			b := met.Int64 == 1
			x.SLAMet = &b
		}
		x.SLADecidedAt, x.AnsweredAt = nullTime(decided), nullTime(answered)
		facts = append(facts, &x)
	}
	return facts, rows.Err()
}

// ReplyCounts counts the replies agents sent in [f.From, f.To) by agent and by the inbox
// and channel of their tickets.
func (db *DB) ReplyCounts(ctx context.Context, f crm.ReportFilter) ([]crm.ReplyCount, error) {
	var w where
	reportScope(f, &w)
	// The direction and author terms match the partial index messages_replies.
	rows, err := db.rdb.QueryContext(ctx, `SELECT m.author_id, t.inbox_id, t.channel, count(*)
		FROM messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE m.direction = 'out' AND m.author_kind = 'agent' AND m.created_at >= ? AND m.created_at < ?
		AND `+w.String()+` GROUP BY 1, 2, 3`, append([]any{ms(f.From), ms(f.To)}, w.args...)...)
	if err != nil {
		return nil, fmt.Errorf("query reply counts: %w", err)
	}
	defer rows.Close()
	list := []crm.ReplyCount{}
	for rows.Next() {
		var r crm.ReplyCount
		if err := rows.Scan(&r.AgentID, &r.InboxID, &r.Channel, &r.Count); err != nil {
			return nil, fmt.Errorf("scan reply count: %w", err)
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// TicketsByID returns the tickets with the ids the agent in ctx may see, in the order of
// ids.
func (db *DB) TicketsByID(ctx context.Context, ids []int64) ([]*crm.Ticket, error) {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	tickets, err := queryTickets(ctx, db.rdb, `SELECT `+ticketListCols+` FROM tickets t
		WHERE t.id IN (SELECT value FROM json_each(?)) AND `+vis, append([]any{idsJSON(ids)}, args...)...)
	if err != nil {
		return nil, err
	}
	pos := make(map[int64]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	slices.SortFunc(tickets, func(a, b *crm.Ticket) int { return pos[a.ID] - pos[b.ID] })
	return tickets, nil
}

// extraScan scans a row of ticketCols followed by more columns.
type extraScan struct {
	rows  *sql.Rows
	extra []any
}

func (e extraScan) Scan(dest ...any) error { return e.rows.Scan(append(dest, e.extra...)...) }

// ExportTickets calls fn for each ticket created in [f.From, f.To), oldest first, as it
// reads them. An error from fn stops the export and is returned.
func (db *DB) ExportTickets(ctx context.Context, f crm.ReportFilter, fn func(*crm.ExportRow) error) error {
	var w where
	w.add("t.created_at >= ? AND t.created_at < ?", ms(f.From), ms(f.To))
	reportScope(f, &w)
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+ticketCols+`, i.name,
		coalesce(nullif(cu.name, ''), (SELECT address FROM identities d WHERE d.customer_id = cu.id ORDER BY d.id LIMIT 1), ''),
		s.first_response_at, coalesce(a.name, ''), s.sla_met, coalesce(c.rating, 0),
		coalesce((SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM ticket_tags g WHERE g.ticket_id = t.id ORDER BY tag)), '')
		FROM tickets t JOIN inboxes i ON i.id = t.inbox_id JOIN customers cu ON cu.id = t.customer_id
		LEFT JOIN agents a ON a.id = t.assignee_id
		LEFT JOIN ticket_sla s ON s.ticket_id = t.id
		LEFT JOIN csat_surveys c ON c.ticket_id = t.id
		WHERE `+w.String()+` ORDER BY t.created_at, t.id`, w.args...)
	if err != nil {
		return fmt.Errorf("query export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r crm.ExportRow
		var frAt, met sql.NullInt64
		var tags string
		t, err := scanTicket(extraScan{rows, []any{&r.Inbox, &r.Customer, &frAt, &r.Assignee, &met, &r.Rating, &tags}})
		if err != nil {
			return fmt.Errorf("scan export row: %w", err)
		}
		if tags != "" {
			t.Tags = strings.Split(tags, "\x1f")
		}
		r.Ticket, r.FirstResponseAt, r.ResolvedAt = t, nullTime(frAt), t.ResolvedAt
		if met.Valid {
			b := met.Int64 == 1
			r.SLAMet = &b
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// maxHistory caps a ticket's history; a longer one shows its newest events.
const maxHistory = 5000

// historyFields are the ticket fields whose changes a ticket's history lists.
var historyFields = []string{"status", "priority", "assignee_id", "subject", "tags", "inbox_id", "merged_into", "reason_id"}

// TicketHistory returns the stored events of a ticket the agent in ctx may see, oldest
// first, each with its actor's name and, for ticket events, the fields it changed.
// Returns not_found.
func (db *DB) TicketHistory(ctx context.Context, ticketID int64) ([]*crm.TicketEvent, error) {
	if err := checkTicket(ctx, db.rdb, ticketID); err != nil {
		return nil, err
	}
	list, err := queryTicketEvents(ctx, db.rdb, `e.id IN (SELECT id FROM events WHERE ticket_id = ?
		ORDER BY id DESC LIMIT ?)`, ticketID, maxHistory)
	if err != nil {
		return nil, err
	}
	var prev map[string]json.RawMessage
	for _, e := range list {
		if e.Type != crm.EventTicketCreated && e.Type != crm.EventTicketUpdated {
			continue
		}
		var cur map[string]json.RawMessage
		if json.Unmarshal(e.Data, &cur) != nil {
			continue
		}
		if prev != nil {
			for _, k := range historyFields {
				if string(prev[k]) != string(cur[k]) {
					if e.Changes == nil {
						e.Changes = map[string][2]any{}
					}
					e.Changes[k] = [2]any{rawOrNull(prev[k]), rawOrNull(cur[k])}
				}
			}
		}
		prev = cur
	}
	return list, nil
}

func rawOrNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// queryTicketEvents returns the events e matching cond, oldest first, with actor names.
func queryTicketEvents(ctx context.Context, q queryer, cond string, args ...any) ([]*crm.TicketEvent, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.type, coalesce(e.ticket_id, 0), e.actor_kind, e.actor_id,
		coalesce(CASE e.actor_kind WHEN 'agent' THEN (SELECT name FROM agents WHERE id = e.actor_id)
			WHEN 'customer' THEN (SELECT name FROM customers WHERE id = e.actor_id)
			WHEN 'rule' THEN (SELECT name FROM rules WHERE id = e.actor_id) END, ''),
		e.data, e.at FROM events e WHERE `+cond+` ORDER BY e.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("query ticket events: %w", err)
	}
	defer rows.Close()
	list := []*crm.TicketEvent{}
	for rows.Next() {
		var e crm.TicketEvent
		var data string
		var at int64
		if err := rows.Scan(&e.ID, &e.Type, &e.TicketID, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &data, &at); err != nil {
			return nil, fmt.Errorf("scan ticket event: %w", err)
		}
		if e.Actor.Kind == "system" && e.Actor.Name == "" {
			e.Actor.Name = "Parley"
		}
		e.Data, e.At = json.RawMessage(data), fromMS(at)
		list = append(list, &e)
	}
	return list, rows.Err()
}

// History kinds.
var historyKinds = []string{"message", "ticket", "order", "event"}

// CustomerHistory lists a customer's tickets, messages, orders and ticket events (status
// changes, assignments, CSAT answers), newest first. An agent gets only those of the
// tickets of its inboxes. Channel keeps the tickets, messages and events of that channel
// (and no orders); Query keeps messages and tickets whose words match and the order with
// that number. Returns not_found or invalid (a bad kind or cursor).
func (db *DB) CustomerHistory(ctx context.Context, customerID int64, f crm.HistoryFilter) ([]*crm.HistoryItem, string, error) {
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = historyKinds
	}
	for _, k := range kinds {
		if !slices.Contains(historyKinds, k) {
			return nil, "", crm.Errorf(crm.EINVALID, "kinds: %q is not one of %s", crm.CutRunes(k, 20), strings.Join(historyKinds, ", "))
		}
	}
	if _, err := findCustomer(ctx, db.rdb, customerID); err != nil {
		return nil, "", err
	}
	if err := db.searchReady(ctx, f.Query); err != nil {
		return nil, "", err
	}
	limit := limitOf(f.Limit, crm.DefaultLimit, crm.MaxLimit)
	vis, visArgs := inboxFilter(ctx, "t.inbox_id")
	match := ""
	q := strings.TrimSpace(f.Query)
	if q != "" {
		if match = ftsQuery(q); match == "" {
			return []*crm.HistoryItem{}, "", nil
		}
	}
	// Each part selects (at, kind, key); the conditions of a part use its time column.
	var parts []string
	var args []any
	part := func(kind, sel, timeCol, chanCol string, extra string, extraArgs ...any) {
		if !slices.Contains(kinds, kind) {
			return
		}
		var w where
		w.add("t.customer_id = ?", customerID)
		w.add(vis, visArgs...)
		if f.Channel != "" {
			w.add(chanCol+" = ?", f.Channel)
		}
		if !f.From.IsZero() {
			w.add(timeCol+" >= ?", ms(f.From))
		}
		if !f.To.IsZero() {
			w.add(timeCol+" < ?", ms(f.To))
		}
		if extra != "" {
			w.add(extra, extraArgs...)
		}
		parts = append(parts, sel+" WHERE "+w.String())
		args = append(args, w.args...)
	}
	ticketMatch, messageMatch := "", ""
	if match != "" {
		ticketMatch = "t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)"
		messageMatch = "m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
	}
	part("ticket", `SELECT t.created_at AS at, 'ticket' AS kind, printf('%020d', t.id) AS key FROM tickets t`,
		"t.created_at", "t.channel", ticketMatch, argsIf(match)...)
	part("message", `SELECT m.created_at AS at, 'message' AS kind, printf('%020d', m.id) AS key FROM messages m JOIN tickets t ON t.id = m.ticket_id`,
		"m.created_at", "m.channel", messageMatch, argsIf(match)...)
	if match == "" {
		part("event", `SELECT h.at AS at, 'event' AS kind, printf('%020d', h.event_id) AS key FROM history_events h JOIN tickets t ON t.id = h.ticket_id`,
			"h.at", "t.channel", "")
	}
	if slices.Contains(kinds, "order") && f.Channel == "" {
		var w where
		w.add("o.customer_id = ?", customerID)
		if !f.From.IsZero() {
			w.add("o.placed_at >= ?", ms(f.From))
		}
		if !f.To.IsZero() {
			w.add("o.placed_at < ?", ms(f.To))
		}
		if q != "" {
			w.add("o.number = ?", strings.TrimPrefix(q, "#"))
		}
		parts = append(parts, `SELECT o.placed_at AS at, 'order' AS kind, o.number AS key FROM orders o WHERE `+w.String())
		args = append(args, w.args...)
	}
	if len(parts) == 0 {
		return []*crm.HistoryItem{}, "", nil
	}
	cond := "1"
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, 3)
		if err != nil {
			return nil, "", err
		}
		at, err := strconv.ParseInt(c[0], 10, 64)
		if err != nil {
			return nil, "", crm.Errorf(crm.EINVALID, "invalid cursor")
		}
		cond = "(at, kind, key) < (?, ?, ?)"
		args = append(args, at, c[1], c[2])
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT at, kind, key FROM (`+strings.Join(parts, " UNION ALL ")+`)
		WHERE `+cond+` ORDER BY at DESC, kind DESC, key DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("query customer history: %w", err)
	}
	defer rows.Close()
	type key struct {
		at        int64
		kind, key string
	}
	var keys []key
	ids := map[string][]int64{}
	var numbers []string
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.at, &k.kind, &k.key); err != nil {
			return nil, "", fmt.Errorf("scan customer history: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query customer history: %w", err)
	}
	rows.Close()
	var next string
	if len(keys) > limit {
		keys = keys[:limit]
		k := keys[limit-1]
		next = encodeCursor(itoa(k.at), k.kind, k.key)
	}
	for _, k := range keys {
		if k.kind == "order" {
			numbers = append(numbers, k.key)
		} else {
			ids[k.kind] = append(ids[k.kind], atoi(k.key))
		}
	}
	tickets, err := queryTickets(ctx, db.rdb, `SELECT `+ticketListCols+` FROM tickets t
		WHERE t.id IN (SELECT value FROM json_each(?))`, idsJSON(ids["ticket"]))
	if err != nil {
		return nil, "", err
	}
	msgs, err := queryMessages(ctx, db.rdb, `SELECT `+messageCols+` FROM messages m
		WHERE m.id IN (SELECT value FROM json_each(?))`, idsJSON(ids["message"]))
	if err != nil {
		return nil, "", err
	}
	events, err := queryTicketEvents(ctx, db.rdb, `e.id IN (SELECT value FROM json_each(?))`, idsJSON(ids["event"]))
	if err != nil {
		return nil, "", err
	}
	numbersJSON, _ := json.Marshal(append([]string{}, numbers...))
	orders, err := queryOrders(ctx, db.rdb, `SELECT `+orderCols+` FROM orders o
		WHERE o.number IN (SELECT value FROM json_each(?))`, string(numbersJSON))
	if err != nil {
		return nil, "", err
	}
	byKey := map[string]*crm.HistoryItem{}
	for _, t := range tickets {
		byKey["ticket"+itoa(t.ID)] = &crm.HistoryItem{TimelineItem: crm.TimelineItem{Kind: "ticket", Ticket: t}}
	}
	for _, m := range msgs {
		byKey["message"+itoa(m.ID)] = &crm.HistoryItem{TimelineItem: crm.TimelineItem{Kind: "message", Message: m}}
	}
	for _, e := range events {
		byKey["event"+itoa(e.ID)] = &crm.HistoryItem{TimelineItem: crm.TimelineItem{Kind: "event"}, Event: e}
	}
	for _, o := range orders {
		byKey["order"+o.Number] = &crm.HistoryItem{TimelineItem: crm.TimelineItem{Kind: "order", Order: o}}
	}
	items := make([]*crm.HistoryItem, 0, len(keys))
	for _, k := range keys {
		id := k.key
		if k.kind != "order" {
			id = itoa(atoi(k.key))
		}
		if it := byKey[k.kind+id]; it != nil { // nil: changed between the two queries
			it.At = fromMS(k.at)
			items = append(items, it)
		}
	}
	return items, next, nil
}

func argsIf(s string) []any {
	if s == "" {
		return nil
	}
	return []any{s}
}
