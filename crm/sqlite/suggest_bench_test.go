package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

// seedSuggest fills db with tickets of the 13 default reasons, msgsPerTicket messages
// each (the customer's and an agent's replies in turn), nine in ten resolved, and their
// suggestion index, in one transaction of multi-row inserts. Customers write a few
// words of their reason's own and many of a common vocabulary, the common ones as
// skewed as words are. It leaves out the messages' full-text rows, which suggestions
// never read. It returns the ids of the open tickets.
func seedSuggest(tb testing.TB, db *DB, tickets, msgsPerTicket int, now time.Time) []int64 {
	tb.Helper()
	ctx := crm.AsSystem(context.Background())
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			tb.Fatalf("%.80s: %v", q, err)
		}
	}
	t0 := ms(now)
	exec(`INSERT INTO inboxes (id, kind, name, created_at, updated_at) VALUES (1, 'email', 'Mail', ?, ?)`, t0, t0)
	exec(`INSERT INTO agents (id, email, name, role, password_hash, created_at, updated_at)
		VALUES (1, 'agent@bench.example', 'Agent', 'agent', '', ?, ?)`, t0, t0)
	const customers = 20000
	batch(tb, exec, customers, `INSERT INTO customers (id, name, created_at, updated_at) VALUES `, "(?, ?, ?, ?)", func(i int) []any {
		return []any{i + 1, fmt.Sprintf("Customer %d", i+1), t0, t0}
	})

	rng := rand.New(rand.NewPCG(1, 2))
	common := rand.NewZipf(rng, 1.1, 2, 4999)
	word := func(prefix string, i uint64) string {
		return fmt.Sprintf("%s%s", prefix, strings.Repeat("o", int(i%5))+fmt.Sprint(i))
	}
	text := func(reason int) string {
		var words []string
		for range 4 {
			words = append(words, word(fmt.Sprintf("topic%dq", reason), rng.Uint64N(40)))
		}
		for range 16 {
			words = append(words, word("w", common.Uint64()))
		}
		rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
		return strings.Join(words, " ")
	}
	reasonFor := func(i int) int { return []int{1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}[i%18] }
	status := func(i int) string {
		if i%10 == 0 {
			return "open"
		}
		return "resolved"
	}
	texts := make([]string, tickets)
	for i := range tickets {
		texts[i] = text(reasonFor(i))
	}
	span := int64(100 * 24 * time.Hour / time.Millisecond)
	created := func(i int) int64 { return t0 - span + int64(i)*span/int64(tickets) }
	batch(tb, exec, tickets, `INSERT INTO tickets (id, inbox_id, customer_id, subject, status, priority, channel,
		created_at, updated_at, last_message_at, reason_id, reason_source) VALUES `, "(?, 1, ?, 'Question', ?, 'normal', 'email', ?, ?, ?, ?, 'agent')",
		func(i int) []any {
			c := created(i)
			return []any{i + 1, i%customers + 1, status(i), c, c, c, reasonFor(i)}
		})
	batch(tb, exec, tickets*msgsPerTicket, `INSERT INTO messages (ticket_id, inbox_id, direction, channel, author_kind,
		author_id, text, status, created_at, updated_at) VALUES `, "(?, 1, ?, 'email', ?, ?, ?, ?, ?, ?)",
		func(k int) []any {
			i, n := k/msgsPerTicket, k%msgsPerTicket
			at := created(i) + int64(n)*600_000
			if n%2 == 1 {
				reply := fmt.Sprintf("Reply %d of reason %d: we are on it.", (i/18)%30, reasonFor(i))
				return []any{i + 1, "out", "agent", 1, reply, "sent", at, at}
			}
			msg := texts[i]
			if n > 0 {
				msg = "Any news?"
			}
			return []any{i + 1, "in", "customer", i%customers + 1, msg, "received", at, at}
		})
	batch(tb, exec, tickets, `INSERT INTO reason_texts (ticket_id, reason_id, text) VALUES `, "(?, ?, ?)", func(i int) []any {
		return []any{i + 1, reasonFor(i), crm.ReasonIndexText(int64(reasonFor(i)), crm.ReasonText("Question", texts[i]+"\nAny news?\nAny news?"))}
	})
	exec(`INSERT INTO reason_texts_fts (reason_texts_fts) VALUES ('rebuild')`)
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.wdb.ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	var open []int64
	for i := 0; i < tickets; i += 10 {
		open = append(open, int64(i+1))
	}
	return open
}

// BenchmarkSuggestReplies measures suggested replies for open tickets among 200,000
// tickets and 1,000,000 messages, and reports the 99th percentile. Target: p99 under
// 20 ms.
func BenchmarkSuggestReplies(b *testing.B) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	dir := b.TempDir()
	db, err := Open(filepath.Join(dir, "bench.db"), Options{DataDir: dir, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	open := seedSuggest(b, db, 200_000, 5, now)
	ctx := crm.AsSystem(context.Background())
	var lat []time.Duration
	for b.Loop() {
		id := open[len(lat)%len(open)]
		start := time.Now()
		list, err := db.SuggestReplies(ctx, id, 3)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if len(list) == 0 {
			b.Fatalf("no suggestions for ticket %d", id)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100])/float64(time.Millisecond), "p99_ms")
}
