package agentui_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/crm"
)

// TestEmailAddressesQuotesAndCC opens an email ticket whose mail was copied to someone:
// the thread shows From, To and Cc and who the mail came via, the quoted history stays
// folded until the agent asks for it, and the reply's Cc comes filled with the ticket's
// participants, goes away for a note, refuses a bad address and is sent as edited.
func TestEmailAddressesQuotesAndCC(t *testing.T) {
	f := newFixture(t)
	res := f.ingest(&crm.Inbound{
		Channel: crm.ChannelEmail, ExternalID: "<gift-1@example.test>", Subject: "Wedding gift",
		FromName: "Ivy Chen", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ivy@example.test"}},
		Text: "Jack will pay.",
		HTML: `<p id="reply">Jack will pay.</p><details><summary>Show quoted text</summary>` +
			`<blockquote id="history">Your order has shipped.</blockquote></details>`,
		Mail: crm.MailAddresses{From: &crm.Address{Name: "Ivy Chen", Address: "ivy@example.test"},
			To:  []crm.Address{{Name: "Shop", Address: "support@shop.test"}},
			CC:  []crm.Address{{Name: "Jack Chen", Address: "jack@example.test"}},
			Via: &crm.Address{Name: "Gift form", Address: "noreply@forms.test"}},
		Participants: []crm.Address{{Name: "Jack Chen", Address: "jack@example.test"}},
	})

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", res.TicketID))
	msg := fmt.Sprintf("#m%d", res.MessageID)
	b.waitText(msg+" .msg-addresses .addr-from", "From: Ivy Chen <ivy@example.test>")
	b.waitText(msg+" .msg-addresses .addr-to", "To: Shop <support@shop.test>")
	b.waitText(msg+" .msg-addresses .addr-cc", "Cc: Jack Chen <jack@example.test>")
	b.waitText(msg+" .msg-head .via", "via Gift form <noreply@forms.test>")

	// The history is folded in the mail's frame until the agent opens it.
	b.waitJS("the email frame loaded", `() => document.querySelector('iframe.email-frame')?.dataset.loaded === 'true'`)
	// The frame is sandboxed without an origin: Chrome runs it as a target of its own.
	ctx := b.emailFrame("Jack will pay.")
	shown := func(id string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('`+id+`').checkVisibility()`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !shown("reply") || shown("history") {
		t.Fatalf("reply shown %v, history shown %v: want the history folded", shown("reply"), shown("history"))
	}
	summary, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("summary")))
	if err != nil || summary != "Show quoted text" {
		t.Fatalf("fold says %q (%v)", summary, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("summary"))); err != nil {
		t.Fatalf("click the fold: %v", err)
	}
	if !shown("history") {
		t.Fatal("the history does not unfold")
	}

	// The Cc of a reply: the participants, hidden for a note.
	b.waitJS("cc filled", `() => document.querySelector('#reply-cc')?.value === 'Jack Chen <jack@example.test>' && !document.querySelector('#cc-row').hidden`)
	b.click("#mode-note")
	b.waitJS("cc hidden for a note", `() => document.querySelector('#cc-row').hidden`)
	b.click("#mode-reply")
	b.waitJS("cc shown for a reply", `() => !document.querySelector('#cc-row').hidden`)

	// A bad address is refused and nothing is sent.
	b.eval(`document.querySelector('#reply-cc').value = ''`)
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-cc"), `"Chen, Jack" <jack@example.test>; not an address`),
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "Invoice attached."))
	b.click("#send")
	b.waitText("#reply-error", "is not an email address")
	if n := len(f.messages(res.TicketID)); n != 1 {
		t.Fatalf("%d messages after a refused reply, want 1", n)
	}

	// As edited: Jack, and Ann instead of nobody.
	b.eval(`document.querySelector('#reply-cc').value = ''`)
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-cc"), `"Chen, Jack" <jack@example.test>, ann@example.test`))
	b.click("#send")
	b.waitJS("reply in the thread", `() => document.querySelectorAll('#thread .msg.dir-out').length === 1`)
	b.waitText("#thread .msg.dir-out .msg-addresses .addr-cc", "Cc: Chen, Jack <jack@example.test>, ann@example.test")
	msgs := f.messages(res.TicketID)
	out := msgs[len(msgs)-1]
	if got := []string{out.CC[0].Address, out.CC[1].Address}; len(out.CC) != 2 || !slices.Equal(got, []string{"jack@example.test", "ann@example.test"}) {
		t.Fatalf("reply cc = %+v", out.CC)
	}
	if p := f.ticket(res.TicketID).Participants; len(p) != 2 {
		t.Fatalf("participants = %+v", p)
	}
	// The box is filled with the new participants for the next reply.
	b.waitJS("cc refilled", `() => document.querySelector('#reply-cc').value === '"Chen, Jack" <jack@example.test>, ann@example.test'`)
	if s := b.eval(`document.querySelector('#thread .msg.dir-out .msg-addresses').textContent`); !strings.Contains(s, "To: ivy@example.test") {
		t.Errorf("reply addresses = %q", s)
	}
	b.noScriptErrors()
}

// emailFrame returns a context attached to the email frame of the tab whose text has
// text. A sandboxed frame has no origin, so Chrome runs it in a process of its own, as a
// target that the page's DOM does not reach.
func (b *tab) emailFrame(text string) context.Context {
	b.t.Helper()
	var found context.Context
	b.waitJS("the email frame loaded", `() => document.querySelector('iframe.email-frame')?.dataset.loaded === 'true'`)
	deadline := time.Now().Add(15 * time.Second)
	for found == nil && time.Now().Before(deadline) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type != "iframe" || found != nil {
				continue
			}
			// The first action attaches the context to the frame, and it must run on that
			// context itself: a shorter-lived child would detach it when it ends.
			pctx, pcancel := context.WithTimeout(b.ctx, 30*time.Second)
			fctx, cancel := chromedp.NewContext(pctx, chromedp.WithTargetID(info.TargetID))
			body, err := chromedp.Run(fctx, chromedp.Evaluate[string](`document.body ? document.body.textContent : ''`))
			if err == nil && strings.Contains(body, text) {
				found = fctx
				b.t.Cleanup(func() { cancel(); pcancel() })
			} else {
				cancel()
				pcancel()
			}
		}
		if found == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if found == nil {
		b.t.Fatalf("no email frame shows %q", text)
	}
	return found
}

// TestBouncesFolder shows managers the delivery reports that matched no reply in a
// Bounces folder of their own; agents do not get the folder.
func TestBouncesFolder(t *testing.T) {
	f := newFixture(t)
	res := f.ingest(&crm.Inbound{
		Channel: crm.ChannelEmail, ExternalID: "<dsn-1@mx.example.test>", Subject: "Undelivered Mail Returned to Sender",
		FromName: "Mail delivery reports", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "mailer-daemon@parley.invalid"}},
		Text:   "could not be delivered",
		Bounce: &crm.Bounce{ExternalIDs: []string{"weekly-news-23@shop.test"}, Failed: true},
	})
	row := fmt.Sprintf(`.ticket-row[data-id="%d"]`, res.TicketID)

	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/bounces")
	b.waitText("#list-title", "Bounces")
	b.waitText(row+" .subject", "Undelivered Mail Returned to Sender")
	b.noScriptErrors()

	f.agent("abe@test.example", "Abe Agent", crm.RoleAgent, f.inbox)
	a := f.newTab(t)
	a.login("abe@test.example", "#/inbox/bounces")
	a.waitText("#list-title", "Mine")
	if n := a.eval(`String(document.querySelectorAll('.folder[data-folder="bounces"]').length)`); n != "0" {
		t.Fatalf("an agent sees %s Bounces folders", n)
	}
	a.noScriptErrors()
}
