// Package shopifytest is a fake Shopify Admin REST API for tests: it speaks the real wire
// format (paths under /admin/api/{version}/, X-Shopify-Access-Token, Shopify's order,
// customer and refund JSON), keeps orders in memory and records every call.
package shopifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fake is a fake Shopify store: New runs it on a loopback server, NewHandler only
// answers requests given to it (ServeHTTP), as the demo's in-process shop does.
type Fake struct {
	*httptest.Server // nil for NewHandler
	Token            string
	// Name and Domain are what GET shop.json answers.
	Name, Domain string

	mu        sync.Mutex
	orders    map[int64]map[string]any
	customers []map[string]any
	calls     []string
	nextID    int64
	down      bool
	scopes    []string
	changes   int // orders changed so far: the clock of updated_at
}

// touch sets the order's updated_at, as Shopify does at every change: a second later
// than the change before, in the shop's own time zone.
func (f *Fake) touch(o map[string]any) {
	f.changes++
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.FixedZone("EST", -5*3600)).Add(time.Duration(f.changes) * time.Second)
	o["updated_at"] = at.Format(time.RFC3339)
}

// SetScopes sets the access scopes the token was granted (the custom app's
// configuration). New starts with read_orders, write_orders and read_customers.
func (f *Fake) SetScopes(scopes ...string) {
	f.mu.Lock()
	f.scopes = scopes
	f.mu.Unlock()
}

// SetDown makes every call answer 503, as a shop in maintenance does, or stops that.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// New starts a fake store that accepts the access token, granted read_orders,
// write_orders and read_customers.
func New(token string) *Fake {
	f := NewHandler(token)
	f.Server = httptest.NewServer(f)
	return f
}

// NewHandler returns a fake store that runs no server: it answers the requests given
// to its ServeHTTP. It accepts the token, granted the same scopes as New's.
func NewHandler(token string) *Fake {
	return &Fake{Token: token, Name: "Test store", Domain: "test-store.myshopify.com",
		orders: map[int64]map[string]any{}, nextID: 5000,
		scopes: []string{"read_orders", "write_orders", "read_customers"}}
}

// ServeHTTP answers one Admin API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.serve(w, r) }

// SetPlacedAt sets when an order was placed (created_at and processed_at).
func (f *Fake) SetPlacedAt(id int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[id]
	o["created_at"], o["processed_at"] = at.Format(time.RFC3339), at.Format(time.RFC3339)
}

// Line is a line item of an order to add.
type Line struct {
	ID       int64
	SKU      string
	Name     string
	Quantity int
	Price    string // decimal, e.g. "19.00"
}

// AddOrder stores an order in Shopify's JSON shape, paid and unfulfilled, and returns it.
// Totals are computed from the lines plus shipping; tax is 0.
func (f *Fake) AddOrder(id int64, name, email, phone, currency string, shipping string, lines ...Line) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var items []any
	var subtotal float64 // only for building fixtures; Parley itself never sees a float
	for _, l := range lines {
		p, _ := strconv.ParseFloat(l.Price, 64)
		subtotal += p * float64(l.Quantity)
		items = append(items, map[string]any{"id": l.ID, "sku": l.SKU, "name": l.Name, "title": l.Name,
			"quantity": l.Quantity, "price": l.Price})
	}
	ship, _ := strconv.ParseFloat(shipping, 64)
	customerID := id + 100000
	o := map[string]any{
		"id": id, "name": name, "order_number": orderNumber(name), "email": email, "phone": phone,
		"currency": currency, "created_at": "2026-11-20T10:00:00-05:00", "processed_at": "2026-11-20T10:00:00-05:00",
		"subtotal_price": money(subtotal, currency), "total_price": money(subtotal+ship, currency),
		"total_tax": money(0, currency), "total_discounts": money(0, currency),
		"total_shipping_price_set": map[string]any{"shop_money": map[string]any{"amount": shipping, "currency_code": currency}},
		"shipping_lines":           []any{map[string]any{"title": "Standard", "price": shipping}},
		"financial_status":         "paid", "fulfillment_status": nil, "cancelled_at": nil,
		"line_items": items, "fulfillments": []any{}, "refunds": []any{},
		"shipping_address": map[string]any{"name": "Test Shopper", "address1": "1 Main St", "city": "Springfield", "country_code": "US"},
		"customer":         map[string]any{"id": customerID, "email": email, "phone": phone},
	}
	f.touch(o)
	f.orders[id] = o
	f.customers = append(f.customers, map[string]any{"id": customerID, "email": email, "phone": phone})
	return o
}

// Ship adds a fulfillment with tracking to an order.
func (f *Fake) Ship(id int64, company, number, url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[id]
	o["fulfillment_status"] = "fulfilled"
	o["fulfillments"] = []any{map[string]any{"id": id + 7, "status": "success", "shipment_status": "in_transit",
		"tracking_company": company, "tracking_number": number, "tracking_url": url, "tracking_urls": []any{url}}}
	f.touch(o)
}

// OrderJSON returns the JSON of a stored order, as Shopify's webhooks send it.
func (f *Fake) OrderJSON(id int64) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(f.orders[id])
	return b
}

// Calls returns "METHOD /path?query" of every call so far.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Count returns how many calls had method and a path ending in suffix.
func (f *Fake) Count(method, suffix string) int {
	n := 0
	for _, c := range f.Calls() {
		m, rest, _ := strings.Cut(c, " ")
		path, _, _ := strings.Cut(rest, "?")
		if m == method && strings.HasSuffix(path, suffix) {
			n++
		}
	}
	return n
}

// Sign returns the X-Shopify-Hmac-Sha256 header of body for a webhook secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	if f.down {
		writeJSON(w, 503, map[string]any{"errors": "Service unavailable"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != f.Token {
		writeJSON(w, 401, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	if r.Method == "GET" && r.URL.Path == "/admin/oauth/access_scopes.json" {
		list := []any{}
		for _, s := range f.scopes {
			list = append(list, map[string]any{"handle": s})
		}
		writeJSON(w, 200, map[string]any{"access_scopes": list})
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "admin" || parts[1] != "api" {
		writeJSON(w, 404, map[string]any{"errors": "Not Found"})
		return
	}
	route := strings.Join(parts[3:], "/")
	q := r.URL.Query()
	switch {
	case r.Method == "GET" && route == "shop.json":
		writeJSON(w, 200, map[string]any{"shop": map[string]any{"id": 1, "name": f.Name,
			"myshopify_domain": f.Domain, "currency": "USD"}})
	case r.Method == "GET" && route == "orders.json":
		list := []any{}
		for _, o := range f.orders {
			if (q.Get("email") == "" || strings.EqualFold(o["email"].(string), q.Get("email"))) &&
				(q.Get("name") == "" || o["name"] == q.Get("name") || o["name"] == "#"+q.Get("name")) &&
				(q.Get("customer_id") == "" || fmt.Sprint(o["customer"].(map[string]any)["id"]) == q.Get("customer_id")) {
				list = append(list, o)
			}
		}
		writeJSON(w, 200, map[string]any{"orders": list})
	case r.Method == "GET" && route == "customers/search.json":
		phone := strings.TrimPrefix(q.Get("query"), "phone:")
		list := []any{}
		for _, c := range f.customers {
			if phone != "" && c["phone"] == phone {
				list = append(list, c)
			}
		}
		writeJSON(w, 200, map[string]any{"customers": list})
	case len(parts) >= 5 && parts[3] == "orders":
		f.serveOrder(w, r, parts[4:])
	default:
		writeJSON(w, 404, map[string]any{"errors": "Not Found"})
	}
}

func (f *Fake) serveOrder(w http.ResponseWriter, r *http.Request, rest []string) {
	id, _ := strconv.ParseInt(strings.TrimSuffix(rest[0], ".json"), 10, 64)
	o, ok := f.orders[id]
	if !ok {
		writeJSON(w, 404, map[string]any{"errors": "Not Found"})
		return
	}
	action := strings.Join(rest[1:], "/")
	var body struct {
		Refund struct {
			Shipping        map[string]any   `json:"shipping"`
			RefundLineItems []map[string]any `json:"refund_line_items"`
			Transactions    []map[string]any `json:"transactions"`
		} `json:"refund"`
	}
	if r.Method == "POST" {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, 400, map[string]any{"errors": "bad JSON"})
			return
		}
	}
	cur := o["currency"].(string)
	switch {
	case r.Method == "GET" && action == "":
		writeJSON(w, 200, map[string]any{"order": o})
	case r.Method == "POST" && action == "cancel.json":
		if o["cancelled_at"] != nil {
			writeJSON(w, 422, map[string]any{"errors": "Order has already been cancelled"})
			return
		}
		o["cancelled_at"] = time.Now().UTC().Format(time.RFC3339)
		f.touch(o)
		writeJSON(w, 200, map[string]any{"order": o})
	case r.Method == "POST" && action == "refunds/calculate.json":
		var amount float64
		lines := []any{}
		for _, rl := range body.Refund.RefundLineItems {
			for _, li := range o["line_items"].([]any) {
				li := li.(map[string]any)
				if fmt.Sprint(li["id"]) == fmt.Sprint(rl["line_item_id"]) {
					p, _ := strconv.ParseFloat(li["price"].(string), 64)
					q, _ := rl["quantity"].(float64)
					amount += p * q
					lines = append(lines, map[string]any{"line_item_id": li["id"], "quantity": q,
						"restock_type": "no_restock", "price": li["price"], "subtotal": money(p*q, cur), "total_tax": "0.00"})
				}
			}
		}
		shipping := map[string]any{"amount": "0.00", "tax": "0.00", "maximum_refundable": "0.00"}
		if full, _ := body.Refund.Shipping["full_refund"].(bool); full {
			shipping["amount"] = o["total_shipping_price_set"].(map[string]any)["shop_money"].(map[string]any)["amount"]
		}
		writeJSON(w, 200, map[string]any{"refund": map[string]any{"shipping": shipping, "refund_line_items": lines,
			"transactions": []any{map[string]any{"order_id": id, "kind": "suggested_refund", "gateway": "bogus",
				"parent_id": id + 9, "amount": money(amount, cur), "currency": cur,
				"maximum_refundable": money(f.refundable(o), cur)}}}})
	case r.Method == "POST" && action == "refunds.json":
		f.nextID++
		var txs []any
		for _, t := range body.Refund.Transactions {
			f.nextID++
			txs = append(txs, map[string]any{"id": f.nextID, "order_id": id, "kind": "refund", "gateway": t["gateway"],
				"parent_id": t["parent_id"], "status": "success", "amount": t["amount"], "currency": cur})
		}
		refund := map[string]any{"id": f.nextID, "order_id": id, "created_at": time.Now().UTC().Format(time.RFC3339),
			"transactions": txs, "refund_line_items": body.Refund.RefundLineItems}
		o["refunds"] = append(o["refunds"].([]any), refund)
		if f.refundable(o) <= 0 {
			o["financial_status"] = "refunded"
		} else {
			o["financial_status"] = "partially_refunded"
		}
		f.touch(o)
		writeJSON(w, 201, map[string]any{"refund": refund})
	default:
		writeJSON(w, 404, map[string]any{"errors": "Not Found"})
	}
}

// refundable is what is left to refund of an order.
func (f *Fake) refundable(o map[string]any) float64 {
	total, _ := strconv.ParseFloat(o["total_price"].(string), 64)
	for _, r := range o["refunds"].([]any) {
		for _, t := range r.(map[string]any)["transactions"].([]any) {
			a, _ := strconv.ParseFloat(fmt.Sprint(t.(map[string]any)["amount"]), 64)
			total -= a
		}
	}
	return total
}

func money(v float64, currency string) string {
	switch currency {
	case "JPY", "KRW":
		return strconv.FormatFloat(v, 'f', 0, 64)
	case "KWD", "BHD":
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func orderNumber(name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(name, "#"), 10, 64)
	return n
}
