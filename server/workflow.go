package server

import (
	"net/http"
)

// handleWorkflowSettings answers the workflow settings; every agent may read them (the
// console says what a reply will do).
func (s *Server) handleWorkflowSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := s.store.WorkflowSettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, set)
	return nil
}

// handleUpdateWorkflowSettings changes the fields sent; managers and admins only.
func (s *Server) handleUpdateWorkflowSettings(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		AssignOnReply *bool `json:"assign_on_reply"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	set, err := s.store.WorkflowSettings(r.Context())
	if err != nil {
		return err
	}
	if req.AssignOnReply != nil {
		set.AssignOnReply = *req.AssignOnReply
	}
	if err := s.store.SetWorkflowSettings(r.Context(), set); err != nil {
		return err
	}
	s.audit(r, "settings.updated", map[string]any{"setting": "workflow", "assign_on_reply": set.AssignOnReply})
	writeJSON(w, http.StatusOK, set)
	return nil
}
