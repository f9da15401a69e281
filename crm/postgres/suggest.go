package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"parley/crm"

	"github.com/jackc/pgx/v5"
)

// Suggested replies come from a search index of its own: one row per ticket with a
// reason (reason_texts), holding the words its customer wrote, each prefixed with the
// reason ("r12x" + word), so that the entries of a word in the index are those of one
// reason and a look-up never reads the tickets of the others. A ticket's row is written
// when its reason is set or changes; whether the ticket is resolved is checked when a
// suggestion is read, so that no status change anywhere has to keep the index.
//
// A look-up takes the words of what the ticket's customer wrote last, reads for each of
// the longest few the newest tickets of the reason that have it (at most suggestCap per
// word), and scores each ticket by the words it shares, a rare word counting more than a
// common one (a word that fills its suggestCap is common). Every read is an index range
// with a limit, so the time does not grow with the number of messages.

// Limits of suggested replies.
const (
	defaultSuggestions = 3
	maxSuggestions     = 10
	// suggestWords is how many words of the customer's text are looked up.
	suggestWords = 12
	// suggestCap is how many tickets are read per word.
	suggestCap = 200
	// suggestCandidates is how many of the best scored tickets are checked for a reply.
	suggestCandidates = 60
	// suggestOrders is how many of the old customer's order numbers come with a reply.
	suggestOrders = 10
)

// indexReasonText writes the suggestion index row of t for its reason, or removes it
// when t has none: what its customer wrote, as the classifier reads it.
func (tx *Tx) indexReasonText(ctx context.Context, t *crm.Ticket) error {
	if t.ReasonID == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM reason_texts WHERE ticket_id = ?`, t.ID); err != nil {
			return fmt.Errorf("delete reason text %d: %w", t.ID, err)
		}
		return nil
	}
	list, err := queryExamples(ctx, tx, `t.id = ?`, t.ID)
	if err != nil {
		return err
	} else if len(list) == 0 {
		return fmt.Errorf("index reason text: ticket %d is gone", t.ID)
	}
	return tx.insertReasonText(ctx, t.ID, *t.ReasonID, list[0].Text)
}

// insertReasonText writes the suggestion index row of ticket id for reason with text,
// what its customer wrote as the classifier reads it.
func (tx *Tx) insertReasonText(ctx context.Context, id, reason int64, text string) error {
	text = crm.ReasonIndexText(reason, text)
	tx.later(`INSERT INTO reason_texts (ticket_id, reason_id, text, search)
		VALUES (?, ?, ?, to_tsvector('parley', ?)) ON CONFLICT (ticket_id) DO UPDATE
		SET reason_id = excluded.reason_id, text = excluded.text, search = excluded.search`,
		id, reason, text, searchText(text))
	return ctx.Err()
}

// queryWords picks the words of text to look up: the longest, which tend to be the
// rarest and to say the most, at most suggestWords of them.
func queryWords(text string) []string {
	words := crm.ReasonWords(text, 4*suggestWords)
	slices.SortStableFunc(words, func(a, b string) int { return len([]rune(b)) - len([]rune(a)) })
	if len(words) > suggestWords {
		words = words[:suggestWords]
	}
	return words
}

// scoreCandidates scores the tickets that matches found per word: each ticket the sum
// of the weights of the words it has, a word weighing less the more tickets have it. It
// returns the tickets other than self, best first (the newest of equals first).
func scoreCandidates(matches [][]int64, self int64) []int64 {
	score := map[int64]float64{}
	for _, ids := range matches {
		if len(ids) == 0 {
			continue
		}
		w := math.Log(1 + 4*suggestCap/float64(len(ids)))
		for _, id := range ids {
			if id != self {
				score[id] += w
			}
		}
	}
	list := make([]int64, 0, len(score))
	for id := range score {
		list = append(list, id)
	}
	slices.SortFunc(list, func(a, b int64) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	return list
}

// SuggestReplies returns up to limit (default 3, at most 10) agent replies from the
// resolved or closed tickets of the ticket's reason whose customers wrote the most
// similar text to what its customer wrote last (its latest message, else its
// subject): of each such ticket the first reply an agent wrote, no two the same, only
// from tickets the agent in ctx may see. A ticket without a reason gets none. Returns
// not_found.
func (db *DB) SuggestReplies(ctx context.Context, ticketID int64, limit int) ([]*crm.SuggestedReply, error) {
	limit = limitOf(limit, defaultSuggestions, maxSuggestions)
	t, err := findTicket(ctx, db.rdb(), ticketID)
	if err != nil {
		return nil, err
	}
	out := []*crm.SuggestedReply{}
	if t.ReasonID == nil {
		return out, nil
	}
	reason := *t.ReasonID
	var text string
	err = db.rdb().QueryRowContext(ctx, `SELECT text FROM messages WHERE ticket_id = ? AND direction = 'in' AND text <> ''
		ORDER BY id DESC LIMIT 1`, ticketID).Scan(&text)
	if isNoRows(err) {
		text = t.Subject
	} else if err != nil {
		return nil, fmt.Errorf("read the customer's text: %w", err)
	}
	matches, err := db.similarTickets(ctx, reason, queryWords(text))
	if err != nil {
		return nil, err
	}
	candidates := scoreCandidates(matches, ticketID)
	if len(candidates) > suggestCandidates {
		candidates = candidates[:suggestCandidates]
	}
	vis, args := inboxFilter(ctx, "t.inbox_id")
	seen := map[string]bool{}
	for len(candidates) > 0 && len(out) < limit {
		batch := candidates[:min(len(candidates), 20)]
		candidates = candidates[len(batch):]
		rows, err := db.rdb().QueryContext(ctx, `SELECT t.id, t.customer_id, c.name, m.id, m.text
			FROM tickets t JOIN customers c ON c.id = t.customer_id
			JOIN messages m ON m.id = (SELECT r.id FROM messages r WHERE r.ticket_id = t.id AND r.direction = 'out'
				AND r.author_kind = 'agent' AND trim(r.text) <> '' ORDER BY r.id LIMIT 1)
			WHERE t.id = ANY(?::bigint[]) AND t.reason_id = ? AND t.status IN ('resolved', 'closed')
			AND t.merged_into IS NULL AND `+vis, append([]any{batch, reason}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("read suggested replies: %w", err)
		}
		found := map[int64]*crm.SuggestedReply{}
		customers := map[int64]int64{}
		for rows.Next() {
			var s crm.SuggestedReply
			var customer int64
			if err := rows.Scan(&s.TicketID, &customer, &s.CustomerName, &s.MessageID, &s.Text); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan suggested reply: %w", err)
			}
			found[s.TicketID], customers[s.TicketID] = &s, customer
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read suggested replies: %w", err)
		}
		for _, id := range batch { // best first
			s := found[id]
			if s == nil || len(out) == limit {
				continue
			}
			key := strings.ToLower(strings.Join(strings.Fields(s.Text), " "))
			if seen[key] {
				continue
			}
			seen[key] = true
			if s.OrderNumbers, err = queryStrings(ctx, db.rdb(), `SELECT number FROM orders WHERE customer_id = ?
				ORDER BY placed_at DESC, number DESC LIMIT ?`, customers[id], suggestOrders); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// PostgreSQL reads fewer words, and fewer tickets of each, than SQLite's index: a word
// that neither of its plans suits (in about one ticket of a hundred) costs it a few
// milliseconds per hundred tickets read.
const (
	pgSuggestWords = 8
	pgSuggestCap   = 100
)

// similarTickets returns for each word the newest tickets of reason whose customer
// wrote it, at most pgSuggestCap per word, for the first pgSuggestWords words, in one
// round trip. plainto_tsquery knows no operators, so no word is query syntax.
func (db *DB) similarTickets(ctx context.Context, reason int64, words []string) ([][]int64, error) {
	matches := make([][]int64, len(words))
	if len(words) == 0 {
		return matches, nil
	}
	var parts []string
	var args []any
	for i, w := range words[:min(len(words), pgSuggestWords)] {
		parts = append(parts, `(SELECT ?::int AS i, ticket_id FROM reason_texts WHERE search @@ plainto_tsquery('parley', ?)
			ORDER BY ticket_id DESC LIMIT ?)`)
		args = append(args, i, crm.ReasonTerm(reason, w), pgSuggestCap)
	}
	// Planned for these words each time (an unnamed statement), never with a cached
	// generic plan: PostgreSQL reads a rare word's few tickets from the search index and
	// walks the newest tickets for a common one, and a plan made without the words would
	// walk every ticket for a rare one.
	rows, err := db.rdb().QueryContext(ctx, strings.Join(parts, " UNION ALL "), append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("look up similar tickets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var id int64
		if err := rows.Scan(&i, &id); err != nil {
			return nil, fmt.Errorf("scan similar ticket: %w", err)
		}
		matches[i] = append(matches[i], id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up similar tickets: %w", err)
	}
	return matches, nil
}
