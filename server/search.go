package server

import (
	"net/http"
	"strconv"
	"time"

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
	sq, err := searchFilters(r, crm.SearchQuery{Q: q, Limit: limit})
	if err != nil {
		return err
	}
	res, err := s.store.Search(r.Context(), sq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tickets": nonNil(res.Tickets), "messages": nonNil(res.Messages), "customers": nonNil(res.Customers),
	})
	return nil
}

// searchFilters reads the filters of a search: status, channel, inbox, and from and to
// (RFC 3339 times or dates, YYYY-MM-DD; to is exclusive, a date meaning its whole day).
// Returns invalid.
func searchFilters(r *http.Request, sq crm.SearchQuery) (crm.SearchQuery, error) {
	v := r.URL.Query()
	if sq.Status = v.Get("status"); sq.Status != "" {
		if err := oneOf("status", sq.Status, crm.StatusOpen, crm.StatusPending, crm.StatusResolved, crm.StatusClosed); err != nil {
			return sq, err
		}
	}
	if sq.Channel = v.Get("channel"); sq.Channel != "" {
		if err := oneOf("channel", sq.Channel, crm.ChannelEmail, crm.ChannelSMS, crm.ChannelWhatsApp, crm.ChannelVoice,
			crm.ChannelChat, crm.ChannelDiscord, crm.ChannelAPI); err != nil {
			return sq, err
		}
	}
	if s := v.Get("inbox"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return sq, crm.Errorf(crm.EINVALID, "inbox must be an inbox id")
		}
		sq.InboxID = id
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
		day  time.Duration // added to a date: to means up to the end of that day
	}{{"from", &sq.From, 0}, {"to", &sq.To, 24 * time.Hour}} {
		s := v.Get(f.name)
		if s == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			*f.dst = t
		} else if t, err := time.Parse(time.DateOnly, s); err == nil {
			*f.dst = t.Add(f.day)
		} else {
			return sq, crm.Errorf(crm.EINVALID, "%s must be a time (RFC 3339) or a date (YYYY-MM-DD)", f.name)
		}
	}
	if !sq.From.IsZero() && !sq.To.IsZero() && !sq.From.Before(sq.To) {
		return sq, crm.Errorf(crm.EINVALID, "from must be before to")
	}
	return sq, nil
}
