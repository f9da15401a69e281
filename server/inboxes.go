package server

import (
	"net/http"
	"sort"

	"parley/channels"
	"parley/crm"
)

var inboxKinds = []string{crm.KindEmail, crm.KindPhone, crm.KindChat, crm.KindDiscord, crm.KindAPI}

// inboxOut is an inbox as the API shows it: secrets never leave, only which are set.
type inboxOut struct {
	*crm.Inbox
	SecretsSet []string              `json:"secrets_set"`
	Status     *channels.InboxStatus `json:"status"`
}

func (s *Server) showInbox(in *crm.Inbox) inboxOut {
	set := []string{}
	for k, v := range in.Secrets {
		if v != "" {
			set = append(set, k)
		}
	}
	sort.Strings(set)
	out := inboxOut{Inbox: in, SecretsSet: set}
	if r, ok := s.opt.Channels.Connector(in.Kind).(channels.StatusReporter); ok {
		out.Status = r.InboxStatus(in.ID)
	}
	return out
}

// prepare lets the inbox kind's connector check and complete the config.
func (s *Server) prepare(r *http.Request, in *crm.Inbox) error {
	if p, ok := s.opt.Channels.Connector(in.Kind).(channels.InboxPreparer); ok {
		return p.PrepareInbox(r.Context(), in)
	}
	return nil
}

// handleTestInbox checks the inbox's credentials against the real service.
func (s *Server) handleTestInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := s.store.Inbox(r.Context(), id)
	if err != nil {
		return err
	}
	t, ok := s.opt.Channels.Connector(in.Kind).(channels.InboxTester)
	if !ok {
		return crm.Errorf(crm.EINVALID, "%s inboxes have no connection to test", in.Kind)
	}
	if err := t.TestInbox(r.Context(), in); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": err.Error()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (s *Server) handleInboxes(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Inboxes(r.Context())
	if err != nil {
		return err
	}
	out := make([]inboxOut, len(list))
	for i, in := range list {
		out[i] = s.showInbox(in)
	}
	writeJSON(w, http.StatusOK, map[string]any{"inboxes": out})
	return nil
}

func (s *Server) handleInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := s.store.Inbox(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.showInbox(in))
	return nil
}

type inboxIn struct {
	Kind   string         `json:"kind"`
	Name   string         `json:"name"`
	Config map[string]any `json:"config"`
}

func (s *Server) handleCreateInbox(w http.ResponseWriter, r *http.Request) error {
	var req inboxIn
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	if err := oneOf("kind", req.Kind, inboxKinds...); err != nil {
		return err
	}
	if req.Config == nil {
		req.Config = map[string]any{}
	}
	in := &crm.Inbox{Kind: req.Kind, Name: req.Name, Config: req.Config}
	if err := s.prepare(r, in); err != nil {
		return err
	}
	generated := in.Secrets // only a preparer fills Secrets before the first save
	in, err := s.store.CreateInbox(r.Context(), in)
	if err != nil {
		return err
	}
	s.audit(r, "inbox.created", map[string]any{"inbox_id": in.ID, "kind": in.Kind, "name": in.Name})
	// Secrets a channel generated (a widget's identity secret) are shown this once, since
	// the admin must copy them to the shop; they are never returned again.
	writeJSON(w, http.StatusCreated, struct {
		inboxOut
		GeneratedSecrets map[string]string `json:"generated_secrets,omitempty"`
	}{s.showInbox(in), generated})
	return nil
}

func (s *Server) handleUpdateInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Name   *string        `json:"name"`
		Config map[string]any `json:"config"`
	}
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	in, err := s.store.Inbox(r.Context(), id)
	if err != nil {
		return err
	}
	if req.Name != nil {
		in.Name = *req.Name
	}
	if req.Config != nil {
		in.Config = req.Config
	}
	if err := s.prepare(r, in); err != nil {
		return err
	}
	in, err = s.store.UpdateInbox(r.Context(), in)
	if err != nil {
		return err
	}
	s.audit(r, "inbox.updated", map[string]any{"inbox_id": in.ID, "name": req.Name, "config_changed": req.Config != nil})
	writeJSON(w, http.StatusOK, s.showInbox(in))
	return nil
}
