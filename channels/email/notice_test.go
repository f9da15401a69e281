package email_test

import (
	"strings"
	"testing"

	"parley/crm"

	"github.com/emersion/go-smtp"
)

// TestSendNotice mails an invitation-like notice through the inbox's SMTP server: from
// the inbox's address to the one recipient, plain text, marked Auto-Submitted. A bad
// address sends nothing; the server's refusal comes back as an error.
func TestSendNotice(t *testing.T) {
	e := newEnv(t, nil)
	in, err := e.db.Inbox(e.ctx, e.inbox.ID) // with its sealed secrets, as the server reads it
	if err != nil {
		t.Fatal(err)
	}
	link := "http://127.0.0.1:8080/#/invite/abc-DEF_123"
	if err := e.ch.SendNotice(e.ctx, in, "Nina@Example.com", "You are invited to Parley", "Sign in here:\n"+link+"\n"); err != nil {
		t.Fatal(err)
	}
	sent := e.sink.sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d mails", len(sent))
	}
	m := sent[0]
	data := strings.ReplaceAll(string(m.Data), "\r\n", "\n")
	if m.From != supportAddr || len(m.To) != 1 || m.To[0] != "nina@example.com" {
		t.Errorf("envelope from %s to %v", m.From, m.To)
	}
	for _, want := range []string{"Subject: You are invited to Parley", "Auto-Submitted: auto-generated",
		"To: <nina@example.com>", "Content-Type: text/plain", link} {
		if !strings.Contains(data, want) {
			t.Errorf("mail lacks %q:\n%s", want, data)
		}
	}

	err = e.ch.SendNotice(e.ctx, in, "not an address", "x", "y")
	if crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("bad address: %v", err)
	}
	e.sink.setReject(&smtp.SMTPError{Code: 550, Message: "no such user"})
	err = e.ch.SendNotice(e.ctx, in, "ghost@example.com", "x", "y")
	if err == nil || !strings.Contains(err.Error(), "550 no such user") {
		t.Errorf("refused by the server: %v", err)
	}
	if n := len(e.sink.sent()); n != 1 {
		t.Errorf("%d mails sent, want the first only", n)
	}
}
