package server

import (
	"net/http"
	"strconv"

	"parley/crm"
)

// handleSearch finds tickets, messages and customers. Any text is a valid query: the store
// reads only words out of it.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	if len(q) > 500 {
		return crm.Errorf(crm.EINVALID, "q is longer than 500 bytes")
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return crm.Errorf(crm.EINVALID, "limit must be a number from 1 to 50")
		}
		limit = n
	}
	res, err := s.store.Search(r.Context(), q, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tickets": nonNil(res.Tickets), "messages": nonNil(res.Messages), "customers": nonNil(res.Customers),
	})
	return nil
}
