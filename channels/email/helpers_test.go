package email_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"parley/channels"
	"parley/channels/email"
	"parley/channels/email/imaptest"
	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	supportAddr = "support@shop.test"
	imapPass    = "imap-secret-pw"
)

// env is a store, an in-process IMAP server with the support mailbox, an SMTP sink and
// the email channel wired to them.
type env struct {
	t     *testing.T
	ctx   context.Context
	bus   *crm.LocalBus
	db    storetest.Store
	imap  *imaptest.Server
	sink  *sink
	ch    *email.Channel
	inbox *crm.Inbox
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv starts the servers and creates the email inbox, without running the channel.
func newEnv(t *testing.T, caps imap.CapSet) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	t.Cleanup(cancel)
	st := teststore.Open(t, teststore.Options{})
	e := &env{t: t, ctx: ctx, bus: st.Bus, db: st.Store}

	srv, err := imaptest.Start(supportAddr, imapPass, imaptest.Options{Caps: caps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.imap = srv

	e.sink = newSink(t)
	e.ch = e.newChannel()
	e.inbox = e.createInbox("Support", supportAddr)
	return e
}

func (e *env) newChannel() *email.Channel {
	ch := email.New(e.db, e.bus, quietLogger())
	ch.Outbound = allowPrivate // the IMAP and SMTP servers are on loopback
	ch.MinBackoff = 20 * time.Millisecond
	ch.MaxBackoff = 200 * time.Millisecond
	ch.PollInterval = 50 * time.Millisecond
	return ch
}

func hostPort(t *testing.T, addr string) (string, float64) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var p float64
	for _, c := range port {
		p = p*10 + float64(c-'0')
	}
	return host, p
}

// createInbox creates an email inbox the way the API does: prepared, then stored.
func (e *env) createInbox(name, address string) *crm.Inbox {
	e.t.Helper()
	ih, ip := hostPort(e.t, e.imap.Addr)
	sh, sp := hostPort(e.t, e.sink.addr)
	in := &crm.Inbox{Kind: crm.KindEmail, Name: name, Config: map[string]any{
		"address": address, "imap_host": ih, "imap_port": ip, "imap_security": "none",
		"imap_username": supportAddr, "imap_password": imapPass,
		"smtp_host": sh, "smtp_port": sp, "smtp_security": "none",
	}}
	if err := e.ch.PrepareInbox(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
	in, err := e.db.CreateInbox(e.ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

// run runs the channel until the returned stop is called (or the test ends).
func (e *env) run(ch *email.Channel) (stop func()) {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ch.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// appendMail puts a raw message into the IMAP mailbox, as a mail server does on delivery.
func (e *env) appendMail(raw string) {
	e.t.Helper()
	if err := e.imap.Deliver("INBOX", raw); err != nil {
		e.t.Fatal(err)
	}
}

// waitFor polls cond until it holds or ten seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tickets lists the inbox's tickets, newest activity first.
func (e *env) tickets() []*crm.Ticket {
	e.t.Helper()
	list, _, err := e.db.Tickets(e.ctx, crm.TicketFilter{InboxID: e.inbox.ID, Page: crm.Page{Limit: 200}})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) messages(ticketID int64) []*crm.Message {
	e.t.Helper()
	list, _, err := e.db.Messages(e.ctx, ticketID, crm.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// countMessages counts the messages of every ticket of the inbox.
func (e *env) countMessages() int {
	n := 0
	for _, t := range e.tickets() {
		n += len(e.messages(t.ID))
	}
	return n
}

// dispatcher runs an outbox dispatcher with the channel registered for email inboxes.
func (e *env) dispatcher(ch channels.Connector) {
	reg := channels.NewRegistry()
	reg.Register(crm.KindEmail, ch)
	d := &channels.Dispatcher{Outbox: e.db, Bus: e.bus, Connectors: reg, Logger: quietLogger(),
		Poll: 20 * time.Millisecond, BaseBackoff: 20 * time.Millisecond, MaxAttempts: 3}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// sink is an SMTP server that keeps what it is sent.
type sink struct {
	addr   string
	mu     sync.Mutex
	msgs   []sentMail
	reject *smtp.SMTPError // returned for DATA when set
	// xoauth2, when set, makes the sink take only XOAUTH2 logins that it accepts.
	xoauth2 func(user, token string) error
}

type sentMail struct {
	From string
	To   []string
	Data []byte
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{s: s}, nil
	}))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = discardLogger{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

func (s *sink) sent() []sentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentMail(nil), s.msgs...)
}

func (s *sink) setReject(e *smtp.SMTPError) {
	s.mu.Lock()
	s.reject = e
	s.mu.Unlock()
}

type sinkSession struct {
	s    *sink
	m    sentMail
	auth bool
}

func (ss *sinkSession) AuthMechanisms() []string {
	if ss.s.bearerCheck() != nil {
		return []string{"XOAUTH2"}
	}
	return []string{sasl.Plain}
}

func (s *sink) bearerCheck() func(user, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.xoauth2
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	if check := ss.s.bearerCheck(); check != nil {
		if mech != "XOAUTH2" {
			return nil, &smtp.SMTPError{Code: 504, Message: "only XOAUTH2"}
		}
		return imaptest.XOAUTH2Server(func(user, token string) error {
			if err := check(user, token); err != nil {
				return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
					Message: "Username and Password not accepted"}
			}
			ss.auth = true
			return nil
		}), nil
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != supportAddr || password != imapPass {
			return errors.New("invalid credentials")
		}
		ss.auth = true
		return nil
	}), nil
}

func (ss *sinkSession) Reset()        { ss.m = sentMail{} }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.auth {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	ss.m.From = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.m.To = append(ss.m.To, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.reject != nil {
		return ss.s.reject
	}
	ss.m.Data = b
	ss.s.msgs = append(ss.s.msgs, ss.m)
	return nil
}

type crmAttachment = crm.Attachment

// ingestRef names a ticket whose first message a test wants.
type ingestRef struct{ TicketID int64 }

func (r *ingestRef) first(e *env) *crm.IngestResult {
	ms := e.messages(r.TicketID)
	return &crm.IngestResult{TicketID: r.TicketID, MessageID: ms[0].ID}
}
