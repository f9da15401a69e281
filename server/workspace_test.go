package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"parley/crm"
	"parley/notify"
)

// runNotifier runs the notification worker on the env's store and bus until the test ends.
func runNotifier(t *testing.T, e *env) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := notify.New(notify.Options{Store: e.db, Bus: e.bus, Poll: 50 * time.Millisecond})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

type viewOut struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Shared      bool            `json:"shared"`
	Count       int             `json:"count"`
	CountCapped bool            `json:"count_capped"`
	Filters     crm.ViewFilters `json:"filters"`
	Sort        string          `json:"sort"`
}

func TestViewsAPI(t *testing.T) {
	e := newEnv(t)
	one, two := e.inbox(crm.KindAPI, "One"), e.inbox(crm.KindAPI, "Two")
	ann := e.agent("ann@shop.example", crm.RoleAgent, one)
	bob := e.agent("bob@shop.example", crm.RoleAgent, two)
	boss := e.agent("boss@shop.example", crm.RoleManager)
	for i := range 3 {
		e.inbound(one, fmt.Sprint("o", i), fmt.Sprintf("o%d@example.com", i), "parcel")
	}
	e.inbound(two, "t0", "t0@example.com", "parcel")

	var mine viewOut
	ann.mustDo("POST", "/api/v1/views", map[string]any{"name": "Open", "filters": map[string]any{"status": "open"}, "sort": "oldest_waiting"}, 201, &mine)
	if mine.Count != 3 || mine.Shared || mine.Sort != "oldest_waiting" {
		t.Fatalf("created view %+v, want a personal view counting 3", mine)
	}
	if status, body := ann.do("POST", "/api/v1/views", map[string]any{"name": "All", "shared": true}); status != 403 {
		t.Fatalf("an agent creates a shared view: %d %s", status, body)
	}
	var shared viewOut
	boss.mustDo("POST", "/api/v1/views", map[string]any{"name": "All open", "filters": map[string]any{"status": "open"}, "shared": true}, 201, &shared)
	if shared.Count != 4 || !shared.Shared {
		t.Fatalf("manager's shared view %+v", shared)
	}
	// Each agent's counts cover only its inboxes.
	for _, tc := range []struct {
		c     *client
		names []string
		count []int
	}{{ann, []string{"All open", "Open"}, []int{3, 3}}, {bob, []string{"All open"}, []int{1}}} {
		var out struct{ Views []viewOut }
		tc.c.mustDo("GET", "/api/v1/views", nil, 200, &out)
		if len(out.Views) != len(tc.names) {
			t.Fatalf("views %+v, want %v", out.Views, tc.names)
		}
		for i, v := range out.Views {
			if v.Name != tc.names[i] || v.Count != tc.count[i] {
				t.Errorf("view %d = %s (%d), want %s (%d)", i, v.Name, v.Count, tc.names[i], tc.count[i])
			}
		}
	}
	// Another agent's personal view is 404, whatever the method.
	path := "/api/v1/views/" + itoa(mine.ID)
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		if status, body := bob.do(m, path, map[string]any{"name": "x"}); status != 404 {
			t.Fatalf("bob %s ann's view: %d %s", m, status, body)
		}
	}
	if status, _ := ann.do("PATCH", "/api/v1/views/"+itoa(shared.ID), map[string]any{"name": "x"}); status != 403 {
		t.Fatalf("an agent renames a shared view: %d", status)
	}
	for _, body := range []map[string]any{{"name": ""}, {"sort": "random"}, {"filters": map[string]any{"status": "nope"}}, {"filters": map[string]any{"assignee": "her"}}} {
		if status, resp := ann.do("PATCH", path, body); status != 400 {
			t.Fatalf("PATCH %v: %d %s", body, status, resp)
		}
	}
	var renamed viewOut
	ann.mustDo("PATCH", path, map[string]any{"name": "Mine", "filters": map[string]any{"status": "open", "assignee": "me"}}, 200, &renamed)
	if renamed.Name != "Mine" || renamed.Count != 0 || renamed.Filters.Assignee != "me" {
		t.Fatalf("renamed %+v", renamed)
	}
	ann.mustDo("DELETE", path, nil, 204, nil)
	if status, _ := ann.do("GET", path, nil); status != 404 {
		t.Fatalf("deleted view answers %d", status)
	}
}

func TestTicketSortAndSnoozeAPI(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "Shop")
	ann := e.agent("ann@shop.example", crm.RoleAgent, inbox)
	a := e.inbound(inbox, "a", "a@example.com", "first")
	b := e.inbound(inbox, "b", "b@example.com", "second")
	for _, q := range []string{"sort=alphabetical", "snoozed=maybe"} {
		if status, body := ann.do("GET", "/api/v1/tickets?"+q, nil); status != 400 {
			t.Fatalf("GET ?%s: %d %s", q, status, body)
		}
	}
	var list struct {
		Tickets []struct {
			ID           int64      `json:"id"`
			SnoozedUntil *time.Time `json:"snoozed_until"`
		}
		NextCursor string `json:"next_cursor"`
	}
	ann.mustDo("GET", "/api/v1/tickets?sort=oldest_waiting&limit=1", nil, 200, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != a.TicketID || list.NextCursor == "" {
		t.Fatalf("oldest waiting first: %+v", list)
	}
	ann.mustDo("GET", "/api/v1/tickets?sort=oldest_waiting&limit=1&cursor="+list.NextCursor, nil, 200, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != b.TicketID {
		t.Fatalf("oldest waiting, page 2: %+v", list)
	}
	path := "/api/v1/tickets/" + itoa(a.TicketID)
	for _, body := range []string{`{"snoozed_until":"tomorrow"}`, `{"snoozed_until":"2001-01-01T00:00:00Z"}`, `{"snooze_until_reply":"yes"}`} {
		if status, resp := ann.do("PATCH", path, body); status != 400 {
			t.Fatalf("PATCH %s: %d %s", body, status, resp)
		}
	}
	until := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	var tk struct {
		SnoozedUntil     *time.Time `json:"snoozed_until"`
		SnoozeUntilReply bool       `json:"snooze_until_reply"`
	}
	ann.mustDo("PATCH", path, map[string]any{"snoozed_until": until, "snooze_until_reply": true}, 200, &tk)
	if tk.SnoozedUntil == nil || !tk.SnoozedUntil.Equal(until) || !tk.SnoozeUntilReply {
		t.Fatalf("snoozed ticket %+v", tk)
	}
	ann.mustDo("GET", "/api/v1/tickets?status=open", nil, 200, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != b.TicketID {
		t.Fatalf("open list shows a snoozed ticket: %+v", list)
	}
	ann.mustDo("GET", "/api/v1/tickets?snoozed=only", nil, 200, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != a.TicketID || list.Tickets[0].SnoozedUntil == nil {
		t.Fatalf("snoozed list: %+v", list)
	}
	ann.mustDo("PATCH", path, `{"snoozed_until":null}`, 200, &tk)
	if tk.SnoozedUntil != nil || tk.SnoozeUntilReply {
		t.Fatalf("unsnoozed ticket %+v", tk)
	}
}

type notificationsOut struct {
	Notifications []struct {
		ID       int64  `json:"id"`
		Kind     string `json:"kind"`
		TicketID int64  `json:"ticket_id"`
		Text     string `json:"text"`
		Actor    struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"actor"`
	} `json:"notifications"`
	Unread int `json:"unread"`
}

// waitNotifications polls the agent's notifications until there are n.
func waitNotifications(t *testing.T, c *client, n int) notificationsOut {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out notificationsOut
		c.mustDo("GET", "/api/v1/notifications", nil, 200, &out)
		if len(out.Notifications) >= n || time.Now().After(deadline) {
			if len(out.Notifications) != n {
				t.Fatalf("%d notifications, want %d: %+v", len(out.Notifications), n, out)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNotificationsAPI(t *testing.T) {
	e := newHubEnv(t)
	runNotifier(t, e.env)
	one, two := e.inbox(crm.KindAPI, "One"), e.inbox(crm.KindAPI, "Two")
	ann := e.agent("ann@shop.example", crm.RoleAgent, one)
	bea := e.agent("bea@shop.example", crm.RoleAgent, one)
	cid := e.agent("cid@shop.example", crm.RoleAgent, two) // may not see inbox one
	annID, beaID := e.agentID("ann@shop.example"), e.agentID("bea@shop.example")
	for _, x := range []struct {
		c    *client
		name string
	}{{ann, "Ann Archer"}, {bea, "Bea Baker"}, {cid, "Cid Cole"}} {
		x.c.mustDo("PATCH", "/api/v1/me", map[string]any{"name": x.name}, 200, nil)
	}
	beaWS := e.dial(bea)
	annWS := e.dial(ann)
	var r inboundResult
	e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": one, "external_id": "m1", "thread_key": "order-1",
		"from": map[string]string{"email": "shopper@example.com"}, "subject": "Parcel", "text": "where is it"}, 201, &r)

	// Ann assigns to Bea and mentions her and Cid in a note: Bea hears of both, Cid (no
	// access to the inbox) of nothing, Ann (who acted) of nothing.
	ann.mustDo("PATCH", "/api/v1/tickets/"+itoa(r.TicketID), map[string]any{"assignee_id": beaID}, 200, nil)
	ann.mustDo("POST", "/api/v1/tickets/"+itoa(r.TicketID)+"/messages", map[string]any{"body": "@bea baker can you check? cc @Cid Cole", "internal": true}, 201, nil)
	got := waitNotifications(t, bea, 2)
	if got.Unread != 2 || got.Notifications[0].Kind != crm.NotifyMention || got.Notifications[1].Kind != crm.NotifyAssigned ||
		got.Notifications[0].Actor.Name != "Ann Archer" {
		t.Fatalf("bea's notifications %+v", got)
	}
	f := beaWS.waitFor("notification", func(f wsFrame) bool { return f.Type == crm.EventNotification && f.str("kind") == crm.NotifyMention })
	if f.num("ticket_id") != r.TicketID {
		t.Fatalf("notification frame %s", f.raw)
	}
	// The customer replies on Bea's ticket.
	e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": one, "external_id": "m2", "thread_key": "order-1",
		"from": map[string]string{"email": "shopper@example.com"}, "text": "any news?"}, 201, nil)
	got = waitNotifications(t, bea, 3)
	if got.Notifications[0].Kind != crm.NotifyCustomerReplied || got.Notifications[0].Text != "any news?" {
		t.Fatalf("reply notification %+v", got.Notifications[0])
	}
	waitNotifications(t, cid, 0)
	waitNotifications(t, ann, 0)

	var read struct{ Unread int }
	if status, _ := bea.do("POST", "/api/v1/notifications/read", map[string]any{}); status != 400 {
		t.Fatalf("read without ids answers %d", status)
	}
	bea.mustDo("POST", "/api/v1/notifications/read", map[string]any{"ids": []int64{got.Notifications[0].ID}}, 200, &read)
	if read.Unread != 2 {
		t.Fatalf("unread after one read %d", read.Unread)
	}
	bea.mustDo("POST", "/api/v1/notifications/read", map[string]any{"all": true}, 200, &read)
	if read.Unread != 0 {
		t.Fatalf("unread after all read %d", read.Unread)
	}
	// Preferences hold: without mentions, a mention tells nothing.
	bea.mustDo("PATCH", "/api/v1/me", map[string]any{"notifications": map[string]bool{"assigned": true, "customer_replied": true, "sla_warning": true, "mentions": false}}, 200, nil)
	ann.mustDo("POST", "/api/v1/tickets/"+itoa(r.TicketID)+"/messages", map[string]any{"body": "@Bea again", "internal": true}, 201, nil)
	ann.mustDo("PATCH", "/api/v1/tickets/"+itoa(r.TicketID), map[string]any{"assignee_id": annID}, 200, nil)
	ann.mustDo("PATCH", "/api/v1/tickets/"+itoa(r.TicketID), map[string]any{"assignee_id": beaID}, 200, nil)
	got = waitNotifications(t, bea, 4) // the assignment, not the mention
	if got.Notifications[0].Kind != crm.NotifyAssigned {
		t.Fatalf("after the second assignment %+v", got.Notifications[0])
	}
	// Ann's socket had every ticket event and none of Bea's notifications.
	annWS.waitFor("the last assignment", func(f wsFrame) bool {
		return f.Type == crm.EventTicketUpdated && f.num("assignee_id") == beaID && f.raw != ""
	})
	annWS.never(`"type":"notification"`)
}
