package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/channels"
	"parley/channels/email"
	"parley/crm"
	"parley/outbound"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// smtpSink is an SMTP server that keeps the mails it is sent, with their envelopes.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	got  []sunkMail
}

type sunkMail struct {
	rcpt []string
	data []byte
}

type sinkSession struct {
	s    *smtpSink
	rcpt []string
}

func (ss *sinkSession) Reset()                               { ss.rcpt = nil }
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.rcpt = append(ss.rcpt, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, sunkMail{rcpt: ss.rcpt, data: b})
	ss.s.mu.Unlock()
	return nil
}

func newSMTPSink(t *testing.T) *smtpSink {
	s := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "mx.test"
	srv.ErrorLog = nopLogger{}
	srv.MaxMessageBytes = 64 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	return s
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

func (s *smtpSink) mails() []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunkMail(nil), s.got...)
}

// mailReplies sets up what sends email replies: an email inbox whose SMTP server is a
// sink, and the outbox dispatcher with the email channel.
func (e *env) mailReplies(t *testing.T) (*crm.Inbox, *smtpSink) {
	sink := newSMTPSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)
	p, _ := strconv.Atoi(port)
	inbox, err := e.db.CreateInbox(ctxSystem(), &crm.Inbox{Kind: crm.KindEmail, Name: "Mail", Config: map[string]any{
		"address": "support@shop.example", "smtp_host": host, "smtp_port": float64(p), "smtp_security": "none"}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ch := email.New(e.db, e.bus, logger)
	ch.Outbound = outbound.New(outbound.Options{AllowPrivateNetwork: true}) // the sink is on loopback
	reg := channels.NewRegistry()
	reg.Register(crm.KindEmail, ch)
	d := &channels.Dispatcher{Outbox: e.db, Bus: e.bus, Connectors: reg, Logger: logger,
		Poll: 20 * time.Millisecond, BaseBackoff: 20 * time.Millisecond, MaxAttempts: 3}
	ctx, cancel := context.WithCancel(ctxSystem())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return inbox, sink
}

// filePart is a file of a multipart reply.
type filePart struct {
	name, contentType string
	data              []byte
}

// multipartReply returns the body and the Content-Type of a reply with files.
func multipartReply(t *testing.T, message map[string]any, files ...filePart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, _ := w.CreatePart(h)
	json.NewEncoder(pw).Encode(message)
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.contentType)
		fw, _ := w.CreatePart(h)
		fw.Write(f.data)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// postMultipart sends a multipart reply as the client's session.
func (c *client) postMultipart(path string, body []byte, contentType string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// A reply sent with a file, formatting and a Bcc reaches the customer's mail server as
// a mail with the file attached, an HTML part rendered from the markup, a readable text
// part, and the Bcc in the envelope only.
func TestReplyWithFilesByEmail(t *testing.T) {
	e := newEnv(t)
	inbox, sink := e.mailReplies(t)
	res, err := e.db.Ingest(ctxSystem(), &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: "inv@a.example",
		Subject: "Invoice please", Text: "Can I have the invoice?", FromName: "Ann",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@a.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.4\n% invoice 1042\n")
	body, ct := multipartReply(t, map[string]any{"body": "Your **invoice** is attached, see [your order](https://shop.example/orders/1042).\n\n- paid\n- _shipped_",
		"bcc": []string{"books@shop.example"}, "status": "pending"},
		filePart{"invoice-1042.pdf", "application/pdf", pdf})
	code, data := e.admin.postMultipart("/api/v1/tickets/"+itoa(res.TicketID)+"/messages", body, ct)
	if code != 201 {
		t.Fatalf("POST = %d %s", code, data)
	}
	var m crm.Message
	json.Unmarshal(data, &m)
	wantText := "Your *invoice* is attached, see your order (https://shop.example/orders/1042).\n\n- paid\n- _shipped_"
	if m.Text != wantText || !strings.Contains(m.HTML, "<strong>invoice</strong>") || len(m.Attachments) != 1 ||
		len(m.BCC) != 1 || m.BCC[0].Address != "books@shop.example" {
		t.Fatalf("message = %+v", m)
	}
	var tk crm.Ticket
	e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(res.TicketID), nil, 200, &tk)
	if tk.Status != crm.StatusPending {
		t.Fatalf("status = %s, want pending", tk.Status)
	}
	// The file is served to agents as stored.
	req, _ := http.NewRequest("GET", e.srv.URL+m.Attachments[0].URL, nil)
	resp, err := e.admin.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, pdf) {
		t.Fatalf("GET attachment = %d %q", resp.StatusCode, got)
	}

	deadline := time.Now().Add(10 * time.Second)
	for len(sink.mails()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no mail reached the SMTP server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sent := sink.mails()[0]
	if strings.Join(sent.rcpt, ",") != "ann@a.example,books@shop.example" {
		t.Fatalf("envelope recipients = %v", sent.rcpt)
	}
	mr, err := mail.CreateReader(bytes.NewReader(sent.data))
	if err != nil {
		t.Fatal(err)
	}
	if mr.Header.Get("Bcc") != "" || bytes.Contains(sent.data, []byte("books@")) {
		t.Fatalf("the Bcc shows in the mail:\n%s", sent.data)
	}
	var text, html string
	var files []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			if typ, _, _ := h.ContentType(); typ == "text/html" {
				html = string(b)
			} else {
				text = strings.ReplaceAll(string(b), "\r\n", "\n")
			}
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			typ, _, _ := h.ContentType()
			if !bytes.Equal(b, pdf) || typ != "application/pdf" {
				t.Fatalf("attachment %s (%s) = %q", name, typ, b)
			}
			files = append(files, name)
		}
	}
	if text != wantText {
		t.Fatalf("text part = %q, want %q", text, wantText)
	}
	for _, want := range []string{"<strong>invoice</strong>", `<a href="https://shop.example/orders/1042"`, "<ul>", "<li><em>shipped</em></li>"} {
		if !strings.Contains(html, want) {
			t.Fatalf("html part lacks %s:\n%s", want, html)
		}
	}
	if len(files) != 1 || files[0] != "invoice-1042.pdf" {
		t.Fatalf("attached files = %v", files)
	}
}

// Files on a reply by a channel that carries none are refused before anything is
// stored, and so are files over the limits; a note keeps them.
func TestReplyFilesRefused(t *testing.T) {
	e := newEnv(t)
	phone, err := e.db.CreateInbox(ctxSystem(), &crm.Inbox{Kind: crm.KindPhone, Name: "SMS"})
	if err != nil {
		t.Fatal(err)
	}
	sms, err := e.db.Ingest(ctxSystem(), &crm.Inbound{InboxID: phone.ID, Channel: crm.ChannelSMS, ExternalID: "SM1",
		Text: "Where is my parcel?", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550123"}}})
	if err != nil {
		t.Fatal(err)
	}
	mailBox, err := e.db.CreateInbox(ctxSystem(), &crm.Inbox{Kind: crm.KindEmail, Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	mailed, err := e.db.Ingest(ctxSystem(), &crm.Inbound{InboxID: mailBox.ID, Channel: crm.ChannelEmail, ExternalID: "q@a.example",
		Subject: "Photos", Text: "Here", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ann@a.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	stored := func() (int, int) {
		t.Helper()
		n := 0
		for _, id := range []int64{sms.TicketID, mailed.TicketID} {
			msgs, _, err := e.db.Messages(ctxSystem(), id, crm.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			n += len(msgs)
		}
		files, _ := filepath.Glob(filepath.Join(e.st.DataDir, "attachments", "*", "*"))
		return n, len(files)
	}
	small := filePart{"label.pdf", "application/pdf", []byte("%PDF label")}
	for _, tc := range []struct {
		name   string
		ticket int64
		msg    map[string]any
		files  []filePart
		status int
		code   string
	}{
		{"a file on an SMS reply", sms.TicketID, map[string]any{"body": "Label attached"}, []filePart{small}, 400, crm.EINVALID},
		{"a bcc on an SMS reply", sms.TicketID, map[string]any{"body": "Hi", "bcc": []string{"a@b.example"}}, nil, 400, crm.EINVALID},
		{"a file over 25 MiB", mailed.TicketID, map[string]any{"body": "Big"},
			[]filePart{{"big.bin", "application/octet-stream", make([]byte, crm.MaxAttachmentSize+1)}}, 413, crm.ETOOLARGE},
		{"files over 20 MiB together", mailed.TicketID, map[string]any{"body": "Two"},
			[]filePart{{"a.bin", "image/png", make([]byte, 11<<20)}, {"b.bin", "image/png", make([]byte, 11<<20)}}, 413, crm.ETOOLARGE},
		{"eleven files", mailed.TicketID, map[string]any{"body": "Many"},
			[]filePart{small, small, small, small, small, small, small, small, small, small, small}, 413, crm.ETOOLARGE},
		{"a bad bcc", mailed.TicketID, map[string]any{"body": "Hi", "bcc": []string{"not an address"}}, []filePart{small}, 400, crm.EINVALID},
		{"no message part", mailed.TicketID, nil, []filePart{small}, 400, crm.EINVALID},
	} {
		var body []byte
		var ct string
		if tc.msg == nil {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			fw, _ := w.CreateFormFile("file", "label.pdf")
			fw.Write(small.data)
			w.Close()
			body, ct = buf.Bytes(), w.FormDataContentType()
		} else {
			body, ct = multipartReply(t, tc.msg, tc.files...)
		}
		code, data := e.admin.postMultipart("/api/v1/tickets/"+itoa(tc.ticket)+"/messages", body, ct)
		if code != tc.status || errCode(t, data) != tc.code {
			t.Fatalf("%s: %d %s, want %d %s", tc.name, code, data, tc.status, tc.code)
		}
		if msgs, files := stored(); msgs != 2 || files != 0 {
			t.Fatalf("%s: %d messages and %d files stored, want 2 and none", tc.name, msgs, files)
		}
	}
	// The same file in a note of the SMS ticket is kept.
	body, ct := multipartReply(t, map[string]any{"body": "The label, for later", "internal": true}, small)
	if code, data := e.admin.postMultipart("/api/v1/tickets/"+itoa(sms.TicketID)+"/messages", body, ct); code != 201 {
		t.Fatalf("note with a file = %d %s", code, data)
	}
	if msgs, files := stored(); msgs != 3 || files != 1 {
		t.Fatalf("%d messages and %d files after the note, want 3 and 1", msgs, files)
	}
}

// The reply examples of docs/api.md work as written: a formatted reply with a Bcc, a
// reply with a file, and the same file refused on a ticket answered by SMS.
func TestDocsReplyExamples(t *testing.T) {
	e := newEnv(t)
	mailBox, err := e.db.CreateInbox(ctxSystem(), &crm.Inbox{Kind: crm.KindEmail, Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	mailed, err := e.db.Ingest(ctxSystem(), &crm.Inbound{InboxID: mailBox.ID, Channel: crm.ChannelEmail, ExternalID: "doc@a.example",
		Subject: "Invoice", Text: "Invoice please", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "ivy@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := e.db.CreateInbox(ctxSystem(), &crm.Inbox{Kind: crm.KindPhone, Name: "SMS"})
	if err != nil {
		t.Fatal(err)
	}
	sms, err := e.db.Ingest(ctxSystem(), &crm.Inbound{InboxID: phone.ID, Channel: crm.ChannelSMS, ExternalID: "SMdoc",
		Text: "Label?", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550123"}}})
	if err != nil {
		t.Fatal(err)
	}
	examples := docExamples(t, "api.md", "### `POST /api/v1/tickets/{id}/messages`")
	if len(examples) != 3 {
		t.Fatalf("docs/api.md has %d reply examples, this test knows 3", len(examples))
	}
	vars := map[string]string{"CSRF": e.admin.csrf, "TICKET": itoa(mailed.TicketID), "SMS_TICKET": itoa(sms.TicketID),
		"@invoice-1042.pdf": "%PDF-1.4 invoice", "@label.pdf": "%PDF-1.4 label"}
	wantStatus := []int{201, 201, 400}
	for i, ex := range examples {
		status, body := runCurl(t, ex.command, vars, e.srv.URL, e.admin)
		if status != wantStatus[i] {
			t.Fatalf("example %d: %s\n= %d %s", i+1, ex.command, status, body)
		}
		var doc, got any
		if err := json.Unmarshal([]byte(ex.answer), &doc); err != nil {
			t.Fatalf("example %d: the documented answer is not JSON: %v", i+1, err)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("example %d: answer %s: %v", i+1, body, err)
		}
		sameKeys(t, fmt.Sprintf("example %d", i+1), doc, got)
		d, g := doc.(map[string]any), got.(map[string]any)
		for _, k := range []string{"text", "html", "error"} {
			if k == "error" && i < 2 {
				continue
			}
			dv, _ := json.Marshal(d[k])
			gv, _ := json.Marshal(g[k])
			if k == "error" { // the docs' ticket number is the test's
				dv = []byte(strings.ReplaceAll(string(dv), "1043", itoa(sms.TicketID)))
			}
			if string(dv) != string(gv) {
				t.Fatalf("example %d: %s = %s, the docs show %s", i+1, k, gv, dv)
			}
		}
	}
	var tk crm.Ticket
	e.admin.mustDo("GET", "/api/v1/tickets/"+itoa(mailed.TicketID), nil, 200, &tk)
	if tk.Status != crm.StatusPending {
		t.Fatalf("status = %s, want pending", tk.Status)
	}
	if msgs, _, _ := e.db.Messages(ctxSystem(), sms.TicketID, crm.Page{}); len(msgs) != 1 {
		t.Fatalf("%d messages on the SMS ticket, want 1", len(msgs))
	}
}
