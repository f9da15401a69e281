package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Workspace_Sorts", testWorkspaceSorts)
	add("Workspace_Snooze", testWorkspaceSnooze)
	add("Workspace_Views", testWorkspaceViews)
	add("Workspace_Notifications", testWorkspaceNotifications)
}

// pageAll reads every page of f, limit tickets a page, and fails on a ticket seen twice.
func pageAll(t *testing.T, db Store, ctx context.Context, f crm.TicketFilter, limit int) []int64 {
	t.Helper()
	var ids []int64
	seen := map[int64]bool{}
	f.Limit = limit
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		tickets, next, err := db.Tickets(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tickets {
			if seen[tk.ID] {
				t.Fatalf("sort %s: ticket %d on two pages", f.Sort, tk.ID)
			}
			seen[tk.ID] = true
			ids = append(ids, tk.ID)
		}
		if next == "" {
			return ids
		}
		f.Cursor = next
	}
}

func testWorkspaceSorts(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	agent := MustCreateAgent(t, db, "sorter@example.com", crm.RoleAgent, inbox.ID)
	actx := crm.WithAgent(context.Background(), agent)
	prios := []string{crm.PriorityLow, crm.PriorityNormal, crm.PriorityHigh, crm.PriorityUrgent}
	type row struct {
		id       int64
		last     time.Time
		prio     string
		waiting  *time.Time
		due      int64 // ms; max without a pending target
		answered bool
	}
	const maxKey = int64(1<<63 - 1)
	var rows []*row
	var sla []*crm.TicketSLA
	for i := range 23 {
		if i%4 != 0 { // ties on the time
			db.Clock.Add(time.Second)
		}
		res := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint("s", i), Text: "help",
			From: email(fmt.Sprintf("sort%d@example.com", i))})
		r := &row{id: res.TicketID, prio: prios[(i*7)%4], due: maxKey}
		if r.prio != crm.PriorityNormal {
			if _, err := db.UpdateTicket(ctx, r.id, crm.TicketUpdate{Priority: &r.prio}); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 { // answered: nobody waits
			if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: r.id, Body: "on it"}); err != nil {
				t.Fatal(err)
			}
			r.answered = true
		}
		if i%5 != 0 {
			due := db.Clock.Now().Add(time.Duration((i*37)%11) * time.Hour)
			s := &crm.TicketSLA{TicketID: r.id, InboxID: inbox.ID, Status: crm.StatusOpen, Priority: r.prio, PolicyID: 1,
				CreatedAt: db.Clock.Now(), FirstResponseDue: &due}
			if i%2 == 0 { // first response met: the resolution is what is due
				res := due.Add(30 * time.Minute)
				s.FirstResponseAt, s.ResolutionDue = ptr(db.Clock.Now()), &res
				due = res
			}
			sla = append(sla, s)
			r.due = due.UnixMilli()
		}
		rows = append(rows, r)
	}
	if err := db.SaveProjection(ctx, &crm.Projection{Rows: sla}); err != nil {
		t.Fatal(err)
	}
	// A customer writes again on an answered ticket: it waits from now.
	db.Clock.Add(time.Minute)
	MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "again", Text: "still there?", TicketID: rows[0].id,
		From: email("sort0@example.com")})
	rows[0].answered = false
	for _, r := range rows {
		tk := MustTicket(t, db, r.id)
		r.last, r.waiting = tk.LastMessageAt, tk.WaitingSince
		if (r.waiting == nil) != r.answered {
			t.Fatalf("ticket %d waiting since %v, answered %v", r.id, r.waiting, r.answered)
		}
	}
	rank := func(p string) int { return slices.Index(prios, p) }
	waitKey := func(r *row) int64 {
		if r.waiting == nil {
			return maxKey
		}
		return r.waiting.UnixMilli()
	}
	cmp64 := func(a, b int64) int {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	orders := map[string]func(a, b *row) int{
		crm.SortNewest: func(a, b *row) int {
			if c := b.last.Compare(a.last); c != 0 {
				return c
			}
			return cmp64(b.id, a.id)
		},
		crm.SortOldestWaiting: func(a, b *row) int {
			if c := cmp64(waitKey(a), waitKey(b)); c != 0 {
				return c
			}
			return cmp64(a.id, b.id)
		},
		crm.SortSLADue: func(a, b *row) int {
			if c := cmp64(a.due, b.due); c != 0 {
				return c
			}
			return cmp64(a.id, b.id)
		},
		crm.SortPriority: func(a, b *row) int {
			if c := rank(b.prio) - rank(a.prio); c != 0 {
				return c
			}
			if c := b.last.Compare(a.last); c != 0 {
				return c
			}
			return cmp64(b.id, a.id)
		},
	}
	for name, cmp := range orders {
		want := slices.Clone(rows)
		slices.SortFunc(want, cmp)
		var wantIDs []int64
		for _, r := range want {
			wantIDs = append(wantIDs, r.id)
		}
		for _, limit := range []int{4, 7, 50} {
			got := pageAll(t, db, actx, crm.TicketFilter{Sort: name}, limit)
			if !slices.Equal(got, wantIDs) {
				t.Errorf("sort %s, %d a page:\n got %v\nwant %v", name, limit, got, wantIDs)
			}
		}
	}
	// The default sort is newest.
	if got, want := pageAll(t, db, actx, crm.TicketFilter{}, 5), pageAll(t, db, actx, crm.TicketFilter{Sort: crm.SortNewest}, 5); !slices.Equal(got, want) {
		t.Errorf("default order %v, newest %v", got, want)
	}
	_, _, err := db.Tickets(actx, crm.TicketFilter{Sort: "alphabetical"})
	wantCode(t, err, crm.EINVALID)
	_, next, err := db.Tickets(actx, crm.TicketFilter{Sort: crm.SortPriority, Page: crm.Page{Limit: 3}})
	if err != nil || next == "" {
		t.Fatal(next, err)
	}
	_, _, err = db.Tickets(actx, crm.TicketFilter{Sort: crm.SortSLADue, Page: crm.Page{Limit: 3, Cursor: next}})
	wantCode(t, err, crm.EINVALID)
}

func testWorkspaceSnooze(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	agent := MustCreateAgent(t, db, "snoozer@example.com", crm.RoleAgent, inbox.ID)
	actx := crm.WithAgent(context.Background(), agent)
	a := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "a", Text: "a", From: email("a@example.com")})
	b := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "b", Text: "b", From: email("b@example.com")})
	if _, err := db.UpdateTicket(actx, a.TicketID, crm.TicketUpdate{AssigneeID: &agent.ID}); err != nil {
		t.Fatal(err)
	}
	listed := func(f crm.TicketFilter) []int64 {
		t.Helper()
		return pageAll(t, db, actx, f, 50)
	}
	// Bad snoozes change nothing.
	for _, s := range []*crm.Snooze{{Until: ptr(db.Clock.Now().Add(-time.Minute))}, {Until: ptr(db.Clock.Now().Add(400 * 24 * time.Hour))}} {
		_, err := db.UpdateTicket(actx, a.TicketID, crm.TicketUpdate{Snooze: s})
		wantCode(t, err, crm.EINVALID)
	}
	until := db.Clock.Now().Add(2 * time.Hour)
	tk, err := db.UpdateTicket(actx, a.TicketID, crm.TicketUpdate{Snooze: &crm.Snooze{Until: &until}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.SnoozedUntil == nil || !tk.SnoozedUntil.Equal(until) || !tk.Snoozed() {
		t.Fatalf("snoozed_until = %v, want %v", tk.SnoozedUntil, until)
	}
	if got := listed(crm.TicketFilter{Status: crm.StatusOpen}); !slices.Equal(got, []int64{b.TicketID}) {
		t.Fatalf("open list %v, want only %d", got, b.TicketID)
	}
	if got := listed(crm.TicketFilter{Snoozed: crm.SnoozedOnly}); !slices.Equal(got, []int64{a.TicketID}) {
		t.Fatalf("snoozed list %v, want %d", got, a.TicketID)
	}
	if got := listed(crm.TicketFilter{Snoozed: crm.SnoozedAny}); len(got) != 2 {
		t.Fatalf("any list %v", got)
	}
	if n, err := db.CountTickets(actx, crm.TicketFilter{Status: crm.StatusOpen}, 10); err != nil || n != 1 {
		t.Fatalf("count open = %d, %v", n, err)
	}
	_, _, err = db.Tickets(actx, crm.TicketFilter{Snoozed: "maybe"})
	wantCode(t, err, crm.EINVALID)

	// Not yet due: the waker leaves it.
	if n, err := db.WakeSnoozed(ctx, db.Clock.Now()); err != nil || n != 0 {
		t.Fatalf("woke %d, %v", n, err)
	}
	db.Clock.Add(2*time.Hour + time.Second)
	sub := db.Bus.Subscribe(64)
	defer sub.Close()
	if n, err := db.WakeSnoozed(ctx, db.Clock.Now()); err != nil || n != 1 {
		t.Fatalf("woke %d, %v; want 1", n, err)
	}
	tk = MustTicket(t, db, a.TicketID)
	if tk.Snoozed() || tk.Status != crm.StatusOpen || tk.AssigneeID == nil || *tk.AssigneeID != agent.ID {
		t.Fatalf("woken ticket: snoozed %v, status %s, assignee %v", tk.Snoozed(), tk.Status, tk.AssigneeID)
	}
	e := waitEvent(t, sub, crm.EventTicketUpdated)
	var data crm.Ticket
	if err := json.Unmarshal(e.Data, &data); err != nil {
		t.Fatal(err)
	}
	if e.Actor.Kind != "system" || data.SnoozeEnded != crm.SnoozeEndedTime || data.SnoozedUntil != nil {
		t.Fatalf("wake event actor %+v, data snooze_ended %q snoozed_until %v", e.Actor, data.SnoozeEnded, data.SnoozedUntil)
	}
	if got := listed(crm.TicketFilter{Status: crm.StatusOpen}); len(got) != 2 {
		t.Fatalf("open list after the wake %v", got)
	}

	// Until the customer replies, set on a pending ticket: the reply brings it back.
	pending := crm.StatusPending
	if _, err := db.UpdateTicket(actx, b.TicketID, crm.TicketUpdate{Status: &pending, Snooze: &crm.Snooze{UntilReply: true}}); err != nil {
		t.Fatal(err)
	}
	if got := listed(crm.TicketFilter{}); !slices.Equal(got, []int64{a.TicketID}) {
		t.Fatalf("list with b snoozed %v", got)
	}
	db.Clock.Add(time.Hour)
	if n, _ := db.WakeSnoozed(ctx, db.Clock.Now()); n != 0 {
		t.Fatalf("the waker woke a ticket snoozed until a reply")
	}
	MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "b2", Text: "any news?", TicketID: b.TicketID, From: email("b@example.com")})
	for e = waitEvent(t, sub, crm.EventTicketUpdated); e.Actor.Kind != "customer"; e = waitEvent(t, sub, crm.EventTicketUpdated) {
	}
	data = crm.Ticket{}
	if err := json.Unmarshal(e.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.ID != b.TicketID || data.SnoozeEnded != crm.SnoozeEndedReply || data.Status != crm.StatusOpen {
		t.Fatalf("reply event: ticket %d snooze_ended %q status %s", data.ID, data.SnoozeEnded, data.Status)
	}
	if tk := MustTicket(t, db, b.TicketID); tk.Snoozed() || tk.Status != crm.StatusOpen {
		t.Fatalf("after the reply: snoozed %v status %s", tk.Snoozed(), tk.Status)
	}

	// Null unsnoozes; a closed ticket takes no snooze.
	if _, err := db.UpdateTicket(actx, a.TicketID, crm.TicketUpdate{Snooze: &crm.Snooze{Until: ptr(db.Clock.Now().Add(time.Hour)), UntilReply: true}}); err != nil {
		t.Fatal(err)
	}
	if tk, err := db.UpdateTicket(actx, a.TicketID, crm.TicketUpdate{Snooze: &crm.Snooze{}}); err != nil || tk.Snoozed() {
		t.Fatalf("unsnooze: %v, %v", tk, err)
	}
	closed := crm.StatusClosed
	if _, err := db.UpdateTicket(actx, a.TicketID, crm.TicketUpdate{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateTicket(actx, a.TicketID, crm.TicketUpdate{Snooze: &crm.Snooze{UntilReply: true}})
	wantCode(t, err, crm.ECONFLICT)
}

// waitEvent returns the next event of type typ on sub.
func waitEvent(t *testing.T, sub *crm.Subscription, typ string) *crm.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Type == typ {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", typ)
		}
	}
}

func testWorkspaceViews(t *testing.T, open Opener) {
	db := open(t, Options{})
	one := MustCreateInbox(t, db, crm.KindAPI, "One")
	two := MustCreateInbox(t, db, crm.KindAPI, "Two")
	ann := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent, one.ID)
	bob := MustCreateAgent(t, db, "bob@example.com", crm.RoleAgent, two.ID)
	boss := MustCreateAgent(t, db, "boss@example.com", crm.RoleManager)
	actx, bctx, mctx := crm.WithAgent(context.Background(), ann), crm.WithAgent(context.Background(), bob), crm.WithAgent(context.Background(), boss)
	for i := range 3 {
		MustIngest(t, db, &crm.Inbound{InboxID: one.ID, ExternalID: fmt.Sprint("o", i), Text: "x", From: email(fmt.Sprintf("o%d@example.com", i))})
	}
	MustIngest(t, db, &crm.Inbound{InboxID: two.ID, ExternalID: "t", Text: "x", From: email("t@example.com")})

	mine, err := db.CreateView(actx, &crm.View{Name: "  My open  ", Filters: crm.ViewFilters{Status: crm.StatusOpen, Assignee: "me"}, Sort: crm.SortPriority})
	if err != nil {
		t.Fatal(err)
	}
	if mine.Name != "My open" || mine.Shared || mine.OwnerID == nil || *mine.OwnerID != ann.ID || mine.Sort != crm.SortPriority {
		t.Fatalf("personal view %+v", mine)
	}
	_, err = db.CreateView(actx, &crm.View{Name: "Everyone", Shared: true})
	wantCode(t, err, crm.EFORBIDDEN)
	shared, err := db.CreateView(mctx, &crm.View{Name: "All open", Filters: crm.ViewFilters{Status: crm.StatusOpen}, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	if !shared.Shared || shared.OwnerID != nil || shared.Sort != crm.SortNewest {
		t.Fatalf("shared view %+v", shared)
	}
	for _, v := range []*crm.View{
		{Name: ""}, {Name: "x", Sort: "random"}, {Name: "x", Filters: crm.ViewFilters{Status: "nope"}},
		{Name: "x", Filters: crm.ViewFilters{Assignee: "someone"}}, {Name: "x", Filters: crm.ViewFilters{Snoozed: "maybe"}},
	} {
		_, err := db.CreateView(actx, v)
		wantCode(t, err, crm.EINVALID)
	}
	names := func(ctx context.Context) []string {
		list, err := db.Views(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range list {
			out = append(out, v.Name)
		}
		return out
	}
	if got := names(actx); !slices.Equal(got, []string{"All open", "My open"}) {
		t.Fatalf("ann's views %v", got)
	}
	if got := names(bctx); !slices.Equal(got, []string{"All open"}) {
		t.Fatalf("bob's views %v", got)
	}
	// Another agent's personal view is not found, whatever is asked of it.
	_, err = db.View(bctx, mine.ID)
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.UpdateView(bctx, mine.ID, crm.ViewUpdate{Name: ptr("mine now")})
	wantCode(t, err, crm.ENOTFOUND)
	wantCode(t, db.DeleteView(bctx, mine.ID), crm.ENOTFOUND)
	// An agent changes no shared view.
	_, err = db.UpdateView(actx, shared.ID, crm.ViewUpdate{Name: ptr("renamed")})
	wantCode(t, err, crm.EFORBIDDEN)
	wantCode(t, db.DeleteView(actx, shared.ID), crm.EFORBIDDEN)
	v, err := db.UpdateView(actx, mine.ID, crm.ViewUpdate{Name: ptr("Mine"), Sort: ptr(crm.SortOldestWaiting)})
	if err != nil || v.Name != "Mine" || v.Sort != crm.SortOldestWaiting || v.Filters.Status != crm.StatusOpen {
		t.Fatalf("renamed view %+v, %v", v, err)
	}
	_, err = db.UpdateView(actx, mine.ID, crm.ViewUpdate{Sort: ptr("random")})
	wantCode(t, err, crm.EINVALID)

	// Counts see what the agent sees.
	f := crm.TicketFilter{Status: crm.StatusOpen}
	for _, tc := range []struct {
		ctx  context.Context
		want int
	}{{actx, 3}, {bctx, 1}, {mctx, 4}} {
		if n, err := db.CountTickets(tc.ctx, f, 999); err != nil || n != tc.want {
			t.Errorf("count = %d, %v; want %d", n, err, tc.want)
		}
	}
	if n, err := db.CountTickets(mctx, f, 2); err != nil || n != 3 {
		t.Errorf("capped count = %d, %v; want 3 (limit+1)", n, err)
	}
	if n, err := db.CountTickets(context.Background(), f, 999); err != nil || n != 0 {
		t.Errorf("nobody's count = %d, %v", n, err)
	}

	if err := db.DeleteView(actx, mine.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.View(actx, mine.ID)
	wantCode(t, err, crm.ENOTFOUND)
	if err := db.DeleteView(mctx, shared.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(actx); len(got) != 0 {
		t.Fatalf("views left %v", got)
	}
}

func testWorkspaceNotifications(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	one := MustCreateInbox(t, db, crm.KindAPI, "One")
	two := MustCreateInbox(t, db, crm.KindAPI, "Two")
	ann := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent, one.ID)
	actx := crm.WithAgent(context.Background(), ann)
	r1 := MustIngest(t, db, &crm.Inbound{InboxID: one.ID, ExternalID: "1", Subject: "Where is my order", Text: "x", From: email("n1@example.com")})
	r2 := MustIngest(t, db, &crm.Inbound{InboxID: two.ID, ExternalID: "2", Text: "x", From: email("n2@example.com")})

	// The cursor starts at the newest event: history is not notified.
	events, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	after, err := db.NotifyCursor(ctx)
	if err != nil || after != events[len(events)-1].ID {
		t.Fatalf("cursor %d, %v; newest event %d", after, err, events[len(events)-1].ID)
	}
	list := []*crm.Notification{
		{AgentID: ann.ID, Kind: crm.NotifyMention, TicketID: r1.TicketID, InboxID: one.ID, Actor: crm.ActorRef{Kind: "agent", ID: ann.ID}, Text: "hi @ann", Dedupe: "e1/mention"},
		{AgentID: ann.ID, Kind: crm.NotifyAssigned, TicketID: r1.TicketID, InboxID: one.ID, Actor: crm.ActorRef{Kind: "system"}, Text: "Assigned", Dedupe: "e2/assigned"},
		// A ticket of an inbox ann no longer sees (an agent's inboxes change) is not shown.
		{AgentID: ann.ID, Kind: crm.NotifyCustomerReplied, TicketID: r2.TicketID, InboxID: two.ID, Text: "x", Dedupe: "e3/replied"},
	}
	saved, err := db.SaveNotifications(ctx, list, after+5)
	if err != nil || len(saved) != 3 {
		t.Fatalf("saved %d, %v", len(saved), err)
	}
	if saved[0].Subject != "Where is my order" || saved[0].Actor.Name != ann.Name || saved[0].ReadAt != nil {
		t.Fatalf("saved notification %+v", saved[0])
	}
	if c, _ := db.NotifyCursor(ctx); c != after+5 {
		t.Fatalf("cursor %d, want %d", c, after+5)
	}
	// Saved again (an event read twice): nothing new.
	if again, err := db.SaveNotifications(ctx, list[:1], 0); err != nil || len(again) != 0 {
		t.Fatalf("saved again %d, %v", len(again), err)
	}
	got, unread, _, err := db.AgentNotifications(actx, crm.Page{})
	if err != nil || len(got) != 2 || unread != 2 || got[0].Kind != crm.NotifyAssigned {
		t.Fatalf("ann's notifications %d, unread %d, %v", len(got), unread, err)
	}
	page, _, next, err := db.AgentNotifications(actx, crm.Page{Limit: 1})
	if err != nil || len(page) != 1 || next == "" {
		t.Fatalf("page 1: %d %q %v", len(page), next, err)
	}
	if page2, _, _, err := db.AgentNotifications(actx, crm.Page{Limit: 1, Cursor: next}); err != nil || len(page2) != 1 || page2[0].ID == page[0].ID {
		t.Fatalf("page 2: %v %v", page2, err)
	}
	if n, err := db.MarkNotificationsRead(actx, []int64{got[1].ID}, false); err != nil || n != 1 {
		t.Fatalf("unread after one read = %d, %v", n, err)
	}
	_, err = db.MarkNotificationsRead(actx, nil, false)
	wantCode(t, err, crm.EINVALID)
	// Another agent cannot mark ann's read, nor see them.
	bob := MustCreateAgent(t, db, "bob@example.com", crm.RoleManager)
	bctx := crm.WithAgent(context.Background(), bob)
	if n, err := db.MarkNotificationsRead(bctx, nil, true); err != nil || n != 0 {
		t.Fatalf("bob marks all: %d %v", n, err)
	}
	if b, unread, _, _ := db.AgentNotifications(bctx, crm.Page{}); len(b) != 0 || unread != 0 {
		t.Fatalf("bob sees %d", len(b))
	}
	if n, err := db.MarkNotificationsRead(actx, nil, true); err != nil || n != 0 {
		t.Fatalf("unread after all read = %d, %v", n, err)
	}
	got, _, _, _ = db.AgentNotifications(actx, crm.Page{})
	if got[0].ReadAt == nil {
		t.Fatal("read_at not set")
	}

	// TicketBefore: the ticket as the event before the given one left it.
	prio := crm.PriorityUrgent
	if _, err := db.UpdateTicket(ctx, r1.TicketID, crm.TicketUpdate{Priority: &prio}); err != nil {
		t.Fatal(err)
	}
	hist, err := db.TicketHistory(ctx, r1.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	before, err := db.TicketBefore(ctx, r1.TicketID, last.ID)
	if err != nil || before == nil || before.Priority != crm.PriorityNormal {
		t.Fatalf("ticket before: %+v, %v", before, err)
	}
	if none, err := db.TicketBefore(ctx, r1.TicketID, 1); err != nil || none != nil {
		t.Fatalf("before the first event: %+v, %v", none, err)
	}
}
