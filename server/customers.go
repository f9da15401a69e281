package server

import (
	"net/http"

	"parley/crm"
	"parley/identity"
)

func (s *Server) handleCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.store.Customer(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) handleUpdateCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Name             *string        `json:"name"`
		Notes            *string        `json:"notes"`
		AddIdentities    []crm.Identity `json:"add_identities"`
		RemoveIdentities []crm.Identity `json:"remove_identities"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if len(req.AddIdentities)+len(req.RemoveIdentities) > 50 {
		return crm.Errorf(crm.EINVALID, "too many identities in one change")
	}
	for _, list := range [][]crm.Identity{req.AddIdentities, req.RemoveIdentities} {
		for i := range list {
			a, err := identity.Normalize(list[i].Kind, list[i].Address, s.opt.DefaultRegion)
			if err != nil {
				return err
			}
			list[i].Address, list[i].Verified = a, false
		}
	}
	c, err := s.store.UpdateCustomer(r.Context(), id, crm.CustomerUpdate{
		Name: req.Name, Notes: req.Notes, AddIdentities: req.AddIdentities, RemoveIdentities: req.RemoveIdentities,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) handleMergeCustomers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Into int64 `json:"into"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if req.Into <= 0 {
		return crm.Errorf(crm.EINVALID, "into must be a customer id")
	}
	ev, err := s.store.MergeCustomers(r.Context(), id, req.Into)
	if err != nil {
		return err
	}
	s.audit(r, "customer.merged", map[string]any{"from": id, "into": req.Into, "merge_event_id": ev.ID})
	into, err := s.store.Customer(r.Context(), req.Into)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"merge_event_id": ev.ID, "customer": into})
	return nil
}

func (s *Server) handleUnmergeCustomers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "event")
	if err != nil {
		return err
	}
	c, err := s.store.UnmergeCustomers(r.Context(), id)
	if err != nil {
		return err
	}
	s.audit(r, "customer.unmerged", map[string]any{"merge_event_id": id, "customer_id": c.ID})
	writeJSON(w, http.StatusOK, map[string]any{"customer": c})
	return nil
}
