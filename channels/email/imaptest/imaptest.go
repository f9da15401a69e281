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
)

// Options configure a Server. Zero fields take the defaults.
type Options struct {
	// Caps are the capabilities the server announces. Default IMAP4rev1 and IMAP4rev2,
	// with IDLE.
	Caps imap.CapSet
	// IdlePoll is how often a session in IDLE looks for updates. Default 5 ms.
	IdlePoll time.Duration
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
			return &idleSession{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2), every: opt.IdlePoll}, nil, nil
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
