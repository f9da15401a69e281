package phone

import (
	"context"
	"fmt"
	"strings"

	"parley/crm"
	"parley/i18n"
)

// orderStatus returns what the phone menu says about an order keyed in by a caller, and
// a note for the call's message. Only a caller whose number is a phone identity of the
// order's customer hears the details; everybody else, and a number that is no order,
// hears the same refusal, so the menu cannot be used to find out which orders exist.
// It speaks lang; the note is for agents, in English like the rest of the console.
func (c *Channel) orderStatus(ctx context.Context, lang, caller, digits string) (say, note string) {
	t := func(key string, vars ...string) string { return i18n.Text(lang, key, vars...) }
	refuse := t("voice.order.refuse")
	if !digitsRe.MatchString(digits) {
		return t("voice.order.missing"), ""
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
	status := strings.ReplaceAll(o.Status, "_", " ") // a status the catalogue lacks is said as the shop named it
	if s, ok := i18n.Lookup(lang, "voice.status."+o.Status); ok {
		status = s
	}
	parts := []string{t("voice.order.status", "number", spell(digits), "status", status),
		t("voice.order.total", "amount", money(lang, o.Total, o.Currency))}
	switch {
	case o.Carrier != "" && o.TrackingNumber != "":
		parts = append(parts, t("voice.order.carrier_tracking", "carrier", o.Carrier, "digits", spell(last(o.TrackingNumber, 4))))
	case o.Carrier != "":
		parts = append(parts, t("voice.order.carrier", "carrier", o.Carrier))
	case o.TrackingNumber != "":
		parts = append(parts, t("voice.order.tracking", "digits", spell(last(o.TrackingNumber, 4))))
	case o.Status == "shipped" || o.Status == "delivered":
	default:
		parts = append(parts, t("voice.order.not_shipped"))
	}
	return strings.Join(parts, " "), fmt.Sprintf("Asked for the status of order %s: read out (%s).", o.Number, o.Status)
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

// money formats an amount in minor units for speech in lang: "42.50 euros", "42,50 Euro".
// A currency the catalogue does not name is spelled out by its code.
func money(lang string, minor int64, currency string) string {
	d, ok := minorDigits[currency]
	if !ok {
		d = 2
	}
	name, ok := i18n.Lookup(lang, "voice.currency."+currency)
	if !ok {
		name = spell(currency)
	}
	if d == 0 {
		return fmt.Sprintf("%d %s", minor, name)
	}
	div := int64(1)
	for range d {
		div *= 10
	}
	return fmt.Sprintf("%d%s%0*d %s", minor/div, i18n.Text(lang, "voice.decimal"), d, minor%div, name)
}
