package chat

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/browsertest"
	"parley/crm"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// shadow is the widget's shadow root in the page.
const shadow = `document.querySelector('#parley-chat').shadowRoot`

// waitJS polls a JavaScript condition in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+cond+`) } catch (e) { return false } })()`))
		if err != nil {
			t.Fatalf("evaluate %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserDemoChat opens /demo in headless Chromium, chats as the shopper and sees
// the agent's reply arrive in the widget.
func TestBrowserDemoChat(t *testing.T) {
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
	waitJS(t, ctx, "the launcher", shadow+`.querySelector('.launcher')`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('.launcher')`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the connected panel", `!`+shadow+`.querySelector('.panel').hidden && !`+shadow+`.querySelector('textarea').disabled`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('textarea')`), "Do you ship to Canada?\r")); err != nil {
		t.Fatal(err)
	}

	ticket := e.waitTicket(demo.ID)
	if m := e.messages(ticket)[0]; m.Text != "Do you ship to Canada?" {
		t.Fatalf("stored %q", m.Text)
	}
	waitJS(t, ctx, "the sent message to be confirmed", `!`+shadow+`.querySelector('.state')`)

	if _, err := e.db.AddMessage(crm.WithAgent(crm.AsSystem(context.Background()), max), &crm.NewMessage{TicketID: ticket, Body: "Yes! Shipping to Canada takes 5 days."}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the agent's reply in the widget",
		`[...`+shadow+`.querySelectorAll('.msg.out')].some(m => m.textContent.includes('Shipping to Canada takes 5 days.') && m.textContent.includes('Max'))`)

	// The shopper's own message shows exactly once.
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...`+shadow+`.querySelectorAll('.msg.in')].filter(m => m.textContent.includes('Canada?')).length`))
	if err != nil || n != 1 {
		t.Fatalf("the shopper's message shows %d times (%v)", n, err)
	}

	// A reload keeps the conversation.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/demo?again="+strconv.Itoa(1))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the conversation after a reload", shadow+` && [...`+shadow+`.querySelectorAll('.msg.out')].length === 1`)
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
	if err != nil || !strings.Contains(title, "demo") {
		t.Fatalf("title %q (%v)", title, err)
	}
}

// waitTicket waits, with a deadline, until the shopper's message made the one ticket of
// the inbox, and returns its id.
func (e *env) waitTicket(inboxID int64) int64 {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ts, _, err := e.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{InboxID: inboxID})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(ts) == 1 {
			return ts[0].ID
		}
		if time.Now().After(deadline) {
			e.t.Fatal("the shopper's message never reached the store")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
