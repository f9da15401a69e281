package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/crm"

	"golang.org/x/time/rate"
)

// putOrder stores an order as the shop would, with an address, email and phone that the
// widget must never show.
func (e *env) putOrder(number, email, phone, status string, placed time.Time) *crm.Order {
	e.t.Helper()
	o, err := e.db.PutOrder(crm.AsSystem(context.Background()), &crm.Order{
		Number: number, Email: email, Phone: phone, Status: status, Currency: "EUR",
		Subtotal: 3900, Shipping: 495, Tax: 741, Discount: 500, Total: 4636,
		Items:           []crm.OrderItem{{SKU: "MUG-BLUE", Name: "Blue enamel mug", Quantity: 2, UnitPrice: 1950}},
		ShippingAddress: json.RawMessage(`{"name":"Alice Shopper","line1":"1 Secret Lane","city":"Lyon"}`),
		Carrier:         "DHL", TrackingNumber: "JD0146", TrackingURL: "https://track.example/JD0146",
		PlacedAt: placed, Source: "test",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// raw reads frames until one of the given types arrives and returns its bytes.
func (c *client) raw(types ...string) []byte {
	c.t.Helper()
	for {
		c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("read frame: %v", err)
		}
		var f struct{ Type string }
		if json.Unmarshal(b, &f) != nil {
			c.t.Fatalf("frame is not JSON: %s", b)
		}
		for _, t := range types {
			if f.Type == t {
				return b
			}
		}
	}
}

// lookup sends an order_lookup and returns the raw answer (order, order_not_found or error).
func (c *client) lookup(number, email string) []byte {
	c.t.Helper()
	c.send(map[string]any{"type": "order_lookup", "number": number, "email": email})
	return c.raw("order", "order_not_found", "error")
}

// orderFrame is the widget's view of an answer about orders.
type orderFrame struct {
	Type   string         `json:"type"`
	Order  map[string]any `json:"order"`
	Orders []struct {
		Number string `json:"number"`
	} `json:"orders"`
	For   string `json:"for"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func decodeOrderFrame(t *testing.T, b []byte) orderFrame {
	t.Helper()
	var f orderFrame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return f
}

// notes returns the texts of the internal notes of a ticket.
func (e *env) notes(ticketID int64) string {
	var out []string
	for _, m := range e.messages(ticketID) {
		if m.Direction == crm.DirNote {
			out = append(out, m.Text)
		}
	}
	return strings.Join(out, "\n")
}

// noLookupLimits lets a test make as many lookups as it needs.
var noLookupLimits = Limits{OrderLookupsPerVisitor: Limit{Rate: rate.Inf}, OrderLookupsPerIP: Limit{Rate: rate.Inf}}

func TestOrderLookup(t *testing.T) {
	e := newEnv(t, Options{Limits: noLookupLimits}, nil)
	e.putOrder("1001", "Alice@Example.com", "+33612345678", "shipped", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	c, _ := e.visitor(nil)

	// The right number and email: status, items, totals and tracking, nothing private.
	b := c.lookup("1001", "alice@example.COM")
	f := decodeOrderFrame(t, b)
	if f.Type != "order" {
		t.Fatalf("right number and email: %s", b)
	}
	o := f.Order
	if o["number"] != "1001" || o["status"] != "shipped" || o["currency"] != "EUR" || o["total"] != 4636.0 ||
		o["tracking_url"] != "https://track.example/JD0146" || o["carrier"] != "DHL" || o["placed_at"] != "2026-03-02T10:00:00Z" {
		t.Fatalf("order frame %s", b)
	}
	items, _ := o["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "Blue enamel mug" || items[0].(map[string]any)["quantity"] != 2.0 {
		t.Fatalf("items %v", o["items"])
	}
	for _, secret := range []string{"Secret Lane", "shipping_address", "alice@example.com", "+33612345678", "phone", "email", "customer_id"} {
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(secret)) {
			t.Errorf("the order frame shows %q: %s", secret, b)
		}
	}
	// Shops print numbers with or without "#".
	if f := decodeOrderFrame(t, c.lookup(" #1001 ", "alice@example.com")); f.Type != "order" || f.Order["number"] != "1001" {
		t.Fatalf("#1001: %+v", f)
	}

	// A wrong email and an unknown number get the very same answer.
	wrongEmail := c.lookup("1001", "mallory@example.com")
	unknown := c.lookup("9999", "alice@example.com")
	if string(wrongEmail) != `{"type":"order_not_found"}` || string(unknown) != string(wrongEmail) {
		t.Fatalf("wrong email %s, unknown number %s: want the same order_not_found", wrongEmail, unknown)
	}

	// Bad input is an error about the lookup; the socket stays open.
	for _, tc := range []struct{ number, email string }{{"", "alice@example.com"}, {"1001", "not an email"}, {strings.Repeat("9", 65), "a@b.example"}} {
		f := decodeOrderFrame(t, c.lookup(tc.number, tc.email))
		if f.Type != "error" || f.Error.Code != crm.EINVALID || f.For != "order_lookup" {
			t.Fatalf("lookup %q %q: %+v, want invalid for order_lookup", tc.number, tc.email, f)
		}
	}

	// No ticket yet: the lookups wait, and the first message tells the agent about them.
	if ts, _, _ := e.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{InboxID: e.inbox.ID}); len(ts) != 0 {
		t.Fatalf("a lookup opened %d tickets", len(ts))
	}
	ack := c.say("c-1", "Hi, a question about my order")
	ticket := ticketOfMessage(t, e, ack.MessageID)
	notes := e.notes(ticket)
	for _, want := range []string{"Shopper looked up order 1001 (shipped).", "Shopper looked up order 9999 with alice@example.com: no matching order.",
		"Shopper looked up order 1001 with mallory@example.com: no matching order."} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	// With a conversation, a lookup is noted at once.
	const found = "Shopper looked up order 1001 (shipped)."
	before := strings.Count(e.notes(ticket), found)
	if f := decodeOrderFrame(t, c.lookup("1001", "alice@example.com")); f.Type != "order" {
		t.Fatalf("lookup after chatting: %+v", f)
	}
	waitFor(t, "the lookup note", func() bool { return strings.Count(e.notes(ticket), found) == before+1 })
}

// ticketOfMessage finds the ticket of a stored message through the inbox's tickets.
func ticketOfMessage(t *testing.T, e *env, messageID int64) int64 {
	t.Helper()
	ts, _, err := e.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{InboxID: e.inbox.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		for _, m := range e.messages(tk.ID) {
			if m.ID == messageID {
				return tk.ID
			}
		}
	}
	t.Fatalf("message %d not found", messageID)
	return 0
}

// TestOrderLookupByCustomerIdentity finds an order placed with a phone number through
// the email identity of its customer.
func TestOrderLookupByCustomerIdentity(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	bob := e.existingCustomer("bob@example.com", "Hello")
	ctx := crm.AsSystem(context.Background())
	if _, err := e.db.UpdateCustomer(ctx, bob.CustomerID, crm.CustomerUpdate{AddIdentities: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550100"}}}); err != nil {
		t.Fatal(err)
	}
	o := e.putOrder("B-7", "", "+14155550100", "paid", time.Now().Add(-time.Hour))
	if o.CustomerID != bob.CustomerID {
		t.Fatalf("order attached to customer %d, want Bob %d", o.CustomerID, bob.CustomerID)
	}
	c, _ := e.visitor(nil)
	if f := decodeOrderFrame(t, c.lookup("B-7", "bob@example.com")); f.Type != "order" || f.Order["status"] != "paid" {
		t.Fatalf("lookup by the customer's email: %+v", f)
	}
	if f := decodeOrderFrame(t, c.lookup("B-7", "+14155550100")); f.Type != "error" {
		t.Fatalf("a phone number instead of an email: %+v", f)
	}
}

func TestOrderLookupRateLimited(t *testing.T) {
	e := newEnv(t, Options{Limits: Limits{
		OrderLookupsPerVisitor: Limit{Rate: rate.Every(time.Hour), Burst: 3},
		OrderLookupsPerIP:      Limit{Rate: rate.Every(time.Hour), Burst: 5},
	}}, nil)
	e.putOrder("1001", "alice@example.com", "", "delivered", time.Now().Add(-time.Hour))

	// One visitor guessing numbers is stopped after three tries, even with the right pair.
	c, _ := e.visitor(nil)
	for i := range 3 {
		if f := decodeOrderFrame(t, c.lookup(fmt.Sprint(2000+i), "alice@example.com")); f.Type != "order_not_found" {
			t.Fatalf("guess %d: %+v", i, f)
		}
	}
	f := decodeOrderFrame(t, c.lookup("1001", "alice@example.com"))
	if f.Type != "error" || f.Error.Code != crm.ERATELIMITED || f.For != "order_lookup" {
		t.Fatalf("fourth lookup: %+v, want rate_limited", f)
	}

	// A fresh visitor from the same address gets the address's remaining two.
	c2, _ := e.visitor(nil)
	if f := decodeOrderFrame(t, c2.lookup("1001", "alice@example.com")); f.Type != "order" {
		t.Fatalf("new visitor's first lookup: %+v", f)
	}
	if f := decodeOrderFrame(t, c2.lookup("3000", "alice@example.com")); f.Type != "order_not_found" {
		t.Fatalf("new visitor's second lookup: %+v", f)
	}
	if f := decodeOrderFrame(t, c2.lookup("1001", "alice@example.com")); f.Type != "error" || f.Error.Code != crm.ERATELIMITED {
		t.Fatalf("the address's sixth lookup: %+v, want rate_limited", f)
	}
	// The chat itself goes on.
	c2.say("c-1", "still here")
}

func TestMyOrders(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 6 {
		e.putOrder(fmt.Sprintf("A-%d", i), "alice@example.com", "+33612345678", "paid", base.Add(time.Duration(i)*24*time.Hour))
	}
	e.putOrder("M-1", "mallory@example.com", "", "paid", base.Add(30*24*time.Hour))

	// A signed-in shopper sees the five newest of their own orders, redacted.
	c, w := e.visitor(map[string]any{"identity": map[string]string{"email": "alice@example.com", "hash": sign("alice@example.com")}})
	if !w.EmailVerified {
		t.Fatalf("welcome %+v", w)
	}
	c.send(map[string]any{"type": "my_orders"})
	b := c.raw("orders", "error")
	f := decodeOrderFrame(t, b)
	var got []string
	for _, o := range f.Orders {
		got = append(got, o.Number)
	}
	if f.Type != "orders" || strings.Join(got, ",") != "A-5,A-4,A-3,A-2,A-1" {
		t.Fatalf("my_orders: %s", b)
	}
	if strings.Contains(string(b), "Secret Lane") || strings.Contains(string(b), "+33612345678") || strings.Contains(string(b), "alice@") {
		t.Fatalf("my_orders shows private fields: %s", b)
	}

	// A shopper who only typed an email sees nothing.
	c2, _ := e.visitor(map[string]any{"email": "alice@example.com"})
	c2.send(map[string]any{"type": "my_orders"})
	if f := decodeOrderFrame(t, c2.raw("orders", "error")); f.Type != "error" || f.Error.Code != crm.EFORBIDDEN || f.For != "my_orders" {
		t.Fatalf("my_orders of an unverified shopper: %+v", f)
	}
}
