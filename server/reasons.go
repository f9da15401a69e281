package server

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"parley/crm"
)

// Classifier trains the contact-reason classifier on demand (package reasoner); nil
// when the server runs without one.
type Classifier interface {
	Train(ctx context.Context) (*crm.ReasonModel, error)
}

// handleReasons lists the contact reasons, archived ones too; every agent may read them.
func (s *Server) handleReasons(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Reasons(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reasons": list})
	return nil
}

// handleCreateReason adds a reason; managers and admins only. Returns invalid or conflict.
func (s *Server) handleCreateReason(w http.ResponseWriter, r *http.Request) error {
	var in crm.ReasonInput
	if err := decode(w, r, maxBody, &in); err != nil {
		return err
	}
	x, err := s.store.CreateReason(r.Context(), in)
	if err != nil {
		return err
	}
	s.audit(r, "reason.created", map[string]any{"reason_id": x.ID, "name": x.Name})
	writeJSON(w, http.StatusCreated, x)
	return nil
}

// handleUpdateReason changes a reason. Returns invalid, not_found or conflict.
func (s *Server) handleUpdateReason(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in crm.ReasonInput
	if err := decode(w, r, maxBody, &in); err != nil {
		return err
	}
	x, err := s.store.UpdateReason(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.audit(r, "reason.updated", map[string]any{"reason_id": x.ID, "name": x.Name, "archived": x.Archived})
	writeJSON(w, http.StatusOK, x)
	return nil
}

// handleArchiveReason archives a reason: the tickets that have it keep it, and reports
// still count it, but agents and the classifier no longer pick it. Returns not_found.
func (s *Server) handleArchiveReason(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	yes := true
	x, err := s.store.UpdateReason(r.Context(), id, crm.ReasonInput{Archived: &yes})
	if err != nil {
		return err
	}
	s.audit(r, "reason.updated", map[string]any{"reason_id": x.ID, "name": x.Name, "archived": true})
	writeJSON(w, http.StatusOK, x)
	return nil
}

// handleReasonSettings answers the reason settings; every agent may read them (the
// console needs to know whether resolving takes a reason).
func (s *Server) handleReasonSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := s.store.ReasonSettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, set)
	return nil
}

// handleUpdateReasonSettings changes the fields sent; managers and admins only. Returns
// invalid.
func (s *Server) handleUpdateReasonSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := s.store.ReasonSettings(r.Context())
	if err != nil {
		return err
	}
	// Decoding into the current settings changes only the fields sent.
	if err := decode(w, r, 4<<10, set); err != nil {
		return err
	}
	if err := s.store.SetReasonSettings(r.Context(), set); err != nil {
		return err
	}
	s.audit(r, "settings.updated", map[string]any{"setting": "reasons", "threshold": set.Threshold,
		"require_on_resolve": set.RequireOnResolve, "hourly_cost": set.HourlyCost, "currency": set.Currency,
		"deflection": set.Deflection})
	writeJSON(w, http.StatusOK, set)
	return nil
}

// reasonModelView is the classifier's state on the settings screen.
type reasonModelView struct {
	*crm.ReasonModel
	Scores json.RawMessage `json:"scores"`
}

// handleReasonModel answers the newest trained model: its version, how many tickets it
// learned from and its cross-validated quality per reason; {"model": null} before the
// first training.
func (s *Server) handleReasonModel(w http.ResponseWriter, r *http.Request) error {
	m, err := s.store.LatestReasonModel(r.Context())
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		writeJSON(w, http.StatusOK, map[string]any{"model": nil})
		return nil
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": reasonModelView{m, json.RawMessage(m.Report)}})
	return nil
}

// handleTrainReasons trains the classifier now rather than at its next hour. Returns
// invalid (too few labelled tickets) or unavailable (no classifier on this server).
func (s *Server) handleTrainReasons(w http.ResponseWriter, r *http.Request) error {
	if s.opt.Reasons == nil {
		return crm.Errorf(crm.EUNAVAILABLE, "this server runs without the contact-reason classifier")
	}
	m, err := s.opt.Reasons.Train(r.Context())
	if err != nil {
		return err
	}
	s.audit(r, "reasons.trained", map[string]any{"version": m.Version, "examples": m.Examples})
	writeJSON(w, http.StatusOK, map[string]any{"model": reasonModelView{m, json.RawMessage(m.Report)}})
	return nil
}

// handleSeedReasons gives the tickets without a reason the reason their tags map to.
func (s *Server) handleSeedReasons(w http.ResponseWriter, r *http.Request) error {
	n, err := s.store.SeedReasonsFromTags(r.Context())
	if err != nil {
		return err
	}
	s.audit(r, "reasons.seeded", map[string]any{"tickets": n})
	writeJSON(w, http.StatusOK, map[string]any{"tickets": n})
	return nil
}

// handleSuggestions answers up to three agents' replies from resolved tickets of the
// ticket's reason whose customers wrote something similar, with this ticket's customer
// name and order number in place of the old ones. Returns not_found.
func (s *Server) handleSuggestions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return err
	}
	// More than three: some may differ only in their customers' names (see below).
	replies, err := s.store.SuggestReplies(ctx, id, 6)
	if err != nil {
		return err
	}
	p := crm.Placeholders{TicketID: t.ID}
	if me := crm.AgentFrom(ctx); me != nil {
		p.AgentName = me.Name
	}
	if len(replies) > 0 {
		if c, err := s.store.Customer(ctx, t.CustomerID); err == nil {
			p.CustomerName = c.Name
		}
		if orders, _, err := s.store.Orders(ctx, crm.OrderFilter{CustomerID: t.CustomerID, Page: crm.Page{Limit: 1}}); err == nil && len(orders) > 0 {
			p.OrderNumber = orders[0].Number
		}
	}
	// Replies that differed only in their customers' names are one suggestion now.
	out := []*crm.SuggestedReply{}
	seen := map[string]bool{}
	for _, x := range replies {
		x.Text = p.Fill(templatize(x))
		if !seen[x.Text] && len(out) < 3 {
			seen[x.Text] = true
			out = append(out, x)
		}
	}
	replies = out
	writeJSON(w, http.StatusOK, map[string]any{"replies": replies})
	return nil
}

// templatize turns an old reply back into a template: its customer's name and order
// numbers become placeholders, which Fill then gives this ticket's values (or leaves
// visible, for the agent to fill, when this ticket has none).
func templatize(x *crm.SuggestedReply) string {
	text := x.Text
	for _, n := range x.OrderNumbers {
		if n = strings.TrimSpace(n); n != "" {
			text = wordRE(n).ReplaceAllString(text, "${1}{{order.number}}${2}")
		}
	}
	name := strings.TrimSpace(x.CustomerName)
	if name == "" {
		return text
	}
	text = wordRE(name).ReplaceAllString(text, "${1}{{customer.name}}${2}")
	if f := strings.Fields(name); len(f) > 1 && len([]rune(f[0])) > 1 {
		text = wordRE(f[0]).ReplaceAllString(text, "${1}{{customer.first_name}}${2}")
	}
	return text
}

// wordRE matches s as a whole word or number, in any script (regexp's \b knows only
// ASCII), keeping what precedes and follows it in groups 1 and 2.
func wordRE(s string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^\pL\pN])` + regexp.QuoteMeta(s) + `([^\pL\pN]|$)`)
}

// handleSuggestionUsed counts that the agent inserted a suggested reply (the message id
// it came from), for the report of how often suggestions help. Returns not_found.
func (s *Server) handleSuggestionUsed(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	msg, err := pathID(r, "message_id")
	if err != nil {
		return err
	}
	if _, err := s.store.Ticket(r.Context(), id); err != nil {
		return err
	}
	if err := s.store.RecordSuggestionUse(r.Context(), id, msg); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkResolveReason refuses to resolve or close a ticket without a contact reason when
// the shop asks agents to pick one (ReasonSettings.RequireOnResolve). Rules and the
// system are not held to it. Returns invalid.
func (s *Server) checkResolveReason(ctx context.Context, id int64, u crm.TicketUpdate) error {
	if u.Status == nil || (*u.Status != crm.StatusResolved && *u.Status != crm.StatusClosed) ||
		(u.ReasonID != nil && *u.ReasonID != 0) {
		return nil
	}
	set, err := s.store.ReasonSettings(ctx)
	if err != nil || !set.RequireOnResolve {
		return err
	}
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return err
	}
	if t.ReasonID == nil || (u.ReasonID != nil && *u.ReasonID == 0) {
		return crm.Errorf(crm.EINVALID, "choose a contact reason before resolving ticket %d", id)
	}
	return nil
}
