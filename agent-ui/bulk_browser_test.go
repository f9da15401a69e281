package agentui_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"parley/crm"
)

// TestBulkActions selects tickets in the list (a checkbox, then shift-click for the
// range, then all in view) and changes them from the bulk bar: status, a tag, and a
// merge of two tickets of one customer.
func TestBulkActions(t *testing.T) {
	f := newFixture(t)
	a1 := f.inbound("bk-1", "Alice", "alice@example.com", "Parcel late", "Where is it?")
	a2 := f.inbound("bk-2", "Alice", "alice@example.com", "Also the invoice", "Please send it.")
	b1 := f.inbound("bk-3", "Bob", "bob@example.com", "Refund", "I want my money back.")
	c1 := f.inbound("bk-4", "Cy", "cy@example.com", "Size", "Do you have XL?")
	if a1 == a2 {
		t.Fatal("Alice's two messages share a ticket")
	}
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	for _, id := range []int64{a1, a2, b1, c1} {
		b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, id), "#")
	}
	ctx := crm.AsSystem(context.Background())
	ticket := func(id int64) *crm.Ticket {
		t.Helper()
		tk, err := f.db.Ticket(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}

	// The list is newest first: c1, b1, a2, a1. Pick c1, then shift-click a2: three.
	b.click(fmt.Sprintf(`.ticket-row[data-id="%d"] input.pick`, c1))
	b.waitText("#bulk-count", "1 ticket selected")
	b.eval(fmt.Sprintf(`(() => { document.querySelector('.ticket-row[data-id="%d"] input.pick').dispatchEvent(new MouseEvent('click', {bubbles: true, shiftKey: true})); return ''; })()`, a2))
	b.waitText("#bulk-count", "3 tickets selected")
	b.shot("bulk-bar")
	b.eval(`(() => { const s = document.querySelector('#bulk-set-status'); s.value = 'pending'; s.dispatchEvent(new Event('change')); return ''; })()`)
	b.waitText("#bulk-status", "Changed 3 tickets.")
	for _, id := range []int64{c1, b1, a2} {
		if st := ticket(id).Status; st != crm.StatusPending {
			t.Errorf("ticket %d is %s, want pending", id, st)
		}
	}
	if st := ticket(a1).Status; st != crm.StatusOpen {
		t.Errorf("the ticket not picked is %s", st)
	}
	b.waitJS("the bar is gone with the selection", `() => document.querySelector('#bulk-bar').hidden`)

	// In Pending: all three in view, tagged at once.
	b.eval(`(() => { location.hash = '#/inbox/pending'; return ''; })()`)
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, b1), "Refund")
	b.click(fmt.Sprintf(`.ticket-row[data-id="%d"] input.pick`, b1))
	b.click("#bulk-all")
	b.waitText("#bulk-count", "3 tickets selected")
	b.eval(`(() => { document.querySelector('#bulk-tag').value = 'VIP'; return ''; })()`)
	b.click("#bulk-add-tag")
	b.waitText("#bulk-status", "Changed 3 tickets.")
	for _, id := range []int64{c1, b1, a2} {
		if tags := ticket(id).Tags; !slices.Contains(tags, "vip") {
			t.Errorf("ticket %d tags %v", id, tags)
		}
	}

	// Alice's two tickets merge into the older one; Bob's, picked too, is refused and
	// stays picked with the reason shown.
	b.eval(`(() => { location.hash = '#/inbox/open'; return ''; })()`)
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, a1), "Parcel late")
	b.eval(`(() => { window.confirm = () => true; return ''; })()`)
	b.eval(`(() => { location.hash = '#/inbox/pending'; return ''; })()`)
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, a2), "Also the invoice")
	// a1 is open and a2 pending: pick from a search that shows both.
	b.eval(`(() => { location.hash = '#/search/alice'; return ''; })()`)
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, a1), "Parcel late")
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, a2), "Also the invoice")
	b.click(fmt.Sprintf(`.ticket-row[data-id="%d"] input.pick`, a1))
	b.click(fmt.Sprintf(`.ticket-row[data-id="%d"] input.pick`, a2))
	b.waitText("#bulk-count", "2 tickets selected")
	b.click("#bulk-merge")
	b.waitText("#bulk-status", fmt.Sprintf("Merged into #%d.", a1))
	if st := ticket(a2).Status; st != crm.StatusClosed {
		t.Errorf("the merged ticket is %s, want closed", st)
	}
	b.noScriptErrors()
}
