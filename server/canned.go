package server

import (
	"net/http"

	"parley/crm"
)

func (s *Server) handleCannedResponses(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.CannedResponses(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned_responses": nonNil(list)})
	return nil
}

func (s *Server) handleCreateCanned(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	}
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	c, err := s.store.CreateCanned(r.Context(), &crm.CannedResponse{Title: req.Title, Body: req.Body})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) handleUpdateCanned(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
	}
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	c, err := s.store.UpdateCanned(r.Context(), id, crm.CannedUpdate{Title: req.Title, Body: req.Body})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) handleDeleteCanned(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteCanned(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
