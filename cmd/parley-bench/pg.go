package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/secret"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgSteps name the steps of the PostgreSQL part; --only pg selects them all.
var pgSteps = []string{"pg ingest", "pg reports catch-up", "pg list", "pg search"}

// benchPostgres runs the PostgreSQL part against the server that cfg.database names:
// the same ingest, lists, threads and search as the SQLite part, each server on a schema
// of its own that is dropped afterwards, with the raw limits of the same server measured
// in the same run through a bare pgx connection.
func benchPostgres(ctx context.Context, cfg config, sc scale, res *results) error {
	if !cfg.runs(pgSteps...) {
		return nil
	}
	if cfg.database == "" {
		if len(cfg.only) > 0 && !cfg.runs(sqliteSteps...) {
			return errors.New("--only selects PostgreSQL steps, but no database is set: give --database or BENCH_DATABASE")
		}
		res.note("PostgreSQL was not measured: set BENCH_DATABASE=postgres://user@host/db (a database the bench may create schemas in)")
		return nil
	}
	errs := []error{runSteps(ctx, cfg, res, []step{
		{"pg ingest", func() error { return benchPGIngest(ctx, cfg, sc, res) }},
	})}
	if !cfg.runs(pgSteps[1:]...) || ctx.Err() != nil {
		return errors.Join(append(errs, ctx.Err())...)
	}

	schema, err := newSchema(ctx, cfg.database)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if !cfg.keep {
		defer schema.drop()
	}
	dir := filepath.Join(cfg.work, "pg-filled")
	info, err := pgFill(ctx, dir, schema, sc)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("pg fill: %w", err))...)
	}
	res.note(fmt.Sprintf("PostgreSQL: list, thread and search ran on %d tickets and %d messages copied into schema %s (%.0f rows/s fill)",
		info.tickets, info.messages, schema.name, info.rowsPerSec))
	pcfg, err := pgxpool.ParseConfig(schema.url)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	pcfg.MaxConns = int32(sc.ReadConc)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("pg: connect: %w", err))...)
	}
	defer pool.Close()
	s, err := startServer(ctx, cfg, dir, "--database", schema.url)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("pg: %w", err))...)
	}
	defer s.stop()
	raw := pgRaw{pool}
	if err := runSteps(ctx, cfg, res, []step{
		{"pg reports catch-up", func() error { return waitReports(ctx, s, sc, res, raw.reportProgress) }},
		{"pg list", func() error { return benchReads(ctx, s, sc, res, info, pgPrefix, raw.reads(info)) }},
		{"pg search", func() error { return benchSearch(ctx, s, sc, res, info, pgPrefix, raw.search) }},
	}); err != nil {
		errs = append(errs, fmt.Errorf("pg: %w (server log: %s)", err, s.logPath))
	}
	return errors.Join(errs...)
}

// pgPrefix starts the result keys of the PostgreSQL figures.
const pgPrefix = "pg_"

// schema is a schema of the bench's own on the PostgreSQL server, with the URL a store
// uses for it: its search_path is the schema, then public, where extensions live.
type schema struct {
	base, name, url string
}

// newSchema creates a schema parley_bench_<random> on the server of base.
func newSchema(ctx context.Context, base string) (*schema, error) {
	b := make([]byte, 6)
	rand.Read(b)
	s := &schema{base: base, name: "parley_bench_" + hex.EncodeToString(b)}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	q := u.Query()
	q.Set("search_path", s.name+",public")
	u.RawQuery = q.Encode()
	s.url = u.String()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("connect to the bench database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+s.name); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	slog.Info("schema created", "schema", s.name)
	return s, nil
}

// drop drops the schema and everything in it.
func (s *schema) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.base)
	if err == nil {
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `DROP SCHEMA `+s.name+` CASCADE`)
	}
	if err != nil {
		slog.Error("drop schema", "schema", s.name, "err", err)
	}
}

// migrate applies Parley's migrations to the schema through the store's own code, with
// dir as its data dir and the key file the server will load from there.
func (s *schema) migrate(ctx context.Context, dir string) (*postgres.DB, error) {
	key, err := secret.LoadOrCreateKey(dir)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	db, err := postgres.Open(ctx, s.url, postgres.Options{DataDir: dir, SecretKey: key})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return db, nil
}

// benchPGIngest runs the ingest of the SQLite part against a server on PostgreSQL, then
// inserts the same rows into a fresh schema through one bare pgx connection, 32 messages
// (and one) per transaction, for the raw limits.
func benchPGIngest(ctx context.Context, cfg config, sc scale, res *results) error {
	sch, err := newSchema(ctx, cfg.database)
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer sch.drop()
	}
	s, err := startServer(ctx, cfg, filepath.Join(cfg.work, "pg-empty"), "--database", sch.url)
	if err != nil {
		return err
	}
	res.set(pgPrefix+keyStartMS, ms(s.startTook))
	lr, rows, threads, err := ingestLoad(ctx, s, sc, res, "pg ingest")
	s.stop()
	if err != nil {
		return fmt.Errorf("%w (server log: %s)", err, s.logPath)
	}
	res.set(pgPrefix+keyIngestMsgsPerS, lr.perSec())
	res.set(pgPrefix+keyIngestP50, lr.lat.pct(50))
	res.set(pgPrefix+keyIngestP99, lr.lat.pct(99))
	for _, r := range []struct {
		key   string
		batch int
	}{{keyPGRawTx, 1}, {keyPGRawRows, sc.IngestConc}} {
		rate, err := rawPGInsertRate(ctx, cfg, rows[:max(lr.n, 1)], threads, r.batch, sc.IngestLimit)
		if err != nil {
			return fmt.Errorf("raw pgx: %w", err)
		}
		res.set(r.key, rate)
	}
	return nil
}

// rawPGInsertRate writes rows into a fresh schema the way ingest does, minus everything
// that is not PostgreSQL, like rawInsertRate on SQLite: for each message the customer
// (with its search vector) and identity of a new sender, the ticket inserted or updated,
// the message with its search vector, and two events whose ids come from event_ids as
// the store takes them. batch messages go in one transaction, sent as one pipelined pgx
// batch; ids are the bench's own, as the only writer. It returns messages per second.
func rawPGInsertRate(ctx context.Context, cfg config, rows []ingestRow, threads, batch int, limit time.Duration) (float64, error) {
	sch, err := newSchema(ctx, cfg.database)
	if err != nil {
		return 0, err
	}
	if !cfg.keep {
		defer sch.drop()
	}
	store, err := sch.migrate(ctx, filepath.Join(cfg.work, "pg-raw-"+strconv.Itoa(batch)))
	if err != nil {
		return 0, err
	}
	store.Close()
	conn, err := pgx.Connect(ctx, sch.url)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `INSERT INTO inboxes (id, kind, name, created_at, updated_at) VALUES (1, 'api', 'raw', 0, 0)`); err != nil {
		return 0, fmt.Errorf("insert inbox: %w", err)
	}
	var nextID int64 // customers, identities, tickets and messages alike
	tickets := map[string]int64{}
	now := time.Now().UnixMilli()
	insertAll := func(rows []ingestRow) error {
		b := &pgx.Batch{}
		var evTickets, evCustomers []int64
		var evTypes, evData []string
		for _, r := range rows {
			tid, ok := tickets[r.thread]
			var cid int64
			if ok {
				cid = tid // each thread's sender is the customer with the ticket's id
				b.Queue(`UPDATE tickets SET last_message_at = $1, updated_at = $1 WHERE id = $2`, now, tid)
			} else {
				nextID++
				cid, tid = nextID, nextID
				b.Queue(`INSERT INTO customers (id, name, created_at, updated_at, search) VALUES ($1, $2, $3, $3, to_tsvector('parley', $4))`,
					cid, "Bench Shopper", now, searchWords("Bench Shopper "+r.email))
				b.Queue(`INSERT INTO identities (id, customer_id, kind, address, created_at) VALUES ($1, $1, 'email', $2, $3)`, cid, r.email, now)
				b.Queue(`INSERT INTO tickets (id, inbox_id, customer_id, subject, status, priority, channel, thread_key,
					created_at, updated_at, last_message_at, search)
					VALUES ($1, 1, $1, $2, 'open', 'normal', 'api', $3, $4, $4, $4, to_tsvector('parley', $5))`,
					tid, "Bench "+r.thread, r.thread, now, searchWords("Bench "+r.thread))
				tickets[r.thread] = tid
			}
			nextID++
			b.Queue(`INSERT INTO messages (id, ticket_id, inbox_id, direction, channel, author_kind, author_id, author_name,
				text, status, external_id, sender, created_at, updated_at, search)
				VALUES ($1, $2, 1, 'in', 'api', 'customer', $3, 'Bench Shopper', $4, 'received', $5, $6, $7, $7, to_tsvector('parley', $8))`,
				nextID, tid, cid, r.text, r.extID, "email:"+r.email, now, searchWords(r.text))
			evTickets = append(evTickets, tid, tid)
			evCustomers = append(evCustomers, cid, cid)
			evTypes = append(evTypes, crm.EventTicketUpdated, crm.EventMessageCreated)
			evData = append(evData, `{"id":`+strconv.FormatInt(tid, 10)+`}`, `{"id":`+strconv.FormatInt(nextID, 10)+`}`)
		}
		// The events last, with ids taken from event_ids as the store's writer takes
		// them, holding its row lock until the commit.
		b.Queue(`WITH ids AS (UPDATE event_ids SET last = last + $1 WHERE id = 1 RETURNING last)
			INSERT INTO events (id, type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at)
			SELECT ids.last - $1 + e.n, e.type, e.ticket_id, e.customer_id, 1, 'customer', e.customer_id, e.data, $2
			FROM ids, unnest($3::text[], $4::bigint[], $5::bigint[], $6::text[]) WITH ORDINALITY AS e(type, ticket_id, customer_id, data, n)`,
			len(evTypes), now, evTypes, evTickets, evCustomers, evData)
		// A batch without BEGIN is one implicit transaction: one commit, one round trip.
		return conn.SendBatch(ctx, b).Close()
	}
	// The warm-up threads exist before the timing starts, as they did on the server.
	warm := make([]ingestRow, threads)
	for i := range warm {
		warm[i] = ingestRow{thread: "thread-warm-" + strconv.Itoa(i), email: "shopper-warm-" + strconv.Itoa(i) + "@bench.parley.test",
			extID: "warm-" + strconv.Itoa(i), text: "warm-up"}
	}
	if err := insertAll(warm); err != nil {
		return 0, fmt.Errorf("warm-up rows: %w", err)
	}
	start := time.Now()
	n := 0
	for n < len(rows) && ctx.Err() == nil && time.Since(start) < limit {
		chunk := rows[n:min(n+batch, len(rows))]
		if err := insertAll(chunk); err != nil {
			return 0, fmt.Errorf("rows %d to %d: %w", n, n+len(chunk), err)
		}
		n += len(chunk)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// searchWords is what crm/postgres's searchText makes of s before to_tsvector: its words
// (runs of letters, digits and marks), lower-cased, joined by single spaces.
func searchWords(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	}), " ")
}

// pgRaw runs, on a pool of its own, the queries the PostgreSQL store runs for a list, a
// thread and a search, bare: the same SQL, the rows read but not decoded.
type pgRaw struct{ pool *pgxpool.Pool }

// The store's queries (crm/postgres: Tickets, checkTicket and Messages, the messages part
// of Search) as they reach PostgreSQL for an admin.
const (
	pgListQuery = `SELECT t.id, t.inbox_id, t.customer_id, t.subject, t.status, t.priority, t.channel,
	t.assignee_id, t.linked_ticket_id, t.merged_into, t.created_at, t.updated_at,
	t.first_response_at, t.resolved_at, t.last_message_at,
	ARRAY(SELECT tag FROM ticket_tags g WHERE g.ticket_id = t.id ORDER BY tag)
	FROM tickets t WHERE TRUE AND t.status = $1 ORDER BY t.last_message_at DESC, t.id DESC LIMIT $2`
	pgCheckTicketQuery = `SELECT 1 FROM tickets t WHERE t.id = $1 AND TRUE`
	pgThreadQuery      = `SELECT m.id, m.ticket_id, m.inbox_id, m.direction, m.channel, m.author_kind, m.author_id,
	m.author_name, m.text, m.html, m.status, m.error, m.external_id, m.created_at,
	EXISTS (SELECT 1 FROM attachments x WHERE x.message_id = m.id)
	FROM messages m WHERE m.ticket_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3`
	pgSearchQuery = `SELECT m.id, m.ticket_id, m.inbox_id, m.direction, m.channel, m.author_kind, m.author_id,
	m.author_name, m.text, m.html, m.status, m.error, m.external_id, m.created_at,
	EXISTS (SELECT 1 FROM attachments x WHERE x.message_id = m.id)
	FROM messages m JOIN tickets t ON t.id = m.ticket_id
	WHERE m.search @@ (plainto_tsquery('parley', $1::text) && to_tsquery('parley', quote_literal($2::text) || ':*'))
	AND TRUE ORDER BY m.id DESC LIMIT $3`
)

// reads returns the bare list and thread of benchReads.
func (p pgRaw) reads(info *fillInfo) *rawReads {
	return &rawReads{
		list: func(ctx context.Context) error { return p.drain(ctx, pgListQuery, crm.StatusOpen, 51) },
		thread: func(ctx context.Context) error {
			if err := p.drain(ctx, pgCheckTicketQuery, info.threadID); err != nil {
				return err
			}
			return p.drain(ctx, pgThreadQuery, info.threadID, 0, 51)
		},
	}
}

// search runs the messages part of a search for q bare, the store's query: every word
// but the last complete, the last one a prefix, the newest 20 matches.
func (p pgRaw) search(ctx context.Context, q string) error {
	w := strings.Fields(q)
	return p.drain(ctx, pgSearchQuery, strings.Join(w[:len(w)-1], " "), w[len(w)-1], 20)
}

// drain runs query and reads its rows without decoding them.
func (p pgRaw) drain(ctx context.Context, query string, args ...any) error {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		rows.RawValues()
	}
	return rows.Err()
}

// reportProgress is waitReports' progress on PostgreSQL.
func (p pgRaw) reportProgress(ctx context.Context) (after, last int64, ok bool, err error) {
	err = p.pool.QueryRow(ctx, `SELECT coalesce((SELECT after FROM report_cursor WHERE id = 1), 0),
		(SELECT last FROM event_ids WHERE id = 1)`).Scan(&after, &last)
	if err != nil {
		return 0, 0, false, fmt.Errorf("read the reports cursor: %w", err)
	}
	return after, last, true, nil
}
