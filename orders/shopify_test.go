package orders_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/orders"
	"parley/orders/shopifytest"
)

// customer files a message from email so that a customer and a ticket exist, and returns
// the ticket and the agent of its inbox.
func (e *env) customer(addr string, phone string) (*crm.IngestResult, *crm.Agent) {
	e.t.Helper()
	ctx := crm.AsSystem(context.Background())
	in, err := e.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "API " + addr})
	if err != nil {
		e.t.Fatal(err)
	}
	from := []crm.Identity{{Kind: crm.IdentityEmail, Address: addr}}
	if phone != "" {
		from = append(from, crm.Identity{Kind: crm.IdentityPhone, Address: phone})
	}
	res, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, ExternalID: "m-" + addr, From: from, Text: "Where is my order?"})
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.db.CreateAgent(ctx, &crm.NewAgent{Email: "agent-" + addr, Name: "Agent", Role: crm.RoleAgent,
		Password: "password-123", InboxIDs: []int64{in.ID}})
	if err != nil {
		e.t.Fatal(err)
	}
	return res, a
}

func TestShopifyLookup(t *testing.T) {
	e := newEnv(t, 0)
	ctx := crm.AsSystem(context.Background())
	e.shop.AddOrder(450789469, "#1001", "alice@x.example", "", "USD", "5.00",
		shopifytest.Line{ID: 466157049, SKU: "MUG", Name: "Blue mug", Quantity: 2, Price: "19.00"})
	e.shop.Ship(450789469, "UPS", "1Z999", "https://ups.example/track/1Z999")
	e.shop.AddOrder(450789470, "#1002", "someone@else.example", "+15555550123", "JPY", "500",
		shopifytest.Line{ID: 466157050, SKU: "TEA", Name: "Tea", Quantity: 1, Price: "1200"})
	res, agent := e.customer("alice@x.example", "")
	actx := crm.WithAgent(ctx, agent)

	f := crm.OrderFilter{CustomerID: res.CustomerID}
	e.svc.Refresh(actx, f)
	list, _, err := e.db.Orders(actx, f)
	if err != nil || len(list) != 1 {
		t.Fatalf("orders after refresh = %v, %v", list, err)
	}
	o := list[0]
	want := crm.Order{Number: "1001", CustomerID: res.CustomerID, Email: "alice@x.example", Status: "shipped",
		Currency: "USD", Subtotal: 3800, Shipping: 500, Total: 4300, Carrier: "UPS", TrackingNumber: "1Z999",
		TrackingURL: "https://ups.example/track/1Z999", Source: "shopify", SourceID: e.src.ID, ExternalID: "450789469"}
	got := *o
	got.Items, got.ShippingAddress, got.PlacedAt, got.UpdatedAt = nil, nil, time.Time{}, time.Time{}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order =\n%+v\nwant\n%+v", got, want)
	}
	if len(o.Items) != 1 || o.Items[0] != (crm.OrderItem{SKU: "MUG", Name: "Blue mug", Quantity: 2, UnitPrice: 1900, LineItemID: "466157049"}) {
		t.Fatalf("items = %+v", o.Items)
	}
	if !o.PlacedAt.Equal(time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)) || len(o.ShippingAddress) == 0 {
		t.Fatalf("placed_at %v, address %s", o.PlacedAt, o.ShippingAddress)
	}

	// Within the cache time the shop is not asked again.
	calls := len(e.shop.Calls())
	e.svc.Refresh(actx, f)
	if n := len(e.shop.Calls()); n != calls {
		t.Fatalf("a second lookup within a minute called the shop: %v", e.shop.Calls()[calls:])
	}

	// By phone (customer search, then orders) and by number; JPY has no minor digits.
	e.svc.Refresh(ctx, crm.OrderFilter{Phone: "+15555550123"})
	jp, err := e.db.Order(ctx, "1002")
	if err != nil || jp.Total != 1700 || jp.Currency != "JPY" || jp.Phone != "+15555550123" || jp.Status != "paid" {
		t.Fatalf("order 1002 = %+v, %v", jp, err)
	}
	if e.shop.Count("GET", "/customers/search.json") != 1 {
		t.Fatalf("calls = %v", e.shop.Calls())
	}

	// A shop that is down does not fail a lookup: stored orders are served.
	e.shop.SetDown(true)
	e.svc.Refresh(ctx, crm.OrderFilter{Email: "new@x.example"})
	if _, err := e.db.Order(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
}

func TestShopifyWebhook(t *testing.T) {
	e := newEnv(t, 0)
	ctx := crm.AsSystem(context.Background())
	e.shop.AddOrder(820982911946154508, "#9001", "jon@x.example", "", "KWD", "1.500",
		shopifytest.Line{ID: 1, SKU: "K", Name: "Kettle", Quantity: 1, Price: "12.250"})
	body := e.shop.OrderJSON(820982911946154508)

	forged := []orders.ShopifyWebhook{
		{Topic: "orders/create", WebhookID: "w1", Body: body},
		{Topic: "orders/create", WebhookID: "w1", Body: body, HMAC: shopifytest.Sign("wrong-secret-0000000", body)},
		{Topic: "orders/create", WebhookID: "w1", Body: append([]byte(" "), body...), HMAC: shopifytest.Sign(webhookSecret, body)},
		{Topic: "orders/create", WebhookID: "w1", Body: body, HMAC: "%%%"},
	}
	for i, wh := range forged {
		_, _, err := e.svc.ReceiveShopify(ctx, e.src.ID, wh)
		if crm.ErrorCode(err) != crm.EUNAUTHORIZED {
			t.Errorf("forged webhook %d: %v, want unauthorized", i, err)
		}
	}
	if _, err := e.db.Order(ctx, "9001"); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("a forged webhook stored the order: %v", err)
	}

	sub := e.bus.Subscribe(64)
	defer sub.Close()
	wh := orders.ShopifyWebhook{Topic: "orders/create", WebhookID: "w1", Body: body, HMAC: shopifytest.Sign(webhookSecret, body)}
	o, _, err := e.svc.ReceiveShopify(ctx, e.src.ID, wh)
	if err != nil {
		t.Fatal(err)
	}
	if o.Number != "9001" || o.Total != 13750 || o.Shipping != 1500 || o.Currency != "KWD" || o.Status != "paid" {
		t.Fatalf("order = %+v", o)
	}
	// The same delivery again changes nothing and publishes nothing.
	if again, _, err := e.svc.ReceiveShopify(ctx, e.src.ID, wh); err != nil || again != nil {
		t.Fatalf("duplicate delivery: %v, %v", again, err)
	}
	updates := 0
	for len(sub.C) > 0 {
		if (<-sub.C).Type == crm.EventOrderUpdated {
			updates++
		}
	}
	if updates != 1 {
		t.Fatalf("%d order.updated events, want 1", updates)
	}

	// orders/updated with a new delivery id: the cancellation is stored.
	var raw map[string]any
	json.Unmarshal(body, &raw)
	raw["cancelled_at"] = "2026-11-21T10:00:00Z"
	raw["updated_at"] = "2026-11-21T10:00:00Z"
	body2, _ := json.Marshal(raw)
	o, stale, err := e.svc.ReceiveShopify(ctx, e.src.ID, orders.ShopifyWebhook{Topic: "orders/updated", WebhookID: "w2",
		Body: body2, HMAC: shopifytest.Sign(webhookSecret, body2)})
	if err != nil || stale || o.Status != "cancelled" {
		t.Fatalf("updated: %+v, %v, %v", o, stale, err)
	}
	// The orders/create of before, delivered late under another id, is older: it changes
	// nothing and says so.
	o, stale, err = e.svc.ReceiveShopify(ctx, e.src.ID, orders.ShopifyWebhook{Topic: "orders/paid", WebhookID: "w3",
		Body: body, HMAC: shopifytest.Sign(webhookSecret, body)})
	if err != nil || !stale || o.Status != "cancelled" {
		t.Fatalf("late older delivery: %+v, stale %v, %v", o, stale, err)
	}
	if stored, err := e.db.Order(ctx, "9001"); err != nil || stored.Status != "cancelled" {
		t.Fatalf("after a late older delivery the order is %+v, %v", stored, err)
	}
	// Other topics are acknowledged and ignored; signed garbage is invalid.
	if o, _, err := e.svc.ReceiveShopify(ctx, e.src.ID, orders.ShopifyWebhook{Topic: "products/update", Body: []byte(`{}`),
		HMAC: shopifytest.Sign(webhookSecret, []byte(`{}`))}); err != nil || o != nil {
		t.Fatalf("other topic: %v, %v", o, err)
	}
	junk := []byte(`{"id":"x"`)
	_, _, err = e.svc.ReceiveShopify(ctx, e.src.ID, orders.ShopifyWebhook{Topic: "orders/updated", Body: junk,
		HMAC: shopifytest.Sign(webhookSecret, junk)})
	wantCode(t, err, crm.EINVALID)
}

// shopifyOrder puts order 1001 of alice in the fake and in Parley, and returns the
// customer's ticket and agent.
func (e *env) shopifyOrder() (*crm.IngestResult, *crm.Agent) {
	e.t.Helper()
	e.shop.AddOrder(450789469, "#1001", "alice@x.example", "", "USD", "5.00",
		shopifytest.Line{ID: 11, SKU: "MUG", Name: "Blue mug", Quantity: 2, Price: "19.00"},
		shopifytest.Line{ID: 12, SKU: "TEA", Name: "Earl grey", Quantity: 1, Price: "20.00"})
	res, agent := e.customer("alice@x.example", "")
	e.svc.RefreshNumber(crm.AsSystem(context.Background()), "1001")
	if _, err := e.db.Order(crm.AsSystem(context.Background()), "1001"); err != nil {
		e.t.Fatal(err)
	}
	return res, agent
}

func TestActions(t *testing.T) {
	e := newEnv(t, 3000)
	res, agent := e.shopifyOrder()
	actx := crm.WithAgent(crm.AsSystem(context.Background()), agent)
	sub := e.bus.Subscribe(256)
	defer sub.Close()

	// An agent's refund over the limit is forbidden and reaches neither the shop nor the log.
	_, _, err := e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionRefund, TicketID: res.TicketID,
		IdempotencyKey: "refund-over-limit"})
	wantCode(t, err, crm.EFORBIDDEN)
	if n := e.shop.Count("POST", "/refunds.json"); n != 0 {
		t.Fatalf("%d refunds created", n)
	}
	if list, _ := e.db.OrderActions(actx, "1001"); len(list) != 0 {
		t.Fatalf("a forbidden action was recorded: %v", list)
	}

	// A refund of one mug within the limit, double-submitted at once: one refund.
	var wg sync.WaitGroup
	results := make([]*crm.OrderAction, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _, err := e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionRefund, TicketID: res.TicketID,
				IdempotencyKey: "refund-mug-0001", Reason: "broken in transit",
				Items: []orders.RefundItem{{LineItemID: "11", Quantity: 1}}})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = a
		}()
	}
	wg.Wait()
	if n := e.shop.Count("POST", "/refunds.json"); n != 1 {
		t.Fatalf("%d refunds created for one idempotency key, want 1", n)
	}
	for _, a := range results {
		if a == nil || a.ID != results[0].ID || a.Status != crm.ActionOK || a.Amount != 1900 || a.Currency != "USD" {
			t.Fatalf("results = %+v", results)
		}
	}
	o, err := e.db.Order(actx, "1001")
	if err != nil || o.Refunded != 1900 || o.Status != "partially_refunded" {
		t.Fatalf("order after refund = %+v, %v", o, err)
	}

	// The action is on the ticket's history, by the agent.
	found := false
	for len(sub.C) > 0 {
		ev := <-sub.C
		if ev.Type == crm.EventOrderAction && ev.TicketID == res.TicketID && ev.Actor.ID == agent.ID {
			found = true
		}
	}
	if !found {
		t.Fatal("no order.action event on the ticket")
	}

	// A bad line, a bad quantity, and an amount above what is left are invalid.
	for _, req := range []orders.ActionRequest{
		{Items: []orders.RefundItem{{LineItemID: "99", Quantity: 1}}},
		{Items: []orders.RefundItem{{LineItemID: "12", Quantity: 2}}},
		{Amount: 999999},
	} {
		req.Number, req.Action, req.IdempotencyKey = "1001", crm.ActionRefund, "bad-"+fmt.Sprint(req)
		_, _, err := e.svc.Act(actx, req)
		wantCode(t, err, crm.EINVALID)
	}

	// A manager refunds the rest in full, whatever the limit.
	mgr, err := e.db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "m@shop.example", Name: "M", Role: crm.RoleManager, Password: "password-123"})
	if err != nil {
		t.Fatal(err)
	}
	mctx := crm.WithAgent(crm.AsSystem(context.Background()), mgr)
	a, o, err := e.svc.Act(mctx, orders.ActionRequest{Number: "1001", Action: crm.ActionRefund, TicketID: res.TicketID,
		IdempotencyKey: "refund-rest-0001"})
	if err != nil || a.Status != crm.ActionOK || a.Amount != 6300-1900 || o.Status != "refunded" || o.Refunded != 6300 {
		t.Fatalf("full refund: %+v %+v %v", a, o, err)
	}

	// Cancel by the agent; a second cancel is refused by Shopify and recorded as failed.
	a, o, err = e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionCancel, TicketID: res.TicketID,
		IdempotencyKey: "cancel-0001", Reason: "customer asked"})
	if err != nil || a.Status != crm.ActionOK || o.Status != "cancelled" || e.shop.Count("POST", "/cancel.json") != 1 {
		t.Fatalf("cancel: %+v %+v %v", a, o, err)
	}
	a, _, err = e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionCancel, TicketID: res.TicketID,
		IdempotencyKey: "cancel-0002"})
	if err != nil || a.Status != crm.ActionFailed || a.Error == "" {
		t.Fatalf("second cancel: %+v %v", a, err)
	}
	// The same key for another action is a conflict.
	_, _, err = e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionRefund, IdempotencyKey: "cancel-0001"})
	wantCode(t, err, crm.ECONFLICT)

	// Resend: the order summary goes to the customer on the ticket's channel.
	a, _, err = e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionResend, TicketID: res.TicketID,
		IdempotencyKey: "resend-0001"})
	if err != nil || a.Status != crm.ActionOK {
		t.Fatalf("resend: %+v %v", a, err)
	}
	msgs, _, err := e.db.Messages(actx, res.TicketID, crm.Page{})
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if last.Direction != crm.DirOut || last.Status != crm.MsgQueued || !strings.Contains(last.Text, "Your order 1001") || !strings.Contains(last.Text, "Total: 63.00 USD") {
		t.Fatalf("resent message = %+v", last)
	}
	_, _, err = e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionResend, IdempotencyKey: "resend-0002"})
	wantCode(t, err, crm.EINVALID) // needs a ticket

	list, err := e.db.OrderActions(actx, "1001")
	if err != nil || len(list) != 5 || list[0].Kind != crm.ActionResend {
		t.Fatalf("actions = %v, %v", list, err)
	}
}

func TestActionLimits(t *testing.T) {
	e := newEnv(t, 0) // agents may not refund at all
	res, agent := e.shopifyOrder()
	actx := crm.WithAgent(crm.AsSystem(context.Background()), agent)
	_, _, err := e.svc.Act(actx, orders.ActionRequest{Number: "1001", Action: crm.ActionRefund, TicketID: res.TicketID,
		IdempotencyKey: "refund-small-1", Amount: 1})
	wantCode(t, err, crm.EFORBIDDEN)

	// A local order has no actions; an order the agent may not see is not found.
	if _, err := e.db.PutOrder(crm.AsSystem(context.Background()), &crm.Order{Number: "L1", Email: "alice@x.example", Status: "paid",
		Currency: "USD", Total: 100, PlacedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Act(actx, orders.ActionRequest{Number: "L1", Action: crm.ActionCancel, IdempotencyKey: "cancel-local"})
	wantCode(t, err, crm.EINVALID)
	_, stranger := e.customer("bob@x.example", "")
	_, _, err = e.svc.Act(crm.WithAgent(crm.AsSystem(context.Background()), stranger), orders.ActionRequest{Number: "1001",
		Action: crm.ActionCancel, IdempotencyKey: "cancel-stranger"})
	wantCode(t, err, crm.ENOTFOUND)

	// A shop that is down: the action is recorded as failed, not lost.
	e.shop.SetDown(true)
	mgr, _ := e.db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "m@shop.example", Name: "M", Role: crm.RoleAdmin, Password: "password-123"})
	a, o, err := e.svc.Act(crm.WithAgent(crm.AsSystem(context.Background()), mgr), orders.ActionRequest{Number: "1001",
		Action: crm.ActionRefund, IdempotencyKey: "refund-down-1"})
	if err != nil || a.Status != crm.ActionFailed || !strings.Contains(a.Error, "503") || o.Refunded != 0 {
		t.Fatalf("refund while down: %+v %+v %v", a, o, err)
	}
}
