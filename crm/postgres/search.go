package postgres

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

// words splits s into the words SQLite's unicode61 tokenizer sees: runs of letters,
// digits and marks, at most most of them (all when most is 0), each cut to cut runes (not
// cut when 0). They are lower-cased here, as unicode61 folds case, because PostgreSQL
// lower-cases only ASCII on a database whose LC_CTYPE is C.
func words(s string, most, cut int) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
		}
		cur = cur[:0]
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			flush()
			if most > 0 && len(out) == most {
				return out
			}
		} else if cut == 0 || len(cur) < cut {
			cur = append(cur, unicode.ToLower(r))
		}
	}
	flush()
	if most > 0 && len(out) > most {
		out = out[:most]
	}
	return out
}

// searchText returns the words of s, joined by single spaces, as the text that
// to_tsvector('parley', ...) indexes: what SQLite's unicode61 tokenizer would index,
// so that "alice@example.com" is found by "alice", "example" and "com", as on SQLite.
// The configuration lower-cases and removes accents.
func searchText(s string) string {
	return strings.Join(words(s, 0, 0), " ")
}

// ftsQuery returns the words of q that a search looks for, joined by single spaces: the
// same tokens as the SQLite store's query, at most 16 words of at most 64 runes each, the
// last one a prefix for search-as-you-type. It returns "" when q has no words. ftsMatch
// turns it into a condition.
func ftsQuery(q string) string {
	return strings.Join(words(q, maxSearchTokens, maxTokenRunes), " ")
}

// ftsMatch returns the condition that the tsvector column col holds every word of match
// (from ftsQuery), the last one as a prefix, with its arguments. The complete words go
// through plainto_tsquery, which knows no operators (websearch_to_tsquery would read a
// word "or" as one), and the prefix through quote_literal into to_tsquery, so that no user
// text is ever query syntax. match must not be "".
func ftsMatch(col, match string) (string, []any) {
	complete, prefix := "", match
	if i := strings.LastIndexByte(match, ' '); i >= 0 {
		complete, prefix = match[:i], match[i+1:]
	}
	return col + ` @@ (plainto_tsquery('parley', ?::text) && to_tsquery('parley', quote_literal(?::text) || ':*'))`,
		[]any{complete, prefix}
}

// Search finds tickets by subject (or by number, as "#123" or "123", or by an order number
// mentioned in them), messages by text and customers by name, identity or order number,
// tickets by last activity and messages and customers newest first, each list with up to
// limit (default 20, max 50) entries, all limited to what the agent in ctx may see. Any
// text of q is safe: a q without words finds nothing.
func (db *DB) Search(ctx context.Context, sq crm.SearchQuery) (*crm.SearchResult, error) {
	q, limit := sq.Q, limitOf(sq.Limit, defaultSearchLimit, maxSearchLimit)
	res := &crm.SearchResult{Tickets: []*crm.Ticket{}, Messages: []*crm.Message{}, Customers: []*crm.Customer{}}
	match := ftsQuery(q)
	if match == "" {
		return res, nil
	}
	var id int64
	if m := ticketIDQuery.FindStringSubmatch(strings.TrimSpace(q)); m != nil {
		id, _ = strconv.ParseInt(m[1], 10, 64)
	}
	// Each way to match is a query of its own, with the limit where it can grow large:
	// PostgreSQL plans an OR of a full-text match and a subquery as a scan of every
	// ticket, while each part alone uses its index (a rare word) or walks the newest
	// rows until it has enough (a common one).
	var err error
	// Customers first: the tickets of the customers found are found too, so that a
	// name, an email address or a phone number finds a customer's tickets.
	cvis, cargs := customerFilter(ctx)
	cMatch, cmArgs := ftsMatch("c.search", match)
	cNewest, cNewestArgs := newestCustomers(cMatch+` AND c.merged_into IS NULL AND `+cvis, concat(cmArgs, cargs), limit)
	cByOrder, cOrderArgs := customersOfOrderCond(q)
	byPhone, phoneArgs := "", []any(nil)
	if digits := crm.SearchPhoneDigits(q); digits != "" {
		byPhone = ` UNION ALL SELECT i.customer_id FROM identities i WHERE i.kind = 'phone' AND i.address LIKE ?`
		phoneArgs = []any{"%" + digits}
	}
	if res.Customers, err = queryCustomers(ctx, db.rdb(), `SELECT `+customerCols+` FROM customers c
		WHERE c.id IN (`+cNewest+`
			UNION ALL SELECT c.id FROM customers c WHERE `+cByOrder+byPhone+`)
		AND c.merged_into IS NULL AND `+cvis+`
		ORDER BY c.id DESC LIMIT ?`, concat(cNewestArgs, cOrderArgs, phoneArgs, cargs, []any{limit})...); err != nil {
		return nil, err
	}
	vis, args := inboxFilter(ctx, "t.inbox_id")
	mvis, margs := narrowSearch(sq, vis, args, "m.created_at")
	vis, args = narrowSearch(sq, vis, args, "t.last_message_at")
	tMatch, tArgs := ftsMatch("t.search", match)
	byOrder, orderArgs := ticketsOfOrderCond(q)
	// The tickets of the customers found by name, identity or phone; not by order number
	// (it finds the tickets that mention the order, not all of its owner's), and #1042
	// finds that ticket only.
	byCustomer, customerArgs := "", []any(nil)
	if !strings.HasPrefix(strings.TrimSpace(q), "#") {
		byCustomer = `UNION ALL (SELECT t.id FROM tickets t WHERE t.customer_id IN (` + cNewest + byPhone + `) AND ` + vis + `
				ORDER BY t.last_message_at DESC, t.id DESC LIMIT ?)`
		customerArgs = concat(cNewestArgs, phoneArgs, args, []any{limit})
	}
	if res.Tickets, err = queryTickets(ctx, db.rdb(), `SELECT `+ticketListCols+` FROM tickets t
		WHERE t.id IN (
			(SELECT t.id FROM tickets t WHERE `+tMatch+` AND `+vis+`
				ORDER BY t.last_message_at DESC, t.id DESC LIMIT ?)
			UNION ALL SELECT ?::bigint
			UNION ALL SELECT t.id FROM tickets t WHERE `+byOrder+`
			`+byCustomer+`)
		AND `+vis+`
		ORDER BY t.last_message_at DESC, t.id DESC LIMIT ?`,
		concat(tArgs, args, []any{limit, id}, orderArgs, customerArgs, args, []any{limit})...); err != nil {
		return nil, err
	}
	mMatch, mArgs := ftsMatch("m.search", match)
	if res.Messages, err = queryMessages(ctx, db.rdb(), `SELECT `+messageCols+` FROM messages m
		JOIN tickets t ON t.id = m.ticket_id
		WHERE `+mMatch+` AND `+mvis+`
		ORDER BY m.id DESC LIMIT ?`, concat(mArgs, margs, []any{limit})...); err != nil {
		return nil, err
	}
	return res, nil
}

// searchCap is how many customers newestCustomers reads through the full-text index
// before it gives up on sorting them: at that many, at least one customer in every
// customers/searchCap matches, and walking them newest first finds the newest soon.
const searchCap = 500

// newestCustomers returns a query of the ids of the newest limit customers that match
// cond (on customers c), with its arguments. Customers are searched by names and
// addresses, words that PostgreSQL keeps no statistics of: it guesses that a fair share
// of customers match any of them and walks the table newest first until it has limit,
// which reads every customer when none or few match, the usual case. So the matches
// are read through the index first, up to searchCap, and only with that many is the
// table walked. (Tickets and messages are searched for words it keeps statistics of,
// and it plans those well; reading the matches of a common prefix through the index
// costs more than the walk.)
func newestCustomers(cond string, args []any, limit int) (string, []any) {
	return `SELECT id FROM (WITH hits AS MATERIALIZED (SELECT c.id FROM customers c WHERE ` + cond + ` LIMIT ?)
		(SELECT id FROM hits WHERE (SELECT count(*) FROM hits) < ? ORDER BY id DESC LIMIT ?)
		UNION ALL
		(SELECT c.id FROM customers c WHERE (SELECT count(*) FROM hits) >= ? AND ` + cond + `
			ORDER BY c.id DESC LIMIT ?)) newest`,
		concat(args, []any{searchCap, searchCap, limit, searchCap}, args, []any{limit})
}

// concat joins lists of query arguments.
func concat(lists ...[]any) []any {
	var out []any
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
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
