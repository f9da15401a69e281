package notify_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/notify"
)

func TestMentioned(t *testing.T) {
	agents := []*crm.Agent{
		{ID: 1, Name: "Ada"},
		{ID: 2, Name: "Ada Lovelace"},
		{ID: 3, Name: "Bea  Baker"},
		{ID: 4, Name: "Cid Cole", Disabled: true},
		{ID: 5, Name: "Dan Dorn"},
		{ID: 6, Name: "Dan Drake"},
	}
	for _, tc := range []struct {
		text string
		want []int64
	}{
		{"@ada please", []int64{1}},
		{"@Ada Lovelace please", []int64{2}},            // the longest name wins
		{"@ADA LOVELACE, @ada and @ada", []int64{2, 1}}, // each once, in order
		{"@bea baker: look", []int64{3}},
		{"@bea look", []int64{3}}, // a first name no one else has
		{"@dan look", nil},        // two Dans: no one
		{"@dan drake look", []int64{6}},
		{"ada@example.com", nil},  // an address
		{"@adam is not Ada", nil}, // a longer word
		{"@cid cole", nil},        // disabled
		{"(@Bea Baker)", []int64{3}},
		{"no mention at all", nil},
	} {
		if got := notify.Mentioned(tc.text, agents); !slices.Equal(got, tc.want) {
			t.Errorf("Mentioned(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestWakeAndSLAWarning: the worker wakes a snoozed ticket when its time came and tells
// its assignee; a live SLA warning tells the assignee once, however often it comes.
func TestWakeAndSLAWarning(t *testing.T) {
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	ctx := crm.AsSystem(context.Background())
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateAgent(ctx, &crm.NewAgent{Email: "ann@example.com", Name: "Ann", Role: crm.RoleAgent, Password: "correct horse", InboxIDs: []int64{in.ID}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelAPI, ExternalID: "1", Subject: "Help", Text: "help",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "c@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	// Assigned and snoozed before the notifier starts: only what comes after is told.
	if _, err := db.UpdateTicket(ctx, res.TicketID, crm.TicketUpdate{AssigneeID: &a.ID, Snooze: &crm.Snooze{Until: &until}}); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	w := notify.New(notify.Options{Store: db, Bus: bus, Now: func() time.Time { return clock }, Poll: time.Hour})
	sub := bus.Subscribe(64)
	defer sub.Close()
	if _, err := db.NotifyCursor(ctx); err != nil { // from here on
		t.Fatal(err)
	}
	if err := w.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	clock = until.Add(time.Second)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	kinds := func() []string {
		list, _, _, err := db.AgentNotifications(crm.WithAgent(context.Background(), a), crm.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range list {
			out = append(out, n.Kind)
		}
		return out
	}
	waitKinds := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Equal(kinds(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("notifications %v, want %v", kinds(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitKinds(crm.NotifySnoozeEnded)
	for e := range sub.C {
		if e.Type == crm.EventNotification {
			var n crm.Notification
			if err := json.Unmarshal(e.Data, &n); err != nil || n.AgentID != a.ID || n.Kind != crm.NotifySnoozeEnded {
				t.Fatalf("live notification %s", e.Data)
			}
			break
		}
	}
	if tk, _ := db.Ticket(ctx, res.TicketID); tk.Snoozed() || tk.AssigneeID == nil || *tk.AssigneeID != a.ID {
		t.Fatalf("woken ticket %+v", tk)
	}
	data, _ := json.Marshal(map[string]any{"ticket_id": res.TicketID, "target": crm.TargetFirstResponse, "due_at": until})
	for range 2 {
		bus.Publish(&crm.Event{Type: crm.EventSLAWarning, TicketID: res.TicketID, InboxID: in.ID, Actor: crm.Actor{Kind: "system"}, Data: data})
	}
	waitKinds(crm.NotifySLAWarning, crm.NotifySnoozeEnded)
}
