package email

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// stallGuard is the IMAP connection with a watchdog: while the fetcher waits for the
// server it expects an answer within a time, and a server that sends nothing for that
// long gets its connection closed, which fails the command in progress. Every byte
// read restarts the wait, so a large mail that keeps arriving is never cut off.
//
// go-imap's client sets read deadlines of its own and clears them between responses,
// where it waits without a limit, so the deadline cannot be left to the connection: a
// server that stops answering would hold the fetcher forever, its status still
// "connected".
type stallGuard struct {
	net.Conn

	mu    sync.Mutex
	timer *time.Timer
	wait  time.Duration // the current allowance; 0 while nothing is expected
	fired time.Duration // the allowance that ran out, 0 if none did
}

func newStallGuard(conn net.Conn) *stallGuard {
	g := &stallGuard{Conn: conn}
	g.timer = time.AfterFunc(time.Hour, g.fire)
	g.timer.Stop()
	return g
}

func (g *stallGuard) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n > 0 {
		g.mu.Lock()
		if g.wait > 0 && g.fired == 0 {
			g.timer.Reset(g.wait)
		}
		g.mu.Unlock()
	}
	return n, err
}

// expect says the server has to send something within d from now; 0 stops the watch.
func (g *stallGuard) expect(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.wait = d
	if d > 0 && g.fired == 0 {
		g.timer.Reset(d)
	} else {
		g.timer.Stop()
	}
}

func (g *stallGuard) fire() {
	g.mu.Lock()
	if g.wait == 0 || g.fired != 0 {
		g.mu.Unlock()
		return
	}
	g.fired = g.wait
	g.mu.Unlock()
	g.Conn.Close()
}

// Close stops the watch and closes the connection.
func (g *stallGuard) Close() error {
	g.expect(0)
	return g.Conn.Close()
}

// explain turns the error of a command the watchdog cut off into one that says why,
// for the inbox status; other errors are returned as they are.
func (g *stallGuard) explain(err error) error {
	g.mu.Lock()
	fired := g.fired
	g.mu.Unlock()
	if err == nil || fired == 0 {
		return err
	}
	return fmt.Errorf("the imap server stopped answering (nothing received for %s): %w", fired, err)
}
