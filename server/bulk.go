package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"parley/crm"
)

// maxBulk is the most tickets one bulk request changes: a page of the list.
const maxBulk = 200

// bulkRequest is POST /api/v1/tickets/bulk: the tickets and the one change to make to
// each. assignee_id null unassigns; merge_into merges every other ticket into that one.
type bulkRequest struct {
	TicketIDs  []int64         `json:"ticket_ids"`
	Status     *string         `json:"status"`
	Priority   *string         `json:"priority"`
	AssigneeID json.RawMessage `json:"assignee_id"`
	AddTags    []string        `json:"add_tags"`
	RemoveTags []string        `json:"remove_tags"`
	MergeInto  int64           `json:"merge_into"`
	TeamID     json.RawMessage `json:"team_id"`
	ReasonID   json.RawMessage `json:"reason_id"`
	// MacroID applies a macro to each ticket instead (alone); Send also queues its reply.
	MacroID int64 `json:"macro_id"`
	Send    bool  `json:"send"`
}

// bulkFailure is one ticket the change could not be made to, with the reason as the
// API's errors give it.
type bulkFailure struct {
	TicketID int64 `json:"ticket_id"`
	Error    struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// handleBulk applies one change to many tickets: status, priority, assignee and tags
// together, or a merge into one of them. The request is checked whole first (invalid:
// nothing changes); then each ticket is changed on its own, as PATCH would, with its
// own ticket.updated event and audit, and a ticket that cannot be changed (not_found,
// conflict) is listed in errors while the others are changed. Answers
// {"tickets": [changed...], "errors": [{"ticket_id","error"}]}.
func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request) error {
	var req bulkRequest
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	u, err := req.update()
	if err != nil {
		return err
	}
	ctx := r.Context()
	out := struct {
		Tickets []*crm.Ticket `json:"tickets"`
		Errors  []bulkFailure `json:"errors"`
	}{Tickets: []*crm.Ticket{}, Errors: []bulkFailure{}}
	fail := func(id int64, err error) {
		if crm.ErrorCode(err) == crm.EINTERNAL || crm.ErrorCode(err) == crm.EUNAVAILABLE {
			s.log.Error("bulk change", "ticket", id, "err", err)
		}
		f := bulkFailure{TicketID: id}
		f.Error.Code, f.Error.Message = crm.ErrorCode(err), crm.ErrorMessage(err)
		out.Errors = append(out.Errors, f)
	}
	if req.MacroID != 0 {
		// Each ticket on its own, as the single route does: one that cannot take the macro
		// (not_found, conflict, an assignee outside its inbox) is listed in errors.
		for _, id := range req.TicketIDs {
			res, err := s.applyMacro(r, id, req.MacroID, req.Send)
			if err != nil {
				fail(id, err)
				continue
			}
			out.Tickets = append(out.Tickets, res.Ticket)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	if req.MergeInto != 0 {
		var into *crm.Ticket
		for _, id := range req.TicketIDs {
			if id == req.MergeInto {
				continue
			}
			t, err := s.store.MergeTickets(ctx, id, req.MergeInto)
			if err != nil {
				fail(id, err)
				continue
			}
			into = t
			s.audit(r, "ticket.merged", map[string]any{"from": id, "into": req.MergeInto, "bulk": true})
		}
		if into != nil {
			out.Tickets = append(out.Tickets, into)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	for _, id := range req.TicketIDs {
		tu := u
		if len(req.AddTags) > 0 || len(req.RemoveTags) > 0 {
			t, err := s.store.Ticket(ctx, id)
			if err != nil {
				fail(id, err)
				continue
			}
			tags := slices.DeleteFunc(slices.Clone(t.Tags), func(tag string) bool { return slices.Contains(req.RemoveTags, tag) })
			for _, tag := range req.AddTags {
				if !slices.Contains(tags, tag) {
					tags = append(tags, tag)
				}
			}
			tu.Tags = &tags
		}
		if err := s.checkResolveReason(ctx, id, tu); err != nil {
			fail(id, err)
			continue
		}
		t, err := s.store.UpdateTicket(ctx, id, tu)
		if err != nil {
			fail(id, err)
			continue
		}
		out.Tickets = append(out.Tickets, t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// update checks the request as a whole and returns the change it makes to each ticket,
// tags aside. Returns invalid.
func (req *bulkRequest) update() (crm.TicketUpdate, error) {
	var u crm.TicketUpdate
	if len(req.TicketIDs) == 0 {
		return u, crm.Errorf(crm.EINVALID, "ticket_ids must name at least one ticket")
	}
	if len(req.TicketIDs) > maxBulk {
		return u, crm.Errorf(crm.EINVALID, "ticket_ids may name at most %d tickets", maxBulk)
	}
	seen := map[int64]bool{}
	for _, id := range req.TicketIDs {
		if id <= 0 || seen[id] {
			return u, crm.Errorf(crm.EINVALID, "ticket_ids must be distinct ticket ids")
		}
		seen[id] = true
	}
	changes := len(req.AddTags) > 0 || len(req.RemoveTags) > 0 || req.Status != nil || req.Priority != nil || len(req.AssigneeID) > 0 ||
		len(req.TeamID) > 0 || len(req.ReasonID) > 0
	if req.MacroID != 0 {
		if changes || req.MergeInto != 0 {
			return u, crm.Errorf(crm.EINVALID, "macro_id goes alone: the macro says what to change")
		}
		if req.MacroID < 0 {
			return u, crm.Errorf(crm.EINVALID, "macro_id must be a macro id")
		}
		return u, nil
	}
	if req.Send {
		return u, crm.Errorf(crm.EINVALID, "send goes with macro_id")
	}
	if req.MergeInto != 0 {
		if changes {
			return u, crm.Errorf(crm.EINVALID, "merge_into goes alone: merge first, then change the ticket")
		}
		if !seen[req.MergeInto] {
			return u, crm.Errorf(crm.EINVALID, "merge_into must be one of ticket_ids")
		}
		if len(req.TicketIDs) < 2 {
			return u, crm.Errorf(crm.EINVALID, "a merge needs at least two tickets")
		}
		return u, nil
	}
	if !changes {
		return u, crm.Errorf(crm.EINVALID, "say what to change: status, priority, assignee_id, team_id, reason_id, add_tags, remove_tags, macro_id or merge_into")
	}
	if req.Status != nil {
		if err := oneOf("status", *req.Status, crm.StatusOpen, crm.StatusPending, crm.StatusResolved, crm.StatusClosed); err != nil {
			return u, err
		}
		u.Status = req.Status
	}
	if req.Priority != nil {
		if err := oneOf("priority", *req.Priority, crm.PriorityLow, crm.PriorityNormal, crm.PriorityHigh, crm.PriorityUrgent); err != nil {
			return u, err
		}
		u.Priority = req.Priority
	}
	if len(req.AssigneeID) > 0 {
		var a *int64
		if err := json.Unmarshal(req.AssigneeID, &a); err != nil || (a != nil && *a <= 0) {
			return u, crm.Errorf(crm.EINVALID, "assignee_id must be an agent id or null")
		}
		var v int64
		if a != nil {
			v = *a
		}
		u.AssigneeID = &v
	}
	var err error
	if u.TeamID, err = optionalID("team_id", req.TeamID); err != nil {
		return u, err
	}
	if u.ReasonID, err = optionalID("reason_id", req.ReasonID); err != nil {
		return u, err
	}
	// As the store keeps them: trimmed and lower-cased, so that removing "VIP" removes "vip".
	for _, tags := range []*[]string{&req.AddTags, &req.RemoveTags} {
		for i, tag := range *tags {
			tag = strings.ToLower(strings.TrimSpace(tag))
			if n := utf8.RuneCountInString(tag); n < 1 || n > 50 {
				return u, crm.Errorf(crm.EINVALID, "tags must be 1 to 50 characters")
			}
			(*tags)[i] = tag
		}
	}
	return u, nil
}
