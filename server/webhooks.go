package server

import (
	"net/http"
	"net/url"

	"parley/crm"
	"parley/outbound"
)

// strictOutbound is the outbound client of a server given none: it refuses private and
// loopback addresses.
var strictOutbound = outbound.New(outbound.Options{})

// The audit log's entries of webhooks, added to the types it may be filtered by.
func init() {
	auditTypes = append(auditTypes, "webhook.created", "webhook.updated", "webhook.deleted", "webhook.redelivered",
		"webhook.replayed")
}

func (s *Server) webhookRoutes() {
	s.api("GET /api/v1/webhooks", roleAdmin, s.handleWebhooks)
	s.api("POST /api/v1/webhooks", roleAdmin, s.handleCreateWebhook)
	s.api("GET /api/v1/webhooks/{id}", roleAdmin, s.handleWebhook)
	s.api("PATCH /api/v1/webhooks/{id}", roleAdmin, s.handleUpdateWebhook)
	s.api("DELETE /api/v1/webhooks/{id}", roleAdmin, s.handleDeleteWebhook)
	s.api("GET /api/v1/webhooks/{id}/deliveries", roleAdmin, s.handleWebhookDeliveries)
	s.api("POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", roleAdmin, s.handleRedeliverWebhook)
	s.api("POST /api/v1/webhooks/{id}/replay", roleAdmin, s.handleReplayWebhook)
}

// checkWebhookHost refuses, with invalid, a webhook URL whose host the outbound client
// would refuse to connect to (localhost, a private or loopback IP address), so that the
// admin hears it when saving. Names that resolve to such addresses are refused when
// the worker connects, and the delivery log says so.
func (s *Server) checkWebhookHost(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return nil // the store says what is wrong with it
	}
	out := s.opt.Outbound
	if out == nil {
		out = strictOutbound
	}
	if r := out.CheckHost(u.Hostname()); r != nil {
		return crm.Errorf(crm.EINVALID, "%s", r.Setting("url"))
	}
	return nil
}

func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Webhooks(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": nonNil(list), "event_types": crm.WebhookEvents})
	return nil
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	wh, err := s.store.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wh)
	return nil
}

// handleCreateWebhook creates a webhook. Without events it gets every type; without a
// secret one is made up. The answer is the only one that shows the secret.
func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		URL     string   `json:"url"`
		Events  []string `json:"events"`
		Secret  string   `json:"secret"`
		Enabled *bool    `json:"enabled"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		return err
	}
	if err := s.checkWebhookHost(req.URL); err != nil {
		return err
	}
	enabled := req.Enabled == nil || *req.Enabled
	wh, err := s.store.CreateWebhook(r.Context(), &crm.Webhook{URL: req.URL, Events: req.Events, Secret: req.Secret, Enabled: enabled})
	if err != nil {
		return err
	}
	s.audit(r, "webhook.created", map[string]any{"webhook_id": wh.ID, "url": wh.URL, "events": wh.Events, "enabled": wh.Enabled})
	writeJSON(w, http.StatusCreated, wh)
	return nil
}

// handleUpdateWebhook changes a webhook: url, events, enabled, and a secret of the
// admin's or, with "new_secret": true, a new one, shown once in the answer.
func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		URL       *string   `json:"url"`
		Events    *[]string `json:"events"`
		Enabled   *bool     `json:"enabled"`
		Secret    *string   `json:"secret"`
		NewSecret bool      `json:"new_secret"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		return err
	}
	if req.URL != nil {
		if err := s.checkWebhookHost(*req.URL); err != nil {
			return err
		}
	}
	wh, err := s.store.UpdateWebhook(r.Context(), id, crm.WebhookUpdate{URL: req.URL, Events: req.Events, Enabled: req.Enabled,
		Secret: req.Secret, NewSecret: req.NewSecret})
	if err != nil {
		return err
	}
	s.audit(r, "webhook.updated", map[string]any{"webhook_id": id, "url": req.URL, "events": req.Events, "enabled": req.Enabled,
		"secret_changed": wh.Secret != ""})
	writeJSON(w, http.StatusOK, wh)
	return nil
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "webhook.deleted", map[string]any{"webhook_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	list, next, err := s.store.WebhookDeliveries(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": nonNil(list), "next_cursor": next})
	return nil
}

// handleRedeliverWebhook sends the event of a delivery again, as a new delivery.
func (s *Server) handleRedeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	delivery, err := pathID(r, "delivery")
	if err != nil {
		return err
	}
	d, err := s.store.RedeliverWebhook(r.Context(), id, delivery)
	if err != nil {
		return err
	}
	s.audit(r, "webhook.redelivered", map[string]any{"webhook_id": id, "delivery_id": delivery, "redelivery_id": d.ID})
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// handleReplayWebhook queues every stored event after an event id that the webhook
// subscribes to: {"after": N}.
func (s *Server) handleReplayWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		After *int64 `json:"after"`
	}
	if err := decode(w, r, 1<<10, &req); err != nil {
		return err
	}
	if req.After == nil {
		return crm.Errorf(crm.EINVALID, "after is required: the event id to replay after (0 for every stored event)")
	}
	res, err := s.store.ReplayWebhook(r.Context(), id, *req.After)
	if err != nil {
		return err
	}
	s.audit(r, "webhook.replayed", map[string]any{"webhook_id": id, "after": *req.After, "queued": res.Queued,
		"through": res.Through})
	writeJSON(w, http.StatusOK, res)
	return nil
}
