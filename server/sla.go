package server

import (
	"encoding/json"
	"net/http"

	"parley/crm"
)

// slaPolicyIn is the body of POST and PATCH /sla-policies. For PATCH, absent fields stay.
type slaPolicyIn struct {
	Name                 *string         `json:"name"`
	InboxID              json.RawMessage `json:"inbox_id"`
	Priorities           *[]string       `json:"priorities"`
	FirstResponseMinutes *int            `json:"first_response_minutes"`
	ResolutionMinutes    *int            `json:"resolution_minutes"`
	Schedule             *crm.Schedule   `json:"schedule"`
	WarnMinutes          *int            `json:"warn_minutes"`
}

// apply copies the fields that are present onto p. Returns invalid.
func (in *slaPolicyIn) apply(p *crm.SLAPolicy) error {
	if in.Name != nil {
		p.Name = *in.Name
	}
	if len(in.InboxID) > 0 {
		var id *int64
		if err := json.Unmarshal(in.InboxID, &id); err != nil || (id != nil && *id <= 0) {
			return crm.Errorf(crm.EINVALID, "inbox_id must be an inbox id or null")
		}
		p.InboxID = id
	}
	if in.Priorities != nil {
		p.Priorities = *in.Priorities
	}
	if in.FirstResponseMinutes != nil {
		p.FirstResponseMinutes = *in.FirstResponseMinutes
	}
	if in.ResolutionMinutes != nil {
		p.ResolutionMinutes = *in.ResolutionMinutes
	}
	if in.Schedule != nil {
		p.Schedule = *in.Schedule
	}
	if in.WarnMinutes != nil {
		p.WarnMinutes = *in.WarnMinutes
	}
	return nil
}

func (s *Server) handleSLAPolicies(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.SLAPolicies(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sla_policies": nonNil(list)})
	return nil
}

func (s *Server) handleCreateSLAPolicy(w http.ResponseWriter, r *http.Request) error {
	var in slaPolicyIn
	if err := decode(w, r, 64<<10, &in); err != nil {
		return err
	}
	p := &crm.SLAPolicy{WarnMinutes: 15}
	if err := in.apply(p); err != nil {
		return err
	}
	p, err := s.store.CreateSLAPolicy(r.Context(), p)
	if err != nil {
		return err
	}
	s.audit(r, "sla_policy.changed", map[string]any{"action": "created", "policy": p})
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) handleUpdateSLAPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in slaPolicyIn
	if err := decode(w, r, 64<<10, &in); err != nil {
		return err
	}
	p, err := s.store.SLAPolicy(r.Context(), id)
	if err != nil {
		return err
	}
	if err := in.apply(p); err != nil {
		return err
	}
	if p, err = s.store.UpdateSLAPolicy(r.Context(), p); err != nil {
		return err
	}
	s.audit(r, "sla_policy.changed", map[string]any{"action": "updated", "policy": p})
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) handleDeleteSLAPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteSLAPolicy(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "sla_policy.changed", map[string]any{"action": "deleted", "policy_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleTicketSLA(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.store.TicketSLA(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) handleTicketEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	list, err := s.store.TicketHistory(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": nonNil(list)})
	return nil
}
