package demo

import (
	"context"
	"fmt"
	"time"

	"parley/crm"
	"parley/orders"
	"parley/orders/shopifytest"
	"parley/outbound"
)

// The demo's shop is a Shopify-like store that answers in process: orders/shopifytest's
// fake, given no server. `parley serve --demo` routes ShopHost to it through
// outbound.Options.InProcess, so the console's refund and cancel buttons work on the
// demo orders without a real shop and without any connection. It lives in memory and
// starts afresh at every start; Parley's own copy of the orders stays in the database.
const (
	// ShopHost is the host of the demo shop's Admin API. The .test name exists nowhere
	// else: without --demo, requests to it fail.
	ShopHost = "shop.demo.parley.test"
	// ShopName is the demo's Shopify order source.
	ShopName = "Demo: Mugs & Co (a Shopify-like shop in this process)"

	shopDomain        = "mugs-and-co.myshopify.com"
	shopToken         = "shpat_demo_in_process_only"
	shopWebhookSecret = "demo-shopify-webhook-secret"
	// shopRefundLimit is what agents may refund on their own: 50.00; managers refund any
	// amount.
	shopRefundLimit = 5000
)

// shopOrder is one order of the demo shop.
type shopOrder struct {
	id                        int64
	name, email, phone, cur   string
	shipping                  string
	lines                     []shopifytest.Line
	ago                       time.Duration
	carrier, tracking, trkURL string
}

var shopOrders = []shopOrder{
	{id: 820001, name: "#1001", email: "alice@demo.parley.test", phone: "+15555550101", cur: "USD", shipping: "5.00", ago: 72 * time.Hour,
		lines: []shopifytest.Line{{ID: 9100011, SKU: "MUG-BLUE", Name: "Blue enamel mug", Quantity: 2, Price: "19.00"},
			{ID: 9100012, SKU: "TEA-EARL", Name: "Earl grey, 250 g", Quantity: 1, Price: "20.00"}},
		carrier: "UPS", tracking: "1Z999AA10123456784", trkURL: "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
	{id: 820002, name: "#1002", email: "alice@demo.parley.test", phone: "+15555550101", cur: "USD", shipping: "0.00", ago: 40 * 24 * time.Hour,
		lines:   []shopifytest.Line{{ID: 9100021, SKU: "SOCK-W", Name: "Wool socks", Quantity: 1, Price: "24.00"}},
		carrier: "USPS", tracking: "9400111899223197428490", trkURL: "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223197428490"},
	{id: 820003, name: "#1003", email: "bob@demo.parley.test", cur: "EUR", shipping: "9.00", ago: 5 * time.Hour,
		lines: []shopifytest.Line{{ID: 9100031, SKU: "LAMP-1", Name: "Desk lamp", Quantity: 1, Price: "129.00"}}},
	{id: 820004, name: "#1004", email: "rosa@demo.parley.test", phone: "+15555550142", cur: "USD", shipping: "5.00", ago: 50 * time.Minute,
		lines: []shopifytest.Line{{ID: 9100041, SKU: "MUG-RED", Name: "Red enamel mug", Quantity: 4, Price: "19.00"}}},
}

// NewShop returns the demo shop with the demo orders, to serve at ShopHost. The orders
// were placed before the demo was seeded into s (now, when it was not), so that the shop
// tells the same dates at every start.
func NewShop(ctx context.Context, s crm.OrderSourceService) *shopifytest.Fake {
	seeded := time.Now()
	if list, err := s.OrderSources(crm.AsSystem(ctx)); err == nil {
		for _, src := range list {
			if src.Name == ShopName {
				seeded = src.CreatedAt
			}
		}
	}
	shop := shopifytest.NewHandler(shopToken)
	shop.Name, shop.Domain = "Mugs & Co (demo)", shopDomain
	for _, o := range shopOrders {
		shop.AddOrder(o.id, o.name, o.email, o.phone, o.cur, o.shipping, o.lines...)
		shop.SetPlacedAt(o.id, seeded.Add(-o.ago).UTC().Truncate(time.Minute))
		if o.tracking != "" {
			shop.Ship(o.id, o.carrier, o.tracking, o.trkURL)
		}
	}
	return shop
}

// seedShop connects the demo shop as a Shopify order source and stores its orders in
// Parley as its webhooks would.
func seedShop(ctx context.Context, s crm.Store, shop *shopifytest.Fake, out *outbound.Client) error {
	svc := orders.New(s, orders.Options{Outbound: out})
	name, domain, base, token, secret, limit := ShopName, shopDomain, "https://"+ShopHost, shopToken, shopWebhookSecret, int64(shopRefundLimit)
	src, err := svc.CreateSource(ctx, orders.SourceInput{Kind: crm.OrderSourceShopify, Name: &name, ShopDomain: &domain,
		APIBaseURL: &base, AccessToken: &token, WebhookSecret: &secret, AgentRefundLimit: &limit})
	if err != nil {
		return fmt.Errorf("demo shop source: %w", err)
	}
	for _, o := range shopOrders {
		body := shop.OrderJSON(o.id)
		if _, _, err := svc.ReceiveShopify(ctx, src.ID, orders.ShopifyWebhook{Topic: "orders/create",
			HMAC: shopifytest.Sign(secret, body), WebhookID: fmt.Sprintf("demo-%d", o.id), Body: body}); err != nil {
			return fmt.Errorf("demo shop order %s: %w", o.name, err)
		}
	}
	return nil
}
