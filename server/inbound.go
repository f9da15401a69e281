package server

import (
	"net/http"
	"strings"
	"time"

	"parley/crm"
	"parley/htmlsafe"
	"parley/identity"
)

// contactIn is a person as API clients describe one.
type contactIn struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// identities returns the normalised identities of c; at least one is required.
func (c *contactIn) identities(region string) ([]crm.Identity, error) {
	var ids []crm.Identity
	for _, x := range []struct{ kind, addr string }{{crm.IdentityEmail, c.Email}, {crm.IdentityPhone, c.Phone}} {
		if strings.TrimSpace(x.addr) == "" {
			continue
		}
		a, err := identity.Normalize(x.kind, x.addr, region)
		if err != nil {
			return nil, err
		}
		ids = append(ids, crm.Identity{Kind: x.kind, Address: a})
	}
	if len(ids) == 0 {
		return nil, crm.Errorf(crm.EINVALID, "an email or phone is required")
	}
	if len(c.Name) > 200 {
		return nil, crm.Errorf(crm.EINVALID, "name is longer than 200 characters")
	}
	return ids, nil
}

// handleInbound files a message of the api channel. The same external_id twice is one
// message: the repeat answers 200 with duplicate true.
func (s *Server) handleInbound(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Inbox      int64     `json:"inbox"`
		ExternalID string    `json:"external_id"`
		ThreadKey  string    `json:"thread_key"`
		From       contactIn `json:"from"`
		Subject    string    `json:"subject"`
		Text       string    `json:"text"`
		HTML       string    `json:"html"`
	}
	if err := decode(w, r, 2<<20, &req); err != nil {
		return err
	}
	if req.Inbox <= 0 {
		return crm.Errorf(crm.EINVALID, "inbox is required")
	}
	if strings.TrimSpace(req.ExternalID) == "" {
		return crm.Errorf(crm.EINVALID, "external_id is required")
	}
	if len(req.ExternalID) > 500 || len(req.ThreadKey) > 500 || len(req.Subject) > 1000 {
		return crm.Errorf(crm.EINVALID, "external_id, thread_key or subject is too long")
	}
	inbox, err := s.store.Inbox(r.Context(), req.Inbox)
	if err != nil {
		return err
	}
	if inbox.Kind != crm.KindAPI {
		return crm.Errorf(crm.EINVALID, "inbox %d is a %s inbox; only api inboxes take /inbound", inbox.ID, inbox.Kind)
	}
	if err := inbox.Accepts(); err != nil {
		return err
	}
	ids, err := req.From.identities(s.opt.DefaultRegion)
	if err != nil {
		return err
	}
	html := htmlsafe.Sanitize(req.HTML)
	text := strings.TrimSpace(req.Text)
	if text == "" {
		text = htmlsafe.Text(html)
	}
	if text == "" {
		return crm.Errorf(crm.EINVALID, "text or html is required")
	}
	res, err := s.store.Ingest(r.Context(), &crm.Inbound{
		InboxID: inbox.ID, Channel: crm.ChannelAPI, ExternalID: req.ExternalID, ThreadKey: req.ThreadKey,
		FromName: strings.TrimSpace(req.From.Name), From: ids, Subject: strings.TrimSpace(req.Subject),
		Text: text, HTML: html, ReceivedAt: time.Now(),
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
	return nil
}
