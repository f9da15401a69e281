package email_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/channels/email"
	"parley/crm"
)

// authFixture reads a mail of testdata/auth with its placeholders filled in: the ticket
// number, the ticket's signed reply-to address and a serial number.
func authFixture(t *testing.T, e *env, name string, ticketID int64, n int) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "auth", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg := email.ConfigOf(e.inbox)
	return strings.NewReplacer("{{TICKET}}", fmt.Sprint(ticketID),
		"{{REPLY_TO}}", email.ReplyAddress(cfg.Address, cfg.ReplySecret, ticketID),
		"{{N}}", fmt.Sprint(n)).Replace(string(raw))
}

// TestSpoofedSenderDoesNotThread files mails that claim to come from a customer with an
// open ticket: those the receiving server says failed DMARC (or SPF and DKIM) open a
// ticket of their own with a visible warning, however they are addressed.
func TestSpoofedSenderDoesNotThread(t *testing.T) {
	e := newEnv(t, nil)
	first := deliver(t, e, customerMail(`"Ann Example" <ann@example.com>`, "first.1@mail.example.com", "Where is my order?",
		"Hi, order 1001 has not arrived."))
	ticket := first.TicketID
	warning := "⚠ Unverified sender: this message failed the sender checks"

	tests := []struct {
		file    string
		joins   bool   // files into the customer's ticket
		warning string // the check named in the warning; "" for none
		excerpt string
	}{
		{"01-verified-reply.eml", true, "", "Thanks, the tracking number works."},
		{"02-dmarc-fail.eml", false, "(DMARC)", "Please send the refund for order 1001"},
		{"03-spf-dkim-fail.eml", false, "(SPF and DKIM)", "Please ship order 1001 to 1 Fraud Street instead."},
		{"04-spf-fail-dkim-pass.eml", true, "", "Does the parcel need a signature?"},
		{"05-trusted-server.eml", true, "", "Cancel order 1001"}, // the topmost header passed
		// Known Message-IDs in References do not let a forged mail in either.
		{"06-dmarc-fail-references.eml", false, "(DMARC)", "Change the delivery address of order 1001"},
	}
	for i, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res := deliver(t, e, authFixture(t, e, tt.file, ticket, i))
			if got := res.TicketID == ticket; got != tt.joins {
				t.Errorf("filed in ticket %d (new %v), want joins the customer's ticket %d: %v", res.TicketID, res.NewTicket, ticket, tt.joins)
			}
			m := e.filed(res)
			if tt.warning == "" {
				if strings.Contains(m.Text, warning) {
					t.Errorf("text = %q, want no warning", m.Text)
				}
			} else {
				if want := warning + " " + tt.warning + "\n\n"; !strings.HasPrefix(m.Text, want) {
					t.Errorf("text = %q, want it to start with %q", m.Text, want)
				}
				if m.HTML != "" && !strings.HasPrefix(m.HTML, "<p><strong>"+warning) {
					t.Errorf("html = %q, want the warning first", m.HTML)
				}
			}
			if !strings.Contains(m.Text, tt.excerpt) {
				t.Errorf("text = %q, want %q", m.Text, tt.excerpt)
			}
		})
	}

	// With the receiving server named, only its header counts: the relay's "pass" above
	// it is not believed.
	trusted := *e.inbox
	trusted.Config = map[string]any{}
	for k, v := range e.inbox.Config {
		trusted.Config[k] = v
	}
	trusted.Config["trusted_authserv_id"] = "MX.Google.com"
	d, err := e.ch.Deliver(e.ctx, &trusted, strings.NewReader(crlf(authFixture(t, e, "05-trusted-server.eml", ticket, 99))), noTime)
	if err != nil || d.Result == nil {
		t.Fatalf("deliver = %+v, %v", d, err)
	}
	if d.Result.TicketID == ticket {
		t.Errorf("a mail that failed DMARC at the trusted server joined the customer's ticket")
	}
	if m := e.filed(d.Result); !strings.HasPrefix(m.Text, warning+" (DMARC)") {
		t.Errorf("text = %q, want the warning", m.Text)
	}
	if n := len(e.messages(ticket)); n != 4 {
		t.Errorf("the customer's ticket has %d messages, want 4", n)
	}
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func TestTrustedAuthservIDIsChecked(t *testing.T) {
	e := newEnv(t, nil)
	for _, tt := range []struct {
		value any
		ok    bool
	}{
		{" mx.google.com ", true},
		{"", true},
		{"mx google", false},
		{"mx.shop.test; dmarc=pass", false},
		{42.0, false},
		{strings.Repeat("a", 300), false},
	} {
		in := &crm.Inbox{Kind: crm.KindEmail, Name: "x", Config: map[string]any{}}
		for k, v := range e.inbox.Config {
			in.Config[k] = v
		}
		in.Secrets = e.inbox.Secrets
		in.Config["trusted_authserv_id"] = tt.value
		err := e.ch.PrepareInbox(e.ctx, in)
		if tt.ok && err != nil {
			t.Errorf("trusted_authserv_id %q: %v", tt.value, err)
		} else if !tt.ok && crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("trusted_authserv_id %q: err = %v, want invalid", tt.value, err)
		}
		if tt.ok && in.Config["trusted_authserv_id"] != strings.TrimSpace(tt.value.(string)) {
			t.Errorf("stored %q", in.Config["trusted_authserv_id"])
		}
	}
}
