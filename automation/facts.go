package automation

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"parley/crm"
)

// FactStore is what loading a ticket's facts reads of the store.
type FactStore interface {
	Ticket(ctx context.Context, id int64) (*crm.Ticket, error)
	Customer(ctx context.Context, id int64) (*crm.Customer, error)
	Orders(ctx context.Context, f crm.OrderFilter) ([]*crm.Order, string, error)
	Messages(ctx context.Context, ticketID int64, p crm.Page) ([]*crm.Message, string, error)
}

// maxOrderPages bounds the orders read for a customer's count and lifetime value.
const maxOrderPages = 10

// LoadFacts reads the facts of ticket t at now. text, when not empty, is the text of
// the customer's message that triggered the rule; else the customer's latest message
// on the ticket is used.
func LoadFacts(ctx context.Context, st FactStore, t *crm.Ticket, text string, now time.Time) (*Facts, error) {
	f := &Facts{Now: now, Ticket: t, Text: text}
	if t.CustomerID != 0 {
		c, err := st.Customer(ctx, t.CustomerID)
		if err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
			return nil, fmt.Errorf("read customer %d: %w", t.CustomerID, err)
		}
		f.Customer = c
		p := crm.Page{Limit: crm.MaxLimit}
		for i := 0; i < maxOrderPages; i++ {
			list, next, err := st.Orders(ctx, crm.OrderFilter{CustomerID: t.CustomerID, Page: p})
			if err != nil {
				return nil, fmt.Errorf("read orders of customer %d: %w", t.CustomerID, err)
			}
			for _, o := range list {
				f.Orders++
				f.Lifetime += o.Total - o.Refunded
				if f.Order == nil || o.PlacedAt.After(f.Order.PlacedAt) {
					f.Order = o
				}
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
	}
	msgs, _, err := st.Messages(ctx, t.ID, crm.Page{Limit: 20, Desc: true})
	if err != nil {
		return nil, fmt.Errorf("read messages of ticket %d: %w", t.ID, err)
	}
	for _, m := range msgs {
		if m.Direction == crm.DirNote {
			continue
		}
		if f.LastDirection == "" {
			f.LastDirection = m.Direction
		}
		if f.Text == "" && m.Direction == crm.DirIn && m.Author.Kind == "customer" {
			f.Text = m.Text
		}
	}
	return f, nil
}

var placeholder = regexp.MustCompile(`\{\{\s*([a-z_.]+)\s*\}\}`)

// Fill replaces the placeholders of a canned response or a note, as the console's
// canned.js does: {{customer.name}}, {{customer.first_name}}, {{ticket.id}},
// {{agent.name}} (the ticket's assignee, named by agentName) and {{order.number}} (the
// latest order). A placeholder without a value stays as written and is listed in
// missing.
func Fill(body string, f *Facts, agentName string) (text string, missing []string) {
	text = placeholder.ReplaceAllStringFunc(body, func(all string) string {
		key := placeholder.FindStringSubmatch(all)[1]
		v := ""
		switch key {
		case "customer.name":
			if f.Customer != nil {
				v = strings.TrimSpace(f.Customer.Name)
			}
		case "customer.first_name":
			if f.Customer != nil {
				if parts := strings.Fields(f.Customer.Name); len(parts) > 0 {
					v = parts[0]
				}
			}
		case "ticket.id":
			if f.Ticket != nil {
				v = strconv.FormatInt(f.Ticket.ID, 10)
			}
		case "agent.name":
			v = agentName
		case "order.number":
			if f.Order != nil {
				v = f.Order.Number
			}
		}
		if v == "" {
			missing = append(missing, all)
			return all
		}
		return v
	})
	return text, missing
}
