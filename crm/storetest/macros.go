package storetest

import (
	"slices"
	"testing"

	"parley/crm"
)

func init() {
	add("Macros", testMacros)
	add("ApplyMacro", testApplyMacro)
}

func testMacros(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	manager := crm.WithAgent(ctx, MustCreateAgent(t, db, "m@test.example", crm.RoleManager))
	annA := MustCreateAgent(t, db, "ann@test.example", crm.RoleAgent)
	ann := crm.WithAgent(ctx, annA)
	bob := crm.WithAgent(ctx, MustCreateAgent(t, db, "bob@test.example", crm.RoleAgent))

	shared, err := db.CreateMacro(manager, &crm.Macro{Name: "Refund done", Body: "Hi {{customer.first_name}}, refunded.",
		Shared: true, Actions: crm.MacroActions{Status: crm.StatusResolved, AddTags: []string{" Refund "}}})
	if err != nil {
		t.Fatal(err)
	}
	if !shared.Shared || shared.Actions.AddTags[0] != "refund" || shared.Actions.Status != crm.StatusResolved {
		t.Fatalf("created %+v", shared)
	}
	_, err = db.CreateMacro(ann, &crm.Macro{Name: "Team", Body: "x", Shared: true})
	wantCode(t, err, crm.EFORBIDDEN)
	mine, err := db.CreateMacro(ann, &crm.Macro{Name: "My follow-up", Actions: crm.MacroActions{Status: crm.StatusPending}})
	if err != nil || mine.Shared || mine.OwnerID != annA.ID {
		t.Fatalf("personal %+v, %v", mine, err)
	}
	_, err = db.CreateMacro(ann, &crm.Macro{Name: "Empty"})
	wantCode(t, err, crm.EINVALID)
	_, err = db.CreateMacro(ann, &crm.Macro{Name: "Bad", Actions: crm.MacroActions{Priority: "asap"}})
	wantCode(t, err, crm.EINVALID)
	missing := int64(999)
	_, err = db.CreateMacro(ann, &crm.Macro{Name: "Bad", Actions: crm.MacroActions{TeamID: &missing}})
	wantCode(t, err, crm.EINVALID)

	list, _ := db.Macros(ann)
	if got := macroNames(list); !slices.Equal(got, []string{"My follow-up", "Refund done"}) {
		t.Errorf("ann sees %v", got)
	}
	list, _ = db.Macros(bob)
	if got := macroNames(list); !slices.Equal(got, []string{"Refund done"}) {
		t.Errorf("bob sees %v", got)
	}
	_, err = db.Macro(bob, mine.ID)
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.UpdateMacro(ann, shared.ID, crm.MacroUpdate{Name: ptr("Mine now")})
	wantCode(t, err, crm.EFORBIDDEN)
	_, err = db.UpdateMacro(ann, mine.ID, crm.MacroUpdate{Shared: ptr(true)})
	wantCode(t, err, crm.EFORBIDDEN)
	if mine, err = db.UpdateMacro(ann, mine.ID, crm.MacroUpdate{Body: ptr("Following up")}); err != nil || mine.Body != "Following up" {
		t.Fatalf("update %+v, %v", mine, err)
	}
	wantCode(t, db.DeleteMacro(bob, mine.ID), crm.ENOTFOUND)
	wantCode(t, db.DeleteMacro(ann, shared.ID), crm.EFORBIDDEN)
	db.Reopen(t)
	if err := db.DeleteMacro(ann, mine.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteMacro(manager, shared.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ = db.Macros(ann); len(list) != 0 {
		t.Errorf("after delete %v", macroNames(list))
	}
}

func macroNames(list []*crm.Macro) []string {
	var out []string
	for _, m := range list {
		out = append(out, m.Name)
	}
	return out
}

func testApplyMacro(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	in := MustCreateInbox(t, db, crm.KindEmail, "Support")
	manager := crm.WithAgent(ctx, MustCreateAgent(t, db, "m@test.example", crm.RoleManager))
	annA := MustCreateAgent(t, db, "ann@test.example", crm.RoleAgent, in.ID)
	ann := crm.WithAgent(ctx, annA)
	team, err := db.CreateTeam(manager, &crm.Team{Name: "Billing", AgentIDs: []int64{annA.ID}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.CreateMacro(manager, &crm.Macro{Name: "Refund", Body: "Hi {{customer.first_name}}, your refund is on its way.",
		Shared: true, Actions: crm.MacroActions{Status: crm.StatusPending, Priority: crm.PriorityHigh, AssignToMe: true,
			TeamID: &team.ID, AddTags: []string{"refund"}, RemoveTags: []string{"new"}, Note: "Refund sent by {{agent.name}}"}})
	if err != nil {
		t.Fatal(err)
	}
	res := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelEmail, ExternalID: "m1", FromName: "Jane Doe",
		From: email("jane@test.example"), Subject: "Refund?", Text: "Where is my refund?", NewTicketTags: []string{"new"}})
	before, _ := db.Events(ctx, 0, 1000)

	fill := func(s string) string {
		return crm.Placeholders{CustomerName: "Jane Doe", TicketID: res.TicketID, AgentName: annA.Name}.Fill(s)
	}
	out, err := db.ApplyMacro(ann, res.TicketID, m.ID, true, fill)
	if err != nil {
		t.Fatal(err)
	}
	tk := out.Ticket
	if tk.Status != crm.StatusPending || tk.Priority != crm.PriorityHigh || *tk.AssigneeID != annA.ID ||
		*tk.TeamID != team.ID || !slices.Equal(tk.Tags, []string{"refund"}) {
		t.Errorf("ticket after macro %+v", tk)
	}
	if out.Reply == nil || out.Reply.Text != "Hi Jane, your refund is on its way." || out.Reply.Status != crm.MsgQueued ||
		out.Reply.Author.ID != annA.ID {
		t.Errorf("reply %+v", out.Reply)
	}
	if out.Note == nil || out.Note.Direction != crm.DirNote || out.Note.Text != "Refund sent by "+annA.Name {
		t.Errorf("note %+v", out.Note)
	}
	after, _ := db.Events(ctx, 0, 1000)
	var types []string
	for _, e := range after[len(before):] {
		types = append(types, e.Type)
		if e.Actor.Kind != "agent" || e.Actor.ID != annA.ID {
			t.Errorf("event %s by %+v", e.Type, e.Actor)
		}
	}
	if n := slices.Index(types, crm.EventTicketUpdated); n < 0 || slices.Index(types, crm.EventMessageCreated) < 0 {
		t.Errorf("events %v", types)
	}

	// Without send, the reply is not queued: the console puts it in the composer.
	out, err = db.ApplyMacro(ann, res.TicketID, m.ID, false, fill)
	if err != nil || out.Reply != nil || out.Body != "Hi Jane, your refund is on its way." {
		t.Errorf("apply without send %+v, %v", out, err)
	}
	msgs, _, _ := db.Messages(ctx, res.TicketID, crm.Page{})
	outs := 0
	for _, msg := range msgs {
		if msg.Direction == crm.DirOut {
			outs++
		}
	}
	if outs != 1 {
		t.Errorf("%d replies queued, want 1", outs)
	}

	// A bad assignee in the macro changes nothing at all: one transaction.
	other := MustCreateAgent(t, db, "other@test.example", crm.RoleAgent) // not in the inbox
	bad, err := db.CreateMacro(manager, &crm.Macro{Name: "Bad", Shared: true,
		Actions: crm.MacroActions{Status: crm.StatusResolved, AssigneeID: &other.ID, Note: "should not stay"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ApplyMacro(ann, res.TicketID, bad.ID, true, nil)
	wantCode(t, err, crm.EINVALID)
	if tk := MustTicket(t, db, res.TicketID); tk.Status != crm.StatusPending {
		t.Errorf("status after failed macro %s", tk.Status)
	}
	msgs2, _, _ := db.Messages(ctx, res.TicketID, crm.Page{})
	if len(msgs2) != len(msgs) {
		t.Errorf("failed macro left %d messages", len(msgs2)-len(msgs))
	}
	// A ticket the agent may not see is not_found.
	outside := MustCreateInbox(t, db, crm.KindEmail, "Elsewhere")
	hidden := mustOpenTicket(t, db, outside.ID, "hidden")
	_, err = db.ApplyMacro(ann, hidden.ID, m.ID, false, nil)
	wantCode(t, err, crm.ENOTFOUND)
}
