package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Ingest_IdentityAcrossChannels", testIngest_IdentityAcrossChannels)
	add("Ingest_Thread", testIngest_Thread)
	add("Ingest_Reopen", testIngest_Reopen)
	add("Ingest_Dedupe", testIngest_Dedupe)
	add("Ingest_Invalid", testIngest_Invalid)
	add("Ingest_ReceivedAt", testIngest_ReceivedAt)
	add("Attachments", testAttachments)
}

func testIngest_IdentityAcrossChannels(t *testing.T, open Opener) {
	db := open(t, Options{})
	api := MustCreateInbox(t, db, crm.KindAPI, "API")
	sms := MustCreateInbox(t, db, crm.KindPhone, "SMS")

	r1 := MustIngest(t, db, &crm.Inbound{InboxID: api.ID, Channel: crm.ChannelAPI, ExternalID: "a1",
		FromName: "Alice Smith", Subject: "Where is my order?", Text: "Hi",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@example.com"}, {Kind: crm.IdentityPhone, Address: "+15551234567"}}})
	r2 := MustIngest(t, db, &crm.Inbound{InboxID: sms.ID, Channel: crm.ChannelSMS, ExternalID: "SM1",
		Text: "any news?", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15551234567"}}})
	if r2.CustomerID != r1.CustomerID {
		t.Fatalf("sms customer = %d, want %d", r2.CustomerID, r1.CustomerID)
	}
	if r2.TicketID == r1.TicketID || !r2.NewTicket {
		t.Fatalf("sms in another inbox must open its own ticket: %+v %+v", r1, r2)
	}
	c, err := db.Customer(crm.AsSystem(context.Background()), r1.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Alice Smith" || len(c.Identities) != 2 {
		t.Fatalf("customer = %+v", c)
	}
	tk := MustTicket(t, db, r2.TicketID)
	if tk.Subject != "any news?" || tk.Channel != crm.ChannelSMS || tk.Status != crm.StatusOpen || tk.Priority != crm.PriorityNormal {
		t.Fatalf("sms ticket = %+v", tk)
	}
	// A later message with a new identity adds it to the same customer and fills nothing else.
	r3 := MustIngest(t, db, &crm.Inbound{InboxID: api.ID, ExternalID: "a2", FromName: "Other Name", Text: "x",
		From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15551234567"}, {Kind: crm.IdentityChat, Address: "visitor-1"}}})
	if r3.CustomerID != r1.CustomerID {
		t.Fatalf("customer = %d, want %d", r3.CustomerID, r1.CustomerID)
	}
	if c, _ = db.Customer(crm.AsSystem(context.Background()), r1.CustomerID); len(c.Identities) != 3 || c.Name != "Alice Smith" {
		t.Fatalf("customer = %+v", c)
	}
}

func testIngest_Thread(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	other := MustCreateInbox(t, db, crm.KindEmail, "Other")
	first := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "<m1@x>", ThreadKey: "thread-1",
		Subject: "Refund", Text: "please", From: email("bob@example.com")})
	second := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "<m2@x>",
		Subject: "Other topic", Text: "hello", From: email("bob@example.com")})
	if !second.NewTicket || second.TicketID == first.TicketID {
		t.Fatal("a message without thread must open a new ticket")
	}
	for _, tt := range []struct {
		name string
		in   crm.Inbound
		want int64
	}{
		{"thread key", crm.Inbound{ThreadKey: "thread-1"}, first.TicketID},
		{"references", crm.Inbound{References: []string{"<unknown@x>", "<m2@x>"}}, second.TicketID},
		{"references newest match", crm.Inbound{References: []string{"<m2@x>", "<m1@x>"}}, second.TicketID},
		{"ticket id", crm.Inbound{TicketID: first.TicketID, ThreadKey: "nope"}, first.TicketID},
		{"ticket id wins", crm.Inbound{TicketID: first.TicketID, References: []string{"<m2@x>"}}, first.TicketID},
		{"no match", crm.Inbound{ThreadKey: "thread-2"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.InboxID, in.ExternalID, in.Text, in.From = inbox.ID, "<"+tt.name+"@x>", "reply", email("bob@example.com")
			r := MustIngest(t, db, &in)
			if tt.want == 0 {
				if !r.NewTicket {
					t.Fatalf("got ticket %d, want a new one", r.TicketID)
				}
				return
			}
			if r.TicketID != tt.want || r.NewTicket {
				t.Fatalf("ticket = %d (new %v), want %d", r.TicketID, r.NewTicket, tt.want)
			}
		})
	}
	// A ticket id of another inbox is not followed.
	r := MustIngest(t, db, &crm.Inbound{InboxID: other.ID, ExternalID: "o1", TicketID: first.TicketID, Text: "x",
		From: email("bob@example.com")})
	if !r.NewTicket {
		t.Fatal("ticket of another inbox joined")
	}
	msgs, _, err := db.Messages(crm.AsSystem(context.Background()), first.TicketID, crm.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Fatalf("first ticket has %d messages, want 4", len(msgs))
	}
	if m := msgs[0]; m.Direction != crm.DirIn || m.Status != crm.MsgReceived || m.Author.Kind != "customer" ||
		m.Channel != crm.ChannelEmail || m.Author.ID != first.CustomerID {
		t.Fatalf("message = %+v", m)
	}
}

func testIngest_Reopen(t *testing.T, open Opener) {
	for _, tt := range []struct {
		name      string
		status    string
		wait      time.Duration
		newTicket bool
		want      string
	}{
		{"open joins", crm.StatusOpen, 0, false, crm.StatusOpen},
		{"pending reopens", crm.StatusPending, 0, false, crm.StatusOpen},
		{"resolved within window reopens", crm.StatusResolved, 6 * 24 * time.Hour, false, crm.StatusOpen},
		{"resolved after window links", crm.StatusResolved, 8 * 24 * time.Hour, true, crm.StatusOpen},
		{"closed links", crm.StatusClosed, time.Minute, true, crm.StatusOpen},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t, Options{})
			ctx := crm.AsSystem(context.Background())
			inbox := MustCreateInbox(t, db, crm.KindChat, "Chat")
			first := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", ThreadKey: "v1", Text: "hi",
				From: []crm.Identity{{Kind: crm.IdentityChat, Address: "v1"}}})
			if _, err := db.UpdateTicket(ctx, first.TicketID, crm.TicketUpdate{Status: &tt.status}); err != nil {
				t.Fatal(err)
			}
			db.Clock.Add(tt.wait)
			r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "2", ThreadKey: "v1", Text: "again",
				From: []crm.Identity{{Kind: crm.IdentityChat, Address: "v1"}}})
			if r.NewTicket != tt.newTicket {
				t.Fatalf("new ticket = %v, want %v", r.NewTicket, tt.newTicket)
			}
			got := MustTicket(t, db, r.TicketID)
			if got.Status != tt.want || got.ResolvedAt != nil {
				t.Fatalf("status = %q resolved_at %v, want %q", got.Status, got.ResolvedAt, tt.want)
			}
			if tt.newTicket {
				if got.LinkedTicketID != first.TicketID {
					t.Fatalf("linked ticket = %d, want %d", got.LinkedTicketID, first.TicketID)
				}
				if old := MustTicket(t, db, first.TicketID); old.Status != tt.status {
					t.Fatalf("old ticket status = %q", old.Status)
				}
				// The next message of the thread joins the new ticket.
				r3 := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "3", ThreadKey: "v1", Text: "3",
					From: []crm.Identity{{Kind: crm.IdentityChat, Address: "v1"}}})
				if r3.TicketID != r.TicketID {
					t.Fatalf("third message on ticket %d, want %d", r3.TicketID, r.TicketID)
				}
			}
		})
	}
}

func testIngest_Dedupe(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	in := &crm.Inbound{InboxID: inbox.ID, ExternalID: "<dup@x>", Text: "hello", From: email("c@example.com")}
	r1 := MustIngest(t, db, in)
	r2 := MustIngest(t, db, in)
	if !r2.Duplicate || r1.Duplicate || r2.MessageID != r1.MessageID || r2.TicketID != r1.TicketID || r2.CustomerID != r1.CustomerID {
		t.Fatalf("results %+v %+v", r1, r2)
	}

	in = &crm.Inbound{InboxID: inbox.ID, ExternalID: "<race@x>", Text: "race", From: email("race@example.com"),
		Attachments: []crm.NewAttachment{{Filename: "a.txt", Data: []byte("same")}}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups, firsts := 0, 0
	ids := map[int64]bool{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := db.Ingest(crm.AsSystem(context.Background()), in)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[r.MessageID] = true
			if r.Duplicate {
				dups++
			} else {
				firsts++
			}
		}()
	}
	wg.Wait()
	if firsts != 1 || dups != 19 || len(ids) != 1 {
		t.Fatalf("first %d, duplicates %d, message ids %v", firsts, dups, ids)
	}
	tickets, _, err := db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tickets) != 2 {
		t.Fatalf("%d tickets, want 2", len(tickets))
	}
}

func testIngest_Invalid(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	ok := func(f func(in *crm.Inbound)) *crm.Inbound {
		in := &crm.Inbound{InboxID: inbox.ID, ExternalID: "x", Text: "t", From: email("a@example.com")}
		f(in)
		return in
	}
	for _, tt := range []struct {
		name string
		in   *crm.Inbound
		code string
	}{
		{"nil", nil, crm.EINVALID},
		{"unknown inbox", ok(func(in *crm.Inbound) { in.InboxID = 999 }), crm.ENOTFOUND},
		{"no external id", ok(func(in *crm.Inbound) { in.ExternalID = "" }), crm.EINVALID},
		{"long external id", ok(func(in *crm.Inbound) { in.ExternalID = strings.Repeat("x", 999) }), crm.EINVALID},
		{"no sender", ok(func(in *crm.Inbound) { in.From = nil }), crm.EINVALID},
		{"upper-case email", ok(func(in *crm.Inbound) { in.From = email("A@example.com") }), crm.EINVALID},
		{"email without at", ok(func(in *crm.Inbound) { in.From = email("example.com") }), crm.EINVALID},
		{"phone not E.164", ok(func(in *crm.Inbound) {
			in.From = []crm.Identity{{Kind: crm.IdentityPhone, Address: "5551234567"}}
		}), crm.EINVALID},
		{"short phone", ok(func(in *crm.Inbound) { in.From = []crm.Identity{{Kind: crm.IdentityPhone, Address: "+1234567"}} }), crm.EINVALID},
		{"unknown kind", ok(func(in *crm.Inbound) { in.From = []crm.Identity{{Kind: "fax", Address: "1"}} }), crm.EINVALID},
		{"unknown channel", ok(func(in *crm.Inbound) { in.Channel = "pigeon" }), crm.EINVALID},
		{"text too large", ok(func(in *crm.Inbound) { in.Text = strings.Repeat("x", 1<<20+1) }), crm.ETOOLARGE},
		{"attachment too large", ok(func(in *crm.Inbound) {
			in.Attachments = []crm.NewAttachment{{Filename: "big", Data: make([]byte, crm.MaxAttachmentSize+1)}}
		}), crm.ETOOLARGE},
		{"too many attachments", ok(func(in *crm.Inbound) {
			in.Attachments = make([]crm.NewAttachment, 101)
		}), crm.ETOOLARGE},
		{"long content type", ok(func(in *crm.Inbound) {
			in.Attachments = []crm.NewAttachment{{Filename: "a", ContentType: strings.Repeat("x", 256), Data: []byte("a")}}
		}), crm.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Ingest(crm.AsSystem(context.Background()), tt.in)
			wantCode(t, err, tt.code)
		})
	}
	tickets, _, _ := db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{})
	if len(tickets) != 0 {
		t.Fatalf("bad input stored %d tickets", len(tickets))
	}
}

func testIngest_ReceivedAt(t *testing.T, open Opener) {
	db := open(t, Options{})
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	now := db.Clock.Now()
	past := now.Add(-48 * time.Hour)
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", Text: "old", ReceivedAt: past, From: email("a@example.com")})
	r2 := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "2", Text: "future", ThreadKey: "k",
		ReceivedAt: now.Add(time.Hour), From: email("a@example.com")})
	msgs, _, _ := db.Messages(crm.AsSystem(context.Background()), r.TicketID, crm.Page{})
	if !msgs[0].CreatedAt.Equal(past) {
		t.Fatalf("created_at = %v, want %v", msgs[0].CreatedAt, past)
	}
	msgs, _, _ = db.Messages(crm.AsSystem(context.Background()), r2.TicketID, crm.Page{})
	if !msgs[0].CreatedAt.Equal(now) {
		t.Fatalf("future created_at = %v, want clamped to %v", msgs[0].CreatedAt, now)
	}
}

func testAttachments(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	data := []byte("%PDF-1.4 invoice")
	var ids []int64
	for i := range 2 {
		r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint(i), Text: "see attached",
			From: email("a@example.com"), Attachments: []crm.NewAttachment{{Filename: "../../invoice.pdf", ContentType: "application/pdf", Data: data}}})
		msgs, _, err := db.Messages(ctx, r.TicketID, crm.Page{})
		if err != nil {
			t.Fatal(err)
		}
		a := msgs[len(msgs)-1].Attachments
		if len(a) != 1 || a[0].Filename != "invoice.pdf" || a[0].Size != int64(len(data)) ||
			a[0].URL != fmt.Sprintf("/api/v1/attachments/%d", a[0].ID) {
			t.Fatalf("attachments = %+v", a)
		}
		ids = append(ids, a[0].ID)
	}
	files, err := filepath.Glob(filepath.Join(db.DataDir, "attachments", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("stored files %v, want one", files)
	}
	a, f, err := db.Attachment(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 100)
	n, _ := f.Read(buf)
	if string(buf[:n]) != string(data) || a.ContentType != "application/pdf" || filepath.Base(files[0]) != a.SHA256 {
		t.Fatalf("attachment %+v content %q", a, buf[:n])
	}
	_, _, err = db.Attachment(ctx, 999)
	wantCode(t, err, crm.ENOTFOUND)
	if _, err := os.Stat(files[0]); err != nil {
		t.Fatal(err)
	}
}
