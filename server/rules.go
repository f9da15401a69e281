package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"parley/automation"
	"parley/crm"
)

// The audit log's entries of rules, added to the types it may be filtered by.
func init() {
	auditTypes = append(auditTypes, "rule.created", "rule.updated", "rule.deleted")
}

func (s *Server) ruleRoutes() {
	s.api("GET /api/v1/rules", roleManager, s.handleRules)
	s.api("POST /api/v1/rules", roleManager, s.handleCreateRule)
	s.api("POST /api/v1/rules/dry-run", roleManager, s.handleDryRunRule)
	s.api("GET /api/v1/rules/{id}", roleManager, s.handleRule)
	s.api("PATCH /api/v1/rules/{id}", roleManager, s.handleUpdateRule)
	s.api("DELETE /api/v1/rules/{id}", roleManager, s.handleDeleteRule)
	s.api("POST /api/v1/rules/{id}/dry-run", roleManager, s.handleDryRunStoredRule)
}

// ruleWebhook is a webhook as the rules screen offers it: managers pick one for the
// "send webhook" action without seeing its secret or its query string.
type ruleWebhook struct {
	ID  int64  `json:"id"`
	URL string `json:"url"`
}

// handleRules lists the rules in order, with what the rules screen offers: triggers,
// fields with their operators, action types and the webhooks to send to.
func (s *Server) handleRules(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Rules(r.Context())
	if err != nil {
		return err
	}
	// Only admins manage webhooks; a manager's rule may still name one.
	hooks, err := s.store.Webhooks(crm.AsSystem(r.Context()))
	if err != nil {
		return err
	}
	offered := []ruleWebhook{}
	for _, h := range hooks {
		u := h.URL
		if p, err := url.Parse(u); err == nil {
			p.RawQuery = ""
			u = p.String()
		}
		offered = append(offered, ruleWebhook{ID: h.ID, URL: u})
	}
	fields := map[string][]string{}
	for f, kind := range crm.RuleFields {
		fields[f] = crm.RuleOps[kind]
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": nonNil(list), "triggers": crm.RuleTriggers, "fields": fields,
		"actions": crm.RuleActions, "webhooks": offered})
	return nil
}

func (s *Server) handleRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rule, err := s.store.Rule(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

// ruleBody is a rule as the API takes it; enabled defaults to false, so that a rule is
// tried with a dry run before it acts.
type ruleBody struct {
	Name       *string             `json:"name"`
	Enabled    *bool               `json:"enabled"`
	Position   *int                `json:"position"`
	Trigger    *crm.RuleTrigger    `json:"trigger"`
	Conditions *crm.RuleConditions `json:"conditions"`
	Actions    *[]crm.RuleAction   `json:"actions"`
	Stop       *bool               `json:"stop"`
}

// rule returns the rule b describes.
func (b *ruleBody) rule() *crm.Rule {
	r := &crm.Rule{}
	if b.Name != nil {
		r.Name = *b.Name
	}
	if b.Enabled != nil {
		r.Enabled = *b.Enabled
	}
	if b.Position != nil {
		r.Position = *b.Position
	}
	if b.Trigger != nil {
		r.Trigger = *b.Trigger
	}
	if b.Conditions != nil {
		r.Conditions = *b.Conditions
	}
	if b.Actions != nil {
		r.Actions = *b.Actions
	}
	if b.Stop != nil {
		r.Stop = *b.Stop
	}
	return r
}

// checkRuleRefs checks, with invalid, that what rule names exists: agents, canned
// responses, webhooks and SLA policies (its business hours).
func (s *Server) checkRuleRefs(ctx context.Context, rule *crm.Rule) error {
	if err := crm.CheckRule(rule); err != nil {
		return err
	}
	sys := crm.AsSystem(ctx)
	var canned []*crm.CannedResponse
	for i, a := range rule.Actions {
		switch {
		case a.Type == crm.ActionAssignAgent && a.AgentID != 0:
			ag, err := s.store.Agent(sys, a.AgentID)
			if crm.ErrorCode(err) == crm.ENOTFOUND || (err == nil && ag.Disabled) {
				return crm.Errorf(crm.EINVALID, "actions[%d]: there is no agent %d", i, a.AgentID)
			} else if err != nil {
				return err
			}
		case a.Type == crm.ActionSendCanned:
			if canned == nil {
				var err error
				if canned, err = s.store.CannedResponses(sys); err != nil {
					return err
				}
			}
			if !slices.ContainsFunc(canned, func(c *crm.CannedResponse) bool { return c.ID == a.CannedID }) {
				return crm.Errorf(crm.EINVALID, "actions[%d]: there is no canned response %d", i, a.CannedID)
			}
		case a.Type == crm.ActionWebhook:
			if _, err := s.store.Webhook(sys, a.WebhookID); crm.ErrorCode(err) == crm.ENOTFOUND {
				return crm.Errorf(crm.EINVALID, "actions[%d]: there is no webhook %d", i, a.WebhookID)
			} else if err != nil {
				return err
			}
		}
	}
	policies, err := s.store.SLAPolicies(sys)
	if err != nil {
		return err
	}
	_, err = automation.CompileRule(rule, automation.NewCalendars(policies))
	return err
}

func (s *Server) handleCreateRule(w http.ResponseWriter, r *http.Request) error {
	var b ruleBody
	if err := decode(w, r, 64<<10, &b); err != nil {
		return err
	}
	rule := b.rule()
	if err := s.checkRuleRefs(r.Context(), rule); err != nil {
		return err
	}
	out, err := s.store.CreateRule(r.Context(), rule)
	if err != nil {
		return err
	}
	s.audit(r, "rule.created", map[string]any{"rule_id": out.ID, "name": out.Name, "enabled": out.Enabled})
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) handleUpdateRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var b ruleBody
	if err := decode(w, r, 64<<10, &b); err != nil {
		return err
	}
	cur, err := s.store.Rule(r.Context(), id)
	if err != nil {
		return err
	}
	next := *cur
	if b.Name != nil {
		next.Name = *b.Name
	}
	if b.Trigger != nil {
		next.Trigger = *b.Trigger
	}
	if b.Conditions != nil {
		next.Conditions = *b.Conditions
	}
	if b.Actions != nil {
		next.Actions = *b.Actions
	}
	if b.Trigger != nil || b.Conditions != nil || b.Actions != nil {
		if err := s.checkRuleRefs(r.Context(), &next); err != nil {
			return err
		}
	}
	out, err := s.store.UpdateRule(r.Context(), id, crm.RuleUpdate{Name: b.Name, Enabled: b.Enabled, Position: b.Position,
		Trigger: b.Trigger, Conditions: b.Conditions, Actions: b.Actions, Stop: b.Stop})
	if err != nil {
		return err
	}
	s.audit(r, "rule.updated", map[string]any{"rule_id": id, "name": out.Name, "enabled": out.Enabled, "position": out.Position})
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleDeleteRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteRule(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "rule.deleted", map[string]any{"rule_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleDryRunRule shows which tickets of the last 30 days the rule in the body would
// match, changing nothing.
func (s *Server) handleDryRunRule(w http.ResponseWriter, r *http.Request) error {
	var b ruleBody
	if err := decode(w, r, 64<<10, &b); err != nil {
		return err
	}
	rule := b.rule()
	if rule.Name == "" {
		rule.Name = "Dry run"
	}
	return s.dryRun(w, r, rule)
}

// handleDryRunStoredRule is the dry run of a stored rule.
func (s *Server) handleDryRunStoredRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rule, err := s.store.Rule(r.Context(), id)
	if err != nil {
		return err
	}
	return s.dryRun(w, r, rule)
}

func (s *Server) dryRun(w http.ResponseWriter, r *http.Request, rule *crm.Rule) error {
	if err := s.checkRuleRefs(r.Context(), rule); err != nil {
		return err
	}
	res, err := automation.DryRun(r.Context(), s.store, rule, time.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
