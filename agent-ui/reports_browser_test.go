package agentui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/crm"
	"parley/reports"
)

// reportData is a small history: three email and two chat tickets created today, two of
// them answered and resolved by the manager.
type reportData struct {
	email, chat []int64
	resolved    []int64
	manager     *crm.Agent
}

func (f *fixture) seedReports() *reportData {
	f.t.Helper()
	d := &reportData{manager: f.agent("mia@test.example", "Mia Manager", crm.RoleManager)}
	for i := range 3 {
		res := f.ingest(&crm.Inbound{Channel: crm.ChannelEmail, ExternalID: fmt.Sprintf("<r%d@example.com>", i), ThreadKey: fmt.Sprintf("r%d", i),
			FromName: fmt.Sprintf("Email Customer %d", i), From: []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("e%d@example.com", i)}},
			Subject: fmt.Sprintf("Email question %d", i), Text: "Where is my order?"})
		d.email = append(d.email, res.TicketID)
	}
	for i := range 2 {
		res := f.ingest(&crm.Inbound{Channel: crm.ChannelChat, ExternalID: fmt.Sprintf("chat-%d", i), ThreadKey: fmt.Sprintf("c%d", i),
			FromName: fmt.Sprintf("Chat Customer %d", i), From: []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("c%d@example.com", i)}},
			Subject: fmt.Sprintf("Chat question %d", i), Text: "Hello?"})
		d.chat = append(d.chat, res.TicketID)
	}
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), d.manager)
	resolved := crm.StatusResolved
	for _, id := range []int64{d.email[0], d.chat[0]} {
		if _, err := f.db.AddMessage(ctx, &crm.NewMessage{TicketID: id, Body: "Sorted, thanks for waiting."}); err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.db.UpdateTicket(ctx, id, crm.TicketUpdate{Status: &resolved}); err != nil {
			f.t.Fatal(err)
		}
		d.resolved = append(d.resolved, id)
	}
	f.projectReports()
	return d
}

// projectReports brings the SLA and report state up to date with the event log, as the
// reports service that main runs does in the background.
func (f *fixture) projectReports() {
	f.t.Helper()
	if err := reports.New(f.db, f.bus, reports.Options{}).Sync(crm.AsSystem(context.Background())); err != nil {
		f.t.Fatal(err)
	}
}

// drillIDs returns the ticket numbers of the drill-down list, sorted as shown.
func (b *tab) drillIDs() string {
	return b.eval(`[...document.querySelectorAll('#drill-list .ticket-row')].map(li => li.dataset.id).sort((a, b) => a - b).join(',')`)
}

func ids(list ...int64) string {
	s := make([]string, len(list))
	for i, id := range list {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}

// TestReportsDrillDown has a manager open Reports over seeded tickets, read the numbers
// and charts, and click bars through to the tickets behind them; counts read right; an
// agent sees their own numbers under My stats.
func TestReportsDrillDown(t *testing.T) {
	f := newFixture(t)
	d := f.seedReports()

	b := f.newTab(t)
	b.login("mia@test.example", "#/inbox/open")
	b.waitJS("the Reports link shows for a manager", `() => { const a = document.querySelector('#reports-link'); return !!a && !a.hidden; }`)
	b.do(chromedp.Click(chromedp.CSS("#reports-link")))
	b.waitText("#settings-pane h2", "Reports")
	today := b.eval(`import('/reports.js').then(m => m.isoDate(new Date()))`)

	// The cards: five created, two resolved, three in the backlog.
	b.waitText("#n-created", "5")
	b.waitText("#n-resolved", "2")
	b.waitText("#n-backlog", "3")
	if v := b.eval(`document.querySelector('#r-from').value + '|' + document.querySelector('#r-to').value`); !strings.HasSuffix(v, "|"+today) {
		t.Errorf("date pickers %s, want the last 30 days up to %s", v, today)
	}

	// The bars of today carry the same numbers.
	created := fmt.Sprintf(`#chart-daily a[data-metric="created"][data-date="%s"]`, today)
	resolvedBar := fmt.Sprintf(`#chart-daily a[data-metric="resolved"][data-date="%s"]`, today)
	emailBar := fmt.Sprintf(`#chart-channels a[data-channel="email"][data-date="%s"]`, today)
	chatBar := fmt.Sprintf(`#chart-channels a[data-channel="chat"][data-date="%s"]`, today)
	got := b.eval(fmt.Sprintf(`[%q, %q, %q, %q].map(s => document.querySelector(s)?.dataset.value).join(',')`, created, resolvedBar, emailBar, chatBar))
	if got != "5,2,3,2" {
		t.Fatalf("today's bars (created, resolved, email, chat) show %s, want 5,2,3,2", got)
	}
	if n := b.eval(`String(document.querySelectorAll('#chart-daily rect.bar').length)`); n != "60" {
		t.Errorf("the daily chart has %s bars, want 60 (30 days, created and resolved)", n)
	}
	// One Tab stop per chart: the arrow keys move between its bars; and its numbers as a table.
	if n := b.eval(`String(document.querySelectorAll('#chart-daily a.bar-link[tabindex="0"]').length)`); n != "1" {
		t.Errorf("the daily chart has %s bars in the Tab order, want 1", n)
	}
	b.do(chromedp.Focus(chromedp.CSS(`#chart-daily a.bar-link[tabindex="0"]`)), chromedp.KeyEvent(kb.End))
	b.waitJS("End moves to the last bar", fmt.Sprintf(`() => document.activeElement && document.activeElement.matches(%q)`, resolvedBar))
	b.do(chromedp.KeyEvent(kb.ArrowLeft))
	b.waitJS("left moves back one bar", fmt.Sprintf(`() => document.activeElement && document.activeElement.matches(%q)`, created))
	b.eval(`(() => { document.querySelector('#chart-daily details').open = true; return ''; })()`)
	b.shot("reports-table")
	if row := b.eval(fmt.Sprintf(`[...document.querySelectorAll('#chart-daily .chart-table tbody tr')].find(r => r.cells[0].textContent === %q)?.textContent`, today)); row != today+"52" {
		t.Errorf("the table's row of today reads %q, want %q", row, today+"52")
	}

	// Clicking a bar lists exactly the tickets behind it.
	b.do(chromedp.Click(chromedp.CSS(created + " rect")))
	b.waitText("#drill-title", "Tickets created")
	b.waitText("#drill-status", "5 tickets")
	if got, want := b.drillIDs(), ids(append(append([]int64{}, d.email...), d.chat...)...); got != want {
		t.Errorf("created on %s lists %s, want %s", today, got, want)
	}
	b.waitText("#drill-list", "Email question 0")

	b.do(chromedp.Click(chromedp.CSS(resolvedBar + " rect")))
	b.waitText("#drill-title", "Tickets resolved")
	b.waitText("#drill-status", "2 tickets")
	if got, want := b.drillIDs(), ids(d.resolved...); got != want {
		t.Errorf("resolved on %s lists %s, want %s", today, got, want)
	}

	b.do(chromedp.Click(chromedp.CSS(emailBar + " rect")))
	b.waitText("#drill-title", "Email")
	b.waitText("#drill-status", "3 tickets")
	if got, want := b.drillIDs(), ids(d.email...); got != want {
		t.Errorf("email tickets on %s list %s, want %s", today, got, want)
	}

	// A number of a card is a link too, and a ticket of the list opens the ticket.
	b.do(chromedp.Click(chromedp.CSS("#n-backlog")))
	b.waitText("#drill-title", "Backlog")
	b.waitText("#drill-status", "3 tickets")
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#drill-list .ticket-row[data-id="%d"] a`, d.chat[1]))))
	b.waitText("#ticket-subject", "Chat question 1")
	b.do(chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.waitText("#drill-title", "Backlog")

	// The exports are plain links with the filters.
	href := b.eval(`document.querySelector('#export-tickets').getAttribute('href')`)
	if !strings.HasPrefix(href, "/api/v1/reports/tickets.csv?") || !strings.Contains(href, "to="+today) {
		t.Errorf("export link %q", href)
	}
	b.noScriptErrors()

	// Counts read right: one of a thing is singular, and no value of a bar chart is cut
	// off at the chart's edge ("15 h 33 min", not "15 h 33 mir").
	b.do(chromedp.Click(chromedp.CSS(resolvedBar + " rect")))
	b.waitText("#drill-status", "2 tickets")
	b.waitText("#report-cards", "0 answers")
	if v := b.eval(`(() => { const out = [];
		for (const svg of document.querySelectorAll('svg.hchart')) {
			const right = svg.viewBox.baseVal.width;
			for (const t of svg.querySelectorAll('text.hvalue')) {
				t.textContent = '15 h 33 min'; // the longest a duration gets
				const bb = t.getBBox();
				if (bb.x + bb.width > right) out.push(t.textContent + ' ends at ' + Math.round(bb.x + bb.width) + ' of ' + right);
			}
		}
		return out.join('; '); })()`); v != "" {
		t.Errorf("chart values cut off: %s", v)
	}

	// An agent sees their own numbers under My stats, not the team's: Alex answered and
	// resolved one ticket, which his reply also assigned to him.
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), f.agent("alex@test.example", "Alex Agent", crm.RoleAgent, f.inbox))
	if _, err := f.db.AddMessage(ctx, &crm.NewMessage{TicketID: d.email[1], Body: "On its way."}); err != nil {
		t.Fatal(err)
	}
	resolved := crm.StatusResolved
	if _, err := f.db.UpdateTicket(ctx, d.email[1], crm.TicketUpdate{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	f.projectReports()
	a := f.newTab(t)
	a.login("alex@test.example", "#/inbox/open")
	a.waitText("#reports-link", "My stats")
	a.click("#reports-link")
	a.waitText("#settings-pane h2", "My stats")
	a.waitJS("Alex's numbers", `() => { const s = document.querySelector('#my-stats'); return !!s &&
		[...s.querySelectorAll('.stat')].map((c) => c.querySelector('.stat-title').textContent + '=' + c.querySelector('.stat-main').textContent).join(',')
			.startsWith('Replies=1,Tickets resolved=1,'); }`)
	a.waitText("#my-stats", "1 ticket")
	if strings.Contains(a.eval(`document.querySelector('#settings-pane').textContent`), "By agent") {
		t.Error("an agent sees the team's by-agent table")
	}
	a.noScriptErrors()
}

// TestTicketSLAAndHistory shows a ticket's SLA due times, a live warning before a breach,
// the ticket's history and the customer's full history.
func TestTicketSLAAndHistory(t *testing.T) {
	f := newFixture(t)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), f.admin)
	inbox := f.inbox
	if _, err := f.db.CreateSLAPolicy(ctx, &crm.SLAPolicy{Name: "Web shop 24/7", InboxID: &inbox, FirstResponseMinutes: 60,
		ResolutionMinutes: 480, WarnMinutes: 15, Schedule: crm.Schedule{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	d := f.seedReports()
	id := d.resolved[0]

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", d.email[1]))
	b.waitText("#ticket-subject", "Email question 1")
	b.waitText("#ticket-sla", "Web shop 24/7")
	b.waitText("#ticket-sla", "First response due")

	// A warning frame for the open ticket shows a banner.
	due := time.Now().Add(10 * time.Minute).UTC()
	data, _ := json.Marshal(map[string]any{"ticket_id": d.email[1], "target": crm.TargetFirstResponse, "due_at": due})
	f.bus.Publish(&crm.Event{Type: crm.EventSLAWarning, TicketID: d.email[1], InboxID: f.inbox, Actor: crm.Actor{Kind: "system"}, Data: data})
	b.waitText("#sla-warning", "SLA warning: the first response target is due in")

	// The history of a resolved ticket says who resolved it.
	b.eval(fmt.Sprintf(`location.hash = '#/tickets/%d'`, id))
	b.waitText("#ticket-subject", "Email question 0")
	b.do(chromedp.Click(chromedp.CSS("#ticket-history summary")))
	b.waitText("#history-list", "Mia Manager")
	b.waitText("#history-list", "changed status from open to resolved")

	// The customer's full history has the message, the ticket and the status change.
	b.eval(fmt.Sprintf(`location.hash = '#/customers/%d/history'`, f.ticket(id).CustomerID))
	b.waitText("#history-title", "Email Customer 0: full history")
	b.waitText("#timeline", "Where is my order?")
	b.waitText("#timeline", "Sorted, thanks for waiting.")
	b.waitJS("the timeline shows the status change", `() => /Mia Manager (changed status from open to resolved|updated the ticket: status resolved)/.test(document.querySelector('#timeline').textContent)`)
	b.do(chromedp.SetValue(chromedp.CSS("#h-q"), "sorted"), chromedp.Click(chromedp.CSS("#history-filters button[type=submit]")))
	b.waitJS("search narrows the timeline", `() => { const t = document.querySelector('#timeline').textContent; return t.includes('Sorted') && !t.includes('Where is my order?'); }`)
	b.noScriptErrors()
}

// TestManagerSettingsPages creates an SLA policy with business hours in the console, saves
// the CSAT settings and reads the audit log.
func TestManagerSettingsPages(t *testing.T) {
	f := newFixture(t)
	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/agents")
	b.waitJS("the settings tabs include the SLA, CSAT and audit pages",
		`() => ['sla', 'csat', 'audit'].every(p => document.querySelector('#settings-pane nav.tabs a[href="#/settings/' + p + '"]'))`)
	b.do(chromedp.Click(chromedp.CSS(`#settings-pane nav.tabs a[href="#/settings/sla"]`)))
	b.waitText("#sla-empty", "No SLA policies yet")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#np-name"), "Weekdays"),
		chromedp.Click(chromedp.CSS(`#sla-create input[name=priorities][value=urgent]`)),
		chromedp.Click(chromedp.CSS(`#sla-create [data-day="mon"] > button`)),
	)
	b.do(chromedp.Click(chromedp.CSS(`#sla-create [data-day="mon"] > button:nth-of-type(2)`)))
	b.do(
		chromedp.SetValue(chromedp.CSS("#np-tz"), "Europe/Berlin"),
		chromedp.SetValue(chromedp.CSS("#np-hol"), "2026-12-25\n2026-12-26"),
		chromedp.Click(chromedp.CSS(`#sla-create button[type=submit]`)),
	)
	b.waitJS("the new policy is listed", `() => document.querySelector('#sla-list input[name=name]')?.value === 'Weekdays'`)
	list, err := f.db.SLAPolicies(crm.AsSystem(context.Background()))
	if err != nil || len(list) != 1 {
		t.Fatalf("stored policies: %v %v", list, err)
	}
	p := list[0]
	if p.Schedule.Timezone != "Europe/Berlin" || len(p.Schedule.Hours["fri"]) != 1 || p.Schedule.Hours["fri"][0] != [2]string{"09:00", "17:00"} ||
		len(p.Schedule.Hours["sat"]) != 0 || strings.Join(p.Schedule.Holidays, ",") != "2026-12-25,2026-12-26" || strings.Join(p.Priorities, ",") != "urgent" {
		t.Errorf("stored policy: %+v", p)
	}

	// Bad hours are refused before anything is sent.
	b.do(chromedp.Click(chromedp.CSS(`#sla-create [data-day="sun"] > button`)))
	b.do(
		chromedp.SendKeys(chromedp.CSS("#np-name"), "Broken"),
		chromedp.SetValue(chromedp.CSS(`#sla-create [data-day="sun"] .to`), "08:00"),
		chromedp.Click(chromedp.CSS(`#sla-create button[type=submit]`)),
	)
	b.waitText("#settings-error", "Business hours on Sunday must end after they start")

	// CSAT: switch email surveys off.
	b.eval(`location.hash = '#/settings/csat'`)
	b.waitJS("CSAT form loaded", `() => !!document.querySelector('#csat-form input[value=email]')`)
	b.do(
		chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector('#csat-form input[value=email]'); e.checked = false; document.querySelector('#csat-enabled').checked = true; })()`),
		chromedp.Click(chromedp.CSS("#csat-form button[type=submit]")),
	)
	b.waitText("#csat-status", "Saved")
	s, err := f.db.CSATSettings(crm.AsSystem(context.Background()))
	if err != nil || !s.Enabled || strings.Contains(strings.Join(s.Channels, ","), "email") {
		t.Errorf("stored CSAT settings %+v %v", s, err)
	}

	// The audit log lists the admin's login and the policy change.
	b.eval(`location.hash = '#/settings/audit'`)
	b.waitText("#audit-rows", "auth.login")
	b.waitText("#audit-rows", "sla_policy.changed")
	b.do(chromedp.SetValue(chromedp.CSS("#a-type"), "auth.login"), chromedp.Click(chromedp.CSS("#audit-filters button[type=submit]")))
	b.waitJS("the type filter narrows the log", `() => { const rows = [...document.querySelectorAll('#audit-rows tr')]; return rows.length > 0 && rows.every(r => r.dataset.type === 'auth.login'); }`)
	if href := b.eval(`document.querySelector('#audit-export').getAttribute('href')`); href != "/api/v1/audit.csv?type=auth.login" {
		t.Errorf("audit export link %q", href)
	}
	b.noScriptErrors()
}
