package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"parley/crm"
	"parley/reports"
)

// reportQuery is the range and scope every report takes.
type reportQuery struct {
	rng     *reports.Range
	inboxID int64
	channel string
}

// reportParams reads from, to, tz, inbox and channel, refusing any parameter not in
// extra. maxDays 0 allows any range (exports). Returns invalid.
func reportParams(r *http.Request, maxDays int, extra ...string) (*reportQuery, error) {
	q := r.URL.Query()
	allowed := append([]string{"from", "to", "tz", "inbox", "channel"}, extra...)
	for k := range q {
		if !slices.Contains(allowed, k) {
			return nil, crm.Errorf(crm.EINVALID, "unknown parameter %q; allowed: %s", crm.CutBytes(k, 40), strings.Join(allowed, ", "))
		}
	}
	rng, err := reports.ParseRange(q.Get("from"), q.Get("to"), q.Get("tz"), maxDays)
	if err != nil {
		return nil, err
	}
	rq := &reportQuery{rng: rng, channel: q.Get("channel")}
	if rq.channel != "" {
		if err := oneOf("channel", rq.channel, channelNames...); err != nil {
			return nil, err
		}
	}
	if rq.inboxID, err = queryID(r, "inbox"); err != nil {
		return nil, err
	}
	return rq, nil
}

func (s *Server) handleReportOverview(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, reports.MaxRangeDays)
	if err != nil {
		return err
	}
	o, err := reports.OverviewOf(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleReportAgents(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, reports.MaxRangeDays)
	if err != nil {
		return err
	}
	b, err := reports.BreakdownOf(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": b.Agents})
	return nil
}

// handleReportMe is an agent's own row of the by-agent report: every agent may see what
// they did, not what their colleagues did.
func (s *Server) handleReportMe(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, reports.MaxRangeDays)
	if err != nil {
		return err
	}
	me := crm.AgentFrom(r.Context())
	// The row counts only the agent's own replies, resolutions and assignments, so it is
	// read over every inbox, as the managers' report is.
	b, err := reports.BreakdownOf(crm.AsSystem(r.Context()), s.store, rq.rng, rq.inboxID, rq.channel)
	if err != nil {
		return err
	}
	row := &reports.AgentRow{AgentID: me.ID, Name: me.Name}
	for _, a := range b.Agents {
		if a.AgentID == me.ID {
			row = a
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agent": row})
	return nil
}

func (s *Server) handleReportInboxes(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, reports.MaxRangeDays)
	if err != nil {
		return err
	}
	b, err := reports.BreakdownOf(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"inboxes": b.Inboxes, "channels": b.Channels})
	return nil
}

func (s *Server) handleReportTickets(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, reports.MaxRangeDays, "metric", "date", "agent_id", "status", "reason", "limit", "cursor")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := reports.Drill{Metric: q.Get("metric"), Date: q.Get("date"), Status: q.Get("status"), Page: p}
	if d.AgentID, err = queryID(r, "agent_id"); err != nil {
		return err
	}
	if q.Get("reason") == "none" {
		d.ReasonID = -1
	} else if d.ReasonID, err = queryID(r, "reason"); err != nil {
		return err
	}
	tickets, next, err := reports.TicketsOf(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": nonNil(tickets), "next_cursor": next})
	return nil
}

// startCSV sets the headers of a CSV download.
func startCSV(w http.ResponseWriter, name string) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	h.Set("Cache-Control", "no-store")
}

// handleTicketsCSV streams the tickets export. Once the first row is out an error can no
// longer become a JSON answer: it is logged and the download ends short.
func (s *Server) handleTicketsCSV(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, 0)
	if err != nil {
		return err
	}
	s.audit(r, "export", map[string]any{"what": "tickets.csv", "from": rq.rng.From, "to": rq.rng.To,
		"inbox": rq.inboxID, "channel": rq.channel})
	startCSV(w, fmt.Sprintf("tickets-%s-%s.csv", rq.rng.From, rq.rng.To))
	if n, err := reports.WriteTicketsCSV(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel, w); err != nil {
		s.log.Error("tickets export", "rows", n, "err", err)
	}
	return nil
}

func (s *Server) handleAgentsCSV(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, 0)
	if err != nil {
		return err
	}
	b, err := reports.BreakdownOf(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel)
	if err != nil {
		return err
	}
	s.audit(r, "export", map[string]any{"what": "agents.csv", "from": rq.rng.From, "to": rq.rng.To,
		"inbox": rq.inboxID, "channel": rq.channel})
	startCSV(w, fmt.Sprintf("agents-%s-%s.csv", rq.rng.From, rq.rng.To))
	if err := reports.WriteAgentsCSV(b, w); err != nil {
		s.log.Error("agents export", "err", err)
	}
	return nil
}

// handleHistory is a customer's timeline with ticket events and filters: channel, from
// and to (dates in tz), q and kinds.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := crm.HistoryFilter{Channel: q.Get("channel"), Query: q.Get("q"), Page: p}
	if f.Channel != "" {
		if err := oneOf("channel", f.Channel, channelNames...); err != nil {
			return err
		}
	}
	if len(f.Query) > 500 {
		return crm.Errorf(crm.EINVALID, "q is too long")
	}
	if k := q.Get("kinds"); k != "" {
		f.Kinds = strings.Split(k, ",")
		if len(f.Kinds) > 4 {
			return crm.Errorf(crm.EINVALID, "kinds lists at most message, ticket, order, event")
		}
	}
	if from, to := q.Get("from"), q.Get("to"); from != "" || to != "" {
		if from == "" {
			from = "2000-01-01"
		}
		if to == "" {
			to = time.Now().UTC().Format(time.DateOnly)
		}
		rng, err := reports.ParseRange(from, to, q.Get("tz"), 0)
		if err != nil {
			return err
		}
		f.From, f.To = rng.Start, rng.End
	}
	items, next, err := s.store.CustomerHistory(r.Context(), id, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"timeline": nonNil(items), "next_cursor": next})
	return nil
}

// handleReportReasons answers contacts, response times, contact rate and support cost by
// contact reason (docs/reports.md says how each figure is computed).
func (s *Server) handleReportReasons(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, reports.MaxRangeDays)
	if err != nil {
		return err
	}
	rep, err := reports.ReasonsOf(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) handleReasonsCSV(w http.ResponseWriter, r *http.Request) error {
	rq, err := reportParams(r, reports.MaxRangeDays)
	if err != nil {
		return err
	}
	rep, err := reports.ReasonsOf(r.Context(), s.store, rq.rng, rq.inboxID, rq.channel)
	if err != nil {
		return err
	}
	s.audit(r, "export", map[string]any{"what": "reasons.csv", "from": rq.rng.From, "to": rq.rng.To,
		"inbox": rq.inboxID, "channel": rq.channel})
	startCSV(w, fmt.Sprintf("reasons-%s-%s.csv", rq.rng.From, rq.rng.To))
	if err := reports.WriteReasonsCSV(rep, w); err != nil {
		s.log.Error("reasons export", "err", err)
	}
	return nil
}
