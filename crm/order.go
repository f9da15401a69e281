package crm

import (
	"context"
	"encoding/json"
	"time"
)

// The event of an action on an order, EventOrderAction ("order.action"), is declared in
// report.go, whose audit log lists it. It is recorded on the ticket the action was taken
// from; its data is the OrderAction.

// Order source kinds: a shop that pushes signed order JSON, or a Shopify store that
// Parley reads with the Admin API and that pushes its own webhooks.
const (
	OrderSourceWebhook = "webhook"
	OrderSourceShopify = "shopify"
)

// Order action kinds and statuses. An action is pending while its call to the shop runs.
const (
	ActionCancel  = "cancel"
	ActionRefund  = "refund"
	ActionResend  = "resend_confirmation"
	ActionPending = "pending"
	ActionOK      = "succeeded"
	ActionFailed  = "failed"
)

// StaleOrder reports whether PutOrder left the stored order as it was because sent is
// older: sent carried a version (UpdatedAt) and saved is a newer one. A repeat of the
// stored version is not stale: it is answered like the first delivery.
func StaleOrder(sent, saved *Order) bool {
	if sent.UpdatedAt.IsZero() || saved == nil {
		return false
	}
	return saved.UpdatedAt.After(sent.UpdatedAt)
}

// OrderSource is where orders come from: a webhook source or a Shopify store. Secrets
// (the webhook secret, the Admin API token) are encrypted at rest and never returned.
type OrderSource struct {
	ID        int64             `json:"id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Config    map[string]any    `json:"config"`
	Secrets   map[string]string `json:"-"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// OrderAction is one action an agent took on an order in its shop. IdempotencyKey, chosen
// by the client, makes a repeated request return the first action instead of acting twice.
type OrderAction struct {
	ID             int64           `json:"id"`
	OrderNumber    string          `json:"order_number"`
	TicketID       int64           `json:"ticket_id"`
	Kind           string          `json:"kind"`
	Status         string          `json:"status"`
	Amount         int64           `json:"amount"`
	Currency       string          `json:"currency"`
	Error          string          `json:"error"`
	Result         json.RawMessage `json:"result"`
	Actor          Actor           `json:"actor"`
	IdempotencyKey string          `json:"-"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// OrderSourceService keeps order sources and the ids of webhooks already received.
type OrderSourceService interface {
	// OrderSources lists every source, with secrets, oldest first.
	OrderSources(ctx context.Context) ([]*OrderSource, error)
	// OrderSource returns one source with its secrets. Returns not_found.
	OrderSource(ctx context.Context, id int64) (*OrderSource, error)
	// CreateOrderSource stores a new source and seals its secrets. Returns invalid.
	CreateOrderSource(ctx context.Context, s *OrderSource) (*OrderSource, error)
	// UpdateOrderSource changes a source's name and config; a secret left out or empty
	// keeps its stored value. Returns invalid or not_found.
	UpdateOrderSource(ctx context.Context, s *OrderSource) (*OrderSource, error)
	// RecordWebhook notes a webhook delivery id of a source and reports whether it was new.
	RecordWebhook(ctx context.Context, sourceID int64, webhookID string) (bool, error)
	// WebhookSeen reports whether a webhook delivery id of a source was recorded.
	WebhookSeen(ctx context.Context, sourceID int64, webhookID string) (bool, error)
}

// OrderActionService records actions on orders exactly once per idempotency key.
type OrderActionService interface {
	// StartOrderAction records a pending action. When its idempotency key is taken it
	// returns the stored action and false instead. Returns invalid.
	StartOrderAction(ctx context.Context, a *OrderAction) (*OrderAction, bool, error)
	// FinishOrderAction stores the outcome of a pending action (status, error, result,
	// amount) and records an order.action event on its ticket. Returns not_found or
	// conflict (already finished).
	FinishOrderAction(ctx context.Context, a *OrderAction) (*OrderAction, error)
	// OrderActionByKey returns the action of an idempotency key. Returns not_found.
	OrderActionByKey(ctx context.Context, key string) (*OrderAction, error)
	// OrderActions lists the actions on an order, newest first.
	OrderActions(ctx context.Context, number string) ([]*OrderAction, error)
}

// CurrencyExponent returns the number of minor-unit digits of an ISO 4217 currency
// (JPY 0, USD 2, KWD 3) and whether the code is known.
func CurrencyExponent(code string) (int, bool) {
	e, ok := currencies[code]
	return e, ok
}

// currencies maps the active ISO 4217 codes to their minor-unit exponents.
var currencies = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWL": 2,
}
