package chat

import (
	"sync"
	"time"

	"parley/crm"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Socket timings.
const (
	writeWait  = 10 * time.Second // a write that takes longer drops the connection
	pongWait   = 75 * time.Second // silence after which a connection counts as dead
	pingPeriod = 30 * time.Second
	helloWait  = 15 * time.Second
	closeWait  = 5 * time.Second
	maxQueue   = 64 // frames waiting for a slow connection before it is dropped
)

// hub is the index of connected widget sockets: by ticket, to deliver agent replies and
// typing, and by visitor, to know who is connected; and the count of sockets per IP
// address, to cap them. One mutex guards the maps.
type hub struct {
	mu        sync.RWMutex
	byTicket  map[int64]map[*conn]struct{}
	byVisitor map[string]map[*conn]struct{}
	byIP      map[string]int
}

func newHub() *hub {
	return &hub{byTicket: map[int64]map[*conn]struct{}{}, byVisitor: map[string]map[*conn]struct{}{},
		byIP: map[string]int{}}
}

// admitIP counts a new socket from ip and reports whether it fits under max (negative:
// no cap). An admitted socket calls leaveIP when it closes.
func (h *hub) admitIP(ip string, max int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if max >= 0 && h.byIP[ip] >= max {
		return false
	}
	h.byIP[ip]++
	return true
}

// leaveIP uncounts a closed socket of ip.
func (h *hub) leaveIP(ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byIP[ip]--; h.byIP[ip] <= 0 {
		delete(h.byIP, ip)
	}
}

func add[K comparable](m map[K]map[*conn]struct{}, k K, c *conn) {
	set := m[k]
	if set == nil {
		set = map[*conn]struct{}{}
		m[k] = set
	}
	set[c] = struct{}{}
}

func remove[K comparable](m map[K]map[*conn]struct{}, k K, c *conn) {
	if set := m[k]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// register indexes c under its visitor and ticket, unless the visitor already has max
// sockets (negative: no cap), which it reports.
func (h *hub) register(c *conn, visitorID string, ticketID int64, max int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if max >= 0 && len(h.byVisitor[visitorID]) >= max {
		return false
	}
	c.visitorID, c.ticketID = visitorID, ticketID
	add(h.byVisitor, visitorID, c)
	if ticketID != 0 {
		add(h.byTicket, ticketID, c)
	}
	return true
}

// unregister removes c from the index.
func (h *hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.visitorID == "" {
		return
	}
	remove(h.byVisitor, c.visitorID, c)
	if c.ticketID != 0 {
		remove(h.byTicket, c.ticketID, c)
	}
	c.visitorID, c.ticketID = "", 0
}

// moveVisitor points every connection of a visitor at its new ticket, so that replies
// on a conversation started in one tab reach the other tabs too.
func (h *hub) moveVisitor(visitorID string, ticketID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.byVisitor[visitorID] {
		if c.ticketID == ticketID {
			continue
		}
		if c.ticketID != 0 {
			remove(h.byTicket, c.ticketID, c)
		}
		c.ticketID = ticketID
		add(h.byTicket, ticketID, c)
	}
}

// ticketOf returns the ticket c is attached to.
func (h *hub) ticketOf(c *conn) int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return c.ticketID
}

// ticketConns returns the connections attached to a ticket.
func (h *hub) ticketConns(ticketID int64) []*conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	set := h.byTicket[ticketID]
	if len(set) == 0 {
		return nil
	}
	list := make([]*conn, 0, len(set))
	for c := range set {
		list = append(list, c)
	}
	return list
}

// connected reports whether a widget of the visitor is connected to this process.
func (h *hub) connected(visitorID string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byVisitor[visitorID]) > 0
}

// count returns the number of connected sockets.
func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, set := range h.byVisitor {
		n += len(set)
	}
	return n
}

// each calls fn for every connection, outside the lock.
func (h *hub) each(fn func(c *conn)) {
	h.mu.RLock()
	list := make([]*conn, 0, len(h.byVisitor))
	for _, set := range h.byVisitor {
		for c := range set {
			list = append(list, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range list {
		fn(c)
	}
}

// Queue item kinds.
const (
	itemText = iota
	itemPing
	itemClose
)

type item struct {
	kind int
	data []byte
}

// conn is one widget socket. Its reading goroutine is the HTTP handler's; a writing
// goroutine runs only while frames are queued, so an idle widget costs one goroutine.
// A connection whose queue overflows is dropped instead of slowing everyone down.
type conn struct {
	ws     *websocket.Conn
	ip     string
	origin string
	s      *settings

	// Owned by the reading goroutine.
	v         *crm.ChatVisitor
	token     string
	unsaved   bool // v is pending: stored with its first message
	notedPage string
	typing    *rate.Limiter
	pages     *rate.Limiter

	// Guarded by hub.mu.
	visitorID string
	ticketID  int64

	mu      sync.Mutex
	queue   []item
	held    bool // frames wait until the welcome is queued in front of them
	writing bool
	closed  bool
}

// push queues a text frame.
func (c *conn) push(b []byte) { c.enqueue(item{kind: itemText, data: b}, false) }

// ping queues a ping.
func (c *conn) ping() { c.enqueue(item{kind: itemPing}, false) }

// closeWith queues a close frame; the write loop closes the socket after it.
func (c *conn) closeWith(code int, reason string) {
	c.enqueue(item{kind: itemClose, data: websocket.FormatCloseMessage(code, reason)}, false)
}

func (c *conn) enqueue(it item, front bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= maxQueue {
		c.closed, c.queue = true, nil
		c.mu.Unlock()
		c.ws.Close() // the reader fails and unregisters the connection
		return
	}
	if front {
		c.queue = append([]item{it}, c.queue...)
	} else {
		c.queue = append(c.queue, it)
	}
	c.startLocked()
	c.mu.Unlock()
}

// release queues the welcome in front of whatever arrived while it was being built.
func (c *conn) release(welcome []byte) {
	c.enqueue(item{kind: itemText, data: welcome}, true)
	c.mu.Lock()
	c.held = false
	c.startLocked()
	c.mu.Unlock()
}

func (c *conn) startLocked() {
	if !c.held && !c.writing && len(c.queue) > 0 {
		c.writing = true
		go c.writeLoop()
	}
}

func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		if c.closed || len(c.queue) == 0 {
			c.writing = false
			if len(c.queue) == 0 {
				c.queue = nil // let an idle connection hold no buffer
			}
			c.mu.Unlock()
			return
		}
		it := c.queue[0]
		c.queue[0] = item{}
		c.queue = c.queue[1:]
		c.mu.Unlock()

		c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		var err error
		switch it.kind {
		case itemText:
			err = c.ws.WriteMessage(websocket.TextMessage, it.data)
		case itemPing:
			err = c.ws.WriteMessage(websocket.PingMessage, nil)
		case itemClose:
			err = c.ws.WriteMessage(websocket.CloseMessage, it.data)
			c.mu.Lock()
			c.closed, c.queue = true, nil
			c.mu.Unlock()
		}
		if err != nil {
			c.close()
		}
	}
}

// close drops the connection at once.
func (c *conn) close() {
	c.mu.Lock()
	c.closed, c.queue = true, nil
	c.mu.Unlock()
	c.ws.Close()
}
