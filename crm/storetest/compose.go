package storetest

import (
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Reply_FilesBccAndHTMLGoWithTheMessage", testReply_FilesBccAndHTMLGoWithTheMessage)
	add("Reply_FilesOnlyByEmailAndInNotes", testReply_FilesOnlyByEmailAndInNotes)
}

func testReply_FilesBccAndHTMLGoWithTheMessage(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := mailInbox(t, db)
	dana := MustCreateAgent(t, db, "dana@shop.example", crm.RoleAgent, inbox.ID)
	ctx := crm.WithAgent(sys(), dana)
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "inv@a.example",
		Subject: "Invoice", Text: "Can I have the invoice?", From: email("ann@a.example")})
	pdf := []byte("%PDF-1.4 invoice 1042")
	png := []byte("\x89PNG\r\n\x1a\n label")
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "Here it is, **signed**.",
		Formatted: &crm.FormattedBody{Text: "Here it is, *signed*.", HTML: "<p>Here it is, <strong>signed</strong>.</p>"},
		BCC:       []string{"Books <BOOKS@shop.example>"},
		Attachments: []crm.NewAttachment{{Filename: "invoice-1042.pdf", ContentType: "application/pdf", Data: pdf},
			{Filename: "../label.png", ContentType: "image/png", Data: png}}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, m *crm.Message) {
		t.Helper()
		if m.Text != "Here it is, *signed*." || m.HTML != "<p>Here it is, <strong>signed</strong>.</p>" {
			t.Fatalf("%s: text %q html %q", what, m.Text, m.HTML)
		}
		if want := []crm.Address{{Name: "Books", Address: "books@shop.example"}}; !slices.Equal(m.BCC, want) {
			t.Fatalf("%s: bcc = %+v", what, m.BCC)
		}
		if len(m.Attachments) != 2 || m.Attachments[0].Filename != "invoice-1042.pdf" || m.Attachments[1].Filename != "label.png" ||
			m.Attachments[0].Size != int64(len(pdf)) || m.Attachments[1].ContentType != "image/png" || m.Attachments[0].ID == 0 {
			t.Fatalf("%s: attachments = %+v", what, m.Attachments)
		}
	}
	check("the answer", m)
	msgs, _, err := db.Messages(ctx, r.TicketID, crm.Page{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("thread = %v, %v", msgs, err)
	}
	check("the thread", msgs[1])
	claimed, err := db.ClaimOutbound(sys(), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
	check("the outbox", claimed[0].Message)
	a, f, err := db.Attachment(ctx, m.Attachments[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != string(pdf) || a.MessageID != m.ID {
		t.Fatalf("attachment %+v reads %q", a, b)
	}
	// A note takes files too; without text, files alone are a note.
	note, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Internal: true,
		Attachments: []crm.NewAttachment{{Filename: "screenshot.png", ContentType: "image/png", Data: png}}})
	if err != nil || len(note.Attachments) != 1 || note.Direction != crm.DirNote {
		t.Fatalf("note = %+v, %v", note, err)
	}
	// The formatted body is for email: a note keeps what was written.
	note, err = db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Internal: true, Body: "**see above**",
		Formatted: &crm.FormattedBody{Text: "*see above*", HTML: "<p><strong>see above</strong></p>"}})
	if err != nil || note.Text != "**see above**" || note.HTML != "" {
		t.Fatalf("note = %+v, %v", note, err)
	}
}

func testReply_FilesOnlyByEmailAndInNotes(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := MustCreateInbox(t, db, crm.KindPhone, "Phone")
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelSMS, ExternalID: "SM1",
		Text: "Where is my order?", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550123"}}})
	files := func() int {
		t.Helper()
		list, err := filepath.Glob(filepath.Join(db.DataDir, "attachments", "*", "*"))
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	file := []crm.NewAttachment{{Filename: "label.pdf", ContentType: "application/pdf", Data: []byte("%PDF label")}}
	_, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "Label attached", Attachments: file})
	wantCode(t, err, crm.EINVALID)
	if _, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "x", BCC: []string{"a@b.example"}}); crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("bcc on an SMS reply: %v, want invalid", err)
	}
	if msgs, _, _ := db.Messages(ctx, r.TicketID, crm.Page{}); len(msgs) != 1 || files() != 0 {
		t.Fatalf("%d messages and %d files after refused replies, want 1 and 0", len(msgs), files())
	}
	// The same file in a note is kept.
	note, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "Label for later", Internal: true, Attachments: file})
	if err != nil || len(note.Attachments) != 1 || files() != 1 {
		t.Fatalf("note = %+v, %v, %d files", note, err, files())
	}
	// A formatted body on an SMS reply is ignored: SMS has no HTML.
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "It ships **today**",
		Formatted: &crm.FormattedBody{Text: "It ships *today*", HTML: "<p>It ships <strong>today</strong></p>"}})
	if err != nil || m.Text != "It ships **today**" || m.HTML != "" {
		t.Fatalf("sms reply = %+v, %v", m, err)
	}
	// The limits.
	big := make([]byte, crm.MaxAttachmentSize+1)
	_, err = db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Internal: true, Attachments: []crm.NewAttachment{{Filename: "big.bin", Data: big}}})
	wantCode(t, err, crm.ETOOLARGE)
	many := slices.Repeat(file, crm.MaxReplyAttachments+1)
	_, err = db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Internal: true, Attachments: many})
	wantCode(t, err, crm.ETOOLARGE)
	half := make([]byte, crm.MaxReplyAttachmentsSize/2+1)
	_, err = db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Internal: true,
		Attachments: []crm.NewAttachment{{Filename: "a.bin", Data: half}, {Filename: "b.bin", Data: half}}})
	wantCode(t, err, crm.ETOOLARGE)
	if files() != 1 {
		t.Fatalf("%d files after refused notes, want 1", files())
	}
}
