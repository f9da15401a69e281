package demo_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/demo"
	"parley/orders"
	"parley/outbound"
)

// TestSeedShowsEverything seeds the demo as `parley serve --demo` does, with its shop in
// process, and finds what the demo promises: the agents' logins, canned responses, a
// WhatsApp and an HTML email ticket, CSAT answers, and orders of the Shopify-like shop
// on which an agent refunds and cancels, the shop answering.
func TestSeedShowsEverything(t *testing.T) {
	clock := &demo.Clock{}
	env := teststore.Open(t, teststore.Options{Now: clock.Now})
	s := env.Store
	ctx := crm.AsSystem(context.Background())
	shop := demo.NewShop(ctx, s)
	// The strict client: the shop is reached in process, with no connection.
	out := outbound.New(outbound.Options{InProcess: map[string]http.Handler{demo.ShopHost: shop}})
	if err := demo.SeedWith(ctx, s, demo.Options{Clock: clock, Shop: shop, Outbound: out}); err != nil {
		t.Fatal(err)
	}

	logins := demo.Logins(ctx, s)
	if len(logins) != 2 || logins[0].Email != "dana@demo.parley.test" || logins[1].Role != crm.RoleManager {
		t.Fatalf("logins = %+v", logins)
	}
	dana, err := s.Authenticate(ctx, logins[0].Email, logins[0].Password)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.CannedResponses(ctx); err != nil || len(c) < 3 || !strings.Contains(c[0].Body+c[1].Body, "{{customer.first_name}}") {
		t.Fatalf("canned responses = %v, %v", c, err)
	}

	asDana := crm.WithAgent(ctx, dana)
	tickets, _, err := s.Tickets(asDana, crm.TicketFilter{Page: crm.Page{Limit: 200}})
	if err != nil {
		t.Fatal(err)
	}
	byChannel := map[string]*crm.Ticket{}
	for _, tk := range tickets {
		if byChannel[tk.Channel] == nil {
			byChannel[tk.Channel] = tk
		}
	}
	wa := byChannel[crm.ChannelWhatsApp]
	if wa == nil {
		t.Fatal("no WhatsApp ticket for Dana")
	}
	var htmlMail *crm.Message
	for _, tk := range tickets {
		if tk.Channel != crm.ChannelEmail {
			continue
		}
		msgs, _, err := s.Messages(asDana, tk.ID, crm.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if strings.Contains(m.HTML, "<table>") {
				htmlMail = m
			}
		}
	}
	if htmlMail == nil || strings.Contains(htmlMail.HTML, "<script") || !strings.Contains(htmlMail.HTML, "<strong>crushed</strong>") {
		t.Fatalf("HTML email = %+v", htmlMail)
	}

	answered := 0
	for after := int64(0); ; {
		evs, err := s.Events(ctx, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			if e.Type == crm.EventCSATAnswered {
				answered++
			}
		}
		after = evs[len(evs)-1].ID
	}
	if answered < 10 {
		t.Fatalf("%d CSAT answers", answered)
	}

	// Dana cancels Rosa's order from her WhatsApp ticket and refunds one chipped mug of
	// Alice's: the demo shop carries both out.
	svc := orders.New(s, orders.Options{Outbound: out})
	a, o, err := svc.Act(asDana, orders.ActionRequest{Number: "1004", Action: crm.ActionCancel, TicketID: wa.ID, IdempotencyKey: "demo-test-1"})
	if err != nil || a.Status != crm.ActionOK || o.Status != "cancelled" {
		t.Fatalf("cancel: %+v %+v %v", a, o, err)
	}
	alice := byChannel[crm.ChannelSMS] // Alice's text about the chipped mug
	a, o, err = svc.Act(asDana, orders.ActionRequest{Number: "1001", Action: crm.ActionRefund, TicketID: alice.ID, IdempotencyKey: "demo-test-2",
		Items: []orders.RefundItem{{LineItemID: o1001Mug(t, s), Quantity: 1}}})
	if err != nil || a.Status != crm.ActionOK || a.Amount != 1900 || o.Refunded != 1900 {
		t.Fatalf("refund: %+v %+v %v", a, o, err)
	}
	if shop.Count("POST", "/cancel.json") != 1 || shop.Count("POST", "/refunds.json") != 1 {
		t.Fatalf("the shop was asked %v", shop.Calls())
	}

	// Seeding again changes nothing.
	if err := demo.SeedWith(ctx, s, demo.Options{Clock: clock, Shop: shop, Outbound: out}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.OrderSources(ctx); len(list) != 1 || list[0].Name != demo.ShopName {
		t.Fatalf("order sources = %v", list)
	}
}

// o1001Mug is the Shopify line item of the blue mugs of order 1001.
func o1001Mug(t *testing.T, s interface {
	Order(context.Context, string) (*crm.Order, error)
}) string {
	t.Helper()
	o, err := s.Order(crm.AsSystem(context.Background()), "1001")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range o.Items {
		if it.SKU == "MUG-BLUE" {
			return it.LineItemID
		}
	}
	t.Fatalf("order 1001 = %+v", o)
	return ""
}
