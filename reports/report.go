package reports

import (
	"context"
	"math"
	"slices"
	"strconv"
	"time"

	"parley/crm"
)

// MaxRangeDays is the longest range of a report or chart; exports may span any range.
const MaxRangeDays = 366

// Range is a report's dates, inclusive, in a time zone.
type Range struct {
	From, To string // YYYY-MM-DD
	Loc      *time.Location
	Start    time.Time // midnight starting From
	End      time.Time // midnight after To
}

// ParseRange reads from and to (YYYY-MM-DD, inclusive) in the IANA zone tz (default
// UTC). maxDays limits the range's length; 0 means no limit. Returns invalid for a bad
// date or zone, from after to, a year outside 2000-2200 or a range too long.
func ParseRange(from, to, tz string, maxDays int) (*Range, error) {
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || len(tz) > 64 {
		return nil, crm.Errorf(crm.EINVALID, "tz must be an IANA time zone such as Europe/Berlin")
	}
	if from == "" || to == "" {
		return nil, crm.Errorf(crm.EINVALID, "from and to are required (YYYY-MM-DD)")
	}
	r := &Range{From: from, To: to, Loc: loc}
	var d [2]time.Time
	for i, s := range []string{from, to} {
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil || len(s) != 10 {
			return nil, crm.Errorf(crm.EINVALID, "%q is not a date (YYYY-MM-DD)", crm.CutBytes(s, 20))
		}
		if t.Year() < 2000 || t.Year() > 2200 {
			return nil, crm.Errorf(crm.EINVALID, "dates must be in the years 2000 to 2200")
		}
		d[i] = t
	}
	if d[0].After(d[1]) {
		return nil, crm.Errorf(crm.EINVALID, "from must not be after to")
	}
	r.Start = d[0]
	r.End = time.Date(d[1].Year(), d[1].Month(), d[1].Day()+1, 0, 0, 0, 0, loc)
	if days := r.days(); maxDays > 0 && days > maxDays {
		return nil, crm.Errorf(crm.EINVALID, "the range is %d days; at most %d are allowed", days, maxDays)
	}
	return r, nil
}

// days counts the calendar days of the range.
func (r *Range) days() int {
	n := 0
	for d := r.Start; d.Before(r.End) && n <= 100000; n++ {
		d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, r.Loc)
	}
	return n
}

// Filter is the store filter of the range with a scope.
func (r *Range) Filter(inboxID int64, channel string) crm.ReportFilter {
	return crm.ReportFilter{From: r.Start, To: r.End, InboxID: inboxID, Channel: channel}
}

func (r *Range) in(t *time.Time) bool {
	return t != nil && !t.Before(r.Start) && t.Before(r.End)
}

// date is the local date of t in the range's zone.
func (r *Range) date(t time.Time) string { return t.In(r.Loc).Format(time.DateOnly) }

// Stats are a duration's median and 90th percentile, nearest-rank, in seconds; nil
// without values.
type Stats struct {
	Median *int64 `json:"median"`
	P90    *int64 `json:"p90"`
	Count  int    `json:"count"`
}

func statsOf(v []int64) Stats {
	s := Stats{Count: len(v)}
	if len(v) == 0 {
		return s
	}
	slices.Sort(v)
	rank := func(p float64) *int64 {
		i := int(math.Ceil(p*float64(len(v)))) - 1
		x := v[max(i, 0)]
		return &x
	}
	s.Median, s.P90 = rank(0.5), rank(0.9)
	return s
}

// SLACount counts tickets whose SLA was decided in the range.
type SLACount struct {
	Met    int `json:"met"`
	Missed int `json:"missed"`
}

// Percent is the share met, rounded to one decimal; nil when nothing was decided.
func (c SLACount) Percent() *float64 {
	if c.Met+c.Missed == 0 {
		return nil
	}
	p := math.Round(1000*float64(c.Met)/float64(c.Met+c.Missed)) / 10
	return &p
}

// CSAT is the count and average (two decimals; nil without answers) of ratings.
type CSAT struct {
	Count   int      `json:"count"`
	Average *float64 `json:"average"`
}

// Day is one day of the overview chart.
type Day struct {
	Date      string         `json:"date"`
	Created   int            `json:"created"`
	Resolved  int            `json:"resolved"`
	ByChannel map[string]int `json:"by_channel"`
}

// Overview is the overview report.
type Overview struct {
	From            string         `json:"from"`
	To              string         `json:"to"`
	TicketsCreated  int            `json:"tickets_created"`
	TicketsResolved int            `json:"tickets_resolved"`
	Backlog         map[string]int `json:"backlog"`
	ByChannel       map[string]int `json:"by_channel"`
	ByDay           []*Day         `json:"by_day"`
	FirstResponse   Stats          `json:"first_response_seconds"`
	Resolution      Stats          `json:"resolution_seconds"`
	SLAMetPercent   *float64       `json:"sla_met_percent"`
	SLA             SLACount       `json:"sla"`
	CSAT            CSAT           `json:"csat"`
}

// Metrics are the numbers of one agent, inbox or channel.
type Metrics struct {
	TicketsCreated  int      `json:"tickets_created"`
	Assigned        int      `json:"assigned"`
	Replies         int      `json:"replies"`
	TicketsResolved int      `json:"tickets_resolved"`
	FirstResponse   Stats    `json:"first_response_seconds"`
	Resolution      Stats    `json:"resolution_seconds"`
	SLAMetPercent   *float64 `json:"sla_met_percent"`
	SLA             SLACount `json:"sla"`
	CSAT            CSAT     `json:"csat"`
}

// Metric names of the drill-down.
const (
	MetricCreated       = "created"
	MetricResolved      = "resolved"
	MetricBacklog       = "backlog"
	MetricFirstResponse = "first_response"
	MetricSLAMissed     = "sla_missed"
	MetricSLAMet        = "sla_met"
	MetricCSAT          = "csat"
)

// Metrics lists the drill-down metrics.
var MetricNames = []string{MetricCreated, MetricResolved, MetricBacklog, MetricFirstResponse, MetricSLAMissed, MetricSLAMet, MetricCSAT}

// counts reports whether fact x counts toward metric in range r, and the moment that
// decides its day. Every number of every report is a count over this one predicate, so
// the drill-down lists exactly the tickets behind a number.
func counts(r *Range, x *crm.TicketFact, metric string) (bool, time.Time) {
	switch metric {
	case MetricCreated:
		return r.in(&x.CreatedAt), x.CreatedAt
	case MetricResolved:
		if x.ResolvedInRange != nil {
			return true, *x.ResolvedInRange
		}
	case MetricBacklog:
		ok := (x.Status == crm.StatusOpen || x.Status == crm.StatusPending) && x.CreatedAt.Before(r.End)
		return ok, x.CreatedAt
	case MetricFirstResponse:
		return r.in(&x.CreatedAt) && x.FirstResponseSecs != nil, x.CreatedAt
	case MetricSLAMet, MetricSLAMissed:
		if x.HasPolicy && x.SLAMet != nil && r.in(x.SLADecidedAt) {
			return *x.SLAMet == (metric == MetricSLAMet), *x.SLADecidedAt
		}
	case MetricCSAT:
		if x.Rating > 0 && r.in(x.AnsweredAt) {
			return true, *x.AnsweredAt
		}
	}
	return false, time.Time{}
}

// owner returns the agent a metric of a ticket is credited to: the agent who sent the
// first reply for first response, the agent who resolved it for resolved (the assignee
// when a rule or the system did), else the ticket's assignee.
func owner(x *crm.TicketFact, metric string) int64 {
	switch {
	case metric == MetricFirstResponse:
		return x.FirstResponseBy
	case metric == MetricResolved && x.ResolvedBy != 0:
		return x.ResolvedBy
	}
	return x.AssigneeID
}

// accumulate adds fact x to m.
func accumulate(m *Metrics, x *crm.TicketFact, metric string, csatSum *int, fr, res *[]int64) {
	switch metric {
	case MetricCreated:
		m.TicketsCreated++
		if x.AssigneeID != 0 {
			m.Assigned++
		}
	case MetricResolved:
		m.TicketsResolved++
		if x.ResolutionSecs != nil {
			*res = append(*res, *x.ResolutionSecs)
		}
	case MetricFirstResponse:
		*fr = append(*fr, *x.FirstResponseSecs)
	case MetricSLAMet:
		m.SLA.Met++
	case MetricSLAMissed:
		m.SLA.Missed++
	case MetricCSAT:
		m.CSAT.Count++
		*csatSum += x.Rating
	}
}

// group accumulates the metrics of one row of a breakdown.
type group struct {
	m       Metrics
	csatSum int
	fr, res []int64
}

func (g *group) finish() Metrics {
	g.m.FirstResponse, g.m.Resolution = statsOf(g.fr), statsOf(g.res)
	g.m.SLAMetPercent = g.m.SLA.Percent()
	g.m.CSAT.Average = average(g.csatSum, g.m.CSAT.Count)
	return g.m
}

func average(sum, n int) *float64 {
	if n == 0 {
		return nil
	}
	a := math.Round(100*float64(sum)/float64(n)) / 100
	return &a
}

// ComputeOverview computes the overview report from the facts of range r.
func ComputeOverview(r *Range, facts []*crm.TicketFact) *Overview {
	o := &Overview{From: r.From, To: r.To, Backlog: map[string]int{crm.StatusOpen: 0, crm.StatusPending: 0},
		ByChannel: map[string]int{}, ByDay: []*Day{}}
	days := map[string]*Day{}
	for d := r.Start; d.Before(r.End); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, r.Loc) {
		day := &Day{Date: d.Format(time.DateOnly), ByChannel: map[string]int{}}
		days[day.Date] = day
		o.ByDay = append(o.ByDay, day)
	}
	var g group
	for _, x := range facts {
		for _, metric := range MetricNames {
			ok, at := counts(r, x, metric)
			if !ok {
				continue
			}
			accumulate(&g.m, x, metric, &g.csatSum, &g.fr, &g.res)
			switch metric {
			case MetricCreated:
				o.ByChannel[x.Channel]++
				if d := days[r.date(at)]; d != nil {
					d.Created++
					d.ByChannel[x.Channel]++
				}
			case MetricResolved:
				if d := days[r.date(at)]; d != nil {
					d.Resolved++
				}
			case MetricBacklog:
				o.Backlog[x.Status]++
			}
		}
	}
	m := g.finish()
	o.TicketsCreated, o.TicketsResolved = m.TicketsCreated, m.TicketsResolved
	o.FirstResponse, o.Resolution = m.FirstResponse, m.Resolution
	o.SLA, o.SLAMetPercent, o.CSAT = m.SLA, m.SLAMetPercent, m.CSAT
	return o
}

// Breakdown holds the per-agent, per-inbox and per-channel reports.
type Breakdown struct {
	Agents   []*AgentRow   `json:"agents,omitempty"`
	Inboxes  []*InboxRow   `json:"inboxes,omitempty"`
	Channels []*ChannelRow `json:"channels,omitempty"`
}

// AgentRow is one agent's metrics.
type AgentRow struct {
	AgentID int64  `json:"agent_id"`
	Name    string `json:"name"`
	Metrics
}

// InboxRow is one inbox's metrics.
type InboxRow struct {
	InboxID int64  `json:"inbox_id"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Metrics
}

// ChannelRow is one channel's metrics.
type ChannelRow struct {
	Channel string `json:"channel"`
	Metrics
}

// ComputeBreakdown groups the facts and reply counts of range r by agent, inbox and
// channel. Every enabled agent and every inbox has a row, with zeros when idle;
// channels appear once they have a number.
func ComputeBreakdown(r *Range, facts []*crm.TicketFact, replies []crm.ReplyCount, agents []*crm.Agent, inboxes []*crm.Inbox) *Breakdown {
	byAgent, byInbox, byChannel := map[int64]*group{}, map[int64]*group{}, map[string]*group{}
	get := func(m map[int64]*group, k int64) *group {
		if m[k] == nil {
			m[k] = &group{}
		}
		return m[k]
	}
	for _, x := range facts {
		for _, metric := range MetricNames {
			if ok, _ := counts(r, x, metric); !ok || metric == MetricBacklog {
				continue
			}
			for _, g := range []*group{get(byInbox, x.InboxID), channelGroup(byChannel, x.Channel)} {
				accumulate(&g.m, x, metric, &g.csatSum, &g.fr, &g.res)
			}
			if a := owner(x, metric); a != 0 {
				g := get(byAgent, a)
				accumulate(&g.m, x, metric, &g.csatSum, &g.fr, &g.res)
			}
		}
	}
	for _, rc := range replies {
		get(byAgent, rc.AgentID).m.Replies += rc.Count
		get(byInbox, rc.InboxID).m.Replies += rc.Count
		channelGroup(byChannel, rc.Channel).m.Replies += rc.Count
	}
	b := &Breakdown{Agents: []*AgentRow{}, Inboxes: []*InboxRow{}, Channels: []*ChannelRow{}}
	for _, a := range agents {
		g := byAgent[a.ID]
		if g == nil && a.Disabled {
			continue
		}
		if g == nil {
			g = &group{}
		}
		b.Agents = append(b.Agents, &AgentRow{AgentID: a.ID, Name: a.Name, Metrics: g.finish()})
	}
	for _, in := range inboxes {
		g := byInbox[in.ID]
		if g == nil {
			g = &group{}
		}
		b.Inboxes = append(b.Inboxes, &InboxRow{InboxID: in.ID, Name: in.Name, Kind: in.Kind, Metrics: g.finish()})
	}
	for ch, g := range byChannel {
		b.Channels = append(b.Channels, &ChannelRow{Channel: ch, Metrics: g.finish()})
	}
	slices.SortFunc(b.Channels, func(a, b *ChannelRow) int {
		if a.Channel < b.Channel {
			return -1
		} else if a.Channel > b.Channel {
			return 1
		}
		return 0
	})
	return b
}

func channelGroup(m map[string]*group, ch string) *group {
	if m[ch] == nil {
		m[ch] = &group{}
	}
	return m[ch]
}

// Drill selects the tickets behind one number.
type Drill struct {
	Metric  string
	Date    string // YYYY-MM-DD: only the tickets of that day of by_day
	AgentID int64  // only those credited to the agent
	Status  string // backlog only: open or pending
	// ReasonID keeps the tickets of one contact reason; -1 those without one.
	ReasonID int64
	Page     crm.Page
}

// DrillIDs returns the ids of the tickets behind a number, newest first, one page after
// the cursor (the last id of the previous page). Returns invalid.
func DrillIDs(r *Range, facts []*crm.TicketFact, d Drill) ([]int64, string, error) {
	if !slices.Contains(MetricNames, d.Metric) {
		return nil, "", crm.Errorf(crm.EINVALID, "metric must be one of created, resolved, backlog, first_response, sla_missed, sla_met, csat")
	}
	if d.Status != "" && (d.Metric != MetricBacklog || (d.Status != crm.StatusOpen && d.Status != crm.StatusPending)) {
		return nil, "", crm.Errorf(crm.EINVALID, "status is open or pending, with metric=backlog")
	}
	if d.Date != "" {
		t, err := time.ParseInLocation(time.DateOnly, d.Date, r.Loc)
		if err != nil || t.Before(r.Start) || !t.Before(r.End) {
			return nil, "", crm.Errorf(crm.EINVALID, "date must be a day of the range (YYYY-MM-DD)")
		}
	}
	var after int64 = math.MaxInt64
	if d.Page.Cursor != "" {
		v, err := strconv.ParseInt(d.Page.Cursor, 10, 64)
		if err != nil || v <= 0 {
			return nil, "", crm.Errorf(crm.EINVALID, "invalid cursor")
		}
		after = v
	}
	limit := d.Page.Limit
	if limit < 1 || limit > crm.MaxLimit {
		limit = crm.DefaultLimit
	}
	var ids []int64
	for _, x := range facts {
		ok, at := counts(r, x, d.Metric)
		switch {
		case !ok, x.ID >= after:
		case d.Date != "" && r.date(at) != d.Date:
		case d.AgentID != 0 && owner(x, d.Metric) != d.AgentID:
		case d.Status != "" && x.Status != d.Status:
		case d.ReasonID > 0 && x.ReasonID != d.ReasonID, d.ReasonID < 0 && x.ReasonID != 0:
		default:
			ids = append(ids, x.ID)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	var next string
	if len(ids) > limit {
		ids = ids[:limit]
		next = strconv.FormatInt(ids[limit-1], 10)
	}
	return ids, next, nil
}

// OverviewOf reads the facts of range r in a scope and computes the overview.
func OverviewOf(ctx context.Context, store crm.ReportService, r *Range, inboxID int64, channel string) (*Overview, error) {
	facts, err := store.ReportFacts(ctx, r.Filter(inboxID, channel))
	if err != nil {
		return nil, err
	}
	return ComputeOverview(r, facts), nil
}

// BreakdownStore is what BreakdownOf reads.
type BreakdownStore interface {
	crm.ReportService
	Agents(ctx context.Context) ([]*crm.Agent, error)
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
}

// BreakdownOf reads the facts and replies of range r in a scope and groups them.
func BreakdownOf(ctx context.Context, store BreakdownStore, r *Range, inboxID int64, channel string) (*Breakdown, error) {
	f := r.Filter(inboxID, channel)
	facts, err := store.ReportFacts(ctx, f)
	if err != nil {
		return nil, err
	}
	replies, err := store.ReplyCounts(ctx, f)
	if err != nil {
		return nil, err
	}
	agents, err := store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	inboxes, err := store.Inboxes(ctx)
	if err != nil {
		return nil, err
	}
	if inboxID != 0 {
		inboxes = slices.DeleteFunc(inboxes, func(in *crm.Inbox) bool { return in.ID != inboxID })
	}
	return ComputeBreakdown(r, facts, replies, agents, inboxes), nil
}

// TicketsOf returns the tickets behind a number and the next page's cursor.
func TicketsOf(ctx context.Context, store crm.ReportService, r *Range, inboxID int64, channel string, d Drill) ([]*crm.Ticket, string, error) {
	facts, err := store.ReportFacts(ctx, r.Filter(inboxID, channel))
	if err != nil {
		return nil, "", err
	}
	ids, next, err := DrillIDs(r, facts, d)
	if err != nil {
		return nil, "", err
	}
	tickets, err := store.TicketsByID(ctx, ids)
	return tickets, next, err
}
