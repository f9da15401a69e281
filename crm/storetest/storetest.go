// Package storetest is the one test suite of Parley's stores: every store (SQLite,
// PostgreSQL) runs it through Run with an Opener of its own, so that both keep the same
// semantics. It uses nothing but the store's interfaces, a test clock and the bus.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"parley/crm"
)

// Store is everything a store serves: crm.Store, what the channels keep in it and the
// versions the server's read cache checks (crm/storecache.Versions). Every package's
// tests get one from crm/storetest/teststore.
type Store interface {
	crm.Store
	crm.MailStore
	crm.PhoneStore
	crm.ChatService
	TicketThreadKey(ctx context.Context, ticketID int64) (string, error)
	SaveDiscordChannel(ctx context.Context, inboxID int64, channelID, kind, messageID string) error
	DiscordChannels(ctx context.Context, inboxID int64, limit int, fn func(channelID, kind, lastMessageID string)) error
	SetMessageHTML(ctx context.Context, messageID int64, html string) error
	TicketsVersion() uint64
	ThreadVersion(ticketID int64) uint64
	Invalidate(ticketIDs ...int64)
}

// Options are what a test asks of a new store. Zero fields take the store's defaults.
type Options struct {
	// ReopenWindow is how long after resolving a message reopens a ticket.
	ReopenWindow time.Duration
}

// Env is a fresh, empty store for one test, with the clock it runs on and the bus its
// events go to. It is closed when the test ends.
type Env struct {
	Store
	// Clock is the store's clock in the suite; nil where the store runs on a clock of
	// the test's own or on real time (teststore.Open).
	Clock *Clock
	Bus   *crm.LocalBus
	// DataDir holds the store's attachment files.
	DataDir string
	// Reopen closes the store and opens it again on the same data, as a restart does.
	Reopen func(tb testing.TB)
	// Commits returns how many write transactions the store has committed, so that a
	// test can tell one from several.
	Commits func() int64
	// Raw runs a query on the database itself, past the store, written with ? for its
	// arguments: for checks of what is at rest. Each row is a slice of its columns'
	// values (int64, string, []byte or nil).
	Raw func(tb testing.TB, query string, args ...any) [][]any
}

// Opener makes a fresh store for a test. Each store's tests pass their own to Run.
type Opener func(tb testing.TB, opt Options) *Env

// Clock is the settable clock stores run on in tests. It starts at 2025-03-01 12:00 UTC.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at 2025-03-01 12:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// SecretKey is the key stores seal secrets with in tests.
var SecretKey = []byte("0123456789abcdef0123456789abcdef")

// test is one case of the suite.
type test struct {
	name string
	fn   func(t *testing.T, open Opener)
}

var (
	mu    sync.Mutex
	suite []test
)

// add registers a case of the suite; each file of the suite adds its own in init.
func add(name string, fn func(t *testing.T, open Opener)) {
	mu.Lock()
	defer mu.Unlock()
	suite = append(suite, test{name, fn})
}

// Run runs the whole suite against the stores open makes, each case in parallel with the
// others on a store of its own.
func Run(t *testing.T, open Opener) {
	mu.Lock()
	cases := append([]test(nil), suite...)
	mu.Unlock()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// sys is a context acting as the system.
func sys() context.Context { return crm.AsSystem(context.Background()) }

// MustCreateInbox creates an inbox of kind.
func MustCreateInbox(tb testing.TB, s Store, kind, name string) *crm.Inbox {
	tb.Helper()
	in, err := s.CreateInbox(sys(), &crm.Inbox{Kind: kind, Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// MustIngest files an inbound message as the system.
func MustIngest(tb testing.TB, s Store, in *crm.Inbound) *crm.IngestResult {
	tb.Helper()
	res, err := s.Ingest(sys(), in)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// MustTicket reads a ticket as the system.
func MustTicket(tb testing.TB, s Store, id int64) *crm.Ticket {
	tb.Helper()
	t, err := s.Ticket(sys(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// MustCreateAgent creates an agent of role in inboxes, with the password "correct horse".
func MustCreateAgent(tb testing.TB, s Store, email, role string, inboxes ...int64) *crm.Agent {
	tb.Helper()
	a, err := s.CreateAgent(sys(), &crm.NewAgent{Email: email, Name: email, Role: role,
		Password: "correct horse", InboxIDs: inboxes})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func email(addr string) []crm.Identity {
	return []crm.Identity{{Kind: crm.IdentityEmail, Address: addr}}
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := crm.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}
