package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"parley/crm"
	"parley/identity"
)

// Limits of the "Track my order" frames.
const (
	maxOrderNumber = 64 // the longest order number the store accepts
	recentOrders   = 5  // orders a signed-in shopper sees without typing
	// maxLookupNotes bounds the lookups remembered for one visitor who has not written yet.
	maxLookupNotes = 10
	// maxLookupVisitors bounds the visitors whose lookups wait for a first message, so a
	// flood of new visitors cannot grow the map without end.
	maxLookupVisitors = 10_000
	lookupNoteTTL     = 24 * time.Hour
)

// widgetOrder is an order as a shopper sees it: never the shipping address, email or
// phone, which the number alone must not reveal to whoever guesses it.
type widgetOrder struct {
	Number         string            `json:"number"`
	Status         string            `json:"status"`
	Currency       string            `json:"currency"`
	Subtotal       int64             `json:"subtotal"`
	Shipping       int64             `json:"shipping"`
	Tax            int64             `json:"tax"`
	Discount       int64             `json:"discount"`
	Total          int64             `json:"total"`
	Refunded       int64             `json:"refunded"`
	Items          []widgetOrderItem `json:"items"`
	Carrier        string            `json:"carrier"`
	TrackingNumber string            `json:"tracking_number"`
	TrackingURL    string            `json:"tracking_url"`
	PlacedAt       time.Time         `json:"placed_at"`
}

type widgetOrderItem struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// widgetOrderOf copies the fields a shopper may see, field by field, so that a field
// added to crm.Order later stays out of the widget until someone decides otherwise.
func widgetOrderOf(o *crm.Order) widgetOrder {
	w := widgetOrder{Number: o.Number, Status: o.Status, Currency: o.Currency, Subtotal: o.Subtotal,
		Shipping: o.Shipping, Tax: o.Tax, Discount: o.Discount, Total: o.Total, Refunded: o.Refunded,
		Items: make([]widgetOrderItem, len(o.Items)), Carrier: o.Carrier, TrackingNumber: o.TrackingNumber,
		TrackingURL: o.TrackingURL, PlacedAt: o.PlacedAt}
	for i, it := range o.Items {
		w.Items[i] = widgetOrderItem{SKU: it.SKU, Name: it.Name, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	return w
}

// orderNotFound answers both an unknown number and a number with another email, so the
// widget cannot be used to learn which order numbers exist.
var orderNotFound = []byte(`{"type":"order_not_found"}`)

// orderLookup answers {"type":"order_lookup","number","email"} with the order when the
// email is the order's or one of its customer's, else with order_not_found. Every
// attempt, valid or not, counts against the per-visitor and per-IP lookup limits first.
// Returns rate_limited, invalid or internal.
func (ch *Channel) orderLookup(ctx context.Context, c *conn, f *frame) error {
	if !ch.lookupPerUser.allow(c.v.ID) || !ch.lookupPerIP.allow(c.ip) {
		ch.log.Warn("order lookups rate limited", "inbox", c.s.InboxID, "visitor", c.v.ID, "ip", c.ip)
		return crm.Errorf(crm.ERATELIMITED, "too many order lookups; please try again in a few minutes")
	}
	number := cleanName(f.Number)
	if number == "" || len(number) > maxOrderNumber {
		return crm.Errorf(crm.EINVALID, "please enter your order number")
	}
	email, err := identity.Normalize(crm.IdentityEmail, f.Email, "")
	if err != nil {
		return crm.Errorf(crm.EINVALID, "please enter the email address the order was placed with")
	}
	o, err := ch.findOrder(ctx, number, email)
	if err != nil {
		return err
	}
	if o == nil {
		c.push(orderNotFound)
		ch.recordLookup(ctx, c, fmt.Sprintf("Shopper looked up order %s with %s: no matching order.", number, email))
		return nil
	}
	b, err := json.Marshal(map[string]any{"type": "order", "order": widgetOrderOf(o)})
	if err != nil {
		return fmt.Errorf("encode order frame: %w", err)
	}
	c.push(b)
	if err := ch.store.RecordSelfService(ctx, c.s.InboxID, crm.SelfServiceLookup); err != nil {
		ch.log.Warn("count a self-service lookup", "inbox", c.s.InboxID, "err", err)
	}
	ch.recordLookup(ctx, c, fmt.Sprintf("Shopper looked up order %s (%s).", o.Number, o.Status))
	ch.recordProof(ctx, c, email, o.Number)
	return nil
}

// recordProof remembers that the visitor proved email by finding order number with it,
// so that the console offers the agent to link the visitor to that email's customer. A
// visitor not stored yet is stored first (the proof refers to it). Failing to remember
// costs the shopper nothing: it is logged, not answered.
func (ch *Channel) recordProof(ctx context.Context, c *conn, email, number string) {
	if c.unsaved {
		if err := ch.storeVisitor(ctx, c.v, hashToken(c.token)); err != nil {
			ch.log.Warn("store visitor for a proof", "inbox", c.s.InboxID, "err", err)
			return
		}
		c.unsaved = false
	}
	if err := ch.store.RecordProof(ctx, c.v.ID, email, number); err != nil {
		ch.log.Warn("record identity proof", "inbox", c.s.InboxID, "err", err)
	}
}

// findOrder returns the order with number (tried also with or without a leading "#",
// as shops print it either way) whose email, or whose customer's email identity, is
// email; nil when there is none. Lookups run as the system: a shopper is no agent.
func (ch *Channel) findOrder(ctx context.Context, number, email string) (*crm.Order, error) {
	alt := "#" + number
	if strings.HasPrefix(number, "#") {
		alt = strings.TrimPrefix(number, "#")
	}
	for _, n := range []string{number, alt} {
		if n == "" || len(n) > maxOrderNumber {
			continue
		}
		o, err := ch.store.Order(ctx, n)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("find order: %w", err)
		}
		ok, err := ch.orderOf(ctx, o, email)
		if err != nil {
			return nil, err
		}
		if ok {
			return o, nil
		}
	}
	return nil, nil
}

// orderOf reports whether email placed order o: the order's own email, or an email
// identity of the customer the order belongs to (it may have been placed with a phone).
func (ch *Channel) orderOf(ctx context.Context, o *crm.Order, email string) (bool, error) {
	if strings.ToLower(o.Email) == email {
		return true, nil
	}
	if o.CustomerID == 0 {
		return false, nil
	}
	cust, err := ch.store.Customer(ctx, o.CustomerID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("load the order's customer: %w", err)
	}
	for _, id := range cust.Identities {
		if id.Kind == crm.IdentityEmail && strings.ToLower(id.Address) == email {
			return true, nil
		}
	}
	return false, nil
}

// myOrders answers {"type":"my_orders"} with the recent orders of a shopper the shop
// signed in (a valid identity hash). Returns forbidden, rate_limited or internal.
func (ch *Channel) myOrders(ctx context.Context, c *conn) error {
	v := c.v
	if !v.EmailVerified || v.Email == "" {
		return crm.Errorf(crm.EFORBIDDEN, "sign in to the shop to see your orders here")
	}
	if !ch.msgPerUser.allow(v.ID) || !ch.msgPerIP.allow(c.ip) {
		return crm.Errorf(crm.ERATELIMITED, "too many requests; wait a moment")
	}
	orders, _, err := ch.store.Orders(ctx, crm.OrderFilter{Email: v.Email, Page: crm.Page{Limit: recentOrders}})
	if err != nil {
		return fmt.Errorf("list the shopper's orders: %w", err)
	}
	list := make([]widgetOrder, len(orders))
	for i, o := range orders {
		list[i] = widgetOrderOf(o)
	}
	b, err := json.Marshal(map[string]any{"type": "orders", "orders": list})
	if err != nil {
		return fmt.Errorf("encode orders frame: %w", err)
	}
	c.push(b)
	return nil
}

// lookupNotes are the lookups of a visitor who has no conversation yet.
type lookupNotes struct {
	lines []string
	at    time.Time
}

// recordLookup tells the agents about a lookup with an internal note on the visitor's
// conversation. A visitor who has not written yet has no conversation, and a lookup
// alone does not open a ticket (self-service that worked should not queue work for
// agents), so the note waits in memory for the visitor's first message.
func (ch *Channel) recordLookup(ctx context.Context, c *conn, line string) {
	if ticket := ch.hub.ticketOf(c); ticket != 0 {
		ch.note(ctx, ticket, line)
		return
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	p := ch.lookups[c.v.ID]
	if p == nil {
		if len(ch.lookups) >= maxLookupVisitors {
			return
		}
		p = &lookupNotes{}
		ch.lookups[c.v.ID] = p
	}
	if len(p.lines) < maxLookupNotes {
		p.lines = append(p.lines, line)
	}
	p.at = time.Now()
}

// takeLookups returns and forgets the lookups waiting for a visitor's first message.
func (ch *Channel) takeLookups(visitorID string) []string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	p := ch.lookups[visitorID]
	if p == nil {
		return nil
	}
	delete(ch.lookups, visitorID)
	return p.lines
}

// sweepLookups forgets lookups of visitors who never wrote within a day.
func (ch *Channel) sweepLookups() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for id, p := range ch.lookups {
		if time.Since(p.at) > lookupNoteTTL {
			delete(ch.lookups, id)
		}
	}
}
