package agentui_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"parley/browsertest"
	"parley/crm"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// tab is one agent's browser: its own cookies, and a record of every uncaught script
// error and every dialog the page opened.
type tab struct {
	t       *testing.T
	f       *fixture
	ctx     context.Context
	mu      sync.Mutex
	errs    []string
	dialogs []string
}

func (f *fixture) newTab(t *testing.T) *tab {
	t.Helper()
	ctx := browsertest.NewTab(t)
	b := &tab{t: t, f: f, ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.mu.Lock()
			b.errs = append(b.errs, msg)
			b.mu.Unlock()
		case *cdppage.EventJavascriptDialogOpening:
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(e.Type)+": "+e.Message)
			b.mu.Unlock()
			// A dialog blocks the page; dismiss it from outside the event loop.
			go chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
				return err
			}))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// login opens the console at hash and signs in through the form.
func (b *tab) login(email, hash string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(b.f.srv.URL+"/"+hash),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="live"]`)),
	)
}

// do runs the steps with a deadline and fails the test with the page's script errors.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v; script errors: %v%s", err, b.scriptErrors(), b.page())
	}
}

// waitText waits until the element matching the CSS selector shows text.
func (b *tab) waitText(sel, text string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("waiting for %s to show %q", sel, text),
		`(sel, text) => { const el = document.querySelector(sel); return !!el && !el.closest('[hidden]') && el.textContent.includes(text); }`, sel, text)
}

// waitJS polls a JavaScript predicate with arguments until it is true.
func (b *tab) waitJS(what, fn string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](fn,
		chromedp.WithPollingArgs(args...), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		b.t.Fatalf("%s: %v; script errors: %v%s", what, err, b.scriptErrors(), b.page())
	}
}

// click waits for the element matching the CSS selector and clicks it in one step of the
// page, so that a redraw between finding and clicking cannot lose the click.
func (b *tab) click(sel string) {
	b.t.Helper()
	b.waitJS("waiting to click "+sel, `(sel) => { const el = document.querySelector(sel); if (!el || el.disabled || el.closest('[hidden]')) return false; el.click(); return true; }`, sel)
}

func (b *tab) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// page describes what the tab shows, for a failure message: its address, the element
// with the focus and the start of its visible text.
func (b *tab) page() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\nfocus: ' +
		(document.activeElement ? document.activeElement.tagName + '#' + document.activeElement.id : '') +
		'\n' + document.body.innerText.slice(0, 1500)`))
	if err != nil {
		return ""
	}
	return "\npage: " + v
}

func (b *tab) scriptErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

func (b *tab) noScriptErrors() {
	b.t.Helper()
	if errs := b.scriptErrors(); len(errs) > 0 {
		b.t.Errorf("uncaught script errors: %s", strings.Join(errs, "\n"))
	}
}

// TestConsoleWorkflow is an agent's day in short: log in, see a new ticket arrive live,
// open it, reply, add an internal note, resolve it.
func TestConsoleWorkflow(t *testing.T) {
	f := newFixture(t)
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	b.waitText("#me-name", "Ada Admin")
	b.waitText("#list-empty", "No tickets here")

	// A ticket filed through the API appears in the open list without a reload, with the
	// customer's name, and the title counts it as unread.
	id := f.inbound("order-42-q", "Alice Shopper", "alice@example.com", "Where is my parcel?", "Hi, my order #42 has not arrived.")
	row := fmt.Sprintf(`.ticket-row[data-id="%d"]`, id)
	b.waitText(row, "Where is my parcel?")
	b.waitText(row, "Alice Shopper")
	b.waitText(row+" .ch", "API")
	b.waitJS("title shows one unread", `() => document.title === '(1) Parley'`)
	b.waitText(`.folder[data-folder="open"] .count`, "1")

	// Open it: the thread, the customer and an empty orders panel.
	b.do(chromedp.Click(chromedp.CSS(row + " a")))
	b.waitText("#ticket-subject", "Where is my parcel?")
	b.waitText("#thread .msg.dir-in .text", "my order #42 has not arrived")
	b.waitText("#cust-name", "Alice Shopper")
	b.waitText("#identities", "alice@example.com")
	b.waitText("#orders-empty", "No orders yet")
	b.waitJS("title has no unread", `() => !document.title.startsWith('(')`)

	// Reply: it shows as a reply, queued for the channel, and is stored as outgoing.
	b.do(
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "Sorry Alice, it ships today."),
		chromedp.Click(chromedp.CSS("#send")),
	)
	b.waitText("#thread .msg.dir-out .text", "Sorry Alice, it ships today.")
	b.waitText("#thread .msg.dir-out .delivery", "Queued")
	b.waitJS("reply box cleared", `() => document.querySelector('#reply-body').value === ''`)

	// A note: the box turns into a visibly different internal note.
	b.do(chromedp.Click(chromedp.CSS("#mode-note")))
	b.waitJS("note mode", `() => document.querySelector('#reply').classList.contains('is-note') && !document.querySelector('#note-label').hidden`)
	b.waitText("#note-label", "Internal note")
	b.waitText("#send", "Add note")
	if bg := b.eval(`getComputedStyle(document.querySelector('#reply')).backgroundColor`); bg == "rgb(255, 255, 255)" {
		t.Errorf("note box is not visually distinct: background %s", bg)
	}
	b.do(
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "Customer is a VIP, check the warehouse."),
		chromedp.Click(chromedp.CSS("#send")),
	)
	b.waitText("#thread .msg.dir-note .text", "check the warehouse")
	b.waitText("#thread .msg.dir-note .dir", "Internal note")

	msgs := f.messages(id)
	if len(msgs) != 3 || msgs[1].Direction != "out" || msgs[1].Text != "Sorry Alice, it ships today." || msgs[1].Status != "queued" ||
		msgs[2].Direction != "note" || msgs[2].Text != "Customer is a VIP, check the warehouse." {
		for _, m := range msgs {
			t.Logf("message %d %s %s %q", m.ID, m.Direction, m.Status, m.Text)
		}
		t.Fatal("the store does not hold the reply and the note")
	}

	// Resolve with the keyboard shortcut, away from any text box.
	b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("e"))
	b.waitJS("status shows resolved", `() => document.querySelector('#t-status').value === 'resolved'`)
	b.do(chromedp.WaitVisible(chromedp.CSS("#reopen")))
	b.waitJS("resolved ticket leaves the open list", `(sel) => !document.querySelector(sel)`, row)
	if st := f.ticket(id).Status; st != "resolved" {
		t.Fatalf("stored status %q, want resolved", st)
	}

	// The other shortcuts: ? opens the help, and none fire while typing.
	b.do(chromedp.KeyEvent("?"))
	b.waitJS("help open", `() => document.querySelector('#help').open`)
	b.do(chromedp.KeyEvent("\x1b"))
	b.waitJS("help closed", `() => !document.querySelector('#help').open`)
	b.do(chromedp.Click(chromedp.CSS("#reply-body")), chromedp.KeyEvent("e?"))
	if v := b.eval(`document.querySelector('#reply-body').value + '|' + document.querySelector('#help').open`); v != "e?|false" {
		t.Fatalf("typing e? in the reply box gave %q", v)
	}

	// Search finds the ticket by a word of its message.
	b.do(chromedp.SendKeys(chromedp.CSS("#search-q"), "arrived\r"))
	b.waitText("#list-title", "Search: arrived")
	b.waitText("#list-body .results", "my order #42 has not arrived")
	b.waitText("#list-body .results", fmt.Sprintf("Ticket #%d", id))

	// Canned responses fill their placeholders when inserted.
	got := b.eval(`import('/canned.js').then(m => m.fillPlaceholders('Hi {{customer.first_name}}, #{{ticket.id}} from {{agent.name}}; order {{order.number}}',
		{customer: {name: 'Alice Shopper'}, ticket: {id: 7}, agent: {name: 'Ada'}, orders: [{number: 'A1', placed_at: '2026-01-01T00:00:00Z'}, {number: 'A2', placed_at: '2026-02-01T00:00:00Z'}]}).text)`)
	if got != "Hi Alice, #7 from Ada; order A2" {
		t.Fatalf("fillPlaceholders: %q", got)
	}

	// A narrow window shows one column: the list, or the conversation.
	b.do(chromedp.EmulateViewport(420, 800), chromedp.Navigate(f.srv.URL+"/#/inbox/resolved"))
	b.waitText(row, "Where is my parcel?")
	b.waitJS("narrow list hides the conversation", `() => getComputedStyle(document.querySelector('#ticket-pane')).display === 'none'`)
	b.do(chromedp.Click(chromedp.CSS(row + " a")))
	b.waitText("#ticket-subject", "Where is my parcel?")
	b.waitJS("narrow conversation hides the list", `() => getComputedStyle(document.querySelector('.list-pane')).display === 'none'`)
	b.noScriptErrors()
}

// TestCollisionWarnings has two agents in two browsers on one ticket: each sees the other
// viewing and typing, and an agent whose colleague replied meanwhile must confirm.
func TestCollisionWarnings(t *testing.T) {
	f := newFixture(t)
	f.agent("dana@test.example", "Dana Scully", "agent", f.inbox)
	f.agent("ben@test.example", "Ben Kenobi", "agent", f.inbox)
	id := f.inbound("refund-1", "Carol Client", "carol@example.com", "Refund please", "I want my money back.")
	hash := fmt.Sprintf("#/tickets/%d", id)

	dana, ben := f.newTab(t), f.newTab(t)
	dana.login("dana@test.example", hash)
	dana.waitText("#ticket-subject", "Refund please")
	ben.login("ben@test.example", hash)
	ben.waitText("#ticket-subject", "Refund please")

	dana.waitText("#collisions", "Ben Kenobi is viewing")
	ben.waitText("#collisions", "Dana Scully is viewing")

	ben.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "Let me check"))
	dana.waitText("#collisions", "Ben Kenobi is typing a reply")

	// Dana drafts an answer while Ben sends his: Dana is asked before hers goes out.
	dana.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "I will refund you today."))
	ben.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), " and refund you."), chromedp.Click(chromedp.CSS("#send")))
	dana.waitText("#thread .msg.dir-out .text", "Let me check and refund you.")
	dana.waitText("#thread .msg.dir-out .author", "Ben Kenobi")
	dana.do(chromedp.Click(chromedp.CSS("#send")))
	dana.waitText("#reply-conflict", "Ben Kenobi replied meanwhile — send anyway?")
	if n := len(f.messages(id)); n != 2 {
		t.Fatalf("%d messages stored before Dana confirmed, want 2", n)
	}
	dana.do(chromedp.Click(chromedp.CSS("#send-anyway")))
	dana.waitText("#thread", "I will refund you today.")
	ben.waitText("#thread", "I will refund you today.")
	if msgs := f.messages(id); len(msgs) != 3 || msgs[2].Text != "I will refund you today." || msgs[2].Author.Name != "Dana Scully" {
		t.Fatalf("stored messages after confirming: %d", len(msgs))
	}

	// Dana leaves the ticket: Ben no longer sees her there.
	dana.do(chromedp.Navigate(f.srv.URL + "/#/inbox/open"))
	ben.waitJS("Dana's viewing warning goes away", `() => !document.querySelector('#collisions').textContent.includes('Dana')`)
	dana.noScriptErrors()
	ben.noScriptErrors()
}

// TestHostileMessagesRunNothing shows an email whose HTML carries a script and an onerror
// image, stored without sanitizing as a careless connector might, next to a chat message
// and a customer name full of markup: nothing runs and no dialog opens.
func TestHostileMessagesRunNothing(t *testing.T) {
	f := newFixture(t)
	res := f.ingest(&crm.Inbound{
		Channel: crm.ChannelEmail, ExternalID: "<evil@attacker.example>", ThreadKey: "evil",
		FromName: `Eve <img src=x onerror="window.__pwned='name';alert('name')">`,
		From:     []crm.Identity{{Kind: crm.IdentityEmail, Address: "eve@attacker.example"}},
		Subject:  `<script>window.__pwned='subject'</script>Invoice`,
		Text:     `Hello <img src=x onerror="window.__pwned='text'">`,
		HTML: `<p id="hello">Hello from Eve</p><script>window.__pwned='script';parent.document.title='pwned';alert('script')</script>` +
			`<img src=x onerror="window.__pwned='img';parent.document.title='pwned';alert('img')">` +
			`<a href="javascript:alert('link')">click</a><iframe src="javascript:alert('frame')"></iframe>`,
	})
	f.ingest(&crm.Inbound{
		Channel: crm.ChannelChat, ExternalID: "chat-1", TicketID: res.TicketID,
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "eve@attacker.example"}},
		Text: `<script>window.__pwned='chat'</script><b>bold?</b><img src=x onerror="window.__pwned='chat-img'">`,
	})

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", res.TicketID))
	b.waitText("#ticket-subject", "<script>window.__pwned='subject'</script>Invoice")
	b.waitText("#thread .msg.dir-in:last-child .text", `<script>window.__pwned='chat'</script><b>bold?</b>`)
	b.waitText("#cust-name", `Eve <img src=x`)
	b.waitJS("the email frame loaded", `() => document.querySelector('iframe.email-frame')?.dataset.loaded === 'true'`)

	frame := b.eval(`(() => { const f = document.querySelector('iframe.email-frame'); return JSON.stringify([f.getAttribute('sandbox'), f.srcdoc.includes("default-src 'none'")]); })()`)
	if frame != `["allow-popups allow-popups-to-escape-sandbox",true]` {
		t.Errorf("email frame: sandbox and CSP %s, want only popups allowed and default-src 'none'", frame)
	}
	if got := b.eval(`JSON.stringify([typeof window.__pwned, document.title, document.querySelectorAll('img[src="x"], script:not([src])').length])`); strings.Contains(got, `"pwned"`) || !strings.HasPrefix(got, `["undefined",`) || !strings.HasSuffix(got, `,0]`) {
		t.Errorf("something ran or was parsed as markup: %s", got)
	}
	// The plain-text view shows the markup as text.
	b.do(chromedp.Click(chromedp.CSS(".html-body button")))
	b.waitText(".html-body .text", `Hello <img src=x onerror=`)
	b.eval(`location.hash = '#/inbox/open'`)
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"] .customer`, res.TicketID), `Eve <img src=x`)
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"] .subject`, res.TicketID), `<script>`)
	if got := b.eval(`JSON.stringify([typeof window.__pwned, document.title, document.querySelectorAll('img[src="x"], script:not([src])').length])`); strings.Contains(got, `"pwned"`) || !strings.HasPrefix(got, `["undefined",`) || !strings.HasSuffix(got, `,0]`) {
		t.Errorf("something ran in the list: %s", got)
	}
	b.mu.Lock()
	dialogs := b.dialogs
	b.mu.Unlock()
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %v", dialogs)
	}
	b.noScriptErrors()
}
