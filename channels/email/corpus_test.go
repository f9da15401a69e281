package email_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parley/channels/email"
	"parley/crm"
)

// TestCorpus files real-world-shaped mails in order and checks what an agent sees:
// subject, sender, an excerpt of the text and which ticket each lands in.
func TestCorpus(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		file, subject, from, name, excerpt string
		notInText                          string // quoted history that must be trimmed
		thread                             string // file whose ticket it joins; "" for a new one
		tag                                string
	}{
		{"01-gmail-new.eml", "Bestellung #1001 – wo bleibt sie? 📦", "juergen.mueller@gmail.test", "Jürgen Müller",
			"Können Sie nachsehen?", "", "", ""},
		{"02-gmail-reply.eml", "Bestellung #1001 – wo bleibt sie? 📦", "juergen.mueller@gmail.test", "Jürgen Müller",
			"Danke, das Paket ist heute angekommen!", "seit zehn Tagen", "01-gmail-new.eml", ""},
		{"03-outlook-new.eml", "Invoice for order 1002", "kate.obrien@outlook.test", "O'Brien, Kate",
			"order 1002 — the total was €49.90?", "", "", ""},
		{"04-outlook-reply.eml", "Invoice for order 1002", "kate.obrien@outlook.test", "O'Brien, Kate",
			"Please also send the invoice for order 1003.", "Could you send me", "03-outlook-new.eml", ""},
		{"05-apple-mail.eml", "Damaged box", "mia.chen@icloud.test", "Mia Chen", "Photo of the damaged box attached.", "", "", ""},
		{"06-forwarded.eml", "Fwd: Parcel left in the rain", "owner@shop.test", "Shop Owner",
			"my parcel was left in the rain", "", "", ""},
		{"07-auto-reply.eml", "Automatic reply: Your order 1001", "juergen.mueller@gmail.test", "Juergen Mueller",
			"out of the office", "", "", email.TagAutoReply},
		{"08-iso-8859-1.eml", "Grüße aus Köln", "bjoern@web.test", "Björn Köhler", "Die Lieferung kam pünktlich", "", "", ""},
		{"09-windows-1252.eml", "Return label", "dana@oldmail.test", "Dana Smith", "I’d like a “return label” for the €20 mug.", "", "", ""},
		{"10-shift_jis.eml", "注文番号1003について", "taro.yamada@mail.test.jp", "山田 太郎", "配送状況を教えてください", "", "", ""},
		// A report about a message Parley never sent: a closed bounce ticket, no customer.
		{"11-dsn-unknown.eml", "Delivery Status Notification (Failure)", "mailer-daemon@googlemail.test", "Mail Delivery Subsystem",
			"could not be delivered", "", "", crm.TagBounce},
	}
	ticketOf := map[string]int64{}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := email.Parse(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(p.Subject, tc.subject) {
				t.Errorf("parsed subject = %q, want %q", p.Subject, tc.subject)
			}
			if p.FromAddress != tc.from || p.FromName != tc.name {
				t.Errorf("parsed sender = %q <%s>, want %q <%s>", p.FromName, p.FromAddress, tc.name, tc.from)
			}

			res := deliver(t, e, string(raw))
			ticketOf[tc.file] = res.TicketID
			if tc.thread == "" && !res.NewTicket {
				t.Errorf("filed in existing ticket %d, want a new ticket", res.TicketID)
			} else if tc.thread != "" && res.TicketID != ticketOf[tc.thread] {
				t.Errorf("filed in ticket %d, want %d (of %s)", res.TicketID, ticketOf[tc.thread], tc.thread)
			}
			tk, _ := e.db.Ticket(e.ctx, res.TicketID)
			if tc.thread == "" && tk.Subject != tc.subject {
				t.Errorf("ticket subject = %q, want %q", tk.Subject, tc.subject)
			}
			if tc.tag != "" && !slices.Contains(tk.Tags, tc.tag) {
				t.Errorf("tags = %v, want %s", tk.Tags, tc.tag)
			}
			cu, _ := e.db.Customer(e.ctx, res.CustomerID)
			wantFrom := tc.from
			if tc.tag == crm.TagBounce {
				wantFrom = "mailer-daemon@parley.invalid"
				if tk.Status != crm.StatusClosed {
					t.Errorf("bounce ticket status = %s, want closed", tk.Status)
				}
			}
			if cu.Identities[0].Address != wantFrom {
				t.Errorf("customer identities = %+v", cu.Identities)
			}
			m := e.filed(res)
			if !strings.Contains(m.Text, tc.excerpt) {
				t.Errorf("text = %q, want it to contain %q", m.Text, tc.excerpt)
			}
			if tc.notInText != "" && strings.Contains(m.Text, tc.notInText) {
				t.Errorf("text = %q still has the quoted %q", m.Text, tc.notInText)
			}
			if !slices.ContainsFunc(m.Attachments, func(a *crmAttachment) bool { return a.Filename == "message.eml" }) {
				t.Errorf("attachments = %+v, want message.eml", m.Attachments)
			}
		})
	}

	// The Apple Mail inline image is stored and its cid: link points at it.
	m := e.filed((&ingestRef{TicketID: ticketOf["05-apple-mail.eml"]}).first(e))
	if len(m.Attachments) != 2 || m.Attachments[0].Filename != "box.png" || m.Attachments[0].ContentType != "image/png" {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	if strings.Contains(m.HTML, "cid:") || !strings.Contains(m.HTML, `src="`+m.Attachments[0].URL+`"`) {
		t.Fatalf("inline image not linked: %s", m.HTML)
	}
}
