package agentui_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/assign"
	"parley/crm"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// runAssigner runs the auto-assignment worker beside the fixture's server, as
// cmd/parley does, with the server's presence.
func runAssigner(t *testing.T, f *fixture) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		assign.New(assign.Options{Store: f.db, Bus: f.bus, Online: f.server.AgentOnline, Poll: 200 * time.Millisecond}).Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// setSelect picks a value of a select as a mouse would.
func setSelect(b *tab, sel, value string) {
	b.t.Helper()
	b.waitJS("waiting for "+sel, `(sel, v) => { const s = document.querySelector(sel); if (!s || s.disabled || ![...s.options].some((o) => o.value === v)) return false;
		s.value = v; s.dispatchEvent(new Event('change', {bubbles: true})); return true; }`, sel, value)
}

// TestAutoAssignmentOnScreen: a manager makes a team and turns on round-robin for the
// inbox on the Teams screen; Ann, away, gets nothing; once she is available the waiting
// ticket lands in her Mine folder, assigned by the system. The ticket screen puts a
// ticket in the team.
func TestAutoAssignmentOnScreen(t *testing.T) {
	f := newFixture(t)
	ann := f.agent("ann@test.example", "Ann Agent", crm.RoleAgent, f.inbox)
	runAssigner(t, f)

	ada := f.newTab(t)
	ada.login("ada@test.example", "#/settings/teams")
	ada.waitText("#team-create", "Add a team")
	ada.do(chromedp.SendKeys(chromedp.CSS("#nt-name"), "Front line"))
	ada.click(fmt.Sprintf(`#team-create input[name="nt-members"][value="%d"]`, ann.ID))
	setSelect(ada, "#nt-assignment", "round_robin")
	ada.click(`#team-create button[type=submit]`)
	ada.waitJS("the team is listed", `() => { const f = document.querySelector('#teams-list form'); return !!f && f.elements.namedItem('name').value === 'Front line' && f.elements.namedItem('assignment').value === 'round_robin'; }`)
	setSelect(ada, fmt.Sprintf("#ia-%d", f.inbox), "round_robin")
	ada.do(chromedp.SetValue(chromedp.CSS("#cap-api"), "2"))
	ada.click(`#assignment-form button[type=submit]`)
	ada.waitText("#assignment-status", "Saved")
	ada.shot("teams-page")
	// Replying assigns by default; the manager turns it off here.
	ada.waitJS("assign on reply is on", `() => document.querySelector('#assign-on-reply').checked`)
	ada.click("#assign-on-reply")
	ada.waitText("#workflow-status", "Saved")
	if w, err := f.db.WorkflowSettings(crm.AsSystem(context.Background())); err != nil || w.AssignOnReply {
		t.Fatalf("workflow settings after unticking: %+v, %v", w, err)
	}
	ctx := crm.AsSystem(context.Background())
	s, err := f.db.AssignmentSettings(ctx)
	if err != nil || s.InboxMode(f.inbox) != crm.AssignRoundRobin || s.CapacityOf(ann.ID, crm.ChannelAPI) != 2 {
		t.Fatalf("settings saved: %+v, %v", s, err)
	}
	teams, _ := f.db.Teams(ctx)
	if len(teams) != 1 || teams[0].Name != "Front line" || !slices.Equal(teams[0].AgentIDs, []int64{ann.ID}) {
		t.Fatalf("teams saved: %+v", teams)
	}

	// Ada, a member of the inbox too, is away; Ann signs in and says she is away:
	// nothing comes to either.
	setSelect(ada, "#my-availability", "away")
	ada.waitJS("away saved", `() => document.querySelector('#my-availability').dataset.state === 'away'`)
	b := f.newTab(t)
	b.login("ann@test.example", "#/inbox/mine")
	setSelect(b, "#my-availability", "away")
	b.waitJS("away saved", `() => document.querySelector('#my-availability').dataset.state === 'away'`)
	id := f.inbound("aa-1", "Alice", "alice@example.com", "Where is my parcel?", "It is late.")
	// The worker has seen the new ticket when a round after it has run; it stays waiting.
	w := assign.New(assign.Options{Store: f.db, Online: f.server.AgentOnline})
	if n := w.Round(ctx); n != 0 {
		t.Fatalf("a round assigned %d tickets while Ann is away", n)
	}
	if tk, _ := f.db.Ticket(ctx, id); tk.AssigneeID != nil {
		t.Fatalf("ticket went to %d while Ann is away", *tk.AssigneeID)
	}
	// Available: the ticket lands on her.
	setSelect(b, "#my-availability", "available")
	b.waitText(fmt.Sprintf(`#list-body .ticket-row[data-id="%d"]`, id), "Where is my parcel?")
	b.shot("auto-assigned")
	tk, _ := f.db.Ticket(ctx, id)
	if tk.AssigneeID == nil || *tk.AssigneeID != ann.ID {
		t.Fatalf("ticket assignee %v, want Ann", tk.AssigneeID)
	}
	events, _ := f.db.Events(ctx, 0, 1000)
	var by crm.Actor
	for _, e := range events {
		if e.Type == crm.EventTicketUpdated && e.TicketID == id {
			by = e.Actor
		}
	}
	if by.Kind != "system" {
		t.Errorf("assignment by %+v, want the system", by)
	}

	// The ticket screen's Team puts the ticket in the team.
	b.eval(fmt.Sprintf(`(() => { location.hash = '#/tickets/%d'; return ''; })()`, id))
	b.waitText("#ticket-subject", "Where is my parcel?")
	setSelect(b, "#t-team", fmt.Sprint(teams[0].ID))
	deadline := time.Now().Add(10 * time.Second)
	for {
		tk, _ = f.db.Ticket(ctx, id)
		if tk.TeamID != nil && *tk.TeamID == teams[0].ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket team %v", tk.TeamID)
		}
		b.waitJS("a moment", `() => new Promise((r) => setTimeout(() => r(true), 50))`)
	}
	// The list's Team filter shows the team's tickets.
	other := f.inbound("aa-2", "Bob", "bob@example.com", "Not in the team", "Hello")
	b.eval(`(() => { location.hash = '#/inbox/open'; return ''; })()`)
	b.waitText(fmt.Sprintf(`#list-body .ticket-row[data-id="%d"]`, other), "Not in the team")
	setSelect(b, "#f-team", fmt.Sprint(teams[0].ID))
	b.waitJS("only the team's ticket is listed", `(id, other) => !!document.querySelector('#list-body .ticket-row[data-id="' + id + '"]') &&
		!document.querySelector('#list-body .ticket-row[data-id="' + other + '"]')`, id, other)
	b.noScriptErrors()
	ada.noScriptErrors()
}

// TestMacroFromComposer: an agent makes a macro on the Macros screen, then applies it to
// a ticket from the composer's menu with the keyboard: the ticket changes at once and
// the reply, placeholders filled in, waits in the reply box until the agent sends it.
func TestMacroFromComposer(t *testing.T) {
	f := newFixture(t)
	f.agent("ann@test.example", "Ann Agent", crm.RoleAgent, f.inbox)
	id := f.inbound("mc-1", "Alice Shopper", "alice@example.com", "Refund please", "I sent it back.")
	b := f.newTab(t)
	b.login("ann@test.example", "#/settings/macros")
	b.waitText("#macro-new", "Add a macro")
	b.do(chromedp.SendKeys(chromedp.CSS("#mn-new"), "Refund on its way"),
		chromedp.SendKeys(chromedp.CSS("#mb-new"), "Hi {{customer.first_name}}, your refund for #{{ticket.id}} is on its way."),
		chromedp.SendKeys(chromedp.CSS("#mat-new"), "refund"))
	setSelect(b, "#ms-new", "pending")
	b.click(`#macro-new button[type=submit]`)
	b.waitJS("the macro is listed", `() => { const i = document.querySelector('#macro-mine input[name=name]'); return !!i && i.value === 'Refund on its way' && document.activeElement === i; }`)
	b.shot("macros-page")

	b.eval(fmt.Sprintf(`(() => { location.hash = '#/tickets/%d'; return ''; })()`, id))
	b.waitText("#ticket-subject", "Refund please")
	b.waitJS("the macro menu lists it", `() => [...document.querySelectorAll('#macro-select option')].some((o) => o.textContent === 'Refund on its way')`)
	b.do(chromedp.Focus(chromedp.CSS("#macro-select")), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	want := fmt.Sprintf("Hi Alice, your refund for #%d is on its way.", id)
	b.waitJS("the reply waits in the box", `(want) => document.querySelector('#reply-body').value === want`, want)
	b.waitJS("the status shows pending", `() => document.querySelector('#t-status').value === 'pending'`)
	b.waitJS("the tag shows", `() => document.querySelector('#t-tags').value.includes('refund')`)
	b.shot("macro-in-composer")
	ctx := crm.AsSystem(context.Background())
	msgs, _, _ := f.db.Messages(ctx, id, crm.Page{})
	if len(msgs) != 1 {
		t.Fatalf("the macro sent something: %d messages", len(msgs))
	}
	b.click("#send")
	b.waitText("#thread", "is on its way")
	msgs, _, _ = f.db.Messages(ctx, id, crm.Page{})
	if last := msgs[len(msgs)-1]; last.Direction != crm.DirOut || last.Text != want {
		t.Errorf("sent %+v", last)
	}
	b.noScriptErrors()
}

// TestMacroInBulk: an agent picks two tickets and applies a shared macro from the bulk
// bar: both change and each gets the macro's reply.
func TestMacroInBulk(t *testing.T) {
	f := newFixture(t)
	ctx := crm.AsSystem(context.Background())
	m, err := f.db.CreateMacro(crm.WithAgent(ctx, f.admin), &crm.Macro{Name: "Close as shipped", Shared: true,
		Body: "Hi {{customer.first_name}}, it has shipped.", Actions: crm.MacroActions{Status: crm.StatusResolved, AddTags: []string{"shipped"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.agent("ann@test.example", "Ann Agent", crm.RoleAgent, f.inbox)
	a := f.inbound("mb-1", "Alice", "alice@example.com", "Parcel?", "Where?")
	c := f.inbound("mb-2", "Bob", "bob@example.com", "Parcel too?", "Where is mine?")
	b := f.newTab(t)
	b.login("ann@test.example", "#/inbox/open")
	for _, id := range []int64{a, c} {
		b.click(fmt.Sprintf(`.ticket-row[data-id="%d"] input.pick`, id))
	}
	b.waitText("#bulk-count", "2 tickets selected")
	b.shot("bulk-macro")
	setSelect(b, "#bulk-macro", fmt.Sprint(m.ID))
	b.waitText("#bulk-status", "Applied Close as shipped to 2 tickets.")
	for id, name := range map[int64]string{a: "Alice", c: "Bob"} {
		tk, _ := f.db.Ticket(ctx, id)
		if tk.Status != crm.StatusResolved || !slices.Contains(tk.Tags, "shipped") {
			t.Errorf("ticket %d after the macro: %+v", id, tk)
		}
		msgs, _, _ := f.db.Messages(ctx, id, crm.Page{})
		if last := msgs[len(msgs)-1]; last.Direction != crm.DirOut || last.Text != "Hi "+name+", it has shipped." {
			t.Errorf("ticket %d last message %+v", id, last)
		}
	}
	b.noScriptErrors()
}
