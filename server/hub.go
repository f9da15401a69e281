package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"parley/crm"

	"github.com/prometheus/client_golang/prometheus"
)

// Hub limits. A send queue holds pointers to frames shared by every recipient, so a deep
// queue costs little; a connection whose queue still fills up is not reading and is closed.
const (
	sendQueue       = 128
	maxPending      = 4096 // live events held back per connection while it replays
	replayPage      = 1000
	roomWait        = 2 * time.Second // how long a catch-up page waits for a slow reader (waitForRoom)
	busBuffer       = 4096
	storeTimeout    = 5 * time.Second
	holdNew         = time.Second // how long a new socket waits for a resume frame
	authRecheck     = 3 * time.Second
	presenceAway    = "away"
	presenceOnline  = "online"
	presenceOffline = "offline"
	actorAgent      = "agent"
	actorCustomer   = "customer"
)

// frame is one message to a socket, encoded once and shared by every connection it goes
// to. A replay page travels as one frame with a batch, so replaying never fills a queue.
type frame struct {
	id      int64 // the stored event's id; 0 for frames that are not stored
	data    []byte
	batch   [][]byte
	written chan struct{} // closed once a batch is written or given up
}

// hub owns the index of agent connections. Only its Run goroutine reads and changes the
// index and the hub-owned fields of conn, and only it closes a send channel, so none of
// that needs a lock. Everyone else talks to it through channels.
//
// The hub never waits on the store: one slow read in its goroutine would hold up every
// agent's socket. What needs the store runs beside it and reports back over a channel:
// replays of resuming sockets and the catch-up after a lag (replay.go), the credential
// check (auth_check.go). Customer and order events carry the inboxes that may see them
// (access.go), and presence is a snapshot the hub publishes for other goroutines
// (presence.go).
type hub struct {
	store hubStore
	bus   crm.Bus
	log   *slog.Logger
	clock *handleClock // agents' handle time, added by the read pumps

	register   chan *conn
	unregister chan *conn
	resumes    chan resumeRequest
	replayed   chan *replayBatch
	caughtUp   chan *catchUpPage
	direct     chan directFrame
	presences  chan presenceRequest
	releases   chan *conn
	authReqs   chan chan []*conn // the credential checker asks for the open sockets
	authDrops  chan []authDrop   // and hands back those whose credentials ended
	recheck    chan struct{}     // buffered 1: check credentials now, not at the next tick
	authEvery  time.Duration
	// presenceTTL and presenceBeat: see presence.go.
	presenceTTL, presenceBeat time.Duration
	stopped                   chan struct{}
	running                   atomic.Bool
	wg                        sync.WaitGroup // replay and catch-up goroutines and the credential checker

	// Owned by the Run goroutine.
	conns     map[*conn]struct{}
	byAgent   map[int64]map[*conn]struct{}
	viewing   map[int64]viewState
	agents    map[int64]*crm.Agent     // the newest known version of each agent
	presence  map[int64]*agentPresence // this node's agents
	remote    map[string]*nodePresence // other nodes' agents, by node
	lastSeen  int64
	lagLogged time.Time
	catching  bool         // a catch-up is reading the log after a lag
	held      []*crm.Event // stored events from the bus held back until it is done
	heldLost  bool         // some were dropped: the next round of catch-up reads them

	// online is the snapshot of presence that AgentsOnline reads from other goroutines.
	online atomic.Pointer[[]agentPresence]

	connections prometheus.Gauge
	sent        prometheus.Counter
	slowDrops   prometheus.Counter
	replays     prometheus.Counter
	lags        prometheus.Counter
}

type directFrame struct {
	c *conn
	f *frame
}

type viewState struct {
	inboxID int64
	f       *frame
}

func newHub(store hubStore, bus crm.Bus, log *slog.Logger, recheck time.Duration) *hub {
	if recheck <= 0 {
		recheck = authRecheck
	}
	h := &hub{
		store:        store,
		bus:          bus,
		log:          log,
		clock:        &handleClock{store: store, log: log},
		register:     make(chan *conn),
		unregister:   make(chan *conn),
		resumes:      make(chan resumeRequest),
		replayed:     make(chan *replayBatch),
		caughtUp:     make(chan *catchUpPage),
		direct:       make(chan directFrame, 64),
		presences:    make(chan presenceRequest),
		releases:     make(chan *conn),
		authReqs:     make(chan chan []*conn),
		authDrops:    make(chan []authDrop),
		recheck:      make(chan struct{}, 1),
		authEvery:    recheck,
		presenceTTL:  presenceTTL,
		presenceBeat: presenceBeat,
		stopped:      make(chan struct{}),
		conns:        map[*conn]struct{}{},
		byAgent:      map[int64]map[*conn]struct{}{},
		viewing:      map[int64]viewState{},
		agents:       map[int64]*crm.Agent{},
		presence:     map[int64]*agentPresence{},
		remote:       map[string]*nodePresence{},
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_ws_connections", Help: "Open agent WebSocket connections.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_frames_sent_total", Help: "Frames queued to agent sockets, live and replayed.",
		}),
		slowDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_slow_drops_total", Help: "Agent sockets closed because their send queue was full.",
		}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_replayed_events_total", Help: "Stored events replayed to resuming sockets.",
		}),
		lags: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_bus_lag_total", Help: "Times the hub fell behind the bus and re-read events from the store.",
		}),
	}
	h.online.Store(&[]agentPresence{})
	return h
}

func (h *hub) collectors() []prometheus.Collector {
	return []prometheus.Collector{h.connections, h.sent, h.slowDrops, h.replays, h.lags}
}

// Run runs the WebSocket hub until ctx is done, then closes every agent socket with
// "going away". Until Run is called GET /api/v1/ws refuses to upgrade. Call it once.
func (s *Server) Run(ctx context.Context) error {
	s.hub.run(ctx)
	return nil
}

func (h *hub) run(ctx context.Context) {
	ctx = crm.AsSystem(ctx) // the hub reads for every socket and filters per connection
	sub := h.bus.Subscribe(busBuffer)
	defer sub.Close()
	h.running.Store(true)
	h.wg.Add(2)
	go h.checkAuth(ctx)
	go func(ctx context.Context) {
		defer h.wg.Done()
		h.clock.run(ctx)
	}(ctx)
	defer func() {
		for c := range h.conns {
			h.drop(c, closeGoingAway, "server shutting down")
		}
		close(h.stopped)
		h.wg.Wait()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // before the wait above: a catch-up stops reading
	beat := time.NewTicker(h.presenceBeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-beat.C:
			h.announceAll()
			h.agePresence(now)
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			h.receive(e)
			if sub.Lagged() {
				h.startCatchUp(ctx)
			}
		case p := <-h.caughtUp:
			h.applyCatchUp(ctx, p)
		case c := <-h.register:
			h.add(c)
		case c := <-h.unregister:
			h.drop(c, closeNormal, "")
		case r := <-h.resumes:
			h.startReplay(r)
		case b := <-h.replayed:
			h.applyReplay(b)
		case d := <-h.direct:
			if _, ok := h.conns[d.c]; ok {
				h.push(d.c, d.f)
			}
		case p := <-h.presences:
			h.setPresence(p.c.agentID, p.status)
		case c := <-h.releases:
			h.release(c)
		case reply := <-h.authReqs:
			open := make([]*conn, 0, len(h.conns))
			for c := range h.conns {
				open = append(open, c)
			}
			reply <- open // buffered: the hub never waits here
		case drops := <-h.authDrops:
			for _, d := range drops {
				h.drop(d.c, closePolicy, d.reason)
			}
		}
	}
}

// receive takes one event from the bus. While a catch-up reads the log, stored events
// wait for it, so that each socket still gets them after the events before them; live
// ones go on at once.
func (h *hub) receive(e *crm.Event) {
	if e.ID != 0 && h.catching {
		h.hold(e)
		return
	}
	h.handle(e)
}

// handle routes one event: stored events to the agents who may see them, live typing
// and viewing to the agents of the ticket's inbox.
func (h *hub) handle(e *crm.Event) {
	if e.ID == 0 {
		switch e.Type {
		case crm.EventSessionEnded:
			h.checkAuthNow()
		case crm.EventTokenRevoked:
			h.closeToken(e)
		case crm.EventPresence:
			if e.Node != "" { // this node's own were applied when they were made
				h.remotePresence(e)
			}
		case crm.EventNotification:
			h.notify(e)
		default:
			h.handleLive(e)
		}
		return
	}
	if e.ID <= h.lastSeen {
		return // already handled while catching up after a lag
	}
	h.lastSeen = e.ID
	switch e.Type {
	case crm.EventAgentUpdated:
		h.refreshAgent(e)
		return
	case crm.EventInboxUpdated:
		return
	}
	if len(h.conns) == 0 {
		return
	}
	f, err := encodeEvent(e)
	if err != nil {
		h.log.Error("encode event", "id", e.ID, "type", e.Type, "err", err)
		return
	}
	for c := range h.conns {
		if eventAllowed(c.agent.Load(), e) {
			h.deliver(c, f)
		}
	}
}

// handleLive relays a typing or viewing event of an agent or a customer to the other
// agents who may see the ticket's inbox.
func (h *hub) handleLive(e *crm.Event) {
	if (e.Type != crm.EventTyping && e.Type != crm.EventViewing && e.Type != crm.EventSLAWarning) || e.InboxID == 0 {
		return
	}
	var data any = e.Data
	switch e.Actor.Kind {
	case actorAgent, "system": // system: an SLA warning
	case actorCustomer:
		// The widget's own payload is not the console's business: the console gets one shape.
		data = map[string]int64{"ticket_id": e.TicketID, "customer_id": e.Actor.ID}
	default:
		return
	}
	b, err := json.Marshal(map[string]any{"type": e.Type, "data": data})
	if err != nil {
		h.log.Warn("encode live event", "type", e.Type, "err", err)
		return
	}
	f := &frame{data: b}
	if e.Type == crm.EventViewing && e.Actor.Kind == actorAgent {
		if e.TicketID == 0 {
			delete(h.viewing, e.Actor.ID)
		} else {
			h.viewing[e.Actor.ID] = viewState{inboxID: e.InboxID, f: f}
		}
	}
	for c := range h.conns {
		if e.Actor.Kind == actorAgent && c.agentID == e.Actor.ID {
			continue
		}
		if c.agent.Load().CanSeeInbox(e.InboxID) {
			h.push(c, f)
		}
	}
}

// refreshAgent swaps in the changed agent on its connections, so that the next event is
// checked against its current role and inboxes; a disabled agent is disconnected, and so
// is a browser whose session a new password ended (by the credential checker).
func (h *hub) refreshAgent(e *crm.Event) {
	var a crm.Agent
	if err := json.Unmarshal(e.Data, &a); err != nil || a.ID == 0 {
		h.log.Warn("agent.updated event without an agent", "id", e.ID, "err", err)
		return
	}
	h.agents[a.ID] = &a
	h.refreshAvailability(&a)
	if p := h.presence[a.ID]; p != nil {
		p.agent = &a
		h.publishPresence()
	}
	for c := range h.byAgent[a.ID] {
		if a.Disabled {
			h.drop(c, closePolicy, "account disabled")
		} else {
			c.agent.Store(&a)
		}
	}
	h.checkAuthNow()
}

// deliver hands a stored event to a connection: held back while it replays, skipped when
// it already had it, else queued.
func (h *hub) deliver(c *conn, f *frame) {
	if c.replaying || c.holding {
		if len(c.pending) >= maxPending {
			h.slow(c)
			return
		}
		c.pending = append(c.pending, f)
		return
	}
	if f.id <= c.lastID {
		return
	}
	if c.covered && len(c.send) == cap(c.send) {
		// A burst filled the queue of a socket that reads: a group commit of many
		// messages, or the log read after a NATS outage. Rather than close it, let it
		// catch up from the log in pages of one frame each, as a resume does; what
		// arrives meanwhile waits behind, and a socket that does not read is still
		// closed, when that backlog outgrows maxPending or its page cannot be queued.
		c.replaying, c.catchingUp = true, true
		c.replayCursor, c.replayAfter, c.replayCount = c.lastID, c.lastID, 0
		c.pending = append(c.pending, f)
		h.wg.Add(1)
		go h.replay(c, c.lastID, 0)
		return
	}
	if !c.covered {
		c.covered, c.coveredFrom = true, f.id-1
	}
	c.lastID = f.id
	h.push(c, f)
}

// push queues f without ever blocking: a connection with a full queue is closed.
func (h *hub) push(c *conn, f *frame) bool {
	if c.closed {
		return false
	}
	select {
	case c.send <- f:
		h.sent.Inc()
		return true
	default:
		h.slow(c)
		return false
	}
}

func (h *hub) slow(c *conn) {
	h.slowDrops.Inc()
	h.log.Warn("closing slow agent socket", "agent", c.agentID, "queued", len(c.send))
	h.drop(c, closePolicy, "too slow")
	// Its writer may be stuck on a full TCP buffer; closing the socket frees it now.
	if ws := c.live.Load(); ws != nil {
		ws.Close()
	}
}

// add indexes a new connection. The agent was read when the request was authenticated;
// a change the hub saw since then replaces it.
func (h *hub) add(c *conn) {
	if a := h.agents[c.agentID]; a != nil && !a.UpdatedAt.Before(c.agent.Load().UpdatedAt) {
		c.agent.Store(a)
	} else {
		h.agents[c.agentID] = c.agent.Load() // the agent's other sockets share it
	}
	h.conns[c] = struct{}{}
	// A console sends resume as soon as the socket opens. Holding stored events until
	// then keeps the stream in id order: replayed events first, then live ones.
	c.holding = true
	c.holdTimer = time.AfterFunc(holdNew, func() {
		select {
		case h.releases <- c:
		case <-h.stopped:
		}
	})
	m := h.byAgent[c.agentID]
	if m == nil {
		m = map[*conn]struct{}{}
		h.byAgent[c.agentID] = m
	}
	m[c] = struct{}{}
	h.connections.Inc()
	if len(m) == 1 {
		a := c.agent.Load()
		_, before := h.effective(a.ID)
		h.presence[a.ID] = &agentPresence{agent: a, status: presenceOnline}
		h.announce(false, presenceEntry{Agent: a, Status: presenceOnline})
		h.presenceChanged(a, before, c)
	}
	a := c.agent.Load()
	if a.Disabled {
		h.drop(c, closePolicy, "account disabled")
		return
	}
	if !h.push(c, h.presenceList()) {
		return
	}
	for id, v := range h.viewing {
		if id != a.ID && a.CanSeeInbox(v.inboxID) && !h.push(c, v.f) {
			return
		}
	}
}

// drop removes c from the index and closes its send queue with the close code its writer
// sends. The agent's last connection going makes it offline.
func (h *hub) drop(c *conn, code int, reason string) {
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	c.closed = true
	c.stopHold()
	m := h.byAgent[c.agentID]
	delete(m, c)
	c.closeCode, c.closeReason = code, reason
	close(c.send)
	c.pending = nil
	h.connections.Dec()
	if len(m) == 0 {
		delete(h.byAgent, c.agentID)
		delete(h.viewing, c.agentID)
		h.setPresence(c.agentID, presenceOffline)
	}
}

// wireEvent is a stored event as sockets get it.
type wireEvent struct {
	ID   int64           `json:"id"`
	Type string          `json:"type"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data"`
}

func encodeEvent(e *crm.Event) (*frame, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b, err := json.Marshal(wireEvent{ID: e.ID, Type: e.Type, At: e.At.UTC(), Data: data})
	if err != nil {
		return nil, err
	}
	return &frame{id: e.ID, data: b}, nil
}

func errorFrame(code, message string) *frame {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"code": code, "message": message}})
	return &frame{data: b}
}

func resumedFrame(after int64, replayed int) *frame {
	b, _ := json.Marshal(map[string]any{"type": "resumed", "data": map[string]int64{"after": after, "replayed": int64(replayed)}})
	return &frame{data: b}
}

// hubStore is what the hub's helpers read, beside the hub and never in it: stored events
// to replay and to catch up on, the ticket a socket types on, and whether the
// credentials of open sockets still hold.
type hubStore interface {
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	Ticket(ctx context.Context, id int64) (*crm.Ticket, error)
	SessionAgent(ctx context.Context, token string) (*crm.Agent, string, error)
	Tokens(ctx context.Context, agentID int64) ([]*crm.APIToken, error)
	AddHandleTime(ctx context.Context, h []crm.HandleTime) error
}
