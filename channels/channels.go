// Package channels holds what every channel shares: the Connector interface that sends
// agent messages out, the registry of connectors by inbox kind, the outbox dispatcher
// that drives them, and the keeper of a worker per inbox for channels that hold
// connections (InboxWorkers).
package channels

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"parley/crm"
)

// Connector delivers an agent's queued message on one kind of inbox. It returns the
// channel's id of the sent message (an email Message-ID, a Twilio MessageSid) or an error;
// an error wrapped with Permanent is not retried.
type Connector interface {
	Send(ctx context.Context, out *crm.Outbound) (externalID string, err error)
}

// ConnectorFunc adapts a function to Connector.
type ConnectorFunc func(ctx context.Context, out *crm.Outbound) (string, error)

// Send calls f.
func (f ConnectorFunc) Send(ctx context.Context, out *crm.Outbound) (string, error) {
	return f(ctx, out)
}

// InboxPreparer is implemented by connectors whose inboxes need their config checked
// and completed (defaults, generated secrets) before it is saved. On an update in.Secrets
// holds the stored secrets and in.Config the new values. Returns invalid for a bad config.
type InboxPreparer interface {
	PrepareInbox(ctx context.Context, in *crm.Inbox) error
}

// InboxTester is implemented by connectors that can check an inbox's credentials against
// the real service (the console's "test connection" button).
type InboxTester interface {
	TestInbox(ctx context.Context, in *crm.Inbox) error
}

// TestStep is one step of a connection test, in the order it ran: what was tried, whether
// it worked, and what the other side answered (its own words where it gave any).
type TestStep struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// InboxStepTester is implemented by connectors whose connection test runs in steps (name
// lookup, connection, TLS, login, ...), so that the console can show where it stopped. The
// steps end at the first that failed.
type InboxStepTester interface {
	TestInboxSteps(ctx context.Context, in *crm.Inbox) []TestStep
}

// InboxSetup is implemented by connectors that tell an admin what to do with a saved
// inbox: the URLs to paste at the provider, the servers and channels a bot can see. The
// result is JSON for the console. publicURL is where the outside world reaches Parley.
type InboxSetup interface {
	SetupInbox(ctx context.Context, in *crm.Inbox, publicURL string) (any, error)
}

// InboxStatus is the live state of an inbox's connection, shown in the console.
type InboxStatus struct {
	State     string    `json:"state"` // "connected", "connecting", "disconnected" or "error"
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since"`
	// SignIn, while an inbox that signs in with Google or Microsoft has no working
	// sign-in (never signed in, or the grant was revoked or expired), names the provider
	// ("google", "microsoft") an admin must sign in with again.
	SignIn string `json:"sign_in,omitempty"`
}

// SignInRequired reports whether err says an admin must sign an inbox in again (an
// error with a SignInRequired method that returns true, as oauth.SignInError has).
func SignInRequired(err error) bool {
	var s interface{ SignInRequired() bool }
	return errors.As(err, &s) && s.SignInRequired()
}

// StatusReporter is implemented by connectors that hold connections per inbox.
type StatusReporter interface {
	InboxStatus(inboxID int64) *InboxStatus
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that a retry cannot fix (an invalid number, a
// rejected address), so the dispatcher fails the message at once.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Registry maps inbox kinds to their connectors. It is safe for concurrent use, so a
// channel can register itself after start-up.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Connector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Connector{}} }

// Register sets the connector of an inbox kind.
func (r *Registry) Register(kind string, c Connector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[kind] = c
}

// Connector returns the connector of an inbox kind, or nil.
func (r *Registry) Connector(kind string) Connector {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[kind]
}

// APIConnector is the connector of the api channel: the source system reads replies from
// the API or its webhooks, so a reply counts as sent once it is stored.
var APIConnector = ConnectorFunc(func(ctx context.Context, out *crm.Outbound) (string, error) {
	return fmt.Sprintf("api-%d", out.Message.ID), nil
})

// IsDemo reports whether in is a demo inbox (config "demo": true, seeded by `serve --demo`):
// it connects to nothing, and its replies count as sent without leaving the machine.
func IsDemo(in *crm.Inbox) bool {
	demo, _ := in.Config["demo"].(bool)
	return demo
}
