package server

import (
	"cmp"
	"encoding/json"
	"slices"

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

// AgentsOnline returns the ids of the agents who are connected, not away, and may see
// the inbox, in ascending order. The chat widget uses it for its offline mode and the
// phone IVR to decide whether to ring agents. It reads the snapshot the hub publishes,
// so it neither waits for the hub nor holds it up.
func (s *Server) AgentsOnline(inboxID int64) []int64 {
	var ids []int64
	for _, p := range *s.hub.online.Load() {
		if p.status == presenceOnline && p.agent.CanSeeInbox(inboxID) {
			ids = append(ids, p.agent.ID)
		}
	}
	return ids
}

// publishPresence replaces the snapshot of presence that other goroutines read: a new
// slice in agent id order, never changed once stored. The hub calls it after every
// change of h.presence, which only the hub touches.
func (h *hub) publishPresence() {
	list := make([]agentPresence, 0, len(h.presence))
	for _, p := range h.presence {
		list = append(list, *p)
	}
	slices.SortFunc(list, func(a, b agentPresence) int { return cmp.Compare(a.agent.ID, b.agent.ID) })
	h.online.Store(&list)
}

// setPresence records an agent's status and tells every connection about a change.
func (h *hub) setPresence(agentID int64, status string) {
	p := h.presence[agentID]
	if p == nil || p.status == status {
		return
	}
	if status == presenceOffline {
		delete(h.presence, agentID)
	} else {
		p.status = status
	}
	h.publishPresence()
	h.broadcastPresenceOf(p.agent, status, nil)
}

func (h *hub) broadcastPresence(agentID int64, except *conn) {
	if p := h.presence[agentID]; p != nil {
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
	online := *h.online.Load()
	list := make([]presenceItem, 0, len(online))
	for _, p := range online {
		list = append(list, presenceItem{p.agent.ID, p.agent.Name, p.status})
	}
	b, _ := json.Marshal(map[string]any{"type": crm.EventPresence, "data": map[string]any{"agents": list}})
	return &frame{data: b}
}
