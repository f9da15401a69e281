package reports

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"parley/crm"
	"parley/i18n"
)

// SurveyReplyText is the survey sent on SMS, WhatsApp and Discord, in English; an inbox
// whose language setting names another language sends that language's (i18n "csat.reply").
var SurveyReplyText = i18n.Text(i18n.Default, "csat.reply")

// projectBatch is how many events one projection transaction covers.
const projectBatch = 500

// Options configure a Service.
type Options struct {
	// PublicURL is where customers reach Parley, scheme and host: the email survey links
	// point to PublicURL/csat/{token}. Without it no email surveys are sent.
	PublicURL *url.URL
	Logger    *slog.Logger
	// Now is the clock. Default time.Now; tests inject their own.
	Now func() time.Time
	// Interval is how often SLA due times are checked. Default 30 seconds.
	Interval time.Duration
	// Tick replaces the interval's ticker, for tests.
	Tick <-chan time.Time
}

// Service keeps the per-ticket SLA state current from the event log, publishes SLA
// warnings, records breaches and sends CSAT surveys when tickets are resolved.
type Service struct {
	store Store
	bus   crm.Bus
	opt   Options
	log   *slog.Logger
	base  string // PublicURL's scheme and host, "" without one

	mu       sync.Mutex // Sync and Watch run one at a time: both write ticket_sla rows
	floor    int64      // resolutions in events up to this id get no survey
	floorSet bool
	warned   map[string]time.Time // warnings sent, by ticket/target/due, until due
}

// New returns a Service over store that publishes warnings on bus.
func New(store Store, bus crm.Bus, opt Options) *Service {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Interval <= 0 {
		opt.Interval = 30 * time.Second
	}
	s := &Service{store: store, bus: bus, opt: opt, log: opt.Logger, warned: map[string]time.Time{}}
	if opt.PublicURL != nil {
		s.base = opt.PublicURL.Scheme + "://" + opt.PublicURL.Host
	}
	return s
}

// Run projects new events as the bus announces them and checks due times on every tick,
// until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	ctx = crm.AsSystem(ctx) // reports, SLA timers and surveys cover every inbox
	var wake <-chan *crm.Event
	if s.bus != nil {
		sub := s.bus.Subscribe(1024)
		defer sub.Close()
		wake = sub.C
	}
	tick := s.opt.Tick
	if tick == nil {
		t := time.NewTicker(s.opt.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("project events for reports", "err", err)
		}
		if !s.wait(ctx, wake, tick) {
			return nil
		}
	}
}

// settleTime is how long Run lets a burst of events gather before it projects them: a
// pass over hundreds of events costs little more than a pass over a few, and under load
// a pass per event took CPU from the work that made the events.
const settleTime = 200 * time.Millisecond

// wait returns when there are stored events to project, checking due times on every
// tick meanwhile. It returns false when ctx is done or the bus closed.
func (s *Service) wait(ctx context.Context, wake <-chan *crm.Event, tick <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case e, ok := <-wake:
			if !ok {
				return false
			}
			if e.ID == 0 {
				continue // live signals change nothing stored
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(settleTime):
			}
			// What came meanwhile is in the store for the next pass.
			for len(wake) > 0 {
				<-wake
			}
			return true
		case <-tick:
			// Watch projects what is new first, so nothing is left for Run's pass.
			if err := s.Watch(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("watch sla due times", "err", err)
			}
		}
	}
}

// Sync projects every stored event not yet projected into the per-ticket SLA state and
// queues a CSAT survey for each ticket that became resolved. On the very first run it
// only catches up: tickets resolved before Parley had reports get no survey.
func (s *Service) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync(ctx)
}

func (s *Service) sync(ctx context.Context) error {
	after, newest, err := s.store.ProjectionCursor(ctx)
	if err != nil {
		return err
	}
	if !s.floorSet {
		s.floor, s.floorSet = 0, true
		if after == 0 {
			s.floor = newest
		}
	}
	for {
		events, err := s.store.Events(ctx, after, projectBatch)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		p, resolved, err := s.project(ctx, events)
		if err != nil {
			return err
		}
		// Surveys go before the cursor moves: a crash in between asks again, and the store
		// asks a ticket once ever.
		if err := s.requestSurveys(ctx, resolved); err != nil {
			return err
		}
		if err := s.store.SaveProjection(ctx, p); err != nil {
			return err
		}
		// A short batch was the end of the log when it was read. Events stored since then
		// wake Run for the next pass: following them here, a batch at a time as they come,
		// would project a few dozen per pass and never let them settle.
		if len(events) < projectBatch {
			return nil
		}
		after = p.After
	}
}

// project derives the changes of a batch of events. It returns the tickets that became
// resolved after the survey floor.
func (s *Service) project(ctx context.Context, events []*crm.Event) (*crm.Projection, []int64, error) {
	policies, err := s.store.SLAPolicies(ctx)
	if err != nil {
		return nil, nil, err
	}
	ps := newPolicySet(policies)
	var ids []int64
	for _, e := range events {
		if e.TicketID != 0 {
			ids = append(ids, e.TicketID)
		}
	}
	rows, err := s.store.TicketSLAs(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	p := &crm.Projection{After: events[len(events)-1].ID}
	dirty := map[int64]bool{}
	var resolved []int64
	for _, e := range events {
		switch e.Type {
		case crm.EventTicketCreated, crm.EventTicketUpdated:
			var t crm.Ticket
			if err := json.Unmarshal(e.Data, &t); err != nil || t.ID == 0 {
				s.log.Warn("ticket event without a ticket", "event", e.ID, "err", err)
				continue
			}
			r := rows[t.ID]
			fresh := r == nil
			if fresh {
				r = &crm.TicketSLA{TicketID: t.ID, CreatedAt: t.CreatedAt}
				rows[t.ID] = r
			}
			assignee := int64(0)
			if t.AssigneeID != nil {
				assignee = *t.AssigneeID
			}
			if !fresh && (r.Status != t.Status || r.AssigneeID != assignee) {
				p.History = append(p.History, crm.HistoryMark{EventID: e.ID, TicketID: t.ID, At: e.At})
			}
			if t.Status == crm.StatusResolved && t.ResolvedAt != nil {
				// The first event that shows this resolution is the one that made it: its
				// agent is credited with it (the store keeps the first).
				res := crm.Resolution{TicketID: t.ID, At: *t.ResolvedAt}
				if e.Actor.Kind == "agent" {
					res.By = e.Actor.ID
				}
				p.Resolutions = append(p.Resolutions, res)
				if r.FirstResolvedAt == nil {
					at := *t.ResolvedAt
					r.FirstResolvedAt = &at
				}
				if r.Status != crm.StatusResolved && e.ID > s.floor {
					resolved = append(resolved, t.ID)
				}
			}
			rematch := fresh || r.InboxID != t.InboxID || r.Priority != t.Priority
			r.InboxID, r.Status, r.Priority, r.AssigneeID = t.InboxID, t.Status, t.Priority, assignee
			if rematch {
				ps.applyPolicy(r)
			}
			dirty[t.ID] = true
		case crm.EventMessageCreated:
			if e.Actor.Kind != "agent" {
				continue // only an agent's reply counts, and only an agent writes one: spare decoding the rest
			}
			var m crm.Message
			if err := json.Unmarshal(e.Data, &m); err != nil || m.Direction != crm.DirOut || m.Author.Kind != "agent" {
				continue
			}
			r := rows[e.TicketID]
			if r == nil {
				// Projection began after the ticket's creation event: start from the ticket.
				t, err := s.store.Ticket(ctx, e.TicketID)
				if crm.ErrorCode(err) == crm.ENOTFOUND {
					continue
				} else if err != nil {
					return nil, nil, err
				}
				r = &crm.TicketSLA{TicketID: t.ID, CreatedAt: t.CreatedAt, InboxID: t.InboxID, Status: t.Status, Priority: t.Priority}
				ps.applyPolicy(r)
				rows[t.ID] = r
			}
			if r.FirstResponseAt == nil {
				at := m.CreatedAt
				r.FirstResponseAt, r.FirstResponseBy = &at, m.Author.ID
				dirty[r.TicketID] = true
			}
		case crm.EventCSATAnswered:
			p.History = append(p.History, crm.HistoryMark{EventID: e.ID, TicketID: e.TicketID, At: e.At})
		}
	}
	for id := range dirty {
		r := rows[id]
		ps.durations(r)
		evaluate(r)
		p.Rows = append(p.Rows, r)
	}
	slices.SortFunc(p.Rows, func(a, b *crm.TicketSLA) int { return int(a.TicketID - b.TicketID) })
	return p, resolved, nil
}

// requestSurveys queues the CSAT survey of each newly resolved ticket, as the settings
// allow. A survey that fails is logged and not retried: a survey is a courtesy, and one
// ticket must not stop reports.
func (s *Service) requestSurveys(ctx context.Context, tickets []int64) error {
	if len(tickets) == 0 {
		return nil
	}
	set, err := s.store.CSATSettings(ctx)
	if err != nil {
		return err
	}
	if !set.Enabled {
		return nil
	}
	channels := set.Channels
	if s.base == "" {
		channels = slices.DeleteFunc(slices.Clone(channels), func(c string) bool { return c == crm.ChannelEmail })
	}
	langs := map[int64]string{} // by inbox: many tickets of one inbox resolve together
	for _, id := range tickets {
		token := randomToken()
		lang := s.surveyLang(ctx, id, langs)
		req := &crm.CSATRequest{TicketID: id, Token: token, ReplyText: i18n.Text(lang, "csat.reply"), Channels: channels,
			EmailText: s.emailSurvey(lang, token)}
		if v, err := s.store.QueueCSATSurvey(ctx, req); err != nil {
			s.log.Error("queue csat survey", "ticket", id, "err", err)
		} else if v != nil {
			s.log.Info("csat survey", "ticket", id, "channel", v.Channel, "status", v.Status)
		}
	}
	return nil
}

// surveyLang is the language a ticket's survey is sent in: the language setting of the
// ticket's inbox when it names one, else English, since an email or a text message
// carries no language of its own. (A chat ticket's survey is no message: the widget asks
// in its own language.) langs caches the answer by inbox.
func (s *Service) surveyLang(ctx context.Context, ticketID int64, langs map[int64]string) string {
	t, err := s.store.Ticket(ctx, ticketID)
	if err != nil {
		return i18n.Default
	}
	if l, ok := langs[t.InboxID]; ok {
		return l
	}
	l := i18n.Default
	if in, err := s.store.Inbox(ctx, t.InboxID); err == nil {
		l = i18n.Of(in.Config)
	}
	langs[t.InboxID] = l
	return l
}

// emailSurvey is the text of the email survey in lang: one link per rating.
func (s *Service) emailSurvey(lang, token string) string {
	var b strings.Builder
	b.WriteString(i18n.Text(lang, "csat.email") + "\n\n")
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, "%s: %s/csat/%s?rating=%d\n", i18n.Text(lang, fmt.Sprintf("csat.rating.%d", i)), s.base, token, i)
	}
	b.WriteString("\n" + i18n.Text(lang, "csat.email_thanks") + "\n")
	return b.String()
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Watch publishes an sla.warning for each target falling due within its policy's warning
// time, once, and records a breach (a stored ticket.sla_breached event) for each target
// that fell due unmet. It projects pending events first, so that a reply just stored
// is not taken for a breach.
func (s *Service) Watch(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.sync(ctx); err != nil {
		return err
	}
	now := s.opt.Now().UTC()
	policies, err := s.store.SLAPolicies(ctx)
	if err != nil {
		return err
	}
	warn := map[int64]time.Duration{}
	var maxWarn time.Duration
	for _, p := range policies {
		warn[p.ID] = time.Duration(p.WarnMinutes) * time.Minute
		maxWarn = max(maxWarn, warn[p.ID])
	}
	for k, due := range s.warned {
		if due.Before(now) {
			delete(s.warned, k)
		}
	}
	due, err := s.store.DueSLAs(ctx, now.Add(maxWarn+time.Millisecond))
	if err != nil {
		return err
	}
	for _, r := range due {
		targets := []struct {
			name       string
			due        *time.Time
			done, miss *time.Time
		}{
			{crm.TargetFirstResponse, r.FirstResponseDue, r.FirstResponseAt, r.FirstResponseBreachedAt},
			{crm.TargetResolution, r.ResolutionDue, r.FirstResolvedAt, r.ResolutionBreachedAt},
		}
		for _, x := range targets {
			if x.due == nil || x.done != nil || x.miss != nil {
				continue
			}
			if !x.due.After(now) {
				if _, err := s.store.RecordSLABreach(ctx, r.TicketID, x.name); err != nil {
					return fmt.Errorf("record breach of ticket %d: %w", r.TicketID, err)
				}
				continue
			}
			key := fmt.Sprintf("%d/%s/%d", r.TicketID, x.name, x.due.UnixMilli())
			if _, done := s.warned[key]; done || x.due.Sub(now) > warn[r.PolicyID] || s.bus == nil {
				continue
			}
			s.warned[key] = *x.due
			data, _ := json.Marshal(map[string]any{"ticket_id": r.TicketID, "target": x.name, "due_at": x.due.UTC()})
			s.bus.Publish(&crm.Event{Type: crm.EventSLAWarning, TicketID: r.TicketID, InboxID: r.InboxID,
				Actor: crm.Actor{Kind: "system"}, Data: data, At: now})
		}
	}
	return nil
}
