package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"parley/crm"
)

var channelNames = []string{crm.ChannelEmail, crm.ChannelSMS, crm.ChannelWhatsApp, crm.ChannelVoice, crm.ChannelChat, crm.ChannelDiscord, crm.ChannelAPI}

func (s *Server) handleTickets(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := page(r)
	if err != nil {
		return err
	}
	f := crm.TicketFilter{Page: p, Status: q.Get("status"), Channel: q.Get("channel"), Tag: q.Get("tag"), Query: q.Get("q"),
		Sort: q.Get("sort"), Snoozed: q.Get("snoozed")}
	if err := checkListOrder(f); err != nil {
		return err
	}
	if f.Status != "" {
		if err := oneOf("status", f.Status, crm.StatusOpen, crm.StatusPending, crm.StatusResolved, crm.StatusClosed); err != nil {
			return err
		}
	}
	if f.Channel != "" {
		if err := oneOf("channel", f.Channel, channelNames...); err != nil {
			return err
		}
	}
	if len(f.Query) > 500 || len(f.Tag) > 50 {
		return crm.Errorf(crm.EINVALID, "q or tag is too long")
	}
	switch a := q.Get("assignee"); a {
	case "":
	case "me":
		f.AssigneeID = crm.AgentFrom(r.Context()).ID
	case "unassigned":
		f.Unassigned = true
	default:
		if f.AssigneeID, err = strconv.ParseInt(a, 10, 64); err != nil || f.AssigneeID <= 0 {
			return crm.Errorf(crm.EINVALID, "assignee must be me, unassigned or an agent id")
		}
	}
	if f.InboxID, err = queryID(r, "inbox"); err != nil {
		return err
	}
	if f.TeamID, err = queryID(r, "team"); err != nil {
		return err
	}
	if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
		return err
	}
	// A search (q) reads messages and orders too, whose changes need not change tickets.
	// So does the SLA order, which follows the reports' SLA projection.
	cache := s.reads != nil && f.Query == "" && f.Sort != crm.SortSLADue
	var key listKey
	var version uint64
	if cache {
		key = listKey{f: f, vis: visibility(r.Context())}
		version = s.reads.v.TicketsVersion()
		if a := s.reads.lists.get(key, version); a != nil {
			a.write(w, r)
			return nil
		}
	}
	tickets, next, err := s.store.Tickets(r.Context(), f)
	if err != nil {
		return err
	}
	a, err := newAnswer(version, map[string]any{"tickets": nonNil(tickets), "next_cursor": next})
	if err != nil {
		return err
	}
	if cache {
		s.reads.lists.put(key, a)
	}
	a.write(w, r)
	return nil
}

func (s *Server) handleTicket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.store.Ticket(r.Context(), id)
	if err != nil {
		return err
	}
	s.fillWhatsAppWindow(r.Context(), t)
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) handleCreateTicket(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		InboxID    int64      `json:"inbox_id"`
		CustomerID int64      `json:"customer_id"`
		Customer   *contactIn `json:"customer"`
		Subject    string     `json:"subject"`
		Priority   string     `json:"priority"`
		Body       string     `json:"body"`
		Internal   bool       `json:"internal"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	nt := &crm.NewTicket{InboxID: req.InboxID, CustomerID: req.CustomerID, Subject: req.Subject,
		Priority: req.Priority, Body: req.Body, Internal: req.Internal}
	if req.InboxID <= 0 {
		return crm.Errorf(crm.EINVALID, "inbox_id is required")
	}
	if req.Customer != nil {
		if req.CustomerID != 0 {
			return crm.Errorf(crm.EINVALID, "give customer_id or customer, not both")
		}
		ids, err := req.Customer.identities(s.opt.DefaultRegion)
		if err != nil {
			return err
		}
		nt.CustomerName, nt.Identities = req.Customer.Name, ids
	} else if req.CustomerID <= 0 {
		return crm.Errorf(crm.EINVALID, "customer_id or customer is required")
	}
	t, err := s.store.CreateTicket(r.Context(), nt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (s *Server) handleUpdateTicket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Subject    *string         `json:"subject"`
		Status     *string         `json:"status"`
		Priority   *string         `json:"priority"`
		AssigneeID json.RawMessage `json:"assignee_id"`
		Tags       *[]string       `json:"tags"`
		TeamID     json.RawMessage `json:"team_id"`
		ReasonID   json.RawMessage `json:"reason_id"`
		// SnoozedUntil and SnoozeUntilReply together set the ticket's snooze.
		SnoozedUntil     json.RawMessage `json:"snoozed_until"`
		SnoozeUntilReply *bool           `json:"snooze_until_reply"`
	}
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	u := crm.TicketUpdate{Subject: req.Subject, Status: req.Status, Priority: req.Priority, Tags: req.Tags}
	if u.Snooze, err = parseSnooze(req.SnoozedUntil, req.SnoozeUntilReply); err != nil {
		return err
	}
	if len(req.AssigneeID) > 0 {
		var a *int64
		if err := json.Unmarshal(req.AssigneeID, &a); err != nil || (a != nil && *a <= 0) {
			return crm.Errorf(crm.EINVALID, "assignee_id must be an agent id or null")
		}
		var v int64
		if a != nil {
			v = *a
		}
		u.AssigneeID = &v
	}
	if u.TeamID, err = optionalID("team_id", req.TeamID); err != nil {
		return err
	}
	if u.ReasonID, err = optionalID("reason_id", req.ReasonID); err != nil {
		return err
	}
	if u.Status != nil {
		if err := oneOf("status", *u.Status, crm.StatusOpen, crm.StatusPending, crm.StatusResolved, crm.StatusClosed); err != nil {
			return err
		}
	}
	if u.Priority != nil {
		if err := oneOf("priority", *u.Priority, crm.PriorityLow, crm.PriorityNormal, crm.PriorityHigh, crm.PriorityUrgent); err != nil {
			return err
		}
	}
	if err := s.checkResolveReason(r.Context(), id, u); err != nil {
		return err
	}
	t, err := s.store.UpdateTicket(r.Context(), id, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("order") {
	case "", "asc":
	case "desc":
		p.Desc = true
	default:
		return crm.Errorf(crm.EINVALID, "order must be asc or desc")
	}
	ctx := r.Context()
	key := threadKey{ticket: id, p: p}
	var version uint64
	var inbox int64
	if s.reads != nil {
		version = s.reads.v.ThreadVersion(id)
		// Who may see the ticket is checked here as the store checks it, by its inbox;
		// anyone else goes on to the store's not_found.
		if a := s.reads.threads.get(key, version); a != nil && canSeeInbox(ctx, a.inbox) {
			a.write(w, r)
			return nil
		}
		t, err := s.store.Ticket(ctx, id)
		if err != nil {
			return err
		}
		inbox = t.InboxID
	}
	msgs, next, err := s.store.Messages(ctx, id, p)
	if err != nil {
		return err
	}
	a, err := newAnswer(version, map[string]any{"messages": nonNil(msgs), "next_cursor": next})
	if err != nil {
		return err
	}
	if s.reads != nil {
		a.inbox = inbox
		s.reads.threads.put(key, a)
	}
	a.write(w, r)
	return nil
}

func (s *Server) handleAddMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req replyRequest
	files, err := decodeReply(w, r, &req)
	if err != nil {
		return err
	}
	if req.Status != "" {
		if err := oneOf("status", req.Status, crm.StatusOpen, crm.StatusPending, crm.StatusResolved); err != nil {
			return err
		}
	}
	if !req.Internal {
		if err := s.checkNotArchived(r, id); err != nil {
			return err
		}
	}
	if req.Template != nil {
		if req.Internal || req.CC != nil || req.BCC != nil || len(files) > 0 {
			return crm.Errorf(crm.EINVALID, "a template is a reply: it takes no internal, cc, bcc or files")
		}
		return s.addTemplateReply(w, r, id, req.Template, req.Status)
	}
	nm := &crm.NewMessage{TicketID: id, Body: req.Body, Internal: req.Internal,
		Status: req.Status, CC: req.CC, BCC: req.BCC, Attachments: files}
	if !req.Internal {
		nm.Formatted = formatted(req.Body)
	}
	m, err := s.store.AddMessage(r.Context(), nm)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *Server) handleMergeTickets(w http.ResponseWriter, r *http.Request) error {
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
		return crm.Errorf(crm.EINVALID, "into must be a ticket id")
	}
	t, err := s.store.MergeTickets(r.Context(), id, req.Into)
	if err != nil {
		return err
	}
	s.audit(r, "ticket.merged", map[string]any{"from": id, "into": req.Into})
	writeJSON(w, http.StatusOK, t)
	return nil
}

// checkNotArchived refuses a reply on a ticket of a deleted inbox: there is no channel
// left to send it on. Notes are still taken. Returns conflict or not_found.
func (s *Server) checkNotArchived(r *http.Request, ticketID int64) error {
	t, err := s.store.Ticket(r.Context(), ticketID)
	if err != nil {
		return err
	}
	if _, err := s.store.Inbox(crm.AsSystem(r.Context()), t.InboxID); crm.ErrorCode(err) == crm.ENOTFOUND {
		return crm.Errorf(crm.ECONFLICT, "ticket %d is archived: its inbox was deleted, so it takes notes but no replies", ticketID)
	} else if err != nil {
		return err
	}
	return nil
}
