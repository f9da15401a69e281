package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("WhatsAppWindow", testWhatsAppWindow)
}

func testWhatsAppWindow(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	phone := MustCreateInbox(t, db, crm.KindPhone, "Phone")
	agent := MustCreateAgent(t, db, "wa@example.test", crm.RoleAgent, phone.ID)
	actx := crm.WithAgent(ctx, agent)
	from := []crm.Identity{{Kind: crm.IdentityPhone, Address: "+4915112345678"}}
	r := MustIngest(t, db, &crm.Inbound{InboxID: phone.ID, Channel: crm.ChannelWhatsApp, ExternalID: "WA1",
		Text: "where is my parcel?", From: from})
	first := db.Clock.Now()
	tmpl := &crm.MessageTemplate{SID: "HX" + strings.Repeat("ab", 16), Name: "order_update",
		Variables: map[string]string{"1": "Alice", "2": "#1042"}}

	ends, ok, err := db.WhatsAppWindow(actx, r.TicketID)
	if err != nil || !ok || !ends.Equal(first.Add(crm.WhatsAppWindow)) {
		t.Fatalf("window = %v, %v, %v; want %v", ends, ok, err, first.Add(crm.WhatsAppWindow))
	}
	db.Clock.Add(23 * time.Hour)
	if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: r.TicketID, Body: "inside the window"}); err != nil {
		t.Fatalf("a reply inside the window: %v", err)
	}

	// After 24 hours only a template goes; the free-form reply is refused and nothing is queued.
	db.Clock.Add(time.Hour + time.Second)
	before := len(mustMessages(t, db, r.TicketID))
	_, err = db.AddMessage(actx, &crm.NewMessage{TicketID: r.TicketID, Body: "too late"})
	if crm.ErrorCode(err) != crm.ECONFLICT || !strings.Contains(crm.ErrorMessage(err), "24-hour window closed") {
		t.Fatalf("a free-form reply after the window: %v, want conflict", err)
	}
	if n := len(mustMessages(t, db, r.TicketID)); n != before {
		t.Fatalf("a refused reply left %d messages, want %d", n, before)
	}
	if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: r.TicketID, Body: "note", Internal: true}); err != nil {
		t.Fatalf("a note after the window: %v", err)
	}
	m, err := db.AddMessage(actx, &crm.NewMessage{TicketID: r.TicketID, Body: "Hi Alice, order #1042 has shipped.", Template: tmpl})
	if err != nil {
		t.Fatalf("a template after the window: %v", err)
	}
	if m.Channel != crm.ChannelWhatsApp || m.Status != crm.MsgQueued || m.Template == nil || m.Template.SID != tmpl.SID ||
		m.Template.Variables["2"] != "#1042" {
		t.Fatalf("template reply = %+v", m)
	}
	msgs := mustMessages(t, db, r.TicketID)
	if got := msgs[len(msgs)-1]; got.Template == nil || got.Template.Name != "order_update" || got.Template.Variables["1"] != "Alice" {
		t.Fatalf("template read back = %+v", got.Template)
	}
	if msgs[0].Template != nil {
		t.Fatalf("an inbound message has a template: %+v", msgs[0].Template)
	}

	// The customer's message on another ticket of the inbox opens the window again.
	db.Clock.Add(time.Hour)
	r2 := MustIngest(t, db, &crm.Inbound{InboxID: phone.ID, Channel: crm.ChannelWhatsApp, ExternalID: "WA2",
		Text: "new question", From: from, ThreadKey: "other"})
	if ends, ok, err := db.WhatsAppWindow(actx, r.TicketID); err != nil || !ok || !ends.Equal(db.Clock.Now().Add(crm.WhatsAppWindow)) {
		t.Fatalf("window after a new message = %v, %v, %v (tickets %d and %d)", ends, ok, err, r.TicketID, r2.TicketID)
	}
	if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: r.TicketID, Body: "free again"}); err != nil {
		t.Fatalf("a reply after the customer wrote again: %v", err)
	}

	// Templates are for WhatsApp only, and are checked.
	sms := MustIngest(t, db, &crm.Inbound{InboxID: phone.ID, Channel: crm.ChannelSMS, ExternalID: "SM1",
		Text: "by sms", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+4915199999999"}}})
	if _, ok, err := db.WhatsAppWindow(actx, sms.TicketID); err != nil || ok {
		t.Fatalf("window of an SMS ticket: ok %v, %v", ok, err)
	}
	if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: sms.TicketID, Body: "x", Template: tmpl}); crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("a template on SMS: %v, want invalid", err)
	}
	for _, bad := range []*crm.MessageTemplate{
		{SID: "HX123"},
		{SID: tmpl.SID, Variables: map[string]string{"bad key!": "x"}},
		{SID: tmpl.SID, Variables: map[string]string{"1": strings.Repeat("x", crm.MaxTemplateValue+1)}},
	} {
		if _, err := db.AddMessage(actx, &crm.NewMessage{TicketID: r.TicketID, Body: "x", Template: bad}); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("template %+v: %v, want invalid", bad, err)
		}
	}
	if _, _, err := db.WhatsAppWindow(actx, 9999); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("window of an unknown ticket: %v, want not_found", err)
	}
}

func mustMessages(tb testing.TB, db Store, ticketID int64) []*crm.Message {
	tb.Helper()
	msgs, _, err := db.Messages(crm.AsSystem(context.Background()), ticketID, crm.Page{Limit: 200})
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}
