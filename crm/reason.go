package crm

import (
	"context"
	"sync/atomic"
	"time"
)

// Sources of a ticket's contact reason.
const (
	ReasonByAgent = "agent" // set or corrected by an agent: it trains the classifier
	ReasonByAuto  = "auto"  // applied by the classifier above the confidence threshold
	ReasonByTag   = "tag"   // seeded from a tag that maps to the reason: it trains too
	ReasonByRule  = "rule"  // set by an automation rule
)

// Limits of contact reasons.
const (
	MaxReasons    = 100
	MaxReasonName = 80
	MaxReasonTags = 20
	// MaxHandleSecs is the most one report of console activity may add to a ticket's
	// handle time: a tab left open does not count as work.
	MaxHandleSecs = 120
)

// Reason is a contact reason: why a customer wrote. Slug is its stable name (rules and
// the classifier use it); Name is what agents see. An archived reason stays on the
// tickets that have it but is no longer offered. Tags map to the reason: a ticket with
// one of them and no reason gets it (source "tag"), which seeds the classifier with the
// shop's history.
type Reason struct {
	ID        int64     `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Position  int       `json:"position"`
	Archived  bool      `json:"archived"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReasonInput creates or changes a reason; nil fields are left as they are (a new
// reason needs Name; its Slug is made from the name when not given).
type ReasonInput struct {
	Slug     *string   `json:"slug"`
	Name     *string   `json:"name"`
	Position *int      `json:"position"`
	Archived *bool     `json:"archived"`
	Tags     *[]string `json:"tags"`
}

// ReasonScore is one reason the classifier proposes, with its confidence in [0, 1].
type ReasonScore struct {
	ReasonID   int64   `json:"reason_id"`
	Confidence float64 `json:"confidence"`
}

// ReasonGuess is what the classifier (or a tag, or a rule) says of a ticket: the reason
// to apply (0: none, only Suggestions) with its Source and Confidence, and the top
// suggestions the console offers when it is not sure.
type ReasonGuess struct {
	ReasonID    int64
	Source      string
	Confidence  float64
	Suggestions []ReasonScore
	Model       int64 // the version of the model that guessed, 0 for tags and rules
}

// A ReasonGuesser guesses the contact reason of a new customer's first message, subject
// and text as they came, with no order facts (a new customer has no orders). It returns
// nil when it cannot guess (no model yet). It is called outside the store's transaction,
// for every inbound message, and must be cheap and safe for concurrent use.
type ReasonGuesser interface {
	GuessFirst(subject, text string) *ReasonGuess
}

// GuesserSlot holds a store's ReasonGuesser. Both stores embed it, which gives them
// SetReasonGuesser.
type GuesserSlot struct{ g atomic.Pointer[ReasonGuesser] }

// SetReasonGuesser sets the guesser FirstGuess asks; nil stops it.
func (s *GuesserSlot) SetReasonGuesser(g ReasonGuesser) {
	if g == nil {
		s.g.Store(nil)
		return
	}
	s.g.Store(&g)
}

// FirstGuess returns the guess of the guesser set for a message that may be a new
// customer's first; nil without a guesser, without text, or when known (if not nil)
// reports that the sender is a customer already: their messages are never guessed as
// they are stored, and a store that reads faster than the model runs asks first.
func (s *GuesserSlot) FirstGuess(subject, text string, known func() bool) *ReasonGuess {
	g := s.g.Load()
	if g == nil || text == "" || known != nil && known() {
		return nil
	}
	return (*g).GuessFirst(subject, text)
}

// ReasonSettings are the shop's settings of contact reasons. Threshold is the confidence
// from which the classifier's reason is applied (else the console suggests the top
// three). RequireOnResolve makes agents pick a reason before they resolve. HourlyCost is
// what an agent's hour costs, in minor units of Currency, for the support cost report.
// Deflection lets the widget offer Track my order when a shopper's first message is
// about where an order is.
type ReasonSettings struct {
	Threshold        float64 `json:"threshold"`
	RequireOnResolve bool    `json:"require_on_resolve"`
	HourlyCost       int64   `json:"hourly_cost"`
	Currency         string  `json:"currency"`
	Deflection       bool    `json:"deflection"`
}

// DefaultReasonSettings are the settings of a shop that never changed them.
func DefaultReasonSettings() ReasonSettings {
	return ReasonSettings{Threshold: 0.6, HourlyCost: 2500, Currency: "USD", Deflection: true}
}

// ReasonExample is one labelled ticket the classifier learns from: its subject and the
// customer's first messages, the customer's latest order as it stood when the ticket
// was opened, and the reason an agent (or a tag) gave it.
type ReasonExample struct {
	TicketID     int64
	ReasonID     int64
	Text         string
	OrderStatus  string // "" when the customer had no order
	OrderAgeDays int
}

// ReasonModel is one trained version of the classifier. Data is the model itself;
// Report is its cross-validated quality as JSON, for the settings screen.
type ReasonModel struct {
	Version   int64     `json:"version"`
	Examples  int       `json:"examples"`
	MacroF1   float64   `json:"macro_f1"`
	Report    []byte    `json:"-"`
	Data      []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// SuggestedReply is an agent's reply on a resolved ticket of the same reason whose
// customer wrote something similar. CustomerName and OrderNumbers are those of the old
// ticket's customer, so that the server can swap them for the current ones.
type SuggestedReply struct {
	TicketID     int64    `json:"ticket_id"`
	MessageID    int64    `json:"message_id"`
	Text         string   `json:"text"`
	CustomerName string   `json:"-"`
	OrderNumbers []string `json:"-"`
}

// HandleTime is time an agent spent on a ticket (open in the console, composing).
type HandleTime struct {
	TicketID int64
	AgentID  int64
	Secs     int
	At       time.Time
}

// ReasonService keeps contact reasons, the classifier's models and what reports of
// reasons count.
type ReasonService interface {
	// Reasons lists every reason, archived ones too, by position.
	Reasons(ctx context.Context) ([]*Reason, error)
	// CreateReason adds a reason. Returns invalid or conflict (the slug or a tag is taken).
	CreateReason(ctx context.Context, in ReasonInput) (*Reason, error)
	// UpdateReason changes a reason. Returns invalid, not_found or conflict.
	UpdateReason(ctx context.Context, id int64, in ReasonInput) (*Reason, error)
	ReasonSettings(ctx context.Context) (*ReasonSettings, error)
	// SetReasonSettings saves the settings. Returns invalid.
	SetReasonSettings(ctx context.Context, s *ReasonSettings) error
	// SetReasonGuesser has Ingest guess the reason of a new customer's first ticket with
	// g, in the transaction that opens it, so that its ticket.created carries the guess;
	// nil stops it. Other tickets are guessed after they are stored (GuessReason).
	SetReasonGuesser(g ReasonGuesser)
	// GuessReason records a guess on a ticket and, when it names a reason, applies it,
	// unless an agent chose one or a tag gave one; a ticket.updated event tells the consoles.
	// Returns the ticket and whether it changed, or not_found.
	GuessReason(ctx context.Context, ticketID int64, g ReasonGuess) (*Ticket, bool, error)
	// ReasonExamples returns up to limit labelled tickets (source agent or tag) with ids
	// above after, by id.
	ReasonExamples(ctx context.Context, after int64, limit int) ([]*ReasonExample, error)
	// ReasonText returns what the classifier reads of a ticket, as in ReasonExamples.
	// Returns not_found.
	ReasonText(ctx context.Context, ticketID int64) (*ReasonExample, error)
	// SeedReasonsFromTags gives tickets without a reason the reason their tags map to.
	SeedReasonsFromTags(ctx context.Context) (int, error)
	// SaveReasonModel stores a new model version and returns it with its version.
	SaveReasonModel(ctx context.Context, m *ReasonModel) (*ReasonModel, error)
	// LatestReasonModel returns the newest model, or not_found when none was trained.
	LatestReasonModel(ctx context.Context) (*ReasonModel, error)
	// SuggestReplies returns up to limit agent replies from the resolved tickets of the
	// ticket's reason most similar to what its customer wrote. Returns not_found.
	SuggestReplies(ctx context.Context, ticketID int64, limit int) ([]*SuggestedReply, error)
	// RecordSuggestionUse counts that the agent in ctx inserted the reply messageID
	// suggested on ticketID.
	RecordSuggestionUse(ctx context.Context, ticketID, messageID int64) error
	// AddHandleTime adds agents' time to tickets.
	AddHandleTime(ctx context.Context, h []HandleTime) error
	// RecordSelfService counts one thing a shopper did for themselves in the widget of
	// inbox: SelfServiceOffered (Track my order offered for a first message about an
	// order) or SelfServiceLookup (an order looked up).
	RecordSelfService(ctx context.Context, inboxID int64, kind string) error
	// SelfServiceCounts counts them by kind over the filter's range and inbox.
	SelfServiceCounts(ctx context.Context, f ReportFilter) (map[string]int, error)
	// CountOrders counts the orders placed in the filter's range.
	CountOrders(ctx context.Context, f ReportFilter) (int, error)
	// CountSuggestionUses counts the suggested replies agents inserted in the filter's
	// range and scope.
	CountSuggestionUses(ctx context.Context, f ReportFilter) (int, error)
	// ReasonCursor returns the id of the last event the classifier's worker handled,
	// starting at the newest event the first time (as RuleCursor does).
	ReasonCursor(ctx context.Context) (int64, error)
	// SetReasonCursor records that the worker handled the events up to after.
	SetReasonCursor(ctx context.Context, after int64) error
}

// Kinds of self-service the widget counts.
const (
	SelfServiceOffered = "offered"
	SelfServiceLookup  = "lookup"
)
