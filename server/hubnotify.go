package server

import (
	"encoding/json"

	"parley/crm"
)

// notify sends a notification event to the sockets of its agent alone, while that agent
// may still see the ticket's inbox.
func (h *hub) notify(e *crm.Event) {
	var n struct {
		AgentID int64 `json:"agent_id"`
		InboxID int64 `json:"inbox_id"`
	}
	if err := json.Unmarshal(e.Data, &n); err != nil || n.AgentID == 0 {
		h.log.Warn("notification without an agent", "err", err)
		return
	}
	conns := h.byAgent[n.AgentID]
	if len(conns) == 0 {
		return
	}
	b, err := json.Marshal(map[string]any{"type": e.Type, "at": e.At, "data": e.Data})
	if err != nil {
		h.log.Warn("encode notification", "err", err)
		return
	}
	f := &frame{data: b}
	for c := range conns {
		if c.agent.Load().CanSeeInbox(n.InboxID) {
			h.push(c, f)
		}
	}
}
