package server

import (
	"net/http"
	"strings"

	"parley/channels"
	"parley/crm"
)

func (s *Server) handleOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := page(r)
	if err != nil {
		return err
	}
	f := crm.OrderFilter{Page: p, Query: q.Get("q")}
	if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
		return err
	}
	if v := q.Get("email"); v != "" {
		if f.Email, err = channels.NormalizeIdentity(crm.IdentityEmail, v, s.opt.DefaultRegion); err != nil {
			return err
		}
	}
	if v := q.Get("phone"); v != "" {
		if f.Phone, err = channels.NormalizeIdentity(crm.IdentityPhone, v, s.opt.DefaultRegion); err != nil {
			return err
		}
	}
	if f.CustomerID == 0 && f.Email == "" && f.Phone == "" && f.Query == "" {
		return crm.Errorf(crm.EINVALID, "give customer_id, email, phone or q")
	}
	orders, next, err := s.store.Orders(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": nonNil(orders), "next_cursor": next})
	return nil
}

func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.store.Order(r.Context(), r.PathValue("number"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// handlePutOrder inserts or replaces an order; the number in the path wins over the body.
func (s *Server) handlePutOrder(w http.ResponseWriter, r *http.Request) error {
	var o crm.Order
	if err := decode(w, r, maxBody, &o); err != nil {
		return err
	}
	o.Number = r.PathValue("number")
	var err error
	if strings.TrimSpace(o.Email) != "" {
		if o.Email, err = channels.NormalizeIdentity(crm.IdentityEmail, o.Email, s.opt.DefaultRegion); err != nil {
			return err
		}
	}
	if strings.TrimSpace(o.Phone) != "" {
		if o.Phone, err = channels.NormalizeIdentity(crm.IdentityPhone, o.Phone, s.opt.DefaultRegion); err != nil {
			return err
		}
	}
	if o.Source == "" {
		o.Source = "api"
	}
	saved, err := s.store.PutOrder(r.Context(), &o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, saved)
	return nil
}
