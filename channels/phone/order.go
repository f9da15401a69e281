package phone

import (
	"context"
	"fmt"
	"strings"

	"parley/crm"
)

// orderStatus returns what the phone menu says about an order keyed in by a caller, and
// a note for the call's message. Only a caller whose number is a phone identity of the
// order's customer hears the details; everybody else, and a number that is no order,
// hears the same refusal, so the menu cannot be used to find out which orders exist.
func (c *Channel) orderStatus(ctx context.Context, caller, digits string) (say, note string) {
	refuse := "Sorry, I cannot share the status of that order on this call. Please contact us by email or chat, or press 2 to speak with someone."
	if !digitsRe.MatchString(digits) {
		return "We did not get an order number.", ""
	}
	o, err := c.store.Order(ctx, digits)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		o, err = c.store.Order(ctx, "#"+digits) // shops such as Shopify name orders "#1001"
	}
	if err != nil {
		if crm.ErrorCode(err) != crm.ENOTFOUND {
			c.log.Error("order lookup by phone", "order", digits, "err", err)
		}
		return refuse, fmt.Sprintf("Asked for the status of order %s: not shared (no such order).", digits)
	}
	if caller == "" || !c.customerHasPhone(ctx, o.CustomerID, caller) {
		return refuse, fmt.Sprintf("Asked for the status of order %s: not shared (the number is not the order's customer's).", o.Number)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Order %s is %s. ", spell(digits), strings.ReplaceAll(o.Status, "_", " "))
	fmt.Fprintf(&b, "The total is %s. ", money(o.Total, o.Currency))
	switch {
	case o.Carrier != "" && o.TrackingNumber != "":
		fmt.Fprintf(&b, "It was shipped with %s, tracking number ending in %s.", o.Carrier, spell(last(o.TrackingNumber, 4)))
	case o.Carrier != "":
		fmt.Fprintf(&b, "It was shipped with %s.", o.Carrier)
	case o.TrackingNumber != "":
		fmt.Fprintf(&b, "It was shipped, tracking number ending in %s.", spell(last(o.TrackingNumber, 4)))
	case o.Status == "shipped" || o.Status == "delivered":
	default:
		b.WriteString("It has not shipped yet.")
	}
	return strings.TrimSpace(b.String()), fmt.Sprintf("Asked for the status of order %s: read out (%s).", o.Number, o.Status)
}

// customerHasPhone reports whether phone is an identity of the customer.
func (c *Channel) customerHasPhone(ctx context.Context, customerID int64, phone string) bool {
	if customerID == 0 {
		return false
	}
	cu, err := c.store.Customer(ctx, customerID)
	if err != nil {
		return false
	}
	for _, id := range cu.Identities {
		if id.Kind == crm.IdentityPhone && id.Address == phone {
			return true
		}
	}
	return false
}

// spell separates characters so that text-to-speech reads them one by one.
func spell(s string) string {
	return strings.Join(strings.Split(s, ""), " ")
}

func last(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[len(r)-n:])
}

// minorDigits is the number of decimals of currencies that do not use two.
var minorDigits = map[string]int{"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}

var currencyNames = map[string]string{"USD": "US dollars", "EUR": "euros", "GBP": "pounds sterling",
	"CAD": "Canadian dollars", "AUD": "Australian dollars", "NZD": "New Zealand dollars",
	"CHF": "Swiss francs", "JPY": "yen", "SEK": "Swedish kronor", "NOK": "Norwegian kroner",
	"DKK": "Danish kroner", "PLN": "zloty", "INR": "rupees", "MXN": "Mexican pesos"}

// money formats an amount in minor units for speech: "42.50 euros".
func money(minor int64, currency string) string {
	d, ok := minorDigits[currency]
	if !ok {
		d = 2
	}
	name := currencyNames[currency]
	if name == "" {
		name = spell(currency)
	}
	if d == 0 {
		return fmt.Sprintf("%d %s", minor, name)
	}
	div := int64(1)
	for range d {
		div *= 10
	}
	return fmt.Sprintf("%d.%0*d %s", minor/div, d, minor%div, name)
}
