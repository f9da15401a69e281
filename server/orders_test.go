package server_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/orders/shopifytest"
	"parley/server"
)

// post sends a raw webhook with headers and returns the status and body.
func post(t *testing.T, url string, body []byte, headers map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

type sourceOut struct {
	ID         int64          `json:"id"`
	Kind       string         `json:"kind"`
	Config     map[string]any `json:"config"`
	SecretsSet []string       `json:"secrets_set"`
	WebhookURL string         `json:"webhook_url"`
}

func TestOrderSourcesAndWebhook(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "API")
	dana := e.agent("dana@shop.example", crm.RoleAgent, inbox)
	mgr := e.agent("max@shop.example", crm.RoleManager)

	body := map[string]any{"kind": "webhook", "name": "My shop", "secret": "a-long-webhook-secret"}
	for _, c := range []*client{dana, mgr} {
		status, data := c.do("POST", "/api/v1/order-sources", body)
		if status != 403 || errCode(t, data) != "forbidden" {
			t.Fatalf("non-admin create: %d %s", status, data)
		}
	}
	var src sourceOut
	e.admin.mustDo("POST", "/api/v1/order-sources", body, 201, &src)
	if src.Kind != "webhook" || src.WebhookURL != e.srv.URL+"/webhooks/orders/"+itoa(src.ID) ||
		len(src.SecretsSet) != 1 || src.SecretsSet[0] != "secret" || len(src.Config) != 0 {
		t.Fatalf("created = %+v", src)
	}
	status, data := e.admin.do("GET", "/api/v1/order-sources", nil)
	if status != 200 || strings.Contains(string(data), "a-long-webhook-secret") || !strings.Contains(string(data), `"order_sources"`) {
		t.Fatalf("list: %d %s", status, data)
	}
	for _, bad := range []any{
		map[string]any{"kind": "webhook", "name": "x", "secret": "short"},
		map[string]any{"kind": "ftp", "name": "x"},
		map[string]any{"kind": "webhook", "name": "x", "secret": "a-long-webhook-secret", "extra": 1},
		`{"kind":`,
	} {
		status, data := e.admin.do("POST", "/api/v1/order-sources", bad)
		if status != 400 || errCode(t, data) != "invalid" {
			t.Errorf("bad source %v: %d %s", bad, status, data)
		}
	}
	e.admin.mustDo("PATCH", "/api/v1/order-sources/"+itoa(src.ID), map[string]any{"name": "Renamed"}, 200, &src)
	status, _ = e.admin.do("PATCH", "/api/v1/order-sources/999", map[string]any{"name": "x"})
	if status != 404 {
		t.Fatalf("patch unknown: %d", status)
	}

	order := []byte(`{"number":"W-100","email":"alice@x.example","status":"paid","currency":"USD","total":1250,` +
		`"items":[{"sku":"A","name":"Apple","quantity":1,"unit_price":1250}],"placed_at":"2026-11-22T10:00:00Z"}`)
	mac := hmac.New(sha256.New, []byte("a-long-webhook-secret"))
	mac.Write(order)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	for name, h := range map[string]map[string]string{
		"unsigned": nil,
		"forged":   {"X-Parley-Signature": "sha256=" + strings.Repeat("0", 64)},
		"garbage":  {"X-Parley-Signature": "hello"},
	} {
		status, data := post(t, src.WebhookURL, order, h)
		if status != 401 || errCode(t, data) != "unauthorized" {
			t.Errorf("%s webhook: %d %s", name, status, data)
		}
	}
	if status, data := post(t, e.srv.URL+"/webhooks/orders/abc", order, map[string]string{"X-Parley-Signature": good}); status != 401 {
		t.Errorf("bad source id: %d %s", status, data)
	}
	status, data = e.admin.do("GET", "/api/v1/orders/W-100", nil)
	if status != 404 {
		t.Fatalf("a forged webhook stored the order: %d %s", status, data)
	}
	big := bytes.Repeat([]byte("x"), 3<<20)
	if status, _ := post(t, src.WebhookURL, big, map[string]string{"X-Parley-Signature": good}); status != 413 {
		t.Errorf("oversized webhook: %d", status)
	}

	status, data = post(t, src.WebhookURL, order, map[string]string{"X-Parley-Signature": good})
	if status != 200 {
		t.Fatalf("signed webhook: %d %s", status, data)
	}
	var o crm.Order
	json.Unmarshal(data, &o)
	if o.Number != "W-100" || o.SourceID != src.ID || o.Total != 1250 {
		t.Fatalf("order = %+v", o)
	}
	// Twice is one order.
	post(t, src.WebhookURL, order, map[string]string{"X-Parley-Signature": good})
	var list struct{ Orders []crm.Order }
	e.admin.mustDo("GET", "/api/v1/orders?email=alice@x.example", nil, 200, &list)
	if len(list.Orders) != 1 {
		t.Fatalf("orders = %+v", list.Orders)
	}
	for _, q := range []string{"Alice@x.example", "W-1", "#W-10"} {
		e.admin.mustDo("GET", "/api/v1/orders?q="+url.QueryEscape(q), nil, 200, &list)
		if len(list.Orders) != 1 || list.Orders[0].Number != "W-100" {
			t.Errorf("q=%s: orders = %+v", q, list.Orders)
		}
	}
	// A PUT cannot claim a source: orders it stores are local.
	var put crm.Order
	mgr.mustDo("PUT", "/api/v1/orders/W-100", map[string]any{"email": "alice@x.example", "status": "paid", "currency": "USD",
		"total": 1250, "placed_at": "2026-11-22T10:00:00Z", "source_id": src.ID, "external_id": "x"}, 200, &put)
	if put.SourceID != 0 || put.ExternalID != "" {
		t.Fatalf("put = %+v", put)
	}
}

func TestShopifyOrdersAPI(t *testing.T) {
	e := newHubEnvWith(t, server.Options{Outbound: allowPrivate}) // the fake shop is on loopback
	shop := shopifytest.New("shpat_token")
	defer shop.Close()
	shop.AddOrder(450789469, "#1001", "alice@x.example", "", "USD", "5.00",
		shopifytest.Line{ID: 11, SKU: "MUG", Name: "Blue mug", Quantity: 2, Price: "19.00"},
		shopifytest.Line{ID: 12, SKU: "TEA", Name: "Earl grey", Quantity: 1, Price: "20.00"})
	var src sourceOut
	e.admin.mustDo("POST", "/api/v1/order-sources", map[string]any{"kind": "shopify", "name": "Shop",
		"shop_domain": "test.myshopify.com", "access_token": "shpat_token", "webhook_secret": "shopify-webhook-secret",
		"api_base_url": shop.URL, "agent_refund_limit": 2000}, 201, &src)
	if src.WebhookURL != e.srv.URL+"/webhooks/shopify/"+itoa(src.ID) || src.Config["agent_refund_limit"] != float64(2000) ||
		strings.Join(src.SecretsSet, ",") != "access_token,webhook_secret" {
		t.Fatalf("source = %+v", src)
	}

	inbox := e.inbox(crm.KindAPI, "API")
	res := e.inbound(inbox, "m1", "alice@x.example", "Where is order #1001?")
	dana := e.agent("dana@shop.example", crm.RoleAgent, inbox)
	ws := e.dial(dana)

	// Opening the customer's orders looks them up in Shopify.
	var list struct{ Orders []crm.Order }
	dana.mustDo("GET", "/api/v1/orders?customer_id="+itoa(res.CustomerID), nil, 200, &list)
	if len(list.Orders) != 1 || list.Orders[0].Number != "1001" || list.Orders[0].Total != 6300 ||
		list.Orders[0].Items[0].LineItemID != "11" || list.Orders[0].SourceID != src.ID {
		t.Fatalf("orders = %+v", list.Orders)
	}
	ws.waitFor("order.updated of 1001", func(f wsFrame) bool { return f.Type == "order.updated" && f.str("number") == "1001" })

	// A Shopify webhook, forged and then signed.
	shop.Ship(450789469, "UPS", "1Z999", "https://ups.example/1Z999")
	body := shop.OrderJSON(450789469)
	hdr := map[string]string{"X-Shopify-Topic": "orders/updated", "X-Shopify-Webhook-Id": "b54557e4",
		"X-Shopify-Hmac-Sha256": shopifytest.Sign("not-the-secret-at-all", body)}
	if status, data := post(t, src.WebhookURL, body, hdr); status != 401 || errCode(t, data) != "unauthorized" {
		t.Fatalf("forged shopify webhook: %d %s", status, data)
	}
	hdr["X-Shopify-Hmac-Sha256"] = shopifytest.Sign("shopify-webhook-secret", body)
	if status, data := post(t, src.WebhookURL, body, hdr); status != 200 {
		t.Fatalf("shopify webhook: %d %s", status, data)
	}
	ws.waitFor("shipped 1001", func(f wsFrame) bool { return f.Type == "order.updated" && f.str("status") == "shipped" })

	// Agent: a full refund is over the limit.
	status, data := dana.do("POST", "/api/v1/orders/1001/actions", map[string]any{"action": "refund",
		"ticket_id": res.TicketID, "idempotency_key": "7b0f7c1e-0000-4000-8000-000000000001"})
	if status != 403 || errCode(t, data) != "forbidden" {
		t.Fatalf("refund over limit: %d %s", status, data)
	}
	// A double click on a refund of one mug: one refund at Shopify, the same answer twice.
	req := map[string]any{"action": "refund", "ticket_id": res.TicketID, "reason": "chipped",
		"idempotency_key": "7b0f7c1e-0000-4000-8000-000000000002", "items": []map[string]any{{"line_item_id": "11", "quantity": 1}}}
	type actionOut struct {
		Action struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
			Amount int64  `json:"amount"`
			Kind   string `json:"kind"`
			Actor  crm.Actor
		} `json:"action"`
		Order crm.Order `json:"order"`
	}
	outs := make([]actionOut, 2)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, data := dana.do("POST", "/api/v1/orders/1001/actions", req)
			if status != 200 {
				t.Errorf("refund: %d %s", status, data)
			}
			json.Unmarshal(data, &outs[i])
		}()
	}
	wg.Wait()
	if n := shop.Count("POST", "/refunds.json"); n != 1 {
		t.Fatalf("%d refunds at Shopify, want 1", n)
	}
	if outs[0].Action.ID != outs[1].Action.ID || outs[0].Action.Status != "succeeded" || outs[0].Action.Amount != 1900 ||
		outs[0].Action.Actor.Kind != "agent" || outs[0].Order.Refunded != 1900 {
		t.Fatalf("answers = %+v", outs)
	}
	// The action reaches the ticket's agents live, and is in the order's action list.
	ws.waitFor("order.action", func(f wsFrame) bool { return f.Type == crm.EventOrderAction && f.num("id") == outs[0].Action.ID })
	var acts struct {
		Actions []struct {
			ID       int64
			Kind     string
			TicketID int64 `json:"ticket_id"`
		}
	}
	dana.mustDo("GET", "/api/v1/orders/1001/actions", nil, 200, &acts)
	if len(acts.Actions) != 1 || acts.Actions[0].TicketID != res.TicketID {
		t.Fatalf("actions = %+v", acts)
	}

	// Bad requests.
	for _, bad := range []any{
		map[string]any{"action": "explode", "idempotency_key": "k-000000001"},
		map[string]any{"action": "cancel"},
		map[string]any{"action": "cancel", "idempotency_key": "k-000000002", "amount": 5},
		map[string]any{"action": "refund", "idempotency_key": "k-000000003", "amount": 1.5},
		map[string]any{"action": "refund", "idempotency_key": "k-000000004", "amount": -1},
		`{"action":"refund"`,
	} {
		status, data := dana.do("POST", "/api/v1/orders/1001/actions", bad)
		if status != 400 || errCode(t, data) != "invalid" {
			t.Errorf("bad action %v: %d %s", bad, status, data)
		}
	}
	// An agent of another inbox cannot see the order, nor act on it.
	other := e.agent("eve@shop.example", crm.RoleAgent, e.inbox(crm.KindAPI, "Other"))
	for _, m := range []string{"GET", "POST"} {
		status, _ := other.do(m, "/api/v1/orders/1001/actions", map[string]any{"action": "cancel", "idempotency_key": "k-000000005"})
		if status != 404 {
			t.Errorf("%s by another inbox's agent: %d", m, status)
		}
	}
	// A local order has no shop to act in.
	e.admin.mustDo("PUT", "/api/v1/orders/L-1", map[string]any{"email": "alice@x.example", "status": "paid",
		"currency": "USD", "total": 100, "placed_at": "2026-11-22T10:00:00Z"}, 200, nil)
	status, data = dana.do("POST", "/api/v1/orders/L-1/actions", map[string]any{"action": "cancel", "idempotency_key": "k-000000006"})
	if status != 400 || !strings.Contains(string(data), "actions need a Shopify order") {
		t.Fatalf("local order action: %d %s", status, data)
	}
	ws.never(`"idempotency_key"`) // the key is the client's, never echoed to others
}

// TestOrderWebhooksOutOfOrder checks that an order update older than the stored one
// changes nothing: a late retry of "paid" cannot roll back a refund.
func TestOrderWebhooksOutOfOrder(t *testing.T) {
	e := newEnv(t)
	var src sourceOut
	e.admin.mustDo("POST", "/api/v1/order-sources", map[string]any{"kind": "webhook", "name": "Shop", "secret": "a-long-webhook-secret"}, 201, &src)
	send := func(status, updated string) (int, map[string]any) {
		t.Helper()
		body := []byte(`{"number":"W-7","email":"alice@x.example","status":"` + status + `","currency":"USD","total":1250,` +
			`"placed_at":"2026-11-22T10:00:00Z","updated_at":"` + updated + `"}`)
		mac := hmac.New(sha256.New, []byte("a-long-webhook-secret"))
		mac.Write(body)
		code, data := post(t, src.WebhookURL, body, map[string]string{"X-Parley-Signature": "sha256=" + hex.EncodeToString(mac.Sum(nil))})
		var out map[string]any
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("webhook answer %s: %v", data, err)
		}
		return code, out
	}
	stored := func() crm.Order {
		var o crm.Order
		e.admin.mustDo("GET", "/api/v1/orders/W-7", nil, 200, &o)
		return o
	}
	if code, out := send("paid", "2026-11-22T10:00:00Z"); code != 200 || out["status"] != "paid" {
		t.Fatalf("v1: %d %v", code, out)
	}
	if code, out := send("refunded", "2026-11-22T12:00:00+01:00"); code != 200 || out["status"] != "refunded" {
		t.Fatalf("v2: %d %v", code, out)
	}
	code, out := send("paid", "2026-11-22T10:00:00Z") // v1 again, late
	if code != 200 || out["stale"] != true {
		t.Fatalf("late v1: %d %v, want 200 stale", code, out)
	}
	if o := stored(); o.Status != "refunded" || !o.UpdatedAt.Equal(time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("after a stale update the order is %s of %s, want refunded of 11:00 UTC", o.Status, o.UpdatedAt)
	}
	// The same version again is a repeat: answered like the first time, nothing changes.
	if code, out := send("refunded", "2026-11-22T11:00:00Z"); code != 200 || out["status"] != "refunded" || out["stale"] != nil {
		t.Fatalf("repeat of v2: %d %v", code, out)
	}
	if code, out := send("shipped", "2026-11-22T11:00:00Z"); code != 200 || out["status"] != "refunded" {
		t.Fatalf("another body with the stored version: %d %v, want the stored order unchanged", code, out)
	}
	if code, out := send("delivered", "2026-11-23T09:00:00Z"); code != 200 || out["status"] != "delivered" {
		t.Fatalf("v3: %d %v", code, out)
	}
	// An update through the API follows the same rule.
	var put map[string]any
	e.admin.mustDo("PUT", "/api/v1/orders/W-7", map[string]any{"email": "alice@x.example", "status": "paid", "currency": "USD",
		"total": 1250, "placed_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T11:00:00Z"}, 200, &put)
	if put["stale"] != true || stored().Status != "delivered" {
		t.Fatalf("stale PUT = %v, order %s", put, stored().Status)
	}
}
