package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"
)

// Limits of actions.
const (
	// actionTimeout bounds the calls to the shop of one action. They run to the end even
	// when the agent's request is gone: a refund must not be left half known.
	actionTimeout = 30 * time.Second
	// pendingWait is how long a repeated request waits for the first one to finish.
	pendingWait  = 30 * time.Second
	pendingPoll  = 50 * time.Millisecond
	maxReason    = 500
	maxRefundRow = 250
)

// RefundItem is one line of a refund of chosen items.
type RefundItem struct {
	LineItemID string `json:"line_item_id"`
	Quantity   int64  `json:"quantity"`
}

// ActionRequest is the body of POST /api/v1/orders/{number}/actions plus the number.
type ActionRequest struct {
	Number         string       `json:"-"`
	Action         string       `json:"action"`
	TicketID       int64        `json:"ticket_id"`
	IdempotencyKey string       `json:"idempotency_key"`
	Reason         string       `json:"reason"`
	Items          []RefundItem `json:"items"`
	Amount         int64        `json:"amount"`
}

// Act cancels, refunds or resends the confirmation of a Shopify order for the agent in
// ctx, and returns the recorded action and the order as it is now. An action that the
// shop refuses is returned with status "failed" and the shop's message, not as an error.
// The same idempotency key returns the first action and acts once, even when both
// requests arrive together. Agents refund up to the source's agent_refund_limit (0: not
// at all); managers and admins any amount. Returns invalid (bad request, not a Shopify
// order), not_found (order or ticket not visible), forbidden (over the refund limit) or
// conflict (the key was used for another action, or its action is still running).
func (s *Service) Act(ctx context.Context, req ActionRequest) (*crm.OrderAction, *crm.Order, error) {
	if err := checkAction(req); err != nil {
		return nil, nil, err
	}
	o, err := s.store.Order(ctx, req.Number)
	if err != nil {
		return nil, nil, err
	}
	if prev, err := s.store.OrderActionByKey(ctx, req.IdempotencyKey); err == nil {
		return s.repeat(ctx, prev, req, o)
	} else if crm.ErrorCode(err) != crm.ENOTFOUND {
		return nil, nil, err
	}
	notShopify := crm.Errorf(crm.EINVALID, "actions need a Shopify order")
	if o.SourceID == 0 || o.ExternalID == "" {
		return nil, nil, notShopify
	}
	src, err := s.store.OrderSource(crm.AsSystem(ctx), o.SourceID)
	if err != nil || src.Kind != crm.OrderSourceShopify {
		return nil, nil, notShopify
	}
	shop := s.shopifyOf(src)
	if req.TicketID != 0 {
		t, err := s.store.Ticket(ctx, req.TicketID)
		if err != nil {
			return nil, nil, err
		}
		if t.CustomerID != o.CustomerID {
			return nil, nil, crm.Errorf(crm.EINVALID, "ticket %d is not of the order's customer", t.ID)
		}
	} else if req.Action == crm.ActionResend {
		return nil, nil, crm.Errorf(crm.EINVALID, "resend_confirmation needs the ticket_id to send it on")
	}

	a := &crm.OrderAction{OrderNumber: o.Number, TicketID: req.TicketID, Kind: req.Action,
		IdempotencyKey: req.IdempotencyKey, Currency: o.Currency}
	var plan *refundPlan
	var planErr error
	if req.Action == crm.ActionRefund {
		limited := !crm.SeesAll(ctx)
		if limited && shop.limit == 0 {
			return nil, nil, crm.Errorf(crm.EFORBIDDEN, "agents may not refund orders of this shop; ask a manager")
		}
		plan, planErr = s.planRefund(ctx, shop, o, req)
		if crm.ErrorCode(planErr) == crm.EINVALID {
			return nil, nil, planErr
		}
		a.Amount = plan.amount
		if limited && a.Amount > shop.limit {
			return nil, nil, crm.Errorf(crm.EFORBIDDEN, "refunds above %s %s need a manager",
				FormatMoney(shop.limit, o.Currency), o.Currency)
		}
	}

	a, created, err := s.store.StartOrderAction(ctx, a)
	if err != nil {
		return nil, nil, err
	} else if !created {
		return s.repeat(ctx, a, req, o)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), actionTimeout)
	defer cancel()
	var result any
	err = planErr
	if err == nil {
		result, err = s.execute(wctx, shop, o, req, plan, a)
	}
	a.Status, a.Result = crm.ActionOK, nil
	if err != nil {
		a.Status, a.Error = crm.ActionFailed, s.failure(err, o.Number, req.Action)
	} else if a.Result, err = json.Marshal(result); err != nil {
		return nil, nil, fmt.Errorf("marshal action result: %w", err)
	}
	// The order is refreshed before the action is marked finished, so a repeated request,
	// which answers once the action is finished, shows the order after the action too.
	if a.Status == crm.ActionOK && req.Action != crm.ActionResend {
		if so, err := shop.order(wctx, o.ExternalID); err != nil {
			s.log.Warn("re-read shopify order after action", "order", o.Number, "err", err)
		} else {
			s.storeShopify(wctx, so, src.ID)
		}
	}
	done, err := s.store.FinishOrderAction(wctx, a)
	if err != nil {
		return nil, nil, err
	}
	cur, err := s.store.Order(wctx, o.Number)
	if err != nil {
		return nil, nil, err
	}
	return done, cur, nil
}

func checkAction(req ActionRequest) error {
	switch req.Action {
	case crm.ActionCancel, crm.ActionRefund, crm.ActionResend:
	default:
		return crm.Errorf(crm.EINVALID, "action must be cancel, refund or resend_confirmation")
	}
	if req.IdempotencyKey == "" {
		return crm.Errorf(crm.EINVALID, "idempotency_key required: a new random id for each action the user confirms")
	}
	if utf8.RuneCountInString(req.Reason) > maxReason {
		return crm.Errorf(crm.EINVALID, "reason is longer than %d characters", maxReason)
	}
	if req.Amount < 0 {
		return crm.Errorf(crm.EINVALID, "amount must not be negative")
	}
	if req.Action != crm.ActionRefund && (len(req.Items) > 0 || req.Amount != 0) {
		return crm.Errorf(crm.EINVALID, "items and amount are for refunds only")
	}
	if len(req.Items) > maxRefundRow {
		return crm.Errorf(crm.EINVALID, "a refund has at most %d items", maxRefundRow)
	}
	return nil
}

// repeat answers a request whose idempotency key is taken: with the first action once it
// has finished, for the same order and kind only.
func (s *Service) repeat(ctx context.Context, prev *crm.OrderAction, req ActionRequest, o *crm.Order) (*crm.OrderAction, *crm.Order, error) {
	if prev.OrderNumber != o.Number || prev.Kind != req.Action {
		return nil, nil, crm.Errorf(crm.ECONFLICT, "idempotency_key was used for another action")
	}
	deadline := time.Now().Add(pendingWait)
	for prev.Status == crm.ActionPending {
		if time.Now().After(deadline) {
			return nil, nil, crm.Errorf(crm.ECONFLICT, "the action with this idempotency_key is still running")
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(pendingPoll):
		}
		var err error
		if prev, err = s.store.OrderActionByKey(ctx, req.IdempotencyKey); err != nil {
			return nil, nil, err
		}
	}
	cur, err := s.store.Order(ctx, o.Number)
	if err != nil {
		return nil, nil, err
	}
	return prev, cur, nil
}

// failure is the message stored for a failed action: Shopify's own words, else a
// generic one (the detail goes to the log).
func (s *Service) failure(err error, number, kind string) string {
	var se *shopifyError
	if errors.As(err, &se) {
		return se.Error()
	}
	if m := crm.ErrorMessage(err); crm.ErrorCode(err) != crm.EINTERNAL {
		return m
	}
	s.log.Error("order action failed", "order", number, "action", kind, "err", err)
	return "could not reach the shop: " + cut(err.Error(), 200)
}

// execute makes the shop do the action and returns what it answered, for the record.
func (s *Service) execute(ctx context.Context, shop *shopify, o *crm.Order, req ActionRequest, plan *refundPlan, a *crm.OrderAction) (any, error) {
	path := "/orders/" + url.PathEscape(o.ExternalID)
	switch req.Action {
	case crm.ActionCancel:
		var out struct {
			Order struct {
				CancelledAt *time.Time `json:"cancelled_at"`
			} `json:"order"`
		}
		// Shopify's reasons are a fixed list; the agent's own words stay in Parley.
		body := map[string]any{"reason": "customer", "email": true}
		if err := shop.call(ctx, http.MethodPost, path+"/cancel.json", nil, body, &out); err != nil {
			return nil, err
		}
		return map[string]any{"cancelled_at": out.Order.CancelledAt, "reason": req.Reason}, nil
	case crm.ActionRefund:
		var out struct {
			Refund shopifyRefund `json:"refund"`
		}
		plan.body["note"] = req.Reason
		if err := shop.call(ctx, http.MethodPost, path+"/refunds.json", nil, map[string]any{"refund": plan.body}, &out); err != nil {
			return nil, err
		}
		var paid int64
		failed := 0
		for _, t := range out.Refund.Transactions {
			if t.Status == "failure" || t.Status == "error" {
				failed++
				continue
			}
			v, _ := ParseMoney(t.Amount, o.Currency)
			paid += v
		}
		if failed > 0 && failed == len(out.Refund.Transactions) {
			return nil, fmt.Errorf("shopify created refund %d but its payment failed", out.Refund.ID)
		}
		a.Amount = paid
		return map[string]any{"refund_id": out.Refund.ID, "transactions": out.Refund.Transactions, "reason": req.Reason}, nil
	}
	// Shopify's REST Admin API has no call that resends the order confirmation, so the
	// order summary is sent to the customer on the ticket's channel, through the outbox.
	m, err := s.store.AddMessage(ctx, &crm.NewMessage{TicketID: req.TicketID, Body: Summary(o)})
	if err != nil {
		return nil, err
	}
	return map[string]any{"message_id": m.ID, "channel": m.Channel}, nil
}

// refundPlan is a refund ready to create: its amount and Shopify's refund object.
type refundPlan struct {
	amount int64
	body   map[string]any
}

// planRefund checks the refund against the order, asks Shopify to calculate it and
// spreads the amount over the order's payments. The plan always carries the amount,
// estimated when the shop could not be asked. Returns invalid for a refund the order
// does not allow; any other error is the shop's.
func (s *Service) planRefund(ctx context.Context, shop *shopify, o *crm.Order, req ActionRequest) (*refundPlan, error) {
	remaining := o.Total - o.Refunded
	if remaining <= 0 {
		return nil, crm.Errorf(crm.EINVALID, "order %s has nothing left to refund", o.Number)
	}
	var lines []map[string]any
	var itemsTotal int64
	seen := map[string]bool{}
	for _, ri := range req.Items {
		var item *crm.OrderItem
		for i := range o.Items {
			if o.Items[i].LineItemID != "" && o.Items[i].LineItemID == ri.LineItemID {
				item = &o.Items[i]
			}
		}
		if item == nil || seen[ri.LineItemID] {
			return nil, crm.Errorf(crm.EINVALID, "line_item_id %q is not a line of order %s, or is listed twice", cut(ri.LineItemID, 40), o.Number)
		}
		seen[ri.LineItemID] = true
		if ri.Quantity < 1 || ri.Quantity > item.Quantity {
			return nil, crm.Errorf(crm.EINVALID, "quantity of %s must be 1 to %d", item.Name, item.Quantity)
		}
		id, err := strconv.ParseInt(ri.LineItemID, 10, 64)
		if err != nil {
			return nil, crm.Errorf(crm.EINVALID, "line_item_id %q is not a Shopify line id", cut(ri.LineItemID, 40))
		}
		lines = append(lines, map[string]any{"line_item_id": id, "quantity": ri.Quantity, "restock_type": "no_restock"})
		itemsTotal += item.UnitPrice * ri.Quantity
	}
	full := len(lines) == 0 && req.Amount == 0
	plan := &refundPlan{amount: req.Amount}
	if plan.amount == 0 {
		plan.amount = remaining
		if len(lines) > 0 {
			plan.amount = min(itemsTotal, remaining)
		}
	}
	if plan.amount > remaining {
		return nil, crm.Errorf(crm.EINVALID, "amount is more than the %s %s left to refund", FormatMoney(remaining, o.Currency), o.Currency)
	}

	calc := map[string]any{"shipping": map[string]any{"full_refund": full}}
	if len(lines) > 0 {
		calc["refund_line_items"] = lines
	}
	var out struct {
		Refund struct {
			Shipping        json.RawMessage      `json:"shipping"`
			RefundLineItems json.RawMessage      `json:"refund_line_items"`
			Transactions    []shopifyTransaction `json:"transactions"`
		} `json:"refund"`
	}
	path := "/orders/" + url.PathEscape(o.ExternalID) + "/refunds/calculate.json"
	if err := shop.call(ctx, http.MethodPost, path, nil, map[string]any{"refund": calc}, &out); err != nil {
		return plan, err
	}
	var suggested, refundable int64
	for _, t := range out.Refund.Transactions {
		v, _ := ParseMoney(t.Amount, o.Currency)
		m, _ := ParseMoney(t.MaximumRefundable, o.Currency)
		suggested += v
		refundable += m
	}
	if req.Amount == 0 && len(lines) > 0 && suggested > 0 {
		plan.amount = suggested // Shopify's figure includes the items' tax and discounts
	}
	if len(out.Refund.Transactions) == 0 {
		return plan, crm.Errorf(crm.EINVALID, "Shopify has no payment on order %s to refund", o.Number)
	}
	if refundable > 0 && plan.amount > refundable {
		return plan, crm.Errorf(crm.EINVALID, "Shopify can refund at most %s %s of order %s",
			FormatMoney(refundable, o.Currency), o.Currency, o.Number)
	}
	left := plan.amount
	var txs []map[string]any
	for _, t := range out.Refund.Transactions {
		capacity, _ := ParseMoney(t.MaximumRefundable, o.Currency)
		if capacity == 0 {
			capacity = left
		}
		take := min(left, capacity)
		if take <= 0 {
			continue
		}
		txs = append(txs, map[string]any{"parent_id": t.ParentID, "amount": FormatMoney(take, o.Currency),
			"kind": "refund", "gateway": t.Gateway})
		left -= take
	}
	plan.body = map[string]any{"currency": o.Currency, "notify": true, "transactions": txs}
	if len(lines) > 0 && len(out.Refund.RefundLineItems) > 0 {
		plan.body["refund_line_items"] = out.Refund.RefundLineItems
	}
	if full && len(out.Refund.Shipping) > 0 {
		plan.body["shipping"] = out.Refund.Shipping
	}
	return plan, nil
}

// Summary is an order written out for the customer: number, status, items, totals and
// tracking, as plain text.
func Summary(o *crm.Order) string {
	var b strings.Builder
	money := func(v int64) string { return FormatMoney(v, o.Currency) + " " + o.Currency }
	fmt.Fprintf(&b, "Your order %s, placed %s\n", o.Number, o.PlacedAt.UTC().Format("2 January 2006"))
	fmt.Fprintf(&b, "Status: %s\n\n", strings.ReplaceAll(o.Status, "_", " "))
	for _, it := range o.Items {
		fmt.Fprintf(&b, "%d × %s: %s\n", it.Quantity, it.Name, money(it.UnitPrice*it.Quantity))
	}
	fmt.Fprintf(&b, "\nSubtotal: %s\n", money(o.Subtotal))
	if o.Shipping > 0 {
		fmt.Fprintf(&b, "Shipping: %s\n", money(o.Shipping))
	}
	if o.Tax > 0 {
		fmt.Fprintf(&b, "Tax: %s\n", money(o.Tax))
	}
	if o.Discount > 0 {
		fmt.Fprintf(&b, "Discount: -%s\n", money(o.Discount))
	}
	fmt.Fprintf(&b, "Total: %s\n", money(o.Total))
	if o.Refunded > 0 {
		fmt.Fprintf(&b, "Refunded: %s\n", money(o.Refunded))
	}
	if o.TrackingNumber != "" || o.TrackingURL != "" {
		fmt.Fprintf(&b, "\nTracking: %s\n", strings.TrimSpace(strings.Join([]string{o.Carrier, o.TrackingNumber, o.TrackingURL}, " ")))
	}
	return b.String()
}
