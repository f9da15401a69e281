package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parley/crm"
)

func init() {
	add("Ingest_InlineImagesLinkedBeforeTheEvent", testIngest_InlineImagesLinkedBeforeTheEvent)
	add("Ingest_NewTicketTagsInTheCreatedEvent", testIngest_NewTicketTagsInTheCreatedEvent)
	add("Ingest_BounceFailsTheReportedMessageInTheSameCommit", testIngest_BounceFailsTheReportedMessageInTheSameCommit)
	add("Ingest_GuessedTicketOnlyForItsCustomer", testIngest_GuessedTicketOnlyForItsCustomer)
	add("IngestChat_UploadsAttachedInTheSameCommit", testIngestChat_UploadsAttachedInTheSameCommit)
}

// published returns the events the bus has delivered to sub so far. The store publishes
// a commit's events before the write returns, so nothing is still on its way.
func published(sub *crm.Subscription) []*crm.Event {
	var out []*crm.Event
	for {
		select {
		case e := <-sub.C:
			out = append(out, e)
		default:
			return out
		}
	}
}

func eventTypes(events []*crm.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

// oneCommit runs write and fails unless it made exactly one commit; it returns the
// events that commit published.
func oneCommit(t *testing.T, db *Env, write func()) []*crm.Event {
	t.Helper()
	sub := db.Bus.Subscribe(100)
	defer sub.Close()
	before := db.Commits()
	write()
	if n := db.Commits() - before; n != 1 {
		t.Fatalf("%d commits, want 1", n)
	}
	return published(sub)
}

func testIngest_InlineImagesLinkedBeforeTheEvent(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Support")
	in := &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "img@example.com",
		From: email("mia@example.com"), Subject: "Damaged box", Text: "Photos attached.",
		HTML: `<p><img src="cid:box@example.com"> <img src="cid:a&amp;b"> <img src="cid:unknown"> cid:box@example.com</p>`,
		Attachments: []crm.NewAttachment{{Filename: "box.png", ContentType: "image/png", Data: []byte("png1")},
			{Filename: "lid.png", ContentType: "image/png", Data: []byte("png2")},
			{Filename: "message.eml", ContentType: "message/rfc822", Data: []byte("raw")}},
		ContentIDs: map[string]int{"box@example.com": 0, "a&b": 1}}
	var res *crm.IngestResult
	events := oneCommit(t, db, func() { res = MustIngest(t, db, in) })

	want := []string{crm.EventCustomerUpdated, crm.EventTicketCreated, crm.EventMessageCreated}
	if got := eventTypes(events); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	var m crm.Message
	if err := json.Unmarshal(events[2].Data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 3 {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	wantHTML := `<p><img src="` + m.Attachments[0].URL + `"> <img src="` + m.Attachments[1].URL +
		`"> <img src="cid:unknown"> cid:box@example.com</p>`
	if m.HTML != wantHTML {
		t.Fatalf("message.created html = %s\nwant %s", m.HTML, wantHTML)
	}
	msgs, _, err := db.Messages(ctx, res.TicketID, crm.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].HTML != wantHTML {
		t.Fatalf("stored html = %+v", msgs)
	}

	// A content id must name one of the message's attachments.
	bad := &crm.Inbound{InboxID: inbox.ID, ExternalID: "bad@example.com", From: email("mia@example.com"),
		Text: "x", HTML: `<img src="cid:x">`, ContentIDs: map[string]int{"x": 0}}
	_, err = db.Ingest(ctx, bad)
	wantCode(t, err, crm.EINVALID)
}

func testIngest_NewTicketTagsInTheCreatedEvent(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Support")
	in := &crm.Inbound{InboxID: inbox.ID, ExternalID: "ooo-1", ThreadKey: "k", From: email("away@example.com"),
		Subject: "Out of office", Text: "Back on Monday.", NewTicketTags: []string{" Auto-Reply ", "noise", "auto-reply"}}
	var res *crm.IngestResult
	events := oneCommit(t, db, func() { res = MustIngest(t, db, in) })
	if got := eventTypes(events); !slices.Equal(got, []string{crm.EventCustomerUpdated, crm.EventTicketCreated, crm.EventMessageCreated}) {
		t.Fatalf("events = %v", got)
	}
	var tk crm.Ticket
	if err := json.Unmarshal(events[1].Data, &tk); err != nil {
		t.Fatal(err)
	}
	if want := []string{"auto-reply", "noise"}; !slices.Equal(tk.Tags, want) {
		t.Fatalf("ticket.created tags = %v, want %v", tk.Tags, want)
	}
	if got := MustTicket(t, db, res.TicketID).Tags; !slices.Equal(got, []string{"auto-reply", "noise"}) {
		t.Fatalf("stored tags = %v", got)
	}

	// A message that joins the ticket leaves its tags alone.
	next := &crm.Inbound{InboxID: inbox.ID, ExternalID: "ooo-2", ThreadKey: "k", From: email("away@example.com"),
		Text: "Still away.", NewTicketTags: []string{"other"}}
	events = oneCommit(t, db, func() {
		if r := MustIngest(t, db, next); r.TicketID != res.TicketID || r.NewTicket {
			t.Fatalf("second message = %+v, want ticket %d", r, res.TicketID)
		}
	})
	if err := json.Unmarshal(events[0].Data, &tk); err != nil || events[0].Type != crm.EventTicketUpdated {
		t.Fatalf("events = %v, %v", eventTypes(events), err)
	}
	if !slices.Equal(tk.Tags, []string{"auto-reply", "noise"}) {
		t.Fatalf("ticket.updated tags = %v", tk.Tags)
	}

	_, err := db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, ExternalID: "bad", From: email("away@example.com"),
		Text: "x", NewTicketTags: []string{strings.Repeat("x", 51)}})
	wantCode(t, err, crm.EINVALID)
}

func testIngest_BounceFailsTheReportedMessageInTheSameCommit(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Support")
	other := MustCreateInbox(t, db, crm.KindEmail, "Sales")
	first := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "q1@example.com", From: email("typo@example.com"),
		Subject: "Hello", Text: "Hi"})
	out, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: first.TicketID, Body: "Hello back"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkSent(ctx, out.ID, "parley.1.ab@shop.test"); err != nil {
		t.Fatal(err)
	}
	elsewhere := MustIngest(t, db, &crm.Inbound{InboxID: other.ID, ExternalID: "s1@example.com", From: email("sam@example.com"),
		Text: "Hi"})
	foreign, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: elsewhere.TicketID, Body: "Hello Sam"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkSent(ctx, foreign.ID, "parley.2.cd@shop.test"); err != nil {
		t.Fatal(err)
	}
	report := func(id string, ids []string, failed bool) *crm.Inbound {
		return &crm.Inbound{InboxID: inbox.ID, ExternalID: id, From: email("mailer-daemon@mx.example.com"),
			Subject: "Undelivered Mail Returned to Sender", Text: "could not be delivered",
			Bounce: &crm.Bounce{ExternalIDs: ids, Failed: failed, Reason: "bounced: 550 5.1.1 no such user"}}
	}
	status := func(id int64) (string, string) {
		t.Helper()
		msgs, _, err := db.Messages(ctx, first.TicketID, crm.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.ID == id {
				return m.Status, m.Error
			}
		}
		msgs, _, _ = db.Messages(ctx, elsewhere.TicketID, crm.Page{})
		for _, m := range msgs {
			if m.ID == id {
				return m.Status, m.Error
			}
		}
		t.Fatalf("message %d not found", id)
		return "", ""
	}

	// A delay report joins the ticket and fails nothing.
	r := MustIngest(t, db, report("delay@mx", []string{"parley.1.ab@shop.test"}, false))
	if r.TicketID != first.TicketID {
		t.Fatalf("delay report filed in %d, want %d", r.TicketID, first.TicketID)
	}
	if s, _ := status(out.ID); s != crm.MsgSent {
		t.Fatalf("after a delay report the reply is %q", s)
	}

	// The failure: the first id the inbox's outbound messages have counts, and the
	// report, the failure and their events are one commit.
	events := oneCommit(t, db, func() {
		r = MustIngest(t, db, report("dsn@mx", []string{"nothing@example.com", "q1@example.com", "parley.1.ab@shop.test"}, true))
	})
	if r.TicketID != first.TicketID {
		t.Fatalf("bounce filed in %d, want %d", r.TicketID, first.TicketID)
	}
	if s, e := status(out.ID); s != crm.MsgFailed || e != "bounced: 550 5.1.1 no such user" {
		t.Fatalf("bounced reply = %q %q", s, e)
	}
	want := []string{crm.EventTicketUpdated, crm.EventMessageCreated, crm.EventMessageUpdated}
	if got := eventTypes(events); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	var m crm.Message
	if err := json.Unmarshal(events[2].Data, &m); err != nil || m.ID != out.ID || m.Status != crm.MsgFailed {
		t.Fatalf("message.updated = %s, %v", events[2].Data, err)
	}

	// A report of an inbound message, or of another inbox's message, fails and joins
	// nothing.
	for _, ids := range [][]string{{"q1@example.com"}, {"parley.2.cd@shop.test"}} {
		r := MustIngest(t, db, report("dsn-"+ids[0], ids, true))
		if !r.NewTicket {
			t.Errorf("report of %v filed in ticket %d, want a new one", ids, r.TicketID)
		}
	}
	if s, _ := status(foreign.ID); s != crm.MsgSent {
		t.Fatalf("another inbox's message is %q", s)
	}
}

func testIngest_GuessedTicketOnlyForItsCustomer(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Support")
	other := MustCreateInbox(t, db, crm.KindEmail, "Sales")
	ann := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "a1", From: email("ann@example.com"), Text: "Hi"})
	bob := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "b1", From: email("bob@example.com"), Text: "Hi"})
	sales := MustIngest(t, db, &crm.Inbound{InboxID: other.ID, ExternalID: "s1", From: email("ann@example.com"), Text: "Hi"})

	tests := []struct {
		name  string
		in    *crm.Inbound
		joins int64 // 0: a new ticket
	}{
		{"the ticket's customer", &crm.Inbound{From: email("ann@example.com"), GuessTicketID: ann.TicketID}, ann.TicketID},
		{"someone else", &crm.Inbound{From: email("eve@example.com"), GuessTicketID: ann.TicketID}, 0},
		{"another known customer", &crm.Inbound{From: email("bob@example.com"), GuessTicketID: ann.TicketID}, 0},
		{"another inbox's ticket", &crm.Inbound{From: email("ann@example.com"), GuessTicketID: sales.TicketID}, 0},
		{"no such ticket", &crm.Inbound{From: email("ann@example.com"), GuessTicketID: 9999}, 0},
		{"a known reference wins", &crm.Inbound{From: email("ann@example.com"), GuessTicketID: ann.TicketID,
			References: []string{"b1"}}, bob.TicketID},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.InboxID, tt.in.ExternalID, tt.in.Text = inbox.ID, "g"+string(rune('a'+i)), "About [#1]"
			r := MustIngest(t, db, tt.in)
			if tt.joins == 0 && !r.NewTicket || tt.joins != 0 && r.TicketID != tt.joins {
				t.Fatalf("filed in ticket %d (new %v), want %d", r.TicketID, r.NewTicket, tt.joins)
			}
		})
	}
}

func testIngestChat_UploadsAttachedInTheSameCommit(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindChat, "Chat")
	v := &crm.ChatVisitor{ID: "v1", InboxID: inbox.ID}
	if err := db.CreateChatVisitor(ctx, v, bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	limits := crm.ChatUploadLimits{PerVisitor: 150}
	upload := func(id string) *crm.ChatUpload {
		t.Helper()
		u := &crm.ChatUpload{ID: id, InboxID: inbox.ID, VisitorID: v.ID, Filename: id + ".png", ContentType: "image/png",
			Data: bytes.Repeat([]byte(id), 100/len(id))}
		if err := db.SaveChatUpload(ctx, u, limits); err != nil {
			t.Fatal(err)
		}
		return u
	}
	pending := func(id string) bool {
		_, err := os.Stat(filepath.Join(db.DataDir, "chat-uploads", id))
		return err == nil
	}
	message := func(clientID string, uploads ...*crm.ChatUpload) *crm.ChatInbound {
		in := chatInbound(inbox.ID, v, clientID, 1)
		in.TokenHash = nil
		for _, u := range uploads {
			in.Inbound.Attachments = append(in.Inbound.Attachments, crm.NewAttachment{Filename: u.Filename,
				ContentType: u.ContentType, Data: u.Data})
			in.Uploads = append(in.Uploads, u.ID)
		}
		return in
	}

	u1 := upload("u1")
	var res *crm.IngestResult
	events := oneCommit(t, db, func() {
		var err error
		if res, err = db.IngestChat(ctx, message("c1", u1)); err != nil {
			t.Fatal(err)
		}
	})
	if got := eventTypes(events); !slices.Equal(got, []string{crm.EventCustomerUpdated, crm.EventTicketCreated,
		crm.EventMessageCreated, crm.EventMessageCreated}) {
		t.Fatalf("events = %v", got)
	}
	// The upload no longer counts as pending, its own file is gone, and its bytes are the
	// message's attachment.
	if pending("u1") {
		t.Fatal("the pending file of a sent upload is still there")
	}
	upload("u2") // 100 bytes: would be over the cap of 150 with u1 still pending
	got, err := db.ChatUpload(ctx, v.ID, "u1")
	if err != nil || !bytes.Equal(got.Data, u1.Data) {
		t.Fatalf("sent upload = %+v, %v", got, err)
	}

	// A resend is a duplicate: it attaches nothing, so an upload it names stays pending.
	u2, _ := db.ChatUpload(ctx, v.ID, "u2")
	if again, err := db.IngestChat(ctx, message("c1", u2)); err != nil || !again.Duplicate || again.MessageID != res.MessageID {
		t.Fatalf("resend = %+v, %v", again, err)
	}
	if !pending("u2") {
		t.Fatal("a duplicate took an upload")
	}

	// Uploads belong to a visitor.
	in := message("c2", u2)
	in.Visitor = nil
	_, err = db.IngestChat(ctx, in)
	wantCode(t, err, crm.EINVALID)
}
