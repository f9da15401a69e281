package server

import (
	"net/http"

	"parley/crm"
)

func (s *Server) macroRoutes() {
	s.api("GET /api/v1/macros", roleAgent, s.handleMacros)
	s.api("POST /api/v1/macros", roleAgent, s.handleCreateMacro)
	s.api("GET /api/v1/macros/{id}", roleAgent, s.handleMacro)
	s.api("PATCH /api/v1/macros/{id}", roleAgent, s.handleUpdateMacro)
	s.api("DELETE /api/v1/macros/{id}", roleAgent, s.handleDeleteMacro)
	s.api("POST /api/v1/tickets/{id}/macros/{macro_id}", roleAgent, s.handleApplyMacro)
}

func (s *Server) handleMacros(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Macros(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"macros": nonNil(list)})
	return nil
}

func (s *Server) handleMacro(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := s.store.Macro(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

type macroRequest struct {
	Name    *string           `json:"name"`
	Body    *string           `json:"body"`
	Actions *crm.MacroActions `json:"actions"`
	Shared  *bool             `json:"shared"`
}

func (s *Server) handleCreateMacro(w http.ResponseWriter, r *http.Request) error {
	var req macroRequest
	if err := decode(w, r, 128<<10, &req); err != nil {
		return err
	}
	m := &crm.Macro{}
	if req.Name != nil {
		m.Name = *req.Name
	}
	if req.Body != nil {
		m.Body = *req.Body
	}
	if req.Actions != nil {
		m.Actions = *req.Actions
	}
	if req.Shared != nil {
		m.Shared = *req.Shared
	}
	out, err := s.store.CreateMacro(r.Context(), m)
	if err != nil {
		return err
	}
	s.audit(r, "macro.created", map[string]any{"macro_id": out.ID, "name": out.Name, "shared": out.Shared})
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) handleUpdateMacro(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req macroRequest
	if err := decode(w, r, 128<<10, &req); err != nil {
		return err
	}
	out, err := s.store.UpdateMacro(r.Context(), id, crm.MacroUpdate{Name: req.Name, Body: req.Body, Actions: req.Actions, Shared: req.Shared})
	if err != nil {
		return err
	}
	s.audit(r, "macro.updated", map[string]any{"macro_id": out.ID, "name": out.Name, "shared": out.Shared})
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleDeleteMacro(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteMacro(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "macro.deleted", map[string]any{"macro_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleApplyMacro applies a macro to a ticket: its actions in one transaction, and with
// {"send": true} its reply, placeholders filled in, queued to the customer. Without
// send the answer's body is the filled-in reply for the composer. Answers
// {"ticket", "reply", "note", "body", "macro"}.
func (s *Server) handleApplyMacro(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	macroID, err := pathID(r, "macro_id")
	if err != nil {
		return err
	}
	var req struct {
		Send bool `json:"send"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, 4<<10, &req); err != nil {
			return err
		}
	}
	res, err := s.applyMacro(r, id, macroID, req.Send)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// applyMacro applies a macro to one ticket with the placeholders of that ticket.
func (s *Server) applyMacro(r *http.Request, ticketID, macroID int64, send bool) (*crm.MacroResult, error) {
	ctx := r.Context()
	t, err := s.store.Ticket(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	p := crm.Placeholders{TicketID: t.ID}
	if me := crm.AgentFrom(ctx); me != nil {
		p.AgentName = me.Name
	}
	if c, err := s.store.Customer(ctx, t.CustomerID); err == nil {
		p.CustomerName = c.Name
	}
	if orders, _, err := s.store.Orders(ctx, crm.OrderFilter{CustomerID: t.CustomerID, Page: crm.Page{Limit: 1}}); err == nil && len(orders) > 0 {
		p.OrderNumber = orders[0].Number
	}
	return s.store.ApplyMacro(ctx, ticketID, macroID, send, p.Fill)
}
