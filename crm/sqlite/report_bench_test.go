package sqlite

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/reports"
)

// seedReports fills db with tickets over the last 100 days, msgsPerTicket messages each
// (every second one an agent's reply) and their report state, in one transaction of
// multi-row inserts, without full-text rows: this database is only read by
// reports, and indexing a million texts would dominate the seeding.
func seedReports(tb testing.TB, db *DB, tickets, msgsPerTicket int, now time.Time) {
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
	for i, kind := range []string{"email", "phone", "chat"} {
		exec(`INSERT INTO inboxes (id, kind, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, i+1, kind, kind, t0, t0)
	}
	for i := 1; i <= 5; i++ {
		exec(`INSERT INTO agents (id, email, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, 'agent', '', ?, ?)`,
			i, fmt.Sprintf("agent%d@bench.example", i), fmt.Sprintf("Agent %d", i), t0, t0)
	}
	exec(`INSERT INTO sla_policies (id, name, first_response_minutes, resolution_minutes, schedule, created_at, updated_at)
		VALUES (1, 'Bench', 60, 480, '{"timezone":"UTC"}', ?, ?)`, t0, t0)
	const customers = 10000
	batch(tb, exec, customers, `INSERT INTO customers (id, name, created_at, updated_at) VALUES `, "(?, ?, ?, ?)", func(i int) []any {
		return []any{i + 1, fmt.Sprintf("Customer %d", i+1), t0, t0}
	})
	span := int64(100 * 24 * time.Hour / time.Millisecond)
	channels := []string{"email", "sms", "chat"}
	created := func(i int) int64 { return t0 - span + int64(i)*span/int64(tickets) }
	status := func(i int) string {
		switch i % 20 {
		case 0, 1:
			return "open"
		case 2:
			return "pending"
		}
		return "resolved"
	}
	batch(tb, exec, tickets, `INSERT INTO tickets (id, inbox_id, customer_id, subject, status, priority, channel, assignee_id,
		created_at, updated_at, first_response_at, resolved_at, last_message_at) VALUES `, "(?, ?, ?, ?, ?, 'normal', ?, ?, ?, ?, ?, ?, ?)",
		func(i int) []any {
			c := created(i)
			var resolved any
			if status(i) == "resolved" {
				resolved = c + 7_200_000
			}
			return []any{i + 1, i%3 + 1, i%customers + 1, "Order question", status(i), channels[i%3], i%5 + 1, c, c, c + 600_000, resolved, c + 3_600_000}
		})
	batch(tb, exec, tickets, `INSERT INTO ticket_sla (ticket_id, inbox_id, status, priority, assignee_id, policy_id, created_at,
		first_response_at, first_response_by, first_response_secs, first_resolved_at, resolution_secs, first_response_due,
		resolution_due, sla_met, sla_decided_at) VALUES `, "(?, ?, ?, 'normal', ?, 1, ?, ?, ?, 600, ?, ?, ?, ?, ?, ?)",
		func(i int) []any {
			c := created(i)
			var resAt, resSecs, met, decided any
			if status(i) == "resolved" {
				resAt, resSecs, met, decided = c+7_200_000, 7200, i%7 != 0, c+7_200_000
			}
			return []any{i + 1, i%3 + 1, status(i), i%5 + 1, c, c + 600_000, i%5 + 1, resAt, resSecs, c + 3_600_000, c + 28_800_000, met, decided}
		})
	var resolved []int
	for i := range tickets {
		if status(i) == "resolved" {
			resolved = append(resolved, i)
		}
	}
	batch(tb, exec, len(resolved), `INSERT INTO ticket_resolutions (ticket_id, at) VALUES `, "(?, ?)", func(j int) []any {
		i := resolved[j]
		return []any{i + 1, created(i) + 7_200_000}
	})
	batch(tb, exec, len(resolved)/5, `INSERT INTO csat_surveys (ticket_id, inbox_id, customer_id, channel, status, rating,
		sent_at, expires_at, answered_at, updated_at) VALUES `, "(?, ?, ?, 'email', 'sent', ?, ?, ?, ?, ?)", func(j int) []any {
		i := resolved[j*5]
		at := created(i) + 7_200_000
		return []any{i + 1, i%3 + 1, i%customers + 1, i%5 + 1, at, at + 1, at + 3_600_000, at}
	})
	batch(tb, exec, tickets*msgsPerTicket, `INSERT INTO messages (ticket_id, inbox_id, direction, channel, author_kind,
		author_id, text, status, created_at, updated_at) VALUES `, "(?, ?, ?, ?, ?, ?, 'Thanks, that helps.', ?, ?, ?)",
		func(k int) []any {
			i, n := k/msgsPerTicket, k%msgsPerTicket
			at := created(i) + int64(n)*600_000
			if n%2 == 1 {
				return []any{i + 1, i%3 + 1, "out", channels[i%3], "agent", i%5 + 1, "sent", at, at}
			}
			return []any{i + 1, i%3 + 1, "in", channels[i%3], "customer", i%customers + 1, "received", at, at}
		})
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.wdb.ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// batch inserts n rows, 500 to a statement.
func batch(tb testing.TB, exec func(string, ...any), n int, head, row string, args func(i int) []any) {
	const size = 500
	for start := 0; start < n; start += size {
		end := min(start+size, n)
		vals := make([]any, 0, (end-start)*16)
		for i := start; i < end; i++ {
			vals = append(vals, args(i)...)
		}
		exec(head+strings.TrimSuffix(strings.Repeat(row+", ", end-start), ", "), vals...)
	}
}

func openBenchDB(b *testing.B, now time.Time) *DB {
	b.Helper()
	dir := b.TempDir()
	db, err := Open(filepath.Join(dir, "bench.db"), Options{DataDir: dir, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	seedReports(b, db, 100_000, 10, now)
	return db
}

// BenchmarkReportOverview measures the overview of a 30-day range over 100,000 tickets
// and 1,000,000 messages. Target: under 500 ms an operation.
func BenchmarkReportOverview(b *testing.B) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	db := openBenchDB(b, now)
	r, err := reports.ParseRange("2026-11-01", "2026-11-30", "UTC", reports.MaxRangeDays)
	if err != nil {
		b.Fatal(err)
	}
	ctx := crm.AsSystem(context.Background())
	for b.Loop() {
		o, err := reports.OverviewOf(ctx, db, r, 0, "")
		if err != nil {
			b.Fatal(err)
		}
		if o.TicketsCreated < 25_000 {
			b.Fatalf("only %d tickets in range", o.TicketsCreated)
		}
	}
}

// BenchmarkTicketsCSV measures the tickets export over the whole seeded history.
// Target: at least 20,000 rows a second.
func BenchmarkTicketsCSV(b *testing.B) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	db := openBenchDB(b, now)
	r, err := reports.ParseRange("2026-08-01", "2026-11-30", "UTC", 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx := crm.AsSystem(context.Background())
	rows := 0
	for b.Loop() {
		n, err := reports.WriteTicketsCSV(ctx, db, r, 0, "", io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
