package orders

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/crm"
	"parley/identity"
)

// maxShopifyResponse caps what is read of one Admin API answer.
const maxShopifyResponse = 8 << 20

// shopify is a client of one store's Admin REST API.
type shopify struct {
	hc       *http.Client
	base     string // https://x.myshopify.com/admin/api/2024-10
	token    string
	limit    int64 // agent_refund_limit
	sourceID int64
}

func (s *Service) shopifyOf(src *crm.OrderSource) *shopify {
	version := configString(src.Config, "api_version")
	if version == "" {
		version = DefaultAPIVersion
	}
	base := configString(src.Config, "api_base_url")
	if base == "" {
		base = "https://" + configString(src.Config, "shop_domain")
	}
	return &shopify{hc: s.hc, base: strings.TrimRight(base, "/") + "/admin/api/" + version,
		token: src.Secrets["access_token"], limit: configInt(src.Config, "agent_refund_limit"), sourceID: src.ID}
}

// shopifyError is a failed Admin API call: its status and Shopify's message.
type shopifyError struct {
	Status  int
	Message string
}

func (e *shopifyError) Error() string {
	return fmt.Sprintf("shopify answered %d: %s", e.Status, e.Message)
}

// call sends one request with the access token and decodes the JSON answer into out.
func (c *shopify) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("marshal shopify request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return fmt.Errorf("shopify request: %w", err)
	}
	req.Header.Set("X-Shopify-Access-Token", c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("shopify %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxShopifyResponse))
	if err != nil {
		return fmt.Errorf("read shopify answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return &shopifyError{Status: resp.StatusCode, Message: shopifyMessage(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode shopify answer to %s %s: %w", method, path, err)
	}
	return nil
}

// shopifyMessage extracts Shopify's "errors" (a string, a list or an object of lists).
func shopifyMessage(data []byte) string {
	var e struct {
		Errors json.RawMessage `json:"errors"`
		Error  string          `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil {
		if e.Error != "" {
			return cut(e.Error, 300)
		}
		var s string
		if json.Unmarshal(e.Errors, &s) == nil && s != "" {
			return cut(s, 300)
		}
		if len(e.Errors) > 0 {
			return cut(string(e.Errors), 300)
		}
	}
	return cut(strings.TrimSpace(string(data)), 300)
}

// Shopify's order JSON, the fields Parley reads.
type shopifyOrder struct {
	ID                int64              `json:"id"`
	Name              string             `json:"name"`
	OrderNumber       int64              `json:"order_number"`
	Email             string             `json:"email"`
	Phone             string             `json:"phone"`
	Currency          string             `json:"currency"`
	SubtotalPrice     string             `json:"subtotal_price"`
	TotalPrice        string             `json:"total_price"`
	TotalTax          string             `json:"total_tax"`
	TotalDiscounts    string             `json:"total_discounts"`
	TotalShippingSet  *shopifyMoneySet   `json:"total_shipping_price_set"`
	FinancialStatus   string             `json:"financial_status"`
	FulfillmentStatus *string            `json:"fulfillment_status"`
	CancelledAt       *time.Time         `json:"cancelled_at"`
	CreatedAt         time.Time          `json:"created_at"`
	UpdatedAt         *time.Time         `json:"updated_at"`
	ProcessedAt       *time.Time         `json:"processed_at"`
	LineItems         []shopifyLineItem  `json:"line_items"`
	ShippingLines     []shopifyShipLine  `json:"shipping_lines"`
	ShippingAddress   json.RawMessage    `json:"shipping_address"`
	Fulfillments      []shopifyFulfilled `json:"fulfillments"`
	Refunds           []shopifyRefund    `json:"refunds"`
	Customer          *shopifyCustomer   `json:"customer"`
}

type shopifyMoneySet struct {
	ShopMoney struct {
		Amount string `json:"amount"`
	} `json:"shop_money"`
}

type shopifyLineItem struct {
	ID       int64  `json:"id"`
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"`
	Price    string `json:"price"`
}

type shopifyShipLine struct {
	Price string `json:"price"`
}

type shopifyFulfilled struct {
	Status          string   `json:"status"`
	ShipmentStatus  *string  `json:"shipment_status"`
	TrackingCompany *string  `json:"tracking_company"`
	TrackingNumber  *string  `json:"tracking_number"`
	TrackingURL     *string  `json:"tracking_url"`
	TrackingURLs    []string `json:"tracking_urls"`
}

type shopifyRefund struct {
	ID           int64                `json:"id"`
	Transactions []shopifyTransaction `json:"transactions"`
}

type shopifyTransaction struct {
	ID                int64  `json:"id,omitempty"`
	ParentID          int64  `json:"parent_id,omitempty"`
	Kind              string `json:"kind"`
	Gateway           string `json:"gateway,omitempty"`
	Status            string `json:"status,omitempty"`
	Amount            string `json:"amount"`
	Currency          string `json:"currency,omitempty"`
	MaximumRefundable string `json:"maximum_refundable,omitempty"`
}

type shopifyCustomer struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// mapShopify maps a Shopify order to a crm.Order: "#1001" is number "1001", prices in the
// order's currency become minor units, and the statuses become one of Parley's.
// Returns invalid for an order Parley cannot store (no number, unknown currency).
func (s *Service) mapShopify(so *shopifyOrder, sourceID int64) (*crm.Order, error) {
	number := strings.TrimPrefix(strings.TrimSpace(so.Name), "#")
	if number == "" && so.OrderNumber > 0 {
		number = strconv.FormatInt(so.OrderNumber, 10)
	}
	if number == "" || so.ID == 0 {
		return nil, crm.Errorf(crm.EINVALID, "shopify order without id or name")
	}
	cur := strings.ToUpper(so.Currency)
	o := &crm.Order{Number: number, Currency: cur, Source: crm.OrderSourceShopify, SourceID: sourceID,
		ExternalID: strconv.FormatInt(so.ID, 10), PlacedAt: so.CreatedAt, Items: []crm.OrderItem{}}
	if so.ProcessedAt != nil && !so.ProcessedAt.IsZero() {
		o.PlacedAt = *so.ProcessedAt
	}
	if so.UpdatedAt != nil { // the version of the order: webhooks arrive out of order
		o.UpdatedAt = *so.UpdatedAt
	}
	money := func(dst *int64, v string) error {
		if v == "" {
			return nil
		}
		n, err := ParseMoney(v, cur)
		*dst = n
		return err
	}
	for _, f := range []struct {
		dst *int64
		v   string
	}{{&o.Subtotal, so.SubtotalPrice}, {&o.Total, so.TotalPrice}, {&o.Tax, so.TotalTax}, {&o.Discount, so.TotalDiscounts}} {
		if err := money(f.dst, f.v); err != nil {
			return nil, err
		}
	}
	if so.TotalShippingSet != nil {
		if err := money(&o.Shipping, so.TotalShippingSet.ShopMoney.Amount); err != nil {
			return nil, err
		}
	} else {
		for _, l := range so.ShippingLines {
			var v int64
			if err := money(&v, l.Price); err != nil {
				return nil, err
			}
			o.Shipping += v
		}
	}
	for _, li := range so.LineItems {
		it := crm.OrderItem{SKU: li.SKU, Name: li.Name, Quantity: li.Quantity, LineItemID: strconv.FormatInt(li.ID, 10)}
		if it.Name == "" {
			it.Name = li.Title
		}
		if err := money(&it.UnitPrice, li.Price); err != nil {
			return nil, err
		}
		if it.Quantity < 1 {
			continue // a line removed by an order edit keeps quantity 0
		}
		o.Items = append(o.Items, it)
	}
	for _, r := range so.Refunds {
		for _, t := range r.Transactions {
			if t.Kind == "refund" && t.Status == "success" {
				var v int64
				if err := money(&v, t.Amount); err != nil {
					return nil, err
				}
				o.Refunded += v
			}
		}
	}
	if len(so.ShippingAddress) > 0 && string(so.ShippingAddress) != "null" {
		o.ShippingAddress = so.ShippingAddress
	}
	delivered := false
	for _, f := range so.Fulfillments {
		if f.Status == "cancelled" {
			continue
		}
		if f.TrackingCompany != nil && *f.TrackingCompany != "" {
			o.Carrier = *f.TrackingCompany
		}
		if f.TrackingNumber != nil && *f.TrackingNumber != "" {
			o.TrackingNumber = *f.TrackingNumber
		}
		if f.TrackingURL != nil && *f.TrackingURL != "" {
			o.TrackingURL = *f.TrackingURL
		} else if len(f.TrackingURLs) > 0 {
			o.TrackingURL = f.TrackingURLs[0]
		}
		if f.ShipmentStatus != nil && *f.ShipmentStatus == "delivered" {
			delivered = true
		}
	}
	if !strings.HasPrefix(o.TrackingURL, "https://") && !strings.HasPrefix(o.TrackingURL, "http://") {
		o.TrackingURL = "" // a link the console shows must not be javascript: or the like
	}
	o.Status = shopifyStatus(so, delivered, o.TrackingNumber != "")
	o.Email, o.Phone = strings.TrimSpace(so.Email), strings.TrimSpace(so.Phone)
	if so.Customer != nil {
		if o.Email == "" {
			o.Email = strings.TrimSpace(so.Customer.Email)
		}
		if o.Phone == "" {
			o.Phone = strings.TrimSpace(so.Customer.Phone)
		}
	}
	// A contact detail Parley cannot read should not cost the whole order.
	o.Email, o.Phone = s.address(crm.IdentityEmail, o.Email), s.address(crm.IdentityPhone, o.Phone)
	return o, nil
}

// address returns the canonical form of an email or phone, or "" when it cannot be read.
func (s *Service) address(kind, v string) string {
	if v == "" {
		return ""
	}
	v, err := identity.Normalize(kind, v, s.region)
	if err != nil {
		s.log.Warn("shopify order with an unreadable contact", "kind", kind)
		return ""
	}
	return v
}

// shopifyStatus maps Shopify's cancelled_at, financial_status and fulfillment_status to
// Parley's status. What matters most to support comes first: cancelled, then money back,
// then where the parcel is, then payment.
func shopifyStatus(so *shopifyOrder, delivered, tracked bool) string {
	fulfillment := ""
	if so.FulfillmentStatus != nil {
		fulfillment = *so.FulfillmentStatus
	}
	switch {
	case so.CancelledAt != nil || so.FinancialStatus == "voided":
		return "cancelled"
	case so.FinancialStatus == "refunded":
		return "refunded"
	case so.FinancialStatus == "partially_refunded":
		return "partially_refunded"
	case delivered:
		return "delivered"
	case (fulfillment == "fulfilled" || fulfillment == "partial") && tracked:
		return "shipped"
	case fulfillment == "fulfilled":
		return "fulfilled"
	case so.FinancialStatus == "paid" || so.FinancialStatus == "partially_paid":
		return "paid"
	}
	return "pending"
}

// ordersByEmail returns a store's orders placed with an email.
func (c *shopify) ordersByEmail(ctx context.Context, email string) ([]shopifyOrder, error) {
	var out struct {
		Orders []shopifyOrder `json:"orders"`
	}
	err := c.call(ctx, http.MethodGet, "/orders.json", url.Values{"email": {email}, "status": {"any"}, "limit": {"50"}}, nil, &out)
	return out.Orders, err
}

// ordersByName returns a store's orders named number ("1001" finds "#1001").
func (c *shopify) ordersByName(ctx context.Context, number string) ([]shopifyOrder, error) {
	var out struct {
		Orders []shopifyOrder `json:"orders"`
	}
	err := c.call(ctx, http.MethodGet, "/orders.json", url.Values{"name": {number}, "status": {"any"}}, nil, &out)
	return out.Orders, err
}

// ordersByPhone finds the store's customers with a phone number, then their orders.
func (c *shopify) ordersByPhone(ctx context.Context, phone string) ([]shopifyOrder, error) {
	var found struct {
		Customers []shopifyCustomer `json:"customers"`
	}
	if err := c.call(ctx, http.MethodGet, "/customers/search.json", url.Values{"query": {"phone:" + phone}, "limit": {"5"}}, nil, &found); err != nil {
		return nil, err
	}
	var all []shopifyOrder
	for _, cu := range found.Customers {
		var out struct {
			Orders []shopifyOrder `json:"orders"`
		}
		q := url.Values{"customer_id": {strconv.FormatInt(cu.ID, 10)}, "status": {"any"}, "limit": {"50"}}
		if err := c.call(ctx, http.MethodGet, "/orders.json", q, nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Orders...)
	}
	return all, nil
}

// order returns one order by Shopify's id.
func (c *shopify) order(ctx context.Context, id string) (*shopifyOrder, error) {
	var out struct {
		Order shopifyOrder `json:"order"`
	}
	if err := c.call(ctx, http.MethodGet, "/orders/"+url.PathEscape(id)+".json", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out.Order, nil
}
