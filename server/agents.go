package server

import (
	"net/http"

	"parley/crm"
)

var roles = []string{crm.RoleAgent, crm.RoleManager, crm.RoleAdmin}

// colleague is what an agent sees of another agent: enough to show its name and
// presence and to assign it tickets, not how to reach it outside Parley.
type colleague struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Role     string  `json:"role"`
	InboxIDs []int64 `json:"inbox_ids"`
	Disabled bool    `json:"disabled"`
	Avatar   string  `json:"avatar"`
	// Availability is offline while the agent has no socket (see availabilityOf).
	Availability string `json:"availability"`
}

// agentView is a as viewer may see it: all of it for managers, admins and a itself,
// else without email and phone.
func agentView(viewer, a *crm.Agent) any {
	if viewer.SeesAllInboxes() || viewer.ID == a.ID {
		return a
	}
	return colleague{ID: a.ID, Name: a.Name, Role: a.Role, InboxIDs: a.InboxIDs, Disabled: a.Disabled, Avatar: a.Avatar,
		Availability: a.Availability}
}

// handleAgents lists agents to every agent: the console needs names for assignment.
// Agents see their colleagues' names, roles and inboxes; emails and phone numbers only
// managers and admins.
func (s *Server) handleAgents(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Agents(r.Context())
	if err != nil {
		return err
	}
	me := crm.AgentFrom(r.Context())
	out := make([]any, len(list))
	for i, a := range list {
		// Others see an agent without a socket as offline, whatever it chose.
		if !s.AgentOnline(a.ID) {
			a.Availability = crm.Unavailable
		}
		out[i] = agentView(me, a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
	return nil
}

// handleAgent shows one agent, as handleAgents does. Returns invalid or not_found.
func (s *Server) handleAgent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.store.Agent(r.Context(), id)
	if err != nil {
		return err
	}
	if !s.AgentOnline(a.ID) {
		a.Availability = crm.Unavailable
	}
	writeJSON(w, http.StatusOK, agentView(crm.AgentFrom(r.Context()), a))
	return nil
}

func (s *Server) handleCreateAgent(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email    string  `json:"email"`
		Name     string  `json:"name"`
		Role     string  `json:"role"`
		Password string  `json:"password"`
		Phone    string  `json:"phone"`
		InboxIDs []int64 `json:"inbox_ids"`
	}
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = crm.RoleAgent
	}
	if err := oneOf("role", req.Role, roles...); err != nil {
		return err
	}
	a, err := s.store.CreateAgent(r.Context(), &crm.NewAgent{
		Email: req.Email, Name: req.Name, Role: req.Role, Password: req.Password, Phone: req.Phone, InboxIDs: req.InboxIDs,
	})
	if err != nil {
		return err
	}
	s.audit(r, "agent.created", map[string]any{"agent_id": a.ID, "email": a.Email, "role": a.Role, "inbox_ids": a.InboxIDs})
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) handleUpdateAgent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Name     *string  `json:"name"`
		Role     *string  `json:"role"`
		Phone    *string  `json:"phone"`
		Password *string  `json:"password"`
		InboxIDs *[]int64 `json:"inbox_ids"`
		Disabled *bool    `json:"disabled"`
	}
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	if req.Role != nil {
		if err := oneOf("role", *req.Role, roles...); err != nil {
			return err
		}
	}
	if id == crm.AgentFrom(r.Context()).ID && ((req.Role != nil && *req.Role != crm.RoleAdmin) || (req.Disabled != nil && *req.Disabled)) {
		return crm.Errorf(crm.ECONFLICT, "you cannot demote or disable yourself; ask another admin")
	}
	a, err := s.store.UpdateAgent(r.Context(), id, crm.AgentUpdate{
		Name: req.Name, Role: req.Role, Phone: req.Phone, Password: req.Password, InboxIDs: req.InboxIDs, Disabled: req.Disabled,
	})
	if err != nil {
		return err
	}
	s.audit(r, "agent.updated", map[string]any{"agent_id": id, "name": req.Name, "role": req.Role, "phone": req.Phone, "inbox_ids": req.InboxIDs, "disabled": req.Disabled, "password_changed": req.Password != nil})
	writeJSON(w, http.StatusOK, a)
	return nil
}
