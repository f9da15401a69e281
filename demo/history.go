package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"parley/crm"
)

// Clock is the store's clock while the demo history is written: it reads the time the
// seeder sets, and the real time otherwise.
type Clock struct {
	mu sync.Mutex
	at time.Time
}

// Now returns the set time, or the real time when none is set.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now()
	}
	return c.at
}

func (c *Clock) set(t time.Time) {
	c.mu.Lock()
	c.at = t
	c.mu.Unlock()
}

var historyPeople = []struct{ name, email string }{
	{"Noor Haddad", "noor@demo.parley.test"}, {"Jonas Weber", "jonas@demo.parley.test"},
	{"Priya Raman", "priya@demo.parley.test"}, {"Tom Okafor", "tom@demo.parley.test"},
	{"Lena Sørensen", "lena@demo.parley.test"}, {"Marco Rossi", "marco@demo.parley.test"},
	{"Aiko Tanaka", "aiko@demo.parley.test"}, {"Sam Taylor", "sam@demo.parley.test"},
}

var historyQuestions = []string{
	"Has my order shipped yet?", "Can I change the delivery address?", "The mug arrived chipped",
	"Do you have the blue mug in stock?", "I was charged twice", "How do I return the socks?",
	"Is the tea caffeine-free?", "Where is my refund?",
}

// historyAnswers are the agents' replies to historyQuestions, and historyReasons their
// contact reasons: the console suggests these replies on new tickets of the same reason.
var historyAnswers = []string{
	"Hi {name}, your order left our warehouse yesterday; the tracking link in your shipping email shows where it is.",
	"Hi {name}, done: the parcel goes to the new address. It has not left us yet, so nothing else changes.",
	"Sorry about that, {name}! A new mug is on its way; no need to send the chipped one back.",
	"Hi {name}, the blue mug is back in stock next week; I put you on the list so you hear the day it is.",
	"Hi {name}, the second charge was only a hold by your bank; it disappears within 3 to 5 days.",
	"Hi {name}, returns are free within 30 days: print the label from your order page and drop the parcel at any post office.",
	"Hi {name}, yes: our rooibos and the herbal teas are caffeine-free; the black and green teas are not.",
	"Hi {name}, your refund went out on Monday; banks take 5 to 10 working days to show it.",
}
var historyReasons = []string{"where_is_my_order", "change_order", "damaged_wrong_item", "product_question",
	"payment_problem", "return_exchange", "product_question", "refund_status"}

// csatComments are what the demo's customers write beside a rating, by rating.
var csatComments = map[int][]string{
	5: {"Super quick, thank you!", "Lovely service.", ""},
	4: {"Good, took a day though.", ""},
	3: {"Okay. Had to ask twice.", ""},
	2: {"The parcel is still late."},
	1: {"Nobody answered my question."},
}

// seedHistory writes 45 tickets over the past 30 days on the email, SMS and chat
// inboxes, most answered and resolved, under a standard SLA policy, so that reports,
// SLA figures and customer histories have a month to show. Most resolved tickets were
// sent the CSAT survey and most of those were rated. The randomness is seeded: every
// demo database gets the same history.
func seedHistory(ctx context.Context, s crm.Store, clock *Clock, inboxes map[string]*crm.Inbox, agents []*crm.Agent) error {
	defer clock.set(time.Time{})
	if err := s.SetCSATSettings(ctx, &crm.CSATSettings{Enabled: true, Channels: csatChannels}); err != nil {
		return fmt.Errorf("csat settings: %w", err)
	}
	if _, err := s.CreateSLAPolicy(ctx, &crm.SLAPolicy{Name: "Standard (demo)", FirstResponseMinutes: 120, ResolutionMinutes: 16 * 60,
		WarnMinutes: 15, Schedule: crm.Schedule{Timezone: "UTC", Hours: weekdays("09:00", "17:00")}}); err != nil {
		return fmt.Errorf("sla policy: %w", err)
	}
	r := rand.New(rand.NewPCG(1042, 7))
	handle := rand.New(rand.NewPCG(7, 1042)) // a source of its own: r's sequence makes the history
	reasons, err := s.Reasons(ctx)
	if err != nil {
		return fmt.Errorf("reasons: %w", err)
	}
	reasonID := map[string]int64{}
	for _, x := range reasons {
		reasonID[x.Slug] = x.ID
	}
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)
	kinds := []struct{ inbox, channel string }{{"email", crm.ChannelEmail}, {"email", crm.ChannelEmail}, {"phone", crm.ChannelSMS}, {"chat", crm.ChannelChat}}
	for i := range 45 {
		p := historyPeople[r.IntN(len(historyPeople))]
		k := kinds[r.IntN(len(kinds))]
		// Customers write on weekdays between 09:00 and 15:00, inside the demo policy's
		// hours, so that response times are business time a manager recognises (a message
		// at 08:30 answered at 08:50 would take 0 business seconds).
		day := start.Add(time.Duration(i*30*24/45) * time.Hour).Truncate(24 * time.Hour)
		for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			day = day.AddDate(0, 0, -1) // back to Friday: never in the future
		}
		at := day.Add(9*time.Hour + time.Duration(r.IntN(10))*36*time.Minute)
		from := []crm.Identity{{Kind: crm.IdentityEmail, Address: p.email}}
		if k.channel == crm.ChannelSMS {
			from = []crm.Identity{{Kind: crm.IdentityPhone, Address: fmt.Sprintf("+1555555%04d", 200+r.IntN(len(historyPeople)))}}
		}
		clock.set(at)
		subject := historyQuestions[r.IntN(len(historyQuestions))]
		q := r.IntN(len(historyQuestions))
		res, err := s.Ingest(ctx, &crm.Inbound{InboxID: inboxes[k.inbox].ID, Channel: k.channel, ExternalID: fmt.Sprintf("demo-history-%d", i),
			ThreadKey: fmt.Sprintf("demo-history-%d", i), FromName: p.name, From: from,
			Subject: subject, Text: "Hello! " + historyQuestions[q], ReceivedAt: at})
		if err != nil {
			return err
		}
		if r.IntN(10) == 0 {
			continue // never answered: part of the backlog
		}
		agent := crm.WithAgent(ctx, agents[r.IntN(len(agents))])
		at = at.Add(time.Duration(5+r.IntN(240)/2) * time.Minute) // mostly within the 2-hour target
		clock.set(at)
		// The reply greets the ticket's customer: a phone number may be someone's from an
		// earlier ticket, under that earlier name.
		name := p.name
		if c, err := s.Customer(ctx, res.CustomerID); err == nil && c.Name != "" {
			name = c.Name
		}
		first, _, _ := strings.Cut(name, " ")
		if _, err := s.AddMessage(agent, &crm.NewMessage{TicketID: res.TicketID, Body: strings.ReplaceAll(historyAnswers[q], "{name}", first)}); err != nil {
			return err
		}
		// The agents' time on the ticket, for the support cost report.
		if err := s.AddHandleTime(ctx, []crm.HandleTime{{TicketID: res.TicketID, AgentID: crm.AgentFrom(agent).ID,
			Secs: 60 + handle.IntN(60), At: at}, {TicketID: res.TicketID, AgentID: crm.AgentFrom(agent).ID, Secs: handle.IntN(120), At: at}}); err != nil {
			return fmt.Errorf("handle time: %w", err)
		}
		if r.IntN(8) == 0 {
			continue // waiting on the team
		}
		at = at.Add(time.Duration(30+r.IntN(48*60)/4) * time.Minute)
		clock.set(at)
		resolved, reason := crm.StatusResolved, reasonID[historyReasons[q]]
		if _, err := s.UpdateTicket(agent, res.TicketID, crm.TicketUpdate{Status: &resolved, ReasonID: &reason}); err != nil {
			return err
		}
		if r.IntN(5) == 0 {
			continue // resolved before the survey was on
		}
		if _, err := s.QueueCSATSurvey(ctx, &crm.CSATRequest{TicketID: res.TicketID, Token: fmt.Sprintf("demo-survey-%d-%d", i, r.Int64()),
			EmailText: "Your request has been resolved. How did we do? (A demo survey: it was never sent.)",
			ReplyText: "How did we do? Reply with a number from 1 (bad) to 5 (great).", Channels: csatChannels}); err != nil {
			return fmt.Errorf("csat survey: %w", err)
		}
		if r.IntN(4) == 0 {
			continue // not answered
		}
		rating := []int{5, 5, 5, 5, 5, 4, 4, 4, 3, 2, 1}[r.IntN(11)]
		comments := csatComments[rating]
		clock.set(at.Add(time.Duration(10+r.IntN(300)) * time.Minute))
		if _, err := s.AnswerCSAT(ctx, res.TicketID, rating, comments[r.IntN(len(comments))], k.channel); err != nil {
			return fmt.Errorf("csat answer: %w", err)
		}
	}
	return nil
}

// csatChannels are the channels the demo's CSAT survey goes out on.
var csatChannels = []string{crm.ChannelEmail, crm.ChannelSMS, crm.ChannelWhatsApp, crm.ChannelChat}

func weekdays(from, to string) map[string][][2]string {
	h := map[string][][2]string{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		h[d] = [][2]string{{from, to}}
	}
	return h
}
