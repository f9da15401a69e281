package agentui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"parley/crm"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestTicketControlsKeepFocus works the ticket's controls from the keyboard: arrowing
// through the priorities saves only the one chosen with Enter, and after each change,
// and after Resolve, focus is where the agent acted (Resolve's place goes to Reopen).
func TestTicketControlsKeepFocus(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("kb-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is it?")
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#ticket-subject", "Parcel late")

	b.eval(`(() => { document.querySelector('#t-priority').focus(); return ''; })()`)
	b.do(chromedp.KeyEvent(kb.ArrowDown+kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	ctx := crm.AsSystem(context.Background())
	waitTicket(t, f, id, "urgent saved", func(tk *crm.Ticket) bool { return tk.Priority == crm.PriorityUrgent })
	b.waitJS("focus stays on the priority", `() => document.activeElement.id === 't-priority'`)
	events, err := f.db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		var d crm.Ticket
		json.Unmarshal(e.Data, &d)
		if e.Type == crm.EventTicketUpdated && e.TicketID == id && d.Priority == crm.PriorityHigh {
			t.Fatalf("High was saved on the way from Normal to Urgent: %s", e.Data)
		}
	}

	// By the focused element, not a node id: the head may be drawn anew meanwhile (the
	// answer to the priority's PATCH), and focus follows to the new button.
	b.eval(`(() => { document.querySelector('#resolve').focus(); return ''; })()`)
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitJS("focus on Reopen after Resolve", `() => document.activeElement && document.activeElement.id === 'reopen'`)
	b.waitJS("announced", `(want) => document.querySelector('#announcer').textContent === want`, fmt.Sprintf("Ticket #%d is resolved", id))
	if tk, err := f.db.Ticket(ctx, id); err != nil || tk.Status != crm.StatusResolved {
		t.Fatalf("status after Resolve: %v %v", tk, err)
	}

	// A customer's new message in the open ticket is said; a new ticket in view too.
	if _, err := f.db.Ingest(ctx, &crm.Inbound{InboxID: f.inbox, TicketID: id, ExternalID: "kb-2", Channel: crm.ChannelAPI,
		FromName: "Alice Shopper", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@example.com"}}, Text: "Any news?"}); err != nil {
		t.Fatal(err)
	}
	b.waitJS("announced", `(want) => document.querySelector('#announcer').textContent === want`, "New message from Alice Shopper")
	b.eval(`(() => { location.hash = '#/inbox/open'; return ''; })()`)
	b.waitJS("the list's title is the tab's", `() => document.title === 'Parley' || document.title.endsWith(' Parley')`)
	other := f.inbound("kb-3", "Bob Buyer", "bob@example.com", "Refund", "Money back please.")
	b.waitJS("announced", `(want) => document.querySelector('#announcer').textContent === want`, fmt.Sprintf("New ticket #%d: Refund", other))

	// Opening a ticket with j lands on its heading.
	b.do(chromedp.Focus(chromedp.CSS(fmt.Sprintf(`.ticket-row[data-id="%d"] a`, other))))
	b.do(chromedp.KeyEvent("j"))
	b.waitJS("focus on the opened ticket's heading", `() => document.activeElement && document.activeElement.id === 'ticket-subject'`)

	// Reports and Settings name themselves in the title.
	b.eval(`(() => { location.hash = '#/settings/agents'; return ''; })()`)
	b.waitJS("settings title", `() => document.title.includes('Settings · Parley')`)
	b.waitJS("one h1, naming the view", `() => document.querySelectorAll('h1').length - document.querySelectorAll('#login h1').length === 1 &&
		document.querySelector('#view-title').textContent === 'Settings'`)
	b.waitJS("each agent's Save is named for its agent", `() => {
		const names = [...document.querySelectorAll('#agent-list button[type=submit]')].map((b) => b.getAttribute('aria-label') || '');
		return names.length > 0 && names.every((n) => n.startsWith('Save ')) && new Set(names).size === names.length;
	}`)
	b.noScriptErrors()
}

// waitTicket waits until the stored ticket is as ok wants, with a deadline.
func waitTicket(t *testing.T, f *fixture, id int64, what string, ok func(*crm.Ticket) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tk, err := f.db.Ticket(crm.AsSystem(context.Background()), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(tk) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s: %+v", what, tk)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKeyboardWalk signs in, opens a ticket, replies and resolves with key presses only,
// checking where focus is after each step and what the live region said.
func TestKeyboardWalk(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("walk-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is it?")
	b := f.newTab(t)
	b.do(chromedp.Navigate(f.srv.URL+"/#/inbox/open"), chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.Focus(chromedp.CSS("#login-email")))
	b.do(chromedp.KeyEvent("ada@test.example"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(password), chromedp.KeyEvent(kb.Enter))
	b.waitJS("signed in and live", `() => !!document.querySelector('#conn[data-state="live"]')`)
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, id), "Parcel late")

	b.do(chromedp.KeyEvent("j"))
	b.waitJS("j opens the ticket, focus on its heading", `() => document.activeElement && document.activeElement.id === 'ticket-subject'`)
	b.do(chromedp.KeyEvent("r"))
	b.waitJS("r goes to the reply box", `() => document.activeElement && document.activeElement.id === 'reply-body'`)
	b.do(chromedp.KeyEvent("It ships today."), chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitJS("announced", `(want) => document.querySelector('#announcer').textContent === want`, "Reply sent")
	b.waitText("#thread .msg.dir-out .text", "It ships today.")
	b.do(chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("e"))
	b.waitJS("announced", `(want) => document.querySelector('#announcer').textContent === want`, fmt.Sprintf("Ticket #%d is resolved", id))
	waitTicket(t, f, id, "resolved", func(tk *crm.Ticket) bool { return tk.Status == crm.StatusResolved })
	b.noScriptErrors()
}

// TestShortcuts works a ticket with the keys the shortcuts sheet lists: assign to me,
// pending, select for a bulk change, next and previous.
func TestShortcuts(t *testing.T) {
	f := newFixture(t)
	older := f.inbound("keys-1", "Otto Other", "otto@example.com", "Wrong size", "Can I swap it?")
	id := f.inbound("keys-2", "Alice Shopper", "alice@example.com", "Parcel late", "Where is it?")
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, id), "Parcel late")

	b.do(chromedp.KeyEvent("?"))
	b.waitJS("the sheet lists the shortcuts", `() => { const d = document.querySelector('#help'); return d.open &&
		['Assign the open ticket to me', 'Set the open ticket to pending', 'Select the open ticket'].every((s) => d.textContent.includes(s)); }`)
	b.do(chromedp.KeyEvent(kb.Escape))
	b.waitJS("the sheet closes", `() => !document.querySelector('#help').open`)

	b.do(chromedp.KeyEvent("j"))
	b.waitJS("j opens the newest ticket", `() => document.activeElement && document.activeElement.id === 'ticket-subject'`)
	b.do(chromedp.KeyEvent("x"))
	b.waitJS("x selects it", `(id) => document.querySelector('#list-body input.pick[data-id="' + id + '"]').checked && !document.querySelector('#bulk-bar').hidden`, id)
	b.do(chromedp.KeyEvent("x"))
	b.waitJS("x again unselects it", `() => document.querySelector('#bulk-bar').hidden`)

	b.do(chromedp.KeyEvent("j"))
	b.waitJS("j opens the next ticket", `(id) => location.hash === '#/tickets/' + id`, older)
	b.do(chromedp.KeyEvent("k"))
	b.waitJS("k goes back", `(id) => location.hash === '#/tickets/' + id`, id)
	b.waitText("#ticket-subject", "Parcel late")
	b.do(chromedp.KeyEvent("a"))
	b.waitJS("a assigns it to me", `() => document.querySelector('#t-assignee').selectedOptions[0].textContent === 'Ada Admin (me)'`)
	waitTicket(t, f, id, "assigned to Ada", func(tk *crm.Ticket) bool { return tk.AssigneeID != nil && *tk.AssigneeID == f.admin.ID })
	b.do(chromedp.KeyEvent("p"))
	b.waitJS("p sets it pending", `() => document.querySelector('#t-status').value === 'pending'`)
	waitTicket(t, f, id, "pending", func(tk *crm.Ticket) bool { return tk.Status == crm.StatusPending })

	b.noScriptErrors()
}

// TestLiveChangesReachTheOpenTicket: a ticket opened from the list has the focus on its
// heading, and what a rule or the classifier changes a moment later shows in its head at
// once, the focus staying on the heading; while the agent is in one of the head's fields
// it is left alone, and the change shows when they leave it.
func TestLiveChangesReachTheOpenTicket(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("live-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is it?")
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	b.do(chromedp.Focus(chromedp.CSS(fmt.Sprintf(`.ticket-row[data-id="%d"] a`, id))))
	b.do(chromedp.KeyEvent("j"))
	b.waitJS("focus on the opened ticket's heading", `() => document.activeElement && document.activeElement.id === 'ticket-subject'`)

	sys := crm.AsSystem(context.Background())
	tags, high := []string{"vip"}, crm.PriorityHigh
	if _, err := f.db.UpdateTicket(sys, id, crm.TicketUpdate{Tags: &tags, Priority: &high}); err != nil {
		t.Fatal(err)
	}
	b.waitJS("the live tags and priority in the head", `() => document.querySelector('#t-tags').value === 'vip' && document.querySelector('#t-priority').value === 'high'`)
	b.waitJS("focus still on the heading", `() => document.activeElement && document.activeElement.id === 'ticket-subject'`)

	// In a field: not redrawn under the agent's hands, redrawn when they leave it.
	b.eval(`(() => { const el = document.querySelector('#t-tags'); el.focus(); el.dataset.mark = 'typing'; return ''; })()`)
	tags = []string{"vip", "late"}
	if _, err := f.db.UpdateTicket(sys, id, crm.TicketUpdate{Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	// Events come in order: once the customer's next message shows, the change came too.
	if _, err := f.db.Ingest(sys, &crm.Inbound{InboxID: f.inbox, TicketID: id, ExternalID: "live-2", Channel: crm.ChannelAPI,
		FromName: "Alice Shopper", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@example.com"}}, Text: "Any news?"}); err != nil {
		t.Fatal(err)
	}
	b.waitText("#thread", "Any news?")
	if got := b.eval(`document.querySelector('#t-tags').dataset.mark || 'redrawn'`); got != "typing" {
		t.Fatalf("the field the agent was in was redrawn (%s)", got)
	}
	// Leaving the field for Resolve: the head is drawn anew and Resolve keeps the focus.
	b.eval(`(() => { document.querySelector('#resolve').focus(); return ''; })()`)
	b.waitJS("the change shows once the agent left the field", `() => document.querySelector('#t-tags').value === 'late, vip'`)
	b.waitJS("the focus on Resolve, where the agent went", `() => document.activeElement && document.activeElement.id === 'resolve'`)
	b.noScriptErrors()
}
