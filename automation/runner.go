package automation

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	"parley/crm"
)

// Store is what the runner uses of the store.
type Store interface {
	FactStore
	crm.RuleQueue
	Rules(ctx context.Context) ([]*crm.Rule, error)
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	Tickets(ctx context.Context, f crm.TicketFilter) ([]*crm.Ticket, string, error)
	UpdateTicket(ctx context.Context, id int64, u crm.TicketUpdate) (*crm.Ticket, error)
	AddMessage(ctx context.Context, nm *crm.NewMessage) (*crm.Message, error)
	Agent(ctx context.Context, id int64) (*crm.Agent, error)
	CannedResponses(ctx context.Context) ([]*crm.CannedResponse, error)
	SLAPolicies(ctx context.Context) ([]*crm.SLAPolicy, error)
	PhoneOptedOut(ctx context.Context, inboxID int64, phone string) (bool, error)
}

// Options configure a Runner. Store is required.
type Options struct {
	Store Store
	// Bus, when set, wakes the runner as soon as events are stored and brings the SLA
	// warnings, which are live only: a warning that comes while no runner runs is not
	// acted on. Without it the runner looks every Poll.
	Bus    crm.Bus
	Logger *slog.Logger
	// Now is the clock of time-based triggers and the rate cap. Default time.Now.
	Now func() time.Time
	// Poll is how often the runner looks for new events (default one second); Scan how
	// often it looks for the tickets of time-based triggers (default one minute).
	Poll time.Duration
	Scan time.Duration
	// Rate is how many automated actions one ticket gets a minute at most (default
	// crm.DefaultRuleRate). The actions of a rule that would go over it are all skipped.
	Rate int
}

// Runner takes the actions of the rules. Create it with New and call Run once; it runs
// on one node of a cluster at a time (cmd/parley holds the lease "rules").
type Runner struct {
	opt    Options
	log    *slog.Logger
	engine *Engine
	recent map[int64][]time.Time // the automated actions of each ticket in the last minute
}

const (
	eventPage  = 200
	scanPage   = crm.MaxLimit
	maxScanned = 10000 // tickets one scan of a time-based rule looks at
	rateWindow = time.Minute
	// wakeBatches is how long after a stored event the runner reads the log: a busy
	// shop's events are read a few hundred at a time instead of a commit's worth, which
	// keeps the rules' reads and cursor writes from slowing ingest (make bench).
	wakeBatches = 250 * time.Millisecond
)

// New returns a runner with opt's defaults filled in.
func New(opt Options) *Runner {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Scan <= 0 {
		opt.Scan = time.Minute
	}
	if opt.Rate <= 0 {
		opt.Rate = crm.DefaultRuleRate
	}
	return &Runner{opt: opt, log: opt.Logger, recent: map[int64][]time.Time{}}
}

// Run takes the rules' actions until ctx is done and returns nil then.
func (r *Runner) Run(ctx context.Context) error {
	ctx = crm.AsSystem(ctx) // rules see every inbox
	var wake <-chan *crm.Event
	if r.opt.Bus != nil {
		sub := r.opt.Bus.Subscribe(256)
		defer sub.Close()
		wake = sub.C
	}
	cursor, err := r.opt.Store.RuleCursor(ctx)
	for err != nil {
		if ctx.Err() != nil {
			return nil
		}
		r.log.Error("read rule cursor", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.opt.Poll):
		}
		cursor, err = r.opt.Store.RuleCursor(ctx)
	}
	tick := time.NewTicker(r.opt.Poll)
	defer tick.Stop()
	var scanned time.Time
	var warnings []*crm.Event
	for {
		r.Load(ctx)
		for _, w := range warnings {
			r.Handle(ctx, w)
		}
		warnings = warnings[:0]
		cursor = r.drain(ctx, cursor)
		if now := r.opt.Now(); now.Sub(scanned) >= r.opt.Scan {
			scanned = now
			r.ScanTimed(ctx)
		}
		var soon <-chan time.Time
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				break wait
			case <-soon:
				break wait
			case e, ok := <-wake:
				switch {
				case !ok:
					wake = nil
				case e.Type == crm.EventSLAWarning:
					warnings = append(warnings, e)
					if soon == nil {
						soon = time.After(wakeBatches)
					}
				case e.ID != 0 && soon == nil:
					soon = time.After(wakeBatches)
				}
			}
		}
	}
}

// Load reads and compiles the rules as they are now. Run calls it before each batch of
// events and each scan.
func (r *Runner) Load(ctx context.Context) {
	rules, err := r.opt.Store.Rules(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("read rules", "err", err)
		}
		return
	}
	var cals Calendars
	if needsCalendars(rules) {
		policies, err := r.opt.Store.SLAPolicies(ctx)
		if err != nil {
			r.log.Error("read SLA policies", "err", err)
			return
		}
		cals = NewCalendars(policies)
	}
	e, errs := Compile(rules, cals)
	for _, err := range errs {
		r.log.Warn("rule left out", "err", err)
	}
	r.engine = e
}

func needsCalendars(rules []*crm.Rule) bool {
	for _, x := range rules {
		for _, c := range slices.Concat(x.Conditions.All, x.Conditions.Any) {
			if crm.RuleFields[c.Field] == crm.FieldHours {
				return true
			}
		}
	}
	return false
}

// drain handles the stored events after cursor and returns the new cursor, stored.
func (r *Runner) drain(ctx context.Context, cursor int64) int64 {
	for ctx.Err() == nil {
		events, err := r.opt.Store.Events(ctx, cursor, eventPage)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("read events for rules", "err", err)
			}
			return cursor
		}
		if len(events) == 0 {
			return cursor
		}
		// The rules as they are now, read after the events: an event stored after a rule
		// was changed meets the rule as changed.
		r.Load(ctx)
		for _, e := range events {
			r.Handle(ctx, e)
			cursor = e.ID
		}
		// Stored after the batch: a crash in between repeats the batch's actions, which
		// the loop guard and the rate cap bound, rather than losing them.
		if err := r.opt.Store.SetRuleCursor(ctx, cursor); err != nil && ctx.Err() == nil {
			r.log.Error("store rule cursor", "err", err)
		}
		if len(events) < eventPage {
			return cursor
		}
	}
	return cursor
}

// message is what the runner reads of a message.created event.
type message struct {
	Direction string `json:"direction"`
	Text      string `json:"text"`
	Author    struct {
		Kind string `json:"kind"`
	} `json:"author"`
}

// Trigger returns the trigger an event is, "" for none, with the text of a customer's
// message.
func Trigger(e *crm.Event) (trigger, text string) {
	switch e.Type {
	case crm.EventTicketCreated:
		return crm.TriggerTicketCreated, ""
	case crm.EventTicketUpdated:
		return crm.TriggerTicketUpdated, ""
	case crm.EventMessageCreated:
		var m message
		if json.Unmarshal(e.Data, &m) == nil && m.Direction == crm.DirIn && m.Author.Kind == "customer" {
			return crm.TriggerMessageReceived, m.Text
		}
	case crm.EventSLAWarning:
		return crm.TriggerSLAWarning, ""
	case crm.EventSLABreached:
		return crm.TriggerSLABreached, ""
	case crm.EventOrderUpdated:
		return crm.TriggerOrderUpdated, ""
	}
	return "", ""
}

// Handle runs the rules of one event.
func (r *Runner) Handle(ctx context.Context, e *crm.Event) {
	trigger, text := Trigger(e)
	if trigger == "" || r.engine == nil || !r.engine.Has(trigger) {
		return
	}
	ticketID := e.TicketID
	if trigger == crm.TriggerOrderUpdated {
		ticketID = r.latestOpenTicket(ctx, e.CustomerID)
	}
	if ticketID == 0 {
		return
	}
	t, err := r.opt.Store.Ticket(ctx, ticketID)
	if err != nil {
		if crm.ErrorCode(err) != crm.ENOTFOUND {
			r.log.Error("read ticket for rules", "ticket", ticketID, "err", err)
		}
		return
	}
	if t.Status == crm.StatusClosed || t.MergedInto != 0 {
		return // nothing changes a closed ticket
	}
	f, err := LoadFacts(ctx, r.opt.Store, t, text, r.opt.Now())
	if err != nil {
		r.log.Error("read facts for rules", "ticket", ticketID, "err", err)
		return
	}
	for _, rule := range r.engine.Match(trigger, f, e.Actor) {
		r.act(ctx, rule, f, e)
	}
}

// latestOpenTicket returns the customer's ticket with the newest activity that is
// neither resolved nor closed, 0 without one.
func (r *Runner) latestOpenTicket(ctx context.Context, customerID int64) int64 {
	if customerID == 0 {
		return 0
	}
	list, _, err := r.opt.Store.Tickets(ctx, crm.TicketFilter{CustomerID: customerID, Snoozed: crm.SnoozedAny,
		Page: crm.Page{Limit: 20}})
	if err != nil {
		r.log.Error("read tickets of customer for rules", "customer", customerID, "err", err)
		return 0
	}
	for _, t := range list {
		if t.Status == crm.StatusOpen || t.Status == crm.StatusPending {
			return t.ID
		}
	}
	return 0
}

// allow reports whether ticket id may take n more automated actions now, and counts
// them when it may.
func (r *Runner) allow(id int64, n int) bool {
	now := r.opt.Now()
	list := r.recent[id]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= rateWindow {
		i++
	}
	list = list[i:]
	if len(list)+n > r.opt.Rate {
		r.recent[id] = list
		return false
	}
	for range n {
		list = append(list, now)
	}
	r.recent[id] = list
	return true
}

// forget drops the counts that no longer matter.
func (r *Runner) forget() {
	now := r.opt.Now()
	for id, list := range r.recent {
		if len(list) == 0 || now.Sub(list[len(list)-1]) >= rateWindow {
			delete(r.recent, id)
		}
	}
}

// act takes the actions of rule on the ticket of f, as the rule. e is the triggering
// event, nil for a time-based trigger.
func (r *Runner) act(ctx context.Context, rule *crm.Rule, f *Facts, e *crm.Event) {
	t := f.Ticket
	log := r.log.With("rule", rule.ID, "ticket", t.ID)
	if !r.allow(t.ID, len(rule.Actions)) {
		log.Warn("rule skipped: the ticket had its automated actions for this minute", "limit", r.opt.Rate)
		return
	}
	rctx := crm.AsRule(ctx, rule.ID)
	var u crm.TicketUpdate
	changed := false
	tags := slices.Clone(t.Tags)
	for _, a := range rule.Actions {
		switch a.Type {
		case crm.ActionAssignAgent:
			if cur := assignee(t); cur != a.AgentID {
				u.AssigneeID, changed = &a.AgentID, true
			}
		case crm.ActionAssignTeam:
			var cur int64
			if t.TeamID != nil {
				cur = *t.TeamID
			}
			if cur != a.TeamID {
				u.TeamID, changed = &a.TeamID, true
			}
		case crm.ActionSetStatus, crm.ActionResolve:
			s := a.Status
			if a.Type == crm.ActionResolve {
				s = crm.StatusResolved
			}
			if t.Status != s {
				u.Status, changed = &s, true
			}
		case crm.ActionSetPriority:
			if t.Priority != a.Priority {
				u.Priority, changed = &a.Priority, true
			}
		case crm.ActionAddTags:
			for _, tag := range a.Tags {
				if !slices.Contains(tags, tag) {
					tags, changed = append(tags, tag), true
					u.Tags = &tags
				}
			}
		case crm.ActionRemoveTags:
			for _, tag := range a.Tags {
				if i := slices.Index(tags, tag); i >= 0 {
					tags, changed = slices.Delete(tags, i, i+1), true
					u.Tags = &tags
				}
			}
		case crm.ActionSnooze:
			s := &crm.Snooze{UntilReply: a.UntilReply}
			if a.Hours > 0 {
				until := r.opt.Now().Add(time.Duration(a.Hours) * time.Hour).UTC().Truncate(time.Second)
				s.Until = &until
			}
			u.Snooze, changed = s, true
		}
	}
	if changed {
		nt, err := r.opt.Store.UpdateTicket(rctx, t.ID, u)
		if err != nil {
			log.Warn("rule could not change the ticket", "err", err)
		} else {
			f.Ticket = nt
		}
	}
	for _, a := range rule.Actions {
		switch a.Type {
		case crm.ActionAddNote:
			text, _ := Fill(a.Text, f, r.agentName(ctx, f.Ticket))
			if _, err := r.opt.Store.AddMessage(rctx, &crm.NewMessage{TicketID: t.ID, Body: text, Internal: true}); err != nil {
				log.Warn("rule could not add a note", "err", err)
			}
		case crm.ActionSendCanned:
			r.reply(ctx, rctx, rule, a, f, log)
		case crm.ActionWebhook:
			if e == nil || e.ID == 0 {
				log.Info("rule sends no webhook: its trigger is no stored event", "webhook", a.WebhookID)
				continue
			}
			if _, err := r.opt.Store.QueueWebhookEvent(rctx, a.WebhookID, e.ID); err != nil {
				log.Warn("rule could not queue the webhook", "webhook", a.WebhookID, "err", err)
			}
		}
	}
}

func assignee(t *crm.Ticket) int64 {
	if t.AssigneeID == nil {
		return 0
	}
	return *t.AssigneeID
}

func (r *Runner) agentName(ctx context.Context, t *crm.Ticket) string {
	if t.AssigneeID == nil {
		return ""
	}
	a, err := r.opt.Store.Agent(ctx, *t.AssigneeID)
	if err != nil {
		return ""
	}
	return a.Name
}

// Tags that mark a ticket whose customer must not get automatic replies: an email's
// auto-reply (channels/email tags it; the tag goes once the customer writes for real)
// and a bounce.
var noReplyTags = []string{"auto-reply", crm.TagBounce}

// NoAutoReply says why ticket f must not get an automatic reply, "" when it may: its
// customer's message was an auto-reply or a bounce, or the customer's number opted out
// (SMS STOP) of the ticket's inbox.
func NoAutoReply(ctx context.Context, st interface {
	PhoneOptedOut(ctx context.Context, inboxID int64, phone string) (bool, error)
}, f *Facts) (string, error) {
	for _, tag := range f.Ticket.Tags {
		if slices.Contains(noReplyTags, strings.ToLower(tag)) {
			return "the ticket is an " + tag, nil
		}
	}
	switch f.Ticket.Channel {
	case crm.ChannelSMS, crm.ChannelWhatsApp, crm.ChannelVoice:
		if f.Customer == nil {
			return "", nil
		}
		for _, id := range f.Customer.Identities {
			if id.Kind != crm.IdentityPhone {
				continue
			}
			out, err := st.PhoneOptedOut(ctx, f.Ticket.InboxID, id.Address)
			if err != nil {
				return "", err
			}
			if out {
				return "the customer's number opted out", nil
			}
		}
	}
	return "", nil
}

// reply sends a canned response to the customer, unless the customer must not get
// automatic replies, or a placeholder has no value (then a note says so).
func (r *Runner) reply(ctx, rctx context.Context, rule *crm.Rule, a crm.RuleAction, f *Facts, log *slog.Logger) {
	why, err := NoAutoReply(ctx, r.opt.Store, f)
	if err != nil {
		log.Error("rule could not check for auto-replies", "err", err)
		return
	}
	if why != "" {
		log.Info("rule sends no automatic reply", "why", why)
		return
	}
	list, err := r.opt.Store.CannedResponses(ctx)
	if err != nil {
		log.Error("read canned responses", "err", err)
		return
	}
	i := slices.IndexFunc(list, func(c *crm.CannedResponse) bool { return c.ID == a.CannedID })
	if i < 0 {
		log.Warn("rule names a canned response that is gone", "canned", a.CannedID)
		return
	}
	text, missing := Fill(list[i].Body, f, r.agentName(ctx, f.Ticket))
	if len(missing) > 0 {
		note := "Rule “" + rule.Name + "” did not send the canned response “" + list[i].Title + "”: no value for " +
			strings.Join(missing, ", ") + "."
		if _, err := r.opt.Store.AddMessage(rctx, &crm.NewMessage{TicketID: f.Ticket.ID, Body: note, Internal: true}); err != nil {
			log.Warn("rule could not add a note", "err", err)
		}
		return
	}
	if _, err := r.opt.Store.AddMessage(rctx, &crm.NewMessage{TicketID: f.Ticket.ID, Body: text}); err != nil {
		log.Warn("rule could not reply", "err", err)
	}
}

// ScanTimed runs the time-based rules: each acts once on each ticket that has waited
// its hours (pending and unchanged, or our reply unanswered), and again only after the
// ticket changed or was answered since.
func (r *Runner) ScanTimed(ctx context.Context) {
	r.forget()
	if r.engine == nil {
		return
	}
	now := r.opt.Now()
	for _, trigger := range []string{crm.TriggerPending, crm.TriggerNoCustomerReply} {
		rules := r.engine.Rules(trigger)
		if len(rules) == 0 {
			continue
		}
		err := EachTimed(ctx, r.opt.Store, trigger, func(t *crm.Ticket) error {
			var f *Facts
			for _, c := range rules {
				anchor, due := Waiting(trigger, t, c.Rule.Trigger.Hours, now)
				if !due {
					continue
				}
				fired, err := r.opt.Store.RuleFiredAt(ctx, c.Rule.ID, t.ID)
				if err != nil {
					return err
				}
				if !fired.IsZero() && !fired.Before(anchor) {
					continue
				}
				if f == nil {
					if f, err = LoadFacts(ctx, r.opt.Store, t, "", now); err != nil {
						return err
					}
				}
				if trigger == crm.TriggerNoCustomerReply && f.LastDirection != crm.DirOut {
					continue
				}
				if !c.Match(f) {
					continue
				}
				r.act(ctx, c.Rule, f, nil)
				if err := r.opt.Store.MarkRuleFired(ctx, c.Rule.ID, t.ID, r.opt.Now()); err != nil {
					return err
				}
				if c.Rule.Stop {
					break
				}
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			r.log.Error("scan for time-based rules", "trigger", trigger, "err", err)
		}
	}
}

// Waiting returns since when ticket t has waited for a time-based trigger, and whether
// it has waited hours by now: pending since its last change, or open or pending since
// its last message.
func Waiting(trigger string, t *crm.Ticket, hours int, now time.Time) (since time.Time, due bool) {
	wait := time.Duration(hours) * time.Hour
	switch trigger {
	case crm.TriggerPending:
		return t.UpdatedAt, t.Status == crm.StatusPending && !now.Before(t.UpdatedAt.Add(wait))
	case crm.TriggerNoCustomerReply:
		ok := t.Status == crm.StatusOpen || t.Status == crm.StatusPending
		return t.LastMessageAt, ok && !now.Before(t.LastMessageAt.Add(wait))
	}
	return time.Time{}, false
}

// EachTimed calls fn with every ticket a time-based trigger may concern (pending ones,
// or open and pending ones), up to maxScanned.
func EachTimed(ctx context.Context, st interface {
	Tickets(ctx context.Context, f crm.TicketFilter) ([]*crm.Ticket, string, error)
}, trigger string, fn func(t *crm.Ticket) error) error {
	statuses := []string{crm.StatusPending}
	if trigger == crm.TriggerNoCustomerReply {
		statuses = append(statuses, crm.StatusOpen)
	}
	n := 0
	for _, s := range statuses {
		p := crm.Page{Limit: scanPage}
		for n < maxScanned {
			list, next, err := st.Tickets(ctx, crm.TicketFilter{Status: s, Snoozed: crm.SnoozedAny, Page: p})
			if err != nil {
				return err
			}
			for _, t := range list {
				n++
				if err := fn(t); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
	}
	return nil
}
