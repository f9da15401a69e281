package sqlite

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"parley/crm"
)

// Search limits.
const (
	defaultSearchLimit = 20
	maxSearchLimit     = 50
	maxSearchTokens    = 16
	maxTokenRunes      = 64
)

// ftsQuery builds an FTS5 query from the words of q: runs of letters and digits, each
// quoted, the last one as a prefix for search-as-you-type. Nothing else of q reaches FTS5,
// so no user text can be query syntax. It returns "" when q has no words.
func ftsQuery(q string) string {
	var tokens []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 && len(tokens) < maxSearchTokens {
			if len(cur) > maxTokenRunes {
				cur = cur[:maxTokenRunes]
			}
			tokens = append(tokens, `"`+string(cur)+`"`)
		}
		cur = cur[:0]
	}
	for _, r := range q {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			cur = append(cur, r)
		} else {
			flush()
		}
		if len(tokens) == maxSearchTokens {
			break
		}
	}
	flush()
	if len(tokens) == 0 {
		return ""
	}
	tokens[len(tokens)-1] += "*"
	return strings.Join(tokens, " ")
}

// Search finds tickets by subject (or by number, as "#123" or "123", or by an order number
// mentioned in them), messages by text and customers by name, identity or order number,
// each list newest first with up to limit (default 20, max 50) entries, all limited to
// what the agent in ctx may see. Any text of q is safe: a q without words finds nothing.
func (db *DB) Search(ctx context.Context, sq crm.SearchQuery) (*crm.SearchResult, error) {
	q, limit := sq.Q, limitOf(sq.Limit, defaultSearchLimit, maxSearchLimit)
	res := &crm.SearchResult{Tickets: []*crm.Ticket{}, Messages: []*crm.Message{}, Customers: []*crm.Customer{}}
	match := ftsQuery(q)
	if match == "" {
		return res, nil
	}
	if err := db.catchUpSearch(ctx); err != nil {
		return nil, err
	}
	var id int64
	if m := ticketIDQuery.FindStringSubmatch(strings.TrimSpace(q)); m != nil {
		id, _ = strconv.ParseInt(m[1], 10, 64)
	}
	var err error
	// Customers first: the tickets of the customers found are found too, so that a
	// name, an email address or a phone number finds a customer's tickets.
	cvis, cargs := customerFilter(ctx)
	cByOrder, cOrderArgs := customersOfOrderCond(q)
	byPhone, phoneArgs := "FALSE", []any(nil)
	if digits := crm.SearchPhoneDigits(q); digits != "" {
		byPhone = `c.id IN (SELECT i.customer_id FROM identities i WHERE i.kind = 'phone' AND i.address LIKE ?)`
		phoneArgs = []any{"%" + digits}
	}
	if res.Customers, err = queryCustomers(ctx, db.rdb, `SELECT `+customerCols+` FROM customers c
		WHERE (c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?) OR `+cByOrder+` OR `+byPhone+`)
		AND c.merged_into IS NULL AND `+cvis+`
		ORDER BY c.id DESC LIMIT ?`, append(append(append(append([]any{match}, cOrderArgs...), phoneArgs...), cargs...), limit)...); err != nil {
		return nil, err
	}
	vis, args := inboxFilter(ctx, "t.inbox_id")
	mvis, margs := narrowSearch(sq, vis, args, "m.created_at")
	vis, args = narrowSearch(sq, vis, args, "t.last_message_at")
	byOrder, orderArgs := ticketsOfOrderCond(q)
	// Not by order number: it finds the tickets that mention the order, not all of its
	// owner's; and #1042 finds that ticket only.
	byCustomer, customerArgs := "FALSE", []any(nil)
	if !strings.HasPrefix(strings.TrimSpace(q), "#") {
		// The newest matching customers, as many as the list shows, as on PostgreSQL.
		byCustomer = `t.customer_id IN (SELECT c.id FROM customers c WHERE c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?)
			AND c.merged_into IS NULL AND ` + cvis + ` ORDER BY c.id DESC LIMIT ?)`
		customerArgs = append(append([]any{match}, cargs...), limit)
		if len(phoneArgs) > 0 {
			byCustomer = `(` + byCustomer + ` OR t.customer_id IN (SELECT i.customer_id FROM identities i WHERE i.kind = 'phone' AND i.address LIKE ?))`
			customerArgs = append(customerArgs, phoneArgs...)
		}
	}
	if res.Tickets, err = queryTickets(ctx, db.rdb, `SELECT `+ticketListCols+` FROM tickets t
		WHERE (t.id = ? OR t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?) OR `+byOrder+` OR `+byCustomer+`) AND `+vis+`
		ORDER BY t.last_message_at DESC, t.id DESC LIMIT ?`, append(append(append(append([]any{id, match}, orderArgs...), customerArgs...), args...), limit)...); err != nil {
		return nil, err
	}
	// The full-text index drives the query, newest match first (CROSS JOIN keeps it the
	// outer loop, where FTS5 returns rowids in descending order itself), so that it stops
	// at limit visible messages. With "m.id IN (matches)" SQLite collected every match
	// before sorting: a 3-letter prefix matches most of a big mailbox.
	if res.Messages, err = queryMessages(ctx, db.rdb, `SELECT `+messageCols+` FROM messages_fts
		CROSS JOIN messages m ON m.id = messages_fts.rowid
		JOIN tickets t ON t.id = m.ticket_id
		WHERE messages_fts MATCH ? AND `+mvis+`
		ORDER BY messages_fts.rowid DESC LIMIT ?`, append(append([]any{match}, margs...), limit)...); err != nil {
		return nil, err
	}
	return res, nil
}

// narrowSearch adds the filters of a search to a visibility condition on tickets t:
// status, channel and inbox of the ticket, and a time range on the column at (the
// ticket's last activity, or the message's time).
func narrowSearch(sq crm.SearchQuery, cond string, args []any, at string) (string, []any) {
	args = slices.Clone(args)
	if sq.Status != "" {
		cond, args = cond+` AND t.status = ?`, append(args, sq.Status)
	}
	if sq.Channel != "" {
		cond, args = cond+` AND t.channel = ?`, append(args, sq.Channel)
	}
	if sq.InboxID != 0 {
		cond, args = cond+` AND t.inbox_id = ?`, append(args, sq.InboxID)
	}
	if !sq.From.IsZero() {
		cond, args = cond+` AND `+at+` >= ?`, append(args, ms(sq.From))
	}
	if !sq.To.IsZero() {
		cond, args = cond+` AND `+at+` < ?`, append(args, ms(sq.To))
	}
	return cond, args
}
