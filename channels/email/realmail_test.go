package email_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/channels/email"
	"parley/crm"
)

// The tests of this file file the hand-written mails of testdata/realmail, each shaped
// like mail that real helpdesks get (contact forms, Google Groups, mailing lists, bounces,
// broken mailers), and check what an agent sees.

// realMail reads a mail of testdata/realmail, with {{KEY}} replaced by vars[KEY].
func realMail(t *testing.T, name string, vars ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "realmail", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(vars); i += 2 {
		s = strings.ReplaceAll(s, "{{"+vars[i]+"}}", vars[i+1])
	}
	return s
}

// withHeader returns raw with the header line key replaced by line ("" drops it).
func withHeader(raw, key, line string) string {
	re := regexp.MustCompile(`(?mi)^` + regexp.QuoteMeta(key) + `:.*\n`)
	if line != "" {
		line += "\n"
	}
	return re.ReplaceAllLiteralString(raw, line)
}

// logBuffer is a log the tests read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggedChannel is the env's channel with its log written to the returned buffer.
func (e *env) loggedChannel() (*email.Channel, *logBuffer) {
	buf := &logBuffer{}
	ch := email.New(e.db, e.bus, slog.New(slog.NewTextHandler(buf, nil)))
	ch.Outbound = allowPrivate
	ch.MinBackoff = 20 * time.Millisecond
	ch.MaxBackoff = 200 * time.Millisecond
	ch.PollInterval = 50 * time.Millisecond
	return ch, buf
}

// reply has an agent answer ticket id, copied to cc when it is not nil, and returns the
// mail the SMTP sink got.
func (e *env) reply(agent *crm.Agent, id int64, body string, cc []string) (*crm.Message, sentMail) {
	e.t.Helper()
	n := len(e.sink.sent())
	m, err := e.db.AddMessage(crm.WithAgent(e.ctx, agent), &crm.NewMessage{TicketID: id, Body: body, CC: cc})
	if err != nil {
		e.t.Fatal(err)
	}
	waitFor(e.t, "reply at the smtp sink", func() bool { return len(e.sink.sent()) == n+1 })
	return m, e.sink.sent()[n]
}

func (e *env) customer(id int64) *crm.Customer {
	e.t.Helper()
	c, err := e.db.Customer(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// 1. A contact form sends from a no-reply address with the shopper in Reply-To.
func TestRealMail_ReplyToIsTheCustomer(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)
	agent := e.agentCtx()
	raw := realMail(t, "01-contact-form-reply-to.eml")

	res := deliver(t, e, raw)
	cu := e.customer(res.CustomerID)
	if cu.Name != "Jane Roe" || cu.Identities[0].Address != "jane.roe@example.test" {
		t.Fatalf("customer = %q %+v, want Jane Roe <jane.roe@example.test>", cu.Name, cu.Identities)
	}
	m := e.filed(res)
	if m.Via == nil || m.Via.Address != "noreply@forms.shop.test" || m.From == nil || m.From.Name != "Shop Contact Form" {
		t.Fatalf("message from %+v via %+v, want the form's address kept as via", m.From, m.Via)
	}
	_, sent := e.reply(agent, res.TicketID, "We are on it.", nil)
	if !slices.Equal(sent.To, []string{"jane.roe@example.test"}) {
		t.Fatalf("reply sent to %v, want the shopper", sent.To)
	}

	// What falls back to From: a Reply-To that is empty, broken, names several
	// addresses or From itself, and any Reply-To when the inbox turns it off.
	for i, tc := range []struct{ name, line string }{
		{"empty", "Reply-To: "},
		{"malformed", "Reply-To: Jane Roe <jane.roe@@>"},
		{"two addresses", "Reply-To: jane.roe@example.test, john@example.test"},
		{"from itself", "Reply-To: <NoReply@forms.shop.test>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := withHeader(raw, "Reply-To", tc.line)
			r = withHeader(r, "Message-ID", fmt.Sprintf("Message-ID: <fallback-%d@forms.shop.test>", i))
			res := deliver(t, e, r)
			if got := e.customer(res.CustomerID).Identities[0].Address; got != "noreply@forms.shop.test" {
				t.Fatalf("customer = %s, want From", got)
			}
			if m := e.filed(res); m.Via != nil {
				t.Fatalf("via = %+v, want none", m.Via)
			}
		})
	}
	t.Run("turned off", func(t *testing.T) {
		inbox := e.createInbox("Forms", "forms@shop.test")
		inbox.Config["use_reply_to"] = false
		if err := e.ch.PrepareInbox(e.ctx, inbox); err != nil {
			t.Fatal(err)
		}
		d, err := e.ch.Deliver(e.ctx, inbox, strings.NewReader(raw), noTime)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.customer(d.Result.CustomerID).Identities[0].Address; got != "noreply@forms.shop.test" {
			t.Fatalf("customer = %s, want From with use_reply_to off", got)
		}
		inbox.Config["use_reply_to"] = "no"
		if err := e.ch.PrepareInbox(e.ctx, inbox); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("use_reply_to \"no\": %v, want invalid", err)
		}
	})
}

// 2. Google Groups, a DMARC rewrite by Mailman and plain list mail.
func TestRealMail_ListsAndGroups(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)
	agent := e.agentCtx()
	for _, tc := range []struct {
		file, customer, name, list string
	}{
		{"02-google-groups.eml", "ann.lee@example.test", "Ann Lee", "shop-help@googlegroups.test"},
		{"03-mailman-dmarc.eml", "bob.stone@strict-dmarc.test", "Bob Stone", "makers@lists.example.test"},
		{"04-list-post.eml", "carol.diaz@example.test", "Carol Diaz", "friends@lists.example.test"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res := deliver(t, e, realMail(t, tc.file))
			cu := e.customer(res.CustomerID)
			if cu.Name != tc.name || cu.Identities[0].Address != tc.customer {
				t.Fatalf("customer = %q %+v, want %s <%s>", cu.Name, cu.Identities, tc.name, tc.customer)
			}
			tk, _ := e.db.Ticket(e.ctx, res.TicketID)
			if slices.Contains(tk.Tags, email.TagAutoReply) {
				t.Fatalf("tags = %v: a person writing through a list is no auto-reply", tk.Tags)
			}
			_, sent := e.reply(agent, res.TicketID, "Thanks for writing.", nil)
			if !slices.Equal(sent.To, []string{tc.customer, tc.list}) {
				t.Fatalf("reply sent to %v, want the writer and a copy to the list %s", sent.To, tc.list)
			}
			h := header(t, sent.Data)
			to, _ := h.AddressList("To")
			cc, _ := h.AddressList("Cc")
			if len(to) != 1 || to[0].Address != tc.customer || len(cc) != 1 || cc[0].Address != tc.list {
				t.Fatalf("To %v Cc %v", to, cc)
			}
		})
	}

	// The group is the support address itself: the customer's mail arrives From it, and
	// is hers all the same; the reply does not copy the support address.
	t.Run("group as the support address", func(t *testing.T) {
		raw := strings.ReplaceAll(realMail(t, "02-google-groups.eml"), "shop-help@googlegroups.test", supportAddr)
		raw = withHeader(raw, "Message-ID", "Message-ID: <CAF3x9q+own-group@mail.example.test>")
		res := deliver(t, e, raw)
		if cu := e.customer(res.CustomerID); cu.Identities[0].Address != "ann.lee@example.test" {
			t.Fatalf("customer = %+v", cu.Identities)
		}
		_, sent := e.reply(agent, res.TicketID, "Thanks for writing.", nil)
		if !slices.Equal(sent.To, []string{"ann.lee@example.test"}) {
			t.Fatalf("reply sent to %v, want Ann alone", sent.To)
		}
	})
	// Mail from the support address itself, without a list, is still ignored.
	d, err := e.ch.Deliver(e.ctx, e.inbox, strings.NewReader(customerMail(supportAddr, "staff-1@shop.test", "Note", "From my mail program")), noTime)
	if err != nil || d.Result != nil {
		t.Fatalf("mail from the support address: %+v, %v, want it ignored", d, err)
	}
}

// 3. Encoded words inside a quoted display name.
func TestRealMail_EncodedDisplayNames(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)
	agent := e.agentCtx()
	raw := realMail(t, "05-encoded-name.eml")
	p, err := email.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.FromName != "Jürgen Müller" {
		t.Fatalf("parsed name %q", p.FromName)
	}
	res := deliver(t, e, raw)
	if cu := e.customer(res.CustomerID); cu.Name != "Jürgen Müller" {
		t.Fatalf("customer name = %q", cu.Name)
	}
	m := e.filed(res)
	if m.Author.Name != "Jürgen Müller" || m.From == nil || m.From.Name != "Jürgen Müller" || len(m.CC) != 1 ||
		m.CC[0].Name != "Björn Köhler" || len(m.To) != 1 || m.To[0].Name != "Shop Kundendienst" {
		t.Fatalf("message author %q from %+v to %+v cc %+v", m.Author.Name, m.From, m.To, m.CC)
	}
	_, sent := e.reply(agent, res.TicketID, "Gern.", []string{})
	h := header(t, sent.Data)
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Jürgen Müller" {
		t.Fatalf("reply To = %+v (%v), want the decoded name", to, err)
	}
	if bytes.Contains(sent.Data, []byte("=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?=\"")) {
		t.Fatalf("the raw encoded name went into the reply:\n%s", sent.Data)
	}
}

// 4. Bounces that match nothing are filed as bounces; a folded Diagnostic-Code is read
// whole.
func TestRealMail_Bounces(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)
	agent := e.agentCtx()
	customers := func() int {
		list, _, err := e.db.Customers(e.ctx, "", crm.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}

	for _, file := range []string{"06-bounce-unmatched.eml", "08-auto-submitted-bounce.eml"} {
		t.Run(file, func(t *testing.T) {
			res := deliver(t, e, realMail(t, file))
			tk, _ := e.db.Ticket(e.ctx, res.TicketID)
			if tk.Status != crm.StatusClosed || !slices.Contains(tk.Tags, crm.TagBounce) {
				t.Fatalf("ticket %s %v, want closed and tagged bounce", tk.Status, tk.Tags)
			}
			cu := e.customer(res.CustomerID)
			if cu.Identities[0].Address != "mailer-daemon@parley.invalid" {
				t.Fatalf("filed under customer %+v, want the placeholder", cu.Identities)
			}
			if n := customers(); n != 1 {
				t.Fatalf("%d customers, want only the placeholder", n)
			}
		})
	}
	open, _, _ := e.db.Tickets(e.ctx, crm.TicketFilter{InboxID: e.inbox.ID, Status: crm.StatusOpen})
	bounces, _, _ := e.db.Tickets(e.ctx, crm.TicketFilter{InboxID: e.inbox.ID, Tag: crm.TagBounce})
	if len(open) != 0 || len(bounces) != 2 {
		t.Fatalf("%d open tickets and %d bounces, want 0 and 2", len(open), len(bounces))
	}

	// A bounce of a reply Parley sent fails that reply with the whole, unfolded reason.
	res := deliver(t, e, customerMail("lea@example.test", "lea-1@example.test", "Question", "Hello?"))
	out, sent := e.reply(agent, res.TicketID, "Hello Lea", nil)
	waitFor(t, "reply marked sent", func() bool {
		for _, m := range e.messages(res.TicketID) {
			if m.ID == out.ID {
				return m.Status == crm.MsgSent
			}
		}
		return false
	})
	h := header(t, sent.Data)
	id, _ := h.MessageID()
	b := deliver(t, e, realMail(t, "07-bounce-folded.eml", "MESSAGE_ID", id, "TO", "lea@example.test"))
	if b.TicketID != res.TicketID {
		t.Fatalf("bounce filed in ticket %d, want %d", b.TicketID, res.TicketID)
	}
	for _, m := range e.messages(res.TicketID) {
		if m.ID == out.ID {
			want := "552 5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the recipient to https://support.example.test/quota"
			if m.Status != crm.MsgFailed || !strings.Contains(m.Error, want) {
				t.Fatalf("reply %s: %q, want failed with %q", m.Status, m.Error, want)
			}
		}
	}
	if n := customers(); n != 2 {
		t.Fatalf("%d customers, want Lea and the placeholder", n)
	}
}

// 5. A part header without the blank line after it, and a part that cannot be read.
func TestRealMail_BrokenMIME(t *testing.T) {
	e := newEnv(t, nil)
	res := deliver(t, e, realMail(t, "09-part-header-no-blank.eml"))
	m := e.filed(res)
	if !strings.Contains(m.Text, "my order 1008 never arrived") || !strings.Contains(m.Text, "Thank you, Dana") {
		t.Fatalf("text = %q, want the text after the broken part header", m.Text)
	}
	if strings.Contains(m.Text, "could not be read") {
		t.Fatalf("text = %q: a recovered part is no unreadable one", m.Text)
	}
	if !slices.ContainsFunc(m.Attachments, func(a *crm.Attachment) bool { return a.Filename == "note.txt" }) {
		t.Fatalf("attachments = %+v, want note.txt", m.Attachments)
	}

	res = deliver(t, e, realMail(t, "10-unreadable-part.eml"))
	m = e.filed(res)
	if !strings.Contains(m.Text, "The lamp arrived broken") || !strings.Contains(m.Text, "1 part could not be read") {
		t.Fatalf("text = %q, want the readable part and a note", m.Text)
	}
	if !slices.ContainsFunc(m.Attachments, func(a *crm.Attachment) bool { return a.Filename == "message.eml" }) {
		t.Fatalf("attachments = %+v, want the raw mail", m.Attachments)
	}
}

// 6. A sender that reuses one Message-ID: different mails are filed, a repeat is not,
// and the repeat is logged.
func TestRealMail_ReusedMessageID(t *testing.T) {
	e := newEnv(t, nil)
	ch, logs := e.loggedChannel()
	file := func(raw string) *crm.IngestResult {
		t.Helper()
		d, err := ch.Deliver(e.ctx, e.inbox, strings.NewReader(raw), noTime)
		if err != nil || d.Result == nil {
			t.Fatalf("deliver: %+v %v", d, err)
		}
		return d.Result
	}
	a := file(realMail(t, "11-reused-id-a.eml"))
	b := file(realMail(t, "11-reused-id-b.eml"))
	if b.Duplicate || b.MessageID == a.MessageID {
		t.Fatalf("second order mail = %+v, want a message of its own", b)
	}
	if !strings.Contains(e.filed(b).Text, "Order 2002") {
		t.Fatalf("text = %q", e.filed(b).Text)
	}
	// The same mail delivered again (another Received line, same content): dropped.
	again := file("Received: from relay2.example.test by mx.shop.test; Mon, 10 Jun 2024 09:01:00 +0000\n" +
		realMail(t, "11-reused-id-b.eml"))
	if !again.Duplicate || again.MessageID != b.MessageID {
		t.Fatalf("repeat = %+v, want the duplicate of %d", again, b.MessageID)
	}
	if n := e.countMessages(); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
	if l := logs.String(); !strings.Contains(l, "duplicate mail dropped") || !strings.Contains(l, "message_id=1@localhost") {
		t.Fatalf("log = %q, want the dropped duplicate with its Message-ID", l)
	}
}

// 7. A reply that arrives before its original: the original joins the reply's ticket.
func TestRealMail_OriginalAfterReply(t *testing.T) {
	e := newEnv(t, nil)
	reply := deliver(t, e, realMail(t, "12-reply-first.eml"))
	orig := deliver(t, e, realMail(t, "12-original-late.eml"))
	if orig.TicketID != reply.TicketID || orig.NewTicket {
		t.Fatalf("original filed in %+v, want the reply's ticket %d", orig, reply.TicketID)
	}
}

// 8. The auto-reply tag goes when the customer writes for real.
func TestRealMail_AutoReplyTagFollowsMessages(t *testing.T) {
	e := newEnv(t, nil)
	auto := deliver(t, e, realMail(t, "13-auto-reply-first.eml"))
	if tk, _ := e.db.Ticket(e.ctx, auto.TicketID); !slices.Contains(tk.Tags, email.TagAutoReply) {
		t.Fatalf("tags = %v, want auto-reply", tk.Tags)
	}
	real := deliver(t, e, realMail(t, "13-real-followup.eml"))
	if real.TicketID != auto.TicketID {
		t.Fatalf("follow-up in ticket %d, want %d", real.TicketID, auto.TicketID)
	}
	if tk, _ := e.db.Ticket(e.ctx, auto.TicketID); slices.Contains(tk.Tags, email.TagAutoReply) {
		t.Fatalf("tags = %v after a real message, want no auto-reply", tk.Tags)
	}
}

// 9. An HTML mail: table rows with their cells apart, no runs of blank lines, and the
// quoted history folded.
func TestRealMail_ReadableTextFromHTML(t *testing.T) {
	e := newEnv(t, nil)
	m := e.filed(deliver(t, e, realMail(t, "14-html-table.eml")))
	for _, want := range []string{"Item | Qty | Price", "Mug | 2 | €20.00", "Plate | 1 | €12.50", "Thanks, Hana"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "\n\n\n") {
		t.Errorf("text has runs of blank lines:\n%q", m.Text)
	}
	if strings.Contains(m.Text, "Tracking: ZX99") {
		t.Errorf("text has the quoted history:\n%s", m.Text)
	}
	fold := regexp.MustCompile(`(?s)<details><summary>Show quoted text</summary>.*Tracking: ZX99.*</details>`)
	if !fold.MatchString(m.HTML) || !strings.Contains(m.HTML, "<td>Mug</td>") {
		t.Errorf("html does not fold the history:\n%s", m.HTML)
	}

	// A plain-text mail's history folds the same way.
	m = e.filed(deliver(t, e, customerMail("kai@example.test", "kai-2@example.test", "Re: Hi",
		"Thanks!\n\nOn Mon, 3 Jun 2024 at 10:00, Shop <support@shop.test> wrote:\n> Your parcel left today.")))
	if !strings.Contains(m.HTML, "<summary>Show quoted text</summary>") || m.Text != "Thanks!" {
		t.Errorf("plain-text mail: text %q html %s", m.Text, m.HTML)
	}
}

// 10. To and CC are recorded; a reply keeps the CC list; a CC'd person's reply threads
// in as a participant; References carry the customer's chain.
func TestRealMail_CCAndReplyAll(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)
	agent := e.agentCtx()
	res := deliver(t, e, realMail(t, "15-cc.eml"))
	m := e.filed(res)
	if m.From == nil || m.From.Address != "ivy@example.test" || len(m.To) != 1 || m.To[0].Address != supportAddr ||
		len(m.CC) != 2 || m.CC[0].Name != "Jack Chen" {
		t.Fatalf("addresses = from %+v to %+v cc %+v", m.From, m.To, m.CC)
	}
	tk, _ := e.db.Ticket(e.ctx, res.TicketID)
	if len(tk.Participants) != 2 || tk.Participants[0].Address != "jack@example.test" || tk.Participants[1].Address != "owner@shop.test" {
		t.Fatalf("participants = %+v", tk.Participants)
	}

	out, sent := e.reply(agent, res.TicketID, "Invoice attached.", nil)
	if !slices.Equal(sent.To, []string{"ivy@example.test", "jack@example.test", "owner@shop.test"}) {
		t.Fatalf("envelope to %v", sent.To)
	}
	h := header(t, sent.Data)
	if cc, _ := h.AddressList("Cc"); len(cc) != 2 || cc[0].Address != "jack@example.test" {
		t.Fatalf("Cc = %v", cc)
	}
	if refs, _ := h.MsgIDList("References"); !slices.Equal(refs, []string{"ivy-1@example.test", "ivy-2@example.test", "ivy-3@example.test"}) {
		t.Fatalf("References = %v, want the customer's whole chain", refs)
	}
	if len(out.CC) != 2 || len(out.To) != 1 || out.To[0].Address != "ivy@example.test" {
		t.Fatalf("stored reply: to %+v cc %+v", out.To, out.CC)
	}

	// Jack answers all: his message joins the ticket, he stays no customer.
	id, _ := h.MessageID()
	replyTo, _ := h.AddressList("Reply-To")
	jack := deliver(t, e, realMail(t, "15-cc-reply.eml", "MESSAGE_ID", id, "REPLY_TO", replyTo[0].Address))
	if jack.TicketID != res.TicketID || jack.NewTicket {
		t.Fatalf("Jack's reply = %+v, want it in ticket %d", jack, res.TicketID)
	}
	jm := e.filed(jack)
	if jm.Author.Kind != "participant" || jm.Author.Name != "Jack Chen" {
		t.Fatalf("author = %+v, want participant Jack Chen", jm.Author)
	}
	if tk, _ := e.db.Ticket(e.ctx, res.TicketID); tk.CustomerID != res.CustomerID {
		t.Fatalf("ticket customer changed to %d", tk.CustomerID)
	}
	list, _, _ := e.db.Customers(e.ctx, "", crm.Page{Limit: 10})
	if len(list) != 1 {
		t.Fatalf("%d customers, want Ivy alone", len(list))
	}

	// The next reply still goes to Ivy; the agent drops the owner from the copy.
	_, sent = e.reply(agent, res.TicketID, "Thanks Jack.", []string{"Jack Chen <jack@example.test>"})
	if !slices.Equal(sent.To, []string{"ivy@example.test", "jack@example.test"}) {
		t.Fatalf("envelope to %v, want Ivy and a copy to Jack", sent.To)
	}
	if tk, _ := e.db.Ticket(e.ctx, res.TicketID); len(tk.Participants) != 1 {
		t.Fatalf("participants = %+v after the agent's CC", tk.Participants)
	}
}

// 11. A message's time is its Date when that is plausible, else its arrival.
func TestRealMail_DateHeader(t *testing.T) {
	e := newEnv(t, nil)
	arrived := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i, tc := range []struct {
		name string
		date time.Time
		want time.Time
	}{
		{"two hours before arrival", arrived.Add(-2 * time.Hour), arrived.Add(-2 * time.Hour)},
		{"in the future", time.Now().Add(24 * time.Hour), arrived},
		{"a month before arrival", arrived.Add(-30 * 24 * time.Hour), arrived},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := realMail(t, "16-date.eml", "DATE", tc.date.Format(time.RFC1123Z), "N", fmt.Sprint(i))
			raw = strings.ReplaceAll(raw, "\n", "\r\n")
			d, err := e.ch.Deliver(e.ctx, e.inbox, strings.NewReader(raw), arrived)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.filed(d.Result).CreatedAt; !got.Equal(tc.want) {
				t.Fatalf("created_at = %s, want %s", got, tc.want)
			}
		})
	}
}

// 12. Changing the mailbox is logged as what it is.
func TestRealMail_MailboxChangeLogged(t *testing.T) {
	e := newEnv(t, nil)
	e.appendMail(customerMail("mo@example.test", "mo-1@example.test", "Hi", "Hello"))
	stop := e.run(e.ch)
	var cp crm.MailCheckpoint
	waitFor(t, "checkpoint", func() bool {
		cp, _ = e.db.MailCheckpoint(e.ctx, e.inbox.ID)
		return cp.LastUID == 1
	})
	stop()
	// The checkpoint was of another mailbox with the same UIDVALIDITY, as after the
	// admin pointed the inbox at a folder of the same server.
	cp.Mailbox = "Support"
	if err := e.db.SetMailCheckpoint(e.ctx, e.inbox.ID, cp); err != nil {
		t.Fatal(err)
	}
	ch, logs := e.loggedChannel()
	e.run(ch)
	waitFor(t, "re-sync log", func() bool { return strings.Contains(logs.String(), "re-syncing") })
	l := logs.String()
	if strings.Contains(l, "uidvalidity changed") || !strings.Contains(l, "mailbox changed") ||
		!strings.Contains(l, "old_mailbox=Support") || !strings.Contains(l, "new_mailbox=INBOX") {
		t.Fatalf("log = %s", l)
	}
	waitFor(t, "checkpoint of INBOX", func() bool {
		cp, _ = e.db.MailCheckpoint(e.ctx, e.inbox.ID)
		return cp.Mailbox == "INBOX" && cp.LastUID == 1
	})
	if n := e.countMessages(); n != 1 {
		t.Fatalf("%d messages after the re-sync, want 1", n)
	}
}
