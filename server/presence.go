package server

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"parley/crm"
)

type presenceRequest struct {
	c      *conn
	status string
}

type agentPresence struct {
	agent  *crm.Agent
	status string
}

// Presence across nodes. Each hub announces on the bus the changes of its own agents'
// presence, and every presenceBeat the whole list of them. In a cluster the bus carries
// them to the other nodes (crm.Event.Node says whose they are), whose hubs keep them
// apart from their own: an agent is online when it is online on any node. A node not
// heard from for presenceTTL is gone, and its agents with it: within 25 s of its death,
// as the age is checked every beat (Options.PresenceTTL sets both, for tests). On one
// node the hub hears only its own announcements, which it skips.
const (
	presenceBeat = 5 * time.Second
	presenceTTL  = 20 * time.Second
)

// nodePresence is what the hub knows of another node's agents.
type nodePresence struct {
	heard  time.Time
	agents map[int64]*agentPresence
}

// presenceNews is the data of a presence event between nodes: some agents' statuses,
// or, when full is set, every agent the node has.
type presenceNews struct {
	Full   bool            `json:"full,omitempty"`
	Agents []presenceEntry `json:"agents"`
}

type presenceEntry struct {
	Agent  *crm.Agent `json:"agent"`
	Status string     `json:"status"`
}

// AgentsOnline returns the ids of the agents who are connected, to this node or another,
// not away, and may see the inbox, in ascending order. The chat widget uses it for its
// offline mode and the phone IVR to decide whether to ring agents. It reads the snapshot
// the hub publishes, so it neither waits for the hub nor holds it up.
func (s *Server) AgentsOnline(inboxID int64) []int64 {
	var ids []int64
	for _, p := range *s.hub.online.Load() {
		if p.status == presenceOnline && p.agent.CanSeeInbox(inboxID) {
			ids = append(ids, p.agent.ID)
		}
	}
	return ids
}

// effective returns an agent's status over every node and the newest known version of
// the agent: online on any node wins over away, away over offline.
func (h *hub) effective(agentID int64) (*crm.Agent, string) {
	var a *crm.Agent
	status := presenceOffline
	if p := h.presence[agentID]; p != nil {
		a, status = p.agent, p.status
	}
	for _, n := range h.remote {
		if p := n.agents[agentID]; p != nil {
			if a == nil {
				a = p.agent
			}
			if status != presenceOnline {
				status = p.status
			}
		}
	}
	return a, status
}

// publishPresence replaces the snapshot of presence that other goroutines read: a new
// slice in agent id order, never changed once stored. The hub calls it after every
// change of h.presence or h.remote, which only the hub touches.
func (h *hub) publishPresence() {
	ids := map[int64]bool{}
	for id := range h.presence {
		ids[id] = true
	}
	for _, n := range h.remote {
		for id := range n.agents {
			ids[id] = true
		}
	}
	list := make([]agentPresence, 0, len(ids))
	for id := range ids {
		a, status := h.effective(id)
		list = append(list, agentPresence{agent: a, status: status})
	}
	slices.SortFunc(list, func(a, b agentPresence) int { return cmp.Compare(a.agent.ID, b.agent.ID) })
	h.online.Store(&list)
}

// setPresence records the status of one of this node's agents, tells the other nodes,
// and tells every connection when the agent's status over all nodes changed.
func (h *hub) setPresence(agentID int64, status string) {
	p := h.presence[agentID]
	if p == nil || p.status == status {
		return
	}
	_, before := h.effective(agentID)
	if status == presenceOffline {
		delete(h.presence, agentID)
	} else {
		p.status = status
	}
	h.announce(false, presenceEntry{Agent: p.agent, Status: status})
	h.presenceChanged(p.agent, before, nil)
}

// presenceChanged publishes the snapshot and tells the connections, but except, of an
// agent whose status over all nodes is no longer before.
func (h *hub) presenceChanged(a *crm.Agent, before string, except *conn) {
	h.publishPresence()
	if _, now := h.effective(a.ID); now != before {
		h.broadcastPresenceOf(a, now, except)
	}
}

// announce tells the other nodes about this node's agents.
func (h *hub) announce(full bool, entries ...presenceEntry) {
	b, err := json.Marshal(presenceNews{Full: full, Agents: entries})
	if err != nil {
		h.log.Warn("encode presence", "err", err)
		return
	}
	h.bus.Publish(&crm.Event{Type: crm.EventPresence, At: time.Now().UTC(), Data: b})
}

// announceAll sends the whole list of this node's agents: the other nodes' proof that
// this one is alive, and how a node that started later learns of them.
func (h *hub) announceAll() {
	entries := make([]presenceEntry, 0, len(h.presence))
	for _, p := range h.presence {
		entries = append(entries, presenceEntry{Agent: p.agent, Status: p.status})
	}
	h.announce(true, entries...)
}

// remotePresence takes another node's presence announcement.
func (h *hub) remotePresence(e *crm.Event) {
	var news presenceNews
	if err := json.Unmarshal(e.Data, &news); err != nil {
		h.log.Warn("presence from another node", "node", e.Node, "err", err)
		return
	}
	n := h.remote[e.Node]
	if n == nil {
		n = &nodePresence{agents: map[int64]*agentPresence{}}
		h.remote[e.Node] = n
	}
	n.heard = time.Now()
	changed := map[int64]string{} // agent -> status before
	var agents []*crm.Agent
	note := func(a *crm.Agent) {
		if _, ok := changed[a.ID]; !ok {
			_, changed[a.ID] = h.effective(a.ID)
			agents = append(agents, a)
		}
	}
	if news.Full {
		for _, p := range n.agents {
			note(p.agent)
		}
		n.agents = map[int64]*agentPresence{}
	}
	for _, en := range news.Agents {
		if en.Agent == nil || en.Agent.ID == 0 {
			continue
		}
		note(en.Agent)
		if en.Status == presenceOffline {
			delete(n.agents, en.Agent.ID)
		} else {
			n.agents[en.Agent.ID] = &agentPresence{agent: en.Agent, status: en.Status}
		}
	}
	h.presenceChangedAll(agents, changed)
}

// agePresence forgets the nodes not heard from for presenceTTL, with their agents.
func (h *hub) agePresence(now time.Time) {
	changed := map[int64]string{}
	var agents []*crm.Agent
	for id, n := range h.remote {
		if now.Sub(n.heard) <= h.presenceTTL {
			continue
		}
		for _, p := range n.agents {
			if _, ok := changed[p.agent.ID]; !ok {
				_, changed[p.agent.ID] = h.effective(p.agent.ID)
				agents = append(agents, p.agent)
			}
		}
		delete(h.remote, id)
		h.log.Info("presence: a node went quiet; its agents are offline here", "node", id)
	}
	h.presenceChangedAll(agents, changed)
}

func (h *hub) presenceChangedAll(agents []*crm.Agent, before map[int64]string) {
	if len(agents) == 0 {
		return
	}
	h.publishPresence()
	for _, a := range agents {
		if cur, now := h.effective(a.ID); now != before[a.ID] {
			if cur == nil {
				cur = a
			}
			h.broadcastPresenceOf(cur, now, nil)
		}
	}
}

func (h *hub) broadcastPresenceOf(a *crm.Agent, status string, except *conn) {
	b, _ := json.Marshal(map[string]any{"type": crm.EventPresence, "data": presenceItem{a.ID, a.Name, status, availabilityOf(a, status)}})
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
	// Availability is what the agent chose (crm.Available, crm.Away), or offline
	// while it has no socket.
	Availability string `json:"availability"`
}

// presenceList is the frame a new connection gets first: every connected agent's status.
func (h *hub) presenceList() *frame {
	online := *h.online.Load()
	list := make([]presenceItem, 0, len(online))
	for _, p := range online {
		list = append(list, presenceItem{p.agent.ID, p.agent.Name, p.status, availabilityOf(p.agent, p.status)})
	}
	b, _ := json.Marshal(map[string]any{"type": crm.EventPresence, "data": map[string]any{"agents": list}})
	return &frame{data: b}
}
