package storetest

import (
	"context"
	"strings"
	"testing"

	"parley/crm"
)

func init() {
	add("PhoneOptOut", testPhoneOptOut)
	add("SetDeliveryStatus", testSetDeliveryStatus)
	add("UpdateCall", testUpdateCall)
}

func testPhoneOptOut(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	a := MustCreateInbox(t, db, crm.KindPhone, "A")
	b := MustCreateInbox(t, db, crm.KindPhone, "B")
	if err := db.SetPhoneOptOut(ctx, a.ID, "+15551234567", true); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		inbox int64
		want  bool
	}{{a.ID, true}, {b.ID, false}} {
		if got, err := db.PhoneOptedOut(ctx, tt.inbox, "+15551234567"); err != nil || got != tt.want {
			t.Errorf("inbox %d: opted out = %v, %v; want %v", tt.inbox, got, err, tt.want)
		}
	}
	if err := db.SetPhoneOptOut(ctx, a.ID, "+15551234567", true); err != nil {
		t.Errorf("a second STOP: %v", err)
	}
	if err := db.SetPhoneOptOut(ctx, a.ID, "+15551234567", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.PhoneOptedOut(ctx, a.ID, "+15551234567"); got {
		t.Error("still opted out after START")
	}
	if err := db.SetPhoneOptOut(ctx, a.ID, "5551234567", true); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("non-E.164: %v, want invalid", err)
	}
	if err := db.SetPhoneOptOut(ctx, 999, "+15551234567", true); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("unknown inbox: %v, want not_found", err)
	}
}

func testSetDeliveryStatus(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindPhone, "SMS")
	r := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelSMS, ExternalID: "SM-in", Text: "hi",
		From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15551234567"}}})
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkSent(ctx, m.ID, "SM-out"); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ status, reason, want, wantErr string }{
		{crm.MsgQueued, "", crm.MsgSent, ""},
		{crm.MsgDelivered, "", crm.MsgDelivered, ""},
		{crm.MsgSent, "", crm.MsgDelivered, ""},
		{crm.MsgFailed, "late failure", crm.MsgDelivered, ""},
	}
	for _, s := range steps {
		got, err := db.SetDeliveryStatus(ctx, in.ID, "SM-out", s.status, s.reason)
		if err != nil || got.Status != s.want || got.Error != s.wantErr {
			t.Errorf("after %s: %+v, %v; want %s", s.status, got, err, s.want)
		}
	}
	if _, err := db.SetDeliveryStatus(ctx, in.ID, "SM-in", crm.MsgDelivered, ""); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("an inbound message: %v, want not_found", err)
	}
	if _, err := db.SetDeliveryStatus(ctx, in.ID, "SM-nope", crm.MsgDelivered, ""); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("unknown sid: %v, want not_found", err)
	}
	if _, err := db.SetDeliveryStatus(ctx, in.ID, "SM-out", "read", ""); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("unknown status: %v, want invalid", err)
	}
}

func testUpdateCall(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindPhone, "Calls")
	if _, err := db.UpdateCall(ctx, in.ID, "CA1", crm.CallUpdate{}); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("a call without a message: %v, want not_found", err)
	}
	MustIngest(t, db, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelVoice, ExternalID: "CA1", Text: "call",
		From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15551234567"}}})
	audio := crm.NewAttachment{Filename: "voicemail.mp3", ContentType: "audio/mpeg", Data: []byte("mp3")}
	updates := []crm.CallUpdate{
		{Party: "+15551234567"},
		{Outcome: crm.CallMissed, Note: "Nobody was online."},
		{Outcome: crm.CallVoicemail, Attachments: []crm.NewAttachment{audio}},
		{Outcome: crm.CallVoicemail, Attachments: []crm.NewAttachment{audio}, Note: "Nobody was online."},
		{Outcome: crm.CallMissed, Ended: true, Duration: 61},
	}
	var c *crm.PhoneCall
	var err error
	for _, u := range updates {
		if c, err = db.UpdateCall(ctx, in.ID, "CA1", u); err != nil {
			t.Fatal(err)
		}
	}
	want := "Voicemail from +15551234567 (1m 01s)\nNobody was online."
	if c.Outcome != crm.CallVoicemail || c.Text() != want {
		t.Errorf("call = %+v, text %q", c, c.Text())
	}
	m, err := db.MessageByExternalID(ctx, in.ID, "CA1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != want || len(m.Attachments) != 1 || !strings.HasSuffix(m.Attachments[0].Filename, ".mp3") {
		t.Errorf("message = %q with %d attachments", m.Text, len(m.Attachments))
	}
	if _, err := db.UpdateCall(ctx, in.ID, "CA1", crm.CallUpdate{Direction: "sideways"}); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("bad direction: %v", err)
	}
}
