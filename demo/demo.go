// Package demo seeds clearly labelled demo data into an empty database for `make run`:
// agents, inboxes of every kind, customers known on several channels, orders and tickets
// with threads. Demo inboxes carry "demo": true in their config (channels.IsDemo): they
// connect to nothing and their replies are marked sent without leaving the machine.
package demo

import (
	"context"
	"fmt"
	"time"

	"parley/crm"
	"parley/htmlsafe"
	"parley/orders/shopifytest"
	"parley/outbound"
)

// Password is the password of every demo agent.
const Password = "parley-demo"

type msg struct {
	inbox   string
	channel string
	from    []crm.Identity
	name    string
	subject string
	text    string
	html    string // sanitized before it is stored, as the email channel does
	ago     time.Duration
	reply   string
	note    string
	status  string
	assign  bool // to Dana, so her "Mine" folder is not empty
}

// Login is how a demo agent signs in.
type Login struct{ Role, Email, Password string }

// demoAgents are the agents Seed makes besides the admin, who comes from the command.
var demoAgents = []Login{{crm.RoleAgent, "dana@demo.parley.test", Password}, {crm.RoleManager, "max@demo.parley.test", Password}}

// Logins returns the sign-ins of the demo agents s holds: none when it was not seeded
// by the demo.
func Logins(ctx context.Context, s interface {
	AgentByEmail(ctx context.Context, email string) (*crm.Agent, error)
}) []Login {
	var out []Login
	for _, l := range demoAgents {
		if a, err := s.AgentByEmail(crm.AsSystem(ctx), l.Email); err == nil && !a.Disabled {
			out = append(out, l)
		}
	}
	return out
}

// Options are what Seed may use beyond the store.
type Options struct {
	// Clock, when it is the store's clock, lets Seed write a month of history (tickets
	// answered and resolved on past days, CSAT answers) so reports and SLAs have
	// something to show.
	Clock *Clock
	// Shop is the demo shop (NewShop) and Outbound the client that reaches it at
	// ShopHost. With both, the demo orders are the shop's, through a Shopify order
	// source, so that refunds and cancellations can be tried; else they are plain
	// stored orders.
	Shop     *shopifytest.Fake
	Outbound *outbound.Client
}

// Seed fills an empty database with demo data, with a month of history when clock is the
// store's. It does nothing when tickets exist.
func Seed(ctx context.Context, s crm.Store, clock *Clock) error {
	return SeedWith(ctx, s, Options{Clock: clock})
}

// SeedWith fills an empty database with demo data: agents, inboxes of every kind,
// customers known on several channels, orders, canned responses and tickets on every
// channel (a WhatsApp conversation and an HTML email among them). It does nothing when
// tickets exist.
func SeedWith(ctx context.Context, s crm.Store, opt Options) error {
	clock := opt.Clock
	if ts, _, err := s.Tickets(ctx, crm.TicketFilter{Page: crm.Page{Limit: 1}}); err != nil {
		return err
	} else if len(ts) > 0 {
		return nil
	}
	if opt.Shop != nil && opt.Outbound != nil {
		if err := seedShop(ctx, s, opt.Shop, opt.Outbound); err != nil {
			return err
		}
	}
	inboxes := map[string]*crm.Inbox{}
	for _, in := range []struct{ key, kind, name string }{
		{"email", crm.KindEmail, "Demo: support@ email"},
		{"phone", crm.KindPhone, "Demo: hotline SMS & voice"},
		{"chat", crm.KindChat, "Demo: shop chat"},
		{"discord", crm.KindDiscord, "Demo: Discord community"},
		{"api", crm.KindAPI, "Demo: backoffice API"},
	} {
		created, err := s.CreateInbox(ctx, &crm.Inbox{Kind: in.kind, Name: in.name, Config: map[string]any{"demo": true}})
		if err != nil {
			return fmt.Errorf("inbox %s: %w", in.key, err)
		}
		inboxes[in.key] = created
	}
	dana, err := s.CreateAgent(ctx, &crm.NewAgent{Email: demoAgents[0].Email, Name: "Dana (demo agent)", Role: crm.RoleAgent,
		Password: Password, InboxIDs: []int64{inboxes["email"].ID, inboxes["chat"].ID, inboxes["phone"].ID}})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	max, err := s.CreateAgent(ctx, &crm.NewAgent{Email: demoAgents[1].Email, Name: "Max (demo manager)", Role: crm.RoleManager, Password: Password})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if clock != nil {
		if err := seedHistory(ctx, s, clock, inboxes, []*crm.Agent{dana, max}); err != nil {
			return fmt.Errorf("demo history: %w", err)
		}
	}

	alice := []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@demo.parley.test"}, {Kind: crm.IdentityPhone, Address: "+15555550101"}}
	bob := []crm.Identity{{Kind: crm.IdentityEmail, Address: "bob@demo.parley.test"}}
	carla := []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15555550123"}}
	kai := []crm.Identity{{Kind: crm.IdentityDiscord, Address: "400000000000000001"}}
	visitor := []crm.Identity{{Kind: crm.IdentityChat, Address: "demo-visitor-1"}}
	rosa := []crm.Identity{{Kind: crm.IdentityPhone, Address: "+15555550142"}}
	priya := []crm.Identity{{Kind: crm.IdentityEmail, Address: "priya@demo.parley.test"}}

	orders := []*crm.Order{
		{Number: "1001", Email: "alice@demo.parley.test", Status: "shipped", Currency: "USD", Subtotal: 5800, Shipping: 500, Tax: 464, Total: 6764,
			Items:   []crm.OrderItem{{SKU: "MUG-BLUE", Name: "Blue enamel mug", Quantity: 2, UnitPrice: 1900}, {SKU: "TEA-EARL", Name: "Earl grey, 250 g", Quantity: 1, UnitPrice: 2000}},
			Carrier: "UPS", TrackingNumber: "1Z999AA10123456784", TrackingURL: "https://www.ups.com/track?tracknum=1Z999AA10123456784", PlacedAt: time.Now().Add(-72 * time.Hour), Source: "demo"},
		{Number: "1002", Email: "alice@demo.parley.test", Status: "delivered", Currency: "USD", Subtotal: 2400, Total: 2400,
			Items: []crm.OrderItem{{SKU: "SOCK-W", Name: "Wool socks", Quantity: 1, UnitPrice: 2400}}, PlacedAt: time.Now().Add(-40 * 24 * time.Hour), Source: "demo"},
		{Number: "1003", Email: "bob@demo.parley.test", Status: "paid", Currency: "EUR", Subtotal: 12900, Shipping: 900, Total: 13800,
			Items: []crm.OrderItem{{SKU: "LAMP-1", Name: "Desk lamp", Quantity: 1, UnitPrice: 12900}}, PlacedAt: time.Now().Add(-5 * time.Hour), Source: "demo"},
	}
	for _, o := range orders {
		if _, err := s.Order(ctx, o.Number); err == nil {
			continue // the demo shop's
		}
		if _, err := s.PutOrder(ctx, o); err != nil {
			return fmt.Errorf("order %s: %w", o.Number, err)
		}
	}

	msgs := []msg{
		{inbox: "email", channel: crm.ChannelEmail, from: alice, name: "Alice Demo", subject: "Where is my order #1001?", ago: 26 * time.Hour,
			text:  "Hi! I ordered two mugs and some tea three days ago (order #1001). The tracking page hasn't moved since Monday. Can you check?",
			reply: "Hi Alice, sorry for the wait! UPS shows the parcel at their regional hub; it should reach you tomorrow.", status: crm.StatusPending},
		{inbox: "phone", channel: crm.ChannelSMS, from: alice[1:], name: "", subject: "", ago: 3 * time.Hour,
			text: "Got the mugs, thanks! One has a chip on the rim though :( can I swap it?", note: "Same customer as the email about #1001. Offer a replacement.", assign: true},
		{inbox: "chat", channel: crm.ChannelChat, from: visitor, name: "Shop visitor", subject: "", ago: 40 * time.Minute,
			text: "Hello, do you ship to Canada?"},
		{inbox: "email", channel: crm.ChannelEmail, from: bob, name: "Bob Demo", subject: "Invoice for order 1003", ago: 2 * time.Hour,
			text: "Could you send me an invoice with my company's VAT number for order 1003?"},
		{inbox: "phone", channel: crm.ChannelVoice, from: carla, name: "Carla Demo", subject: "Missed call", ago: 90 * time.Minute,
			text: "Missed call from +1 555-555-0123 (voicemail: \"Hi, it's Carla, please call me back about a return.\")"},
		{inbox: "discord", channel: crm.ChannelDiscord, from: kai, name: "kai#demo", subject: "", ago: 20 * time.Minute,
			text: "hey, is the limited edition dice set coming back in stock?"},
		{inbox: "phone", channel: crm.ChannelWhatsApp, from: rosa, name: "Rosa Demo", subject: "", ago: 35 * time.Minute,
			text: "Hi! I ordered 4 red mugs (order #1004) but I wanted blue ones. Can you cancel it so I can order again?"},
		{inbox: "email", channel: crm.ChannelEmail, from: priya, name: "Priya Raman", subject: "Parcel arrived damaged", ago: 4 * time.Hour,
			text: "Hello,\n\nMy parcel arrived today and the box was crushed:\n\n- Blue enamel mug: handle broken\n- Earl grey, 250 g: fine\n\nCould you send a new mug? Photos on request.\n\nThanks,\nPriya",
			html: `<p>Hello,</p><p>My parcel arrived today and the box was <strong>crushed</strong>:</p>` +
				`<table border="1" cellpadding="4"><tr><th>Item</th><th>State</th></tr>` +
				`<tr><td>Blue enamel mug</td><td style="color:#b00">handle broken</td></tr>` +
				`<tr><td>Earl grey, 250 g</td><td>fine</td></tr></table>` +
				`<p>Could you send a new mug? Photos on request, or see <a href="https://example.com/priya/photos">my album</a>.</p>` +
				`<blockquote>Sent from my phone</blockquote><p>Thanks,<br><em>Priya</em></p><script>alert("demo: this is removed")</script>`},
		{inbox: "api", channel: crm.ChannelAPI, from: bob, name: "Bob Demo", subject: "Return request RMA-77 (from the returns portal)", ago: 10 * 24 * time.Hour,
			text: "Return request for the desk lamp: arrived with a broken switch.", reply: "Refund issued, thanks Bob!", status: crm.StatusResolved},
	}
	for i, m := range msgs {
		res, err := s.Ingest(ctx, &crm.Inbound{
			InboxID: inboxes[m.inbox].ID, Channel: m.channel, ExternalID: fmt.Sprintf("demo-%d", i+1), ThreadKey: fmt.Sprintf("demo-thread-%d", i+1),
			FromName: m.name, From: m.from, Subject: m.subject, Text: m.text, HTML: htmlsafe.Sanitize(m.html), ReceivedAt: time.Now().Add(-m.ago),
		})
		if err != nil {
			return fmt.Errorf("demo message %d: %w", i+1, err)
		}
		actx := crm.WithAgent(ctx, dana)
		if m.inbox == "api" || m.inbox == "discord" {
			actx = ctx // Dana is not a member of these inboxes: the system answers.
		}
		if m.assign {
			if _, err := s.UpdateTicket(actx, res.TicketID, crm.TicketUpdate{AssigneeID: &dana.ID}); err != nil {
				return fmt.Errorf("demo assignment: %w", err)
			}
		}
		if m.note != "" {
			if _, err := s.AddMessage(actx, &crm.NewMessage{TicketID: res.TicketID, Body: m.note, Internal: true}); err != nil {
				return fmt.Errorf("demo note: %w", err)
			}
		}
		if m.reply != "" {
			if _, err := s.AddMessage(actx, &crm.NewMessage{TicketID: res.TicketID, Body: m.reply, Status: m.status}); err != nil {
				return fmt.Errorf("demo reply: %w", err)
			}
		}
	}
	for _, c := range canned {
		if _, err := s.CreateCanned(crm.WithAgent(ctx, max), &crm.CannedResponse{Title: c[0], Body: c[1]}); err != nil {
			return fmt.Errorf("canned response: %w", err)
		}
	}
	return seedTeamsAndMacros(crm.WithAgent(ctx, max), s, dana, max)
}

// seedTeamsAndMacros adds a team of the demo's agents (auto-assignment off: the demo's
// tickets stay as they are) and shared macros that show what one does.
func seedTeamsAndMacros(ctx context.Context, s crm.Store, agents ...*crm.Agent) error {
	var ids []int64
	for _, a := range agents {
		ids = append(ids, a.ID)
	}
	team, err := s.CreateTeam(ctx, &crm.Team{Name: "Front line (demo)", AgentIDs: ids})
	if err != nil {
		return fmt.Errorf("demo team: %w", err)
	}
	for _, m := range []*crm.Macro{
		{Name: "Refund issued, resolve", Shared: true,
			Body:    "Hi {{customer.first_name}},\n\nwe have refunded your order {{order.number}}. Your bank shows it within 5 to 10 days.\n\n{{agent.name}}",
			Actions: crm.MacroActions{Status: crm.StatusResolved, AddTags: []string{"refund"}, Note: "Refund issued by {{agent.name}}."}},
		{Name: "Escalate to the front line", Shared: true,
			Actions: crm.MacroActions{Priority: crm.PriorityHigh, TeamID: &team.ID, AssigneeID: new(int64), AddTags: []string{"escalated"}}},
	} {
		if _, err := s.CreateMacro(ctx, m); err != nil {
			return fmt.Errorf("demo macro: %w", err)
		}
	}
	return nil
}

// canned are the demo's canned responses, with the placeholders the console fills in.
var canned = [][2]string{
	{"Where is my order?", "Hi {{customer.first_name}},\n\nthanks for your patience! Your order {{order.number}} is on its way: the tracking link in your shipping email shows where it is. If it has not moved in two days, reply here and we will chase the carrier.\n\n{{agent.name}}"},
	{"Replacement on its way", "Hi {{customer.first_name}},\n\nsorry about that! We are sending a replacement today, at no cost; no need to send the broken one back.\n\n{{agent.name}}"},
	{"Refund issued", "Hi {{customer.first_name}},\n\nwe have refunded your order {{order.number}}. Your bank shows it within 5 to 10 days.\n\n{{agent.name}}"},
	{"Ticket reference", "Your ticket number is #{{ticket.id}}: mention it if you write to us again."},
}
