package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Tickets_Pagination", testTickets_Pagination)
	add("Tickets_Filters", testTickets_Filters)
	add("UpdateTicket", testUpdateTicket)
	add("CreateTicketAndReply", testCreateTicketAndReply)
	add("MergeTickets", testMergeTickets)
}

func ptr[T any](v T) *T { return &v }

func testTickets_Pagination(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	for i := range 120 {
		// Every third message shares a timestamp with the one before, to test ties.
		if i%3 != 0 {
			db.Clock.Add(time.Second)
		}
		MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: fmt.Sprint(i), Text: fmt.Sprint("msg ", i),
			From: email(fmt.Sprintf("c%d@example.com", i%7))})
	}
	seen := map[int64]int{}
	var prev *crm.Ticket
	cursor, pages := "", 0
	for {
		tickets, next, err := db.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Limit: 25, Cursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tk := range tickets {
			seen[tk.ID]++
			if prev != nil && (tk.LastMessageAt.After(prev.LastMessageAt) ||
				(tk.LastMessageAt.Equal(prev.LastMessageAt) && tk.ID > prev.ID)) {
				t.Fatalf("ticket %d after %d out of order", tk.ID, prev.ID)
			}
			prev = tk
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 120 || pages != 5 {
		t.Fatalf("saw %d tickets in %d pages", len(seen), pages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("ticket %d seen %d times", id, n)
		}
	}
	for _, tt := range []struct {
		limit, want int
	}{{0, 50}, {-1, 50}, {10, 10}, {500, 120}} {
		tickets, _, err := db.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Limit: tt.limit}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tickets) != tt.want {
			t.Errorf("limit %d gave %d tickets, want %d", tt.limit, len(tickets), tt.want)
		}
	}
	for _, c := range []string{"!!!", "bm9wZQ", "MTIz"} {
		_, _, err := db.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Cursor: c}})
		wantCode(t, err, crm.EINVALID)
	}
}

func testTickets_Filters(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	mail := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	chat := MustCreateInbox(t, db, crm.KindChat, "Chat")
	agent := MustCreateAgent(t, db, "agent@example.com", crm.RoleAgent, mail.ID, chat.ID)
	r1 := MustIngest(t, db, &crm.Inbound{InboxID: mail.ID, ExternalID: "1", Subject: "Broken zipper", Text: "my jacket",
		From: email("a@example.com")})
	r2 := MustIngest(t, db, &crm.Inbound{InboxID: chat.ID, ExternalID: "2", Text: "parcel never arrived",
		From: []crm.Identity{{Kind: crm.IdentityChat, Address: "v2"}}})
	if _, err := db.UpdateTicket(ctx, r1.TicketID, crm.TicketUpdate{AssigneeID: &agent.ID, Tags: &[]string{" VIP ", "vip", "Returns"},
		Status: ptr(crm.StatusPending)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		f    crm.TicketFilter
		want []int64
	}{
		{"all", crm.TicketFilter{}, []int64{r2.TicketID, r1.TicketID}},
		{"status", crm.TicketFilter{Status: crm.StatusPending}, []int64{r1.TicketID}},
		{"assignee", crm.TicketFilter{AssigneeID: agent.ID}, []int64{r1.TicketID}},
		{"unassigned", crm.TicketFilter{Unassigned: true}, []int64{r2.TicketID}},
		{"inbox", crm.TicketFilter{InboxID: chat.ID}, []int64{r2.TicketID}},
		{"channel", crm.TicketFilter{Channel: crm.ChannelEmail}, []int64{r1.TicketID}},
		{"tag", crm.TicketFilter{Tag: "VIP"}, []int64{r1.TicketID}},
		{"customer", crm.TicketFilter{CustomerID: r2.CustomerID}, []int64{r2.TicketID}},
		{"subject words", crm.TicketFilter{Query: "zip"}, []int64{r1.TicketID}},
		{"message words", crm.TicketFilter{Query: "parcel arrived"}, []int64{r2.TicketID}},
		{"number", crm.TicketFilter{Query: fmt.Sprintf("#%d", r2.TicketID)}, []int64{r2.TicketID}},
		{"hostile", crm.TicketFilter{Query: `" NEAR( *`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tickets, _, err := db.Tickets(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, tk := range tickets {
				got = append(got, tk.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("tickets = %v, want %v", got, tt.want)
			}
		})
	}
	tk := MustTicket(t, db, r1.TicketID)
	if !slices.Equal(tk.Tags, []string{"returns", "vip"}) {
		t.Fatalf("tags = %v", tk.Tags)
	}
	_, _, err := db.Tickets(ctx, crm.TicketFilter{Status: "bogus"})
	wantCode(t, err, crm.EINVALID)
}

func testUpdateTicket(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	mail := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	other := MustCreateInbox(t, db, crm.KindEmail, "Other")
	outsider := MustCreateAgent(t, db, "outsider@example.com", crm.RoleAgent, other.ID)
	r := MustIngest(t, db, &crm.Inbound{InboxID: mail.ID, ExternalID: "1", Text: "hi", From: email("a@example.com")})
	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint("t", i)
	}
	for _, tt := range []struct {
		name string
		u    crm.TicketUpdate
		code string
	}{
		{"bad status", crm.TicketUpdate{Status: ptr("done")}, crm.EINVALID},
		{"bad priority", crm.TicketUpdate{Priority: ptr("asap")}, crm.EINVALID},
		{"empty subject", crm.TicketUpdate{Subject: ptr("  ")}, crm.EINVALID},
		{"long subject", crm.TicketUpdate{Subject: ptr(strings.Repeat("x", 301))}, crm.EINVALID},
		{"unknown assignee", crm.TicketUpdate{AssigneeID: ptr(int64(999))}, crm.EINVALID},
		{"assignee without the inbox", crm.TicketUpdate{AssigneeID: &outsider.ID}, crm.EINVALID},
		{"empty tag", crm.TicketUpdate{Tags: &[]string{""}}, crm.EINVALID},
		{"long tag", crm.TicketUpdate{Tags: &[]string{strings.Repeat("x", 51)}}, crm.EINVALID},
		{"too many tags", crm.TicketUpdate{Tags: &tooMany}, crm.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.UpdateTicket(ctx, r.TicketID, tt.u)
			wantCode(t, err, tt.code)
		})
	}
	_, err := db.UpdateTicket(ctx, 999, crm.TicketUpdate{})
	wantCode(t, err, crm.ENOTFOUND)

	tk, err := db.UpdateTicket(ctx, r.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusResolved), Priority: ptr(crm.PriorityUrgent),
		Subject: ptr(" New subject ")})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != crm.StatusResolved || tk.ResolvedAt == nil || tk.Priority != crm.PriorityUrgent || tk.Subject != "New subject" {
		t.Fatalf("ticket = %+v", tk)
	}
	if found, _, _ := db.Tickets(ctx, crm.TicketFilter{Query: "new subj"}); len(found) != 1 {
		t.Fatal("the new subject is not searchable")
	}
	if found, _ := db.Search(ctx, crm.SearchQuery{Q: "New subject"}); len(found.Tickets) != 1 {
		t.Fatal("search misses the new subject")
	}
	if tk, _ = db.UpdateTicket(ctx, r.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusOpen)}); tk.ResolvedAt != nil {
		t.Fatal("resolved_at kept after reopening")
	}
	events, _ := db.Events(ctx, 0, 0)
	before := len(events)
	if _, err := db.UpdateTicket(ctx, r.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusOpen)}); err != nil {
		t.Fatal(err)
	}
	if events, _ = db.Events(ctx, 0, 0); len(events) != before {
		t.Fatal("an update without change appended an event")
	}
	if _, err := db.UpdateTicket(ctx, r.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusClosed)}); err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateTicket(ctx, r.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusOpen)})
	wantCode(t, err, crm.ECONFLICT)
	if _, err := db.UpdateTicket(ctx, r.TicketID, crm.TicketUpdate{Status: ptr(crm.StatusClosed)}); err != nil {
		t.Fatalf("no-op update of a closed ticket: %v", err)
	}
	_, err = db.AddMessage(ctx, &crm.NewMessage{TicketID: r.TicketID, Body: "late"})
	wantCode(t, err, crm.ECONFLICT)
}

func testCreateTicketAndReply(t *testing.T, open Opener) {
	db := open(t, Options{})
	phone := MustCreateInbox(t, db, crm.KindPhone, "Phone")
	agent := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent, phone.ID)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), agent)

	tk, err := db.CreateTicket(ctx, &crm.NewTicket{InboxID: phone.ID, CustomerName: "Carl",
		Identities: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+4915112345678"}},
		Subject:    "Call about order", Body: "Customer called", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Channel != crm.ChannelSMS || tk.Priority != crm.PriorityNormal || tk.Status != crm.StatusOpen || tk.FirstResponseAt != nil {
		t.Fatalf("ticket = %+v", tk)
	}
	// The same identity finds the same customer.
	tk2, err := db.CreateTicket(ctx, &crm.NewTicket{InboxID: phone.ID, Identities: []crm.Identity{{Kind: crm.IdentityPhone,
		Address: "+4915112345678"}}, Subject: "Second", Priority: crm.PriorityHigh})
	if err != nil {
		t.Fatal(err)
	}
	if tk2.CustomerID != tk.CustomerID || tk2.Priority != crm.PriorityHigh {
		t.Fatalf("second ticket = %+v", tk2)
	}
	// An inbound WhatsApp message sets the channel of replies.
	MustIngest(t, db, &crm.Inbound{InboxID: phone.ID, Channel: crm.ChannelWhatsApp, ExternalID: "WA1", TicketID: tk.ID,
		Text: "hello", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+4915112345678"}}})
	db.Clock.Add(time.Minute)
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: tk.ID, Body: "  On its way  ", Status: crm.StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != crm.DirOut || m.Status != crm.MsgQueued || m.Channel != crm.ChannelWhatsApp || m.Text != "On its way" ||
		m.Author != (crm.Author{Kind: "agent", ID: agent.ID, Name: agent.Name}) {
		t.Fatalf("reply = %+v", m)
	}
	got := MustTicket(t, db, tk.ID)
	if got.Status != crm.StatusPending || got.FirstResponseAt == nil || !got.LastMessageAt.Equal(db.Clock.Now()) {
		t.Fatalf("ticket after reply = %+v", got)
	}
	db.Clock.Add(time.Minute)
	note, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: tk.ID, Body: "internal", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	if note.Direction != crm.DirNote || note.Status != "" {
		t.Fatalf("note = %+v", note)
	}
	if after := MustTicket(t, db, tk.ID); !after.LastMessageAt.Equal(got.LastMessageAt) {
		t.Fatal("a note changed last_message_at")
	}
	for _, tt := range []struct {
		name string
		nm   *crm.NewMessage
		code string
	}{
		{"empty", &crm.NewMessage{TicketID: tk.ID, Body: " \n "}, crm.EINVALID},
		{"too large", &crm.NewMessage{TicketID: tk.ID, Body: strings.Repeat("x", 64<<10+1)}, crm.ETOOLARGE},
		{"bad status", &crm.NewMessage{TicketID: tk.ID, Body: "x", Status: "gone"}, crm.EINVALID},
		{"unknown ticket", &crm.NewMessage{TicketID: 999, Body: "x"}, crm.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AddMessage(ctx, tt.nm)
			wantCode(t, err, tt.code)
		})
	}
	for _, tt := range []struct {
		name string
		nt   *crm.NewTicket
		code string
	}{
		{"no subject", &crm.NewTicket{InboxID: phone.ID, CustomerID: tk.CustomerID}, crm.EINVALID},
		{"no customer", &crm.NewTicket{InboxID: phone.ID, Subject: "x"}, crm.EINVALID},
		{"unknown inbox", &crm.NewTicket{InboxID: 999, CustomerID: tk.CustomerID, Subject: "x"}, crm.ENOTFOUND},
		{"unknown customer", &crm.NewTicket{InboxID: phone.ID, CustomerID: 999, Subject: "x"}, crm.ENOTFOUND},
		{"bad priority", &crm.NewTicket{InboxID: phone.ID, CustomerID: tk.CustomerID, Subject: "x", Priority: "meh"}, crm.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.CreateTicket(ctx, tt.nt)
			wantCode(t, err, tt.code)
		})
	}
}

func testMergeTickets(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	a := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "a", ThreadKey: "ta", Text: "first", From: email("a@example.com")})
	db.Clock.Add(time.Minute)
	b := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "b", ThreadKey: "tb", Text: "second", From: email("a@example.com")})
	_, err := db.MergeTickets(ctx, a.TicketID, a.TicketID)
	wantCode(t, err, crm.EINVALID)
	_, err = db.MergeTickets(ctx, a.TicketID, 999)
	wantCode(t, err, crm.ENOTFOUND)
	into, err := db.MergeTickets(ctx, b.TicketID, a.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if into.ID != a.TicketID || !into.LastMessageAt.Equal(db.Clock.Now()) {
		t.Fatalf("into = %+v", into)
	}
	from := MustTicket(t, db, b.TicketID)
	if from.Status != crm.StatusClosed || from.MergedInto != a.TicketID {
		t.Fatalf("from = %+v", from)
	}
	msgs, _, _ := db.Messages(ctx, a.TicketID, crm.Page{})
	if len(msgs) != 2 || msgs[0].Text != "first" || msgs[1].Text != "second" {
		t.Fatalf("messages = %v", msgs)
	}
	// A reply to the merged thread lands on the ticket it was merged into.
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "c", ThreadKey: "tb", Text: "third", From: email("a@example.com")})
	if r.TicketID != a.TicketID {
		t.Fatalf("reply on ticket %d, want %d", r.TicketID, a.TicketID)
	}
	_, err = db.MergeTickets(ctx, b.TicketID, a.TicketID)
	wantCode(t, err, crm.ECONFLICT)
	// Another customer's ticket is never merged in: its messages would show in a's thread.
	other := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "d", ThreadKey: "td", Text: "mine", From: email("other@example.com")})
	_, err = db.MergeTickets(ctx, other.TicketID, a.TicketID)
	wantCode(t, err, crm.ECONFLICT)
}
