package email_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// stallProxy passes TCP connections through to an address until it is told to stall:
// then it stops passing bytes either way but keeps every connection open, like a
// server that hangs without closing anything.
type stallProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	resume chan struct{} // non-nil while stalled; closed when traffic flows again
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.flow()
		wg.Wait()
	})
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

func (p *stallProxy) handle(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(up, c) }()
	go func() { defer wg.Done(); p.pipe(c, up) }()
	wg.Wait()
}

func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			resume := p.resume
			p.mu.Unlock()
			if resume != nil {
				<-resume
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
}

func (p *stallProxy) flow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
}

// TestStalledServerIsDroppedAndRetried runs the fetcher through a proxy that stops
// answering in the middle of a session: the fetcher gives up on the silent connection,
// shows why in the inbox status, reconnects with backoff and files the mail that came
// in meanwhile once the server answers again.
func TestStalledServerIsDroppedAndRetried(t *testing.T) {
	e := newEnv(t, nil)
	proxy := newStallProxy(t, e.imap.Addr)
	host, port := hostPort(t, proxy.addr())
	cfg := map[string]any{}
	for k, v := range e.inbox.Config {
		cfg[k] = v
	}
	cfg["imap_host"], cfg["imap_port"] = host, port
	e.inbox.Config, e.inbox.Secrets = cfg, nil
	in, err := e.db.UpdateInbox(e.ctx, e.inbox)
	if err != nil {
		t.Fatal(err)
	}
	e.inbox = in

	// Short enough to keep the test fast, long enough for a healthy server on a busy
	// machine with the race detector.
	ch := e.newChannel()
	ch.CommandTimeout = time.Second
	ch.DialTimeout = time.Second
	ch.IdleRefresh = 200 * time.Millisecond
	e.run(ch)
	e.waitConnected(ch, in.ID)

	proxy.stall()
	e.appendMail(customerMail("Ann <ann@example.com>", "stall.1@example.com", "Sent while the server hangs", "Hello?"))
	waitFor(t, "the stall in the inbox status", func() bool {
		s := ch.InboxStatus(in.ID)
		return s != nil && s.State != "connected" && strings.Contains(s.LastError, "stopped answering")
	})

	proxy.flow()
	waitFor(t, "the mail filed after reconnecting", func() bool { return len(e.tickets()) == 1 })
	e.waitConnected(ch, in.ID)
	if n := e.countMessages(); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
}
