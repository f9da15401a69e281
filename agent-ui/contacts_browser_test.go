package agentui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/crm"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// retype replaces the value of the input matching sel with text, typed by the keyboard.
func (b *tab) retype(sel, text string) {
	b.t.Helper()
	b.do(chromedp.Focus(chromedp.CSS(sel)))
	b.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.select && el.select(); return ''; })()`, sel))
	b.do(chromedp.KeyEvent(kb.Delete), chromedp.KeyEvent(text))
}

// TestContactsPage is the contacts page and a customer's page as an agent uses them: find
// Alice by searching, sort, open her page, edit her email, add a phone, run into Bob's
// address and merge Bob in from there, then undo that merge.
func TestContactsPage(t *testing.T) {
	f := newFixture(t)
	f.inbound("a1", "Alice Shopper", "alice@old.example", "Where is my jacket?", "It has not arrived.")
	f.inbound("a2", "Alice Shopper", "alice@old.example", "And the invoice", "Please send it.")
	f.inbound("b1", "Bob Builder", "bob@example.com", "Refund", "I want a refund.")
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	b.click("#contacts-link")
	b.waitText("#contacts-title", "Contacts")
	b.waitText("#contacts", "Bob Builder")
	// Newest first: Bob, then Alice; by name: Alice first.
	b.waitJS("newest first", `() => document.querySelector('#contacts .contact .contact-name')?.textContent === 'Bob Builder'`)
	b.do(chromedp.SetValue(chromedp.CSS("#contacts-sort"), "name"))
	b.eval(`(() => { document.querySelector('#contacts-sort').dispatchEvent(new Event('change')); return ''; })()`)
	b.waitJS("by name", `() => document.querySelector('#contacts .contact .contact-name')?.textContent === 'Alice Shopper'`)
	b.retype("#contacts-q", "alice")
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitJS("only Alice", `() => { const rows = document.querySelectorAll('#contacts .contact'); return rows.length === 1 && rows[0].textContent.includes('Alice Shopper'); }`)
	b.waitText("#contacts .contact", "2 tickets")
	b.waitText("#contacts .contact", "alice@old.example")
	b.shot("contacts")
	b.click("#contacts .contact a")
	b.waitText("#customer-title", "Alice Shopper")

	// Edit the email: lower-cased by the server.
	b.click(`#identity-list button[aria-label="Edit alice@old.example"]`)
	b.waitJS("edit box focused", `() => document.activeElement?.id === 'id-input-0'`)
	b.retype("#id-input-0", "Alice@New.Example")
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitText("#identity-list", "alice@new.example")
	if strings.Contains(b.eval(`document.querySelector('#identity-list').textContent`), "alice@old.example") {
		t.Fatal("the old address is still listed")
	}
	// Add a phone as people write it: stored in E.164.
	b.retype("#id-add-address", "+1 (415) 555-0123")
	b.do(chromedp.SetValue(chromedp.CSS("#id-add-kind"), "phone"))
	b.click("#id-add button[type=submit]")
	b.waitText("#identity-list", "+14155550123")

	// Bob's address belongs to Bob: the page offers to merge him in.
	b.retype("#id-add-address", "bob@example.com")
	b.do(chromedp.SetValue(chromedp.CSS("#id-add-kind"), "email"))
	b.click("#id-add button[type=submit]")
	b.waitText("#identity-conflict", "That address belongs to Bob Builder")
	if got := b.focused(); got != "conflict-merge" {
		t.Fatalf("focus after the conflict is on %q", got)
	}
	b.shot("customer-conflict")
	b.click("#conflict-merge")
	b.waitText("#confirm-title", "Merge Bob Builder into Alice Shopper?")
	b.click("#confirm-yes")
	b.waitText("#identity-list", "bob@example.com")
	b.waitText("#merges", "Bob Builder merged in by Ada Admin")
	b.waitJS("focus on the merges after the merge", `() => document.activeElement?.id === 'merges-title'`)
	b.waitText("#customer-tickets", "Refund")
	b.shot("customer-merged")

	// Undo, from the merge record, confirmed.
	b.click(`#merges button.undo-merge`)
	b.waitText("#confirm-title", "Undo the merge of Bob Builder?")
	b.click("#confirm-yes")
	b.waitText("#merges", "undone or merged again")
	b.waitJS("focus on the merges", `() => document.activeElement?.id === 'merges-title'`)
	b.waitJS("Bob's address went back", `() => !document.querySelector('#identity-list').textContent.includes('bob@example.com')`)
	b.waitJS("Bob's ticket went back", `() => !document.querySelector('#customer-tickets').textContent.includes('Refund')`)
	b.noScriptErrors()
}

// TestTicketSplitAndMerge splits two messages of a ticket into a new ticket by picking
// them with the keyboard, then merges the new ticket back from the ticket screen.
func TestTicketSplitAndMerge(t *testing.T) {
	f := newFixture(t)
	var first *crm.IngestResult
	for i, text := range []string{"Where is order 1001?", "Also, my invoice shows two jackets.", "I only bought one jacket."} {
		r := f.ingest(&crm.Inbound{ExternalID: fmt.Sprint("m", i), ThreadKey: "carol", FromName: "Carol", Subject: "Order 1001",
			Text: text, From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "carol@example.com"}}, ReceivedAt: time.Now().Add(time.Duration(i) * time.Second)})
		if first == nil {
			first = r
		}
	}
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", first.TicketID))
	b.waitText("#thread", "I only bought one jacket.")
	b.click("#split-ticket")
	b.waitText("#split-count", "No messages selected.")
	// Tab to the second and third messages' boxes and tick them with Space.
	b.waitJS("focus on the first box", `() => document.activeElement?.classList.contains('split-pick')`)
	b.do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(" "))
	b.waitText("#split-count", "1 message selected.")
	b.do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(" "))
	b.waitText("#split-count", "2 messages selected.")
	b.retype("#split-subject", "Wrong invoice")
	b.shot("split-selecting")
	b.click("#split-go")
	b.waitText("#split-done", "Moved 2 messages to the new ticket")
	b.waitText("#thread", "Moved 2 messages to #")
	thread := b.eval(`document.querySelector('#thread').textContent`)
	if strings.Contains(thread, "invoice shows two jackets") || !strings.Contains(thread, "Where is order 1001?") {
		t.Fatalf("the old thread after the split: %s", thread)
	}
	if got := b.focused(); got != "split-new" {
		t.Fatalf("focus after the split is on %q", got)
	}
	b.click("#split-new")
	b.waitText("#ticket-subject", "Wrong invoice")
	b.waitText("#thread", "I only bought one jacket.")
	b.waitText("#thread", fmt.Sprintf("Split from #%d: 2 messages moved here.", first.TicketID))
	newID := b.eval(`location.hash.split('/')[2]`)
	b.shot("split-new-ticket")

	// Merge it back by number.
	b.click("#merge-ticket")
	b.waitJS("the merge dialog", `() => document.activeElement?.id === 'merge-into'`)
	b.waitText("#merge-picks", "Order 1001")
	b.do(chromedp.KeyEvent(fmt.Sprint(first.TicketID)), chromedp.KeyEvent(kb.Enter))
	b.waitJS("on the merged-into ticket", fmt.Sprintf(`() => location.hash === '#/tickets/%d'`, first.TicketID))
	b.waitText("#thread", "I only bought one jacket.")
	var n int64
	fmt.Sscan(newID, &n)
	if tk := f.ticket(n); tk.MergedInto != first.TicketID || tk.Status != crm.StatusClosed {
		t.Fatalf("split ticket after merge = %+v", tk)
	}
	b.noScriptErrors()
}

// TestVisitorNamesAndProvenEmail shows chat visitors by readable names in the list and
// the customer panel, and links a visitor who proved Alice's email in Track my order to
// Alice with one click.
func TestVisitorNamesAndProvenEmail(t *testing.T) {
	f := newFixture(t)
	sys := crm.AsSystem(context.Background())
	chat, err := f.db.CreateInbox(crm.WithAgent(sys, f.admin), &crm.Inbox{Kind: crm.KindChat, Name: "Widget", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	f.inbound("a1", "Alice Shopper", "alice@example.com", "Sizes", "Do you have it in M?")
	visit := func(id, name, text string) *crm.IngestResult {
		if err := f.db.CreateChatVisitor(sys, &crm.ChatVisitor{ID: id, InboxID: chat.ID, PageURL: "https://shop.example/jackets"},
			[]byte(id + "-token-hash-padded-to-32-bytes-x")[:32]); err != nil {
			t.Fatal(err)
		}
		r, err := f.db.Ingest(sys, &crm.Inbound{InboxID: chat.ID, Channel: crm.ChannelChat, ExternalID: "chat:" + id + ":1",
			ThreadKey: crm.ChatThreadKey(id), FromName: name, Subject: "Chat", Text: text, ReceivedAt: time.Now(),
			From: []crm.Identity{{Kind: crm.IdentityChat, Address: id}}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// One visitor named at ingest as the chat channel names it, one from before that,
	// with no name at all.
	named := visit("vis-4f9a2c", crm.VisitorName("", "https://shop.example/jackets"), "Where is my parcel?")
	visit("vis-77e0b1", "", "Hello?")
	if err := f.db.RecordProof(sys, "vis-4f9a2c", "alice@example.com", "1001"); err != nil {
		t.Fatal(err)
	}

	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	b.waitText("#ticket-list", "Visitor on shop.example/jackets")
	b.waitText("#ticket-list", "Chat visitor")
	if list := b.eval(`document.querySelector('#ticket-list').textContent`); strings.Contains(list, "vis-") {
		t.Fatalf("the list shows a raw visitor id: %s", list)
	}
	b.click(fmt.Sprintf(`.ticket-row[data-id="%d"] a`, named.TicketID))
	b.waitText("#cust-name", "Visitor on shop.example/jackets")
	b.waitText("#side-pane .proof", "This visitor proved they own alice@example.com (order 1001)")
	b.waitText("#side-pane .link-proof", "Link to Alice Shopper")
	b.shot("proven-email")
	b.click("#side-pane .link-proof")
	b.waitText("#cust-name", "Alice Shopper")
	b.waitText("#identities", "alice@example.com")
	if tk := f.ticket(named.TicketID); tk.CustomerID == named.CustomerID {
		t.Fatal("the visitor's ticket did not move to Alice")
	}
	b.noScriptErrors()
}
