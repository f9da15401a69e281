package agentui_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeSource is axe-core, which .ci/run installs from the npm registry and names in
// PARLEY_AXE (it is not committed). Without it the scan skips, loudly.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PARLEY_AXE")
	if path == "" {
		t.Skip("SKIPPED: the accessibility scan needs axe-core: PARLEY_AXE=path/to/axe.min.js (.ci/run installs it with npm)")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("PARLEY_AXE: %v", err)
	}
	return string(src)
}

// axeViolation is one serious or critical finding of axe-core on one page state.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// scan runs axe-core's WCAG 2.1 A and AA rules on the page as it is and returns the
// serious and critical violations.
func (b *tab) scan(axe string) []axeViolation {
	b.t.Helper()
	if b.eval(`String(typeof axe)`) != "object" {
		b.eval(axe + `;''`)
	}
	out := b.eval(`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
		.then((r) => JSON.stringify(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)}))))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("axe answered %q: %v", out, err)
	}
	return vs
}

// TestAccessibilityScan runs axe-core on every screen of the console an agent and an
// admin reach, in light and in dark mode (the system's choice, which the console
// follows), and fails on any serious or critical violation of WCAG 2.1 A/AA.
func TestAccessibilityScan(t *testing.T) {
	axe := axeSource(t)
	f := newFixture(t)
	id := f.inbound("ax-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is my parcel?")
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) { scanConsole(t, f, axe, scheme, id) })
	}
}

func scanConsole(t *testing.T, f *fixture, axe, scheme string, id int64) {
	b := f.newTab(t)
	b.dark(scheme == "dark")
	b.login("ada@test.example", "#/inbox/open")
	if got := b.eval(`matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'`); got != scheme {
		t.Fatalf("the page runs in %s mode, want %s", got, scheme)
	}
	var failures []string
	for _, st := range []struct{ name, hash, ready string }{
		{"inbox", "#/inbox/open", ".ticket-row"},
		{"ticket", fmt.Sprintf("#/tickets/%d", id), "#thread .msg"},
		{"search", "#/search/alice", "#list-body .results"},
		{"contacts", "#/customers", "#contacts .contact"},
		{"customer", "#/customers/1", "#customer-page #merges li"},
		{"history", "#/customers/1/history", "#settings-pane:not([hidden])"},
		{"reports", "#/reports", "#chart-daily"},
		{"agents", "#/settings/agents", "#agent-list"},
		{"inboxes", "#/settings/inboxes", "#settings-body *"},
		{"email setup", "#/settings/inboxes/new-email", "#settings-body form"},
		{"phone setup", "#/settings/inboxes/new-phone", "#settings-body form"},
		{"chat setup", "#/settings/inboxes/new-chat", "#settings-body form"},
		{"discord setup", "#/settings/inboxes/new-discord", "#settings-body form"},
		{"order sources", "#/settings/sources", "#settings-body *"},
		{"webhooks", "#/settings/webhooks", "#settings-body *"},
		{"rules", "#/settings/rules", "#rule-form .rule-action"},
		{"canned", "#/settings/canned", "#settings-body *"},
		{"teams", "#/settings/teams", "#assignment-form"},
		{"macros", "#/settings/macros", "#macro-new"},
		{"sla", "#/settings/sla", "#settings-body *"},
		{"csat", "#/settings/csat", "#settings-body *"},
		{"audit", "#/settings/audit", "#settings-body *"},
		{"security", "#/settings/security", "#settings-body *"},
		{"getting started", "#/settings/start", "#settings-body *"},
		{"profile", "#/profile", "#settings-pane:not([hidden]) form"},
	} {
		b.eval(fmt.Sprintf(`(() => { location.hash = %q; return ''; })()`, st.hash))
		b.waitJS("the "+st.name+" screen", fmt.Sprintf(`() => !!document.querySelector(%q)`, st.ready))
		// One h1 per view, and a title that names it.
		if got := b.eval(`(() => { const h1 = [...document.querySelectorAll('h1')].filter((e) => !e.closest('[hidden]'));
			return h1.length + '|' + document.title; })()`); !strings.HasPrefix(got, "1|") || (st.name != "inbox" && strings.HasSuffix(got, "|Parley")) {
			failures = append(failures, fmt.Sprintf("%s: h1 count and title %q, want one h1 and a title naming the view", st.name, got))
		}
		for _, v := range b.scan(axe) {
			failures = append(failures, fmt.Sprintf("%s: %s (%s) %s at %s", st.name, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", ")))
		}
	}
	// The popups of the ticket and the top bar, open: the snooze menu, the send menu, the
	// emoji picker, the notification centre; and the customer drawer of a narrower screen.
	b.eval(fmt.Sprintf(`(() => { location.hash = '#/tickets/%d'; return ''; })()`, id))
	for _, st := range []struct{ name, open, ready string }{
		{"snooze menu", "#snooze-button", "#snooze-menu:not([hidden])"},
		{"send menu", "#send-more", "#send-menu:not([hidden])"},
		{"emoji picker", "#emoji-button", "#emoji-grid:not([hidden])"},
		{"notifications", "#bell", "#notify-panel:not([hidden])"},
	} {
		b.click(st.open)
		b.waitJS("the "+st.name, fmt.Sprintf(`() => !!document.querySelector(%q)`, st.ready))
		for _, v := range b.scan(axe) {
			failures = append(failures, fmt.Sprintf("%s: %s (%s) %s at %s", st.name, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", ")))
		}
		b.do(chromedp.KeyEvent(kb.Escape))
	}
	b.screen(1280, 800)
	b.click("#side-toggle")
	b.waitJS("the customer drawer", `() => document.body.classList.contains('side-open') && !!document.querySelector('#side-pane #cust-name')`)
	for _, v := range b.scan(axe) {
		failures = append(failures, fmt.Sprintf("customer drawer: %s (%s) %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", ")))
	}
	b.screen(1440, 900)
	// Signed out: the sign-in form.
	b.eval(`(() => { document.querySelector('#logout').click(); return ''; })()`)
	b.waitJS("the sign-in form", `() => !document.querySelector('#login').hidden`)
	for _, v := range b.scan(axe) {
		failures = append(failures, fmt.Sprintf("sign-in: %s (%s) %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", ")))
	}
	if len(failures) > 0 {
		t.Fatalf("%d serious or critical accessibility violations:\n%s", len(failures), strings.Join(failures, "\n"))
	}
}
