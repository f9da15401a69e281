package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/postgres/pgtest"
	"parley/crm/sqlite"
	"parley/demo"
	"parley/reports"
	"parley/server"

	"github.com/jackc/pgx/v5"
)

const (
	copyAdminEmail    = "admin@copy.example"
	copyAdminPassword = "a long admin password"
)

// newSQLiteShop opens a store in a new data dir as parley does by default, with the
// first admin: the shop a test fills and then copies.
func newSQLiteShop(t *testing.T, clock *demo.Clock) (string, store) {
	t.Helper()
	dir := t.TempDir()
	opt := storeOptions{sync: sqlite.SyncNormal}
	if clock != nil {
		opt.now = clock.Now
	}
	db, err := openStore(context.Background(), &storeFlags{data: dir}, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: copyAdminEmail, Name: "Ada Admin",
		Role: crm.RoleAdmin, Password: copyAdminPassword}); err != nil {
		t.Fatal(err)
	}
	return dir, db
}

// TestCopyDemo copies the demo shop (with its month of history, projected by the reports
// service) to PostgreSQL: every table has as many rows, the API answers the same on
// both stores, and the copy goes on working where SQLite left off.
func TestCopyDemo(t *testing.T) {
	pgURL := pgtest.URL(t)
	ctx := crm.AsSystem(context.Background())
	clock := &demo.Clock{}
	dir, db := newSQLiteShop(t, clock)
	if err := demo.Seed(ctx, db, clock); err != nil {
		t.Fatal(err)
	}
	if err := reports.New(db, nil, reports.Options{Logger: quietLog()}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var progress bytes.Buffer
	res, err := copyStore(ctx, dir, pgURL, newProgress(&progress, false))
	if err != nil {
		t.Fatal(err)
	}
	if res.rows < 400 {
		t.Fatalf("copied %d rows of the demo; it has more", res.rows)
	}
	for _, want := range []string{"copied tickets: 54 rows", "copied messages: ", "copied ticket_sla: "} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	sameCounts(t, dir, pgURL)
	sq, pg := serveBoth(t, dir, pgURL)
	compareShops(t, sq, pg, []string{"refund", "parcel", "mug", "ref", "Where is", "alice", "demo parley", "1001", "#1001", "café"})
	continuesAfterCopy(t, sq, pg)
}

// TestCopyFilled copies a shop of a few thousand tickets and messages written through the
// store, with merged customers and tickets (rows that refer to rows copied after them),
// attachments, replies in the outbox, tags, orders, sealed inbox secrets and the
// reports' tables, and compares both stores through the API.
func TestCopyFilled(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a few thousand tickets")
	}
	pgURL := pgtest.URL(t)
	ctx := crm.AsSystem(context.Background())
	dir, db := newSQLiteShop(t, nil)
	fillShop(t, db, 1200, 3000)
	if err := reports.New(db, nil, reports.Options{Logger: quietLog()}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if _, err := copyStore(ctx, dir, pgURL, newProgress(io.Discard, false)); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, dir, pgURL)

	// The secrets were copied sealed and open with the key file of the data dir.
	pdb, err := openStore(ctx, &storeFlags{data: dir, database: pgURL}, storeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ins, err := pdb.Inboxes(ctx)
	if err != nil || len(ins) != 3 {
		t.Fatalf("inboxes on PostgreSQL: %v %v", ins, err)
	}
	if in, err := pdb.Inbox(ctx, ins[0].ID); err != nil || in.Secrets["api_token"] != "sealed-token-1" {
		t.Fatalf("inbox 1 on PostgreSQL: %+v %v", in, err)
	}
	pdb.Close()

	sq, pg := serveBoth(t, dir, pgURL)
	compareShops(t, sq, pg, []string{"parcel", "refund", "café", "cafe", "zurich", "Zürich", "naïve", "order 1005",
		"1005", "#1005", "customer7", "shop.example", "lost", "par", "damaged box", "Ångström"})
	continuesAfterCopy(t, sq, pg)
}

// TestCopyRefusesNonEmpty: a database with any row is refused, and left as it was; so is
// an SQLite database that lacks migrations.
func TestCopyRefusesNonEmpty(t *testing.T) {
	pgURL := pgtest.URL(t)
	ctx := crm.AsSystem(context.Background())
	dir, db := newSQLiteShop(t, nil)
	db.Close()
	if _, err := copyStore(ctx, dir, pgURL, newProgress(io.Discard, false)); err != nil {
		t.Fatal(err)
	}
	_, err := copyStore(ctx, dir, pgURL, newProgress(io.Discard, false))
	if err == nil || !strings.Contains(err.Error(), "not empty (rows in agents, events") {
		t.Fatalf("second copy: %v", err)
	}
	sameCounts(t, dir, pgURL)

	// A database Parley served on has its first admin: refused as well, through the
	// command, which names the database without its password.
	other := pgtest.URL(t)
	pdb, err := openStore(ctx, &storeFlags{data: t.TempDir(), database: other}, storeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ensureAdmin(ctx, pdb); err != nil {
		t.Fatal(err)
	}
	pdb.Close()
	u, _ := url.Parse(other)
	u.User = url.UserPassword(u.User.Username(), "hunter2")
	var stdout, stderr bytes.Buffer
	err = copyCmd(ctx, []string{"--from", dir, "--to", u.String()}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "not empty (rows in agents, events)") || strings.Contains(err.Error(), "hunter2") ||
		!strings.Contains(err.Error(), "copy to postgres://"+u.User.Username()+"@") {
		t.Fatalf("copy into a served database: %v", err)
	}

	// An SQLite database of an older Parley is migrated first, by parley migrate.
	old := t.TempDir()
	src, err := sql.Open("sqlite3", filepath.Join(old, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Exec(`CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);
		INSERT INTO schema_migrations VALUES ('0001_init', 0)`); err != nil {
		t.Fatal(err)
	}
	src.Close()
	if _, err := copyStore(ctx, old, pgtest.URL(t), newProgress(io.Discard, false)); err == nil ||
		!strings.Contains(err.Error(), "run parley migrate --data "+old+" first") {
		t.Fatalf("copy of an old database: %v", err)
	}
	if _, err := copyStore(ctx, t.TempDir(), pgtest.URL(t), newProgress(io.Discard, false)); err == nil ||
		!strings.Contains(err.Error(), "no SQLite database to copy") {
		t.Fatalf("copy of an empty dir: %v", err)
	}
}

// TestCopyProgress: on a terminal the bar redraws one line in place with the table, the
// rows done of all and the rate, and ends the line with the table; elsewhere a long
// table gets a line every few seconds and each table one when it is done.
func TestCopyProgress(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := newProgress(&out, true)
	p.now = func() time.Time { return now }
	p.begin("messages", 1000)
	now = now.Add(time.Second)
	p.add(250)
	now = now.Add(time.Second)
	p.add(250)
	p.end()
	want := "\r\033[Kmessages             [                              ] 0/1000 rows  - rows/s" +
		"\r\033[Kmessages             [=======                       ] 250/1000 rows  250 rows/s" +
		"\r\033[Kmessages             [===============               ] 500/1000 rows  250 rows/s" +
		"\r\033[Kmessages             [===============               ] 500/1000 rows  250 rows/s\n"
	if out.String() != want {
		t.Errorf("terminal progress:\n%q\nwant\n%q", out.String(), want)
	}

	out.Reset()
	p = newProgress(&out, false)
	p.now = func() time.Time { return now }
	p.begin("messages", 30000)
	for range 3 {
		now = now.Add(3 * time.Second)
		p.add(10000)
	}
	p.end()
	want = "copying messages: 20000 of 30000 rows (3333 rows/s)\ncopied messages: 30000 rows (3333 rows/s)\n"
	if out.String() != want {
		t.Errorf("plain progress:\n%q\nwant\n%q", out.String(), want)
	}
}

// fillShop writes tickets tickets with messages messages through the store, from several
// goroutines at once, and what else a shop has: replies, notes, tags, assignments,
// resolved tickets, merged tickets and customers, orders mentioned in messages,
// attachments, an inbox with a sealed secret, canned responses, an SLA policy and tokens.
func fillShop(t *testing.T, db store, tickets, messages int) {
	t.Helper()
	ctx := crm.AsSystem(context.Background())
	var inboxes []int64
	for i, name := range []string{"Orders", "Returns", "Wholesale"} {
		in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: name,
			Config: map[string]any{"api_token": fmt.Sprintf("sealed-token-%d", i+1), "note": "kept as is"}})
		if err != nil {
			t.Fatal(err)
		}
		inboxes = append(inboxes, in.ID)
	}
	admin, err := db.AgentByEmail(ctx, copyAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := db.CreateAgent(ctx, &crm.NewAgent{Email: "dana@copy.example", Name: "Dana", Role: crm.RoleAgent,
		Password: "password-123", InboxIDs: inboxes[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateToken(ctx, admin.ID, "zapier", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateCanned(ctx, &crm.CannedResponse{Title: "Refund on its way", Body: "Your refund is on its way."}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSLAPolicy(ctx, &crm.SLAPolicy{Name: "Standard", FirstResponseMinutes: 60, ResolutionMinutes: 24 * 60}); err != nil {
		t.Fatal(err)
	}
	customers := max(1, tickets/4)
	for i := range 20 {
		if _, err := db.PutOrder(ctx, &crm.Order{Number: fmt.Sprint(1000 + i), Email: fmt.Sprintf("customer%d@shop.example", i),
			Status: "paid", Currency: "EUR", Subtotal: int64(1000 * i), Total: int64(1000 * i), PlacedAt: time.Now().Add(-time.Duration(i) * time.Hour),
			Items: []crm.OrderItem{{SKU: "MUG", Name: "Mug", Quantity: 1, UnitPrice: int64(1000 * i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	words := strings.Fields("where is my parcel refund damaged box lost café Zürich naïve Ångström order tracking " +
		"invoice mug kettle teapot delivery courier address wrong size exchange colour blue late thanks")
	base := time.Now().Add(-30 * 24 * time.Hour)
	work := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				thread := i % tickets
				cust := thread % customers
				in := &crm.Inbound{InboxID: inboxes[cust%len(inboxes)], Channel: crm.ChannelAPI,
					ExternalID: fmt.Sprintf("m-%d", i), ThreadKey: fmt.Sprintf("thread-%d", thread),
					FromName: fmt.Sprintf("Customer %d", cust),
					From:     []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("customer%d@shop.example", cust)}},
					Subject:  fmt.Sprintf("%s %s #%d", words[thread%len(words)], words[(thread/3)%len(words)], thread),
					Text: fmt.Sprintf("%s %s %s, about order %d\x00.", words[i%len(words)], words[(i/7)%len(words)],
						words[(i/11)%len(words)], 1000+cust%20),
					ReceivedAt: base.Add(time.Duration(i) * time.Minute)}
				if i%500 == 7 {
					in.Attachments = []crm.NewAttachment{{Filename: "photo.png", ContentType: "image/png", Data: []byte(fmt.Sprint("png ", i))}}
				}
				if _, err := db.Ingest(ctx, in); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range messages {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}

	actx := crm.WithAgent(ctx, admin)
	list, _, err := db.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Limit: 200}})
	if err != nil || len(list) != 200 {
		t.Fatalf("tickets: %d %v", len(list), err)
	}
	for i, tk := range list {
		switch i % 5 {
		case 0:
			if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: tk.ID, Body: "We are on it: your parcel ships today.", Status: crm.StatusPending}); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: tk.ID, Body: "Internal: check the courier.", Internal: true}); err != nil {
				t.Fatal(err)
			}
		case 2:
			status, tags, assignee := crm.StatusResolved, []string{"vip", "refund"}, agent.ID
			if tk.InboxID == inboxes[2] {
				assignee = admin.ID
			}
			if _, err := db.UpdateTicket(actx, tk.ID, crm.TicketUpdate{Status: &status, Tags: &tags, AssigneeID: &assignee}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Tickets of one customer in one inbox: merge newer into older and older into newer.
	byThread := map[string]int64{}
	for cursor := ""; ; {
		page, next, err := db.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Limit: 200, Cursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range page {
			key, err := db.TicketThreadKey(ctx, tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			byThread[key] = tk.ID
		}
		if next == "" {
			break
		}
		cursor = next
	}
	n := len(inboxes) * customers // threads n apart share customer and inbox
	for _, pair := range [][2]int{{1 + n, 1}, {2, 2 + n}, {4 + n, 4}} {
		from, into := byThread[fmt.Sprintf("thread-%d", pair[0])], byThread[fmt.Sprintf("thread-%d", pair[1])]
		if from == 0 || into == 0 {
			t.Fatalf("threads %v: tickets %d %d", pair, from, into)
		}
		if _, err := db.MergeTickets(actx, from, into); err != nil {
			t.Fatalf("merge ticket %d into %d: %v", from, into, err)
		}
	}
	custOf := func(email string) int64 {
		cs, _, err := db.Customers(ctx, email, crm.Page{})
		if err != nil || len(cs) != 1 {
			t.Fatalf("customer %s: %v %v", email, cs, err)
		}
		return cs[0].ID
	}
	for _, pair := range [][2]int{{3, 3 + len(inboxes)}, {6 + len(inboxes), 6}} {
		from := custOf(fmt.Sprintf("customer%d@shop.example", pair[0]))
		into := custOf(fmt.Sprintf("customer%d@shop.example", pair[1]))
		if _, err := db.MergeCustomers(actx, from, into); err != nil {
			t.Fatalf("merge customer %d into %d: %v", from, into, err)
		}
	}
}

// sameCounts checks, apart from the copy's own check, that every table of the
// PostgreSQL schema has as many rows as the SQLite table of that name.
func sameCounts(t *testing.T, dir, pgURL string) {
	t.Helper()
	ctx := context.Background()
	src, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "parley.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT IN ('schema_migrations', 'event_ids', 'leases', 'blobs', 'cluster', 'rate_buckets')
		ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 30 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	for _, table := range tables {
		var want, got int64
		if err := src.QueryRow(`SELECT count(*) FROM ` + table).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %d rows on PostgreSQL, %d on SQLite", table, got, want)
		}
	}
}

// apiClient is a logged-in admin of a server over one of the stores.
type apiClient struct {
	t    *testing.T
	name string
	base string
	hc   *http.Client
	csrf string
}

// serveBoth starts the API over the SQLite store in dir and over its copy at pgURL,
// both on the data dir's key and attachments, and logs the admin in on each.
func serveBoth(t *testing.T, dir, pgURL string) (sq, pg *apiClient) {
	t.Helper()
	open := func(name, database string) *apiClient {
		db, err := openStore(context.Background(), &storeFlags{data: dir, database: database}, storeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(server.New(db, server.Options{Logger: quietLog()}))
		t.Cleanup(func() { srv.Close(); db.Close() })
		jar, _ := cookiejar.New(nil)
		c := &apiClient{t: t, name: name, base: srv.URL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
		status, body := c.do("POST", "/api/v1/login", map[string]string{"email": copyAdminEmail, "password": copyAdminPassword})
		if status != 200 {
			t.Fatalf("login on %s: %d %s", name, status, body)
		}
		var out struct {
			CSRF string `json:"csrf_token"`
		}
		json.Unmarshal(body, &out)
		c.csrf = out.CSRF
		return c
	}
	return open("SQLite", ""), open("PostgreSQL", pgURL)
}

func (c *apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s on %s: %v", method, path, c.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// compareShops asks both servers the same questions and wants the same answers, byte
// for byte: every page of the ticket and customer lists, filtered lists, a sample of
// threads with their tickets, events and SLA, customers with their timelines and
// orders, the admin's lists, and a search for each of words.
func compareShops(t *testing.T, sq, pg *apiClient, words []string) {
	t.Helper()
	same := func(path string) []byte {
		t.Helper()
		s1, b1 := sq.do("GET", path, nil)
		s2, b2 := pg.do("GET", path, nil)
		if s1 != 200 {
			t.Fatalf("GET %s on SQLite: %d %s", path, s1, b1)
		}
		if s1 != s2 || !bytes.Equal(b1, b2) {
			t.Errorf("GET %s differs:\nSQLite     %d %s\nPostgreSQL %d %s", path, s1, around(b1, b2), s2, around(b2, b1))
		}
		return b1
	}
	pages := func(path string, each func(body []byte)) {
		t.Helper()
		for cursor := ""; ; {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			p := path + sep + "limit=200"
			if cursor != "" {
				p += "&cursor=" + url.QueryEscape(cursor)
			}
			body := same(p)
			if each != nil {
				each(body)
			}
			var page struct {
				Next string `json:"next_cursor"`
			}
			json.Unmarshal(body, &page)
			if page.Next == "" {
				return
			}
			cursor = page.Next
		}
	}
	var tickets, customers []int64
	pages("/api/v1/tickets", func(body []byte) {
		var page struct{ Tickets []struct{ ID int64 } }
		json.Unmarshal(body, &page)
		for _, tk := range page.Tickets {
			tickets = append(tickets, tk.ID)
		}
	})
	pages("/api/v1/customers", func(body []byte) {
		var page struct{ Customers []struct{ ID int64 } }
		json.Unmarshal(body, &page)
		for _, c := range page.Customers {
			customers = append(customers, c.ID)
		}
	})
	if len(tickets) < 20 || len(customers) < 5 {
		t.Fatalf("%d tickets, %d customers", len(tickets), len(customers))
	}
	for _, q := range []string{"status=resolved", "status=open", "tag=vip", "assignee=unassigned", "assignee=2", "inbox=1", "inbox=2", "channel=email", "channel=api"} {
		pages("/api/v1/tickets?"+q, nil)
	}
	for i := range 20 {
		id := tickets[i*(len(tickets)-1)/19]
		for _, p := range []string{"", "/messages", "/events", "/sla"} {
			same(fmt.Sprintf("/api/v1/tickets/%d%s", id, p))
		}
		same(fmt.Sprintf("/api/v1/tickets/%d/messages?limit=2&order=desc", id))
	}
	for i := range 10 {
		id := customers[i*(len(customers)-1)/9]
		same(fmt.Sprintf("/api/v1/customers/%d", id))
		same(fmt.Sprintf("/api/v1/customers/%d/timeline", id))
		same(fmt.Sprintf("/api/v1/orders?customer_id=%d", id))
	}
	for _, p := range []string{"/api/v1/inboxes", "/api/v1/agents", "/api/v1/canned-responses", "/api/v1/sla-policies",
		"/api/v1/orders/1001", "/api/v1/customers?q=shop", "/api/v1/tickets?q=parcel"} {
		same(p)
	}
	found := 0
	for _, w := range words {
		body := same("/api/v1/search?q=" + url.QueryEscape(w))
		var res struct{ Tickets []struct{ ID int64 } }
		json.Unmarshal(body, &res)
		found += len(res.Tickets)
	}
	if found == 0 {
		t.Errorf("the searches for %v found no ticket on either store", words)
	}
}

// around returns a window of a around the first byte where it differs from b.
func around(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo, hi := max(0, i-150), min(len(a), i+150)
	return fmt.Sprintf("(at byte %d) ...%s...", i, a[lo:hi])
}

// continuesAfterCopy files one new message on each store: PostgreSQL gives the new
// ticket, its message and their events the ids SQLite gives, the next ones after the
// copied rows.
func continuesAfterCopy(t *testing.T, sq, pg *apiClient) {
	t.Helper()
	var ids [2]string
	for i, c := range []*apiClient{sq, pg} {
		status, body := c.do("POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "After the move"})
		if status != 201 {
			t.Fatalf("new inbox on %s: %d %s", c.name, status, body)
		}
		var in struct{ ID int64 }
		json.Unmarshal(body, &in)
		status, body = c.do("POST", "/api/v1/inbound", map[string]any{"inbox": in.ID, "external_id": "after-1",
			"from": map[string]string{"name": "Nora New", "email": "nora@new.example"}, "subject": "First on the new store", "text": "Hello there"})
		if status != 201 {
			t.Fatalf("inbound on %s: %d %s", c.name, status, body)
		}
		var res struct {
			TicketID  int64 `json:"ticket_id"`
			MessageID int64 `json:"message_id"`
		}
		json.Unmarshal(body, &res)
		_, events := c.do("GET", fmt.Sprintf("/api/v1/tickets/%d/events", res.TicketID), nil)
		var ev struct{ Events []struct{ ID int64 } }
		json.Unmarshal(events, &ev)
		if len(ev.Events) == 0 {
			t.Fatalf("no events of the new ticket on %s: %s", c.name, events)
		}
		ids[i] = fmt.Sprintf("inbox %d, ticket %d, message %d, first event %d", in.ID, res.TicketID, res.MessageID, ev.Events[0].ID)
	}
	if ids[0] != ids[1] {
		t.Errorf("after the copy, SQLite gave %s; PostgreSQL %s", ids[0], ids[1])
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestDatabaseURL: --database takes postgres:// and postgresql:// URLs; what is shown
// of one never has its password, and a bad one is refused without repeating it.
func TestDatabaseURL(t *testing.T) {
	for _, tc := range []struct{ in, dial, shown string }{
		{"postgres://parley:s3cret@db.example:5432/parley?sslmode=verify-full",
			"postgres://parley:s3cret@db.example:5432/parley?connect_timeout=10&sslmode=verify-full",
			"postgres://parley@db.example:5432/parley?sslmode=verify-full"},
		{"postgresql://db.example/parley?password=s3cret&connect_timeout=3",
			"postgresql://db.example/parley?password=s3cret&connect_timeout=3",
			"postgresql://db.example/parley?connect_timeout=3"},
		{"postgres:///parley?host=/run/postgresql", "postgres:///parley?connect_timeout=10&host=%2Frun%2Fpostgresql",
			"postgres:///parley?host=/run/postgresql"},
	} {
		dial, shown, pool, err := databaseURL(tc.in)
		if err != nil || dial != tc.dial || shown != tc.shown || pool != 0 {
			t.Errorf("databaseURL(%q) = %q, %q, %d, %v; want %q, %q", tc.in, dial, shown, pool, err, tc.dial, tc.shown)
		}
	}
	if _, _, pool, err := databaseURL("postgres://db.example/parley?pool_max_conns=32"); pool != 32 || err != nil {
		t.Errorf("pool_max_conns=32: %d %v", pool, err)
	}
	for _, tc := range []struct{ in, says string }{
		{"mysql://parley:s3cret@db.example/parley", "--database mysql://parley@db.example/parley: not a postgres:// URL"},
		{"db.example", "not a postgres:// URL"},
		{"postgres://parley:s3cret@db.example:port/parley", "--database: not a URL (invalid port"},
		{"postgres://db.example/parley?pool_max_conns=1", "pool_max_conns must be a number of connections, 2 or more"},
		{"postgres://db.example/parley?pool_max_conns=lots", "pool_max_conns must be"},
	} {
		_, _, _, err := databaseURL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("databaseURL(%q): %v, want %q", tc.in, err, tc.says)
		}
	}
}
