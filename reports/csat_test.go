package reports_test

import (
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/reports"
)

// surveys returns the system messages of a ticket: the surveys sent on it.
func (f *fixture) surveys(ticket int64) []*crm.Message {
	var out []*crm.Message
	for _, m := range f.messages(ticket) {
		if m.Author.Kind == "system" {
			out = append(out, m)
		}
	}
	return out
}

func (f *fixture) ticket(id int64) *crm.Ticket {
	f.t.Helper()
	t, err := f.db.Ticket(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

func (f *fixture) csat(from, to string) reports.CSAT {
	f.t.Helper()
	r, err := reports.ParseRange(from, to, "UTC", 366)
	if err != nil {
		f.t.Fatal(err)
	}
	o, err := reports.OverviewOf(f.ctx, f.db, r, 0, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return o.CSAT
}

func TestCSAT_SMSReply(t *testing.T) {
	f := newFixture(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	tel := f.inbox(crm.KindPhone, "Phone")
	id := f.ingest(tel, crm.ChannelSMS, phone("+15550002222"), "Where is my parcel?").TicketID
	f.reply(id, "It arrives tomorrow.")
	if len(f.surveys(id)) != 0 {
		t.Fatal("a survey before the ticket was resolved")
	}
	f.setStatus(id, crm.StatusResolved)
	s := f.surveys(id)
	if len(s) != 1 || s[0].Text != reports.SurveyReplyText || s[0].Channel != crm.ChannelSMS || s[0].Status != crm.MsgQueued {
		t.Fatalf("surveys: %s", jsonOf(s))
	}

	f.at("2026-11-03 09:00")
	res := f.ingest(tel, crm.ChannelSMS, phone("+15550002222"), " 5 thanks! ")
	if res.TicketID != id || res.NewTicket {
		t.Fatalf("the rating went to ticket %d (new %v), want %d", res.TicketID, res.NewTicket, id)
	}
	if tk := f.ticket(id); tk.Status != crm.StatusResolved {
		t.Errorf("the rating reopened the ticket: %s", tk.Status)
	}
	msgs := f.messages(id)
	if last := msgs[len(msgs)-1]; last.Direction != crm.DirIn || strings.TrimSpace(last.Text) != "5 thanks!" {
		t.Errorf("the rating is not filed on the ticket: %s", jsonOf(last))
	}
	if got := f.csat("2026-11-03", "2026-11-03"); got.Count != 1 || *got.Average != 5 {
		t.Errorf("csat: %s", jsonOf(got))
	}
	events, _ := f.db.TicketHistory(f.ctx, id)
	var answered string
	for _, e := range events {
		if e.Type == crm.EventCSATAnswered {
			answered = string(e.Data)
		}
	}
	if answered != `{"channel":"sms","comment":"thanks!","rating":5,"ticket_id":`+jsonOf(id)+`}` {
		t.Errorf("csat.answered event: %s", answered)
	}

	// Changing one's mind changes the answer; it never counts twice.
	f.ingest(tel, crm.ChannelSMS, phone("+15550002222"), "3")
	if got := f.csat("2026-11-01", "2026-11-30"); got.Count != 1 || *got.Average != 3 {
		t.Errorf("csat after a second answer: %s", jsonOf(got))
	}
	// A resolution again asks no second time.
	f.setStatus(id, crm.StatusOpen)
	f.setStatus(id, crm.StatusResolved)
	if n := len(f.surveys(id)); n != 1 {
		t.Errorf("%d surveys after a second resolution, want 1", n)
	}

	// After seven days a "5" is a message like any other: here it starts a new ticket.
	f.at("2026-11-11 09:00")
	res = f.ingest(tel, crm.ChannelSMS, phone("+15550002222"), "5")
	if res.TicketID == id || !res.NewTicket {
		t.Errorf("a late 5 was taken as a rating (ticket %d)", res.TicketID)
	}
}

func TestCSAT_NoSurveyMeansNormalMessage(t *testing.T) {
	f := newFixture(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	tel := f.inbox(crm.KindPhone, "Phone")
	if err := f.db.SetCSATSettings(f.ctx, &crm.CSATSettings{Enabled: true, Channels: []string{crm.ChannelEmail}}); err != nil {
		t.Fatal(err)
	}
	id := f.ingest(tel, crm.ChannelSMS, phone("+15550003333"), "Hi").TicketID
	f.setStatus(id, crm.StatusResolved)
	if len(f.surveys(id)) != 0 {
		t.Fatal("a survey on a channel the settings leave out")
	}
	f.ingest(tel, crm.ChannelSMS, phone("+15550003333"), "5")
	if tk := f.ticket(id); tk.Status != crm.StatusOpen {
		t.Errorf("without a survey a 5 must reopen the ticket; status %s", tk.Status)
	}
}

func TestCSAT_OptedOutNumber(t *testing.T) {
	f := newFixture(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	tel := f.inbox(crm.KindPhone, "Phone")
	id := f.ingest(tel, crm.ChannelSMS, phone("+15550004444"), "Hi").TicketID
	if err := f.db.SetPhoneOptOut(f.ctx, tel.ID, "+15550004444", true); err != nil {
		t.Fatal(err)
	}
	f.setStatus(id, crm.StatusResolved)
	if s := f.surveys(id); len(s) != 0 {
		t.Fatalf("an opted-out number got a survey: %s", jsonOf(s))
	}
	f.ingest(tel, crm.ChannelSMS, phone("+15550004444"), "5")
	if tk := f.ticket(id); tk.Status != crm.StatusOpen {
		t.Errorf("status %s: no survey was sent, so the message reopens", tk.Status)
	}
}

func TestCSAT_EmailLink(t *testing.T) {
	f := newFixture(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	mail := f.inbox(crm.KindEmail, "Mail")
	id := f.ingest(mail, crm.ChannelEmail, email("eve@example.com"), "Hello").TicketID
	f.setStatus(id, crm.StatusResolved)
	s := f.surveys(id)
	if len(s) != 1 || s[0].Channel != crm.ChannelEmail || strings.Count(s[0].Text, "https://desk.example/csat/") != 5 {
		t.Fatalf("email survey: %s", jsonOf(s))
	}
	token := strings.SplitN(strings.SplitN(s[0].Text, "/csat/", 2)[1], "?", 2)[0]
	if _, err := f.db.AnswerCSATToken(f.ctx, token, 2, nil); err != nil {
		t.Fatal(err)
	}
	comment := "Took a while"
	v, err := f.db.AnswerCSATToken(f.ctx, token, 3, &comment)
	if err != nil || v.Rating != 3 || v.Comment != comment {
		t.Fatalf("second answer: %v %s", err, jsonOf(v))
	}
	if _, err := f.db.AnswerCSATToken(f.ctx, token, 6, nil); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("rating 6: %v", err)
	}
	if _, err := f.db.AnswerCSATToken(f.ctx, "not-a-token", 5, nil); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("unknown token: %v", err)
	}
	// A text "5" answers only surveys asked by text.
	f.ingest(mail, crm.ChannelEmail, email("eve@example.com"), "5")
	if tk := f.ticket(id); tk.Status != crm.StatusOpen {
		t.Errorf("an email reply reopens; status %s", tk.Status)
	}
	f.at("2026-12-03 10:00")
	if _, err := f.db.AnswerCSATToken(f.ctx, token, 5, nil); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("after 30 days: %v, want invalid (expired)", err)
	}
	if got := f.csat("2026-11-01", "2026-11-30"); got.Count != 1 || *got.Average != 3 {
		t.Errorf("csat: %s", jsonOf(got))
	}
}

func TestCSAT_ChatAndDiscord(t *testing.T) {
	f := newFixture(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	chat, dc := f.inbox(crm.KindChat, "Widget"), f.inbox(crm.KindDiscord, "Discord")
	sub := f.bus.Subscribe(100)
	defer sub.Close()

	cid := f.ingest(chat, crm.ChannelChat, crm.Identity{Kind: crm.IdentityChat, Address: "visitor-1"}, "Hi").TicketID
	f.setStatus(cid, crm.StatusResolved)
	if s := f.surveys(cid); len(s) != 0 {
		t.Errorf("chat gets the widget's form, not a message: %s", jsonOf(s))
	}
	var requested bool
	for done := false; !done; {
		select {
		case e := <-sub.C:
			requested = requested || (e.Type == crm.EventCSATRequested && e.TicketID == cid && e.InboxID == chat.ID)
		default:
			done = true
		}
	}
	if !requested {
		t.Error("no csat.requested event for the chat widget")
	}
	if _, err := f.db.AnswerCSAT(f.ctx, cid, 5, "Lovely", crm.ChannelChat); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.AnswerCSAT(f.ctx, cid, 0, "", crm.ChannelChat); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("rating 0: %v", err)
	}

	did := f.ingest(dc, crm.ChannelDiscord, crm.Identity{Kind: crm.IdentityDiscord, Address: "123456789"}, "Hey").TicketID
	f.setStatus(did, crm.StatusResolved)
	if s := f.surveys(did); len(s) != 1 || s[0].Text != reports.SurveyReplyText || s[0].Channel != crm.ChannelDiscord {
		t.Fatalf("discord survey: %s", jsonOf(s))
	}
	f.ingest(dc, crm.ChannelDiscord, crm.Identity{Kind: crm.IdentityDiscord, Address: "123456789"}, "4: quick and kind")
	if tk := f.ticket(did); tk.Status != crm.StatusResolved {
		t.Errorf("discord rating reopened the ticket")
	}
	if got := f.csat("2026-11-02", "2026-11-02"); got.Count != 2 || *got.Average != 4.5 {
		t.Errorf("csat: %s", jsonOf(got))
	}
}
