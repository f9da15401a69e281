package assign_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"parley/assign"
	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
)

func view(agents ...*crm.AssignAgent) *assign.View {
	st := &crm.AssignState{Settings: crm.DefaultAssignmentSettings(), Agents: agents,
		Teams: []*crm.Team{{ID: 7, Name: "Billing", Assignment: crm.AssignRoundRobin, AgentIDs: []int64{3}}}}
	return assign.NewView(st, func(id int64) bool { return id != 4 }) // agent 4 has no socket
}

func TestDecide(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	agents := func() []*crm.AssignAgent {
		return []*crm.AssignAgent{
			{ID: 1, Availability: crm.Available, InboxIDs: []int64{1}, LastAssigned: at(30), Load: map[string]int{crm.ChannelChat: 1}},
			{ID: 2, Availability: crm.Available, InboxIDs: []int64{1}, LastAssigned: at(10), Load: map[string]int{crm.ChannelChat: 2, crm.ChannelEmail: 5}},
			{ID: 3, Availability: crm.Available, InboxIDs: []int64{1, 2}, TeamIDs: []int64{7}, LastAssigned: at(20), Load: map[string]int{}},
			{ID: 4, Availability: crm.Available, InboxIDs: []int64{1}, Load: map[string]int{}},                                        // offline
			{ID: 5, Availability: crm.Away, InboxIDs: []int64{1}, Load: map[string]int{}},                                             // away
			{ID: 6, Availability: crm.Available, InboxIDs: []int64{9}, Load: map[string]int{}},                                        // other inbox
			{ID: 8, Availability: crm.Available, InboxIDs: []int64{1}, LastAssigned: at(5), Load: map[string]int{crm.ChannelChat: 3}}, // full
		}
	}
	for _, c := range []struct {
		name string
		t    crm.WaitingTicket
		want int64
	}{
		{"round robin: longest since last", crm.WaitingTicket{InboxID: 1, Channel: crm.ChannelChat, Mode: crm.AssignRoundRobin}, 2},
		{"least loaded", crm.WaitingTicket{InboxID: 1, Channel: crm.ChannelChat, Mode: crm.AssignLeastLoaded}, 3},
		{"team members only", crm.WaitingTicket{InboxID: 1, TeamID: 7, Channel: crm.ChannelChat, Mode: crm.AssignRoundRobin}, 3},
		{"off", crm.WaitingTicket{InboxID: 1, Channel: crm.ChannelChat, Mode: crm.AssignOff}, 0},
		{"nobody in the inbox", crm.WaitingTicket{InboxID: 5, Channel: crm.ChannelChat, Mode: crm.AssignRoundRobin}, 0},
	} {
		got, _, ok := view(agents()...).Decide(&c.t)
		if !ok {
			got = 0
		}
		if got != c.want {
			t.Errorf("%s: agent %d, want %d", c.name, got, c.want)
		}
	}
	// Capacity: with chat 3, agents 1, 2 and 3 take 2, 1 and 3 more chats, then nobody.
	v := view(agents()...)
	got := map[int64]int{}
	for range 10 {
		a, c, ok := v.Decide(&crm.WaitingTicket{InboxID: 1, Channel: crm.ChannelChat, Mode: crm.AssignRoundRobin})
		if !ok {
			break
		}
		if c != 3 {
			t.Fatalf("capacity %d", c)
		}
		v.Took(a, crm.ChannelChat, time.Now())
		got[a]++
	}
	if fmt.Sprint(got) != fmt.Sprint(map[int64]int{1: 2, 2: 1, 3: 3}) {
		t.Errorf("handed out %v", got)
	}
}

// TestWorker runs the worker's rounds on a real store: new tickets of an inbox with
// round-robin go to the available, online agents in turn; an agent offline longer than
// the setting loses its unanswered tickets back to the queue, and they go to the other.
func TestWorker(t *testing.T) {
	env := teststore.Open(t, teststore.Options{})
	db := env.Store
	ctx := crm.AsSystem(context.Background())
	chat := storetest.MustCreateInbox(t, db, crm.KindChat, "Chat")
	ann := storetest.MustCreateAgent(t, db, "ann@test.example", crm.RoleAgent, chat.ID)
	bob := storetest.MustCreateAgent(t, db, "bob@test.example", crm.RoleAgent, chat.ID)
	s := crm.DefaultAssignmentSettings()
	s.Inboxes = []crm.InboxAssignment{{InboxID: chat.ID, Mode: crm.AssignRoundRobin}}
	s.Capacity[crm.ChannelChat] = 2
	s.OfflineMinutes = 15
	if _, err := db.UpdateAssignmentSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	online := map[int64]bool{ann.ID: true, bob.ID: true}
	now := time.Now()
	w := assign.New(assign.Options{Store: db, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Online: func(id int64) bool { mu.Lock(); defer mu.Unlock(); return online[id] }})
	var ids []int64
	for i := range 5 {
		res := storetest.MustIngest(t, db, &crm.Inbound{InboxID: chat.ID, Channel: crm.ChannelChat, ExternalID: fmt.Sprint(i),
			ThreadKey: fmt.Sprint(i), From: []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("c%d@test.example", i)}},
			Subject: "Hi", Text: "hello"})
		ids = append(ids, res.TicketID)
	}
	if n := w.Round(ctx); n != 4 {
		t.Fatalf("round assigned %d, want 4 (two agents, chat capacity 2)", n)
	}
	per := map[int64]int{}
	for _, id := range ids {
		if a := storetest.MustTicket(t, db, id).AssigneeID; a != nil {
			per[*a]++
		}
	}
	if per[ann.ID] != 2 || per[bob.ID] != 2 {
		t.Fatalf("assigned %v", per)
	}
	// Bob goes offline; after 15 minutes his tickets, still unanswered, go to the queue
	// and Ann, who resolved one of hers, gets one of them.
	mu.Lock()
	online[bob.ID] = false
	mu.Unlock()
	w.Round(ctx)
	mine, _, _ := db.Tickets(ctx, crm.TicketFilter{AssigneeID: ann.ID})
	resolved := crm.StatusResolved
	if _, err := db.UpdateTicket(ctx, mine[0].ID, crm.TicketUpdate{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(16 * time.Minute)
	mu.Unlock()
	if n := w.Round(ctx); n != 1 {
		t.Fatalf("after bob's absence assigned %d, want 1", n)
	}
	if got, _, _ := db.Tickets(ctx, crm.TicketFilter{AssigneeID: bob.ID}); len(got) != 0 {
		t.Errorf("bob still holds %d tickets", len(got))
	}
	if got, _, _ := db.Tickets(ctx, crm.TicketFilter{AssigneeID: ann.ID, Status: crm.StatusOpen}); len(got) != 2 {
		t.Errorf("ann holds %d open tickets, want 2", len(got))
	}
	if got, _, _ := db.Tickets(ctx, crm.TicketFilter{Unassigned: true, Status: crm.StatusOpen}); len(got) != 2 {
		t.Errorf("%d tickets wait, want 2", len(got))
	}
}

// BenchmarkDecide is one decision with 500 agents online; make bench reports its p99
// as assign_p99_ms (cmd/parley-bench).
func BenchmarkDecide(b *testing.B) {
	st := &crm.AssignState{Settings: crm.DefaultAssignmentSettings()}
	for i := range 500 {
		st.Agents = append(st.Agents, &crm.AssignAgent{ID: int64(i + 1), Availability: crm.Available,
			InboxIDs: []int64{int64(i%20 + 1), int64((i+7)%20 + 1)}, Load: map[string]int{crm.ChannelEmail: i % 14}})
	}
	v := assign.NewView(st, func(int64) bool { return true })
	w := &crm.WaitingTicket{InboxID: 3, Channel: crm.ChannelEmail, Mode: crm.AssignLeastLoaded}
	for b.Loop() {
		v.Decide(w)
	}
}
