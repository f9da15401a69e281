package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Ingest_ReusedIDIsAnotherMessage", testIngest_ReusedIDIsAnotherMessage)
	add("Ingest_OriginalAfterItsReplyJoinsTheReply", testIngest_OriginalAfterItsReplyJoinsTheReply)
	add("Ingest_ClearTicketTags", testIngest_ClearTicketTags)
	add("Ingest_UnmatchedBounceIsClosedAndNotReported", testIngest_UnmatchedBounceIsClosedAndNotReported)
	add("Ingest_ParticipantsAreCopiedNotAnswered", testIngest_ParticipantsAreCopiedNotAnswered)
	add("Outbox_ReferencesCarryTheCustomersChain", testOutbox_ReferencesCarryTheCustomersChain)
}

func mailInbox(t *testing.T, db *Env) *crm.Inbox {
	t.Helper()
	return MustCreateInbox(t, db, crm.KindEmail, "Mail")
}

func testIngest_ReusedIDIsAnotherMessage(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := mailInbox(t, db)
	first := &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "same@shop.example", Subject: "Order 1",
		Text: "Your order 1 shipped", From: email("noreply@shop.example"), ContentHash: "h1"}
	r1 := MustIngest(t, db, first)
	// The same mail again: a duplicate.
	again := *first
	if r := MustIngest(t, db, &again); !r.Duplicate || r.MessageID != r1.MessageID {
		t.Fatalf("repeat = %+v, want the duplicate of %+v", r, r1)
	}
	// Another mail with the same Message-ID: filed.
	second := &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "same@shop.example", Subject: "Order 2",
		Text: "Your order 2 shipped", From: email("noreply@shop.example"), ContentHash: "h2"}
	r2 := MustIngest(t, db, second)
	if r2.Duplicate || r2.MessageID == r1.MessageID || !r2.NewTicket {
		t.Fatalf("second mail = %+v, want a message of its own in a new ticket", r2)
	}
	// ... and that one again is a duplicate of it.
	again2 := *second
	if r := MustIngest(t, db, &again2); !r.Duplicate || r.MessageID != r2.MessageID {
		t.Fatalf("repeat of the second = %+v, want the duplicate of %+v", r, r2)
	}
	// The same content from someone else with the same id is another mail too.
	other := *first
	other.From = email("mallory@evil.example")
	if r := MustIngest(t, db, &other); r.Duplicate {
		t.Fatalf("same id and content from another sender = %+v, want filed", r)
	}
	// Without a hash (other channels) the external id alone decides.
	plain := &crm.Inbound{InboxID: inbox.ID, ExternalID: "same@shop.example", Text: "x", From: email("noreply@shop.example")}
	if r := MustIngest(t, db, plain); !r.Duplicate {
		t.Fatalf("no hash: %+v, want a duplicate", r)
	}
}

func testIngest_OriginalAfterItsReplyJoinsTheReply(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := mailInbox(t, db)
	reply := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "reply@a.example", Subject: "Re: Broken mug",
		Text: "Forgot the photo", From: email("ann@a.example"), References: []string{"original@a.example"}, FindReferrer: true})
	orig := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "original@a.example", Subject: "Broken mug",
		Text: "My mug arrived broken", From: email("ann@a.example"), FindReferrer: true})
	if orig.TicketID != reply.TicketID || orig.NewTicket {
		t.Fatalf("original = %+v, want it in the reply's ticket %d", orig, reply.TicketID)
	}
	// Without FindReferrer (a mail that failed the sender checks) it opens its own.
	reply2 := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "reply2@a.example", Subject: "Re: Lid",
		Text: "And the lid", From: email("ann@a.example"), References: []string{"original2@a.example"}})
	other := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "original2@a.example", Subject: "Lid",
		Text: "The lid", From: email("ann@a.example")})
	if other.TicketID == reply2.TicketID {
		t.Fatalf("filed into the referring ticket without FindReferrer")
	}
}

func testIngest_ClearTicketTags(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := mailInbox(t, db)
	auto := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "ooo@a.example", Subject: "Out of office",
		Text: "Away", From: email("ann@a.example"), NewTicketTags: []string{"auto-reply", "vip"}})
	events := oneCommit(t, db, func() {
		MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "real@a.example", Subject: "Re: Out of office",
			Text: "Back now: where is my order?", From: email("ann@a.example"), References: []string{"ooo@a.example"},
			ClearTicketTags: []string{"Auto-Reply"}})
	})
	if got := MustTicket(t, db, auto.TicketID).Tags; !slices.Equal(got, []string{"vip"}) {
		t.Fatalf("tags = %v, want [vip]", got)
	}
	var tk crm.Ticket
	for _, e := range events {
		if e.Type == crm.EventTicketUpdated {
			json.Unmarshal(e.Data, &tk)
		}
	}
	if !slices.Equal(tk.Tags, []string{"vip"}) {
		t.Fatalf("ticket.updated tags = %v, want [vip]", tk.Tags)
	}
}

func testIngest_UnmatchedBounceIsClosedAndNotReported(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := mailInbox(t, db)
	conv := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "q@a.example", Subject: "Question",
		Text: "Hello", From: email("ann@a.example")})
	// A report about a message the inbox never sent, which even references the
	// conversation, stays out of it.
	b := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "dsn@mx.example", Subject: "Undeliverable",
		Text: "could not be delivered", From: email("mailer-daemon@parley.invalid"), References: []string{"q@a.example"},
		Bounce: &crm.Bounce{ExternalIDs: []string{"not-ours@x.example"}, Failed: true, Reason: "bounced: 550"}})
	if !b.NewTicket || b.TicketID == conv.TicketID {
		t.Fatalf("bounce = %+v, want a ticket of its own", b)
	}
	tk := MustTicket(t, db, b.TicketID)
	if tk.Status != crm.StatusClosed || !slices.Equal(tk.Tags, []string{crm.TagBounce}) {
		t.Fatalf("bounce ticket = %s %v, want closed [bounce]", tk.Status, tk.Tags)
	}
	list, _, err := db.Tickets(ctx, crm.TicketFilter{Tag: crm.TagBounce})
	if err != nil || len(list) != 1 || list[0].ID != b.TicketID {
		t.Fatalf("bounces view = %v, %v", list, err)
	}
	facts, err := db.ReportFacts(ctx, crm.ReportFilter{From: db.Clock.Now().Add(-time.Hour), To: db.Clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(facts) != 1 || facts[0].ID != conv.TicketID {
		t.Fatalf("report facts = %d tickets, want only the conversation %d", len(facts), conv.TicketID)
	}
	// Another unmatched report does not join the first one either.
	b2 := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "dsn2@mx.example", Subject: "Undeliverable",
		Text: "could not be delivered", From: email("mailer-daemon@parley.invalid"),
		Bounce: &crm.Bounce{Failed: true}})
	if !b2.NewTicket {
		t.Fatalf("second bounce = %+v, want a ticket of its own", b2)
	}
}

func testIngest_ParticipantsAreCopiedNotAnswered(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := mailInbox(t, db)
	first := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "1@a.example",
		Subject: "Wedding order", Text: "Bob pays", From: email("ann@a.example"),
		Mail: crm.MailAddresses{From: &crm.Address{Name: "Ann", Address: "ann@a.example"},
			To: []crm.Address{{Address: "support@shop.example"}}, CC: []crm.Address{{Name: "Bob", Address: "bob@b.example"}}},
		Participants: []crm.Address{{Name: "Bob", Address: "Bob@B.example"}, {Address: "ann@a.example"}}})
	tk := MustTicket(t, db, first.TicketID)
	if want := []crm.Address{{Name: "Bob", Address: "bob@b.example"}}; !slices.Equal(tk.Participants, want) {
		t.Fatalf("participants = %+v, want %+v (the customer is none)", tk.Participants, want)
	}
	msgs, _, _ := db.Messages(ctx, first.TicketID, crm.Page{})
	if m := msgs[0]; m.From == nil || m.From.Name != "Ann" || len(m.CC) != 1 || m.CC[0].Address != "bob@b.example" {
		t.Fatalf("message addresses = %+v", m.MailAddresses)
	}

	// Bob writes into the ticket: his message, but no customer and not the reply address.
	bob := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "2@b.example",
		Subject: "Re: Wedding order", Text: "Yes, I pay", FromName: "Bob", From: email("bob@b.example"),
		References: []string{"1@a.example"}, Participants: []crm.Address{{Name: "Ann", Address: "ann@a.example"},
			{Name: "Cy", Address: "cy@c.example"}}})
	if bob.TicketID != first.TicketID || bob.NewTicket {
		t.Fatalf("participant's reply = %+v, want it in ticket %d", bob, first.TicketID)
	}
	if cs, _, err := db.Customers(ctx, "", crm.Page{Limit: 100}); err != nil || len(cs) != 1 {
		t.Fatalf("customers = %d (%v), want only Ann: a participant is no customer", len(cs), err)
	}
	msgs, _, _ = db.Messages(ctx, first.TicketID, crm.Page{})
	if a := msgs[1].Author; a.Kind != "participant" || a.Name != "Bob" {
		t.Fatalf("author = %+v, want participant Bob", a)
	}
	tk = MustTicket(t, db, first.TicketID)
	if len(tk.Participants) != 2 || tk.Participants[1].Address != "cy@c.example" {
		t.Fatalf("participants = %+v, want Bob and Cy", tk.Participants)
	}

	// A reply goes to Ann, copied to the participants.
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "Thanks both"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.To) != 1 || m.To[0].Address != "ann@a.example" || len(m.CC) != 2 {
		t.Fatalf("reply addresses = %+v", m.MailAddresses)
	}
	claimed, err := db.ClaimOutbound(ctx, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
	if got := claimed[0].ReplyAddress(crm.IdentityEmail); got != "ann@a.example" {
		t.Fatalf("reply address = %q, want the customer's", got)
	}
	if got := claimed[0].Message.CC; len(got) != 2 {
		t.Fatalf("outbound cc = %+v", got)
	}
	// An explicit CC is the new list of participants; a bad one changes nothing.
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "x", CC: []string{"not an address"}}); crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("bad cc: %v, want invalid", err)
	}
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "x", Internal: true, CC: []string{"cy@c.example"}}); crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("cc on a note: %v, want invalid", err)
	}
	m, err = db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "Only Cy", CC: []string{"Cy <CY@c.example>"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []crm.Address{{Name: "Cy", Address: "cy@c.example"}}; !slices.Equal(m.CC, want) || !slices.Equal(MustTicket(t, db, first.TicketID).Participants, want) {
		t.Fatalf("cc = %+v, participants = %+v, want %+v", m.CC, MustTicket(t, db, first.TicketID).Participants, want)
	}
}

func testOutbox_ReferencesCarryTheCustomersChain(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := mailInbox(t, db)
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "c3@a.example", Subject: "Re: Re: Sizes",
		Text: "Size M please", From: email("ann@a.example"), References: []string{"c1@a.example", "c2@other.example"}})
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "Will do"}); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimOutbound(ctx, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
	if want := []string{"c1@a.example", "c2@other.example", "c3@a.example"}; !slices.Equal(claimed[0].References, want) {
		t.Fatalf("references = %v, want %v", claimed[0].References, want)
	}
}
