package server_test

import (
	"testing"

	"parley/crm"
)

// TestEmailReplyCC replies on an email ticket through the API: by default copied to the
// ticket's participants, with a cc of the agent's own that becomes the participants, and
// a bad cc refused with nothing stored. The thread shows each mail's addresses, and the
// bounces view lists the delivery reports that matched nothing.
func TestEmailReplyCC(t *testing.T) {
	e := newEnv(t)
	ctx := ctxSystem()
	inbox, err := e.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "1@a.example",
		Subject: "Gift", Text: "Bob pays", FromName: "Ann", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@a.example"}},
		Mail: crm.MailAddresses{From: &crm.Address{Name: "Ann", Address: "ann@a.example"},
			To: []crm.Address{{Address: "support@shop.example"}}, CC: []crm.Address{{Name: "Bob", Address: "bob@b.example"}}},
		Participants: []crm.Address{{Name: "Bob", Address: "bob@b.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/tickets/" + itoa(res.TicketID)

	var thread struct{ Messages []crm.Message }
	e.admin.mustDo("GET", path+"/messages", nil, 200, &thread)
	if m := thread.Messages[0]; m.From == nil || m.From.Address != "ann@a.example" || len(m.CC) != 1 || m.CC[0].Name != "Bob" {
		t.Fatalf("thread message addresses = %+v", m.MailAddresses)
	}

	for _, body := range []map[string]any{
		{"body": "Hi", "cc": []string{"not an address"}},
		{"body": "Hi", "cc": []string{"a@b.example", "<<>>"}},
		{"body": "Hi", "internal": true, "cc": []string{"cy@c.example"}},
	} {
		code, data := e.admin.do("POST", path+"/messages", body)
		if code != 400 || errCode(t, data) != crm.EINVALID {
			t.Fatalf("POST %v = %d %s, want 400 invalid", body, code, data)
		}
	}
	e.admin.mustDo("GET", path+"/messages", nil, 200, &thread)
	if len(thread.Messages) != 1 {
		t.Fatalf("%d messages after refused replies, want 1", len(thread.Messages))
	}

	var m crm.Message
	e.admin.mustDo("POST", path+"/messages", map[string]any{"body": "Thanks both"}, 201, &m)
	if len(m.CC) != 1 || m.CC[0].Address != "bob@b.example" || len(m.To) != 1 || m.To[0].Address != "ann@a.example" {
		t.Fatalf("default reply addresses = %+v", m.MailAddresses)
	}
	e.admin.mustDo("POST", path+"/messages", map[string]any{"body": "Only Cy", "cc": []string{"Cy <cy@c.example>"}}, 201, &m)
	if len(m.CC) != 1 || m.CC[0] != (crm.Address{Name: "Cy", Address: "cy@c.example"}) {
		t.Fatalf("reply cc = %+v", m.CC)
	}
	var tk crm.Ticket
	e.admin.mustDo("GET", path, nil, 200, &tk)
	if len(tk.Participants) != 1 || tk.Participants[0].Address != "cy@c.example" {
		t.Fatalf("participants = %+v, want Cy", tk.Participants)
	}
	var none crm.Message
	var after crm.Ticket
	e.admin.mustDo("POST", path+"/messages", map[string]any{"body": "Nobody copied", "cc": []string{}}, 201, &none)
	e.admin.mustDo("GET", path, nil, 200, &after)
	if len(none.CC) != 0 || len(after.Participants) != 0 {
		t.Fatalf("empty cc: reply cc %+v, participants %+v", none.CC, after.Participants)
	}

	// The bounces view.
	b, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "dsn@mx.example",
		Subject: "Undelivered Mail", Text: "could not be delivered",
		From:   []crm.Identity{{Kind: crm.IdentityEmail, Address: "mailer-daemon@parley.invalid"}},
		Bounce: &crm.Bounce{ExternalIDs: []string{"elsewhere@x.example"}, Failed: true}})
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Tickets []crm.Ticket }
	e.admin.mustDo("GET", "/api/v1/tickets?tag=bounce", nil, 200, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != b.TicketID || list.Tickets[0].Status != crm.StatusClosed {
		t.Fatalf("bounces = %+v", list.Tickets)
	}
	e.admin.mustDo("GET", "/api/v1/tickets?status=open", nil, 200, &list)
	for _, x := range list.Tickets {
		if x.ID == b.TicketID {
			t.Fatalf("the bounce is among the open tickets")
		}
	}
}
