package chat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"parley/browsertest"
	"parley/crm"

	"github.com/chromedp/chromedp"
)

// TestWidgetKeyboard works the widget with keys only: Enter on the launcher opens the
// chat with focus inside it and says so (aria-expanded), Esc closes it and gives focus
// back to the launcher, and a reply that arrives while it is closed is in the launcher's
// name, which screen readers say.
func TestWidgetKeyboard(t *testing.T) {
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	demo, err := e.db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindChat, Name: "Demo: shop chat", Config: map[string]any{"demo": true}})
	if err != nil {
		t.Fatal(err)
	}
	max, err := e.db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "max@shop.example", Name: "Max", Role: crm.RoleManager,
		Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/demo")); err != nil {
		t.Fatal(err)
	}
	launcher := shadow + `.querySelector('.launcher')`
	waitJS(t, ctx, "the launcher", launcher)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](launcher+`.focus() || true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "open, said so, with focus inside", launcher+`.getAttribute('aria-expanded') === 'true' && `+
		shadow+`.querySelector('.panel').contains(`+shadow+`.activeElement)`)
	waitJS(t, ctx, "the message box takes text", `!`+shadow+`.querySelector('textarea').disabled`)
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		for _, w := range []int64{390, 1280} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 800)); err != nil {
				t.Fatal(err)
			}
			browsertest.Screenshot(t, ctx, filepath.Join(dir, fmt.Sprintf("widget-open-%d.png", w)))
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](shadow+`.querySelector('textarea').focus() || true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("Where is my order?\r")); err != nil {
		t.Fatal(err)
	}
	ticket := e.waitTicket(demo.ID)

	if err := chromedp.Do(ctx, chromedp.KeyEvent("\x1b")); err != nil { // Esc
		t.Fatal(err)
	}
	waitJS(t, ctx, "closed, focus back on the launcher", shadow+`.querySelector('.panel').hidden && `+
		launcher+`.getAttribute('aria-expanded') === 'false' && `+shadow+`.activeElement === `+launcher)

	if _, err := e.db.AddMessage(crm.WithAgent(crm.AsSystem(context.Background()), max), &crm.NewMessage{TicketID: ticket, Body: "It ships today."}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the reply in the launcher's name", launcher+`.getAttribute('aria-label') === 'Chat with us, 1 new reply'`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "opened: nothing unread", launcher+`.getAttribute('aria-label') === 'Chat with us'`)
}

// TestWidgetAccessibilityScan runs axe-core's WCAG 2.1 A/AA rules on the demo shop with
// the widget open (inside its shadow root) and fails on any serious or critical
// violation. axe-core comes from PARLEY_AXE, which .ci/run installs from npm.
func TestWidgetAccessibilityScan(t *testing.T) {
	path := os.Getenv("PARLEY_AXE")
	if path == "" {
		t.Skip("SKIPPED: the accessibility scan needs axe-core: PARLEY_AXE=path/to/axe.min.js (.ci/run installs it with npm)")
	}
	axe, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	if _, err := e.db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindChat, Name: "Demo: shop chat", Config: map[string]any{"demo": true}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/demo")); err != nil {
		t.Fatal(err)
	}
	launcher := shadow + `.querySelector('.launcher')`
	waitJS(t, ctx, "the launcher", launcher)
	for _, state := range []string{"closed", "open"} {
		if state == "open" {
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](launcher+`.click() || true`)); err != nil {
				t.Fatal(err)
			}
			waitJS(t, ctx, "the connected panel", `!`+shadow+`.querySelector('textarea').disabled`)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(axe)+`;true`)); err != nil {
			t.Fatal(err)
		}
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
			.then((r) => JSON.stringify(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
				.map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', '))))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if out != "[]" {
			t.Errorf("the widget %s: serious or critical accessibility violations: %s", state, out)
		}
	}
}
