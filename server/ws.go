package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"parley/crm"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Socket timing and limits. Browsers answer pings by themselves, so a client that sends
// nothing for pongWait is gone.
const (
	writeWait    = 10 * time.Second
	pongWait     = 60 * time.Second
	pingPeriod   = pongWait * 9 / 10
	maxFrameSize = 4096

	closeNormal    = websocket.CloseNormalClosure
	closeGoingAway = websocket.CloseGoingAway
	closePolicy    = websocket.ClosePolicyViolation
)

// upgrader keeps idle sockets small: a 512-byte read buffer of their own (client frames
// are small) and write buffers only while writing, taken from a shared pool.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  512,
	WriteBufferSize: 4096,
	WriteBufferPool: &sync.Pool{},
	// handleWS checks the Origin itself, before authentication decides anything.
	CheckOrigin: func(*http.Request) bool { return true },
	Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
		code := crm.EINVALID
		if status >= 500 {
			code = crm.EINTERNAL
		}
		writeError(w, crm.Errorf(code, "websocket handshake failed: %v", reason))
	},
}

// conn is one agent socket. The hub owns the fields below "owned by the hub"; the read
// pump owns the viewing fields; agent is swapped by the hub and read by anyone.
type conn struct {
	hub     *hub
	ws      *websocket.Conn // set before the pumps start
	cork    *corkConn
	live    atomic.Pointer[websocket.Conn]
	agentID int64
	agent   atomic.Pointer[crm.Agent]
	session string // the browser session it was opened with; "" for an API token
	tokenID int64  // the API token it was opened with; 0 for a session
	send    chan *frame
	ctx     context.Context
	cancel  context.CancelFunc
	limiter *rate.Limiter

	// Owned by the hub.
	closed       bool
	closeCode    int
	closeReason  string
	lastID       int64 // the highest stored event id queued
	covered      bool  // whether every visible event in (coveredFrom, lastID] was queued
	coveredFrom  int64
	holding      bool // a new connection holds stored events until resume or holdNew
	holdTimer    *time.Timer
	replaying    bool
	catchingUp   bool // the replay is the hub's own, after a burst filled the queue: no resumed frame
	replayAfter  int64
	replayCursor int64
	replayCount  int
	pending      []*frame

	// Owned by the read pump.
	released   bool // whether the hub was told to end the hold
	viewTicket int64
	viewInbox  int64
	activeAt   time.Time // when the viewed ticket's handle time was last credited
}

// handleWS upgrades an authenticated agent to the live event socket. The Origin must be
// the console's own; only bearer-token clients, which are not browsers, may omit it.
// The optional query parameter after resumes from that event id before anything live.
// Returns invalid (not an upgrade, bad after), forbidden (origin, disabled agent) or
// internal (hub not running).
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) error {
	if !websocket.IsWebSocketUpgrade(r) {
		return crm.Errorf(crm.EINVALID, "GET /api/v1/ws needs a WebSocket upgrade")
	}
	origin := r.Header.Get("Origin")
	if origin == "" && r.Header.Get("Authorization") == "" {
		return crm.Errorf(crm.EFORBIDDEN, "a browser session must send an Origin header")
	} else if origin != "" && !s.sameOrigin(r, origin) {
		return crm.Errorf(crm.EFORBIDDEN, "origin %.100q may not open a socket", origin)
	}
	h := s.hub
	if !h.running.Load() {
		return crm.Errorf(crm.EINTERNAL, "live events are not running")
	}
	var after int64 = -1
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return crm.Errorf(crm.EINVALID, "after must be an event id, 0 or more")
		}
		after = n
	}
	a := crm.AgentFrom(r.Context())
	if a.Disabled {
		return crm.Errorf(crm.EFORBIDDEN, "account disabled")
	}
	// The socket outlives the request. Its replay reads every inbox as the system and the
	// hub filters each event for the agent; the agent's own frames act as the agent.
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	c := &conn{
		hub:     h,
		agentID: a.ID,
		send:    make(chan *frame, sendQueue),
		ctx:     ctx,
		cancel:  cancel,
		limiter: rate.NewLimiter(20, 40),
	}
	c.agent.Store(a)
	if t := tokenFrom(r.Context()); t != nil {
		c.tokenID = t.ID
	} else if ck, err := r.Cookie(sessionCookie); err == nil {
		c.session = ck.Value
	}
	// Registering before the upgrade answers means every event committed after the
	// client sees the handshake reaches it; the queue holds them until the writer runs.
	select {
	case h.register <- c:
	case <-h.stopped:
		cancel()
		return crm.Errorf(crm.EINTERNAL, "live events are not running")
	}
	cw := &corkWriter{ResponseWriter: w}
	if after >= 0 {
		// Queued behind the registration, so the replay starts before any live event.
		select {
		case h.resumes <- resumeRequest{c: c, after: after}:
		case <-h.stopped:
		}
	}
	ws, err := upgrader.Upgrade(cw, r, nil)
	if err != nil {
		cancel()
		select {
		case h.unregister <- c:
		case <-h.stopped:
		}
		return nil // the upgrader has answered
	}
	c.ws, c.cork = ws, cw.cc
	c.live.Store(ws)
	// Returning lets net/http free the request and its buffers; the pumps keep only
	// what a socket needs.
	go c.writePump()
	go c.readPump()
	return nil
}

// readPump reads client frames until the socket fails, then unregisters the connection.
func (c *conn) readPump() {
	h := c.hub
	defer func() {
		if c.viewTicket != 0 {
			c.publish(crm.EventViewing, 0, c.viewInbox, 0)
		}
		select {
		case h.unregister <- c:
		case <-h.stopped:
		}
		c.cancel()
		c.ws.Close()
	}()
	c.ws.SetReadLimit(maxFrameSize)
	c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				h.log.Warn("agent socket frame too large", "agent", c.agentID)
			} else if websocket.IsUnexpectedCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
				h.log.Debug("agent socket closed", "agent", c.agentID, "err", err)
			}
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(pongWait))
		switch {
		case typ != websocket.TextMessage:
			err = crm.Errorf(crm.EINVALID, "binary frames are not supported; send JSON text")
		case !c.limiter.Allow():
			err = crm.Errorf(crm.ERATELIMITED, "too many frames; slow down")
		default:
			err = c.handleFrame(data)
		}
		if !c.released {
			// Whatever the first frame was, the client is not going to resume first.
			c.released = true
			select {
			case h.releases <- c:
			case <-h.stopped:
			}
		}
		if err != nil {
			if crm.ErrorCode(err) == crm.EINTERNAL {
				h.log.Error("agent socket frame", "agent", c.agentID, "err", err)
			}
			c.reply(errorFrame(crm.ErrorCode(err), crm.ErrorMessage(err)))
		}
	}
}

// clientFrame is what an agent's console may send.
type clientFrame struct {
	Type     string `json:"type"`
	After    *int64 `json:"after"`
	TicketID *int64 `json:"ticket_id"`
	Status   string `json:"status"`
}

// handleFrame acts on one client frame. Returns invalid, not_found (a ticket the agent
// may not see) or internal.
func (c *conn) handleFrame(data []byte) error {
	var m clientFrame
	if err := json.Unmarshal(data, &m); err != nil {
		return crm.Errorf(crm.EINVALID, `frames must be JSON objects such as {"type":"resume","after":0}`)
	}
	h := c.hub
	switch m.Type {
	case "resume":
		if m.After == nil || *m.After < 0 {
			return crm.Errorf(crm.EINVALID, "resume needs after: the id of the last event you have, or 0")
		}
		select {
		case h.resumes <- resumeRequest{c: c, after: *m.After}:
		case <-h.stopped:
		}
		return nil
	case crm.EventTyping, crm.EventViewing:
		if m.TicketID == nil || *m.TicketID < 0 || (m.Type == crm.EventTyping && *m.TicketID == 0) {
			return crm.Errorf(crm.EINVALID, "%s needs ticket_id", m.Type)
		}
		return c.relay(m.Type, *m.TicketID)
	case "active":
		if m.TicketID == nil || *m.TicketID <= 0 {
			return crm.Errorf(crm.EINVALID, "active needs ticket_id: the ticket this socket views")
		}
		if *m.TicketID != c.viewTicket {
			return nil // sent before the viewing frame of a ticket just opened: nothing to credit yet
		}
		now := time.Now()
		c.hub.clock.add(c.viewTicket, c.agentID, min(now.Sub(c.activeAt), activeCap))
		c.activeAt = now
		return nil
	case crm.EventPresence:
		if m.Status != presenceOnline && m.Status != presenceAway {
			return crm.Errorf(crm.EINVALID, "presence status must be online or away")
		}
		select {
		case h.presences <- presenceRequest{c: c, status: m.Status}:
		case <-h.stopped:
		}
		return nil
	case "":
		return crm.Errorf(crm.EINVALID, "frame has no type")
	}
	return crm.Errorf(crm.EINVALID, "unknown frame type %.40q", m.Type)
}

// relay publishes the agent's typing or viewing of a ticket it may see. Viewing ticket 0
// stops viewing.
func (c *conn) relay(kind string, ticketID int64) error {
	if ticketID == 0 {
		if c.viewTicket != 0 {
			c.publish(crm.EventViewing, 0, c.viewInbox, 0)
			c.viewTicket, c.viewInbox = 0, 0
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(crm.WithAgent(c.ctx, c.agent.Load()), storeTimeout)
	defer cancel()
	t, err := c.hub.store.Ticket(ctx, ticketID)
	if err != nil {
		return err
	}
	if kind == crm.EventViewing {
		if c.viewTicket == t.ID {
			return nil
		}
		if c.viewTicket != 0 && c.viewInbox != t.InboxID {
			// Agents of the old inbox only would otherwise never learn the agent left.
			c.publish(crm.EventViewing, 0, c.viewInbox, 0)
		}
		c.viewTicket, c.viewInbox, c.activeAt = t.ID, t.InboxID, time.Now()
	}
	c.publish(kind, t.ID, t.InboxID, t.CustomerID)
	return nil
}

// publish puts a live typing or viewing event of the agent on the bus. The hub relays it
// from there to the other agents, and the chat widget shows it to the shopper.
func (c *conn) publish(kind string, ticketID, inboxID, customerID int64) {
	a := c.agent.Load()
	data, _ := json.Marshal(map[string]any{"ticket_id": ticketID, "agent_id": a.ID, "agent_name": a.Name})
	c.hub.bus.Publish(&crm.Event{
		Type: kind, TicketID: ticketID, CustomerID: customerID, InboxID: inboxID,
		Actor: crm.Actor{Kind: actorAgent, ID: a.ID}, Data: data, At: time.Now().UTC(),
	})
}

// reply sends f to this connection only, through the hub, which alone may touch the queue.
func (c *conn) reply(f *frame) {
	select {
	case c.hub.direct <- directFrame{c: c, f: f}:
	case <-c.hub.stopped:
	}
}

// writePump writes queued frames and pings until the hub closes the queue or a write
// fails. A write that takes longer than writeWait ends the connection.
func (c *conn) writePump() {
	ping := time.NewTicker(pingPeriod)
	defer func() {
		ping.Stop()
		c.ws.Close()
	}()
	for {
		select {
		case f, ok := <-c.send:
			if ok {
				var err error
				if ok, err = c.writeBurst(f); err != nil {
					return
				}
			}
			if !ok {
				c.ws.SetWriteDeadline(time.Now().Add(time.Second))
				c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, c.closeReason))
				return
			}
		case <-ping.C:
			c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

// writeBurst writes f and the frames queued behind it, up to 64, in one system call: a
// ticket.updated with its message.created, or a burst of events. It reports whether the
// queue is still open.
func (c *conn) writeBurst(f *frame) (open bool, err error) {
	c.cork.hold()
	defer func() {
		if e := c.cork.flush(); err == nil {
			err = e
		}
	}()
	for n := 0; ; n++ {
		if err := c.write(f); err != nil {
			return true, err
		}
		if n == 64 {
			return true, nil
		}
		var ok bool
		select {
		case f, ok = <-c.send:
			if !ok {
				return false, nil
			}
		default:
			return true, nil
		}
	}
}

func (c *conn) write(f *frame) error {
	if f.written == nil {
		c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		return c.ws.WriteMessage(websocket.TextMessage, f.data)
	}
	defer close(f.written)
	for _, data := range f.batch {
		c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
			return err
		}
	}
	return nil
}

// corkConn lets the writer hold back socket writes while it drains the frames already
// queued and then send them together: with many sockets, system calls are the cost.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

const maxCork = 64 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= maxCork {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *corkConn) hold() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// flush sends what was held back and stops holding.
func (c *corkConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

func (c *corkConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = nil // an idle socket keeps no buffer
	return err
}

// corkWriter hands the WebSocket upgrader a corkConn when it hijacks the connection.
type corkWriter struct {
	http.ResponseWriter
	cc *corkConn
}

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.cc = &corkConn{Conn: nc}
	return w.cc, brw, nil
}
