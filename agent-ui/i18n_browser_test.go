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
)

// untranslated lists what the page shows in letters outside a [! !] wrap of the
// pseudo-locale: text nodes (options of a visible select included) and the placeholder,
// title and aria-label of visible elements, less the data passed in (names, subjects,
// message bodies: what the test filed), e-mail addresses, links, what <time>, <kbd> and
// <code> show, what is marked translate="no" (a language named in itself, the audit
// log's data) and a search result's snippet (a message's text, cut and highlighted).
// Each entry names the element it is in.
const untranslated = `(data) => {
  const visible = (el) => {
    if (el.tagName === 'OPTION' || el.tagName === 'OPTGROUP') el = el.closest('select') || el;
    return el.checkVisibility();
  };
  const rest = (s) => {
    s = s.replace(/\S+@\S+/g, ' ').replace(/https?:\/\/\S+/g, ' ');
    for (const d of data) s = s.split(d).join(' ');
    return s;
  };
  const where = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const out = [];
  // A wrap may hold elements ("press [!{key}!]" with a <kbd>): the depth runs on through
  // the text nodes in document order, hidden ones included.
  let depth = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    let outside = '';
    const s = n.data;
    for (let i = 0; i < s.length; i++) {
      if (s.startsWith('[!', i)) { depth++; i++; } else if (s.startsWith('!]', i)) { depth = Math.max(0, depth - 1); i++; } else if (depth === 0) outside += s[i];
    }
    const el = n.parentElement;
    if (!el || el.closest('script, style, time, kbd, code, [translate=no], .snippet') || !visible(el)) continue;
    if (/\p{L}/u.test(rest(outside))) out.push(JSON.stringify(s.trim()) + ' in ' + where(el));
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (el.closest('time, [translate=no]') || !visible(el)) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) {
      const v = el.getAttribute(a);
      if (v && /\p{L}/u.test(rest(v.replace(/\[!.*!\]/g, ' ')))) out.push(a + '=' + JSON.stringify(v) + ' of ' + where(el));
    }
  }
  return JSON.stringify([...new Set(out)]);
}`

// TestConsolePseudoLocale opens the console in the pseudo-locale (?lang=qps-ploc), in
// which every text of the catalogue shows wrapped in [! !], and walks the screens an
// agent uses all day (the list with the bulk bar and search results, a ticket with its
// composer, menus, emoji picker and customer panel, the notifications, contacts, a customer and its
// history, the shortcuts sheet) and the settings pages of inboxes and canned responses.
// Any text in letters outside a wrap that is not the test's own data was written into
// the code instead of taken from the catalogue: the test prints each one.
func TestConsolePseudoLocale(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("ps-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is my parcel?")
	f.inbound("ps-2", "Bob Buyer", "bob@example.com", "Wrong size", "Can I swap it?")
	f.putOrder(aliceOrder("1001", "shipped", time.Now().Add(-48*time.Hour)))
	data := []string{"Alice Shopper", "Bob Buyer", "Parcel late", "Wrong size", "Where is my parcel?", "Can I swap it?",
		"Ada Admin", "Web shop", "Blue enamel mug", "MUG-BLUE", "DHL", "JD0146", "Parley"}
	// The contact reasons are the shop's data too: the ones Parley ships, which managers rename.
	reasons, err := f.db.Reasons(crm.AsSystem(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reasons {
		data = append(data, r.Name)
	}

	b := f.newTab(t)
	b.login("ada@test.example", "?lang=qps-ploc#/inbox/open")
	b.screen(1440, 900) // every pane on screen: the customer panel is no drawer
	b.waitText("#contacts-link", "[!Contacts!]")
	w := &pseudoWalk{t: t, data: data, seen: map[string]bool{}}
	check := func(screen string) { t.Helper(); w.check(b, screen) }
	show := func(hash, ready string) { t.Helper(); w.show(b, hash, ready) }

	show("#/inbox/open", fmt.Sprintf(`.ticket-row[data-id="%d"]`, id))
	check("the ticket list")
	b.click(fmt.Sprintf(`input.pick[data-id="%d"]`, id))
	b.waitJS("the bulk bar", `() => !document.querySelector('#bulk-bar').hidden`)
	check("the bulk bar")
	b.click(fmt.Sprintf(`input.pick[data-id="%d"]`, id))

	show("#/search/parcel", "#list-body .results")
	check("the search results")

	show(fmt.Sprintf("#/tickets/%d", id), "#thread .msg")
	b.waitJS("the customer panel with the order", `() => !!document.querySelector('#cust-name') && !!document.querySelector('#orders li.order')`)
	check("the open ticket")
	for _, menu := range []struct{ name, open, ready string }{
		{"the snooze menu", "#snooze-button", "#snooze-menu:not([hidden])"},
		{"the send menu", "#send-more", "#send-menu:not([hidden])"},
		{"the notifications", "#bell", "#notify-panel:not([hidden])"},
		{"the emoji picker", "#emoji-button", "#emoji-grid:not([hidden])"},
	} {
		b.click(menu.open)
		b.waitJS(menu.name, `(sel) => !!document.querySelector(sel)`, menu.ready)
		check(menu.name)
		b.do(chromedp.KeyEvent(kb.Escape))
	}
	b.click("#mode-note")
	b.waitJS("the note box", `() => document.querySelector('#reply').classList.contains('is-note')`)
	check("the note box")

	show("#/customers", "#contacts .contact")
	check("contacts")
	show("#/customers/1", "#customer-page #merges li")
	check("the customer page")
	show("#/customers/1/history", "#timeline li")
	check("the customer's history")
	show("#/settings/inboxes", "#inbox-list")
	check("the inboxes")
	show("#/settings/canned", "#canned-create")
	check("the canned responses")

	show("#/inbox/open", ".ticket-row")
	b.click("#help-button")
	b.waitJS("the shortcuts sheet", `() => document.querySelector('#help').open`)
	check("the shortcuts sheet")
	b.noScriptErrors()
}

// pseudoWalk checks the screens of a walk through the console in the pseudo-locale: data
// are the test's own texts, seen the texts already told (each is told once, on the first
// screen that shows it).
type pseudoWalk struct {
	t    *testing.T
	data []string
	seen map[string]bool
}

// check fails the test with the texts on b's screen that are not from the catalogue.
func (w *pseudoWalk) check(b *tab, screen string) {
	w.t.Helper()
	arg, _ := json.Marshal(w.data)
	var found, fresh []string
	if err := json.Unmarshal([]byte(b.eval(fmt.Sprintf(`(%s)(%s)`, untranslated, arg))), &found); err != nil {
		w.t.Fatal(err)
	}
	for _, s := range found {
		if !w.seen[s] {
			w.seen[s] = true
			fresh = append(fresh, s)
		}
	}
	if len(fresh) > 0 {
		w.t.Errorf("%s shows text that is not from the catalogue:\n  %s", screen, strings.Join(fresh, "\n  "))
	}
}

// show goes to the console's screen hash and waits until it shows ready (a selector).
func (w *pseudoWalk) show(b *tab, hash, ready string) {
	w.t.Helper()
	b.eval(fmt.Sprintf(`(() => { location.hash = %q; return ''; })()`, hash))
	b.waitJS("the screen "+hash, `(sel) => !!document.querySelector(sel)`, ready)
}

// openDetails opens every <details> on the screen, so that what they hold is checked too.
func openDetails(b *tab) {
	b.eval(`(() => { document.querySelectorAll('details').forEach((d) => { d.open = true; }); return ''; })()`)
}

// TestConsolePseudoLocaleSettings walks the console's seldom-used screens in the
// pseudo-locale, as TestConsolePseudoLocale walks the daily ones: the sign-in page, the
// reports (their charts, tables, a list behind a number and the Contact reasons table),
// the settings pages (agents and invitations, the forms of a new email, phone and chat
// inbox and an inbox's page, order sources, webhooks with a delivery log, teams, macros,
// automation rules with a rule's form and dry run, SLA policies, the CSAT survey, the
// audit log, security, getting started), the agent's profile, the page of an invitation
// link and setting up two-factor sign-in when the shop requires it. Any text in letters
// outside a [! !] wrap that is not the test's own data fails it.
func TestConsolePseudoLocaleSettings(t *testing.T) {
	f := newFixture(t)
	d := f.seedReports()
	ben := f.agent("ben@test.example", "Ben Agent", crm.RoleAgent, f.inbox)
	sys := crm.AsSystem(context.Background())
	admin := crm.WithAgent(sys, f.admin)

	// A reason on a resolved ticket, for a row in the Contact reasons table.
	reasons, err := f.db.Reasons(sys)
	if err != nil || len(reasons) == 0 {
		t.Fatalf("reasons %v, %v", reasons, err)
	}
	reason := reasons[0]
	if _, err := f.db.UpdateTicket(admin, d.resolved[0], crm.TicketUpdate{ReasonID: &reason.ID}); err != nil {
		t.Fatal(err)
	}
	f.projectReports()

	// One of each thing the settings pages list.
	team, err := f.db.CreateTeam(admin, &crm.Team{Name: "Night shift", AgentIDs: []int64{f.admin.ID}, Assignment: "round_robin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateMacro(admin, &crm.Macro{Name: "Close as shipped", Body: "Your parcel is on its way.", Shared: true,
		Actions: crm.MacroActions{Status: crm.StatusResolved, AddTags: []string{"shipped"}, TeamID: &team.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateRule(admin, &crm.Rule{Name: "Refunds first", Trigger: crm.RuleTrigger{Event: "ticket.created"},
		Conditions: crm.RuleConditions{
			All: []crm.RuleCondition{{Field: "ticket.subject", Op: "contains", Value: "refund"}},
			Any: []crm.RuleCondition{{Field: "ticket.priority", Op: "is", Value: "high"}, {Field: "ticket.channel", Op: "is", Value: "email"}},
		},
		Actions: []crm.RuleAction{{Type: "add_tags", Tags: []string{"refund"}}, {Type: "assign_agent", AgentID: ben.ID},
			{Type: "set_status", Status: crm.StatusPending}, {Type: "snooze", Hours: 4, UntilReply: true}},
		Stop: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateWebhook(admin, &crm.Webhook{URL: "https://hooks.example.com/parley", Events: []string{"ticket.created"}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateOrderSource(admin, &crm.OrderSource{Kind: crm.OrderSourceWebhook, Name: "Shop feed", Config: map[string]any{},
		Secrets: map[string]string{"secret": "0123456789abcdef0123456789abcdef"}}); err != nil {
		t.Fatal(err)
	}
	data := []string{"Ada Admin", "Mia Manager", "Ben Agent", "Web shop", "Parley", reason.Name,
		"Email Customer", "Chat Customer", "Email question", "Chat question", "Night shift", "Close as shipped",
		"Your parcel is on its way.", "Refunds first", "refund", "shipped", "Shop feed", "Headless Chrome", "Linux", "test",
		"AA", "Google", "Microsoft"}
	w := &pseudoWalk{t: t, data: data, seen: map[string]bool{}}
	var invitation string // the hash of the invitation's link

	// The sign-in page, and its answer to a wrong password.
	s := f.newTab(t)
	s.do(chromedp.Navigate(f.srv.URL+"/?lang=qps-ploc"), chromedp.WaitVisible(chromedp.CSS("#login-email")))
	w.check(s, "the sign-in page")
	s.do(chromedp.SendKeys(chromedp.CSS("#login-email"), "ada@test.example"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "not the password"),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	s.waitJS("the sign-in error", `() => /\S/.test(document.querySelector('#login-error')?.textContent || '')`)
	w.check(s, "a wrong password")

	b := f.newTab(t)
	b.login("ada@test.example", "?lang=qps-ploc#/reports")
	b.screen(1440, 900)
	b.waitJS("the reports with the Contact reasons table", `() => !!document.querySelector('#reasons-table tbody tr')`)
	openDetails(b)
	w.check(b, "the reports")
	w.show(b, "#/reports/metric=created", "#drill-list .ticket-row")
	w.check(b, "the tickets behind a number")

	for _, p := range []struct{ name, hash, ready string }{
		{"the agents and invitations", "#/settings/agents", "#inv-create"},
		{"a new email inbox", "#/settings/inboxes/new-email", "#em-signin"},
		{"a new phone inbox", "#/settings/inboxes/new-phone", "#ph-sid"},
		{"a new chat inbox", "#/settings/inboxes/new-chat", "#widget-preview"},
		{"an inbox's page", fmt.Sprintf("#/settings/inboxes/%d", f.inbox), "#members-form"},
		{"the order sources", "#/settings/sources", "#source-list"},
		{"the webhooks", "#/settings/webhooks", "#wh-list"},
		{"the teams", "#/settings/teams", "#teams-list"},
		{"the macros", "#/settings/macros", "#macro-shared"},
		{"the automation rules", "#/settings/rules", "#rules-list"},
		{"the SLA policies", "#/settings/sla", "#sla-create"},
		{"the CSAT survey", "#/settings/csat", "#csat-form"},
		{"the audit log", "#/settings/audit", "#audit-rows tr"},
		{"security", "#/settings/security", "#totp-agents li"},
		{"getting started", "#/settings/start", "#setup-list li"},
		{"the profile", "#/profile", "#token-form"},
	} {
		w.show(b, p.hash, p.ready)
		openDetails(b)
		w.check(b, p.name)
		switch p.name {
		case "the webhooks":
			b.waitJS("the delivery log", `() => !!document.querySelector('.wh-log p, .wh-log table')`)
			w.check(b, "a webhook's delivery log")
		case "the automation rules":
			b.click("#rules-list .rule-edit")
			b.waitJS("the rule's form", `() => document.querySelectorAll('#rule-form .rule-action').length === 4`)
			w.check(b, "a rule's form")
			b.click("#rules-list .rule-toggle")
			b.waitJS("the dry run", `() => !!document.querySelector('#rules-list .rule-dry .rule-turn-on')`)
			w.check(b, "a rule's dry run")
		case "the agents and invitations":
			b.do(chromedp.SendKeys(chromedp.CSS("#inv-email"), "nina@example.com"))
			b.click("#inv-create button[type=submit]")
			b.waitJS("the invitation's link", `() => !!document.querySelector('#inv-link')?.value`)
			w.check(b, "an invitation made")
			link := b.eval(`document.querySelector('#inv-link').value`)
			invitation = link[strings.Index(link, "#"):]
		}
	}

	// The invitation's page, in the pseudo-locale too.
	j := f.newTab(t)
	j.do(chromedp.Navigate(f.srv.URL+"/?lang=qps-ploc"+invitation), chromedp.WaitVisible(chromedp.CSS("#invite-name")))
	w.check(j, "the page of an invitation link")

	// With two-factor sign-in required, an agent without it sets it up at sign-in.
	if err := f.db.SetSecuritySettings(admin, &crm.SecuritySettings{RequireTOTP: true}); err != nil {
		t.Fatal(err)
	}
	e := f.newTab(t)
	e.do(chromedp.Navigate(f.srv.URL+"/?lang=qps-ploc"), chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), "ben@test.example"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	e.waitJS("the set-up of an authenticator app", `() => !!document.querySelector('#enrol-code') && !!document.querySelector('#enrol-key')`)
	w.check(e, "setting up two-factor sign-in")

	for _, x := range []*tab{s, b, j, e} {
		x.noScriptErrors()
	}
}
