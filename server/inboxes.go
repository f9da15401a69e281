package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"parley/channels"
	"parley/crm"
	"parley/i18n"
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
	if out.Status == nil && s.opt.Statuses != nil { // the connection runs on another node
		out.Status = s.opt.Statuses.Status(in.ID)
	}
	return out
}

// prepare lets the inbox kind's connector check and complete the config. The config's
// "disabled" of older versions is refused: the inbox's enabled field says whether it runs.
func (s *Server) prepare(r *http.Request, in *crm.Inbox) error {
	if _, ok := in.Config["disabled"]; ok {
		return crm.Errorf(crm.EINVALID, `config.disabled is gone: send {"enabled": false} to disable an inbox`)
	}
	// Every kind takes the language of what its customers read and hear (the survey, the
	// widget, the phone menu): "auto" or one Parley ships.
	if err := i18n.CheckSetting(in.Config); err != nil {
		return err
	}
	if p, ok := s.opt.Channels.Connector(in.Kind).(channels.InboxPreparer); ok {
		return p.PrepareInbox(r.Context(), in)
	}
	return nil
}

// handleTestInbox checks the inbox's settings against the real service and answers
// {ok, error, steps}: steps (name lookup, connection, TLS, login, ...) where the channel
// tests in steps, ending at the first that failed. Returns invalid for an inbox kind
// without a connection, not_found.
func (s *Server) handleTestInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := s.store.Inbox(r.Context(), id)
	if err != nil {
		return err
	}
	c := s.opt.Channels.Connector(in.Kind)
	if st, ok := c.(channels.InboxStepTester); ok {
		steps := st.TestInboxSteps(r.Context(), in)
		out := map[string]any{"ok": true, "steps": steps}
		for _, step := range steps {
			if !step.OK {
				out["ok"], out["error"] = false, step.Step+": "+step.Detail
				break
			}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	t, ok := c.(channels.InboxTester)
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

// handleInboxSetup answers what an admin needs to finish setting up an inbox:
// {"public_url", "inbox_id", ...} plus what its channel adds (the webhook URLs to paste
// at Twilio; the servers, channels and invite URL of a Discord bot). Returns not_found,
// or invalid when the channel cannot reach its service.
func (s *Server) handleInboxSetup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := s.store.Inbox(r.Context(), id)
	if err != nil {
		return err
	}
	out := map[string]any{}
	base := s.publicURL(r)
	if su, ok := s.opt.Channels.Connector(in.Kind).(channels.InboxSetup); ok {
		v, err := su.SetupInbox(r.Context(), in, base)
		if err != nil {
			return err
		}
		// The channel's answer is an object: its fields join the common ones.
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode inbox setup: %w", err)
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return fmt.Errorf("decode inbox setup: %w", err)
		}
	}
	if in.Kind == crm.KindAPI {
		out["ingest_url"] = base + "/api/v1/inbound"
		out["example"] = apiExample(base, in.ID)
	}
	out["public_url"], out["inbox_id"] = base, in.ID
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleInboxes lists the inboxes the agent may see; with archived=true the deleted ones,
// whose tickets stay readable.
func (s *Server) handleInboxes(w http.ResponseWriter, r *http.Request) error {
	list := s.store.Inboxes
	switch r.URL.Query().Get("archived") {
	case "", "false":
	case "true":
		list = s.store.ArchivedInboxes
	default:
		return crm.Errorf(crm.EINVALID, "archived must be true or false")
	}
	inboxes, err := list(r.Context())
	if err != nil {
		return err
	}
	out := make([]inboxOut, len(inboxes))
	for i, in := range inboxes {
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

// handleUpdateInbox renames an inbox, changes its config (a secret or the language left
// out keeps its stored value), and enables or disables it ({"enabled": false}: its channel stops
// fetching, its tickets stay). Returns invalid or not_found.
func (s *Server) handleUpdateInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Name    *string        `json:"name"`
		Config  map[string]any `json:"config"`
		Enabled *bool          `json:"enabled"`
	}
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	in, err := s.store.Inbox(r.Context(), id)
	if err != nil {
		return err
	}
	if req.Name != nil || req.Config != nil {
		if req.Name != nil {
			in.Name = *req.Name
		}
		if req.Config != nil {
			// A language left out keeps the stored one, like a secret: the console's forms
			// of most kinds do not show it, and saving them must not reset it.
			if lang, ok := in.Config[i18n.SettingKey]; ok {
				if _, given := req.Config[i18n.SettingKey]; !given {
					req.Config[i18n.SettingKey] = lang
				}
			}
			in.Config = req.Config
		}
		if err := s.prepare(r, in); err != nil {
			return err
		}
		if in, err = s.store.UpdateInbox(r.Context(), in); err != nil {
			return err
		}
		s.audit(r, "inbox.updated", map[string]any{"inbox_id": in.ID, "name": req.Name, "config_changed": req.Config != nil})
	}
	if req.Enabled != nil && *req.Enabled != in.Enabled {
		if in, err = s.store.SetInboxEnabled(r.Context(), id, *req.Enabled); err != nil {
			return err
		}
		s.audit(r, "inbox.updated", map[string]any{"inbox_id": in.ID, "enabled": *req.Enabled})
	}
	writeJSON(w, http.StatusOK, s.showInbox(in))
	return nil
}

// handleDeleteInbox archives an inbox: its channel stops, it leaves the lists, and its
// tickets stay readable (GET /api/v1/inboxes?archived=true lists it). Returns not_found.
func (s *Server) handleDeleteInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteInbox(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "inbox.deleted", map[string]any{"inbox_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiExample is a request that files a message into an api inbox, as the console shows
// it: a bearer token of the admin's own (Settings, API tokens) stands for $PARLEY_TOKEN.
func apiExample(base string, inboxID int64) string {
	return fmt.Sprintf(`curl -X POST %s/api/v1/inbound \
  -H "Authorization: Bearer $PARLEY_TOKEN" -H 'Content-Type: application/json' \
  -d '{"inbox": %d, "external_id": "return-1042", "thread_key": "rma-77",
       "from": {"name": "Alice Example", "email": "alice@example.com"},
       "subject": "Return request RMA-77", "text": "The lamp arrived with a broken switch."}'`, base, inboxID)
}
