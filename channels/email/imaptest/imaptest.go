// Package imaptest is the IMAP server of the email channel's tests and of the load
// generator: go-imap's imapmemserver in this process, on a loopback port, holding one
// account, with an IDLE that announces every pending update as production servers do.
package imaptest

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// Options configure a Server. Zero fields take the defaults.
type Options struct {
	// Caps are the capabilities the server announces. Default IMAP4rev1 and IMAP4rev2,
	// with IDLE.
	Caps imap.CapSet
	// IdlePoll is how often a session in IDLE looks for updates. Default 5 ms.
	IdlePoll time.Duration
	// XOAUTH2, when set, makes the server take only AUTHENTICATE XOAUTH2, as Gmail and
	// Exchange Online do for an app signed in with OAuth2: it checks the user name and
	// bearer token (nil accepts them) and the password login is refused.
	XOAUTH2 func(user, token string) error
}

// Server is a running IMAP server with one account whose INBOX exists. It accepts the
// password in the clear (loopback only).
type Server struct {
	// Addr is the host:port it listens on, on 127.0.0.1.
	Addr string
	// User is the account, for creating, deleting and filling its mailboxes.
	User *imapmemserver.User

	srv  *imapserver.Server
	port int
}

// Start starts a server with the account username and password on a free loopback port.
// Close stops it.
func Start(username, password string, opt Options) (*Server, error) {
	if opt.Caps == nil {
		opt.Caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	if opt.IdlePoll <= 0 {
		opt.IdlePoll = 5 * time.Millisecond
	}
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(username, password)
	if err := user.Create("INBOX", nil); err != nil {
		return nil, fmt.Errorf("create inbox: %w", err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			s := &idleSession{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2), every: opt.IdlePoll}
			if opt.XOAUTH2 != nil {
				return &oauthSession{idleSession: s, check: opt.XOAUTH2, username: username, password: password}, nil, nil
			}
			return s, nil, nil
		},
		Caps:         opt.Caps,
		InsecureAuth: true,
		Logger:       discard{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("imap listen: %w", err)
	}
	go srv.Serve(ln)
	return &Server{Addr: ln.Addr().String(), User: user, srv: srv, port: ln.Addr().(*net.TCPAddr).Port}, nil
}

// Port is the port the server listens on.
func (s *Server) Port() int { return s.port }

// Close stops the server and closes its connections.
func (s *Server) Close() error { return s.srv.Close() }

// Deliver appends the raw message to mailbox, as a mail server does on delivery. Line
// ends are made CRLF, as IMAP stores them.
func (s *Server) Deliver(mailbox, raw string) error {
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	if _, err := s.User.Append(mailbox, bytes.NewReader([]byte(raw)), &imap.AppendOptions{}); err != nil {
		return fmt.Errorf("append to %s: %w", mailbox, err)
	}
	return nil
}

// idleSession is imapmemserver's session with an IDLE that sends every pending update.
// imapmemserver's own IDLE announces only updates that arrive after IDLE started, so
// mail appended between a client's last command and its IDLE would wait for the next
// IDLE refresh: tests would flake and the load generator would measure that quirk.
type idleSession struct {
	imapserver.SessionIMAP4rev2
	every time.Duration
}

func (s *idleSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// oauthSession takes only XOAUTH2 logins.
type oauthSession struct {
	*idleSession
	check              func(user, token string) error
	username, password string
}

var _ imapserver.SessionSASL = (*oauthSession)(nil)

func (s *oauthSession) Login(string, string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed,
		Text: "Password logins are disabled for this account: use XOAUTH2"}
}

func (s *oauthSession) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *oauthSession) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported mechanism"}
	}
	return XOAUTH2Server(func(user, token string) error {
		if err := s.check(user, token); err != nil {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed,
				Text: "Invalid credentials (Failure)"}
		}
		// The account is the mailbox's own; its password never crossed the wire.
		return s.idleSession.Login(s.username, s.password)
	}), nil
}

// XOAUTH2Server is the server side of the XOAUTH2 mechanism, for the IMAP server and
// the SMTP sinks of tests: it reads "user=...^Aauth=Bearer ...^A^A" and asks check. A
// refused token gets the JSON challenge Gmail sends, then the failure.
func XOAUTH2Server(check func(user, token string) error) sasl.Server {
	return &xoauth2Server{check: check}
}

type xoauth2Server struct {
	check   func(user, token string) error
	refused error
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.refused != nil {
		return nil, true, x.refused // the client's empty answer to the challenge
	}
	if resp == nil {
		return nil, false, nil // an empty continuation asks for the initial response
	}
	var user, token string
	for _, kv := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(kv, "user="); ok {
			user = v
		} else if v, ok := strings.CutPrefix(kv, "auth=Bearer "); ok {
			token = v
		}
	}
	if err := x.check(user, token); err != nil {
		x.refused = err
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, nil
}
