// Package reasoner keeps the shop's contact-reason classifier (package reasons) at work:
// it trains a model in the background from the tickets agents labelled, stores each
// version, guesses the reason of every new ticket from the event log, and answers the
// widget's question whether a shopper's first message asks where an order is.
package reasoner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"parley/crm"
	"parley/reasons"
)

// Store is what the reasoner uses of the store.
type Store interface {
	Reasons(ctx context.Context) ([]*crm.Reason, error)
	ReasonSettings(ctx context.Context) (*crm.ReasonSettings, error)
	ReasonExamples(ctx context.Context, after int64, limit int) ([]*crm.ReasonExample, error)
	ReasonText(ctx context.Context, ticketID int64) (*crm.ReasonExample, error)
	GuessReason(ctx context.Context, ticketID int64, g crm.ReasonGuess) (*crm.Ticket, bool, error)
	SaveReasonModel(ctx context.Context, m *crm.ReasonModel) (*crm.ReasonModel, error)
	LatestReasonModel(ctx context.Context) (*crm.ReasonModel, error)
	ReasonCursor(ctx context.Context) (int64, error)
	SetReasonCursor(ctx context.Context, after int64) error
	Events(ctx context.Context, after int64, limit int) ([]*crm.Event, error)
	Tickets(ctx context.Context, f crm.TicketFilter) ([]*crm.Ticket, string, error)
}

// Options configure a Reasoner. Store is required.
type Options struct {
	Store  Store
	Bus    crm.Bus // wakes the worker as soon as events are stored; without it, it polls
	Logger *slog.Logger
	// Poll is how often the worker looks for new events without a bus (default one
	// second); Retrain how often it trains again when agents labelled tickets since
	// (default one hour); Reload how often a node that does not train looks for a newer
	// model (default one minute).
	Poll    time.Duration
	Retrain time.Duration
	Reload  time.Duration
	// Shipped, when true (the default of cmd/parley), adds the labelled messages that ship
	// with Parley to the shop's own, so that a new shop gets reasons from its first ticket.
	Shipped bool
}

// Reasoner trains, keeps and applies the classifier. Its methods are safe for
// concurrent use.
type Reasoner struct {
	opt     Options
	log     *slog.Logger
	current atomic.Pointer[loaded]
	trained atomic.Uint64 // the fingerprint of the examples of this node's last training
	train   sync.Mutex    // one training at a time
	// inbound counts the customer messages of each ticket that Run has seen since it
	// started, so that it guesses after the first guessMessages only; guessed holds the
	// tickets that the store guessed as it opened them (see GuessFirst). Run's alone.
	inbound map[int64]int
	guessed map[int64]bool
	// shopCache is the shop GuessFirst last read.
	shopCache atomic.Pointer[readShop]
}

// loaded is a model in use, with the shop's reasons it maps to.
type loaded struct {
	model   *reasons.Model
	version int64
}

const (
	examplePage = 1000
	eventPage   = 200
	// DeflectConfidence is the least confidence at which the widget offers Track my order:
	// a wrong offer costs the shopper a click, so it takes more than applying a reason.
	DeflectConfidence = 0.7
	// cvLimit is the most examples a model is cross-validated on (3 folds, then trained
	// on all); above it a tenth is held out instead and the model is trained once, so
	// that a shop with many labelled tickets trains in one pass.
	cvLimit = 1000
	// backfillPages bounds the open tickets guessed when the first model is ready.
	backfillPages = 5
	// guessConcurrency is how many tickets are guessed at once (see guessAll).
	guessConcurrency = 16
	// wakeBatches: see automation; events are read a few hundred at a time.
	wakeBatches = 250 * time.Millisecond
	// guessMessages is how many of a ticket's customer messages are each followed by a
	// guess. Why a customer writes is in their first messages; later ones ("any news?")
	// rarely change it, and in a busy thread every message paid for a guess.
	guessMessages = 3
	// countedTickets bounds the tickets whose customer messages the worker counts; past
	// it the counts start over (a ticket then gets up to guessMessages more guesses).
	countedTickets = 100_000
	// shopTTL is how long GuessFirst uses the shop's reasons and threshold before it
	// reads them again: a change reaches the first messages' guesses within it.
	shopTTL = 2 * time.Second
)

// New returns a reasoner with opt's defaults filled in.
func New(opt Options) *Reasoner {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Retrain <= 0 {
		opt.Retrain = time.Hour
	}
	if opt.Reload <= 0 {
		opt.Reload = time.Minute
	}
	return &Reasoner{opt: opt, log: opt.Logger, inbound: map[int64]int{}, guessed: map[int64]bool{}}
}

// Version returns the version of the model in use, 0 when there is none.
func (r *Reasoner) Version() int64 {
	if l := r.current.Load(); l != nil {
		return l.version
	}
	return 0
}

// Refresh loads the newest stored model when it is newer than the one in use.
func (r *Reasoner) Refresh(ctx context.Context) error {
	m, err := r.opt.Store.LatestReasonModel(ctx)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if m.Version <= r.Version() {
		return nil
	}
	model, err := reasons.Load(m.Data)
	if err != nil {
		return fmt.Errorf("load reason model %d: %w", m.Version, err)
	}
	r.current.Store(&loaded{model: model, version: m.Version})
	return nil
}

// shop is what guesses need of the shop's settings, read once for a batch of guesses.
// readShop is a shop and when it was read, for GuessFirst.
type readShop struct {
	shop *shop
	at   time.Time
}

type shop struct {
	bySlug   map[string]int64 // the reasons that are not archived
	settings *crm.ReasonSettings
}

func (r *Reasoner) shop(ctx context.Context) (*shop, error) {
	list, err := r.opt.Store.Reasons(ctx)
	if err != nil {
		return nil, err
	}
	set, err := r.opt.Store.ReasonSettings(ctx)
	if err != nil {
		return nil, err
	}
	s := &shop{bySlug: make(map[string]int64, len(list)), settings: set}
	for _, x := range list {
		if !x.Archived {
			s.bySlug[x.Slug] = x.ID
		}
	}
	return s, nil
}

// Predict returns the shop's reasons for what a customer wrote, best first, with their
// confidences; nil while no model is trained. Archived reasons are left out.
func (r *Reasoner) Predict(ctx context.Context, text string, f reasons.Facts) ([]crm.ReasonScore, error) {
	s, err := r.shop(ctx)
	if err != nil {
		return nil, err
	}
	return r.predict(s, text, f), nil
}

func (r *Reasoner) predict(s *shop, text string, f reasons.Facts) []crm.ReasonScore {
	l := r.current.Load()
	if l == nil {
		return nil
	}
	var out []crm.ReasonScore
	for _, p := range l.model.Predict(text, f) {
		if id := s.bySlug[p.Label]; id != 0 {
			out = append(out, crm.ReasonScore{ReasonID: id, Confidence: p.Confidence})
		}
	}
	return out
}

// Deflect reports whether the widget should offer Track my order for a shopper's first
// message: the shop lets it, and the classifier is sure enough it asks where an order is.
func (r *Reasoner) Deflect(ctx context.Context, text string) bool {
	set, err := r.opt.Store.ReasonSettings(ctx)
	if err != nil || !set.Deflection {
		return false
	}
	l := r.current.Load()
	if l == nil {
		return false
	}
	p := l.model.Predict(text, reasons.Facts{})
	return len(p) > 0 && p[0].Label == "where_is_my_order" && p[0].Confidence >= max(set.Threshold, DeflectConfidence)
}

// Guess classifies one ticket and records the guess: the best reason is applied when
// its confidence reaches the shop's threshold, else the top three are suggested. An
// agent's reason is never replaced (the store keeps it).
func (r *Reasoner) Guess(ctx context.Context, ticketID int64) error {
	if r.current.Load() == nil {
		return nil
	}
	s, err := r.shop(ctx)
	if err != nil {
		return err
	}
	return r.guess(ctx, s, ticketID)
}

func (r *Reasoner) guess(ctx context.Context, s *shop, ticketID int64) error {
	x, err := r.opt.Store.ReasonText(ctx, ticketID)
	if err != nil {
		return err
	}
	g := r.decide(s, r.predict(s, x.Text, reasons.Facts{OrderStatus: x.OrderStatus, OrderAgeDays: x.OrderAgeDays}))
	if g == nil {
		return nil
	}
	_, _, err = r.opt.Store.GuessReason(ctx, ticketID, *g)
	return err
}

// decide turns the classifier's scores into a guess: the best reason when its confidence
// reaches the shop's threshold, else the top three as suggestions; nil without scores.
func (r *Reasoner) decide(s *shop, scores []crm.ReasonScore) *crm.ReasonGuess {
	if len(scores) == 0 {
		return nil
	}
	g := &crm.ReasonGuess{Source: crm.ReasonByAuto, Model: r.Version(), Confidence: scores[0].Confidence}
	if scores[0].Confidence >= s.settings.Threshold {
		g.ReasonID = scores[0].ReasonID
	} else {
		g.Suggestions = scores[:min(3, len(scores))]
	}
	return g
}

// GuessFirst guesses the reason of a new customer's first message for the store, in the
// transaction that opens their ticket (crm.ReasonGuesser): with the model in use and the
// shop's reasons and threshold as read at most shopTTL ago. Nil while there is no model,
// or when the shop's reasons cannot be read.
func (r *Reasoner) GuessFirst(subject, text string) *crm.ReasonGuess {
	if r.current.Load() == nil {
		return nil
	}
	s := r.recentShop()
	if s == nil {
		return nil
	}
	return r.decide(s, r.predict(s, crm.ReasonText(subject, text), reasons.Facts{}))
}

// recentShop returns the shop's reasons and settings, read at most shopTTL ago; nil
// when they cannot be read.
func (r *Reasoner) recentShop() *shop {
	if c := r.shopCache.Load(); c != nil && time.Since(c.at) < shopTTL {
		return c.shop
	}
	s, err := r.shop(crm.AsSystem(context.Background()))
	if err != nil {
		r.log.Warn("read the reasons for a first message's guess", "err", err)
		return nil
	}
	r.shopCache.Store(&readShop{shop: s, at: time.Now()})
	return s
}

// Train trains a new model on the tickets agents labelled (plus the shipped examples
// when Options.Shipped), measures it, stores it as the next version and puts it to use.
// Returns invalid when there is too little to learn from.
func (r *Reasoner) Train(ctx context.Context) (*crm.ReasonModel, error) {
	r.train.Lock()
	defer r.train.Unlock()
	examples, err := r.examples(ctx)
	if err != nil {
		return nil, err
	}
	if len(examples) < 20 {
		return nil, crm.Errorf(crm.EINVALID, "%d labelled tickets: the classifier needs at least 20 across two reasons", len(examples))
	}
	start := time.Now()
	var eval reasons.Evaluation
	var model *reasons.Model
	if len(examples) <= cvLimit {
		if eval, err = reasons.CrossValidate(examples, 3, reasons.Options{}); err == nil {
			model, err = reasons.Train(examples, reasons.Options{})
		}
	} else {
		// Enough to spare a tenth: the model that is measured is the one in use, trained
		// once on the other nine tenths.
		held := examples[:len(examples)/10] // examples are shuffled by examples()
		if model, err = reasons.Train(examples[len(examples)/10:], reasons.Options{}); err == nil {
			eval = reasons.Evaluate(model, held)
		}
	}
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "train the classifier: %v", err)
	}
	data, err := model.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode reason model: %w", err)
	}
	scores := make([]score, len(eval.Scores))
	for i, x := range eval.Scores {
		scores[i] = score{x.Label, x.Precision, x.Recall, x.F1, x.Support}
	}
	report, err := json.Marshal(scores)
	if err != nil {
		return nil, fmt.Errorf("encode reason report: %w", err)
	}
	saved, err := r.opt.Store.SaveReasonModel(ctx, &crm.ReasonModel{Examples: len(examples), MacroF1: eval.MacroF1, Report: report, Data: data})
	if err != nil {
		return nil, err
	}
	r.current.Store(&loaded{model: model, version: saved.Version})
	r.trained.Store(fingerprint(examples))
	// Training took tens of megabytes that are garbage now (the weights in full
	// precision, the features of the examples): give them back to the system rather
	// than keep them in the process's resident memory until it needs them again.
	debug.FreeOSMemory()
	r.log.Info("trained the contact-reason classifier", "version", saved.Version, "examples", len(examples),
		"macro_f1", fmt.Sprintf("%.3f", eval.MacroF1), "took", time.Since(start).Round(time.Millisecond))
	return saved, nil
}

// score is one reason's line of a model's report, as the settings screen reads it.
type score struct {
	Reason    string  `json:"reason"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// examples reads the labelled tickets, adds the shipped examples of the reasons the shop
// still has, and shuffles them in a fixed order.
func (r *Reasoner) examples(ctx context.Context) ([]reasons.Example, error) {
	list, err := r.opt.Store.Reasons(ctx)
	if err != nil {
		return nil, err
	}
	slugs := make(map[int64]string, len(list))
	live := map[string]bool{}
	for _, x := range list {
		slugs[x.ID] = x.Slug
		live[x.Slug] = !x.Archived
	}
	var out []reasons.Example
	var after int64
	for {
		page, err := r.opt.Store.ReasonExamples(ctx, after, examplePage)
		if err != nil {
			return nil, err
		}
		for _, x := range page {
			if s := slugs[x.ReasonID]; live[s] {
				out = append(out, reasons.Example{Text: x.Text, Label: s,
					Facts: reasons.Facts{OrderStatus: x.OrderStatus, OrderAgeDays: x.OrderAgeDays}})
			}
			after = x.TicketID
		}
		if len(page) < examplePage {
			break
		}
	}
	if r.opt.Shipped {
		shipped, err := reasons.EvalSet()
		if err != nil {
			return nil, fmt.Errorf("read the shipped examples: %w", err)
		}
		for _, x := range shipped {
			if live[x.Label] {
				out = append(out, x)
			}
		}
	}
	shuffle(out)
	return out, nil
}

// shuffle puts examples in an order fixed by a constant seed, so that a held-out tenth
// is not one period's tickets and training twice on the same tickets gives the same model.
func shuffle(x []reasons.Example) {
	state := uint64(0x9e3779b97f4a7c15)
	for i := len(x) - 1; i > 0; i-- {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		j := int(state % uint64(i+1))
		x[i], x[j] = x[j], x[i]
	}
}
