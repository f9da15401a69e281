package postgres

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Limits of order mentions: only the start of a long message is read, and a message
// listing many numbers links the first few.
const (
	maxMentionText = 64 << 10
	maxMentions    = 10
)

// orderMentionRe finds "#1001", "order 1001", "order #1001", "order no. 1001" and
// "order number: 1001". A mention must contain a digit, so "#urgent" is no order.
var orderMentionRe = regexp.MustCompile(`(?i)(?:#|\border\s*(?:(?:no|nr|number)\.?\s*)?[:#]?\s*#?)([A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*)`)

// orderMentions returns the distinct order numbers mentioned in text, at most maxMentions.
func orderMentions(text string) []string {
	if len(text) > maxMentionText {
		text = text[:maxMentionText]
	}
	var out []string
	for _, m := range orderMentionRe.FindAllStringSubmatch(text, -1) {
		n := m[1]
		if len(n) > 64 || slices.Contains(out, n) {
			continue
		}
		if out = append(out, n); len(out) == maxMentions {
			break
		}
	}
	return out
}

// linkOrders links the ticket to each order mentioned in text that belongs to the
// customer, so that searching the order number finds the ticket. An order of another
// customer is never linked: a customer cannot attach someone else's order by naming it.
// Shops that name orders "#1001" are matched as well as those that use "1001".
func (tx *Tx) linkOrders(ctx context.Context, ticketID, customerID int64, text string) error {
	numbers := orderMentions(text)
	if len(numbers) == 0 || ticketID == 0 || customerID == 0 {
		return nil
	}
	candidates := make([]string, 0, 2*len(numbers))
	for _, n := range numbers {
		candidates = append(candidates, n, "#"+n)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_orders (ticket_id, order_number, created_at)
		SELECT ?, number, ? FROM orders WHERE number = ANY(?) AND customer_id = ?
		ON CONFLICT DO NOTHING`, ticketID, ms(tx.now), candidates, customerID); err != nil {
		return fmt.Errorf("link mentioned orders: %w", err)
	}
	return nil
}

// orderNumberQuery returns the order numbers a search text may mean ("1001" and "#1001"),
// or nil when it cannot be an order number.
func orderNumberQuery(q string) []any {
	q = strings.TrimPrefix(strings.TrimSpace(q), "#")
	if q == "" || !orderNumberRe.MatchString(q) {
		return nil
	}
	return []any{q, "#" + q}
}

// ticketsOfOrderCond is the search condition that finds the tickets linked to an order
// number. Only linked ones: the customer's other tickets are not about that order.
func ticketsOfOrderCond(q string) (string, []any) {
	nums := orderNumberQuery(q)
	if nums == nil {
		return "FALSE", nil
	}
	return `t.id IN (SELECT ticket_id FROM ticket_orders WHERE order_number IN (?, ?))`, nums
}

// customersOfOrderCond is the search condition that finds the customer of an order number.
func customersOfOrderCond(q string) (string, []any) {
	nums := orderNumberQuery(q)
	if nums == nil {
		return "FALSE", nil
	}
	return `c.id IN (SELECT customer_id FROM orders WHERE number IN (?, ?) AND customer_id IS NOT NULL)`, nums
}
