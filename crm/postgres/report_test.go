package postgres_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
	"parley/reports"
)

// reportStore is what the reports of both stores are read from.
type reportStore interface {
	crm.Store
	reports.Store
}

// clock is the settable clock of a week of tickets.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) at(tb testing.TB, s string) {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		tb.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// week is a store after the same week of tickets, replies, resolutions, breaches and a
// survey answer, projected by the reports service.
type week struct {
	db         reportStore
	clock      *clock
	svc        *reports.Service
	a, b, c, d int64 // tickets
	anna       int64 // A's customer
}

// playWeek runs the week of the reports package's hand-computed tests, and a little
// more, on the store open makes.
func playWeek(t *testing.T, open func(now func() time.Time) *storetest.Env) *week {
	t.Helper()
	ctx := crm.AsSystem(context.Background())
	w := &week{clock: &clock{}}
	w.clock.at(t, "2026-11-06 15:00")
	env := open(w.clock.Now)
	bus := env.Bus
	w.db = env.Store
	w.svc = reports.New(w.db, bus, reports.Options{PublicURL: &url.URL{Scheme: "https", Host: "desk.example"},
		Now: w.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sync := func() { t.Helper(); must(w.svc.Sync(ctx)) }
	dana, err := w.db.CreateAgent(ctx, &crm.NewAgent{Email: "dana@shop.example", Name: "Dana", Role: crm.RoleManager,
		Password: "correct horse battery"})
	must(err)
	agent := crm.WithAgent(ctx, dana)
	sync()
	mail, err := w.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Support mail"})
	must(err)
	tel, err := w.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindPhone, Name: "Support phone"})
	must(err)
	_, err = w.db.CreateSLAPolicy(ctx, &crm.SLAPolicy{Name: "Standard", FirstResponseMinutes: 60, ResolutionMinutes: 480,
		WarnMinutes: 15, Schedule: crm.Schedule{Timezone: "UTC", Holidays: []string{"2026-11-09"},
			Hours: map[string][][2]string{"mon": {{"09:00", "17:00"}}, "tue": {{"09:00", "17:00"}},
				"wed": {{"09:00", "17:00"}}, "thu": {{"09:00", "17:00"}}, "fri": {{"09:00", "17:00"}}}}})
	must(err)
	n := 0
	ingest := func(in *crm.Inbox, channel string, from crm.Identity, text string) int64 {
		t.Helper()
		n++
		res, err := w.db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, Channel: channel, ExternalID: "ext-" + string(rune('a'+n)),
			ThreadKey: from.Kind + ":" + from.Address, FromName: "Customer " + from.Address, From: []crm.Identity{from}, Text: text})
		must(err)
		sync()
		return res.TicketID
	}
	reply := func(ticket int64, body string) {
		t.Helper()
		_, err := w.db.AddMessage(agent, &crm.NewMessage{TicketID: ticket, Body: body})
		must(err)
		sync()
	}
	status := func(ticket int64, s string) {
		t.Helper()
		_, err := w.db.UpdateTicket(agent, ticket, crm.TicketUpdate{Status: &s})
		must(err)
		sync()
	}
	email := func(a string) crm.Identity { return crm.Identity{Kind: crm.IdentityEmail, Address: a} }

	w.clock.at(t, "2026-11-06 16:00")
	w.a = ingest(mail, crm.ChannelEmail, email("anna@example.com"), "Where is my order?")
	w.clock.at(t, "2026-11-06 16:30")
	reply(w.a, "It ships Monday.")
	w.clock.at(t, "2026-11-07 12:00")
	w.b = ingest(tel, crm.ChannelSMS, crm.Identity{Kind: crm.IdentityPhone, Address: "+15550001111"}, "Can I change my address?")
	w.clock.at(t, "2026-11-09 10:00")
	w.c = ingest(mail, crm.ChannelEmail, email("carl@example.com"), "Refund please")
	w.clock.at(t, "2026-11-10 09:30")
	reply(w.b, "Yes, done.")
	w.clock.at(t, "2026-11-10 10:00")
	status(w.a, crm.StatusResolved)
	must(w.svc.Watch(ctx))
	w.clock.at(t, "2026-11-10 11:00")
	w.d = ingest(mail, crm.ChannelEmail, email("dora@example.com"), "Hello?")
	status(w.d, crm.StatusPending)
	w.clock.at(t, "2026-11-11 09:30")
	status(w.c, crm.StatusResolved)
	w.clock.at(t, "2026-11-11 12:00")
	must(w.svc.Watch(ctx))

	// A's customer answers the email survey: 4 of 5.
	msgs, _, err := w.db.Messages(ctx, w.a, crm.Page{Limit: 200})
	must(err)
	token := ""
	for _, m := range msgs {
		if i := strings.Index(m.Text, "/csat/"); m.Author.Kind == "system" && i >= 0 {
			token = strings.SplitN(m.Text[i+len("/csat/"):], "?", 2)[0]
		}
	}
	if token == "" {
		t.Fatal("no email survey was queued on ticket A")
	}
	_, err = w.db.AnswerCSATToken(ctx, token, 4, nil)
	must(err)
	sync()
	tk, err := w.db.Ticket(ctx, w.a)
	must(err)
	w.anna = tk.CustomerID
	return w
}

// TestReports_SameOnBothStores plays the same week on SQLite and PostgreSQL and checks
// that every fact the reports read, and the reports themselves, are the same.
func TestReports_SameOnBothStores(t *testing.T) {
	pg := playWeek(t, func(now func() time.Time) *storetest.Env {
		return teststore.OpenPostgres(t, teststore.Options{Now: now})
	})
	lite := playWeek(t, func(now func() time.Time) *storetest.Env {
		return teststore.OpenSQLite(t, teststore.Options{Now: now})
	})
	if lite.a != pg.a || lite.b != pg.b || lite.c != pg.c || lite.d != pg.d || lite.anna != pg.anna {
		t.Fatalf("ids differ: sqlite %+v, postgres %+v", lite, pg)
	}
	ctx := crm.AsSystem(context.Background())
	// A ticket after the last watch, whose targets are still undecided.
	for _, w := range []*week{lite, pg} {
		if _, err := w.db.Ingest(ctx, &crm.Inbound{InboxID: 1, Channel: crm.ChannelEmail, ExternalID: "late",
			ThreadKey: "email:erin@example.com", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "erin@example.com"}},
			Text: "Still there?"}); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}

	same := func(what string, f func(w *week) (any, error)) {
		t.Helper()
		a, err := f(lite)
		if err != nil {
			t.Fatalf("%s on sqlite: %v", what, err)
		}
		b, err := f(pg)
		if err != nil {
			t.Fatalf("%s on postgres: %v", what, err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s differs\n  sqlite: %s\npostgres: %s", what, ja, jb)
		}
	}
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	filters := map[string]crm.ReportFilter{
		"week":       {From: day("2026-11-06"), To: day("2026-11-12")},
		"tuesday":    {From: day("2026-11-10"), To: day("2026-11-11")},
		"mail inbox": {From: day("2026-11-06"), To: day("2026-11-12"), InboxID: 1},
		"sms":        {From: day("2026-11-06"), To: day("2026-11-12"), Channel: crm.ChannelSMS},
		"before":     {From: day("2026-11-01"), To: day("2026-11-06")},
	}
	for name, f := range filters {
		same("ReportFacts "+name, func(w *week) (any, error) { return w.db.ReportFacts(ctx, f) })
		same("ReplyCounts "+name, func(w *week) (any, error) { return w.db.ReplyCounts(ctx, f) })
		same("ExportTickets "+name, func(w *week) (any, error) {
			var rows []*crm.ExportRow
			err := w.db.ExportTickets(ctx, f, func(r *crm.ExportRow) error { rows = append(rows, r); return nil })
			return rows, err
		})
	}
	facts, err := pg.db.ReportFacts(ctx, filters["week"])
	if err != nil || len(facts) != 5 {
		t.Fatalf("postgres facts of the week: %d, %v", len(facts), err)
	}
	same("TicketSLAs", func(w *week) (any, error) { return w.db.TicketSLAs(ctx, []int64{w.a, w.b, w.c, w.d, w.d + 1, 999}) })
	for _, at := range []string{"2026-11-11 12:30", "2026-11-11 13:30", "2026-11-20 00:00"} {
		same("DueSLAs "+at, func(w *week) (any, error) {
			w.clock.at(t, at)
			return w.db.DueSLAs(ctx, w.clock.Now())
		})
	}
	slas, err := pg.db.TicketSLAs(ctx, []int64{pg.a, pg.b, pg.c, pg.d})
	if err != nil || len(slas) != 4 || slas[pg.a].Met == nil || !*slas[pg.a].Met || slas[pg.b].Met == nil || *slas[pg.b].Met {
		t.Errorf("postgres ticket slas: %+v, %v", slas, err)
	}
	due, err := pg.db.DueSLAs(ctx, time.Date(2026, 11, 11, 13, 30, 0, 0, time.UTC))
	if err != nil || len(due) != 1 || due[0].TicketID != pg.d+1 {
		t.Errorf("postgres due at 13:30: %+v, %v", due, err)
	}
	same("ProjectionCursor", func(w *week) (any, error) {
		after, newest, err := w.db.ProjectionCursor(ctx)
		return []int64{after, newest}, err
	})
	same("TicketSLA", func(w *week) (any, error) {
		var list []*crm.TicketSLAView
		for _, id := range []int64{w.a, w.b, w.c, w.d} {
			v, err := w.db.TicketSLA(ctx, id)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	})

	r, err := reports.ParseRange("2026-11-06", "2026-11-11", "UTC", reports.MaxRangeDays)
	if err != nil {
		t.Fatal(err)
	}
	same("Overview", func(w *week) (any, error) { return reports.OverviewOf(ctx, w.db, r, 0, "") })
	same("Breakdown", func(w *week) (any, error) { return reports.BreakdownOf(ctx, w.db, r, 0, "") })
	for _, d := range []reports.Drill{{Metric: "created"}, {Metric: "resolved"}, {Metric: "backlog"},
		{Metric: "first_response"}, {Metric: "sla_missed"}} {
		same("Drill "+d.Metric, func(w *week) (any, error) {
			list, next, err := reports.TicketsOf(ctx, w.db, r, 0, "", d)
			return []any{list, next}, err
		})
	}
	// Histories: the survey's link differs between the stores, so events compare
	// without their data.
	same("TicketHistory", func(w *week) (any, error) {
		var list []*crm.TicketEvent
		for _, id := range []int64{w.a, w.b, w.c, w.d} {
			h, err := w.db.TicketHistory(ctx, id)
			if err != nil {
				return nil, err
			}
			list = append(list, h...)
		}
		for _, e := range list {
			e.Data = nil
		}
		return list, nil
	})
	same("CustomerHistory", func(w *week) (any, error) {
		var keys []string
		cursor := ""
		for {
			items, next, err := w.db.CustomerHistory(ctx, w.anna, crm.HistoryFilter{Page: crm.Page{Limit: 2, Cursor: cursor}})
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				keys = append(keys, it.Kind+" "+it.At.Format(time.RFC3339Nano))
			}
			if cursor = next; next == "" {
				return keys, nil
			}
		}
	})
	hist, _, err := pg.db.CustomerHistory(ctx, pg.anna, crm.HistoryFilter{Query: "wher"})
	if err != nil || len(hist) != 2 || hist[0].Kind != "ticket" || hist[1].Kind != "message" {
		t.Errorf("postgres history of anna matching \"wher\": %+v, %v", hist, err)
	}
	same("CustomerHistory matching", func(w *week) (any, error) {
		items, _, err := w.db.CustomerHistory(ctx, w.anna, crm.HistoryFilter{Query: "wher"})
		var keys []string
		for _, it := range items {
			keys = append(keys, it.Kind+" "+it.At.Format(time.RFC3339Nano))
		}
		return keys, err
	})
	// The policy's life: renamed, then deleted; tickets keep their due times.
	same("SLA policies", func(w *week) (any, error) {
		p, err := w.db.SLAPolicy(ctx, 1)
		if err != nil {
			return nil, err
		}
		p.Name, p.Priorities, p.InboxID = "  Gold ", []string{"urgent", "high", "urgent"}, &[]int64{1}[0]
		if _, err := w.db.UpdateSLAPolicy(ctx, p); err != nil {
			return nil, err
		}
		_, missing := w.db.UpdateSLAPolicy(ctx, &crm.SLAPolicy{ID: 99, Name: "x", FirstResponseMinutes: 1})
		_, noInbox := w.db.CreateSLAPolicy(ctx, &crm.SLAPolicy{Name: "x", FirstResponseMinutes: 1, InboxID: &[]int64{99}[0]})
		list, err := w.db.SLAPolicies(ctx)
		if err != nil {
			return nil, err
		}
		before, err := w.db.TicketSLA(ctx, w.a)
		if err != nil {
			return nil, err
		}
		deleted, again := w.db.DeleteSLAPolicy(ctx, 1), w.db.DeleteSLAPolicy(ctx, 1)
		after, err := w.db.TicketSLA(ctx, w.a)
		return []any{list, crm.ErrorCode(missing), crm.ErrorCode(noInbox), before.Policy, deleted == nil,
			crm.ErrorCode(again), after}, err
	})
}
