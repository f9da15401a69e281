package server

import (
	"encoding/json"
	"net/http"
	"slices"

	"parley/crm"
)

func init() {
	auditTypes = append(auditTypes, "team.created", "team.updated", "team.deleted", "macro.created", "macro.updated", "macro.deleted")
}

// assignmentRoutes are the teams, the settings of auto-assignment, each agent's
// availability and the macros.
func (s *Server) assignmentRoutes() {
	s.api("GET /api/v1/teams", roleAgent, s.handleTeams)
	s.api("POST /api/v1/teams", roleManager, s.handleCreateTeam)
	s.api("GET /api/v1/teams/{id}", roleAgent, s.handleTeam)
	s.api("PATCH /api/v1/teams/{id}", roleManager, s.handleUpdateTeam)
	s.api("DELETE /api/v1/teams/{id}", roleManager, s.handleDeleteTeam)
	s.api("GET /api/v1/assignment", roleAgent, s.handleAssignmentSettings)
	s.api("PUT /api/v1/assignment", roleManager, s.handleUpdateAssignmentSettings)
	s.api("PUT /api/v1/me/availability", roleAgent, s.handleSetAvailability)
	s.macroRoutes()
}

// AgentOnline reports whether the agent has a live socket on this node or another:
// the presence the assigner goes by. It reads the hub's published snapshot.
func (s *Server) AgentOnline(agentID int64) bool {
	list := *s.hub.online.Load()
	i, ok := slices.BinarySearchFunc(list, agentID, func(p agentPresence, id int64) int {
		switch {
		case p.agent.ID < id:
			return -1
		case p.agent.ID > id:
			return 1
		}
		return 0
	})
	return ok && list[i].status != presenceOffline
}

// availabilityOf is an agent's availability as others see it: what it chose while it
// has a socket (status, its presence), else offline.
func availabilityOf(a *crm.Agent, status string) string {
	if status == presenceOffline || a.Availability == "" {
		return crm.Unavailable
	}
	return a.Availability
}

// refreshAvailability tells every connection of this node when a connected agent chose
// another availability. The other nodes' hubs get the same agent.updated and tell
// theirs.
func (h *hub) refreshAvailability(a *crm.Agent) {
	old, status := h.effective(a.ID)
	if old == nil || status == presenceOffline || old.Availability == a.Availability {
		return
	}
	for _, n := range h.remote {
		if p := n.agents[a.ID]; p != nil {
			p.agent = a
		}
	}
	if p := h.presence[a.ID]; p != nil {
		p.agent = a
	}
	h.publishPresence()
	h.broadcastPresenceOf(a, status, nil)
}

func (s *Server) handleTeams(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Teams(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": nonNil(list)})
	return nil
}

func (s *Server) handleTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.store.Team(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

type teamRequest struct {
	Name       *string  `json:"name"`
	AgentIDs   *[]int64 `json:"agent_ids"`
	Assignment *string  `json:"assignment"`
}

func (s *Server) handleCreateTeam(w http.ResponseWriter, r *http.Request) error {
	var req teamRequest
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	t := &crm.Team{}
	if req.Name != nil {
		t.Name = *req.Name
	}
	if req.AgentIDs != nil {
		t.AgentIDs = *req.AgentIDs
	}
	if req.Assignment != nil {
		t.Assignment = *req.Assignment
	}
	out, err := s.store.CreateTeam(r.Context(), t)
	if err != nil {
		return err
	}
	s.audit(r, "team.created", map[string]any{"team_id": out.ID, "name": out.Name, "agent_ids": out.AgentIDs, "assignment": out.Assignment})
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) handleUpdateTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req teamRequest
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	out, err := s.store.UpdateTeam(r.Context(), id, crm.TeamUpdate{Name: req.Name, AgentIDs: req.AgentIDs, Assignment: req.Assignment})
	if err != nil {
		return err
	}
	s.audit(r, "team.updated", map[string]any{"team_id": out.ID, "name": out.Name, "agent_ids": out.AgentIDs, "assignment": out.Assignment})
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleDeleteTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteTeam(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "team.deleted", map[string]any{"team_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleAssignmentSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.AssignmentSettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// handleUpdateAssignmentSettings replaces the settings of auto-assignment whole: what
// the request leaves out takes the defaults (capacities) or is off (inboxes).
func (s *Server) handleUpdateAssignmentSettings(w http.ResponseWriter, r *http.Request) error {
	var req crm.AssignmentSettings
	if err := decode(w, r, 256<<10, &req); err != nil {
		return err
	}
	st, err := s.store.UpdateAssignmentSettings(r.Context(), &req)
	if err != nil {
		return err
	}
	s.audit(r, "settings.updated", map[string]any{"setting": "assignment", "assignment": st})
	writeJSON(w, http.StatusOK, st)
	return nil
}

// handleSetAvailability sets the calling agent's availability: {"availability":
// "available"|"away"|"offline"}. Answers {"agent"}.
func (s *Server) handleSetAvailability(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Availability string `json:"availability"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	me := crm.AgentFrom(r.Context())
	a, err := s.store.SetAvailability(r.Context(), me.ID, req.Availability)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"agent": a})
	return nil
}

// optionalID reads a JSON id that may be null: nil when absent, 0 for null, else the
// id. Returns invalid for anything else.
func optionalID(name string, raw json.RawMessage) (*int64, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var a *int64
	if err := json.Unmarshal(raw, &a); err != nil || (a != nil && *a <= 0) {
		return nil, crm.Errorf(crm.EINVALID, "%s must be an id or null", name)
	}
	var v int64
	if a != nil {
		v = *a
	}
	return &v, nil
}
