package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"parley/crm"
	"parley/crm/secret"
	"parley/crm/sqlite"
)

// fillInfo describes what fill wrote.
type fillInfo struct {
	tickets  int
	messages int
	threadID int64 // the ticket with ThreadLen messages
	// threadFirstMsg is the id of its first message: every message id below it is a
	// cursor that pages to the same thread.
	threadFirstMsg int64
	rowsPerSec     float64
	dbPath         string // the SQLite file
	vocab          *vocabulary
}

// fill writes sc.Tickets tickets with sc.Messages messages straight into the database file
// of a new data dir, before any server runs on it. The store opens it first, so the schema
// is migrated and the secret key file is the one the server will load; then the rows go in
// through one SQLite connection in big transactions, with every index, search row and
// event row the store would have written. Going through the API would take hours at the
// full scale; the API's own write speed is what the ingest figure measures.
func fill(ctx context.Context, dir string, sc scale) (*fillInfo, error) {
	store, path, err := openSchema(dir)
	if err != nil {
		return nil, err
	}
	admin, inboxes, err := seed(ctx, store)
	if err != nil {
		return nil, err
	}

	// The fill is setup, not a figure: it may skip syncing to disk.
	db, err := openRaw(path, "OFF")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	w, err := newWriter(ctx, db)
	if err != nil {
		return nil, err
	}
	defer w.close()
	defer w.rollback()
	info, err := generate(ctx, sc, w, admin, inboxes)
	if err != nil {
		return nil, err
	}
	info.dbPath = path
	// The messages were indexed with their rows: none is left for Parley's search backlog.
	if _, err := w.conn.ExecContext(ctx, `UPDATE search_backlog SET messages_upto = (SELECT coalesce(max(id), 0) FROM messages)`); err != nil {
		return nil, fmt.Errorf("empty the search backlog: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return info, nil
}

// seeder is what seed needs of a store.
type seeder interface {
	CreateAgent(ctx context.Context, na *crm.NewAgent) (*crm.Agent, error)
	CreateInbox(ctx context.Context, in *crm.Inbox) (*crm.Inbox, error)
	Close() error
}

// seed creates, through the store's own code, the bench's admin, who answers the filled
// tickets (the server finds it and creates none), and three api inboxes, and closes the
// store.
func seed(ctx context.Context, store seeder) (*crm.Agent, []int64, error) {
	admin, err := store.CreateAgent(ctx, &crm.NewAgent{Email: adminEmail, Name: "Bench Admin", Role: crm.RoleAdmin, Password: adminPassword})
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("create admin: %w", err)
	}
	var inboxes []int64
	for _, name := range []string{"Bench Orders", "Bench Returns", "Bench Wholesale"} {
		in, err := store.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: name})
		if err != nil {
			store.Close()
			return nil, nil, fmt.Errorf("create inbox: %w", err)
		}
		inboxes = append(inboxes, in.ID)
	}
	if err := store.Close(); err != nil {
		return nil, nil, fmt.Errorf("close store: %w", err)
	}
	return admin, inboxes, nil
}

// fillSink is where generate writes the rows: the SQLite writer, or the PostgreSQL
// copier (pgfill.go). Rows between begin and commit are at most about 20,000; each
// insert returns the new row's id.
type fillSink interface {
	begin(ctx context.Context) error
	commit(ctx context.Context) error
	customer(ctx context.Context, name, email string, at int64) (int64, error)
	ticket(ctx context.Context, inbox, customer int64, subject, status, thread string, created, last, firstResponse, assignee int64) (int64, error)
	message(ctx context.Context, ticket, inbox int64, dir string, author crm.Author, text, extID string, at int64) (int64, error)
	event(ctx context.Context, typ string, ticket, customer, inbox int64, actor crm.Author, data string, at int64) error
	// reason gives a ticket an agent's contact reason and its row of the suggested
	// replies' index, text being what its customer wrote.
	reason(ctx context.Context, ticket, reason int64, text string) error
}

// generate writes the filled data into w: sc.Tickets tickets of sc.Tickets/2 customers
// over the last 90 days, sc.Messages messages (every third from the second on an agent's
// reply), the newest ticket with exactly sc.ThreadLen, and the events the store would
// have written for them.
func generate(ctx context.Context, sc scale, w fillSink, admin *crm.Agent, inboxes []int64) (*fillInfo, error) {
	agent := crm.Author{Kind: "agent", ID: admin.ID, Name: admin.Name}
	info := &fillInfo{vocab: newVocabulary()}
	gen := info.vocab.text(42)
	customers := max(1, sc.Tickets/2)
	now := time.Now().Add(-time.Minute).UnixMilli()
	span := int64(90 * 24 * time.Hour / time.Millisecond)
	base := now - span
	perTicket := max(1, (sc.Messages-sc.ThreadLen)/max(1, sc.Tickets-1))
	extra := max(0, sc.Messages-sc.ThreadLen-perTicket*(sc.Tickets-1))
	statuses := []string{crm.StatusOpen, crm.StatusOpen, crm.StatusOpen, crm.StatusOpen, crm.StatusPending,
		crm.StatusPending, crm.StatusResolved, crm.StatusResolved, crm.StatusResolved, crm.StatusClosed}

	start := time.Now()
	rows, inTx := 0, 0
	flush := func() error {
		if inTx == 0 {
			return nil
		}
		inTx = 0
		return w.commit(ctx)
	}
	step := func(n int) error {
		rows += n
		inTx += n
		if inTx >= 20_000 {
			return flush()
		}
		return nil
	}
	for c := 1; c <= customers; c++ {
		if inTx == 0 {
			if err := w.begin(ctx); err != nil {
				return nil, err
			}
		}
		name := "Customer " + strconv.Itoa(c)
		if _, err := w.customer(ctx, name, "customer-"+strconv.Itoa(c)+"@bench.parley.test", base); err != nil {
			return nil, err
		}
		if err := step(3); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= sc.Tickets; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if inTx == 0 {
			if err := w.begin(ctx); err != nil {
				return nil, err
			}
		}
		n := perTicket
		if i <= extra {
			n++
		}
		status := statuses[i%len(statuses)]
		if i == sc.Tickets {
			n, status = sc.ThreadLen, crm.StatusOpen // the newest ticket is the thread figure's
		}
		created := base + int64(i)*span/int64(sc.Tickets)
		last := min(now, created+int64(n)*int64(time.Hour/time.Millisecond))
		inbox := inboxes[i%len(inboxes)]
		customer := int64(1 + (i*7919)%customers)
		subject := gen.words(3, 7)
		at := func(k int) int64 { // the time of the ticket's k-th message
			if n < 2 {
				return created
			}
			return created + (last-created)*int64(k)/int64(n-1)
		}
		var firstResponse, assignee int64
		if n > 1 {
			firstResponse = at(1) // every third message, from the second on, is a reply
		}
		if i%2 == 0 {
			assignee = admin.ID
		}
		tid, err := w.ticket(ctx, inbox, customer, subject, status, "fill-"+strconv.Itoa(i), created, last, firstResponse, assignee)
		if err != nil {
			return nil, err
		}
		t := &crm.Ticket{ID: tid, InboxID: inbox, CustomerID: customer, Subject: subject, Status: crm.StatusOpen,
			Priority: crm.PriorityNormal, Channel: crm.ChannelAPI, Tags: []string{},
			CreatedAt: time.UnixMilli(created).UTC(), UpdatedAt: time.UnixMilli(created).UTC(), LastMessageAt: time.UnixMilli(created).UTC()}
		if err := w.event(ctx, crm.EventTicketCreated, tid, customer, inbox, crm.Author{Kind: "customer", ID: customer}, jsonOf(t), created); err != nil {
			return nil, err
		}
		events := 1
		customerText := subject
		for k := range n {
			dir, ext, author := crm.DirIn, "fill-"+strconv.Itoa(i)+"-"+strconv.Itoa(k), crm.Author{Kind: "customer", ID: customer, Name: "Customer"}
			if k%3 == 1 {
				dir, ext, author = crm.DirOut, "", agent
			}
			body := gen.words(8, 30)
			if dir == crm.DirIn && k < 10 {
				customerText += "\n" + body
			}
			mid, err := w.message(ctx, tid, inbox, dir, author, body, ext, at(k))
			if err != nil {
				return nil, err
			}
			if i == sc.Tickets && k == 0 {
				info.threadFirstMsg = mid
			}
			m := &crm.Message{ID: mid, TicketID: tid, InboxID: inbox, Direction: dir, Channel: crm.ChannelAPI,
				Author: author, Text: body, Status: crm.MsgReceived, Attachments: []*crm.Attachment{},
				CreatedAt: time.UnixMilli(at(k)).UTC()}
			if dir == crm.DirOut {
				m.Status = crm.MsgSent
			}
			if err := w.event(ctx, crm.EventMessageCreated, tid, customer, inbox, author, jsonOf(m), at(k)); err != nil {
				return nil, err
			}
			events++
			info.messages++
		}
		// Every ticket has one of the 13 default reasons, as if agents had labelled them.
		if err := w.reason(ctx, tid, int64(1+i%13), customerText); err != nil {
			return nil, err
		}
		if status != crm.StatusOpen {
			// The change to the ticket's final status, as an agent's PATCH records it.
			t.Status, t.UpdatedAt, t.LastMessageAt = status, time.UnixMilli(last).UTC(), time.UnixMilli(last).UTC()
			if status == crm.StatusResolved || status == crm.StatusClosed {
				t.ResolvedAt = &t.UpdatedAt
			}
			if firstResponse != 0 {
				fr := time.UnixMilli(firstResponse).UTC()
				t.FirstResponseAt = &fr
			}
			if err := w.event(ctx, crm.EventTicketUpdated, tid, customer, inbox, agent, jsonOf(t), last); err != nil {
				return nil, err
			}
			events++
		}
		if i == sc.Tickets {
			info.threadID = tid
		}
		info.tickets++
		if err := step(1 + n + events); err != nil {
			return nil, err
		}
		if i%20_000 == 0 {
			slog.Info("filling", "tickets", i, "messages", info.messages, "rows_per_s", int(float64(rows)/time.Since(start).Seconds()))
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	info.rowsPerSec = float64(rows) / time.Since(start).Seconds()
	slog.Info("filled", "tickets", info.tickets, "messages", info.messages, "took", time.Since(start).Round(time.Millisecond))
	return info, nil
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// openSchema opens a new store in dir through the store's own code, which creates the
// secret key file and applies the migrations. It returns the store and its file path.
func openSchema(dir string) (*sqlite.DB, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create data dir: %w", err)
	}
	key, err := secret.LoadOrCreateKey(dir)
	if err != nil {
		return nil, "", fmt.Errorf("secret key: %w", err)
	}
	path := filepath.Join(dir, "parley.db")
	store, err := sqlite.Open(path, sqlite.Options{DataDir: dir, SecretKey: key})
	if err != nil {
		return nil, "", fmt.Errorf("open store: %w", err)
	}
	return store, path, nil
}

// openRaw opens the database file for the bench's own writes with the store's settings
// (WAL, foreign keys, busy timeout) and the given synchronous mode.
func openRaw(path, synchronous string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on&_busy_timeout=10000&_journal_mode=WAL&_synchronous="+synchronous)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// writer inserts Parley's rows with statements prepared once on one connection.
// Transactions are plain BEGIN IMMEDIATE and COMMIT statements on that connection, so
// that a transaction per row costs no more than SQLite makes it cost.
type writer struct {
	conn  *sql.Conn
	stmts []*sql.Stmt
	inTx  bool

	insCustomer, insIdentity, insCustomerFTS, insTicket, insTicketFTS, touchTicket, insMessage, insMessageFTS, insEvent *sql.Stmt
	setReason, insReasonText, insReasonFTS                                                                              *sql.Stmt
}

func newWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	w := &writer{conn: conn}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.insCustomer, `INSERT INTO customers (name, created_at, updated_at) VALUES (?, ?, ?)`},
		{&w.insIdentity, `INSERT INTO identities (customer_id, kind, address, created_at) VALUES (?, 'email', ?, ?)`},
		{&w.insCustomerFTS, `INSERT INTO customers_fts (rowid, name, identities) VALUES (?, ?, ?)`},
		{&w.insTicket, `INSERT INTO tickets (inbox_id, customer_id, subject, status, priority, channel, thread_key,
			created_at, updated_at, last_message_at, resolved_at, first_response_at, assignee_id)
			VALUES (?, ?, ?, ?, 'normal', 'api', ?, ?, ?, ?, ?, ?, ?)`},
		{&w.insTicketFTS, `INSERT INTO tickets_fts (rowid, subject) VALUES (?, ?)`},
		{&w.touchTicket, `UPDATE tickets SET last_message_at = ?, updated_at = ? WHERE id = ?`},
		{&w.insMessage, `INSERT INTO messages (ticket_id, inbox_id, direction, channel, author_kind, author_id,
			author_name, text, html, status, external_id, created_at, updated_at)
			VALUES (?, ?, ?, 'api', ?, ?, ?, ?, '', ?, ?, ?, ?)`},
		{&w.insMessageFTS, `INSERT INTO messages_fts (rowid, text) VALUES (?, ?)`},
		{&w.insEvent, `INSERT INTO events (type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.setReason, `UPDATE tickets SET reason_id = ?, reason_source = 'agent' WHERE id = ?`},
		{&w.insReasonText, `INSERT INTO reason_texts (ticket_id, reason_id, text) VALUES (?, ?, ?)`},
		{&w.insReasonFTS, `INSERT INTO reason_texts_fts (rowid, text) VALUES (?, ?)`},
	} {
		if *p.stmt, err = conn.PrepareContext(ctx, p.sql); err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		w.stmts = append(w.stmts, *p.stmt)
	}
	return w, nil
}

func (w *writer) close() {
	for _, s := range w.stmts {
		s.Close()
	}
	w.conn.Close()
}

func (w *writer) begin(ctx context.Context) error {
	if _, err := w.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	w.inTx = true
	return nil
}

func (w *writer) commit(ctx context.Context) error {
	if _, err := w.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	w.inTx = false
	return nil
}

// rollback ends a transaction that did not commit; after a commit it does nothing.
func (w *writer) rollback() {
	if w.inTx {
		w.conn.ExecContext(context.Background(), `ROLLBACK`)
		w.inTx = false
	}
}

// customer inserts a customer with one email identity and its search row.
func (w *writer) customer(ctx context.Context, name, email string, at int64) (int64, error) {
	res, err := w.insCustomer.ExecContext(ctx, name, at, at)
	if err != nil {
		return 0, fmt.Errorf("insert customer: %w", err)
	}
	id, _ := res.LastInsertId()
	if _, err := w.insIdentity.ExecContext(ctx, id, email, at); err != nil {
		return 0, fmt.Errorf("insert identity: %w", err)
	}
	if _, err := w.insCustomerFTS.ExecContext(ctx, id, name, email); err != nil {
		return 0, fmt.Errorf("insert customer search row: %w", err)
	}
	return id, nil
}

// ticket inserts a ticket. firstResponse 0 means none; assignee 0 means unassigned.
func (w *writer) ticket(ctx context.Context, inbox, customer int64, subject, status, thread string, created, last, firstResponse, assignee int64) (int64, error) {
	var resolved any
	if status == crm.StatusResolved || status == crm.StatusClosed {
		resolved = last
	}
	res, err := w.insTicket.ExecContext(ctx, inbox, customer, subject, status, thread, created, last, last, resolved,
		nullable(firstResponse), nullable(assignee))
	if err != nil {
		return 0, fmt.Errorf("insert ticket: %w", err)
	}
	id, _ := res.LastInsertId()
	if _, err := w.insTicketFTS.ExecContext(ctx, id, subject); err != nil {
		return 0, fmt.Errorf("insert ticket search row: %w", err)
	}
	return id, nil
}

func (w *writer) reason(ctx context.Context, ticket, reason int64, text string) error {
	if _, err := w.setReason.ExecContext(ctx, reason, ticket); err != nil {
		return fmt.Errorf("set reason: %w", err)
	}
	indexed := crm.ReasonIndexText(reason, text)
	if _, err := w.insReasonText.ExecContext(ctx, ticket, reason, indexed); err != nil {
		return fmt.Errorf("insert reason text: %w", err)
	}
	if _, err := w.insReasonFTS.ExecContext(ctx, ticket, indexed); err != nil {
		return fmt.Errorf("insert reason text search row: %w", err)
	}
	return nil
}

func (w *writer) touch(ctx context.Context, ticket, at int64) error {
	if _, err := w.touchTicket.ExecContext(ctx, at, at, ticket); err != nil {
		return fmt.Errorf("update ticket: %w", err)
	}
	return nil
}

// message inserts a message; its search row comes from the schema's trigger. An empty
// extID stores NULL, as the store does for agent replies.
func (w *writer) message(ctx context.Context, ticket, inbox int64, dir string, author crm.Author, text, extID string, at int64) (int64, error) {
	var ext any
	status := crm.MsgSent
	if extID != "" {
		ext, status = extID, crm.MsgReceived
	}
	res, err := w.insMessage.ExecContext(ctx, ticket, inbox, dir, author.Kind, author.ID, author.Name, text, status, ext, at, at)
	if err != nil {
		return 0, fmt.Errorf("insert message: %w", err)
	}
	id, _ := res.LastInsertId()
	if _, err := w.insMessageFTS.ExecContext(ctx, id, text); err != nil {
		return 0, fmt.Errorf("insert message search row: %w", err)
	}
	return id, nil
}

func (w *writer) event(ctx context.Context, typ string, ticket, customer, inbox int64, actor crm.Author, data string, at int64) error {
	if _, err := w.insEvent.ExecContext(ctx, typ, ticket, nullable(customer), inbox, actor.Kind, actor.ID, data, at); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
