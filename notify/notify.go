// Package notify tells agents what concerns them: a ticket assigned to them by someone
// else, a customer's reply on their ticket, an SLA of theirs about to breach, a mention
// in a note, a snooze that ended. Its worker derives the notifications off the ingest
// path, from the event log after a cursor the store keeps (so that nothing is lost on a
// restart and nothing is told twice), stores them per agent and publishes each on the
// bus for the hub, which sends it to that agent's sockets alone, and mails it to the
// agents who chose email too. The same worker wakes
// snoozed tickets whose time came. It runs on one node of a cluster at a time
// (cmd/parley holds a lease).
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"parley/crm"
)

// Store is what the worker uses of the store.
type Store interface {
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	Ticket(ctx context.Context, id int64) (*crm.Ticket, error)
	Agents(ctx context.Context) ([]*crm.Agent, error)
	Notifications(ctx context.Context, agentID int64) (*crm.Notifications, error)
	NotifyCursor(ctx context.Context) (int64, error)
	SaveNotifications(ctx context.Context, list []*crm.Notification, after int64) ([]*crm.Notification, error)
	TicketBefore(ctx context.Context, ticketID, eventID int64) (*crm.Ticket, error)
	WakeSnoozed(ctx context.Context, now time.Time) (int, error)
	Inbox(ctx context.Context, id int64) (*crm.Inbox, error)
	Inboxes(ctx context.Context) ([]*crm.Inbox, error)
}

// Mailer sends a short mail of Parley's own from an email inbox through its SMTP server
// (the email channel's SendNotice).
type Mailer interface {
	SendNotice(ctx context.Context, in *crm.Inbox, to, subject, text string) error
}

// Options configure a Worker. Store is required.
type Options struct {
	Store Store
	// Bus, when set, wakes the worker as events are stored, brings the live SLA
	// warnings, and carries the notifications to the hub.
	Bus    crm.Bus
	Logger *slog.Logger
	// Now is the clock of the snooze waker. Default time.Now.
	Now func() time.Time
	// Poll is how often the worker looks for new events and snoozes that ended. Default
	// five seconds.
	Poll time.Duration
	// Mailer, when set, mails each notification to the agents who chose email too, from
	// the ticket's email inbox or else the shop's first email inbox; without one, or
	// without an email inbox, the mail is skipped with a logged reason.
	Mailer Mailer
	// PublicURL is Parley's address, for the link to the ticket in a mail.
	PublicURL *url.URL
}

// Worker derives and delivers notifications. Create it with New and call Run once.
type Worker struct {
	opt Options
	log *slog.Logger
}

// batch is how many events one pass reads.
const batch = 500

// coalesce is how long after a stored event the worker reads the log: a burst is read as
// one batch (one write of notifications and cursor) instead of one per commit, which
// would slow ingest, whose writer it shares (make bench).
const coalesce = 250 * time.Millisecond

// New returns a worker with opt's defaults filled in.
func New(opt Options) *Worker {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Poll <= 0 {
		opt.Poll = 5 * time.Second
	}
	return &Worker{opt: opt, log: opt.Logger}
}

// Run works until ctx is done and returns nil.
func (w *Worker) Run(ctx context.Context) error {
	ctx = crm.AsSystem(ctx) // the worker reads every inbox's events
	var wake <-chan *crm.Event
	if w.opt.Bus != nil {
		sub := w.opt.Bus.Subscribe(256)
		defer sub.Close()
		wake = sub.C
	}
	tick := time.NewTicker(w.opt.Poll)
	defer tick.Stop()
	for {
		if _, err := w.opt.Store.WakeSnoozed(ctx, w.opt.Now()); err != nil && ctx.Err() == nil {
			w.log.Error("wake snoozed tickets", "err", err)
		}
		if err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("derive notifications", "err", err)
		}
		// A stored event wakes the worker a moment later, so that a burst is read as a batch.
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
				if !ok {
					wake = nil
					continue
				}
				switch {
				case e.Type == crm.EventSLAWarning:
					if err := w.slaWarning(ctx, e); err != nil && ctx.Err() == nil {
						w.log.Error("notify sla warning", "ticket", e.TicketID, "err", err)
					}
				case e.ID != 0 && soon == nil:
					soon = time.After(coalesce)
				}
			}
		}
	}
}

// Pass reads the events after the cursor, stores the notifications they make and moves
// the cursor past them, until it has read every stored event.
func (w *Worker) Pass(ctx context.Context) error {
	ctx = crm.AsSystem(ctx)
	for {
		after, err := w.opt.Store.NotifyCursor(ctx)
		if err != nil {
			return err
		}
		events, err := w.opt.Store.Events(ctx, after, batch)
		if err != nil || len(events) == 0 {
			return err
		}
		d := w.newDeriver()
		var list []*crm.Notification
		for _, e := range events {
			ns, err := d.derive(ctx, e)
			if err != nil {
				return fmt.Errorf("event %d: %w", e.ID, err)
			}
			list = append(list, ns...)
		}
		if err := w.save(ctx, list, events[len(events)-1].ID, d.mail); err != nil {
			return err
		}
		if len(events) < batch {
			return nil
		}
	}
}

// save stores list, moving the cursor to after, publishes what was stored and mails it
// to the agents of mail.
func (w *Worker) save(ctx context.Context, list []*crm.Notification, after int64, mail map[int64]string) error {
	saved, err := w.opt.Store.SaveNotifications(ctx, list, after)
	if err != nil {
		return err
	}
	for _, n := range saved {
		if to := mail[n.AgentID]; to != "" {
			w.email(ctx, n, to)
		}
	}
	if w.opt.Bus == nil {
		return nil
	}
	for _, n := range saved {
		data, err := json.Marshal(n)
		if err != nil {
			return fmt.Errorf("encode notification: %w", err)
		}
		w.opt.Bus.Publish(&crm.Event{Type: crm.EventNotification, TicketID: n.TicketID, InboxID: n.InboxID,
			Actor: crm.Actor{Kind: "system"}, Data: data, At: n.CreatedAt})
	}
	return nil
}

// slaWarning notifies the assignee of a ticket whose SLA is about to breach. The reports
// worker sends the warning live, once per target and due time; the dedupe key keeps a
// warning sent again after a restart from being stored twice.
func (w *Worker) slaWarning(ctx context.Context, e *crm.Event) error {
	var data struct {
		Target string    `json:"target"`
		DueAt  time.Time `json:"due_at"`
	}
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return fmt.Errorf("sla warning data: %w", err)
	}
	t, err := w.opt.Store.Ticket(ctx, e.TicketID)
	if err != nil {
		return err
	}
	d := w.newDeriver()
	what := "first response"
	if data.Target == crm.TargetResolution {
		what = "resolution"
	}
	text := fmt.Sprintf("The %s is due %s", what, data.DueAt.UTC().Format("2006-01-02 15:04 UTC"))
	n, err := d.to(ctx, t, assignee(t), crm.NotifySLAWarning, crm.Actor{Kind: "system"}, text,
		fmt.Sprintf("sla/%d/%s/%d", t.ID, data.Target, data.DueAt.UnixMilli()))
	if err != nil || n == nil {
		return err
	}
	return w.save(ctx, []*crm.Notification{n}, 0, d.mail)
}

// email mails notification n to address to. A notification is in the console whatever
// happens here, so a failure is logged, not retried.
func (w *Worker) email(ctx context.Context, n *crm.Notification, to string) {
	skip := func(reason string) {
		w.log.Info("notification not emailed", "agent", n.AgentID, "kind", n.Kind, "ticket", n.TicketID, "reason", reason)
	}
	if w.opt.Mailer == nil {
		skip("no mailer")
		return
	}
	from, err := w.opt.Store.Inbox(ctx, n.InboxID)
	if err != nil || from.Kind != crm.KindEmail || from.Accepts() != nil {
		from = nil
		list, err := w.opt.Store.Inboxes(ctx)
		if err != nil {
			w.log.Error("notification not emailed", "agent", n.AgentID, "err", err)
			return
		}
		for _, in := range list {
			if in.Kind == crm.KindEmail && in.Accepts() == nil {
				from = in
				break
			}
		}
	}
	if from == nil {
		skip("no email inbox to send from")
		return
	}
	var link string
	if w.opt.PublicURL != nil {
		link = "\n\n" + w.opt.PublicURL.JoinPath("/").String() + fmt.Sprintf("#/tickets/%d", n.TicketID)
	}
	what := kindWords[n.Kind]
	subject := fmt.Sprintf("[Parley] %s: #%d %s", what, n.TicketID, n.Subject)
	text := fmt.Sprintf("%s on ticket #%d, %s.", what, n.TicketID, n.Subject)
	if n.Text != "" && !strings.EqualFold(n.Text, what) {
		text += "\n\n" + n.Text
	}
	text += link + "\n"
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.opt.Mailer.SendNotice(sctx, from, to, crm.CutRunes(subject, 200), text); err != nil {
		w.log.Warn("notification not emailed", "agent", n.AgentID, "ticket", n.TicketID, "inbox", from.ID, "err", err)
	}
}

// kindWords name the kinds in a mail.
var kindWords = map[string]string{
	crm.NotifyAssigned:        "Assigned to you",
	crm.NotifyCustomerReplied: "The customer replied",
	crm.NotifySLAWarning:      "SLA about to breach",
	crm.NotifyMention:         "You were mentioned",
	crm.NotifySnoozeEnded:     "Snooze ended",
}

func assignee(t *crm.Ticket) int64 {
	if t.AssigneeID == nil {
		return 0
	}
	return *t.AssigneeID
}

// deriver makes the notifications of a batch of events, with the agents and their
// choices read once per batch. mail holds the address of each agent who chose email.
type deriver struct {
	w      *Worker
	agents []*crm.Agent
	prefs  map[int64]*crm.Notifications
	mail   map[int64]string
	// tickets are the tickets as the batch's ticket events left them, so that most
	// events need no read of the ticket before them.
	tickets map[int64]*crm.Ticket
}

// newDeriver returns a deriver for one batch.
func (w *Worker) newDeriver() *deriver {
	return &deriver{w: w, prefs: map[int64]*crm.Notifications{}, mail: map[int64]string{}, tickets: map[int64]*crm.Ticket{}}
}

// before returns ticket id as it was before event eventID: as the batch last saw it, or
// as the last ticket event before it recorded it (nil: none).
func (d *deriver) before(ctx context.Context, id, eventID int64) (*crm.Ticket, error) {
	if t := d.tickets[id]; t != nil {
		return t, nil
	}
	return d.w.opt.Store.TicketBefore(ctx, id, eventID)
}

// derive returns the notifications event e makes.
func (d *deriver) derive(ctx context.Context, e *crm.Event) ([]*crm.Notification, error) {
	switch e.Type {
	case crm.EventTicketCreated, crm.EventTicketUpdated:
		var t crm.Ticket
		if err := json.Unmarshal(e.Data, &t); err != nil || t.ID == 0 {
			return nil, nil // not a ticket: nothing to tell
		}
		var out []*crm.Notification
		var before *crm.Ticket
		if to := assignee(&t); to != 0 && !(e.Actor.Kind == "agent" && e.Actor.ID == to) {
			if e.Type == crm.EventTicketUpdated {
				var err error
				if before, err = d.before(ctx, t.ID, e.ID); err != nil {
					return nil, err
				}
			}
			if before == nil || assignee(before) != to {
				n, err := d.to(ctx, &t, to, crm.NotifyAssigned, e.Actor, "Assigned to you", fmt.Sprintf("e%d/assigned", e.ID))
				if err != nil {
					return nil, err
				}
				out = appendNonNil(out, n)
			}
		}
		if t.SnoozeEnded == crm.SnoozeEndedTime {
			n, err := d.to(ctx, &t, assignee(&t), crm.NotifySnoozeEnded, e.Actor, "Snooze ended: back to open",
				fmt.Sprintf("e%d/snooze", e.ID))
			if err != nil {
				return nil, err
			}
			out = appendNonNil(out, n)
		}
		d.tickets[t.ID] = &t
		return out, nil
	case crm.EventMessageCreated:
		var m crm.Message
		if err := json.Unmarshal(e.Data, &m); err != nil || m.ID == 0 {
			return nil, nil
		}
		switch {
		case m.Direction == crm.DirIn && (m.Author.Kind == "customer" || m.Author.Kind == "participant"):
			// The ticket as it was when the message came (its event comes first, in the
			// same commit): whoever it is assigned to later did not miss this reply.
			t, err := d.before(ctx, m.TicketID, e.ID)
			if err != nil || t == nil {
				return nil, err
			}
			n, err := d.to(ctx, t, assignee(t), crm.NotifyCustomerReplied, e.Actor, snippet(m.Text),
				fmt.Sprintf("e%d/replied", e.ID))
			if err != nil || n == nil {
				return nil, err
			}
			return []*crm.Notification{n}, nil
		case m.Direction == crm.DirNote && m.Author.Kind == "agent":
			return d.mentions(ctx, e, &m)
		}
	}
	return nil, nil
}

// mentions returns a notification for each agent an @name of note m names.
func (d *deriver) mentions(ctx context.Context, e *crm.Event, m *crm.Message) ([]*crm.Notification, error) {
	if !strings.Contains(m.Text, "@") {
		return nil, nil
	}
	if d.agents == nil {
		var err error
		if d.agents, err = d.w.opt.Store.Agents(ctx); err != nil {
			return nil, err
		}
	}
	ids := Mentioned(m.Text, d.agents)
	if len(ids) == 0 {
		return nil, nil
	}
	t, err := d.w.opt.Store.Ticket(ctx, m.TicketID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []*crm.Notification
	for _, id := range ids {
		if id == m.Author.ID {
			continue
		}
		n, err := d.to(ctx, t, id, crm.NotifyMention, e.Actor, snippet(m.Text), fmt.Sprintf("e%d/mention", e.ID))
		if err != nil {
			return nil, err
		}
		out = appendNonNil(out, n)
	}
	return out, nil
}

// to returns the notification of kind about t for agent id, or nil when there is nobody
// to tell: no agent, a disabled one, one who may not see the ticket, or one who chose
// not to hear of that kind.
func (d *deriver) to(ctx context.Context, t *crm.Ticket, id int64, kind string, actor crm.Actor, text, dedupe string) (*crm.Notification, error) {
	if id == 0 {
		return nil, nil
	}
	if d.agents == nil {
		var err error
		if d.agents, err = d.w.opt.Store.Agents(ctx); err != nil {
			return nil, err
		}
	}
	var a *crm.Agent
	for _, x := range d.agents {
		if x.ID == id {
			a = x
		}
	}
	if a == nil || a.Disabled || !a.CanSeeInbox(t.InboxID) {
		return nil, nil
	}
	p := d.prefs[id]
	if p == nil {
		var err error
		if p, err = d.w.opt.Store.Notifications(ctx, id); err != nil {
			return nil, err
		}
		d.prefs[id] = p
	}
	want := true
	switch kind {
	case crm.NotifyAssigned:
		want = p.Assigned
	case crm.NotifyCustomerReplied:
		want = p.CustomerReplied
	case crm.NotifySLAWarning:
		want = p.SLAWarning
	case crm.NotifyMention:
		want = p.Mentions
	}
	if !want {
		return nil, nil
	}
	if p.Email {
		d.mail[id] = a.Email
	}
	return &crm.Notification{AgentID: id, Kind: kind, TicketID: t.ID, InboxID: t.InboxID, Subject: t.Subject,
		Actor: crm.ActorRef{Kind: actor.Kind, ID: actor.ID}, Text: text, Dedupe: dedupe}, nil
}

func appendNonNil(list []*crm.Notification, n *crm.Notification) []*crm.Notification {
	if n == nil {
		return list
	}
	return append(list, n)
}

// snippet is the start of a message's text for a notification.
func snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 140 {
		return crm.CutRunes(s, 139) + "…"
	}
	return s
}

// Mentioned returns the ids of the enabled agents that an @name in text names, in the
// order of their first mention. A name matches case-insensitively when what follows it
// is not a letter or digit; where several names match at one @, the longest wins (so
// "@Ada Lovelace" is Ada Lovelace, not an agent named Ada). An agent's first name alone
// names it too when no other agent has that first name.
func Mentioned(text string, agents []*crm.Agent) []int64 {
	type name struct {
		s  string
		id int64
	}
	var names []name
	first := map[string][]int64{}
	for _, a := range agents {
		n := strings.ToLower(strings.Join(strings.Fields(a.Name), " "))
		if a.Disabled || n == "" {
			continue
		}
		names = append(names, name{n, a.ID})
		if f, _, ok := strings.Cut(n, " "); ok {
			first[f] = append(first[f], a.ID)
		}
	}
	for f, ids := range first {
		if len(ids) == 1 {
			names = append(names, name{f, ids[0]})
		}
	}
	lower := strings.ToLower(text)
	var out []int64
	seen := map[int64]bool{}
	for i := 0; i < len(lower); i++ {
		if lower[i] != '@' {
			continue
		}
		if i > 0 { // an address (ada@example.com) is no mention
			if r, _ := utf8.DecodeLastRuneInString(lower[:i]); unicode.IsLetter(r) || unicode.IsDigit(r) {
				continue
			}
		}
		rest := lower[i+1:]
		best := name{}
		for _, n := range names {
			if len(n.s) <= len(best.s) || !strings.HasPrefix(rest, n.s) {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(rest[len(n.s):]); r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				continue
			}
			best = n
		}
		if best.id != 0 && !seen[best.id] {
			seen[best.id] = true
			out = append(out, best.id)
		}
	}
	return out
}
