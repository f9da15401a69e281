package agentui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/crm"
)

// onePixel is a 1x1 transparent PNG.
var onePixel = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// emailWithImages files an email whose HTML shows an inline image (stored as an
// attachment and linked as the email channel links cid: parts), a remote image on
// remote, and a link. It returns the ticket.
func (f *fixture) emailWithImages(remote string) int64 {
	f.t.Helper()
	res := f.ingest(&crm.Inbound{
		Channel: crm.ChannelEmail, ExternalID: "<img@shop.example>", ThreadKey: "img",
		FromName: "Iris Image", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "iris@example.com"}},
		Subject: "Photo of the damage", Text: "See the photo.\nThe parcel arrived broken.",
		HTML: `<p>See the photo.</p><img alt="photo" src="cid:photo@x"><img alt="tracker" src="` + remote + `/pixel.png">` +
			`<p><a href="https://shop.example/orders/1">Order 1</a></p>`,
		Attachments: []crm.NewAttachment{{Filename: "photo.png", ContentType: "image/png", Data: onePixel}},
	})
	m := f.messages(res.TicketID)[0]
	html := strings.Replace(m.HTML, "cid:photo@x", fmt.Sprintf("/api/v1/attachments/%d", m.Attachments[0].ID), 1)
	if err := f.db.SetMessageHTML(crm.AsSystem(context.Background()), m.ID, html); err != nil {
		f.t.Fatal(err)
	}
	return res.TicketID
}

// TestEmailImagesAndLinks shows an email with a tracking pixel: nothing is fetched from
// its server until the agent asks, the inline image shows at once, links open a new tab,
// and the reply box names the channel of the customer's latest message.
func TestEmailImagesAndLinks(t *testing.T) {
	f := newFixture(t)
	var hits atomic.Int64
	remote := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(onePixel)
	}))
	t.Cleanup(remote.Close)
	id := f.emailWithImages(remote.URL)

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitJS("the email frame loaded", `() => document.querySelector('iframe.email-frame')?.dataset.loaded === 'true'`)
	b.waitText("#reply-channel", "Reply by Email")

	frame := b.eval(`(() => { const f = document.querySelector('iframe.email-frame');
		return JSON.stringify([f.dataset.remote, f.srcdoc.includes("img-src data:;"), f.srcdoc.includes('src="data:image/png;base64,'),
			f.srcdoc.includes('` + remote.URL + `'), f.srcdoc.includes('target="_blank" rel="noopener noreferrer"')]); })()`)
	if frame != `["blocked",true,true,false,true]` {
		t.Errorf("email frame [remote, CSP data: only, inline image, remote URL, link opens a tab]: %s, want [blocked,true,true,false,true]", frame)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the remote server was asked %d times before the agent allowed it", n)
	}

	// The agent loads the remote images of this message.
	b.waitText(".load-images", "Load remote images")
	b.do(chromedp.Click(chromedp.CSS(".load-images")))
	b.waitJS("remote images shown", `() => { const f = document.querySelector('iframe.email-frame');
		return f.dataset.remote === 'shown' && f.dataset.loaded === 'true' && f.srcdoc.includes('img-src data: https:') && f.srcdoc.includes('/pixel.png'); }`)
	b.waitJS("the button is gone", `() => document.querySelector('.load-images').hidden`)
	for deadline := time.Now().Add(10 * time.Second); hits.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the remote image was not loaded after the agent allowed it")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A chat message arrives: the reply now goes by chat.
	f.ingest(&crm.Inbound{Channel: crm.ChannelChat, ExternalID: "chat-img", TicketID: id,
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "iris@example.com"}}, Text: "Did you get it?"})
	b.waitText("#thread", "Did you get it?")
	b.waitText("#reply-channel", "Reply by Chat")
	b.noScriptErrors()
}

// TestLongThreadShowsNewest opens a thread longer than a page: the newest messages show,
// and the earlier ones come on request.
func TestLongThreadShowsNewest(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("long-0", "Lena Long", "lena@example.com", "A long story", "message 1")
	for i := 2; i <= 130; i++ {
		f.ingest(&crm.Inbound{Channel: crm.ChannelAPI, ExternalID: fmt.Sprintf("long-%d", i), TicketID: id,
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "lena@example.com"}}, Text: fmt.Sprintf("message %d", i)})
	}
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#thread .msg:last-child .text", "message 130")
	if got := b.eval(`String(document.querySelectorAll('#thread .msg').length) + '|' + document.querySelector('#thread .msg .text').textContent`); got != "100|message 31" {
		t.Errorf("first page [messages, oldest shown]: %s, want 100|message 31", got)
	}
	b.waitText("#earlier", "Load earlier messages")
	b.do(chromedp.Click(chromedp.CSS("#load-earlier")))
	b.waitJS("the whole thread", `() => document.querySelectorAll('#thread .msg').length === 130`)
	b.waitJS("the button is gone", `() => document.querySelector('#earlier').hidden`)
	if got := b.eval(`[...document.querySelectorAll('#thread .msg .text')].map((e) => e.textContent).slice(0, 2).join('|')`); got != "message 1|message 2" {
		t.Errorf("thread starts %q, want message 1|message 2", got)
	}
	if n := f.requests(func(u *url.URL) bool {
		return strings.HasSuffix(u.Path, "/messages") && u.Query().Get("order") == "desc"
	}); n != 2 {
		t.Errorf("%d pages of messages asked for, want 2", n)
	}
	b.noScriptErrors()
}

// TestTicketControls checks the assignee list, the confirmation before closing and that
// a canned response never names the previous ticket's customer.
func TestTicketControls(t *testing.T) {
	f := newFixture(t)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), f.admin)
	other, err := f.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Wholesale", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	f.agent("dana@test.example", "Dana Scully", crm.RoleAgent, f.inbox)
	f.agent("olga@test.example", "Olga Other", crm.RoleAgent, other.ID)
	f.agent("mia@test.example", "Mia Manager", crm.RoleManager)
	if _, err := f.db.CreateCanned(ctx, &crm.CannedResponse{Title: "Greeting", Body: "Hi {{customer.name}},"}); err != nil {
		t.Fatal(err)
	}
	alice := f.inbound("alice-1", "Alice Shopper", "alice@example.com", "Alice's question", "Hello")
	bob := f.inbound("bob-1", "Bob Buyer", "bob@example.com", "Bob's question", "Hello")

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", alice))
	b.waitText("#cust-name", "Alice Shopper")
	if got := b.eval(`[...document.querySelectorAll('#t-assignee option')].map((o) => o.textContent).join('|')`); got != "Unassigned|Ada Admin (me)|Dana Scully|Mia Manager" {
		t.Errorf("assignees offered: %q, want no agent of another inbox", got)
	}

	// Bob's customer is slow to load: the canned response must not greet Alice.
	release := f.hold(fmt.Sprintf("/api/v1/customers/%d", f.ticket(bob).CustomerID))
	b.eval(fmt.Sprintf(`location.hash = '#/tickets/%d'`, bob))
	b.waitText("#ticket-subject", "Bob's question")
	insert := `(() => { const s = document.querySelector('#canned-select'); s.value = s.options[1].value; s.dispatchEvent(new Event('change')); return document.querySelector('#reply-body').value; })()`
	if got := b.eval(insert); strings.Contains(got, "Alice") {
		t.Errorf("canned response on Bob's ticket before his customer loaded: %q", got)
	}
	b.waitText("#reply-hint", "Fill in by hand")
	release()
	b.waitText("#cust-name", "Bob Buyer")
	b.eval(`document.querySelector('#reply-body').value = ''`)
	if got := b.eval(insert); got != "Hi Bob Buyer," {
		t.Errorf("canned response on Bob's ticket: %q, want Hi Bob Buyer,", got)
	}

	// Closing asks first; cancelling keeps the ticket open.
	choose := `(() => { const s = document.querySelector('#t-status'); s.value = 'closed'; s.dispatchEvent(new Event('change')); return ''; })()`
	b.eval(choose)
	b.waitText("#close-confirm", "Closing is final: the customer’s next message opens a new ticket.")
	b.do(chromedp.Click(chromedp.CSS("#cancel-close")))
	b.waitJS("the select shows open again", `() => !document.querySelector('#close-confirm') && document.querySelector('#t-status').value === 'open'`)
	if st := f.ticket(bob).Status; st != crm.StatusOpen {
		t.Fatalf("status %q after cancelling, want open", st)
	}
	b.eval(choose)
	b.do(chromedp.Click(chromedp.CSS("#confirm-close")))
	b.waitJS("closed", `() => document.querySelector('#t-status').value === 'closed' && document.querySelector('#t-status').disabled`)
	if st := f.ticket(bob).Status; st != crm.StatusClosed {
		t.Fatalf("status %q after confirming, want closed", st)
	}
	b.noScriptErrors()
}

// TestSessionEnds checks that a sign-out takes the drafts with it, that an ended session
// brings the sign-in form instead of endless reconnecting, and that a malformed address
// does not break the console.
func TestSessionEnds(t *testing.T) {
	f := newFixture(t)
	f.agent("dana@test.example", "Dana Scully", crm.RoleAgent, f.inbox)
	ben := f.agent("ben@test.example", "Ben Kenobi", crm.RoleAgent, f.inbox)
	id := f.inbound("s-1", "Carol Client", "carol@example.com", "Refund please", "I want my money back.")
	hash := fmt.Sprintf("#/tickets/%d", id)

	b := f.newTab(t)
	b.login("dana@test.example", "#/search/%E0%A4%A")
	b.waitText("#list-title", "Search: %E0%A4%A")

	// Dana drafts a reply, leaves the ticket (which keeps the draft) and signs out.
	b.eval(`location.hash = '` + hash + `'`)
	b.waitText("#ticket-subject", "Refund please")
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "Dana's private draft"))
	b.eval(`location.hash = '#/inbox/open'`)
	b.waitJS("ticket closed", `() => !document.querySelector('#reply-body')`)
	b.do(chromedp.Click(chromedp.CSS("#logout")))
	b.waitJS("sign-in form", `() => !document.querySelector('#login').hidden`)

	// Ben signs in at the same screen: no trace of Dana's draft.
	b.eval(`document.querySelector('#login-email').value = ''`)
	b.do(
		chromedp.SendKeys(chromedp.CSS("#login-email"), "ben@test.example"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="live"]`)),
	)
	b.eval(`location.hash = '` + hash + `'`)
	b.waitText("#ticket-subject", "Refund please")
	if got := b.eval(`document.querySelector('#reply-body').value`); got != "" {
		t.Errorf("Ben's reply box holds %q", got)
	}

	// Ben's session ends (his password was changed elsewhere) and the connection drops:
	// the console asks him to sign in again.
	pw := "another horse battery"
	if _, err := f.db.UpdateAgent(crm.WithAgent(crm.AsSystem(context.Background()), f.admin), ben.ID, crm.AgentUpdate{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	f.dropConnections()
	b.waitJS("sign-in form after the session ended", `() => !document.querySelector('#login').hidden && document.body.dataset.view === 'login'`)
	b.noScriptErrors()
}

// TestListRequests checks that the list asks for each customer's name once, at most four
// at a time, and that a burst of new tickets does not flood the server with folder counts.
func TestListRequests(t *testing.T) {
	f := newFixture(t)
	var ids []int64
	for i := range 12 {
		ids = append(ids, f.inbound(fmt.Sprintf("named-%d", i), fmt.Sprintf("Named Customer %d", i), fmt.Sprintf("named%d@example.com", i), fmt.Sprintf("Question %d", i), "Hello"))
	}
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	b.waitJS("every ticket listed with its customer's name", `(n) => { const rows = document.querySelectorAll('.ticket-row');
		return rows.length === n && [...rows].every((r) => r.textContent.includes('Named Customer')); }`, len(ids))
	for _, id := range ids {
		p := fmt.Sprintf("/api/v1/customers/%d", f.ticket(id).CustomerID)
		if c := f.requests(func(u *url.URL) bool { return u.Path == p }); c != 1 {
			t.Errorf("%s asked for %d times, want once", p, c)
		}
	}

	// Record when each folder count is asked for, then file a burst of tickets.
	b.eval(`(() => {
		const orig = window.fetch;
		window.__counts = [];
		window.fetch = (path, opt) => {
			const p = String(path);
			if (p.startsWith('/api/v1/tickets?') && p.includes('limit=200')) window.__counts.push(performance.now());
			return orig(path, opt);
		};
		return '';
	})()`)
	for i := range 8 {
		f.inbound(fmt.Sprintf("burst-%d", i), fmt.Sprintf("Burst Customer %d", i), fmt.Sprintf("burst%d@example.com", i), fmt.Sprintf("Burst %d", i), "Hello")
	}
	b.waitText(`.folder[data-folder="open"] .count`, "20")
	// Rounds of counts (six folders each: Mine, Unassigned, All open, Pending, Snoozed,
	// Resolved) start at least two seconds apart.
	got := b.eval(`(() => { const rounds = [];
		for (const t of window.__counts) if (!rounds.length || t - rounds[rounds.length - 1] > 500) rounds.push(t);
		const short = rounds.slice(1).filter((t, i) => t - rounds[i] < 1990).length;
		return [rounds.length, window.__counts.length, short].join(' '); })()`)
	var rounds, requests, short int
	fmt.Sscanf(got, "%d %d %d", &rounds, &requests, &short)
	if rounds == 0 || requests != 6*rounds || short != 0 {
		t.Errorf("count rounds, requests, rounds less than 2 s apart: %s; want rounds of 6 requests, 2 s apart", got)
	}
	// A new message or tag changes no count; a new ticket or a status change does.
	if got := b.eval(`import('/list.js').then((l) => JSON.stringify([l.countsChange({id: 2e9, status: 'open'}), l.countsChange({id: 2e9, status: 'open', tags: ['x']}), l.countsChange({id: 2e9, status: 'resolved'})]))`); got != "[true,false,true]" {
		t.Errorf("countsChange [new, new tag, status change] = %s, want [true,false,true]", got)
	}
	b.noScriptErrors()
}
