package postgres_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
)

// TestChat_VisitorPaths plays a chat on both stores through what the shared suite leaves
// out: the visitor of a ticket, its update, the shopper's view of the conversation,
// upload caps and clean-up, and the open survey, with the same answers on both.
func TestChat_VisitorPaths(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		clock := storetest.NewClock()
		playChat(t, teststore.OpenSQLite(t, teststore.Options{Now: clock.Now}).Store, clock)
	})
	t.Run("postgres", func(t *testing.T) {
		clock := storetest.NewClock()
		playChat(t, teststore.OpenPostgres(t, teststore.Options{Now: clock.Now}).Store, clock)
	})
}

func playChat(t *testing.T, db storetest.Store, clock *storetest.Clock) {
	ctx := crm.AsSystem(context.Background())
	code := func(err error, want string) {
		t.Helper()
		if got := crm.ErrorCode(err); got != want {
			t.Fatalf("error %v, want %q", err, want)
		}
	}
	chat := storetest.MustCreateInbox(t, db, crm.KindChat, "Chat")
	mail := storetest.MustCreateInbox(t, db, crm.KindEmail, "Mail")
	token := bytes.Repeat([]byte{7}, 32)
	v := &crm.ChatVisitor{ID: "v1", InboxID: chat.ID, Name: "Ann", PageURL: "https://shop.example/mugs"}
	in := func(clientID, text string) *crm.ChatInbound {
		return &crm.ChatInbound{Inbound: &crm.Inbound{InboxID: chat.ID, Channel: crm.ChannelChat,
			ExternalID: "chat:v1:" + clientID, ThreadKey: crm.ChatThreadKey("v1"),
			From: []crm.Identity{{Kind: crm.IdentityChat, Address: "v1"}}, Text: text}, Visitor: v, TokenHash: token}
	}
	res, err := db.IngestChat(ctx, in("c1", "Hello?"))
	if err != nil {
		t.Fatal(err)
	}
	email := storetest.MustIngest(t, db, &crm.Inbound{InboxID: mail.ID, ExternalID: "e1", Subject: "Hi", Text: "x",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@example.com"}}})

	got, err := db.ChatVisitorOfTicket(ctx, res.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "v1" || got.TicketID != res.TicketID || got.CustomerID != res.CustomerID || got.Name != "Ann" {
		t.Fatalf("visitor of ticket = %+v", got)
	}
	_, err = db.ChatVisitorOfTicket(ctx, email.TicketID)
	code(err, crm.ENOTFOUND)

	clock.Add(time.Minute)
	upd := &crm.ChatVisitor{ID: "v1", InboxID: chat.ID, Name: "Ann B", Email: "ann@example.com", EmailVerified: true,
		PageURL: "https://shop.example/cups"}
	if err := db.UpdateChatVisitor(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, err = db.ChatVisitorByToken(ctx, chat.ID, token); err != nil {
		t.Fatal(err)
	}
	if got.Name != "Ann B" || got.Email != "ann@example.com" || !got.EmailVerified || got.PageURL != "https://shop.example/cups" ||
		!got.LastSeenAt.Equal(clock.Now()) || !upd.LastSeenAt.Equal(clock.Now()) {
		t.Fatalf("updated visitor = %+v", got)
	}
	code(db.UpdateChatVisitor(ctx, &crm.ChatVisitor{ID: "nobody", InboxID: chat.ID}), crm.ENOTFOUND)
	code(db.UpdateChatVisitor(ctx, &crm.ChatVisitor{ID: "v1", InboxID: chat.ID, Email: "not an email"}), crm.EINVALID)

	// The shopper sees the messages in and out, oldest first, and no note.
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "Hi Ann"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "vip", Internal: true}); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.ChatMessages(ctx, v, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Text != "Hello?" || msgs[1].Text != "Hi Ann" {
		t.Fatalf("chat messages = %+v", msgs)
	}
	if msgs, err = db.ChatMessages(ctx, v, 1); err != nil || len(msgs) != 1 || msgs[0].Text != "Hi Ann" {
		t.Fatalf("newest chat message = %+v, %v", msgs, err)
	}

	// Uploads: capped per visitor and in all, readable while pending and once attached,
	// and removed when old.
	up := &crm.ChatUpload{ID: "u1", InboxID: chat.ID, VisitorID: "v1", Filename: "a.txt", ContentType: "text/plain",
		Data: []byte("hello file")}
	if err := db.SaveChatUpload(ctx, up, crm.ChatUploadLimits{PerVisitor: 100, Total: 100}); err != nil {
		t.Fatal(err)
	}
	code(db.SaveChatUpload(ctx, &crm.ChatUpload{ID: "u2", InboxID: chat.ID, VisitorID: "v1", Data: make([]byte, 95)},
		crm.ChatUploadLimits{PerVisitor: 100}), crm.ETOOLARGE)
	code(db.SaveChatUpload(ctx, &crm.ChatUpload{ID: "u3", InboxID: chat.ID, VisitorID: "v1", Data: make([]byte, 95)},
		crm.ChatUploadLimits{Total: 100}), crm.ERATELIMITED)
	code(db.SaveChatUpload(ctx, &crm.ChatUpload{ID: "../x", VisitorID: "v1", Data: []byte("x")}, crm.ChatUploadLimits{}), crm.EINVALID)
	if u, err := db.ChatUpload(ctx, "v1", "u1"); err != nil || string(u.Data) != "hello file" || u.Size != 10 {
		t.Fatalf("pending upload = %+v, %v", u, err)
	}
	_, err = db.ChatUpload(ctx, "v2", "u1")
	code(err, crm.ENOTFOUND)
	withFile := in("c2", "see file")
	withFile.Uploads = []string{"u1"}
	withFile.Inbound.Attachments = []crm.NewAttachment{{Filename: "a.txt", ContentType: "text/plain", Data: []byte("hello file")}}
	if _, err := db.IngestChat(ctx, withFile); err != nil {
		t.Fatal(err)
	}
	if u, err := db.ChatUpload(ctx, "v1", "u1"); err != nil || string(u.Data) != "hello file" {
		t.Fatalf("attached upload = %+v, %v", u, err)
	}
	if n, err := db.DeleteChatUploads(ctx, clock.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("deleted %d uploads, %v", n, err)
	}
	_, err = db.ChatUpload(ctx, "v1", "u1")
	code(err, crm.ENOTFOUND)

	// A resolved chat ticket's survey is open for the widget until answered.
	_, err = db.OpenChatSurvey(ctx, res.TicketID)
	code(err, crm.ENOTFOUND)
	resolved := crm.StatusResolved
	if _, err := db.UpdateTicket(ctx, res.TicketID, crm.TicketUpdate{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.QueueCSATSurvey(ctx, &crm.CSATRequest{TicketID: res.TicketID, Channels: []string{crm.ChannelChat}}); err != nil || s == nil {
		t.Fatalf("queue survey: %+v, %v", s, err)
	}
	if s, err := db.OpenChatSurvey(ctx, res.TicketID); err != nil || s.TicketID != res.TicketID {
		t.Fatalf("open survey = %+v, %v", s, err)
	}
	if _, err := db.AnswerCSAT(ctx, res.TicketID, 5, "", crm.ChannelChat); err != nil {
		t.Fatal(err)
	}
	_, err = db.OpenChatSurvey(ctx, res.TicketID)
	code(err, crm.ENOTFOUND)
}
