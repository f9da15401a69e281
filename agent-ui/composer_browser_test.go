package agentui_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/crm"
)

// mailTicket files an email from Ivy and returns its ticket.
func (f *fixture) mailTicket(ext, subject string) int64 {
	f.t.Helper()
	return f.ingest(&crm.Inbound{Channel: crm.ChannelEmail, ExternalID: ext, Subject: subject, FromName: "Ivy Chen",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ivy@example.test"}}, Text: "Can I have the invoice?",
		Mail: crm.MailAddresses{From: &crm.Address{Name: "Ivy Chen", Address: "ivy@example.test"}}}).TicketID
}

// enter presses Enter as a keyboard does: one keyDown that carries the text, so that a
// handler that takes the key (a list's choice) keeps it out of the text box.
// (chromedp's KeyEvent sends the text in a char event of its own, which a page cannot
// cancel.)
func (b *tab) enter() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		p := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, p); err != nil {
			return err
		}
		p.Type, p.Text, p.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, p)
		return err
	}))
}

// lastMessage is the newest message of a ticket in the store.
func (f *fixture) lastMessage(ticketID int64) *crm.Message {
	f.t.Helper()
	msgs := f.messages(ticketID)
	return msgs[len(msgs)-1]
}

// Files go with a reply by email: chosen with the button, pasted, dropped, listed as
// removable chips within the limits shown beside the button, and sent with the reply;
// a reply by a channel without files says so before the agent tries, and a note there
// takes them.
func TestComposerAttachments(t *testing.T) {
	f := newFixture(t)
	id := f.mailTicket("<att-1@example.test>", "Invoice please")
	api := f.inbound("att-api", "Otto", "otto@example.com", "Via the shop's form", "Hello")
	dir := t.TempDir()
	invoice := filepath.Join(dir, "invoice-1042.pdf")
	if err := os.WriteFile(invoice, []byte("%PDF-1.4 invoice 1042"), 0o600); err != nil {
		t.Fatal(err)
	}

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#attach-limits", "Up to 10 files, 20 MB in all")
	b.waitJS("the box says where it replies", `() => document.querySelector('#reply-to')?.textContent === 'to ivy@example.test'`)
	if v := b.eval(`String(document.querySelector('#reply-files').hidden)`); v != "true" {
		t.Fatalf("the empty list of files shows (hidden %s)", v)
	}

	// By the button (the file input behind it).
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#reply-file`), []string{invoice}))
	b.waitText("#reply-files", "invoice-1042.pdf")
	// By pasting a screenshot, and by dropping a file.
	b.eval(`(() => { const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array(2048)], 'image.png', { type: 'image/png' }));
		document.querySelector('#reply-body').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true })); return ''; })()`)
	b.waitJS("the pasted image is listed", `() => [...document.querySelectorAll('#reply-files .file-name')].some((e) => /^pasted-.*\.png$/.test(e.textContent))`)
	b.eval(`(() => { const dt = new DataTransfer(); dt.items.add(new File(['label'], 'label.txt', { type: 'text/plain' }));
		document.querySelector('#reply').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); return ''; })()`)
	b.waitText("#reply-files", "label.txt")
	// Over the limit: refused with the reason, the others kept.
	b.eval(`(() => { const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array(21 << 20)], 'video.mov', { type: 'video/quicktime' }));
		document.querySelector('#reply').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); return ''; })()`)
	b.waitText("#reply-error", "Not attached: video.mov")
	if n := b.eval(`String(document.querySelectorAll('#reply-files li').length)`); n != "3" {
		t.Fatalf("%s files listed, want 3", n)
	}
	b.shot("composer-files")
	// A chip is removed with its button; focus stays in the list.
	b.click(`#reply-files button[aria-label="Remove label.txt"]`)
	b.waitJS("label.txt removed", `() => !document.querySelector('#reply-files').textContent.includes('label.txt')`)
	b.waitJS("focus stays in the list", `() => document.activeElement && document.activeElement.closest('#reply-files') !== null`)

	b.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "The invoice is attached."))
	b.click("#send")
	b.waitJS("the reply shows with its files", `() => [...document.querySelectorAll('#thread .msg.dir-out .attachments a')].map((a) => a.textContent).join(',').includes('invoice-1042.pdf')`)
	b.waitJS("the list is empty again", `() => document.querySelector('#reply-files').hidden`)
	m := f.lastMessage(id)
	if len(m.Attachments) != 2 || m.Attachments[0].Filename != "invoice-1042.pdf" || m.Attachments[0].ContentType != "application/pdf" ||
		!strings.HasPrefix(m.Attachments[1].Filename, "pasted-") || m.Attachments[1].Size != 2048 {
		t.Fatalf("stored attachments = %+v", m.Attachments)
	}

	// The api channel carries no files: the button is off and says so; a note takes them.
	b.do(chromedp.Navigate(f.srv.URL + fmt.Sprintf("/#/tickets/%d", api)))
	b.waitText("#attach-limits", "Attachments go by email and in notes")
	if v := b.eval(`String(document.querySelector('#attach').disabled)`); v != "true" {
		t.Fatal("the Attach button works on a reply that cannot carry files")
	}
	b.click("#mode-note")
	b.waitText("#attach-limits", "Up to 10 files")
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#reply-file`), []string{invoice}))
	b.waitText("#reply-files", "invoice-1042.pdf")
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "Their invoice, for the record."))
	b.click("#send")
	b.waitJS("the note shows with its file", `() => !!document.querySelector('#thread .msg.dir-note .attachments a')`)
	if m := f.lastMessage(api); m.Direction != crm.DirNote || len(m.Attachments) != 1 {
		t.Fatalf("note = %+v", m)
	}
	b.noScriptErrors()
}

// The formatting toolbar of an email reply writes markup that the reply is sent and shown
// with as HTML; Ctrl+B and Ctrl+I work in the box; the Bcc goes with the reply and the
// thread shows it. Notes have no toolbar.
func TestComposerFormattingAndBcc(t *testing.T) {
	f := newFixture(t)
	id := f.mailTicket("<fmt-1@example.test>", "Where is my parcel")
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitJS("the toolbar shows for an email reply", `() => document.querySelector('#format-bar')?.hidden === false && document.querySelector('#fmt-bold').getAttribute('aria-label') === 'Bold'`)
	b.click("#mode-note")
	b.waitJS("no toolbar for a note", `() => document.querySelector('#format-bar').hidden`)
	b.click("#mode-reply")
	b.waitJS("the toolbar is back", `() => !document.querySelector('#format-bar').hidden`)

	set := func(v string, start, end int) {
		t.Helper()
		b.eval(fmt.Sprintf(`(() => { const ta = document.querySelector('#reply-body'); ta.value = %q; ta.focus(); ta.setSelectionRange(%d, %d); return ''; })()`, v, start, end))
	}
	value := func() string { return b.eval(`document.querySelector('#reply-body').value`) }
	// The toolbar is one Tab stop, worked with the arrow keys.
	b.do(chromedp.Focus(chromedp.CSS("#fmt-bold")), chromedp.KeyEvent(kb.ArrowRight))
	b.waitJS("the arrow key moves to Italic", `() => document.activeElement.id === 'fmt-italic' && document.activeElement.tabIndex === 0 &&
		document.querySelector('#fmt-bold').tabIndex === -1`)
	set("It ships today", 3, 8)
	b.click("#fmt-bold")
	if v := value(); v != "It **ships** today" {
		t.Fatalf("after Bold: %q", v)
	}
	set("It ships today", 9, 14)
	b.do(chromedp.KeyEvent("i", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	if v := value(); v != "It ships _today_" {
		t.Fatalf("after Ctrl+I: %q", v)
	}
	set("tracking\nlabel", 0, 14)
	b.click("#fmt-bullets")
	if v := value(); v != "- tracking\n- label" {
		t.Fatalf("after the bulleted list: %q", v)
	}
	set("the FAQ", 0, 7)
	b.click("#fmt-link")
	b.do(chromedp.KeyEvent("https://shop.example/faq"))
	if v := value(); v != "[the FAQ](https://shop.example/faq)" {
		t.Fatalf("after Link and typing the address: %q", v)
	}

	set("Your parcel **ships today**, see [tracking](https://track.example/1042).", 0, 0)
	b.click("#add-bcc")
	b.waitJS("the Bcc row opens with the focus", `() => !document.querySelector('#bcc-row').hidden && document.activeElement.id === 'reply-bcc'`)
	b.do(chromedp.KeyEvent("Books <books@shop.example>"))
	b.shot("composer-format-bcc")
	b.click("#send")
	b.waitText("#thread .msg.dir-out .msg-addresses .addr-bcc", "Bcc: Books <books@shop.example>")
	b.waitJS("the reply shows as HTML", `() => !!document.querySelector('#thread .msg.dir-out iframe.email-frame')`)
	m := f.lastMessage(id)
	if !strings.Contains(m.HTML, "<strong>ships today</strong>") || !strings.Contains(m.HTML, `href="https://track.example/1042"`) ||
		m.Text != "Your parcel *ships today*, see tracking (https://track.example/1042)." || len(m.BCC) != 1 {
		t.Fatalf("stored reply: text %q html %q bcc %+v", m.Text, m.HTML, m.BCC)
	}
	b.noScriptErrors()
}

// The emoji picker opens from its button, is worked with the arrow keys, puts the emoji
// at the cursor, and Esc closes it with the focus back on the button.
func TestComposerEmojiPicker(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("emoji-1", "Alice Shopper", "alice@example.com", "Thanks", "Thank you!")
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitJS("composer", `() => !!document.querySelector('#emoji-button')`)
	b.eval(`(() => { const ta = document.querySelector('#reply-body'); ta.value = 'Thanks !'; ta.focus(); ta.setSelectionRange(7, 7); return ''; })()`)
	b.click("#emoji-button")
	b.waitJS("the grid opens on its first emoji", `() => !document.querySelector('#emoji-grid').hidden && document.activeElement.getAttribute('aria-label') === 'grinning face'`)
	if n := b.eval(`String(document.querySelectorAll('#emoji-grid [role=gridcell]').length)`); n != "40" {
		t.Fatalf("%s emoji, want 40", n)
	}
	b.do(chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowRight))
	b.waitJS("arrow keys move", `() => document.activeElement.getAttribute('aria-label') === 'smiling face with hearts'`)
	b.shot("composer-emoji")
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitJS("inserted at the cursor, focus back in the box", `() => document.querySelector('#reply-body').value === 'Thanks 🥰!' && document.activeElement.id === 'reply-body'`)
	b.click("#emoji-button")
	b.waitJS("open again", `() => !document.querySelector('#emoji-grid').hidden`)
	b.do(chromedp.KeyEvent(kb.Escape))
	b.waitJS("Esc closes it and focus goes back to the button", `() => document.querySelector('#emoji-grid').hidden && document.activeElement.id === 'emoji-button'`)
	b.noScriptErrors()
}

// "Send and resolve" from the menu beside Send resolves the ticket with the reply, and is
// remembered: after a reload the main button reads so, and Ctrl+Enter does it.
func TestComposerSendAndResolveRemembered(t *testing.T) {
	f := newFixture(t)
	first := f.inbound("split-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is it?")
	second := f.inbound("split-2", "Bob Buyer", "bob@example.com", "Refund", "Any news?")
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", first))
	b.waitText("#send", "Send reply")
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "It arrives tomorrow."))
	b.do(chromedp.Focus(chromedp.CSS("#send-more")), chromedp.KeyEvent(kb.ArrowDown))
	b.waitJS("the menu opens on its first item", `() => { const m = document.querySelector('#send-menu'); return !m.hidden && document.activeElement.textContent === 'Send reply' &&
		document.querySelector('#send-more').getAttribute('aria-expanded') === 'true' && document.querySelector('#send-more').getAttribute('aria-haspopup') === 'menu'; }`)
	b.do(chromedp.KeyEvent(kb.Escape))
	b.waitJS("Esc closes it, focus on the menu button", `() => document.querySelector('#send-menu').hidden && document.activeElement.id === 'send-more'`)
	b.do(chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	b.waitJS("on Send and resolve", `() => document.activeElement.textContent === 'Send and resolve'`)
	b.shot("composer-send-menu")
	b.do(chromedp.KeyEvent(kb.Enter))
	waitTicket(t, f, first, "resolved with the reply", func(tk *crm.Ticket) bool { return tk.Status == crm.StatusResolved })
	if m := f.lastMessage(first); m.Text != "It arrives tomorrow." {
		t.Fatalf("last message %q", m.Text)
	}
	b.waitText("#send", "Send and resolve")

	b.do(chromedp.Navigate(f.srv.URL + fmt.Sprintf("/#/tickets/%d", second)))
	b.do(chromedp.Reload())
	b.waitText("#send", "Send and resolve")
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "Refunded today."),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	waitTicket(t, f, second, "resolved by Ctrl+Enter", func(tk *crm.Ticket) bool { return tk.Status == crm.StatusResolved })
	b.noScriptErrors()
}

// A draft is kept per ticket across a reload (text, mode and Cc), dropped when sent, and
// signing out deletes the agent's stored drafts.
func TestComposerDraftSurvivesReload(t *testing.T) {
	f := newFixture(t)
	id := f.mailTicket("<draft-1@example.test>", "Sizes")
	other := f.inbound("draft-2", "Bob Buyer", "bob@example.com", "Refund", "Any news?")
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitJS("composer", `() => !!document.querySelector('#reply-body')`)
	b.click("#add-cc")
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-cc"), "jack@example.test"),
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "Size M is back in stock"))
	b.do(chromedp.Reload())
	b.waitJS("the draft is back", `() => document.querySelector('#reply-body')?.value === 'Size M is back in stock' &&
		document.querySelector('#reply-cc').value === 'jack@example.test' && !document.querySelector('#cc-row').hidden`)
	// A note's draft keeps its mode; another ticket has its own.
	b.do(chromedp.Navigate(f.srv.URL + fmt.Sprintf("/#/tickets/%d", other)))
	b.waitJS("another ticket's box is empty", `() => document.querySelector('#reply-body')?.value === ''`)
	b.click("#mode-note")
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "Check the refund"))
	b.do(chromedp.Reload())
	b.waitJS("the note's draft is back as a note", `() => document.querySelector('#reply-body')?.value === 'Check the refund' && document.querySelector('#mode-note').checked`)

	b.do(chromedp.Navigate(f.srv.URL + fmt.Sprintf("/#/tickets/%d", id)))
	b.waitJS("the first draft", `() => document.querySelector('#reply-body')?.value === 'Size M is back in stock'`)
	b.click("#send")
	b.waitText("#thread .msg.dir-out .text", "Size M is back in stock")
	b.waitJS("the box is emptied once the reply is stored", `() => document.querySelector('#reply-body').value === ''`)
	b.do(chromedp.Reload())
	b.waitJS("a sent draft is gone", `() => document.querySelector('#thread .msg.dir-out') && document.querySelector('#reply-body').value === ''`)

	if n := b.eval(`String(Object.keys(localStorage).filter((k) => k.startsWith('parley.draft.')).length)`); n != "1" {
		t.Fatalf("%s stored drafts before signing out, want 1 (the note)", n)
	}
	b.waitText("#past-tickets", "No other tickets") // the sidebar has loaded: nothing is left to draw after signing out
	b.click("#logout")
	b.waitJS("signed out", `() => !document.querySelector('#login').hidden`)

	if n := b.eval(`String(Object.keys(localStorage).filter((k) => k.startsWith('parley.draft.')).length)`); n != "0" {
		t.Fatalf("%s stored drafts after signing out, want none", n)
	}
	b.noScriptErrors()
}

// Typing "/" in the reply box finds canned responses: a list filtered as the agent
// types, a preview with the placeholders filled in, arrows and Enter to insert, Esc to
// close.
func TestComposerSlashCanned(t *testing.T) {
	f := newFixture(t)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), f.admin)
	for _, c := range []crm.CannedResponse{
		{Title: "Greeting", Body: "Hi {{customer.first_name}},"},
		{Title: "Shipping delay", Body: "Hi {{customer.first_name}}, your parcel ships within 2 days. {{order.number}}"},
		{Title: "Shipped", Body: "Good news {{customer.name}}: it shipped today."},
	} {
		if _, err := f.db.CreateCanned(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	id := f.inbound("slash-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is it?")
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#side-pane", "Alice Shopper") // the customer fills the placeholders
	b.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "Thanks for waiting. /ship"))
	b.waitJS("two matches, the first previewed", `() => { const l = document.querySelector('#canned-list');
		return !document.querySelector('#canned-pop').hidden && l.children.length === 2 && l.children[0].getAttribute('aria-selected') === 'true' &&
			document.querySelector('#reply-body').getAttribute('aria-expanded') === 'true'; }`)
	b.waitText("#canned-preview", "Good news Alice Shopper: it shipped today.")
	b.do(chromedp.KeyEvent(kb.ArrowDown))
	b.waitText("#canned-preview", "Hi Alice, your parcel ships within 2 days.")
	b.waitText("#canned-preview", "Fill in by hand: {{order.number}}")
	b.shot("composer-slash-canned")
	b.enter()
	b.waitJS("inserted in place of /ship", `() => document.querySelector('#reply-body').value === 'Thanks for waiting. Hi Alice, your parcel ships within 2 days. {{order.number}}' &&
		document.querySelector('#canned-pop').hidden && document.activeElement.id === 'reply-body'`)
	b.waitText("#reply-hint", "Fill in by hand: {{order.number}}")
	// A slash inside a word is no command; Esc closes the list and keeps the text.
	b.do(chromedp.KeyEvent(" and/or"))
	if v := b.eval(`String(document.querySelector('#canned-pop').hidden)`); v != "true" {
		t.Fatal("a / inside a word opened the list")
	}
	b.do(chromedp.KeyEvent("\n/gre"))
	b.waitJS("the list for /gre", `() => !document.querySelector('#canned-pop').hidden && document.querySelector('#canned-list').textContent === 'Greeting'`)
	b.do(chromedp.KeyEvent(kb.Escape))
	b.waitJS("Esc closes the list, the text stays, focus stays", `() => document.querySelector('#canned-pop').hidden && document.querySelector('#reply-body').value.endsWith('\n/gre') && document.activeElement.id === 'reply-body'`)
	b.noScriptErrors()
}
