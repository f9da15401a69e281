package storetest

import (
	"context"
	"slices"
	"testing"

	"parley/crm"
)

func init() {
	add("EventInboxes", testEventInboxes)
}

// TestEventInboxes checks that customer and order events carry the inboxes that may see
// them, as published and as read back from the log: the inboxes where the customer has
// tickets once the change is done, so that the hub needs no look-up.
func testEventInboxes(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inA, inB := MustCreateInbox(t, db, crm.KindEmail, "A"), MustCreateInbox(t, db, crm.KindEmail, "B")
	sub := db.Bus.Subscribe(1024)
	defer sub.Close()
	published := map[int64][]int64{}
	drain := func() {
		for {
			select {
			case e := <-sub.C:
				published[e.ID] = e.InboxIDs
			default:
				return
			}
		}
	}
	// last returns the inboxes of the newest published event of typ about customer.
	last := func(typ string, customer int64) []int64 {
		t.Helper()
		drain()
		stored, err := db.Events(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range slices.Backward(stored) {
			if e.Type == typ && e.CustomerID == customer {
				if got := published[e.ID]; !slices.Equal(got, e.InboxIDs) || (got == nil) != (e.InboxIDs == nil) {
					t.Fatalf("event %d published with inboxes %v, read back with %v", e.ID, got, e.InboxIDs)
				}
				return e.InboxIDs
			}
		}
		t.Fatalf("no %s event of customer %d", typ, customer)
		return nil
	}

	// An order of a customer without tickets is for managers and admins only.
	o := MustPutOrder(t, db, "1001", "carol@example.com", db.Clock.Now())
	if got := last(crm.EventOrderUpdated, o.CustomerID); got == nil || len(got) != 0 {
		t.Fatalf("order.updated of a customer without tickets: inboxes %v, want []", got)
	}
	// A new customer's first message: its customer.updated comes before the ticket, in
	// the same change, and still names the ticket's inbox.
	anna := MustIngest(t, db, &crm.Inbound{InboxID: inA.ID, ExternalID: "a1", Text: "hi", From: email("anna@example.com")})
	if got := last(crm.EventCustomerUpdated, anna.CustomerID); !slices.Equal(got, []int64{inA.ID}) {
		t.Fatalf("customer.updated of a new customer: inboxes %v, want [%d]", got, inA.ID)
	}
	MustIngest(t, db, &crm.Inbound{InboxID: inB.ID, ExternalID: "b1", Text: "hi", From: email("anna@example.com")})
	name := "Anna B."
	if _, err := db.UpdateCustomer(ctx, anna.CustomerID, crm.CustomerUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got := last(crm.EventCustomerUpdated, anna.CustomerID); !slices.Equal(got, []int64{inA.ID, inB.ID}) {
		t.Fatalf("customer.updated: inboxes %v, want [%d %d]", got, inA.ID, inB.ID)
	}
	// A merge moves Anna's tickets to Carol: the merge and Carol's order after it are
	// for both inboxes.
	if _, err := db.MergeCustomers(ctx, anna.CustomerID, o.CustomerID); err != nil {
		t.Fatal(err)
	}
	if got := last(crm.EventCustomerMerged, o.CustomerID); !slices.Equal(got, []int64{inA.ID, inB.ID}) {
		t.Fatalf("customer.merged: inboxes %v, want [%d %d]", got, inA.ID, inB.ID)
	}
	MustPutOrder(t, db, "1001", "carol@example.com", db.Clock.Now())
	if got := last(crm.EventOrderUpdated, o.CustomerID); !slices.Equal(got, []int64{inA.ID, inB.ID}) {
		t.Fatalf("order.updated after the merge: inboxes %v, want [%d %d]", got, inA.ID, inB.ID)
	}

	// Events of a ticket carry their inbox and no list.
	stored, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range stored {
		if e.InboxID != 0 && e.InboxIDs != nil {
			t.Fatalf("event %d of inbox %d has inboxes %v", e.ID, e.InboxID, e.InboxIDs)
		}
	}
	// An event keeps the inboxes of its time: Carol's first order stays hidden from the
	// inboxes that her merge brought.
	for _, e := range stored {
		if e.Type == crm.EventOrderUpdated {
			if e.InboxIDs == nil || len(e.InboxIDs) != 0 {
				t.Fatalf("the first order.updated reads back with inboxes %v, want []", e.InboxIDs)
			}
			break
		}
	}
}
