package storetest

import (
	"context"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("InboxLifecycle", testInboxLifecycle)
}

// An inbox is disabled and enabled again, then deleted: disabled it stays listed and
// readable; deleted it is gone from Inbox and Inboxes, listed among the archived ones,
// and its tickets stay readable to its members and to managers, and to nobody else.
func testInboxLifecycle(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	in := MustCreateInbox(t, db, crm.KindAPI, "Returns portal")
	other := MustCreateInbox(t, db, crm.KindAPI, "Other")
	if !in.Enabled || in.DeletedAt != nil {
		t.Fatalf("a new inbox = %+v, want enabled and not deleted", in)
	}
	member := MustCreateAgent(t, db, "mia@example.com", crm.RoleAgent, in.ID)
	outsider := MustCreateAgent(t, db, "otto@example.com", crm.RoleAgent, other.ID)
	manager := MustCreateAgent(t, db, "max@example.com", crm.RoleManager)
	res := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelAPI, ExternalID: "r-1",
		From: email("shopper@example.com"), Subject: "Return", Text: "Please take it back.", ReceivedAt: db.Clock.Now()})
	sub := db.Bus.Subscribe(16)
	defer sub.Close()

	off, err := db.SetInboxEnabled(ctx, in.ID, false)
	if err != nil || off.Enabled {
		t.Fatalf("disable: %+v, %v", off, err)
	}
	waitInboxEvent(t, sub, in.ID)
	if got, err := db.Inbox(ctx, in.ID); err != nil || got.Enabled {
		t.Fatalf("a disabled inbox reads %+v, %v", got, err)
	}
	if list, _ := db.Inboxes(ctx); len(list) != 2 || list[0].Enabled {
		t.Fatalf("inboxes with one disabled = %+v", list)
	}
	// A rename keeps it disabled: the config and the switch are apart.
	if got, err := db.UpdateInbox(ctx, &crm.Inbox{ID: in.ID, Name: "Returns"}); err != nil || got.Enabled || got.Name != "Returns" {
		t.Fatalf("rename a disabled inbox: %+v, %v", got, err)
	}
	if on, err := db.SetInboxEnabled(ctx, in.ID, true); err != nil || !on.Enabled {
		t.Fatalf("enable: %+v, %v", on, err)
	}

	db.Clock.Add(time.Minute)
	if err := db.DeleteInbox(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	waitInboxEvent(t, sub, in.ID)
	waitInboxEvent(t, sub, in.ID)
	_, err = db.Inbox(ctx, in.ID)
	wantCode(t, err, crm.ENOTFOUND)
	if list, _ := db.Inboxes(ctx); len(list) != 1 || list[0].ID != other.ID {
		t.Fatalf("inboxes after the delete = %+v", list)
	}
	for _, tt := range []struct {
		name string
		a    *crm.Agent
		want int
	}{{"member", member, 1}, {"manager", manager, 1}, {"outsider", outsider, 0}} {
		actx := crm.WithAgent(context.Background(), tt.a)
		arch, err := db.ArchivedInboxes(actx)
		if err != nil || len(arch) != tt.want {
			t.Fatalf("%s: archived inboxes = %+v, %v", tt.name, arch, err)
		}
		if tt.want == 1 && (arch[0].ID != in.ID || arch[0].DeletedAt == nil || arch[0].Enabled || len(arch[0].Secrets) != 0) {
			t.Fatalf("%s: archived inbox = %+v", tt.name, arch[0])
		}
		tk, err := db.Ticket(actx, res.TicketID)
		if tt.want == 1 && (err != nil || tk.InboxID != in.ID) {
			t.Fatalf("%s reads the archived ticket: %+v, %v", tt.name, tk, err)
		}
		if tt.want == 0 {
			wantCode(t, err, crm.ENOTFOUND)
		}
	}
	if list, _, err := db.Tickets(ctx, crm.TicketFilter{InboxID: in.ID}); err != nil || len(list) != 1 {
		t.Fatalf("tickets of the archived inbox = %+v, %v", list, err)
	}
	if msgs, _, err := db.Messages(ctx, res.TicketID, crm.Page{}); err != nil || len(msgs) != 1 {
		t.Fatalf("messages of the archived ticket = %+v, %v", msgs, err)
	}
	// A deleted inbox cannot be changed, enabled or deleted again.
	_, err = db.UpdateInbox(ctx, &crm.Inbox{ID: in.ID, Name: "Back"})
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.SetInboxEnabled(ctx, in.ID, true)
	wantCode(t, err, crm.ENOTFOUND)
	wantCode(t, db.DeleteInbox(ctx, in.ID), crm.ENOTFOUND)
	wantCode(t, db.DeleteInbox(ctx, 9999), crm.ENOTFOUND)
}

// waitInboxEvent waits for the next inbox.updated event, which must name the inbox.
func waitInboxEvent(t *testing.T, sub *crm.Subscription, id int64) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Type != crm.EventInboxUpdated {
				continue
			}
			if e.InboxID != id {
				t.Fatalf("inbox.updated of inbox %d, want %d", e.InboxID, id)
			}
			return
		case <-deadline:
			t.Fatalf("no inbox.updated event for inbox %d", id)
		}
	}
}
