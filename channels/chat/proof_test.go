package chat

import (
	"context"
	"testing"
	"time"

	"parley/crm"
)

// TestOrderLookupRecordsProof checks that a Track my order lookup that finds the order
// leaves the agents a proof of the email on the visitor's customer, and one that does
// not find it leaves none; and that the visitor, who gave no name, is named after the
// page it chats from instead of its raw id.
func TestOrderLookupRecordsProof(t *testing.T) {
	e := newEnv(t, Options{Limits: noLookupLimits}, nil)
	sys := crm.AsSystem(context.Background())
	e.putOrder("1001", "alice@example.com", "", "shipped", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	c, _ := e.visitor(map[string]any{"page_url": "https://shop.example/jackets/blue?ref=mail"})
	if f := decodeOrderFrame(t, c.lookup("1001", "mallory@example.com")); f.Type != "order_not_found" {
		t.Fatalf("wrong email: %+v", f)
	}
	if f := decodeOrderFrame(t, c.lookup("#1001", "Alice@Example.com")); f.Type != "order" {
		t.Fatalf("right email: %+v", f)
	}
	ack := c.say("c-1", "where is it?")
	ticket := ticketOfMessage(t, e, ack.MessageID)
	tk, err := e.db.Ticket(sys, ticket)
	if err != nil {
		t.Fatal(err)
	}
	proofs, err := e.db.IdentityProofs(sys, tk.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != 1 || proofs[0].Email != "alice@example.com" || proofs[0].OrderNumber != "1001" {
		t.Fatalf("proofs = %+v", proofs)
	}
	cust, err := e.db.Customer(sys, tk.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if cust.Name != "Visitor on shop.example/jackets/blue" {
		t.Fatalf("visitor's customer is named %q", cust.Name)
	}
	if m := e.messages(ticket)[0]; m.Author.Name != cust.Name {
		t.Fatalf("the message's author is %q", m.Author.Name)
	}
}
