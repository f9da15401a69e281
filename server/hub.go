package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
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
	busBuffer       = 4096
	customerTTL     = 30 * time.Second
	maxCustomers    = 10000
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
type hub struct {
	store hubStore
	bus   crm.Bus
	log   *slog.Logger

	register   chan *conn
	unregister chan *conn
	resumes    chan resumeRequest
	replayed   chan *replayBatch
	direct     chan directFrame
	presences  chan presenceRequest
	releases   chan *conn
	authReqs   chan chan []*conn // the credential checker asks for the open sockets
	authDrops  chan []authDrop   // and hands back those whose credentials ended
	recheck    chan struct{}     // buffered 1: check credentials now, not at the next tick
	authEvery  time.Duration
	stopped    chan struct{}
	running    atomic.Bool
	wg         sync.WaitGroup // replay goroutines and the credential checker

	// Owned by the Run goroutine.
	conns     map[*conn]struct{}
	byAgent   map[int64]map[*conn]struct{}
	viewing   map[int64]viewState
	agents    map[int64]*crm.Agent // the newest known version of each agent
	lastSeen  int64
	lagLogged time.Time

	mu       sync.Mutex // guards presence, which AgentsOnline reads from other goroutines
	presence map[int64]*agentPresence

	customers customerCache

	connections prometheus.Gauge
	sent        prometheus.Counter
	slowDrops   prometheus.Counter
	replays     prometheus.Counter
	lags        prometheus.Counter
}

type resumeRequest struct {
	c     *conn
	after int64
}

// replayBatch is one page of stored events read for a resuming connection. upto is the id
// of the last event read, shown or not; final ends the replay.
type replayBatch struct {
	c      *conn
	frames []*frame
	upto   int64
	final  bool
	err    error
	f      *frame
}

type directFrame struct {
	c *conn
	f *frame
}

// authDrop is a socket to close because the session or token that opened it ended.
type authDrop struct {
	c      *conn
	reason string
}

type presenceRequest struct {
	c      *conn
	status string
}

type agentPresence struct {
	agent  *crm.Agent
	status string
}

type viewState struct {
	inboxID int64
	f       *frame
}

func newHub(store hubStore, bus crm.Bus, log *slog.Logger, recheck time.Duration) *hub {
	if recheck <= 0 {
		recheck = authRecheck
	}
	return &hub{
		store:      store,
		bus:        bus,
		log:        log,
		register:   make(chan *conn),
		unregister: make(chan *conn),
		resumes:    make(chan resumeRequest),
		replayed:   make(chan *replayBatch),
		direct:     make(chan directFrame, 64),
		presences:  make(chan presenceRequest),
		releases:   make(chan *conn),
		authReqs:   make(chan chan []*conn),
		authDrops:  make(chan []authDrop),
		recheck:    make(chan struct{}, 1),
		authEvery:  recheck,
		stopped:    make(chan struct{}),
		conns:      map[*conn]struct{}{},
		byAgent:    map[int64]map[*conn]struct{}{},
		viewing:    map[int64]viewState{},
		agents:     map[int64]*crm.Agent{},
		presence:   map[int64]*agentPresence{},
		customers:  customerCache{m: map[int64]customerEntry{}},
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

// AgentsOnline returns the ids of the agents who are connected, not away, and may see
// the inbox, in ascending order. The chat widget uses it for its offline mode and the
// phone IVR to decide whether to ring agents.
func (s *Server) AgentsOnline(inboxID int64) []int64 {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []int64
	for id, p := range h.presence {
		if p.status == presenceOnline && p.agent.CanSeeInbox(inboxID) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (h *hub) run(ctx context.Context) {
	ctx = crm.AsSystem(ctx) // the hub reads for every socket and filters per connection
	sub := h.bus.Subscribe(busBuffer)
	defer sub.Close()
	h.running.Store(true)
	h.wg.Add(1)
	go h.checkAuth(ctx)
	defer func() {
		for c := range h.conns {
			h.drop(c, closeGoingAway, "server shutting down")
		}
		close(h.stopped)
		h.wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			h.handle(ctx, e)
			if sub.Lagged() {
				h.catchUp(ctx)
			}
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

// handle routes one event from the bus: stored events to the agents who may see them,
// live typing and viewing to the agents of the ticket's inbox.
func (h *hub) handle(ctx context.Context, e *crm.Event) {
	if e.ID == 0 {
		switch e.Type {
		case crm.EventSessionEnded:
			h.checkAuthNow()
		case crm.EventTokenRevoked:
			h.closeToken(e)
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
	case crm.EventTicketCreated, crm.EventTicketUpdated:
		h.customers.add(e.CustomerID, e.InboxID)
	case crm.EventCustomerMerged:
		h.customers.forget(e.CustomerID)
	}
	if len(h.conns) == 0 {
		return
	}
	f, err := encodeEvent(e)
	if err != nil {
		h.log.Error("encode event", "id", e.ID, "type", e.Type, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	acc := h.access(e)
	for c := range h.conns {
		if acc.allows(ctx, c.agent.Load()) {
			h.deliver(c, f)
		}
	}
}

// catchUp re-reads from the store the events the bus dropped because the hub fell behind.
func (h *hub) catchUp(ctx context.Context) {
	h.lags.Inc()
	if h.lastSeen == 0 {
		h.log.Warn("hub lagged before its first stored event; sockets should resume")
		return
	}
	if time.Since(h.lagLogged) > 10*time.Second { // an overload lags often; say it once
		h.lagLogged = time.Now()
		h.log.Warn("hub lagged behind the bus; re-reading events", "after", h.lastSeen)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		events, err := h.store.Events(rctx, h.lastSeen, replayPage)
		cancel()
		if err != nil {
			h.log.Error("re-read events after lag", "after", h.lastSeen, "err", err)
			return
		}
		for _, e := range events {
			h.handle(ctx, e)
		}
		if len(events) < replayPage {
			return
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
	h.mu.Lock()
	if p := h.presence[a.ID]; p != nil {
		p.agent = &a
	}
	h.mu.Unlock()
	for c := range h.byAgent[a.ID] {
		if a.Disabled {
			h.drop(c, closePolicy, "account disabled")
		} else {
			c.agent.Store(&a)
		}
	}
	h.checkAuthNow()
}

// checkAuthNow has the credential checker run now: a session ended or an agent changed.
// A check already asked for covers this one too.
func (h *hub) checkAuthNow() {
	select {
	case h.recheck <- struct{}{}:
	default:
	}
}

// closeToken closes the sockets opened with an API token that was revoked through the
// API, here or on another node.
func (h *hub) closeToken(e *crm.Event) {
	var d struct {
		AgentID int64 `json:"agent_id"`
		TokenID int64 `json:"token_id"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil || d.TokenID == 0 {
		h.log.Warn("token.revoked event without a token", "err", err)
		return
	}
	for c := range h.byAgent[d.AgentID] {
		if c.tokenID == d.TokenID {
			h.drop(c, closePolicy, closeRevoked)
		}
	}
}

// Reasons sent with close code 1008 when the credentials of a socket end.
const (
	closeRevoked   = "token revoked"
	closeExpired   = "token expired"
	closeSignedOut = "signed out"
)

// checkAuth runs beside the hub until ctx is done: every authEvery, and at once when the
// hub asks, it gets the open sockets from the hub, asks the store once about each
// session and each agent's tokens, and hands back the sockets to close. It catches what
// no bus event announced: a token revoked by the CLI, a token or session that expired.
// The hub never waits on the store for this.
func (h *hub) checkAuth(ctx context.Context) {
	defer h.wg.Done()
	tick := time.NewTicker(h.authEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.stopped:
			return
		case <-tick.C:
		case <-h.recheck:
		}
		reply := make(chan []*conn, 1)
		select {
		case h.authReqs <- reply:
		case <-h.stopped:
			return
		}
		drops := h.endedAuth(ctx, <-reply)
		if len(drops) == 0 {
			continue
		}
		select {
		case h.authDrops <- drops:
		case <-h.stopped:
			return
		}
	}
}

// endedAuth returns the sockets whose session ended or whose token was revoked or
// expired. A store error keeps the socket: the next round asks again.
func (h *hub) endedAuth(ctx context.Context, conns []*conn) []authDrop {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	sessions := map[string]string{}               // session -> close reason, "" while live
	tokens := map[int64]map[int64]*crm.APIToken{} // agent -> its tokens by id; nil after an error
	now := time.Now()
	var drops []authDrop
	var failed int
	var firstErr error
	fail := func(err error) {
		if failed++; firstErr == nil {
			firstErr = err
		}
	}
	for _, c := range conns {
		reason := ""
		switch {
		case c.session != "":
			r, ok := sessions[c.session]
			if !ok {
				_, _, err := h.store.SessionAgent(ctx, c.session)
				if crm.ErrorCode(err) == crm.EUNAUTHORIZED {
					r = closeSignedOut
				} else if err != nil {
					fail(err)
				}
				sessions[c.session] = r
			}
			reason = r
		case c.tokenID != 0:
			byID, ok := tokens[c.agentID]
			if !ok {
				list, err := h.store.Tokens(ctx, c.agentID)
				if err != nil {
					fail(err)
				} else {
					byID = make(map[int64]*crm.APIToken, len(list))
					for _, t := range list {
						byID[t.ID] = t
					}
				}
				tokens[c.agentID] = byID
			}
			if byID == nil {
				continue
			}
			if t := byID[c.tokenID]; t == nil {
				reason = closeRevoked
			} else if t.Expired(now) {
				reason = closeExpired
			}
		}
		if reason != "" {
			drops = append(drops, authDrop{c: c, reason: reason})
		}
	}
	if failed > 0 { // a store outage would otherwise log once per socket
		h.log.Warn("check the credentials of open sockets", "failed", failed, "err", firstErr)
	}
	return drops
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
		h.mu.Lock()
		h.presence[a.ID] = &agentPresence{agent: a, status: presenceOnline}
		h.mu.Unlock()
		h.broadcastPresence(a.ID, c)
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

// setPresence records an agent's status and tells every connection about a change.
func (h *hub) setPresence(agentID int64, status string) {
	h.mu.Lock()
	p := h.presence[agentID]
	if p == nil || p.status == status {
		h.mu.Unlock()
		return
	}
	if status == presenceOffline {
		delete(h.presence, agentID)
	} else {
		p.status = status
	}
	h.mu.Unlock()
	h.broadcastPresenceOf(p.agent, status, nil)
}

func (h *hub) broadcastPresence(agentID int64, except *conn) {
	h.mu.Lock()
	p := h.presence[agentID]
	h.mu.Unlock()
	if p != nil {
		h.broadcastPresenceOf(p.agent, p.status, except)
	}
}

func (h *hub) broadcastPresenceOf(a *crm.Agent, status string, except *conn) {
	b, _ := json.Marshal(map[string]any{"type": crm.EventPresence, "data": presenceItem{a.ID, a.Name, status}})
	f := &frame{data: b}
	for c := range h.conns {
		if c != except {
			h.push(c, f)
		}
	}
}

type presenceItem struct {
	AgentID int64  `json:"agent_id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
}

// presenceList is the frame a new connection gets first: every connected agent's status.
func (h *hub) presenceList() *frame {
	h.mu.Lock()
	list := make([]presenceItem, 0, len(h.presence))
	for _, p := range h.presence {
		list = append(list, presenceItem{p.agent.ID, p.agent.Name, p.status})
	}
	h.mu.Unlock()
	slices.SortFunc(list, func(a, b presenceItem) int { return int(a.AgentID - b.AgentID) })
	b, _ := json.Marshal(map[string]any{"type": crm.EventPresence, "data": map[string]any{"agents": list}})
	return &frame{data: b}
}

// stopHold ends the hold and lets its timer go: an idle socket should keep nothing extra.
func (c *conn) stopHold() {
	c.holding = false
	if c.holdTimer != nil {
		c.holdTimer.Stop()
		c.holdTimer = nil
	}
}

// release ends the hold of a new connection that did not resume: the events held back
// go out in order and the connection is live.
func (h *hub) release(c *conn) {
	if c.closed || !c.holding {
		return
	}
	c.stopHold()
	pending := c.pending
	c.pending = nil
	for _, f := range pending {
		if !h.push(c, f) {
			return
		}
		if !c.covered {
			c.covered, c.coveredFrom = true, f.id-1
		}
		c.lastID = f.id
	}
}

// startReplay begins a resume. Every visible event from after up to the point where the
// connection's live delivery began is read from the store; live events that arrive
// meanwhile are held back and sent after the replay, skipping those it already sent.
func (h *hub) startReplay(r resumeRequest) {
	c := r.c
	if _, ok := h.conns[c]; !ok {
		return
	}
	if c.replaying {
		h.push(c, errorFrame(crm.ECONFLICT, "a resume is already running"))
		return
	}
	// The events held since the connection opened stay pending behind the replay.
	c.stopHold()
	var upTo int64 // 0: no live event yet, so replay up to the newest
	if c.covered {
		if r.after >= c.coveredFrom {
			h.push(c, resumedFrame(r.after, 0))
			return
		}
		upTo = c.coveredFrom
	}
	c.replaying, c.replayCursor, c.replayAfter, c.replayCount = true, r.after, r.after, 0
	h.wg.Add(1)
	go h.replay(c, r.after, upTo)
}

// replay reads stored events after after (up to upTo when it is not 0) page by page,
// filters them for the connection's agent and hands each page to the hub, waiting until
// the page is written before reading the next one.
func (h *hub) replay(c *conn, after, upTo int64) {
	defer h.wg.Done()
	cursor := after
	for {
		b := &replayBatch{c: c, upto: cursor}
		events, err := h.store.Events(c.ctx, cursor, replayPage)
		if err != nil {
			b.err, b.final = err, true
		}
		a := c.agent.Load()
		for _, e := range events {
			if upTo != 0 && e.ID > upTo {
				b.final = true
				break
			}
			b.upto = e.ID
			if e.Type == crm.EventAgentUpdated || e.Type == crm.EventInboxUpdated {
				continue
			}
			if !h.access(e).allows(c.ctx, a) {
				continue
			}
			f, err := encodeEvent(e)
			if err != nil {
				h.log.Error("encode event", "id", e.ID, "type", e.Type, "err", err)
				continue
			}
			b.frames = append(b.frames, f)
		}
		if len(events) < replayPage {
			b.final = true
		}
		b.f = &frame{written: make(chan struct{})}
		select {
		case h.replayed <- b:
		case <-c.ctx.Done():
			return
		case <-h.stopped:
			return
		}
		if b.final {
			return
		}
		select {
		case <-b.f.written:
		case <-c.ctx.Done():
			return
		}
		cursor = b.upto
	}
}

// applyReplay queues one replayed page and, after the last one, the live events held
// back meanwhile that the replay did not already cover.
func (h *hub) applyReplay(b *replayBatch) {
	c := b.c
	if _, ok := h.conns[c]; !ok || !c.replaying {
		close(b.f.written)
		return
	}
	for _, f := range b.frames {
		if f.id > c.replayCursor {
			b.f.batch = append(b.f.batch, f.data)
			c.replayCursor = f.id
		}
	}
	c.replayCursor = max(c.replayCursor, b.upto)
	c.replayCount += len(b.f.batch)
	h.replays.Add(float64(len(b.f.batch)))
	if len(b.f.batch) == 0 {
		close(b.f.written)
	} else if !h.push(c, b.f) {
		close(b.f.written)
		return
	}
	if !b.final {
		return
	}
	if b.err != nil {
		h.log.Error("replay events", "agent", c.agentID, "after", c.replayAfter, "err", b.err)
		if !h.push(c, errorFrame(crm.EINTERNAL, "could not replay missed events; reload the page")) {
			return
		}
	}
	pending := c.pending
	c.replaying, c.pending = false, nil
	if !c.covered || c.replayAfter < c.coveredFrom {
		c.covered, c.coveredFrom = true, c.replayAfter
	}
	c.lastID = max(c.lastID, c.replayCursor)
	if !h.push(c, resumedFrame(c.replayAfter, c.replayCount)) {
		return
	}
	for _, f := range pending {
		if f.id > c.lastID {
			c.lastID = f.id
			if !h.push(c, f) {
				return
			}
		}
	}
}

// eventAccess decides who may see one stored event: agents of its inbox for ticket and
// message events; for customer and order events, agents of an inbox where the customer
// has a ticket. Managers and admins see everything; an event with neither inbox nor
// customer goes to them only.
type eventAccess struct {
	h       *hub
	e       *crm.Event
	loaded  bool
	inboxes []int64
}

func (h *hub) access(e *crm.Event) *eventAccess { return &eventAccess{h: h, e: e} }

func (x *eventAccess) allows(ctx context.Context, a *crm.Agent) bool {
	switch {
	case a == nil || a.Disabled:
		return false
	case a.SeesAllInboxes():
		return true
	case x.e.InboxID != 0:
		return a.CanSeeInbox(x.e.InboxID)
	case x.e.CustomerID == 0:
		return false
	}
	if !x.loaded {
		x.loaded = true
		ids, err := x.h.customers.inboxes(ctx, x.h.store, x.e.CustomerID)
		if err != nil {
			x.h.log.Error("find inboxes of customer", "customer", x.e.CustomerID, "err", err)
		}
		x.inboxes = ids
	}
	for _, id := range x.inboxes {
		if a.CanSeeInbox(id) {
			return true
		}
	}
	return false
}

// customerCache remembers briefly in which inboxes a customer has tickets, so that a
// customer event costs one store read however many agents are connected.
type customerCache struct {
	mu sync.Mutex
	m  map[int64]customerEntry
}

type customerEntry struct {
	inboxes []int64
	at      time.Time
}

func (cc *customerCache) inboxes(ctx context.Context, store hubStore, id int64) ([]int64, error) {
	cc.mu.Lock()
	e, ok := cc.m[id]
	cc.mu.Unlock()
	if ok && time.Since(e.at) < customerTTL {
		return e.inboxes, nil
	}
	ids, err := store.CustomerInboxes(ctx, id)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	if len(cc.m) >= maxCustomers {
		clear(cc.m)
	}
	cc.m[id] = customerEntry{inboxes: ids, at: time.Now()}
	cc.mu.Unlock()
	return ids, nil
}

// add notes a ticket of the customer in the inbox, if the customer is cached.
func (cc *customerCache) add(customerID, inboxID int64) {
	if customerID == 0 || inboxID == 0 {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if e, ok := cc.m[customerID]; ok && !slices.Contains(e.inboxes, inboxID) {
		e.inboxes = append(slices.Clip(e.inboxes), inboxID)
		cc.m[customerID] = e
	}
}

func (cc *customerCache) forget(customerID int64) {
	cc.mu.Lock()
	delete(cc.m, customerID)
	cc.mu.Unlock()
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

// hubStore is what the hub reads: stored events to replay, the inboxes a customer
// event concerns, and whether the credentials of open sockets still hold.
type hubStore interface {
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	CustomerInboxes(ctx context.Context, customerID int64) ([]int64, error)
	Ticket(ctx context.Context, id int64) (*crm.Ticket, error)
	SessionAgent(ctx context.Context, token string) (*crm.Agent, string, error)
	Tokens(ctx context.Context, agentID int64) ([]*crm.APIToken, error)
}
