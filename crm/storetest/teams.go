package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"parley/crm"
)

func init() {
	add("Teams", testTeams)
	add("Availability", testAvailability)
	add("AssignState", testAssignState)
	add("AutoAssignCapacityUnderConcurrency", testAutoAssignConcurrency)
	add("ReturnToQueue", testReturnToQueue)
	add("AssignCursor", testAssignCursor)
}

// mustOpenTicket opens a ticket by hand in the inbox for a new customer.
func mustOpenTicket(tb testing.TB, s Store, inboxID int64, subject string) *crm.Ticket {
	tb.Helper()
	t, err := s.CreateTicket(sys(), &crm.NewTicket{InboxID: inboxID, CustomerName: subject,
		Identities: email(fmt.Sprintf("c%d-%s@test.example", inboxID, subjectKey(subject))), Subject: subject})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func subjectKey(s string) string {
	b := []byte{}
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b = append(b, byte(r))
		}
	}
	return string(b)
}

func testTeams(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	in := MustCreateInbox(t, db, crm.KindEmail, "Support")
	manager := crm.WithAgent(ctx, MustCreateAgent(t, db, "m@test.example", crm.RoleManager))
	ann := MustCreateAgent(t, db, "ann@test.example", crm.RoleAgent, in.ID)
	bob := MustCreateAgent(t, db, "bob@test.example", crm.RoleAgent, in.ID)
	agent := crm.WithAgent(ctx, ann)

	team, err := db.CreateTeam(manager, &crm.Team{Name: " Billing ", AgentIDs: []int64{bob.ID, ann.ID, bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if team.Name != "Billing" || team.Assignment != crm.AssignOff || fmt.Sprint(team.AgentIDs) != fmt.Sprint([]int64{ann.ID, bob.ID}) {
		t.Fatalf("created %+v", team)
	}
	_, err = db.CreateTeam(agent, &crm.Team{Name: "Mine"})
	wantCode(t, err, crm.EFORBIDDEN)
	_, err = db.CreateTeam(manager, &crm.Team{Name: "billing"})
	wantCode(t, err, crm.ECONFLICT)
	_, err = db.CreateTeam(manager, &crm.Team{Name: "X", Assignment: "random"})
	wantCode(t, err, crm.EINVALID)
	_, err = db.CreateTeam(manager, &crm.Team{Name: "X", AgentIDs: []int64{9999}})
	wantCode(t, err, crm.EINVALID)

	mode := crm.AssignLeastLoaded
	if team, err = db.UpdateTeam(manager, team.ID, crm.TeamUpdate{Assignment: &mode, AgentIDs: &[]int64{bob.ID}}); err != nil ||
		team.Assignment != mode || len(team.AgentIDs) != 1 || team.AgentIDs[0] != bob.ID {
		t.Fatalf("updated %+v, %v", team, err)
	}
	list, err := db.Teams(agent)
	if err != nil || len(list) != 1 || list[0].ID != team.ID {
		t.Fatalf("agent reads %v, %v", list, err)
	}

	// A ticket goes to the team, shows it, and the list filters by it.
	tk := mustOpenTicket(t, db, in.ID, "Invoice wrong")
	other := mustOpenTicket(t, db, in.ID, "Other thing")
	if tk.TeamID != nil {
		t.Fatalf("new ticket has team %v", *tk.TeamID)
	}
	if tk, err = db.UpdateTicket(agent, tk.ID, crm.TicketUpdate{TeamID: &team.ID, AssigneeID: &bob.ID}); err != nil ||
		tk.TeamID == nil || *tk.TeamID != team.ID || *tk.AssigneeID != bob.ID {
		t.Fatalf("assigned to team %+v, %v", tk, err)
	}
	got, _, err := db.Tickets(agent, crm.TicketFilter{TeamID: team.ID})
	if err != nil || len(got) != 1 || got[0].ID != tk.ID || *got[0].TeamID != team.ID {
		t.Fatalf("team filter %v, %v", got, err)
	}
	bad := team.ID + 100
	_, err = db.UpdateTicket(agent, other.ID, crm.TicketUpdate{TeamID: &bad})
	wantCode(t, err, crm.EINVALID)
	events, _ := db.Events(ctx, 0, 1000)
	last := events[len(events)-1]
	if last.Type != crm.EventTicketUpdated || last.TicketID != tk.ID || last.Actor.Kind != "agent" || last.Actor.ID != ann.ID {
		t.Fatalf("last event %+v", last)
	}

	// Deleting the team takes its tickets out of it; the assignee stays.
	wantCode(t, db.DeleteTeam(agent, team.ID), crm.EFORBIDDEN)
	if err := db.DeleteTeam(manager, team.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteTeam(manager, team.ID), crm.ENOTFOUND)
	if tk = MustTicket(t, db, tk.ID); tk.TeamID != nil || tk.AssigneeID == nil {
		t.Fatalf("after delete %+v", tk)
	}
	zero := int64(0)
	if tk, err = db.UpdateTicket(agent, tk.ID, crm.TicketUpdate{TeamID: &zero}); err != nil || tk.TeamID != nil {
		t.Fatalf("clear team %+v, %v", tk, err)
	}
}

func testAvailability(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	ann := MustCreateAgent(t, db, "ann@test.example", crm.RoleAgent)
	bob := MustCreateAgent(t, db, "bob@test.example", crm.RoleAgent)
	if ann.Availability != crm.Available {
		t.Fatalf("new agent availability %q", ann.Availability)
	}
	a, err := db.SetAvailability(crm.WithAgent(ctx, ann), ann.ID, crm.Away)
	if err != nil || a.Availability != crm.Away {
		t.Fatalf("set %+v, %v", a, err)
	}
	_, err = db.SetAvailability(crm.WithAgent(ctx, ann), bob.ID, crm.Away)
	wantCode(t, err, crm.EFORBIDDEN)
	_, err = db.SetAvailability(crm.WithAgent(ctx, ann), ann.ID, "busy")
	wantCode(t, err, crm.EINVALID)
	events, _ := db.Events(ctx, 0, 1000)
	last := events[len(events)-1]
	if last.Type != crm.EventAgentUpdated {
		t.Fatalf("last event %s", last.Type)
	}
	db.Reopen(t)
	if a, _ = db.Agent(ctx, ann.ID); a.Availability != crm.Away {
		t.Fatalf("after reopen %q", a.Availability)
	}
}

func testAssignState(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	chat := MustCreateInbox(t, db, crm.KindChat, "Chat")
	mail := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	ann := MustCreateAgent(t, db, "ann@test.example", crm.RoleAgent, chat.ID, mail.ID)
	s := crm.DefaultAssignmentSettings()
	s.Inboxes = []crm.InboxAssignment{{InboxID: chat.ID, Mode: crm.AssignRoundRobin}}
	s.Capacity = map[string]int{crm.ChannelChat: 2}
	s.Agents = []crm.AgentCapacity{{AgentID: ann.ID, Capacity: map[string]int{crm.ChannelChat: 4}}}
	_, err := db.UpdateAssignmentSettings(crm.WithAgent(ctx, ann), s)
	wantCode(t, err, crm.EFORBIDDEN)
	if _, err := db.UpdateAssignmentSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	bad := crm.DefaultAssignmentSettings()
	bad.Inboxes = []crm.InboxAssignment{{InboxID: 999, Mode: crm.AssignRoundRobin}}
	_, err = db.UpdateAssignmentSettings(ctx, bad)
	wantCode(t, err, crm.EINVALID)
	got, err := db.AssignmentSettings(ctx)
	if err != nil || got.InboxMode(chat.ID) != crm.AssignRoundRobin || got.InboxMode(mail.ID) != crm.AssignOff ||
		got.CapacityOf(ann.ID, crm.ChannelChat) != 4 || got.CapacityOf(0, crm.ChannelChat) != 2 || got.CapacityOf(0, crm.ChannelEmail) != 15 {
		t.Fatalf("settings %+v, %v", got, err)
	}

	old := mustOpenTicket(t, db, chat.ID, "old one")
	urgent := mustOpenTicket(t, db, chat.ID, "urgent one")
	p := crm.PriorityUrgent
	if _, err := db.UpdateTicket(ctx, urgent.ID, crm.TicketUpdate{Priority: &p}); err != nil {
		t.Fatal(err)
	}
	mustOpenTicket(t, db, mail.ID, "mail is off")
	mine := mustOpenTicket(t, db, chat.ID, "assigned")
	if _, err := db.UpdateTicket(ctx, mine.ID, crm.TicketUpdate{AssigneeID: &ann.ID}); err != nil {
		t.Fatal(err)
	}
	st, err := db.AssignState(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Waiting) != 2 || st.Waiting[0].ID != urgent.ID || st.Waiting[1].ID != old.ID ||
		st.Waiting[0].Mode != crm.AssignRoundRobin || st.Waiting[0].Channel != crm.ChannelChat {
		t.Fatalf("waiting %+v", st.Waiting)
	}
	var a *crm.AssignAgent
	for _, x := range st.Agents {
		if x.ID == ann.ID {
			a = x
		}
	}
	if a == nil || a.Load[crm.ChannelChat] != 1 || len(a.InboxIDs) != 2 || a.Availability != crm.Available {
		t.Fatalf("agent %+v", a)
	}
}

func testAutoAssignConcurrency(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	chat := MustCreateInbox(t, db, crm.KindChat, "Chat")
	const capacity, tickets, agents = 3, 12, 3
	var ids []int64
	for i := range tickets {
		ids = append(ids, mustOpenTicket(t, db, chat.ID, fmt.Sprintf("chat %d", i)).ID)
	}
	var agentIDs []int64
	for i := range agents {
		agentIDs = append(agentIDs, MustCreateAgent(t, db, fmt.Sprintf("a%d@test.example", i), crm.RoleAgent, chat.ID).ID)
	}
	// Every agent tries every ticket at once: a ticket goes to one agent, and no agent
	// gets more than its capacity.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[int64][]int64{} // ticket -> agents that got it
	for _, a := range agentIDs {
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.AutoAssign(context.Background(), id, a, capacity)
				if err == nil {
					mu.Lock()
					won[id] = append(won[id], a)
					mu.Unlock()
				} else if crm.ErrorCode(err) != crm.ECONFLICT {
					t.Errorf("assign %d to %d: %v", id, a, err)
				}
			}()
		}
	}
	wg.Wait()
	per := map[int64]int{}
	for id, as := range won {
		if len(as) != 1 {
			t.Errorf("ticket %d went to %v", id, as)
		}
		per[as[0]]++
	}
	if len(won) != capacity*agents {
		t.Errorf("%d tickets assigned, want %d", len(won), capacity*agents)
	}
	for _, a := range agentIDs {
		if per[a] > capacity {
			t.Errorf("agent %d got %d tickets, capacity %d", a, per[a], capacity)
		}
		got, _, _ := db.Tickets(ctx, crm.TicketFilter{AssigneeID: a})
		if len(got) != per[a] {
			t.Errorf("agent %d holds %d tickets, assign calls said %d", a, len(got), per[a])
		}
	}
	// Each assignment is a ticket.updated by the system.
	events, _ := db.Events(ctx, 0, 1000)
	n := 0
	for _, e := range events {
		if e.Type == crm.EventTicketUpdated && e.Actor.Kind == "system" {
			n++
		}
	}
	if n != capacity*agents {
		t.Errorf("%d system ticket.updated events, want %d", n, capacity*agents)
	}
	// An agent that is away or at capacity gets nothing; a resolved ticket frees room.
	if _, err := db.AutoAssign(ctx, ids[0], agentIDs[0], capacity); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Errorf("assigned ticket again: %v", err)
	}
	var free int64
	for _, id := range ids {
		if len(won[id]) == 0 {
			free = id
			break
		}
	}
	if _, err := db.AutoAssign(ctx, free, agentIDs[0], capacity); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Errorf("over capacity: %v", err)
	}
	held, _, _ := db.Tickets(ctx, crm.TicketFilter{AssigneeID: agentIDs[0]})
	resolved := crm.StatusResolved
	if _, err := db.UpdateTicket(ctx, held[0].ID, crm.TicketUpdate{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetAvailability(ctx, agentIDs[0], crm.Away); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AutoAssign(ctx, free, agentIDs[0], capacity); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Errorf("away agent got a ticket: %v", err)
	}
	if _, err := db.SetAvailability(ctx, agentIDs[0], crm.Available); err != nil {
		t.Fatal(err)
	}
	if tk, err := db.AutoAssign(ctx, free, agentIDs[0], capacity); err != nil || *tk.AssigneeID != agentIDs[0] {
		t.Errorf("freed agent: %+v, %v", tk, err)
	}
}

func testReturnToQueue(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	chat := MustCreateInbox(t, db, crm.KindChat, "Chat")
	mail := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	ann := MustCreateAgent(t, db, "ann@test.example", crm.RoleAgent, chat.ID, mail.ID)
	s := crm.DefaultAssignmentSettings()
	s.Inboxes = []crm.InboxAssignment{{InboxID: chat.ID, Mode: crm.AssignLeastLoaded}}
	if _, err := db.UpdateAssignmentSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	ingest := func(inbox int64, ext, from string) int64 {
		return MustIngest(t, db, &crm.Inbound{InboxID: inbox, Channel: map[int64]string{chat.ID: crm.ChannelChat, mail.ID: crm.ChannelEmail}[inbox],
			ExternalID: ext, ThreadKey: from, From: email(from), Subject: "Help", Text: "hello"}).TicketID
	}
	waiting := ingest(chat.ID, "m1", "w@test.example")
	answered := ingest(chat.ID, "m2", "x@test.example")
	offMail := ingest(mail.ID, "m3", "y@test.example")
	for _, id := range []int64{waiting, answered, offMail} {
		if _, err := db.UpdateTicket(ctx, id, crm.TicketUpdate{AssigneeID: &ann.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.AddMessage(crm.WithAgent(ctx, ann), &crm.NewMessage{TicketID: answered, Body: "On it"}); err != nil {
		t.Fatal(err)
	}
	n, err := db.ReturnToQueue(ctx, ann.ID)
	if err != nil || n != 1 {
		t.Fatalf("returned %d, %v", n, err)
	}
	if tk := MustTicket(t, db, waiting); tk.AssigneeID != nil {
		t.Errorf("unanswered ticket still assigned")
	}
	for _, id := range []int64{answered, offMail} {
		if tk := MustTicket(t, db, id); tk.AssigneeID == nil {
			t.Errorf("ticket %d returned", id)
		}
	}
	events, _ := db.Events(ctx, 0, 1000)
	last := events[len(events)-1]
	if last.TicketID != waiting || last.Type != crm.EventTicketUpdated || last.Actor.Kind != "system" {
		t.Errorf("last event %+v", last)
	}
}

func testAssignCursor(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	in := MustCreateInbox(t, db, crm.KindChat, "Chat")
	mustOpenTicket(t, db, in.ID, "one")
	start, err := db.AssignCursor(ctx)
	if err != nil || start == 0 {
		t.Fatalf("first cursor %d, %v", start, err)
	}
	if err := db.SetAssignCursor(ctx, start-1); err != nil {
		t.Fatal(err)
	}
	db.Reopen(t)
	if got, err := db.AssignCursor(ctx); err != nil || got != start-1 {
		t.Fatalf("cursor after reopen %d, %v", got, err)
	}
	// The cursor row does not reset the settings.
	if s, err := db.AssignmentSettings(ctx); err != nil || s.OfflineMinutes != crm.DefaultOfflineMinutes {
		t.Fatalf("settings %+v, %v", s, err)
	}
}
