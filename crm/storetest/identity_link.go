package storetest

import (
	"context"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("OrdersDoNotLinkIdentities", testOrdersDoNotLinkIdentities)
	add("CreateTicketRefusesHiddenCustomer", testCreateTicketRefusesHiddenCustomer)
	add("ReplyGoesToLatestSender", testReplyGoesToLatestSender)
}

// TestOrdersDoNotLinkIdentities checks that an order carrying a known customer's email and
// an unknown phone attaches to that customer without giving it the phone: shop data is no
// proof that the two belong together, and a stranger's texts must not file under Alice.
func testOrdersDoNotLinkIdentities(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindAPI, "Backoffice")
	alice := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "1", Text: "hi", From: email("alice@example.com")})
	o, err := db.PutOrder(ctx, &crm.Order{Number: "1001", Email: "alice@example.com", Phone: "+15555550199", Status: "paid",
		Currency: "USD", PlacedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if o.CustomerID != alice.CustomerID {
		t.Fatalf("order customer %d, want %d", o.CustomerID, alice.CustomerID)
	}
	c, err := db.Customer(ctx, alice.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Identities) != 1 {
		t.Fatalf("alice's identities = %+v, want only her email", c.Identities)
	}
	// A message from that phone starts a customer of its own.
	sms := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "2", Text: "hello", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15555550199"}}})
	if sms.CustomerID == alice.CustomerID {
		t.Fatal("a text from the order's phone was filed under alice")
	}
}

// TestCreateTicketRefusesHiddenCustomer checks that an agent cannot open a ticket for an
// identity of a customer it may not see, which would reveal that customer.
func testCreateTicketRefusesHiddenCustomer(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	a := MustCreateInbox(t, db, crm.KindAPI, "A")
	b := MustCreateInbox(t, db, crm.KindAPI, "B")
	MustIngest(t, db, &crm.Inbound{InboxID: b.ID, ExternalID: "1", Text: "hi", From: email("bert@example.com")})
	dana := MustCreateAgent(t, db, "dana@staff.example", crm.RoleAgent, a.ID)
	_, err := db.CreateTicket(crm.WithAgent(ctx, dana), &crm.NewTicket{InboxID: a.ID, Subject: "Call", Identities: email("bert@example.com")})
	wantCode(t, err, crm.ECONFLICT)
	// A manager may.
	max := MustCreateAgent(t, db, "max@staff.example", crm.RoleManager)
	if _, err := db.CreateTicket(crm.WithAgent(ctx, max), &crm.NewTicket{InboxID: a.ID, Subject: "Call", Identities: email("bert@example.com")}); err != nil {
		t.Fatal(err)
	}
}

// TestReplyGoesToLatestSender checks that a reply is addressed to the identity the
// customer last wrote from in the ticket, not to whichever identity the customer has first.
func testReplyGoesToLatestSender(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindAPI, "Backoffice")
	first := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "1", ThreadKey: "t", Text: "hi", From: email("alice@example.com")})
	if _, err := db.UpdateCustomer(ctx, first.CustomerID, crm.CustomerUpdate{AddIdentities: email("alice@work.example")}); err != nil {
		t.Fatal(err)
	}
	MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "2", ThreadKey: "t", Text: "from work now", From: email("alice@work.example")})
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	outs, err := db.ClaimOutbound(ctx, time.Minute, 10)
	if err != nil || len(outs) != 1 {
		t.Fatalf("claim = %d, %v", len(outs), err)
	}
	if got := outs[0].ReplyAddress(crm.IdentityEmail); got != "alice@work.example" {
		t.Fatalf("reply goes to %q, want alice@work.example", got)
	}
	if got := outs[0].ReplyAddress(crm.IdentityPhone); got != "" {
		t.Fatalf("phone reply address %q, want none", got)
	}
}
