package server

import (
	"net/http"
	"strconv"

	"parley/crm"
	"parley/identity"
)

// handleContacts lists customers for the contacts page: GET /api/v1/customers?q=&sort=
// with each customer's ticket count and last contact.
func (s *Server) handleContacts(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query().Get("q")
	if len(q) > 500 {
		return crm.Errorf(crm.EINVALID, "q is too long")
	}
	list, next, err := s.store.Contacts(r.Context(), crm.ContactFilter{Query: q, Sort: r.URL.Query().Get("sort"), Page: p})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"customers": nonNil(list), "next_cursor": next})
	return nil
}

// identityRequest reads an identity from a request body ({"kind","address"}) and puts it
// in its canonical form. Returns invalid.
func (s *Server) identityRequest(w http.ResponseWriter, r *http.Request) (crm.Identity, error) {
	var req struct {
		Kind    string `json:"kind"`
		Address string `json:"address"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return crm.Identity{}, err
	}
	return s.canonicalIdentity(req.Kind, req.Address)
}

func (s *Server) canonicalIdentity(kind, address string) (crm.Identity, error) {
	a, err := identity.Normalize(kind, address, s.opt.DefaultRegion)
	if err != nil {
		return crm.Identity{}, err
	}
	return crm.Identity{Kind: kind, Address: a}, nil
}

// handleAddIdentity adds an identity to a customer: POST /api/v1/customers/{id}/identities
// {kind, address}. An identity of another customer is a conflict that names that
// customer when the agent may see it, so that the console can offer to merge the two.
func (s *Server) handleAddIdentity(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ident, err := s.identityRequest(w, r)
	if err != nil {
		return err
	}
	c, err := s.store.UpdateCustomer(r.Context(), id, crm.CustomerUpdate{AddIdentities: []crm.Identity{ident}})
	if crm.ErrorCode(err) == crm.ECONFLICT {
		return s.identityConflict(w, r, id, ident, err)
	} else if err != nil {
		return err
	}
	s.audit(r, "customer.identity_added", map[string]any{"customer_id": id, "kind": ident.Kind, "address": ident.Address})
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// identityConflict answers 409 for an identity that another customer has, with that
// customer's id and name when the agent may see it.
func (s *Server) identityConflict(w http.ResponseWriter, r *http.Request, id int64, ident crm.Identity, err error) error {
	owner := s.identityOwner(r, ident)
	if owner == nil || owner.ID == id {
		return err
	}
	name := owner.Name
	if name == "" {
		name = "customer #" + strconv.FormatInt(owner.ID, 10)
	}
	writeJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{
		"code":     crm.ECONFLICT,
		"message":  ident.Address + " belongs to " + name + ": merge the two customers to bring it over",
		"customer": map[string]any{"id": owner.ID, "name": owner.Name},
	}})
	return nil
}

// identityOwner returns the customer the agent in r may see that has ident, or nil.
func (s *Server) identityOwner(r *http.Request, ident crm.Identity) *crm.Customer {
	list, _, err := s.store.Contacts(r.Context(), crm.ContactFilter{Query: ident.Address, Page: crm.Page{Limit: 20}})
	if err != nil {
		return nil
	}
	for _, c := range list {
		for _, i := range c.Identities {
			if i.Kind == ident.Kind && i.Address == ident.Address {
				return &c.Customer
			}
		}
	}
	return nil
}

// handleRemoveIdentity removes an identity from a customer:
// DELETE /api/v1/customers/{id}/identities?kind=&address=. Removing one it does not have
// is not_found.
func (s *Server) handleRemoveIdentity(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ident, err := s.canonicalIdentity(q.Get("kind"), q.Get("address"))
	if err != nil {
		return err
	}
	c, err := s.store.Customer(r.Context(), id)
	if err != nil {
		return err
	}
	has := false
	for _, i := range c.Identities {
		has = has || (i.Kind == ident.Kind && i.Address == ident.Address)
	}
	if !has {
		return crm.Errorf(crm.ENOTFOUND, "customer %d has no %s %s", id, ident.Kind, ident.Address)
	}
	if c, err = s.store.UpdateCustomer(r.Context(), id, crm.CustomerUpdate{RemoveIdentities: []crm.Identity{ident}}); err != nil {
		return err
	}
	s.audit(r, "customer.identity_removed", map[string]any{"customer_id": id, "kind": ident.Kind, "address": ident.Address})
	writeJSON(w, http.StatusOK, c)
	return nil
}

// handleCustomerMerges lists the merges into a customer: GET /api/v1/customers/{id}/merges.
func (s *Server) handleCustomerMerges(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	list, err := s.store.CustomerMerges(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"merges": nonNil(list)})
	return nil
}

// handleProofs lists the emails a customer's chat visitors proved in Track my order:
// GET /api/v1/customers/{id}/proofs.
func (s *Server) handleProofs(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	list, err := s.store.IdentityProofs(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"proofs": nonNil(list)})
	return nil
}

// handleLinkProof links a customer to the email it proved:
// POST /api/v1/customers/{id}/proofs/{proof}/link. It answers with the customer that has
// the email now (the one merged into, or the same one with the email added).
func (s *Server) handleLinkProof(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	proof, err := pathID(r, "proof")
	if err != nil {
		return err
	}
	c, err := s.store.LinkProof(r.Context(), id, proof)
	if err != nil {
		return err
	}
	s.audit(r, "customer.proof_linked", map[string]any{"customer_id": id, "proof_id": proof, "into": c.ID})
	writeJSON(w, http.StatusOK, map[string]any{"customer": c})
	return nil
}

// maxSplitIDs bounds the message ids of one split request.
const maxSplitIDs = 500

// handleSplitTicket moves chosen messages of a ticket to a new ticket:
// POST /api/v1/tickets/{id}/split {message_ids, subject?} -> 201 with the new ticket.
func (s *Server) handleSplitTicket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		MessageIDs []int64 `json:"message_ids"`
		Subject    string  `json:"subject"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	if len(req.MessageIDs) == 0 {
		return crm.Errorf(crm.EINVALID, "message_ids must list the messages to move")
	} else if len(req.MessageIDs) > maxSplitIDs {
		return crm.Errorf(crm.EINVALID, "at most %d messages can move at once", maxSplitIDs)
	}
	t, err := s.store.SplitTicket(r.Context(), id, req.MessageIDs, req.Subject)
	if err != nil {
		return err
	}
	s.audit(r, "ticket.split", map[string]any{"from": id, "into": t.ID, "message_ids": req.MessageIDs})
	writeJSON(w, http.StatusCreated, t)
	return nil
}
