package server

import (
	"context"
	"net/http"
	"time"

	"parley/crm"
)

// WhatsAppTemplates lists the approved WhatsApp templates of a phone inbox: the phone
// channel, which asks Twilio's Content API and caches the answer.
type WhatsAppTemplates interface {
	WhatsAppTemplates(ctx context.Context, in *crm.Inbox) ([]crm.WhatsAppTemplate, error)
}

func (s *Server) whatsAppRoutes() {
	s.api("GET /api/v1/tickets/{id}/whatsapp", roleAgent, s.handleWhatsApp)
}

// fillWhatsAppWindow sets when the ticket's WhatsApp window ends, on a ticket whose
// replies go by WhatsApp. A failure leaves it out: the reply is checked again anyway.
func (s *Server) fillWhatsAppWindow(ctx context.Context, t *crm.Ticket) {
	ends, ok, err := s.store.WhatsAppWindow(ctx, t.ID)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINTERNAL {
			s.log.Error("whatsapp window", "ticket", t.ID, "err", err)
		}
		return
	}
	if ok {
		ends = ends.UTC()
		t.WhatsAppWindowEndsAt = &ends
	}
}

// handleWhatsApp answers what the composer needs on a ticket: {"whatsapp": false} when
// its replies do not go by WhatsApp, else {"whatsapp": true, "window_ends_at",
// "window_open", "templates": [...]} with the inbox's approved templates, and
// "templates_error" when Twilio could not list them. Returns not_found.
func (s *Server) handleWhatsApp(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return err
	}
	ends, ok, err := s.store.WhatsAppWindow(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"whatsapp": false})
		return nil
	}
	out := map[string]any{"whatsapp": true, "window_open": time.Now().Before(ends), "templates": []crm.WhatsAppTemplate{}}
	if !ends.IsZero() {
		out["window_ends_at"] = ends.UTC()
	}
	list, err := s.templates(ctx, t)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINTERNAL {
			s.log.Warn("list whatsapp templates", "ticket", id, "err", err)
		}
		out["templates_error"] = "Twilio could not list the templates: " + errText(err)
	} else {
		out["templates"] = list
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// errText is an error's message for the user: a crm.Error's own, else the error's.
func errText(err error) string {
	if crm.ErrorCode(err) == crm.EINTERNAL {
		return err.Error()
	}
	return crm.ErrorMessage(err)
}

// templates lists the approved WhatsApp templates of the ticket's inbox.
func (s *Server) templates(ctx context.Context, t *crm.Ticket) ([]crm.WhatsAppTemplate, error) {
	if s.opt.WhatsApp == nil {
		return nil, crm.Errorf(crm.EINVALID, "this server sends no WhatsApp templates")
	}
	in, err := s.store.Inbox(crm.AsSystem(ctx), t.InboxID)
	if err != nil {
		return nil, err
	}
	return s.opt.WhatsApp.WhatsAppTemplates(ctx, in)
}

// templateIn is a reply as an approved WhatsApp template: POST
// /api/v1/tickets/{id}/messages {"template": {"sid": "HX…", "variables": {"1": "Alice"}}}.
type templateIn struct {
	SID       string            `json:"sid"`
	Variables map[string]string `json:"variables"`
}

// addTemplateReply queues a WhatsApp reply as the inbox's approved template ti, its text
// the template filled in. Returns invalid (an unknown or unapproved template, a missing
// variable, a ticket not answered by WhatsApp), not_found or conflict.
func (s *Server) addTemplateReply(w http.ResponseWriter, r *http.Request, ticketID int64, ti *templateIn, status string) error {
	ctx := r.Context()
	tmpl := &crm.MessageTemplate{SID: ti.SID, Variables: ti.Variables}
	if err := tmpl.Check(); err != nil {
		return err
	}
	t, err := s.store.Ticket(ctx, ticketID)
	if err != nil {
		return err
	}
	if _, ok, err := s.store.WhatsAppWindow(ctx, ticketID); err != nil {
		return err
	} else if !ok {
		return crm.Errorf(crm.EINVALID, "ticket %d is not answered by WhatsApp: templates are for WhatsApp replies", ticketID)
	}
	list, err := s.templates(ctx, t)
	if err != nil {
		return err
	}
	for i := range list {
		if list[i].SID != ti.SID {
			continue
		}
		body, err := list[i].Fill(ti.Variables)
		if err != nil {
			return err
		}
		tmpl.Name = list[i].Name
		m, err := s.store.AddMessage(ctx, &crm.NewMessage{TicketID: ticketID, Body: body, Status: status, Template: tmpl})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, m)
		return nil
	}
	return crm.Errorf(crm.EINVALID, "template %s is not one of the inbox's approved WhatsApp templates", ti.SID)
}
