package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("InboxIsolation", testInboxIsolation)
	add("Search", testSearch)
	add("NobodySeesNothing", testNobodySeesNothing)
}

func testInboxIsolation(t *testing.T, open Opener) {
	db := open(t, Options{})
	sys := crm.AsSystem(context.Background())
	a := MustCreateInbox(t, db, crm.KindEmail, "A")
	b := MustCreateInbox(t, db, crm.KindEmail, "B")
	agentA := MustCreateAgent(t, db, "a@staff.example", crm.RoleAgent, a.ID)
	manager := MustCreateAgent(t, db, "m@staff.example", crm.RoleManager)
	ctxA := crm.WithAgent(sys, agentA)
	ctxM := crm.WithAgent(sys, manager)

	ra := MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "a1", FromName: "Anna Visible", Subject: "Hello secret",
		Text: "secret words", From: email("anna@example.com")})
	rb := MustIngest(t, db, &crm.Inbound{InboxID: b.ID, ExternalID: "b1", FromName: "Bert Hidden", Subject: "Hello secret",
		Text: "secret words", From: email("bert@example.com"),
		Attachments: []crm.NewAttachment{{Filename: "x.txt", Data: []byte("hidden")}}})
	MustPutOrder(t, db, "B-100", "bert@example.com", db.Clock.Now())
	msgs, _, err := db.Messages(sys, rb.TicketID, crm.Page{})
	if err != nil {
		t.Fatal(err)
	}
	attID := msgs[0].Attachments[0].ID

	type check struct {
		name string
		err  error
	}
	var checks []check
	add := func(name string, err error) { checks = append(checks, check{name, err}) }
	_, err = db.Ticket(ctxA, rb.TicketID)
	add("ticket", err)
	_, _, err = db.Messages(ctxA, rb.TicketID, crm.Page{})
	add("messages", err)
	_, _, err = db.Attachment(ctxA, attID)
	add("attachment", err)
	_, err = db.Customer(ctxA, rb.CustomerID)
	add("customer", err)
	_, _, err = db.Timeline(ctxA, rb.CustomerID, crm.Page{})
	add("timeline", err)
	_, err = db.UpdateTicket(ctxA, rb.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusClosed)})
	add("update ticket", err)
	_, err = db.AddMessage(ctxA, &crm.NewMessage{TicketID: rb.TicketID, Body: "hi"})
	add("add message", err)
	_, err = db.MergeTickets(ctxA, rb.TicketID, ra.TicketID)
	add("merge tickets", err)
	_, err = db.MergeCustomers(ctxA, rb.CustomerID, ra.CustomerID)
	add("merge customers", err)
	_, err = db.UpdateCustomer(ctxA, rb.CustomerID, crm.CustomerUpdate{Name: ptr("x")})
	add("update customer", err)
	_, err = db.Inbox(ctxA, b.ID)
	add("inbox", err)
	_, err = db.CreateTicket(ctxA, &crm.NewTicket{InboxID: b.ID, CustomerID: ra.CustomerID, Subject: "x"})
	add("create ticket in B", err)
	_, err = db.CreateTicket(ctxA, &crm.NewTicket{InboxID: a.ID, CustomerID: rb.CustomerID, Subject: "x"})
	add("create ticket for B's customer", err)
	_, err = db.Order(ctxA, "B-100")
	add("order", err)
	for _, c := range checks {
		if got := crm.ErrorCode(c.err); got != crm.ENOTFOUND {
			t.Errorf("%s: error %q (%v), want not_found", c.name, got, c.err)
		}
	}

	tickets, _, err := db.Tickets(ctxA, crm.TicketFilter{})
	if err != nil || len(tickets) != 1 || tickets[0].ID != ra.TicketID {
		t.Fatalf("agent tickets = %v %v", tickets, err)
	}
	if tickets, _, _ = db.Tickets(ctxA, crm.TicketFilter{InboxID: b.ID}); len(tickets) != 0 {
		t.Fatal("agent lists tickets of inbox B")
	}
	customers, _, _ := db.Customers(ctxA, "", crm.Page{})
	if len(customers) != 1 || customers[0].ID != ra.CustomerID {
		t.Fatalf("agent customers = %v", customers)
	}
	res, err := db.Search(ctxA, crm.SearchQuery{Q: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tickets) != 1 || len(res.Messages) != 1 || res.Tickets[0].ID != ra.TicketID || res.Messages[0].TicketID != ra.TicketID {
		t.Fatalf("agent search = %+v", res)
	}
	if res, _ = db.Search(ctxA, crm.SearchQuery{Q: "bert"}); len(res.Customers) != 0 {
		t.Fatal("agent finds a customer of inbox B")
	}
	inboxes, _ := db.Inboxes(ctxA)
	if len(inboxes) != 1 || inboxes[0].ID != a.ID {
		t.Fatalf("agent inboxes = %v", inboxes)
	}
	if orders, _, _ := db.Orders(ctxA, crm.OrderFilter{}); len(orders) != 0 {
		t.Fatalf("agent orders = %v", orders)
	}
	events, _ := db.Events(ctxA, 0, 0)
	for _, e := range events {
		if e.InboxID == b.ID {
			t.Fatalf("agent gets event %+v of inbox B", e)
		}
	}

	// When Bert writes to inbox A too, agent A sees him, but only the inbox A part of his timeline.
	MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "a2", Text: "me again", From: email("bert@example.com")})
	if _, err := db.Customer(ctxA, rb.CustomerID); err != nil {
		t.Fatal(err)
	}
	items, _, err := db.Timeline(ctxA, rb.CustomerID, crm.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Ticket != nil && it.Ticket.InboxID != a.ID || it.Message != nil && it.Message.InboxID != a.ID {
			t.Fatalf("agent timeline holds %+v", it)
		}
	}
	if len(items) != 3 { // ticket, message and order
		t.Fatalf("agent timeline has %d items", len(items))
	}

	// A manager sees everything.
	if tickets, _, _ = db.Tickets(ctxM, crm.TicketFilter{}); len(tickets) != 3 {
		t.Fatalf("manager sees %d tickets", len(tickets))
	}
	if _, _, err := db.Attachment(ctxM, attID); err != nil {
		t.Fatal(err)
	}
	if inboxes, _ = db.Inboxes(ctxM); len(inboxes) != 2 {
		t.Fatalf("manager inboxes = %v", inboxes)
	}
}

func testSearch(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", FromName: "Alice Müller", Subject: "Return request",
		Text: "The zipper of my jacket broke", From: email("alice@example.com")})
	sms := MustCreateInbox(t, db, crm.KindPhone, "SMS")
	MustIngest(t, db, &crm.Inbound{InboxID: sms.ID, ExternalID: "SM1", Channel: crm.ChannelSMS, Subject: "SMS",
		Text: "where is it", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550123"}}})
	for _, tt := range []struct {
		q                            string
		tickets, messages, customers int
	}{
		// A customer's name, email and phone find the customer's tickets too.
		{"ali", 1, 0, 1},
		{"Alice", 1, 0, 1},
		{"muller", 1, 0, 1},
		{"ret", 1, 0, 0},
		{"zipper jack", 0, 1, 0},
		{"JACKET", 0, 1, 0},
		{"#1", 1, 0, 1}, // the ticket, and as a prefix the phone number +1...
		{"example", 1, 0, 1},
		{"nothing here", 0, 0, 0},
		{"+1 415 555 0123", 1, 0, 1},
		{"4155550123", 1, 0, 1},
		{"(415) 555-0123", 1, 0, 1},
		{"415.555.0123", 1, 0, 1},
		{"555 0199", 0, 0, 0},
	} {
		res, err := db.Search(ctx, crm.SearchQuery{Q: tt.q})
		if err != nil {
			t.Fatalf("%q: %v", tt.q, err)
		}
		if len(res.Tickets) != tt.tickets || len(res.Messages) != tt.messages || len(res.Customers) != tt.customers {
			t.Errorf("%q found %d tickets, %d messages, %d customers; want %d, %d, %d", tt.q,
				len(res.Tickets), len(res.Messages), len(res.Customers), tt.tickets, tt.messages, tt.customers)
		}
	}
	if res, _ := db.Search(ctx, crm.SearchQuery{Q: "#1"}); len(res.Tickets) == 1 && res.Tickets[0].ID != r.TicketID {
		t.Fatal("wrong ticket by number")
	}
	// Filters narrow the tickets and messages found, never the customers.
	now := db.Clock.Now()
	for _, tt := range []struct {
		name                         string
		sq                           crm.SearchQuery
		tickets, messages, customers int
	}{
		{"open", crm.SearchQuery{Q: "zipper", Status: crm.StatusOpen}, 0, 1, 0},
		{"resolved", crm.SearchQuery{Q: "zipper", Status: crm.StatusResolved}, 0, 0, 0},
		{"its inbox", crm.SearchQuery{Q: "alice", InboxID: inbox.ID}, 1, 0, 1},
		{"another inbox", crm.SearchQuery{Q: "alice", InboxID: sms.ID}, 0, 0, 1},
		{"sms channel", crm.SearchQuery{Q: "4155550123", Channel: crm.ChannelSMS}, 1, 0, 1},
		{"email channel", crm.SearchQuery{Q: "4155550123", Channel: crm.ChannelEmail}, 0, 0, 1},
		{"until tomorrow", crm.SearchQuery{Q: "jacket", From: now.Add(-time.Hour), To: now.Add(24 * time.Hour)}, 0, 1, 0},
		{"from tomorrow", crm.SearchQuery{Q: "jacket", From: now.Add(24 * time.Hour)}, 0, 0, 0},
		{"until yesterday", crm.SearchQuery{Q: "ret", To: now.Add(-24 * time.Hour)}, 0, 0, 0},
	} {
		res, err := db.Search(ctx, tt.sq)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(res.Tickets) != tt.tickets || len(res.Messages) != tt.messages || len(res.Customers) != tt.customers {
			t.Errorf("%s: found %d tickets, %d messages, %d customers; want %d, %d, %d", tt.name,
				len(res.Tickets), len(res.Messages), len(res.Customers), tt.tickets, tt.messages, tt.customers)
		}
	}
	hostile := []string{"", " ", "NEAR(", `"`, `""`, "*", "AND", "OR NOT", "col:x", "subject:zipper", "'", "'; DROP TABLE tickets; --",
		"a AND", "NOT", "-", "^", "(", ")", "{a b}", "zipper NEAR(", `zip"per`, "\x00", "💥", "\u0301", "a\u0301 \u0301b", "²", "Ⅻ", "ǅ", "㐀", "\u200d", "\ufeff", "\xff\xfe", "ـ", "٣", "x\u0300\u0301\u0302", strings.Repeat("ab ", 3400) + "zz",
		strings.Repeat(`"(*`, 3500)}
	for _, q := range hostile {
		res, err := db.Search(ctx, crm.SearchQuery{Q: q})
		if err != nil {
			t.Fatalf("search %.20q: %v", q, err)
		}
		if res.Tickets == nil || res.Messages == nil || res.Customers == nil {
			t.Fatalf("search %.20q returned nil lists", q)
		}
		if _, _, err := db.Tickets(ctx, crm.TicketFilter{Query: q}); err != nil {
			t.Fatalf("tickets %.20q: %v", q, err)
		}
		if _, _, err := db.Customers(ctx, q, crm.Page{}); err != nil {
			t.Fatalf("customers %.20q: %v", q, err)
		}
	}
	// Syntax words are plain words: "zipper AND" finds the message, as if AND were a word prefix.
	if res, _ := db.Search(ctx, crm.SearchQuery{Q: "zipper NEAR("}); len(res.Messages) != 0 {
		t.Fatalf("NEAR must be a word, found %d", len(res.Messages))
	}
	if res, _ := db.Search(ctx, crm.SearchQuery{Q: `"zipper"`}); len(res.Messages) != 1 {
		t.Fatal("a quoted word must still find the message")
	}
}

// TestNobodySeesNothing checks that a context that acts as no one, neither an agent nor
// the system, sees and changes nothing: a path that forgets to say who acts fails
// closed instead of seeing every inbox.
func testNobodySeesNothing(t *testing.T, open Opener) {
	db := open(t, Options{})
	a := MustCreateInbox(t, db, crm.KindAPI, "A")
	r := MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "a1", FromName: "Anna", Subject: "Hello",
		Text: "secret words", From: email("anna@example.com")})
	MustPutOrder(t, db, "A-1", "anna@example.com", db.Clock.Now())
	for _, nobody := range []context.Context{context.Background(), crm.WithAgent(crm.AsSystem(context.Background()), nil)} {
		if _, err := db.Ticket(nobody, r.TicketID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("ticket: %v, want not_found", err)
		}
		if list, _, err := db.Tickets(nobody, crm.TicketFilter{}); err != nil || len(list) != 0 {
			t.Errorf("tickets: %d, %v", len(list), err)
		}
		if _, err := db.Customer(nobody, r.CustomerID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("customer: %v, want not_found", err)
		}
		if list, _, err := db.Customers(nobody, "", crm.Page{}); err != nil || len(list) != 0 {
			t.Errorf("customers: %d, %v", len(list), err)
		}
		if _, err := db.Order(nobody, "A-1"); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("order: %v, want not_found", err)
		}
		if _, err := db.Inbox(nobody, a.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("inbox: %v, want not_found", err)
		}
		if list, err := db.Inboxes(nobody); err != nil || len(list) != 0 {
			t.Errorf("inboxes: %d, %v", len(list), err)
		}
		if res, err := db.Search(nobody, crm.SearchQuery{Q: "secret", Limit: 10}); err != nil || len(res.Tickets)+len(res.Messages)+len(res.Customers) != 0 {
			t.Errorf("search: %+v, %v", res, err)
		}
		if list, err := db.Events(nobody, 0, 100); err != nil || len(list) != 0 {
			t.Errorf("events: %d, %v", len(list), err)
		}
		if _, err := db.Ingest(nobody, &crm.Inbound{InboxID: a.ID, ExternalID: "n1", Text: "x", From: email("n@example.com")}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("ingest: %v, want forbidden", err)
		}
		if _, err := db.UpdateTicket(nobody, r.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusClosed)}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("update ticket: %v, want forbidden", err)
		}
		if _, err := db.PutOrder(nobody, &crm.Order{Number: "N-1", Status: "paid", Currency: "USD", PlacedAt: db.Clock.Now()}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("put order: %v, want forbidden", err)
		}
		if _, err := db.CreateCanned(nobody, &crm.CannedResponse{Title: "x", Body: "y"}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("canned: %v, want forbidden", err)
		}
	}
	if tk, err := db.Ticket(crm.AsSystem(context.Background()), r.TicketID); err != nil || tk.Status != crm.StatusOpen {
		t.Fatalf("the system sees the untouched ticket: %+v, %v", tk, err)
	}
}
