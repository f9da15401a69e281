package crm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits and states of outgoing webhooks.
const (
	MaxWebhooks      = 50
	MaxWebhookURL    = 2000
	MinWebhookSecret = 16
	MaxWebhookSecret = 200
	// MaxWebhookResponse is how much of a receiver's answer a delivery keeps, in bytes.
	MaxWebhookResponse = 1024
	// MaxWebhookReplay is how many deliveries one replay queues at most; the answer says
	// where to go on from.
	MaxWebhookReplay = 10000
	// WebhookAllEvents, as the only entry of a webhook's events, subscribes it to every
	// event type, those added later too.
	WebhookAllEvents = "*"

	WebhookPending   = "pending"   // waiting for its first attempt or a retry
	WebhookDelivered = "delivered" // the receiver answered 2xx
	WebhookFailed    = "failed"    // the receiver refused it for good (a 4xx other than 408 and 429, a redirect)
	WebhookDead      = "dead"      // every retry failed until the retry window closed
)

// WebhookEvents are the event types a webhook can subscribe to: the stored events that
// agent sockets get. Inbox and agent events are the server's own, and typing, viewing
// and presence are never stored.
var WebhookEvents = []string{
	EventTicketCreated, EventTicketUpdated, EventMessageCreated, EventMessageUpdated,
	EventCustomerUpdated, EventCustomerMerged, EventOrderUpdated, EventOrderAction,
	EventSLABreached, EventCSATRequested, EventCSATAnswered,
}

// WebhookInternalEvents are the stored event types no webhook ever gets, not even one
// subscribed to every type.
var WebhookInternalEvents = []string{EventInboxUpdated, EventAgentUpdated}

// Webhook is an outgoing webhook: every stored event of its Events is POSTed to URL as
// the live event envelope, signed with its secret. Secret is set only in the answer
// that creates it or makes a new one: it is shown once and sealed at rest.
type Webhook struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Enabled   bool      `json:"enabled"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WebhookUpdate holds the changes of a webhook PATCH; nil fields stay. NewSecret makes
// a new random secret, returned once in the answer; Secret sets one of the admin's.
type WebhookUpdate struct {
	URL       *string
	Events    *[]string
	Enabled   *bool
	Secret    *string
	NewSecret bool
}

// WebhookDelivery is one event on its way to one webhook, with the outcome of its last
// attempt. Its ID is the X-Parley-Delivery header and stays the same on every retry; a
// redelivery is a new delivery that names the one it repeats.
type WebhookDelivery struct {
	ID        int64  `json:"id"`
	WebhookID int64  `json:"webhook_id"`
	EventID   int64  `json:"event_id"`
	EventType string `json:"event_type"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	// NextAttemptAt is when a pending delivery is tried next; nil once it is final.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	// URL is where the last attempt went.
	URL string `json:"url"`
	// StatusCode is the receiver's HTTP status of the last attempt, 0 when it gave none
	// (a timeout, a refused connection: see Error).
	StatusCode int `json:"status_code"`
	// Response is the start of the receiver's answer, at most MaxWebhookResponse bytes.
	Response     string    `json:"response"`
	Error        string    `json:"error"`
	DurationMS   int64     `json:"duration_ms"`
	RedeliveryOf *int64    `json:"redelivery_of"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// WebhookReplay is what a replay queued: Queued deliveries of the events after the
// given id up to Through. More says that there are more events to replay: replay again
// after Through.
type WebhookReplay struct {
	Queued  int   `json:"queued"`
	Through int64 `json:"through"`
	More    bool  `json:"more"`
}

// WebhookJob is a claimed delivery with what sending it needs: the webhook's URL and
// secret and the stored event. Event is nil when the event is gone.
type WebhookJob struct {
	Delivery *WebhookDelivery
	URL      string
	Secret   string
	Event    *Event
}

// WebhookAttempt is the outcome of one attempt of a delivery. State is pending with
// NextAttemptAt for a retry, else final.
type WebhookAttempt struct {
	DeliveryID    int64
	At            time.Time
	URL           string
	State         string
	NextAttemptAt time.Time
	StatusCode    int
	Response      string
	Error         string
	Duration      time.Duration
}

// WebhookService manages outgoing webhooks, their delivery log, redeliveries and
// replays. Webhooks get every event of every inbox, so only admins (or the system)
// reach them: everyone else gets forbidden.
type WebhookService interface {
	// Webhooks lists the webhooks, oldest first, without their secrets.
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// Webhook returns one webhook without its secret, or not_found.
	Webhook(ctx context.Context, id int64) (*Webhook, error)
	// CreateWebhook stores a webhook that gets the events stored from now on. An empty
	// Secret is made up. The answer carries the secret. Returns invalid, forbidden or
	// conflict (MaxWebhooks).
	CreateWebhook(ctx context.Context, w *Webhook) (*Webhook, error)
	// UpdateWebhook changes a webhook; the answer carries the secret when it changed.
	// Returns invalid, forbidden or not_found.
	UpdateWebhook(ctx context.Context, id int64, u WebhookUpdate) (*Webhook, error)
	// DeleteWebhook removes a webhook and its delivery log. Returns forbidden or not_found.
	DeleteWebhook(ctx context.Context, id int64) error
	// WebhookDeliveries lists the deliveries of a webhook, newest first. Returns invalid
	// (a bad cursor), forbidden or not_found.
	WebhookDeliveries(ctx context.Context, webhookID int64, p Page) ([]*WebhookDelivery, string, error)
	// RedeliverWebhook queues the event of a delivery again, as a new delivery due now.
	// Returns forbidden or not_found.
	RedeliverWebhook(ctx context.Context, webhookID, deliveryID int64) (*WebhookDelivery, error)
	// ReplayWebhook queues a delivery of every stored event after the event id that the
	// webhook subscribes to, up to the events the delivery worker has handed out already
	// (it delivers the later ones itself) and at most MaxWebhookReplay. Returns invalid,
	// forbidden or not_found.
	ReplayWebhook(ctx context.Context, webhookID, after int64) (*WebhookReplay, error)
}

// WebhookQueue is the delivery worker's side of the webhooks: the event log read after a
// cursor kept in the store, fanned out into deliveries, which are claimed, attempted and
// recorded.
type WebhookQueue interface {
	// FanOutWebhooks reads up to limit stored events after the webhooks' cursor, queues
	// a delivery of each to every enabled webhook that wants it and was created before
	// it, and moves the cursor past them, in one transaction. It returns how many events
	// it read: limit means there may be more.
	FanOutWebhooks(ctx context.Context, limit int) (int, error)
	// DueWebhooks returns the enabled webhooks with a pending delivery due at now.
	DueWebhooks(ctx context.Context, now time.Time) ([]int64, error)
	// ClaimWebhookDeliveries leases up to limit due deliveries of an enabled webhook,
	// oldest first, until now+lease, and returns them with their events. A delivery whose
	// worker died is claimed again once its lease has run out.
	ClaimWebhookDeliveries(ctx context.Context, webhookID int64, now time.Time, lease time.Duration, limit int) ([]*WebhookJob, error)
	// RecordWebhookAttempts stores the outcomes of attempts, in one transaction. An
	// attempt of a delivery that is gone (its webhook was deleted) is skipped.
	RecordWebhookAttempts(ctx context.Context, attempts []*WebhookAttempt) error
	// ReleaseWebhookDeliveries hands back claimed deliveries that were not attempted, due
	// at at: a worker that stops returns the rest of its claim instead of leaving it
	// leased.
	ReleaseWebhookDeliveries(ctx context.Context, ids []int64, at time.Time) error
	// PruneWebhookDeliveries deletes the final deliveries last changed before before and
	// returns how many.
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error)
}

// MayManageWebhooks returns forbidden unless ctx acts as an admin or the system: a
// webhook gets every event of every inbox. The server checks the role too; the store
// checks again so that no other caller can skip it.
func MayManageWebhooks(ctx context.Context) error {
	if a := AgentFrom(ctx); (a != nil && a.Role == RoleAdmin) || (a == nil && IsSystem(ctx)) {
		return nil
	}
	return Errorf(EFORBIDDEN, "only admins manage webhooks")
}

// CheckWebhookURL returns the URL a webhook posts to, trimmed, or invalid: an absolute
// http or https URL with a host, without a user name or password (they would be kept
// in the clear) and without a fragment. Whether the host may be reached is the
// outbound client's business, when the server saves it and when it connects.
func CheckWebhookURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EINVALID, "url is required")
	}
	if len(s) > MaxWebhookURL || !utf8.ValidString(s) {
		return "", Errorf(EINVALID, "url must be at most %d characters", MaxWebhookURL)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", Errorf(EINVALID, "url is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", Errorf(EINVALID, "url must be an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		return "", Errorf(EINVALID, "url must name a host, e.g. https://hooks.example.com/parley")
	case u.User != nil:
		return "", Errorf(EINVALID, "url must not hold a user name or password: check the X-Parley-Signature header instead")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", Errorf(EINVALID, "url must not have a #fragment")
	case strings.ContainsAny(s, " \t\r\n"):
		return "", Errorf(EINVALID, "url must not contain spaces")
	}
	return s, nil
}

// CheckWebhookEvents returns the event types a webhook subscribes to, sorted and without
// repeats, or invalid. Nil means every type: ["*"]. An empty list, an unknown type or
// "*" beside other types is invalid.
func CheckWebhookEvents(events []string) ([]string, error) {
	if events == nil {
		return []string{WebhookAllEvents}, nil
	}
	if len(events) == 0 {
		return nil, Errorf(EINVALID, "events must name at least one event type, or \"*\" for all")
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		e = strings.TrimSpace(e)
		if e != WebhookAllEvents && !slices.Contains(WebhookEvents, e) {
			return nil, Errorf(EINVALID, "events: unknown event type %q; known: %s, or \"*\" for all",
				CutRunes(e, 50), strings.Join(WebhookEvents, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if slices.Contains(out, WebhookAllEvents) {
		if len(out) > 1 {
			return nil, Errorf(EINVALID, "events: \"*\" already means every event type; give it alone")
		}
		return out, nil
	}
	slices.Sort(out)
	return out, nil
}

// CheckWebhookSecret returns a secret an admin chose, or invalid: MinWebhookSecret to
// MaxWebhookSecret printable ASCII characters without spaces. An empty s makes a new one.
func CheckWebhookSecret(s string) (string, error) {
	if s == "" {
		return NewWebhookSecret(), nil
	}
	if len(s) < MinWebhookSecret || len(s) > MaxWebhookSecret {
		return "", Errorf(EINVALID, "secret must be %d to %d characters", MinWebhookSecret, MaxWebhookSecret)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "", Errorf(EINVALID, "secret must be printable ASCII characters without spaces")
		}
	}
	return s, nil
}

// NewWebhookSecret returns a new random secret: "whsec_" and 48 hex digits.
func NewWebhookSecret() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + hex.EncodeToString(b)
}
