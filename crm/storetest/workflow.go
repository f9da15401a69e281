package storetest

import (
	"fmt"
	"strings"
	"testing"

	"parley/crm"
)

func init() {
	add("WorkflowAssignOnReply", testWorkflowAssignOnReply)
	add("ReplyToACallIsAnSMS", testReplyToACallIsAnSMS)
}

// testReplyToACallIsAnSMS: the answer to a phone call goes out as a text message, and
// the message says so (the thread and the delivery show SMS, not Voice).
func testReplyToACallIsAnSMS(t *testing.T, open Opener) {
	e := open(t, Options{})
	in := MustCreateInbox(t, e, crm.KindPhone, "Hotline")
	call := MustIngest(t, e, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelVoice, ExternalID: "CA0001", ThreadKey: "CA0001",
		From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550123"}}, Text: "Voicemail: please call me back."})
	m, err := e.AddMessage(sys(), &crm.NewMessage{TicketID: call.TicketID, Body: "We tried to call you back: when suits you?"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Channel != crm.ChannelSMS {
		t.Errorf("the reply to a call goes by %q, want sms", m.Channel)
	}
}

// testWorkflowAssignOnReply: by default the first agent to reply to an unassigned ticket
// gets it; a note does not assign, a ticket with an assignee keeps them, and with the
// setting off a reply assigns nobody.
func testWorkflowAssignOnReply(t *testing.T, open Opener) {
	e := open(t, Options{})
	in := MustCreateInbox(t, e, crm.KindEmail, "Mail")
	ann := MustCreateAgent(t, e, "ann@example.com", crm.RoleAgent, in.ID)
	bob := MustCreateAgent(t, e, "bob@example.com", crm.RoleAgent, in.ID)
	set, err := e.WorkflowSettings(sys())
	if err != nil || !set.AssignOnReply {
		t.Fatalf("default workflow settings: %+v, %v; want assign_on_reply on", set, err)
	}
	ticket := func(ext string) int64 {
		return MustIngest(t, e, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelEmail, ExternalID: ext, ThreadKey: ext,
			From: []crm.Identity{{Kind: crm.IdentityEmail, Address: ext + "@example.com"}}, Text: "Hello"}).TicketID
	}
	write := func(a *crm.Agent, id int64, internal bool) {
		t.Helper()
		if _, err := e.AddMessage(crm.WithAgent(sys(), a), &crm.NewMessage{TicketID: id, Body: "On it.", Internal: internal}); err != nil {
			t.Fatal(err)
		}
	}
	assignee := func(id int64) int64 {
		t.Helper()
		tk, err := e.Ticket(sys(), id)
		if err != nil {
			t.Fatal(err)
		}
		if tk.AssigneeID == nil {
			return 0
		}
		return *tk.AssigneeID
	}

	noted := ticket("noted")
	write(ann, noted, true)
	if got := assignee(noted); got != 0 {
		t.Errorf("a note assigned the ticket to %d", got)
	}
	write(bob, noted, false)
	if got := assignee(noted); got != bob.ID {
		t.Errorf("after Bob's reply the ticket is assigned to %d, want Bob %d", got, bob.ID)
	}
	write(ann, noted, false)
	if got := assignee(noted); got != bob.ID {
		t.Errorf("Ann's reply took the ticket from Bob: assignee %d", got)
	}
	evs, err := e.Events(sys(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var live bool
	for _, ev := range evs {
		if ev.TicketID == noted && ev.Type == crm.EventTicketUpdated && ev.Actor.Kind == "agent" && ev.Actor.ID == bob.ID &&
			strings.Contains(string(ev.Data), fmt.Sprintf(`"assignee_id":%d`, bob.ID)) {
			live = true
		}
	}
	if !live {
		t.Errorf("the assignment on reply left no ticket.updated event by Bob")
	}

	if err := e.SetWorkflowSettings(sys(), &crm.WorkflowSettings{AssignOnReply: false}); err != nil {
		t.Fatal(err)
	}
	off := ticket("off")
	write(ann, off, false)
	if got := assignee(off); got != 0 {
		t.Errorf("with assign_on_reply off a reply assigned the ticket to %d", got)
	}
}
