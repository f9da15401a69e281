package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/crm"

	"github.com/gorilla/websocket"
)

// sampleTimeout bounds the wait for one event to reach every socket.
const sampleTimeout = 10 * time.Second

// benchFanout times an inbound message from the POST to its message.created frame on
// every one of N connected agent sockets, for each N of the scale, and a bare gorilla
// broadcast of the same frame to as many sockets beside it.
func benchFanout(ctx context.Context, s *server, sc scale, res *results) error {
	inbox, err := s.createInbox(ctx, crm.KindAPI, "Bench Fanout", nil)
	if err != nil {
		return err
	}
	bare, err := newBareServer()
	if err != nil {
		return err
	}
	defer bare.close()
	wsURL := "ws" + strings.TrimPrefix(s.url, "http") + "/api/v1/ws"
	h := http.Header{"Origin": {s.url}, "Cookie": {"parley_session=" + s.session}}
	for _, n := range sc.FanoutSockets {
		clients, err := dialClients(ctx, n, wsURL, h, func(ws *websocket.Conn) error {
			// Any first frame ends the hold a new socket waits in for a resume.
			return ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"presence","status":"online"}`))
		}, sampleOf)
		if err != nil {
			return fmt.Errorf("%d agent sockets: %w", n, err)
		}
		lat, err := clients.run(sc.FanoutSamples, func(k int) error {
			return s.api(ctx, "POST", "/api/v1/inbound", inboundReq{Inbox: inbox, ExternalID: fmt.Sprintf("fanout-%d-%d", n, k),
				ThreadKey: "fanout", From: map[string]string{"name": "Fanout Shopper", "email": "fanout@bench.parley.test"},
				Text: fmt.Sprintf("%s%d- where is my parcel?", sampleMarker, k)}, nil)
		})
		payload := clients.last.Load()
		clients.close()
		if err != nil {
			return fmt.Errorf("%d agent sockets: %w", n, err)
		}
		if payload == nil {
			return errors.New("no message.created frame was received")
		}

		bc, err := dialClients(ctx, n, bare.url, nil, nil, func([]byte) int64 { return -2 })
		if err == nil {
			err = bare.waitConns(n)
		}
		if err != nil {
			return fmt.Errorf("%d bare sockets: %w", n, err)
		}
		blat, err := bc.run(sc.FanoutSamples, func(int) error { bare.broadcast(*payload); return nil })
		bc.close()
		if err != nil {
			return fmt.Errorf("%d bare sockets: %w", n, err)
		}
		switch n {
		case 100:
			res.set(keyFanoutP50_100, lat.pct(50))
			res.set(keyFanout100, lat.pct(99))
			res.set(keyBareFanout100, blat.pct(99))
		case 1000:
			res.set(keyFanoutP50_1000, lat.pct(50))
			res.set(keyFanout1000, lat.pct(99))
			res.set(keyBareFanout1000, blat.pct(99))
		}
	}
	return nil
}

// sampleMarker starts the text of each fanout message; the sample number follows.
const sampleMarker = "fanout-sample-"

// sampleOf returns the sample number of a message.created frame, else -1. It reads the
// bytes rather than decoding JSON, so that a thousand readers on the same two cores
// cost the measurement as little as possible.
func sampleOf(data []byte) int64 {
	if !bytes.Contains(data, []byte(`"type":"message.created"`)) {
		return -1
	}
	i := bytes.Index(data, []byte(sampleMarker))
	if i < 0 {
		return -1
	}
	rest := data[i+len(sampleMarker):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	k, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return -1
	}
	return k
}

// clients are N sockets that wait for one sample frame at a time.
type clients struct {
	conns     []*websocket.Conn
	match     func([]byte) int64 // a frame's sample number; -2 means any frame
	cur       atomic.Int64
	remaining atomic.Int64
	done      chan time.Time
	last      atomic.Pointer[[]byte]
	wg        sync.WaitGroup
}

// dialClients opens n sockets, 32 at a time, runs hello on each and starts its reader.
func dialClients(ctx context.Context, n int, url string, h http.Header, hello func(*websocket.Conn) error, match func([]byte) int64) (*clients, error) {
	return dialSpread(ctx, n, func(int) (string, http.Header) { return url, h }, hello, match)
}

// dialSpread is dialClients with socket i going where target(i) says: the nodes of a
// cluster.
func dialSpread(ctx context.Context, n int, target func(i int) (string, http.Header), hello func(*websocket.Conn) error, match func([]byte) int64) (*clients, error) {
	c := &clients{conns: make([]*websocket.Conn, n), match: match, done: make(chan time.Time, 1)}
	c.cur.Store(-1)
	d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second, NetDialContext: (&net.Dialer{}).DialContext}
	_, err := runLoad(ctx, 32, n, 2*time.Minute, func(ctx context.Context, i int) error {
		url, h := target(i)
		ws, resp, err := d.DialContext(ctx, url, h)
		if err != nil {
			if resp != nil {
				return fmt.Errorf("dial: %w (status %d)", err, resp.StatusCode)
			}
			return fmt.Errorf("dial: %w", err)
		}
		c.conns[i] = ws
		if hello != nil {
			return hello(ws)
		}
		return nil
	})
	if err != nil {
		c.close()
		return nil, err
	}
	for _, ws := range c.conns {
		c.wg.Add(1)
		go c.read(ws)
	}
	return c, nil
}

func (c *clients) read(ws *websocket.Conn) {
	defer c.wg.Done()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		k := c.match(data)
		if k == -1 || (k != -2 && k != c.cur.Load()) {
			continue
		}
		if k != -2 {
			c.last.Store(&data)
		}
		if c.remaining.Add(-1) == 0 {
			select {
			case c.done <- time.Now():
			default:
			}
		}
	}
}

// run takes samples+1 samples one after the other, the first as a warm-up, and returns
// the time from each trigger to the last socket receiving its frame.
func (c *clients) run(samples int, trigger func(k int) error) (latencies, error) {
	var lat latencies
	for k := 0; k <= samples; k++ {
		c.remaining.Store(int64(len(c.conns)))
		c.cur.Store(int64(k))
		start := time.Now()
		if err := trigger(k); err != nil {
			return nil, err
		}
		select {
		case t := <-c.done:
			if k > 0 {
				lat = append(lat, t.Sub(start))
			}
		case <-time.After(sampleTimeout):
			return nil, fmt.Errorf("sample %d reached %d of %d sockets within %s", k,
				int64(len(c.conns))-c.remaining.Load(), len(c.conns), sampleTimeout)
		}
	}
	return lat, nil
}

func (c *clients) close() {
	for _, ws := range c.conns {
		if ws != nil {
			ws.Close()
		}
	}
	c.wg.Wait()
}

// bareServer is the smallest gorilla/websocket broadcast server: one writer goroutine
// and a buffered queue per socket, the payload encoded once by the caller. It runs in
// the bench process and is the raw limit of the fanout figures.
type bareServer struct {
	url   string
	srv   *http.Server
	mu    sync.Mutex
	conns map[*bareConn]struct{}
}

type bareConn struct {
	ws   *websocket.Conn
	send chan []byte
}

func newBareServer() (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bare server: %w", err)
	}
	b := &bareServer{url: "ws://" + ln.Addr().String() + "/", conns: map[*bareConn]struct{}{}}
	up := websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}}
	b.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &bareConn{ws: ws, send: make(chan []byte, 128)}
		b.mu.Lock()
		b.conns[c] = struct{}{}
		b.mu.Unlock()
		go func() {
			for m := range c.send {
				if ws.WriteMessage(websocket.TextMessage, m) != nil {
					break
				}
			}
		}()
		go func() {
			defer func() {
				b.mu.Lock()
				delete(b.conns, c)
				b.mu.Unlock()
				close(c.send)
				ws.Close()
			}()
			for {
				_, m, err := ws.ReadMessage()
				if err != nil {
					return
				}
				select { // an echo, for the bare figure beside new chats
				case c.send <- m:
				default:
				}
			}
		}()
	})}
	go b.srv.Serve(ln)
	return b, nil
}

// broadcast queues payload on every socket; a full queue skips that socket.
func (b *bareServer) broadcast(payload []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.conns {
		select {
		case c.send <- payload:
		default:
		}
	}
}

// waitConns waits until exactly n sockets are registered: the server registers a socket
// only after its handshake answer, and the sockets of the last run close asynchronously.
func (b *bareServer) waitConns(n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.mu.Lock()
		got := len(b.conns)
		b.mu.Unlock()
		if got == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bare server has %d sockets, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (b *bareServer) close() { b.srv.Close() }
