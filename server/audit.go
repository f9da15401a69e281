package server

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/crm"
	"parley/reports"
)

// auditTypes are the kinds of audit entries.
var auditTypes = []string{"auth.login", "auth.login_failed", "auth.logout", "agent.created", "agent.updated",
	"inbox.created", "inbox.updated", "settings.updated", "export", "customer.merged", "customer.unmerged",
	"ticket.merged", "ticket.split", "customer.identity_added", "customer.identity_removed", "customer.proof_linked", crm.EventOrderAction, "sla_policy.changed", "token.created", "token.revoked",
	"invitation.created", "invitation.revoked", "invitation.accepted", "auth.password_changed", "auth.totp_enabled",
	"auth.totp_disabled", "auth.totp_reset", "auth.recovery_code_used", "auth.recovery_codes_replaced",
	"auth.session_ended", "auth.sessions_ended"}

// audit records an entry of the audit log with the agent in r's context (none: anonymous)
// and the client's IP. Nil pointers in data are left out, so a PATCH lists only what it
// changed. A failure is logged, never shown: the action itself succeeded.
func (s *Server) audit(r *http.Request, typ string, data map[string]any) {
	e := &crm.AuditEntry{Type: typ, IP: clientIP(r)}
	if a := crm.AgentFrom(r.Context()); a != nil {
		e.Actor = crm.ActorRef{Kind: "agent", ID: a.ID}
	}
	for k, v := range data {
		if rv := reflect.ValueOf(v); v == nil || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
			delete(data, k)
		}
	}
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.Marshal(data)
	if err == nil {
		e.Data = b
		// The log is the system's record: a failed login, by no one, is recorded too.
		ctx, cancel := context.WithTimeout(crm.AsSystem(context.WithoutCancel(r.Context())), 5*time.Second)
		defer cancel()
		err = s.store.RecordAudit(ctx, e)
	}
	if err != nil {
		s.log.Error("record audit entry", "type", typ, "err", err)
	}
}

// auditFilter reads the audit log's filters. Returns invalid.
func auditFilter(r *http.Request) (crm.AuditFilter, error) {
	q := r.URL.Query()
	var f crm.AuditFilter
	for k := range q {
		if !slices.Contains([]string{"from", "to", "tz", "type", "actor_id", "limit", "cursor"}, k) {
			return f, crm.Errorf(crm.EINVALID, "unknown parameter %q", crm.CutBytes(k, 40))
		}
	}
	p, err := page(r)
	if err != nil {
		return f, err
	}
	f.Page = p
	if f.Type = q.Get("type"); f.Type != "" {
		if err := oneOf("type", f.Type, auditTypes...); err != nil {
			return f, err
		}
	}
	if f.ActorID, err = queryID(r, "actor_id"); err != nil {
		return f, err
	}
	if from, to := q.Get("from"), q.Get("to"); from != "" || to != "" {
		if from == "" {
			from = "2000-01-01"
		}
		if to == "" {
			to = "2200-12-31"
		}
		rng, err := reports.ParseRange(from, to, q.Get("tz"), 0)
		if err != nil {
			return f, err
		}
		f.From, f.To = rng.Start, rng.End
	}
	return f, nil
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	list, next, err := s.store.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": nonNil(list), "next_cursor": next})
	return nil
}

// handleAuditCSV streams the filtered audit log page by page.
func (s *Server) handleAuditCSV(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	s.audit(r, "export", map[string]any{"what": "audit.csv", "from": r.URL.Query().Get("from"), "to": r.URL.Query().Get("to")})
	startCSV(w, "audit.csv")
	cw := reports.NewCSVWriter(w)
	cw.Write("id", "type", "actor_kind", "actor_id", "actor_name", "ip", "at", "data")
	f.Limit, f.Cursor = crm.MaxLimit, ""
	for {
		list, next, err := s.store.AuditLog(r.Context(), f)
		if err != nil {
			s.log.Error("audit export", "err", err)
			break
		}
		for _, e := range list {
			cw.Write(e.ID, e.Type, e.Actor.Kind, strconv.FormatInt(e.Actor.ID, 10), e.Actor.Name, e.IP,
				e.At.UTC().Format(time.RFC3339), string(e.Data))
		}
		if cw.Flush() != nil || next == "" {
			break
		}
		f.Cursor = next
	}
	return nil
}

func (s *Server) handleCSATSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := s.store.CSATSettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, set)
	return nil
}

func (s *Server) handleUpdateCSATSettings(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Enabled  *bool     `json:"enabled"`
		Channels *[]string `json:"channels"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		return err
	}
	set, err := s.store.CSATSettings(r.Context())
	if err != nil {
		return err
	}
	if req.Enabled != nil {
		set.Enabled = *req.Enabled
	}
	if req.Channels != nil {
		if len(*req.Channels) > 10 {
			return crm.Errorf(crm.EINVALID, "channels: at most %d", 10)
		}
		set.Channels = *req.Channels
	}
	if err := s.store.SetCSATSettings(r.Context(), set); err != nil {
		return err
	}
	if set, err = s.store.CSATSettings(r.Context()); err != nil {
		return err
	}
	s.audit(r, "settings.updated", map[string]any{"setting": "csat", "enabled": set.Enabled,
		"channels": strings.Join(set.Channels, ",")})
	writeJSON(w, http.StatusOK, set)
	return nil
}
