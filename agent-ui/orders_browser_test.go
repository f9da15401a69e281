package agentui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/crm"
	"parley/orders/shopifytest"
)

// putOrder stores an order through PUT /api/v1/orders/{number}, as a shop's backend would.
func (f *fixture) putOrder(o map[string]any) {
	f.t.Helper()
	body, _ := json.Marshal(o)
	req, _ := http.NewRequest("PUT", f.srv.URL+"/api/v1/orders/"+o["number"].(string), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("PUT order %s: %d", o["number"], resp.StatusCode)
	}
}

func aliceOrder(number, status string, placed time.Time) map[string]any {
	return map[string]any{
		"number": number, "email": "alice@example.com", "status": status, "currency": "EUR",
		"subtotal": 3900, "shipping": 495, "tax": 741, "discount": 500, "total": 4636,
		"items":            []map[string]any{{"sku": "MUG-BLUE", "name": "Blue enamel mug", "quantity": 2, "unit_price": 1950}},
		"shipping_address": map[string]any{"line1": "1 Rue de la Paix", "city": "Paris"},
		"carrier":          "DHL", "tracking_number": "JD0146", "tracking_url": "https://track.example/JD0146",
		"placed_at": placed.UTC().Format(time.RFC3339),
	}
}

// TestOrdersPanel shows a customer's orders beside the ticket, newest first with totals
// in their currency; inserts a summary into the reply; and follows order.updated live.
func TestOrdersPanel(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("where-1", "Alice Shopper", "alice@example.com", "Where is my order?", "Order 1001 has not arrived.")
	old := aliceOrder("1001", "shipped", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	f.putOrder(old)
	yen := aliceOrder("1002", "paid", time.Date(2026, 4, 5, 10, 0, 0, 0, time.UTC))
	yen["currency"], yen["subtotal"], yen["shipping"], yen["tax"], yen["discount"], yen["total"] = "JPY", 1200, 0, 0, 0, 1200
	yen["tracking_url"] = "http://track.example/JP1002" // not https: shown, not linked (the store refuses javascript:)
	yen["items"] = []map[string]any{{"sku": "TEA", "name": "Sencha", "quantity": 1, "unit_price": 1200}}
	f.putOrder(yen)

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#ticket-subject", "Where is my order?")
	b.waitJS("two orders", `() => document.querySelectorAll('#orders li.order').length === 2`)
	rows := b.eval(`[...document.querySelectorAll('#orders li.order')].map(li => li.querySelector('.row1').textContent).join(' | ')`)
	if rows != "1002 Paid¥1,200 | 1001 Shipped€46.36" {
		t.Fatalf("orders panel rows %q, want the newest first with formatted totals", rows)
	}
	b.waitText(`#orders li.order[data-number="1001"] .items`, "2 × Blue enamel mug")
	b.waitText(`#orders li.order[data-number="1001"] .tracking a[href="https://track.example/JD0146"]`, "JD0146")
	if n := b.eval(`String(document.querySelectorAll('#orders a[href^="javascript"], #orders li.order[data-number="1002"] .tracking a').length)`); n != "0" {
		t.Fatalf("%s links from an http tracking URL", n)
	}
	if got := b.eval(`document.querySelector('#orders').textContent`); strings.Contains(got, "Rue de la Paix") {
		t.Errorf("the panel shows the shipping address in the list: %q", got)
	}

	// Insert summary puts the order into the reply box as plain text.
	b.do(chromedp.Click(chromedp.CSS(`#orders li.order[data-number="1001"] .insert-summary`)))
	b.waitJS("the summary in the reply box", `() => document.querySelector('#reply-body').value.includes('Order 1001 — Shipped')`)
	summary := b.eval(`document.querySelector('#reply-body').value`)
	for _, want := range []string{"2 × Blue enamel mug — €39.00", "Shipping: €4.95", "Discount: −€5.00", "Total: €46.36", "Tracking: DHL JD0146 https://track.example/JD0146"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}

	// The shop delivers the parcel: the panel follows without a reload, the draft stays.
	old["status"] = "delivered"
	f.putOrder(old)
	b.waitText(`#orders li.order[data-number="1001"] .order-status`, "Delivered")
	if got := b.eval(`document.querySelector('#reply-body').value`); got != summary {
		t.Fatalf("a live update changed the draft to %q", got)
	}
	// A new order appears in date order.
	f.putOrder(aliceOrder("1003", "pending", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)))
	b.waitJS("the new order on top", `() => document.querySelector('#orders li.order')?.dataset.number === '1003'`)

	// Local orders have no actions.
	if n := b.eval(`String(document.querySelectorAll('#orders .action-refund').length)`); n != "0" {
		t.Fatalf("%s refund buttons on local orders", n)
	}
	b.noScriptErrors()
}

// api sends an admin API request with the fixture's bearer token and decodes the answer.
func (f *fixture) api(method, path string, in, out any) int {
	f.t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestOrderRefundNeedsConfirmation is an agent refunding part of a Shopify order: the
// refund waits for a confirmation that states the amount, a refund above the agent's
// limit is refused with the reason, and a double click on the confirm button refunds once.
func TestOrderRefundNeedsConfirmation(t *testing.T) {
	f := newFixture(t)
	shop := shopifytest.New("shpat_test_token")
	defer shop.Close()
	shop.AddOrder(450789469, "#1001", "alice@example.com", "", "USD", "5.00",
		shopifytest.Line{ID: 466157049, SKU: "MUG", Name: "Blue mug", Quantity: 2, Price: "19.00"},
		shopifytest.Line{ID: 466157050, SKU: "TEA", Name: "Earl grey", Quantity: 1, Price: "12.00"})
	var src struct{ ID int64 }
	if code := f.api("POST", "/api/v1/order-sources", map[string]any{"kind": "shopify", "name": "Demo Mug Co.",
		"shop_domain": "demo-mugs.myshopify.com", "access_token": shop.Token, "webhook_secret": "whsec-0123456789abcdef",
		"api_base_url": shop.URL, "agent_refund_limit": 2500}, &src); code != http.StatusCreated || src.ID == 0 {
		t.Fatalf("create the Shopify source: %d", code)
	}
	f.agent("dana@test.example", "Dana Scully", crm.RoleAgent, f.inbox)
	id := f.inbound("refund-1", "Alice Shopper", "alice@example.com", "Refund please", "One mug arrived broken.")

	b := f.newTab(t)
	b.login("dana@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#ticket-subject", "Refund please")
	// The order comes from the shop when the panel asks for the customer's orders.
	order := `#orders li.order[data-number="1001"]`
	defer func() {
		if t.Failed() {
			t.Logf("orders panel: %s; shop calls %v", b.eval(`document.querySelector('#orders')?.textContent || ''`), shop.Calls())
		}
	}()
	b.waitText(order+" .row1", "$55.00")
	b.waitText(order+" .items", "2 × Blue mug")

	// A refund opens a confirmation step first; nothing reaches the shop.
	// The panel may redraw when the shop's answer is filed, so the click finds the button
	// and presses it in one step.
	b.click(order + " .action-refund")
	b.waitText(order+" .order-step .step-sentence", "This refunds $55.00 of order 1001 (the whole order, shipping included)")
	b.waitText(order+" .order-step .confirm", "Refund $55.00")
	if n := shop.Count("POST", "/refunds.json"); n != 0 {
		t.Fatalf("%d refunds before confirming", n)
	}

	// Count the requests the console sends, to see that a double click sends one.
	b.eval(`(() => { window.__actions = 0; const f = window.fetch; window.fetch = (u, o) => {
		if (String(u).endsWith('/actions') && o && o.method === 'POST') window.__actions++; return f(u, o); }; return ''; })()`)

	// Above Dana's limit of $25: the server refuses, the step says why, and nothing is refunded.
	b.do(chromedp.Click(chromedp.CSS(order + " .order-step .confirm")))
	b.waitText(order+" .order-step .step-error", "need a manager")
	if n := shop.Count("POST", "/refunds.json"); n != 0 {
		t.Fatalf("%d refunds above the agent's limit", n)
	}

	// One broken mug: chosen items, the amount follows the quantity.
	b.do(chromedp.Click(chromedp.CSS(order + ` input[value="items"]`)))
	b.waitJS("the item quantities", `(sel) => document.querySelectorAll(sel + ' .refund-items input.qty').length === 2`, order)
	b.do(chromedp.SetValue(chromedp.CSS(order+` input.qty[data-line="466157049"]`), "1"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#orders input.qty[data-line="466157049"]').dispatchEvent(new Event('change', {bubbles: true}))`))
	b.waitText(order+" .order-step .step-sentence", "This refunds $19.00 of order 1001 (1 × Blue mug)")
	b.waitText(order+" .order-step .confirm", "Refund $19.00")
	b.do(chromedp.SendKeys(chromedp.CSS(order+" .order-step input[type=text]"), "arrived broken"))

	// A double click: both clicks land before the first answer.
	b.eval(`(() => { const btn = document.querySelector('#orders li.order[data-number="1001"] .order-step .confirm'); btn.click(); btn.click(); return ''; })()`)
	b.waitText(order+" .order-result", "Refunded $19.00 in Shopify.")
	b.waitText(order+" .order-status", "Partially refunded")
	b.waitText(order+" .order-history", "Refund $19.00 — done · Dana Scully")
	b.waitText("#thread .order-action", "Refund order 1001 ($19.00) — done")
	if got := b.eval(`String(window.__actions)`); got != "2" {
		t.Fatalf("the console sent %s action requests, want 2 (the refused one and one for the double click)", got)
	}
	if n := shop.Count("POST", "/refunds.json"); n != 1 {
		t.Fatalf("Shopify got %d refunds, want 1: %v", n, shop.Calls())
	}
	var list struct {
		Actions []struct {
			Kind, Status string
			Amount       int64
		}
	}
	f.api("GET", "/api/v1/orders/1001/actions", nil, &list)
	if len(list.Actions) != 1 || list.Actions[0].Kind != "refund" || list.Actions[0].Status != "succeeded" || list.Actions[0].Amount != 1900 {
		t.Fatalf("stored actions %+v, want one refund of 1900", list.Actions)
	}
	b.noScriptErrors()
}

// TestOrderStepSurvivesLateLoad opens a refund step on an order that arrived live while
// the panel's first load of the customer's orders was still on its way, as on a slow
// network: when that answer comes, the half-done refund is still there.
func TestOrderStepSurvivesLateLoad(t *testing.T) {
	f := newFixture(t)
	shop := shopifytest.New("shpat_test_token")
	defer shop.Close()
	var src struct{ ID int64 }
	if code := f.api("POST", "/api/v1/order-sources", map[string]any{"kind": "shopify", "name": "Demo Mug Co.",
		"shop_domain": "demo-mugs.myshopify.com", "access_token": shop.Token, "webhook_secret": "whsec-0123456789abcdef",
		"api_base_url": shop.URL}, &src); code != http.StatusCreated || src.ID == 0 {
		t.Fatalf("create the Shopify source: %d", code)
	}
	id := f.inbound("late-1", "Alice Shopper", "alice@example.com", "Refund please", "One mug arrived broken.")
	isLoad := func(u *url.URL) bool { return u.Path == "/api/v1/orders" }
	release := f.hold("/api/v1/orders")

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#ticket-subject", "Refund please")
	waitUntil(t, "the panel's load of the orders", func() bool { return f.requests(isLoad) == 1 })

	// The shop's webhook files the order meanwhile; the panel shows it from the live event.
	if _, err := f.db.PutOrder(crm.AsSystem(context.Background()), &crm.Order{Number: "1001", Email: "alice@example.com",
		Status: "paid", Currency: "USD", Subtotal: 5000, Shipping: 500, Total: 5500, PlacedAt: time.Now().Add(-time.Hour),
		Items:  []crm.OrderItem{{SKU: "MUG", Name: "Blue mug", Quantity: 2, UnitPrice: 2500, LineItemID: "466157049"}},
		Source: crm.OrderSourceShopify, SourceID: src.ID, ExternalID: "450789469"}); err != nil {
		t.Fatal(err)
	}
	order := `#orders li.order[data-number="1001"]`
	b.click(order + " .action-refund")
	b.waitText(order+" .order-step .step-sentence", "This refunds $55.00 of order 1001")

	// The load's answer arrives; the panel then asks for the order's actions once more.
	isActions := func(u *url.URL) bool { return u.Path == "/api/v1/orders/1001/actions" }
	before := f.requests(isActions)
	release()
	waitUntil(t, "the orders panel to apply the late answer", func() bool { return f.requests(isActions) > before })
	if open := b.eval(`String(!!document.querySelector('` + order + ` .order-step'))`); open != "true" {
		t.Fatalf("the refund step closed when the first load arrived; panel: %s", b.eval(`document.querySelector('#orders').textContent`))
	}
	b.waitText(order+" .order-step .confirm", "Refund $55.00")
	b.noScriptErrors()
}

// waitUntil polls cond until it holds, failing t after ten seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
