package agentui_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/crm"
	"parley/notify"
)

// runNotifier runs the notification worker (and snooze waker) of the fixture until the
// test ends, as cmd/parley does under its lease.
func (f *fixture) runNotifier(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := notify.New(notify.Options{Store: f.db, Bus: f.bus, Poll: 100 * time.Millisecond})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// axeClean fails the test on serious accessibility violations of what the tab shows,
// when PARLEY_AXE names axe-core (see TestAccessibilityScan).
func (b *tab) axeClean(what string) {
	b.t.Helper()
	if os.Getenv("PARLEY_AXE") == "" {
		return
	}
	for _, v := range b.scan(axeSource(b.t)) {
		b.t.Errorf("%s: %s (%s) %s at %v", what, v.ID, v.Impact, v.Help, v.Targets)
	}
}

// TestSavedViewLiveCount saves the list shown as a view from the sidebar: the view lists
// with its count, which goes up live when a ticket arrives; it is renamed and deleted
// from the screen.
func TestSavedViewLiveCount(t *testing.T) {
	f := newFixture(t)
	b := f.newTab(t)
	f.inbound("v1", "Alice", "alice@example.com", "Broken lamp", "The lamp is broken.")
	b.login("ada@test.example", "#/inbox/open")
	b.waitText("#list-body", "Broken lamp")

	b.click("#save-view")
	b.waitJS("the name field has the focus", `() => document.activeElement && document.activeElement.id === 'view-name'`)
	b.do(chromedp.SendKeys(chromedp.CSS("#view-name"), "Everything open"), chromedp.Click(chromedp.CSS("#view-save")))
	b.waitJS("the new view is shown", `() => location.hash.startsWith('#/view/') && document.querySelector('#list-title').textContent === 'Everything open'`)
	view := `#view-list .folder[aria-current="page"]`
	b.waitText(view, "Everything open")
	b.waitText(view+" .count", "1")

	// A new ticket: the count follows without a reload.
	f.inbound("v2", "Bob", "bob@example.com", "Late parcel", "Where is it?")
	b.waitText(view+" .count", "2")
	b.waitJS("the count's accessible name", `(sel) => document.querySelector(sel).getAttribute('aria-label') === '2 tickets'`, view+" .count")
	b.waitText("#list-body", "Late parcel")
	b.shot("saved-view-count")

	// Rename and delete from the screen.
	b.click("#rename-view")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#view-name').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#view-name"), "Open tickets\r"))
	b.waitText(view, "Open tickets")
	b.waitText("#list-title", "Open tickets")
	b.click("#delete-view")
	b.click("#view-delete-confirm")
	b.waitJS("the view is gone", `() => !document.querySelector('#view-list .folder') && location.hash === '#/inbox/mine'`)
	views, err := f.db.Views(crm.AsSystem(context.Background()))
	if err != nil || len(views) != 0 {
		t.Fatalf("stored views %v, %v", views, err)
	}
	b.noScriptErrors()
}

// TestListSorting orders the list by priority and by who waits longest.
func TestListSorting(t *testing.T) {
	f := newFixture(t)
	b := f.newTab(t)
	ctx := crm.AsSystem(context.Background())
	a := f.inbound("s1", "Ann", "ann@example.com", "First", "one")
	bb := f.inbound("s2", "Ben", "ben@example.com", "Second", "two")
	c := f.inbound("s3", "Cat", "cat@example.com", "Third", "three")
	for id, p := range map[int64]string{a: crm.PriorityUrgent, bb: crm.PriorityLow} {
		if _, err := f.db.UpdateTicket(ctx, id, crm.TicketUpdate{Priority: &p}); err != nil {
			t.Fatal(err)
		}
	}
	// Ann was answered: she waits no more, though her ticket stays urgent.
	if _, err := f.db.AddMessage(crm.WithAgent(ctx, f.admin), &crm.NewMessage{TicketID: a, Body: "On it"}); err != nil {
		t.Fatal(err)
	}
	b.login("ada@test.example", "#/inbox/open")
	want := func(order ...int64) {
		t.Helper()
		var s []string
		for _, id := range order {
			s = append(s, fmt.Sprint(id))
		}
		b.waitJS("list order "+strings.Join(s, ","), `(want) => [...document.querySelectorAll('#list-body .ticket-row')].map((li) => li.dataset.id).join(',') === want`, strings.Join(s, ","))
	}
	want(a, c, bb) // newest activity first: Ann's reply is the newest
	sortBy := func(v string) {
		b.do(chromedp.SetValue(chromedp.CSS("#list-sort"), v),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#list-sort').dispatchEvent(new Event('change'))`))
	}
	sortBy("priority")
	want(a, c, bb)
	b.waitText("#list-sort option:checked", "Priority")
	sortBy("oldest_waiting")
	want(bb, c, a) // Ben waited longest; Ann waits on nobody
	// A ticket that comes in meanwhile goes where the sort puts it.
	d := f.inbound("s4", "Dan", "dan@example.com", "Fourth", "four")
	want(bb, c, d, a)
	b.shot("sorted-oldest-waiting")
	sortBy("newest")
	want(d, a, c, bb)
	b.noScriptErrors()
}

// TestSnoozeUntilReply snoozes a ticket from its Snooze menu (opened with z): it leaves
// the open list for Snoozed, and comes back to open when the customer writes.
func TestSnoozeUntilReply(t *testing.T) {
	f := newFixture(t)
	b := f.newTab(t)
	res := f.ingest(&crm.Inbound{Channel: crm.ChannelAPI, ExternalID: "z1", ThreadKey: "snooze-1", Subject: "Refund please",
		Text: "I want a refund.", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "zoe@example.com"}}})
	id := res.TicketID
	row := fmt.Sprintf(`.ticket-row[data-id="%d"]`, id)
	b.login("ada@test.example", "#/inbox/open")
	b.waitText(row, "Refund please")
	b.do(chromedp.Click(chromedp.CSS(row + " a")))
	b.waitText("#ticket-subject", "Refund please")

	// z opens the menu on its first item; Esc closes it and gives the focus back.
	b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("z"))
	b.waitJS("the menu is open on its first item", `() => !document.querySelector('#snooze-menu').hidden && document.activeElement.id === 'snooze-later'`)
	b.do(chromedp.KeyEvent("\x1b"))
	b.waitJS("the menu closed to its button", `() => document.querySelector('#snooze-menu').hidden && document.activeElement.id === 'snooze-button'`)
	b.do(chromedp.KeyEvent("\r"))
	b.waitJS("the menu is open again", `() => !document.querySelector('#snooze-menu').hidden`)
	b.do(chromedp.KeyEvent(kb.ArrowDown + kb.ArrowDown + kb.ArrowDown))
	b.waitJS("the arrow keys reach the reply choice", `() => document.activeElement.id === 'snooze-reply'`)
	b.axeClean("the snooze menu")
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitText("#snooze-state", "Snoozed until the customer replies")
	b.waitJS("the focus is back on the button", `() => document.activeElement.id === 'snooze-button'`)
	b.shot("snoozed-ticket")
	b.waitJS("the snoozed ticket leaves the open list", `(sel) => !document.querySelector(sel)`, row)
	if tk := f.ticket(id); !tk.SnoozeUntilReply {
		t.Fatalf("stored ticket is not snoozed: %+v", tk)
	}

	// The Snoozed folder has it.
	b.do(chromedp.Navigate(f.srv.URL + "/#/inbox/snoozed"))
	b.waitText(row, "Refund please")

	// The customer replies: it comes back to open, live.
	b.do(chromedp.Navigate(f.srv.URL + "/#/inbox/open"))
	b.waitText("#list-title", "All open")
	b.waitJS("not in the open list while snoozed", `(sel) => !document.querySelector(sel)`, row)
	f.ingest(&crm.Inbound{Channel: crm.ChannelAPI, ExternalID: "z2", ThreadKey: "snooze-1", Text: "Any news on my refund?",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "zoe@example.com"}}})
	b.waitText(row, "Refund please")
	if tk := f.ticket(id); tk.Snoozed() || tk.Status != crm.StatusOpen {
		t.Fatalf("after the reply: %+v", tk)
	}
	b.do(chromedp.Navigate(f.srv.URL + "/#/inbox/snoozed"))
	b.waitText("#list-title", "Snoozed")
	b.waitJS("the Snoozed folder is empty", `(sel) => !document.querySelector(sel)`, row)
	b.noScriptErrors()
}

// TestMentionNotifiesOtherAgent: Ada mentions Bea in a note, picking her name from the
// list the composer offers; Bea's bell counts it live and its panel lists it.
// A notification opened while the list that opening the panel asked for is still on its
// way stays read: that answer, with the count from before, must not put it back (it
// did, now and then, in TestMentionNotifiesOtherAgent under load).
func TestOpenedNotificationStaysRead(t *testing.T) {
	f := newFixture(t)
	f.runNotifier(t)
	f.agent("bea@test.example", "Bea Baker", crm.RoleAgent, f.inbox)
	id := f.inbound("m1", "Alice", "alice@example.com", "Damaged mug", "The mug arrived broken.")
	bea := f.newTab(t)
	bea.login("bea@test.example", "#/inbox/open")
	bea.waitJS("no unread notifications", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, none unread'`)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), f.admin)
	if _, err := f.db.AddMessage(ctx, &crm.NewMessage{TicketID: id, Body: "Could you check this @Bea Baker please", Internal: true}); err != nil {
		t.Fatal(err)
	}
	bea.waitJS("one unread", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, 1 unread'`)

	// Count the answers to the list: the panel's load is answered only after the click.
	loads := `performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/notifications?')).length`
	bea.eval(`String(performance.setResourceTimingBufferSize(100000))`)
	before, err := strconv.Atoi(bea.eval(`String(` + loads + `)`))
	if err != nil {
		t.Fatal(err)
	}
	release := f.lateAnswer("/api/v1/notifications")
	defer release()
	bea.click("#bell")
	bea.waitText("#notify-list", "Ada Admin mentioned you: Could you check this @Bea Baker please")
	bea.click("#notify-list .notify-item a")
	bea.waitText("#ticket-subject", "Damaged mug")
	bea.waitJS("nothing unread", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, none unread'`)
	release()
	// The late answer arrived, and the list was asked again: an answer from before the
	// notification was read is not what the bell shows.
	bea.waitJS("the late answer and a load after the read arrived", `(n) => `+loads+` >= n + 2`, before)
	bea.waitJS("still nothing unread", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, none unread' && document.querySelector('#bell-count').hidden`)
	bea.noScriptErrors()
}

func TestMentionNotifiesOtherAgent(t *testing.T) {
	f := newFixture(t)
	f.runNotifier(t)
	f.agent("bea@test.example", "Bea Baker", crm.RoleAgent, f.inbox)
	f.agent("cid@test.example", "Cid Cole", crm.RoleAgent, f.inbox)
	id := f.inbound("m1", "Alice", "alice@example.com", "Damaged mug", "The mug arrived broken.")

	bea := f.newTab(t)
	bea.login("bea@test.example", "#/inbox/open")
	bea.waitJS("no unread notifications", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, none unread'`)

	ada := f.newTab(t)
	ada.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	ada.waitText("#ticket-subject", "Damaged mug")
	ada.do(chromedp.Click(chromedp.CSS("#mode-note")), chromedp.SendKeys(chromedp.CSS("#reply-body"), "Could you check this @be"))
	ada.waitText("#mention-list", "Bea Baker")
	ada.waitJS("only Bea matches", `() => document.querySelectorAll('#mention-list [role=option]').length === 1`)
	ada.do(chromedp.KeyEvent(kb.Enter))
	ada.waitJS("the name is written in", `() => document.querySelector('#reply-body').value === 'Could you check this @Bea Baker ' && document.querySelector('#mention-list').hidden`)
	ada.do(chromedp.SendKeys(chromedp.CSS("#reply-body"), "please"), chromedp.Click(chromedp.CSS("#send")))
	ada.waitText("#thread .msg.dir-note .text", "@Bea Baker please")
	// The list as the agent sees it, for the screenshots (a width that hides the box closes it).
	// The box is emptied after the note went: type once it has (keys sent while it was
	// being redrawn were lost under load).
	ada.waitJS("the reply box is empty again", `() => document.querySelector('#reply-body').value === '' && document.querySelector('#mention-list').hidden`)
	ada.do(chromedp.Click(chromedp.CSS("#mode-note")))
	ada.setValue("#reply-body", "and @ci")
	ada.waitText("#mention-list", "Cid Cole")
	ada.shot("mention-list")

	// Bea's bell counts it, live; its panel lists it; Esc closes it back to the bell.
	bea.waitJS("one unread", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, 1 unread' && document.querySelector('#bell-count').textContent === '1'`)
	bea.click("#bell")
	bea.waitText("#notify-list", "Ada Admin mentioned you: Could you check this @Bea Baker please")
	bea.waitText("#notify-list .notify-subject", fmt.Sprintf("#%d Damaged mug", id))
	bea.shot("notification-panel")
	bea.axeClean("the notification panel")
	bea.do(chromedp.KeyEvent("\x1b"))
	bea.waitJS("the panel closed to the bell", `() => document.querySelector('#notify-panel').hidden && document.activeElement.id === 'bell'`)
	// Opening the notification opens the ticket and reads it.
	bea.click("#bell")
	bea.click("#notify-list .notify-item a")
	bea.waitText("#ticket-subject", "Damaged mug")
	bea.waitJS("nothing unread", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, none unread'`)
	ada.waitJS("Ada has no notification of her own note", `() => document.querySelector('#bell').getAttribute('aria-label') === 'Notifications, none unread'`)
	bea.noScriptErrors()
	ada.noScriptErrors()
}
