package storetest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Contacts", testContacts)
	add("IdentityEdits", testIdentityEdits)
	add("SplitTicket", testSplitTicket)
	add("IdentityProofs", testIdentityProofs)
	add("VisitorNames", testVisitorNames)
	add("CustomerMerges", testCustomerMerges)
}

func contactIDs(list []*crm.Contact) []int64 {
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

// allContacts pages through the contacts two at a time, as the console's Load more does.
func allContacts(t *testing.T, db Store, ctx context.Context, f crm.ContactFilter) []*crm.Contact {
	t.Helper()
	var all []*crm.Contact
	f.Page.Limit = 2
	for range 20 {
		list, next, err := db.Contacts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, list...)
		if next == "" {
			return all
		}
		f.Page.Cursor = next
	}
	t.Fatal("contacts never end")
	return nil
}

func testContacts(t *testing.T, open Opener) {
	db := open(t, Options{})
	sys := crm.AsSystem(context.Background())
	a := MustCreateInbox(t, db, crm.KindEmail, "A")
	b := MustCreateInbox(t, db, crm.KindEmail, "B")
	in := func(inbox int64, ext, name, addr string) *crm.IngestResult {
		db.Clock.Add(time.Minute)
		return MustIngest(t, db, &crm.Inbound{InboxID: inbox, ExternalID: ext, FromName: name, Text: "hi", From: email(addr)})
	}
	zed := in(a.ID, "1", "zed Zimmer", "zed@example.com")
	anna := in(a.ID, "2", "Anna Adams", "anna@example.com")
	nameless := in(a.ID, "3", "", "x@example.com")
	bert := in(b.ID, "4", "Bert Brown", "bert@example.com")
	in(a.ID, "5", "", "zed@example.com")  // zed writes again, a second ticket
	in(b.ID, "6", "", "anna@example.com") // Anna in inbox B too

	byNewest := contactIDs(allContacts(t, db, sys, crm.ContactFilter{}))
	if want := []int64{bert.CustomerID, nameless.CustomerID, anna.CustomerID, zed.CustomerID}; !slices.Equal(byNewest, want) {
		t.Fatalf("newest = %v, want %v", byNewest, want)
	}
	byName := contactIDs(allContacts(t, db, sys, crm.ContactFilter{Sort: crm.ContactsName}))
	if want := []int64{anna.CustomerID, bert.CustomerID, zed.CustomerID, nameless.CustomerID}; !slices.Equal(byName, want) {
		t.Fatalf("by name = %v, want %v (unnamed last, case ignored)", byName, want)
	}
	byLast := allContacts(t, db, sys, crm.ContactFilter{Sort: crm.ContactsLastContacted})
	if want := []int64{anna.CustomerID, zed.CustomerID, bert.CustomerID, nameless.CustomerID}; !slices.Equal(contactIDs(byLast), want) {
		t.Fatalf("by last contact = %v, want %v", contactIDs(byLast), want)
	}
	if byLast[0].TicketCount != 2 || byLast[0].LastContactAt == nil || len(byLast[0].Identities) != 1 {
		t.Fatalf("anna = %+v", byLast[0])
	}
	// An agent of inbox A counts only the tickets it sees, and never sees Bert.
	agentA := MustCreateAgent(t, db, "a@staff.example", crm.RoleAgent, a.ID)
	ctxA := crm.WithAgent(sys, agentA)
	list := allContacts(t, db, ctxA, crm.ContactFilter{Sort: crm.ContactsLastContacted})
	if want := []int64{zed.CustomerID, nameless.CustomerID, anna.CustomerID}; !slices.Equal(contactIDs(list), want) {
		t.Fatalf("agent A sees %v, want %v", contactIDs(list), want)
	}
	if list[2].TicketCount != 1 || list[0].TicketCount != 2 {
		t.Fatalf("agent A counts %d tickets of Anna and %d of Zed, want 1 and 2", list[2].TicketCount, list[0].TicketCount)
	}
	if found := contactIDs(allContacts(t, db, sys, crm.ContactFilter{Query: "adams", Sort: crm.ContactsName})); !slices.Equal(found, []int64{anna.CustomerID}) {
		t.Fatalf("search adams = %v", found)
	}
	_, _, err := db.Contacts(sys, crm.ContactFilter{Sort: "shoe size"})
	wantCode(t, err, crm.EINVALID)
	_, _, err = db.Contacts(sys, crm.ContactFilter{Sort: crm.ContactsName, Page: crm.Page{Cursor: "bm9wZQ"}})
	wantCode(t, err, crm.EINVALID)
}

// testIdentityEdits edits identities one at a time the way the customer page does:
// replace one (remove and add in one change), add a phone, and run into another
// customer's address.
func testIdentityEdits(t *testing.T, open Opener) {
	db := open(t, Options{})
	sys := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	a := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", FromName: "Alice", Text: "x", From: email("alice@old.example")})
	b := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "2", FromName: "Bob", Text: "x", From: email("bob@example.com")})
	c, err := db.UpdateCustomer(sys, a.CustomerID, crm.CustomerUpdate{
		RemoveIdentities: email("alice@old.example"), AddIdentities: email("alice@new.example")})
	if err != nil {
		t.Fatal(err)
	}
	if got := identities(c); !slices.Equal(got, []string{"email:alice@new.example"}) {
		t.Fatalf("after edit = %v", got)
	}
	// A replacement that collides changes nothing: the old address stays.
	_, err = db.UpdateCustomer(sys, a.CustomerID, crm.CustomerUpdate{
		RemoveIdentities: email("alice@new.example"), AddIdentities: email("bob@example.com")})
	wantCode(t, err, crm.ECONFLICT)
	if c, _ = db.Customer(sys, a.CustomerID); !slices.Equal(identities(c), []string{"email:alice@new.example"}) {
		t.Fatalf("after refused edit = %v", identities(c))
	}
	// The freed address finds nobody; the new one finds Alice.
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "3", Text: "x", From: email("alice@new.example")})
	if r.CustomerID != a.CustomerID {
		t.Fatalf("new address filed under %d, want %d", r.CustomerID, a.CustomerID)
	}
	r = MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "4", Text: "x", From: email("alice@old.example")})
	if r.CustomerID == a.CustomerID || r.CustomerID == b.CustomerID {
		t.Fatalf("removed address still filed under customer %d", r.CustomerID)
	}
	// The old address's new customer shows up in a search for it, Alice no longer does.
	list, _, err := db.Contacts(sys, crm.ContactFilter{Query: "alice@old.example"})
	if err != nil || len(list) != 1 || list[0].ID != r.CustomerID {
		t.Fatalf("search old address = %v %v", contactIDs(list), err)
	}
}

func testSplitTicket(t *testing.T, open Opener) {
	db := open(t, Options{})
	sys := crm.AsSystem(context.Background())
	a := MustCreateInbox(t, db, crm.KindEmail, "A")
	b := MustCreateInbox(t, db, crm.KindEmail, "B")
	r := MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "1", ThreadKey: "t", Subject: "Order 1001", Text: "where is my order", From: email("c@example.com")})
	db.Clock.Add(time.Minute)
	MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "2", ThreadKey: "t", Text: "also: my invoice is wrong", From: email("c@example.com")})
	db.Clock.Add(time.Minute)
	MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "3", ThreadKey: "t", Text: "the invoice says 2 jackets", From: email("c@example.com")})
	other := MustIngest(t, db, &crm.Inbound{InboxID: b.ID, ExternalID: "4", Text: "elsewhere", From: email("c@example.com")})
	msgs, _, err := db.Messages(sys, r.TicketID, crm.Page{})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("thread = %d messages, %v", len(msgs), err)
	}
	picked := []int64{msgs[1].ID, msgs[2].ID}

	agentA := MustCreateAgent(t, db, "a@staff.example", crm.RoleAgent, a.ID)
	agentB := MustCreateAgent(t, db, "b@staff.example", crm.RoleAgent, b.ID)
	ctxA, ctxB := crm.WithAgent(sys, agentA), crm.WithAgent(sys, agentB)
	_, err = db.SplitTicket(ctxB, r.TicketID, picked, "")
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.SplitTicket(ctxA, r.TicketID, nil, "")
	wantCode(t, err, crm.EINVALID)
	_, err = db.SplitTicket(ctxA, r.TicketID, []int64{msgs[0].ID, msgs[1].ID, msgs[2].ID}, "")
	wantCode(t, err, crm.EINVALID)
	om, _, _ := db.Messages(sys, other.TicketID, crm.Page{})
	_, err = db.SplitTicket(ctxA, r.TicketID, []int64{msgs[1].ID, om[0].ID}, "")
	wantCode(t, err, crm.EINVALID)
	if after, _, _ := db.Messages(sys, r.TicketID, crm.Page{}); len(after) != 3 {
		t.Fatalf("a refused split moved messages: %d left", len(after))
	}

	before, err := db.Events(sys, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	nt, err := db.SplitTicket(ctxA, r.TicketID, picked, "Wrong invoice")
	if err != nil {
		t.Fatal(err)
	}
	if nt.Subject != "Wrong invoice" || nt.InboxID != a.ID || nt.CustomerID != r.CustomerID || nt.Status != crm.StatusOpen ||
		!nt.LastMessageAt.Equal(msgs[2].CreatedAt) {
		t.Fatalf("new ticket = %+v", nt)
	}
	moved, _, _ := db.Messages(sys, nt.ID, crm.Page{})
	left, _, _ := db.Messages(sys, r.TicketID, crm.Page{})
	texts := func(ms []*crm.Message) []string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Text)
		}
		return s
	}
	if want := []string{"also: my invoice is wrong", "the invoice says 2 jackets", "Split from #" + contactsItoa(r.TicketID) + ": 2 messages moved here."}; !slices.Equal(texts(moved), want) {
		t.Fatalf("new thread = %q, want %q", texts(moved), want)
	}
	if want := []string{"where is my order", "Moved 2 messages to #" + contactsItoa(nt.ID) + " (split)."}; !slices.Equal(texts(left), want) {
		t.Fatalf("old thread = %q, want %q", texts(left), want)
	}
	if left[1].Direction != crm.DirNote || moved[2].Direction != crm.DirNote {
		t.Fatal("the split's notes are not internal notes")
	}
	if src := MustTicket(t, db, r.TicketID); !src.LastMessageAt.Equal(msgs[0].CreatedAt) {
		t.Fatalf("old ticket's last message at %v, want %v", src.LastMessageAt, msgs[0].CreatedAt)
	}
	after, _ := db.Events(sys, 0, 1000)
	seen := map[string]bool{}
	for _, e := range after[len(before):] {
		seen[e.Type+"#"+contactsItoa(e.TicketID)] = true
	}
	for _, k := range []string{"ticket.created#" + contactsItoa(nt.ID), "ticket.updated#" + contactsItoa(r.TicketID),
		"message.created#" + contactsItoa(nt.ID), "message.created#" + contactsItoa(r.TicketID)} {
		if !seen[k] {
			t.Fatalf("no %s event among %v", k, seen)
		}
	}
	// A search for the moved text finds the new ticket.
	res, err := db.Search(sys, crm.SearchQuery{Q: "invoice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Messages {
		if m.TicketID != nt.ID {
			t.Fatalf("search finds the moved message in #%d", m.TicketID)
		}
	}
	_, err = db.UpdateTicket(sys, nt.ID, crm.TicketUpdate{Status: ptr(crm.StatusClosed)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.SplitTicket(sys, nt.ID, []int64{moved[0].ID}, "")
	wantCode(t, err, crm.ECONFLICT)
}

func testIdentityProofs(t *testing.T, open Opener) {
	db := open(t, Options{})
	sys := crm.AsSystem(context.Background())
	chat := MustCreateInbox(t, db, crm.KindChat, "Widget")
	mail := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	alice := MustIngest(t, db, &crm.Inbound{InboxID: mail.ID, ExternalID: "m1", FromName: "Alice Shopper", Text: "x", From: email("alice@example.com")})
	visitor := func(id string) *crm.IngestResult {
		if err := db.CreateChatVisitor(sys, &crm.ChatVisitor{ID: id, InboxID: chat.ID}, []byte(id + "-token-hash-padded-to-32-bytes")[:32]); err != nil {
			t.Fatal(err)
		}
		return MustIngest(t, db, &crm.Inbound{InboxID: chat.ID, Channel: crm.ChannelChat, ExternalID: id + ":1", ThreadKey: crm.ChatThreadKey(id),
			Text: "where is my parcel", From: []crm.Identity{{Kind: crm.IdentityChat, Address: id}}})
	}
	v1 := visitor("v1")
	v2 := visitor("v2")
	if err := db.RecordProof(sys, "v1", "alice@example.com", "1001"); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordProof(sys, "v1", "alice@example.com", "1001"); err != nil {
		t.Fatal("a repeated proof:", err)
	}
	if err := db.RecordProof(sys, "v2", "new@example.com", "1002"); err != nil {
		t.Fatal(err)
	}
	agentMail := MustCreateAgent(t, db, "m@staff.example", crm.RoleAgent, mail.ID)
	agentChat := MustCreateAgent(t, db, "c@staff.example", crm.RoleAgent, chat.ID)
	if err := db.RecordProof(crm.WithAgent(sys, agentChat), "v1", "bob@example.com", "1"); err == nil {
		t.Fatal("an agent recorded a proof")
	}
	ctxChat := crm.WithAgent(sys, agentChat)
	_, err := db.IdentityProofs(crm.WithAgent(sys, agentMail), v1.CustomerID)
	wantCode(t, err, crm.ENOTFOUND)
	proofs, err := db.IdentityProofs(ctxChat, v1.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != 1 || proofs[0].Email != "alice@example.com" || proofs[0].OrderNumber != "1001" ||
		proofs[0].OwnerID != alice.CustomerID || proofs[0].OwnerName != "Alice Shopper" || proofs[0].Linked {
		t.Fatalf("proofs = %+v", proofs)
	}
	_, err = db.LinkProof(ctxChat, v2.CustomerID, proofs[0].ID)
	wantCode(t, err, crm.ENOTFOUND)
	// Alice's only ticket is in the mail inbox, which the chat agent does not see; the
	// shopper's proof is what lets it link the visitor to her.
	c, err := db.LinkProof(ctxChat, v1.CustomerID, proofs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != alice.CustomerID || !slices.Equal(identities(c), []string{"chat:v1", "email:alice@example.com"}) {
		t.Fatalf("linked = %+v", c)
	}
	if tk := MustTicket(t, db, v1.TicketID); tk.CustomerID != alice.CustomerID {
		t.Fatal("the visitor's ticket did not move to Alice")
	}
	if proofs, _ = db.IdentityProofs(sys, alice.CustomerID); len(proofs) != 1 || !proofs[0].Linked {
		t.Fatalf("proofs after link = %+v", proofs)
	}
	_, err = db.LinkProof(sys, alice.CustomerID, proofs[0].ID)
	wantCode(t, err, crm.ECONFLICT)
	// Nobody has the second email: the visitor gets it, verified.
	p2, _ := db.IdentityProofs(sys, v2.CustomerID)
	if len(p2) != 1 || p2[0].OwnerID != 0 {
		t.Fatalf("proofs of v2 = %+v", p2)
	}
	c, err = db.LinkProof(ctxChat, v2.CustomerID, p2[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != v2.CustomerID || !slices.Equal(identities(c), []string{"chat:v2", "email:new@example.com"}) {
		t.Fatalf("v2 linked = %+v", c)
	}
	for _, i := range c.Identities {
		if i.Kind == crm.IdentityEmail && !i.Verified {
			t.Fatal("a proved email is not marked verified")
		}
	}
}

// testVisitorNames checks that a name made up for a chat visitor gives way to the name
// the shopper types later, while a real name stays.
func testVisitorNames(t *testing.T, open Opener) {
	db := open(t, Options{})
	sys := crm.AsSystem(context.Background())
	chat := MustCreateInbox(t, db, crm.KindChat, "Widget")
	from := []crm.Identity{{Kind: crm.IdentityChat, Address: "v9"}}
	in := func(ext, name string) *crm.Customer {
		r := MustIngest(t, db, &crm.Inbound{InboxID: chat.ID, Channel: crm.ChannelChat, ExternalID: ext, ThreadKey: crm.ChatThreadKey("v9"),
			FromName: name, Text: "hi", From: from})
		c, err := db.Customer(sys, r.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct{ given, want string }{
		{crm.VisitorName("", "https://shop.example/jackets?utm=1"), "Visitor on shop.example/jackets"},
		{crm.VisitorName("sam@example.com", "https://shop.example/"), "sam@example.com"},
		{"Sam Shopper", "Sam Shopper"},
		{crm.VisitorName("", ""), "Sam Shopper"},
	} {
		if c := in(tt.given+"1", tt.given); c.Name != tt.want {
			t.Fatalf("after a message as %q the customer is %q, want %q", tt.given, c.Name, tt.want)
		}
	}
}

func contactsItoa(v int64) string { return strconv.FormatInt(v, 10) }

func testCustomerMerges(t *testing.T, open Opener) {
	db := open(t, Options{})
	sys := crm.AsSystem(context.Background())
	a := MustCreateInbox(t, db, crm.KindEmail, "A")
	b := MustCreateInbox(t, db, crm.KindEmail, "B")
	alice := MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "1", FromName: "Alice", Text: "x", From: email("alice@example.com")})
	al := MustIngest(t, db, &crm.Inbound{InboxID: a.ID, ExternalID: "2", FromName: "Al", Text: "x", From: email("al@example.com")})
	agentA := MustCreateAgent(t, db, "a@staff.example", crm.RoleAgent, a.ID)
	agentB := MustCreateAgent(t, db, "b@staff.example", crm.RoleAgent, b.ID)
	ctxA := crm.WithAgent(sys, agentA)
	first, err := db.MergeCustomers(ctxA, al.CustomerID, alice.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UnmergeCustomers(ctxA, first.ID); err != nil {
		t.Fatal(err)
	}
	second, err := db.MergeCustomers(ctxA, al.CustomerID, alice.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.CustomerMerges(crm.WithAgent(sys, agentB), alice.CustomerID)
	wantCode(t, err, crm.ENOTFOUND)
	list, err := db.CustomerMerges(ctxA, alice.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].EventID != second.ID || !list[0].Undoable || list[1].Undoable ||
		list[0].From != al.CustomerID || list[0].FromName != "Al" || list[0].Actor.ID != agentA.ID ||
		!slices.Equal(list[0].TicketIDs, []int64{al.TicketID}) {
		t.Fatalf("merges = %+v %+v", list[0], list[1])
	}
	if _, err := db.UnmergeCustomers(ctxA, second.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ = db.CustomerMerges(ctxA, alice.CustomerID); list[0].Undoable {
		t.Fatal("an undone merge is still undoable")
	}
}
