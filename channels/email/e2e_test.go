package email_test

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"parley/channels/email"
	"parley/crm"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

func customerMail(from, msgID, subject, body string, extra ...string) string {
	h := "From: " + from + "\nTo: Shop Support <support@shop.test>\nSubject: " + subject +
		"\nDate: Mon, 3 Jun 2024 10:02:00 +0200\nMessage-ID: <" + msgID + ">\nMIME-Version: 1.0\n"
	for _, x := range extra {
		h += x + "\n"
	}
	return h + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n"
}

func (e *env) waitConnected(ch *email.Channel, inboxID int64) {
	e.t.Helper()
	waitFor(e.t, "imap connection", func() bool {
		s := ch.InboxStatus(inboxID)
		return s != nil && s.State == "connected"
	})
}

func (e *env) agentCtx() *crm.Agent {
	e.t.Helper()
	a, err := e.db.CreateAgent(e.ctx, &crm.NewAgent{Email: "alice@shop.test", Name: "Alice", Role: crm.RoleAdmin,
		Password: "correct horse battery"})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// header reads the header of a sent mail.
func header(t *testing.T, raw []byte) mail.Header {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return r.Header
}

func TestMailBecomesTicketAndReplyThreads(t *testing.T) {
	e := newEnv(t, nil)
	e.run(e.ch)
	e.dispatcher(e.ch)
	e.waitConnected(e.ch, e.inbox.ID)

	// A customer writes: IDLE brings it in.
	e.appendMail(customerMail(`"Ann Example" <Ann@Example.com>`, "first.1@mail.example.com", "Where is my order?",
		"Hi, order 1001 has not arrived.\n\nAnn"))
	waitFor(t, "ticket from IDLE", func() bool { return len(e.tickets()) == 1 })
	tk := e.tickets()[0]
	if tk.Subject != "Where is my order?" || tk.Channel != crm.ChannelEmail || tk.Status != crm.StatusOpen {
		t.Fatalf("ticket = %+v", tk)
	}
	cu, err := e.db.Customer(e.ctx, tk.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if cu.Name != "Ann Example" || len(cu.Identities) != 1 || cu.Identities[0].Address != "ann@example.com" {
		t.Fatalf("customer = %+v", cu)
	}
	msgs := e.messages(tk.ID)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "order 1001 has not arrived") {
		t.Fatalf("messages = %+v", msgs)
	}
	if len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].Filename != "message.eml" {
		t.Fatalf("raw message not kept: %+v", msgs[0].Attachments)
	}

	// The agent replies; the outbox sends it through the SMTP sink.
	agent := e.agentCtx()
	out, err := e.db.AddMessage(crm.WithAgent(e.ctx, agent), &crm.NewMessage{TicketID: tk.ID,
		Body: "Hello Ann,\n\nit left our warehouse today.\n\nAlice"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reply at the smtp sink", func() bool { return len(e.sink.sent()) == 1 })
	sent := e.sink.sent()[0]
	if sent.From != supportAddr || !slices.Equal(sent.To, []string{"ann@example.com"}) {
		t.Fatalf("envelope = %s -> %v", sent.From, sent.To)
	}
	h := header(t, sent.Data)
	from, _ := h.AddressList("From")
	if len(from) != 1 || from[0].Address != supportAddr || from[0].Name != "Support" {
		t.Fatalf("From = %v", from)
	}
	replyTo, _ := h.AddressList("Reply-To")
	want := regexp.MustCompile(fmt.Sprintf(`^support\+t%d\.[0-9a-f]{16}@shop\.test$`, tk.ID))
	if len(replyTo) != 1 || !want.MatchString(replyTo[0].Address) {
		t.Fatalf("Reply-To = %v", replyTo)
	}
	msgID, _ := h.MessageID()
	if !regexp.MustCompile(fmt.Sprintf(`^parley\.%d\.[0-9a-f]{16}@shop\.test$`, out.ID)).MatchString(msgID) {
		t.Fatalf("Message-ID = %q", msgID)
	}
	if irt, _ := h.MsgIDList("In-Reply-To"); !slices.Equal(irt, []string{"first.1@mail.example.com"}) {
		t.Fatalf("In-Reply-To = %v", irt)
	}
	if refs, _ := h.MsgIDList("References"); !slices.Equal(refs, []string{"first.1@mail.example.com"}) {
		t.Fatalf("References = %v", refs)
	}
	if s, _ := h.Subject(); s != fmt.Sprintf("Re: Where is my order? [#%d]", tk.ID) {
		t.Fatalf("Subject = %q", s)
	}
	if ct, _, _ := h.ContentType(); ct != "multipart/mixed" && ct != "multipart/alternative" {
		t.Fatalf("Content-Type = %q", ct)
	}
	p, err := email.Parse(bytes.NewReader(sent.Data))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "it left our warehouse today") || !strings.Contains(p.HTML, "<p>Hello Ann,</p>") {
		t.Fatalf("sent bodies: text %q html %q", p.Text, p.HTML)
	}
	waitFor(t, "reply marked sent", func() bool {
		ms := e.messages(tk.ID)
		return len(ms) == 2 && ms[1].Status == crm.MsgSent
	})

	// The customer answers the reply: In-Reply-To threads it into the ticket.
	e.appendMail(customerMail("Ann Example <ann@example.com>", "second.2@mail.example.com",
		fmt.Sprintf("Re: Where is my order? [#%d]", tk.ID),
		"Thanks! When will it arrive?\n\nOn Mon, 3 Jun 2024 at 12:00, Support <support@shop.test> wrote:\n> Hello Ann,\n> it left our warehouse today.",
		"In-Reply-To: <"+msgID+">", "References: <first.1@mail.example.com> <"+msgID+">"))
	waitFor(t, "customer's answer in the ticket", func() bool { return len(e.messages(tk.ID)) == 3 })
	msgs = e.messages(tk.ID)
	if got := msgs[2].Text; got != "Thanks! When will it arrive?" {
		t.Fatalf("answer text = %q (quoted history should be trimmed)", got)
	}
	if !strings.Contains(msgs[2].HTML, "it left our warehouse today") {
		t.Fatalf("answer HTML lost the quoted history: %q", msgs[2].HTML)
	}

	// A new mail client writes to the signed reply-to address, without any references.
	e.appendMail(strings.Replace(customerMail("ann@example.com", "third.3@other.example.com", "another question",
		"Can I change the address?"), "To: Shop Support <support@shop.test>", "To: "+replyTo[0].Address, 1))
	waitFor(t, "mail to the reply address in the ticket", func() bool { return len(e.messages(tk.ID)) == 4 })

	// Someone else uses the ticket's subject token, and someone shares only the subject:
	// neither joins the ticket.
	e.appendMail(customerMail("eve@evil.test", "evil.4@evil.test", fmt.Sprintf("Re: Where is my order? [#%d]", tk.ID), "let me in"))
	e.appendMail(customerMail("bob@example.org", "bob.5@example.org", "Where is my order?", "Mine too"))
	waitFor(t, "two new tickets", func() bool { return len(e.tickets()) == 3 })
	if n := len(e.messages(tk.ID)); n != 4 {
		t.Fatalf("ticket has %d messages, want 4", n)
	}

	// The real customer's subject token alone threads.
	e.appendMail(customerMail("ann@example.com", "fourth.6@other.example.com", fmt.Sprintf("[#%d] one more thing", tk.ID), "Gift wrap please"))
	waitFor(t, "subject token of the customer", func() bool { return len(e.messages(tk.ID)) == 5 })
	if n := len(e.tickets()); n != 3 {
		t.Fatalf("%d tickets, want 3", n)
	}
}

func TestClosedTicketOpensLinkedTicket(t *testing.T) {
	e := newEnv(t, nil)
	res := deliver(t, e, customerMail("ann@example.com", "c1@example.com", "Refund", "Please refund"))
	closed := crm.StatusClosed
	if _, err := e.db.UpdateTicket(e.ctx, res.TicketID, crm.TicketUpdate{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	res2 := deliver(t, e, customerMail("ann@example.com", "c2@example.com", "Re: Refund", "Any news?", "In-Reply-To: <c1@example.com>"))
	if res2.TicketID == res.TicketID || !res2.NewTicket {
		t.Fatalf("reply to a closed ticket filed in %d (new %v)", res2.TicketID, res2.NewTicket)
	}
	tk, _ := e.db.Ticket(e.ctx, res2.TicketID)
	if tk.LinkedTicketID != res.TicketID {
		t.Fatalf("linked ticket = %d, want %d", tk.LinkedTicketID, res.TicketID)
	}
}

func TestRestartAndUIDValidityChangeFileNothingTwice(t *testing.T) {
	e := newEnv(t, nil)
	mails := []string{}
	for i := range 4 {
		mails = append(mails, customerMail(fmt.Sprintf("c%d@example.com", i), fmt.Sprintf("m%d@example.com", i),
			fmt.Sprintf("Question %d", i), "Hello"))
	}
	for _, m := range mails[:3] {
		e.appendMail(m)
	}
	stop := e.run(e.ch)
	waitFor(t, "three tickets", func() bool { return len(e.tickets()) == 3 })
	waitFor(t, "checkpoint", func() bool {
		cp, _ := e.db.MailCheckpoint(e.ctx, e.inbox.ID)
		return cp.LastUID == 3
	})
	stop()

	// A restart resumes at the checkpoint.
	e.appendMail(mails[3])
	ch := e.newChannel()
	stop = e.run(ch)
	waitFor(t, "fourth ticket", func() bool { return len(e.tickets()) == 4 })
	waitFor(t, "checkpoint 4", func() bool {
		cp, _ := e.db.MailCheckpoint(e.ctx, e.inbox.ID)
		return cp.LastUID == 4
	})
	stop()
	if n := e.countMessages(); n != 4 {
		t.Fatalf("%d messages after restart, want 4", n)
	}
	old, _ := e.db.MailCheckpoint(e.ctx, e.inbox.ID)

	// The mailbox is rebuilt (as after a server migration): new UIDVALIDITY, same mail.
	if err := e.imap.User.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := e.imap.User.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		e.appendMail(m)
	}
	e.appendMail(customerMail("new@example.com", "m9@example.com", "After the move", "Hello again"))
	ch = e.newChannel()
	e.run(ch)
	waitFor(t, "checkpoint of the new mailbox", func() bool {
		cp, _ := e.db.MailCheckpoint(e.ctx, e.inbox.ID)
		return cp.UIDValidity != old.UIDValidity && cp.LastUID == 5
	})
	if n := len(e.tickets()); n != 5 {
		t.Fatalf("%d tickets after re-sync, want 5", n)
	}
	if n := e.countMessages(); n != 5 {
		t.Fatalf("%d messages after re-sync, want 5", n)
	}
}

func TestPollingWithoutIdle(t *testing.T) {
	e := newEnv(t, imap.CapSet{imap.CapIMAP4rev1: {}})
	e.run(e.ch)
	e.waitConnected(e.ch, e.inbox.ID)
	e.appendMail(customerMail("ann@example.com", "poll@example.com", "Polled", "Hello"))
	waitFor(t, "polled ticket", func() bool { return len(e.tickets()) == 1 })
}

func TestInboxChangesTakeEffectWithoutRestart(t *testing.T) {
	e := newEnv(t, nil)
	e.run(e.ch)
	e.waitConnected(e.ch, e.inbox.ID)

	// A second email inbox on another folder starts fetching when it is created.
	if err := e.imap.User.Create("Sales", nil); err != nil {
		t.Fatal(err)
	}
	ih, ip := hostPort(t, e.imap.Addr)
	in := &crm.Inbox{Kind: crm.KindEmail, Name: "Sales", Config: map[string]any{"address": "sales@shop.test",
		"imap_host": ih, "imap_port": ip, "imap_security": "none", "imap_username": supportAddr,
		"imap_password": imapPass, "imap_mailbox": "Sales", "smtp_host": "127.0.0.1", "smtp_security": "none"}}
	if err := e.ch.PrepareInbox(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	sales, err := e.db.CreateInbox(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	e.waitConnected(e.ch, sales.ID)
	if err := e.imap.Deliver("Sales", customerMail("bob@example.org", "sales1@example.org", "Bulk order", "100 pieces?")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ticket in the new inbox", func() bool {
		list, _, _ := e.db.Tickets(e.ctx, crm.TicketFilter{InboxID: sales.ID})
		return len(list) == 1
	})

	// A wrong password takes effect too: the fetcher reconnects and reports the error.
	sales.Config["imap_password"] = "wrong"
	sales.Secrets = nil // the store lets in.Secrets win over a new config value
	if _, err := e.db.UpdateInbox(e.ctx, sales); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "login error status", func() bool {
		s := e.ch.InboxStatus(sales.ID)
		return s != nil && s.State == "error" && strings.Contains(s.LastError, "login")
	})
	if s := e.ch.InboxStatus(e.inbox.ID); s == nil || s.State != "connected" {
		t.Fatalf("first inbox status = %+v", s)
	}
}

func TestBounceMarksReplyFailed(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)
	res := deliver(t, e, customerMail("typo@example.com", "b1@example.com", "Hello", "Hi"))
	out, err := e.db.AddMessage(e.ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "Hello back"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reply sent", func() bool { return len(e.sink.sent()) == 1 })
	sentHeader := header(t, e.sink.sent()[0].Data)
	msgID, _ := sentHeader.MessageID()
	waitFor(t, "reply marked sent", func() bool {
		m, err := e.db.MessageByExternalID(e.ctx, e.inbox.ID, msgID)
		return err == nil && m.Status == crm.MsgSent
	})

	dsn := `From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: support@shop.test
Subject: Undelivered Mail Returned to Sender
Date: Mon, 3 Jun 2024 10:05:00 +0000
Message-ID: <dsn.1@mx.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; typo@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <typo@example.com>: Recipient address rejected

--BOUND
Content-Type: text/rfc822-headers

From: Support <support@shop.test>
To: typo@example.com
Subject: Re: Hello
Message-ID: <` + msgID + `>

--BOUND--
`
	r := deliver(t, e, dsn)
	if r.TicketID != res.TicketID {
		t.Fatalf("bounce filed in ticket %d, want %d", r.TicketID, res.TicketID)
	}
	m, err := e.db.MessageByExternalID(e.ctx, e.inbox.ID, msgID)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != out.ID || m.Status != crm.MsgFailed || !strings.Contains(m.Error, "550 5.1.1") {
		t.Fatalf("bounced reply = status %q error %q", m.Status, m.Error)
	}
}

func TestAutoReplyIsFiledAndTagged(t *testing.T) {
	e := newEnv(t, nil)
	res := deliver(t, e, customerMail("ooo@example.com", "ooo1@example.com", "Out of office", "I am away until Monday.",
		"Auto-Submitted: auto-replied", "X-Autoreply: yes"))
	tk, _ := e.db.Ticket(e.ctx, res.TicketID)
	if !slices.Contains(tk.Tags, email.TagAutoReply) {
		t.Fatalf("tags = %v", tk.Tags)
	}
	for _, h := range []string{"Precedence: bulk", "X-Auto-Response-Suppress: All", "Precedence: junk"} {
		res := deliver(t, e, customerMail("list@example.com", "p-"+h+"@example.com", "Newsletter", "News", h))
		tk, _ := e.db.Ticket(e.ctx, res.TicketID)
		if !slices.Contains(tk.Tags, email.TagAutoReply) {
			t.Fatalf("%s: tags = %v", h, tk.Tags)
		}
	}
}

func TestOwnMailIsIgnored(t *testing.T) {
	e := newEnv(t, nil)
	d, err := e.ch.Deliver(e.ctx, e.inbox, strings.NewReader(customerMail("Support <SUPPORT@shop.test>", "own@shop.test", "Loop", "x")), noTime)
	if err != nil || d.Result != nil || d.Ignored == "" {
		t.Fatalf("own mail: %+v, %v", d, err)
	}
	if n := len(e.tickets()); n != 0 {
		t.Fatalf("%d tickets from own mail", n)
	}
}

func TestSendFailures(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)

	// The server rejects the message for good: the reply fails with its answer.
	e.sink.setReject(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied"})
	res := deliver(t, e, customerMail("ann@example.com", "s1@example.com", "Hi", "Hi"))
	m, err := e.db.AddMessage(e.ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "Reply"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed reply", func() bool {
		ms := e.messages(res.TicketID)
		return ms[len(ms)-1].Status == crm.MsgFailed
	})
	got := e.messages(res.TicketID)[1]
	if got.ID != m.ID || !strings.Contains(got.Error, "550") || !strings.Contains(got.Error, "Relaying denied") {
		t.Fatalf("failed reply error = %q", got.Error)
	}
	e.sink.setReject(nil)

	// A customer without an email address cannot get a reply by email.
	tk, err := e.db.CreateTicket(e.ctx, &crm.NewTicket{InboxID: e.inbox.ID, CustomerName: "Caller",
		Identities: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550100"}}, Subject: "Phone call"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddMessage(e.ctx, &crm.NewMessage{TicketID: tk.ID, Body: "Hello"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed reply to a customer without email", func() bool {
		ms := e.messages(tk.ID)
		return len(ms) > 0 && ms[len(ms)-1].Status == crm.MsgFailed
	})
	if ms := e.messages(tk.ID); !strings.Contains(ms[len(ms)-1].Error, "no email address") {
		t.Fatalf("error = %q", ms[len(ms)-1].Error)
	}
}

func TestHeaderInjectionNeverReachesSMTP(t *testing.T) {
	e := newEnv(t, nil)
	e.dispatcher(e.ch)
	res := deliver(t, e, customerMail("ann@example.com", "inj@example.com", "Hello", "Hi"))
	subject := "Refund\r\nBcc: victim@evil.test"
	if _, err := e.db.UpdateTicket(e.ctx, res.TicketID, crm.TicketUpdate{Subject: &subject}); err != nil {
		t.Fatal(err)
	}
	name := "Ann\r\nBcc: victim2@evil.test"
	if _, err := e.db.UpdateCustomer(e.ctx, res.CustomerID, crm.CustomerUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddMessage(e.ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "Reply\r\nBcc: x@evil.test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reply sent", func() bool { return len(e.sink.sent()) == 1 })
	sent := e.sink.sent()[0]
	if !slices.Equal(sent.To, []string{"ann@example.com"}) {
		t.Fatalf("recipients = %v", sent.To)
	}
	head, _, _ := bytes.Cut(sent.Data, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Fatalf("injected header line %q in\n%s", line, head)
		}
	}
	sh := header(t, sent.Data)
	if s, _ := sh.Subject(); s != fmt.Sprintf("Re: Refund Bcc: victim@evil.test [#%d]", res.TicketID) {
		t.Fatalf("subject = %q", s)
	}
}

func TestPrepareAndTestInbox(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name   string
		config map[string]any
	}{
		{"no address", map[string]any{"imap_host": "imap.test", "imap_password": "x", "smtp_host": "smtp.test"}},
		{"bad security", map[string]any{"address": "a@shop.test", "imap_host": "imap.test", "imap_security": "ssl", "imap_password": "x", "smtp_host": "smtp.test"}},
		{"bad port", map[string]any{"address": "a@shop.test", "imap_host": "imap.test", "imap_port": 70000.0, "imap_password": "x", "smtp_host": "smtp.test"}},
		{"bad host", map[string]any{"address": "a@shop.test", "imap_host": "imap test/../", "imap_password": "x", "smtp_host": "smtp.test"}},
		{"no password", map[string]any{"address": "a@shop.test", "imap_host": "imap.test", "smtp_host": "smtp.test"}},
	} {
		err := e.ch.PrepareInbox(e.ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "x", Config: tc.config})
		if crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%s: err = %v, want invalid", tc.name, err)
		}
	}
	in := &crm.Inbox{Kind: crm.KindEmail, Name: "Gmail", Config: map[string]any{"address": "Help@Shop.test",
		"imap_host": "imap.gmail.com", "imap_password": "app-password", "smtp_host": "smtp.gmail.com"}}
	if err := e.ch.PrepareInbox(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	c := in.Config
	if c["address"] != "help@shop.test" || c["imap_port"] != 993 || c["imap_security"] != "tls" ||
		c["smtp_port"] != 587 || c["smtp_security"] != "starttls" || c["imap_mailbox"] != "INBOX" ||
		c["imap_username"] != "help@shop.test" || len(c["reply_secret"].(string)) != 64 {
		t.Fatalf("prepared config = %v", c)
	}
	stored, err := e.db.CreateInbox(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stored.Config["reply_secret"]; ok || stored.Secrets["reply_secret"] == "" || stored.Secrets["imap_password"] != "app-password" {
		t.Fatalf("secrets not sealed: config %v", stored.Config)
	}

	if err := e.ch.TestInbox(e.ctx, e.inbox); err != nil {
		t.Fatalf("test of a working inbox: %v", err)
	}
	bad := *e.inbox
	bad.Secrets = map[string]string{"imap_password": "nope", "reply_secret": "x"}
	if err := e.ch.TestInbox(e.ctx, &bad); err == nil || !strings.Contains(err.Error(), "login") {
		t.Fatalf("test with a wrong password: %v", err)
	}
}
