package storetest

import (
	"bytes"
	"context"
	"testing"

	"parley/crm"
)

func init() {
	add("IngestChat", testIngestChat)
	add("IngestChatRefusals", testIngestChatRefusals)
}

// chatInbound is a visitor's first message as the chat channel files it.
func chatInbound(inboxID int64, v *crm.ChatVisitor, clientID string, token byte) *crm.ChatInbound {
	return &crm.ChatInbound{
		Inbound: &crm.Inbound{InboxID: inboxID, Channel: crm.ChannelChat, ExternalID: "chat:" + v.ID + ":" + clientID,
			ThreadKey: crm.ChatThreadKey(v.ID), From: []crm.Identity{{Kind: crm.IdentityChat, Address: v.ID}},
			Text: "Hello, is anyone there?"},
		Visitor: v, TokenHash: bytes.Repeat([]byte{token}, 32),
		NewTicketNote: []string{"New chat conversation."},
		Note:          []string{"The shopper is on https://shop.example/mugs"},
	}
}

func testIngestChat(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindChat, "Chat")
	sub := db.Bus.Subscribe(100)
	defer sub.Close()

	v := &crm.ChatVisitor{ID: "v1", InboxID: inbox.ID, Name: "Ann", PageURL: "https://shop.example/mugs"}
	res, err := db.IngestChat(ctx, chatInbound(inbox.ID, v, "c1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !res.NewTicket || res.Duplicate {
		t.Fatalf("result = %+v, want a new ticket", res)
	}
	// The visitor, its message and the agents' note are stored together.
	got, err := db.ChatVisitorByToken(ctx, inbox.ID, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "v1" || got.Name != "Ann" || got.PageURL != "https://shop.example/mugs" || got.TicketID != res.TicketID {
		t.Fatalf("visitor = %+v", got)
	}
	msgs, _, err := db.Messages(ctx, res.TicketID, crm.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Direction != crm.DirIn || msgs[1].Direction != crm.DirNote ||
		msgs[1].Text != "New chat conversation.\nThe shopper is on https://shop.example/mugs" {
		t.Fatalf("messages = %+v", msgs)
	}
	// The events come after the commit, in order: the customer, the ticket, the message, the note.
	want := []string{crm.EventCustomerUpdated, crm.EventTicketCreated, crm.EventMessageCreated, crm.EventMessageCreated}
	var last int64
	for i, typ := range want {
		e := <-sub.C
		if e.Type != typ || e.ID <= last {
			t.Fatalf("event %d = %s %d, want %s after %d", i, e.Type, e.ID, typ, last)
		}
		last = e.ID
		if stored, err := db.Events(ctx, e.ID-1, 1); err != nil || len(stored) != 1 || stored[0].ID != e.ID || stored[0].Type != typ {
			t.Fatalf("published event %d is not the stored one: %+v, %v", e.ID, stored, err)
		}
	}

	// A resend is a duplicate: no second message, no second note.
	again, err := db.IngestChat(ctx, chatInbound(inbox.ID, v, "c1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.MessageID != res.MessageID {
		t.Fatalf("resend = %+v, want the duplicate of %+v", again, res)
	}
	// A later message of the same stored visitor gets only the lines for any message.
	in := chatInbound(inbox.ID, v, "c2", 1)
	in.Visitor, in.TokenHash = nil, nil
	in.Note = []string{"The shopper is on https://shop.example/cups"}
	if _, err := db.IngestChat(ctx, in); err != nil {
		t.Fatal(err)
	}
	if msgs, _, _ = db.Messages(ctx, res.TicketID, crm.Page{}); len(msgs) != 4 || msgs[3].Text != "The shopper is on https://shop.example/cups" {
		t.Fatalf("messages = %+v", msgs)
	}
}

func testIngestChatRefusals(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	chat := MustCreateInbox(t, db, crm.KindChat, "Chat")
	api := MustCreateInbox(t, db, crm.KindAPI, "API")
	v := &crm.ChatVisitor{ID: "v1", InboxID: chat.ID}
	if _, err := db.IngestChat(ctx, chatInbound(chat.ID, v, "c1", 1)); err != nil {
		t.Fatal(err)
	}
	// Another token cannot take over a visitor, and nothing of its message stays.
	_, err := db.IngestChat(ctx, chatInbound(chat.ID, &crm.ChatVisitor{ID: "v1", InboxID: chat.ID, Name: "Mallory"}, "c9", 2))
	wantCode(t, err, crm.ECONFLICT)
	if got, err := db.ChatVisitorByToken(ctx, chat.ID, bytes.Repeat([]byte{1}, 32)); err != nil || got.Name != "" {
		t.Fatalf("visitor = %+v, %v", got, err)
	}
	// A visitor belongs to a chat inbox.
	_, err = db.IngestChat(ctx, chatInbound(api.ID, &crm.ChatVisitor{ID: "v2", InboxID: api.ID}, "c1", 3))
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.IngestChat(ctx, chatInbound(chat.ID, &crm.ChatVisitor{ID: "bad id", InboxID: chat.ID}, "c1", 4))
	wantCode(t, err, crm.EINVALID)
	_, err = db.IngestChat(ctx, nil)
	wantCode(t, err, crm.EINVALID)
	// Creating a stored visitor again with its token changes nothing.
	if err := db.CreateChatVisitor(ctx, &crm.ChatVisitor{ID: "v1", InboxID: chat.ID, Name: "Other"}, bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ChatVisitorByToken(ctx, chat.ID, bytes.Repeat([]byte{1}, 32)); got.Name != "" {
		t.Fatalf("visitor = %+v", got)
	}
	err = db.CreateChatVisitor(ctx, &crm.ChatVisitor{ID: "v1", InboxID: chat.ID}, bytes.Repeat([]byte{5}, 32))
	wantCode(t, err, crm.ECONFLICT)
}
