package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"parley/crm"

	"github.com/jackc/pgx/v5"
)

// pgFill fills the schema sch as fill fills a SQLite file, with the same generator:
// the store's own code migrates it and creates the admin and the inboxes (with the key
// file in dir that the server will load), then the rows go in through one pgx
// connection with COPY. Customers, tickets and messages are copied into temporary
// tables first and moved over with their search vectors computed by to_tsvector('parley',
// ...) of their words, as the store computes them. The secondary indexes are dropped
// for the fill and built again afterwards, and the tables vacuumed and analyzed, as a
// database that has run a while would be.
func pgFill(ctx context.Context, dir string, sch *schema, sc scale) (*fillInfo, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	store, err := sch.migrate(ctx, dir)
	if err != nil {
		return nil, err
	}
	admin, inboxes, err := seed(ctx, store)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, sch.url)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	c, err := newCopier(ctx, conn)
	if err != nil {
		return nil, err
	}
	info, err := generate(ctx, sc, c, admin, inboxes)
	if err != nil {
		return nil, err
	}
	t := time.Now()
	if err := c.finish(ctx); err != nil {
		return nil, err
	}
	slog.Info("indexed", "took", time.Since(t).Round(time.Millisecond))
	return info, nil
}

// filled are the tables the fill writes.
var filled = []string{"customers", "identities", "tickets", "messages", "events"}

// copier is the fillSink of PostgreSQL: it gives rows the next ids (the tables are empty
// but for the seed's events) and copies what it holds at each commit.
type copier struct {
	conn    *pgx.Conn
	last    struct{ customer, ticket, message, event int64 } // the last ids given
	indexes []string                                         // definitions of the dropped indexes

	customers, identities, tickets, msgs, events [][]any
}

func newCopier(ctx context.Context, conn *pgx.Conn) (*copier, error) {
	c := &copier{conn: conn}
	for _, q := range []string{
		`SET synchronous_commit = off`, // setup, not a figure
		`SET maintenance_work_mem = '256MB'`,
		`CREATE TEMP TABLE fill_customers (id bigint, name text, at bigint, words text)`,
		`CREATE TEMP TABLE fill_tickets (id bigint, inbox_id bigint, customer_id bigint, subject text, status text,
			thread_key text, created_at bigint, last bigint, resolved_at bigint, first_response_at bigint,
			assignee_id bigint, words text)`,
		`CREATE TEMP TABLE fill_messages (id bigint, ticket_id bigint, inbox_id bigint, direction text, author_kind text,
			author_id bigint, author_name text, text text, status text, external_id text, at bigint, words text)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("prepare the fill: %w", err)
		}
	}
	if err := conn.QueryRow(ctx, `SELECT last FROM event_ids WHERE id = 1`).Scan(&c.last.event); err != nil {
		return nil, fmt.Errorf("read event ids: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT quote_ident(x.relname), pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`, filled)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	var names []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list indexes: %w", err)
		}
		names, c.indexes = append(names, name), append(c.indexes, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	for _, name := range names {
		if _, err := conn.Exec(ctx, `DROP INDEX `+name); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", name, err)
		}
	}
	return c, nil
}

func (c *copier) begin(ctx context.Context) error { return nil }

// commit copies the rows held, in the order their foreign keys need.
func (c *copier) commit(ctx context.Context) error {
	for _, s := range []struct {
		rows  *[][]any
		table string
		cols  []string
		move  string
	}{
		{&c.customers, "fill_customers", []string{"id", "name", "at", "words"},
			`INSERT INTO customers (id, name, created_at, updated_at, search)
			SELECT id, name, at, at, to_tsvector('parley', words) FROM fill_customers`},
		{&c.identities, "identities", []string{"id", "customer_id", "kind", "address", "created_at"}, ""},
		{&c.tickets, "fill_tickets", []string{"id", "inbox_id", "customer_id", "subject", "status", "thread_key",
			"created_at", "last", "resolved_at", "first_response_at", "assignee_id", "words"},
			`INSERT INTO tickets (id, inbox_id, customer_id, subject, status, priority, channel, thread_key, created_at,
				updated_at, last_message_at, resolved_at, first_response_at, assignee_id, search)
			SELECT id, inbox_id, customer_id, subject, status, 'normal', 'api', thread_key, created_at,
				last, last, resolved_at, first_response_at, assignee_id, to_tsvector('parley', words) FROM fill_tickets`},
		{&c.msgs, "fill_messages", []string{"id", "ticket_id", "inbox_id", "direction", "author_kind", "author_id",
			"author_name", "text", "status", "external_id", "at", "words"},
			`INSERT INTO messages (id, ticket_id, inbox_id, direction, channel, author_kind, author_id, author_name,
				text, status, external_id, created_at, updated_at, search)
			SELECT id, ticket_id, inbox_id, direction, 'api', author_kind, author_id, author_name,
				text, status, external_id, at, at, to_tsvector('parley', words) FROM fill_messages`},
		{&c.events, "events", []string{"id", "type", "ticket_id", "customer_id", "inbox_id", "actor_kind", "actor_id", "data", "at"}, ""},
	} {
		if len(*s.rows) == 0 {
			continue
		}
		if _, err := c.conn.CopyFrom(ctx, pgx.Identifier{s.table}, s.cols, pgx.CopyFromRows(*s.rows)); err != nil {
			return fmt.Errorf("copy into %s: %w", s.table, err)
		}
		*s.rows = (*s.rows)[:0]
		if s.move == "" {
			continue
		}
		if _, err := c.conn.Exec(ctx, s.move); err != nil {
			return fmt.Errorf("move %s: %w", s.table, err)
		}
		if _, err := c.conn.Exec(ctx, `TRUNCATE `+s.table); err != nil {
			return fmt.Errorf("empty %s: %w", s.table, err)
		}
	}
	return nil
}

func (c *copier) customer(ctx context.Context, name, email string, at int64) (int64, error) {
	c.last.customer++
	c.customers = append(c.customers, []any{c.last.customer, name, at, searchWords(name + " " + email)})
	c.identities = append(c.identities, []any{c.last.customer, c.last.customer, "email", email, at})
	return c.last.customer, nil
}

func (c *copier) ticket(ctx context.Context, inbox, customer int64, subject, status, thread string, created, last, firstResponse, assignee int64) (int64, error) {
	var resolved any
	if status == crm.StatusResolved || status == crm.StatusClosed {
		resolved = last
	}
	c.last.ticket++
	c.tickets = append(c.tickets, []any{c.last.ticket, inbox, customer, subject, status, thread, created, last, resolved,
		nullable(firstResponse), nullable(assignee), searchWords(subject)})
	return c.last.ticket, nil
}

func (c *copier) message(ctx context.Context, ticket, inbox int64, dir string, author crm.Author, text, extID string, at int64) (int64, error) {
	var ext any
	status := crm.MsgSent
	if extID != "" {
		ext, status = extID, crm.MsgReceived
	}
	c.last.message++
	c.msgs = append(c.msgs, []any{c.last.message, ticket, inbox, dir, author.Kind, author.ID, author.Name, text, status, ext, at, searchWords(text)})
	return c.last.message, nil
}

// reason leaves the PostgreSQL fill without contact reasons: its part of the bench has
// no suggested-replies figure (suggest_p99_ms is SQLite's).
func (c *copier) reason(ctx context.Context, ticket, reason int64, text string) error { return nil }

func (c *copier) event(ctx context.Context, typ string, ticket, customer, inbox int64, actor crm.Author, data string, at int64) error {
	c.last.event++
	c.events = append(c.events, []any{c.last.event, typ, nullable(ticket), nullable(customer), nullable(inbox), actor.Kind, actor.ID, data, at})
	return nil
}

// finish builds the dropped indexes, moves the identity sequences and event_ids past the
// copied ids, and vacuums and analyzes the filled tables.
func (c *copier) finish(ctx context.Context) error {
	for _, def := range c.indexes {
		if _, err := c.conn.Exec(ctx, def); err != nil {
			return fmt.Errorf("build index: %w", err)
		}
	}
	for _, t := range filled[:4] {
		if _, err := c.conn.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), max(id)) FROM `+t); err != nil {
			return fmt.Errorf("move the ids of %s: %w", t, err)
		}
	}
	if _, err := c.conn.Exec(ctx, `UPDATE event_ids SET last = $1 WHERE id = 1`, c.last.event); err != nil {
		return fmt.Errorf("move event ids: %w", err)
	}
	for _, t := range filled {
		if _, err := c.conn.Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}
