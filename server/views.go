package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"parley/crm"
)

// checkListOrder checks the sort and snoozed parameters of a ticket list. Returns invalid.
func checkListOrder(f crm.TicketFilter) error {
	if !crm.ValidSort(f.Sort) {
		return crm.Errorf(crm.EINVALID, "sort must be newest, oldest_waiting, sla_due or priority")
	}
	if f.Snoozed != crm.SnoozedHide {
		return oneOf("snoozed", f.Snoozed, crm.SnoozedOnly, crm.SnoozedAny)
	}
	return nil
}

// parseSnooze reads the snooze fields of a ticket PATCH: nil when neither is present.
// snoozed_until is an RFC 3339 time or null. Returns invalid.
func parseSnooze(until json.RawMessage, reply *bool) (*crm.Snooze, error) {
	if len(until) == 0 && reply == nil {
		return nil, nil
	}
	s := &crm.Snooze{}
	if reply != nil {
		s.UntilReply = *reply
	}
	if len(until) > 0 && string(until) != "null" {
		var t time.Time
		if err := json.Unmarshal(until, &t); err != nil {
			return nil, crm.Errorf(crm.EINVALID, "snoozed_until must be an RFC 3339 time or null")
		}
		s.Until = &t
	}
	return s, nil
}

// viewFilter is the ticket filter of a view's filters for the agent in ctx: "me" is
// whoever looks.
func viewFilter(ctx context.Context, v *crm.View) crm.TicketFilter {
	f := crm.TicketFilter{Status: v.Filters.Status, InboxID: v.Filters.InboxID, Channel: v.Filters.Channel,
		Tag: v.Filters.Tag, Query: v.Filters.Query, Snoozed: v.Filters.Snoozed, Sort: v.Sort}
	switch a := v.Filters.Assignee; a {
	case "":
	case "me":
		if me := crm.AgentFrom(ctx); me != nil {
			f.AssigneeID = me.ID
		}
	case "unassigned":
		f.Unassigned = true
	default:
		f.AssigneeID, _ = strconv.ParseInt(a, 10, 64) // checked by the store
	}
	return f
}

// countView fills v's count of the tickets it shows the agent in ctx, capped at
// crm.MaxViewCount.
func (s *Server) countView(ctx context.Context, v *crm.View) error {
	n, err := s.store.CountTickets(ctx, viewFilter(ctx, v), crm.MaxViewCount)
	if err != nil {
		return err
	}
	v.Count, v.CountCapped = min(n, crm.MaxViewCount), n > crm.MaxViewCount
	return nil
}

// viewIn is the body of POST and PATCH /views; absent fields stay on PATCH.
type viewIn struct {
	Name    *string          `json:"name"`
	Filters *crm.ViewFilters `json:"filters"`
	Sort    *string          `json:"sort"`
	Shared  *bool            `json:"shared"`
}

func (s *Server) handleViews(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Views(r.Context())
	if err != nil {
		return err
	}
	for _, v := range list {
		if err := s.countView(r.Context(), v); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"views": nonNil(list)})
	return nil
}

func (s *Server) handleCreateView(w http.ResponseWriter, r *http.Request) error {
	var in viewIn
	if err := decode(w, r, 16<<10, &in); err != nil {
		return err
	}
	v := &crm.View{}
	if in.Name != nil {
		v.Name = *in.Name
	}
	if in.Filters != nil {
		v.Filters = *in.Filters
	}
	if in.Sort != nil {
		v.Sort = *in.Sort
	}
	if in.Shared != nil {
		v.Shared = *in.Shared
	}
	v, err := s.store.CreateView(r.Context(), v)
	if err != nil {
		return err
	}
	if err := s.countView(r.Context(), v); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) handleView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.store.View(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.countView(r.Context(), v); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) handleUpdateView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in viewIn
	if err := decode(w, r, 16<<10, &in); err != nil {
		return err
	}
	v, err := s.store.UpdateView(r.Context(), id, crm.ViewUpdate{Name: in.Name, Filters: in.Filters, Sort: in.Sort, Shared: in.Shared})
	if err != nil {
		return err
	}
	if err := s.countView(r.Context(), v); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) handleDeleteView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteView(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleNotifications(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	list, unread, next, err := s.store.AgentNotifications(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": nonNil(list), "unread": unread, "next_cursor": next})
	return nil
}

func (s *Server) handleReadNotifications(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		IDs []int64 `json:"ids"`
		All bool    `json:"all"`
	}
	if err := decode(w, r, 16<<10, &in); err != nil {
		return err
	}
	unread, err := s.store.MarkNotificationsRead(r.Context(), in.IDs, in.All)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"unread": unread})
	return nil
}
