package reasoner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/reasoner"
	"parley/reasons"
)

type env struct {
	db    crm.Store
	bus   *crm.LocalBus
	ctx   context.Context
	inbox int64
	slug  map[int64]string
	id    map[string]int64
}

func newEnv(t *testing.T) *env {
	st := teststore.Open(t, teststore.Options{})
	ctx := crm.AsSystem(context.Background())
	in, err := st.Store.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: st.Store, bus: st.Bus, ctx: ctx, inbox: in.ID}
	e.loadReasons(t)
	return e
}

func (e *env) loadReasons(t *testing.T) {
	list, err := e.db.Reasons(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.slug, e.id = map[int64]string{}, map[string]int64{}
	for _, r := range list {
		e.slug[r.ID], e.id[r.Slug] = r.Slug, r.ID
	}
}

var seq int

// run starts the reasoner's worker on e, stopped when t ends, and waits until it has
// trained its first model (from the shipped examples).
func (e *env) run(t *testing.T) *reasoner.Reasoner {
	t.Helper()
	r := reasoner.New(reasoner.Options{Store: e.db, Bus: e.bus, Shipped: true, Poll: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for r.Version() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no model was trained at start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

func (e *env) ingest(t *testing.T, from, subject, text string) int64 {
	seq++
	res, err := e.db.Ingest(e.ctx, &crm.Inbound{InboxID: e.inbox, Channel: crm.ChannelAPI, ExternalID: fmt.Sprint("m", seq),
		ThreadKey: from + subject, Subject: subject, Text: text, From: []crm.Identity{{Kind: crm.IdentityEmail, Address: from}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.TicketID
}

// waitTicket waits until ticket id meets ok.
func (e *env) waitTicket(t *testing.T, id int64, what string, ok func(*crm.Ticket) bool) *crm.Ticket {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tk, err := e.db.Ticket(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(tk) {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %d: %s never happened; reason %v source %q suggestions %v", id, what, tk.ReasonID, tk.ReasonSource, tk.ReasonSuggestions)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNewTicketGetsItsReasonLive: a shop with no labelled tickets gets a model from the
// shipped examples at start, and its open tickets their reasons; a new ticket about a
// late parcel gets "where is my order"
// by itself, with its confidence, and a reason an agent chose is never replaced by a
// later guess.
func TestNewTicketGetsItsReasonLive(t *testing.T) {
	e := newEnv(t)
	// A ticket from before the classifier: it gets its reason once the first model is ready.
	before := e.ingest(t, "zed@example.com", "Late", "My order never arrived, the tracking has not changed for a week. Where is my parcel?")
	e.run(t)
	wismo := e.id["where_is_my_order"]
	if tk := e.waitTicket(t, before, "the earlier ticket's reason", func(tk *crm.Ticket) bool { return tk.ReasonID != nil }); *tk.ReasonID != wismo {
		t.Errorf("the earlier ticket got %s, want where_is_my_order", e.slug[*tk.ReasonID])
	}
	id := e.ingest(t, "ann@example.com", "Parcel?", "Hi, I ordered two weeks ago and my parcel still has not arrived. The tracking has not moved since Monday. Where is it?")
	tk := e.waitTicket(t, id, "an automatic reason", func(tk *crm.Ticket) bool { return tk.ReasonID != nil })
	if *tk.ReasonID != wismo || tk.ReasonSource != crm.ReasonByAuto || tk.ReasonConfidence == nil || *tk.ReasonConfidence < 0.6 {
		t.Fatalf("reason %s (%q, %v), want where_is_my_order, auto, at least 0.6", e.slug[*tk.ReasonID], tk.ReasonSource, tk.ReasonConfidence)
	}

	refund := e.id["refund_status"]
	agent := crm.TicketUpdate{ReasonID: &refund}
	if _, err := e.db.UpdateTicket(e.ctx, id, agent); err != nil {
		t.Fatal(err)
	}
	e.ingest(t, "ann@example.com", "Parcel?", "Still nothing at my door, where is my order? The tracking number does not work.")
	later := e.ingest(t, "bob@example.com", "Order", "my package never came, tracking says in transit for 12 days")
	e.waitTicket(t, later, "the next ticket's guess", func(tk *crm.Ticket) bool { return tk.ReasonID != nil || len(tk.ReasonSuggestions) > 0 })
	tk, err := e.db.Ticket(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ReasonID == nil || *tk.ReasonID != refund || tk.ReasonSource != crm.ReasonByAgent {
		t.Fatalf("after the customer wrote again: reason %v (%q), want the agent's refund_status", tk.ReasonID, tk.ReasonSource)
	}
}

// TestFirstMessageGuessedAsItIsStored: with the reasoner as the store's guesser, a new
// customer's first ticket is opened with its reason (ticket.created carries it) and the
// worker writes no second guess; a known customer's new ticket is guessed by the worker
// a moment later, as before.
// countingGuesser counts the messages the store asks its guesser about.
type countingGuesser struct {
	crm.ReasonGuesser
	n atomic.Int32
}

func (c *countingGuesser) GuessFirst(subject, text string) *crm.ReasonGuess {
	c.n.Add(1)
	return c.ReasonGuesser.GuessFirst(subject, text)
}

// On SQLite the model runs before the write only for a sender the store does not know:
// a known customer's message never gets the first guess, and the model is most of the
// CPU an inbound message costs.
func TestKnownSendersAreNotGuessedBeforeTheWrite(t *testing.T) {
	teststore.SQLiteOnly(t, "PostgreSQL asks the model for every message: the read first would cost a round trip")
	e := newEnv(t)
	g := &countingGuesser{ReasonGuesser: e.run(t)}
	e.db.SetReasonGuesser(g)
	const text = "Hi, I ordered two weeks ago and my parcel still has not arrived. Where is it?"
	e.ingest(t, "fay@example.com", "Parcel?", text)
	if n := g.n.Load(); n != 1 {
		t.Fatalf("a new sender's message: the guesser was asked %d times, want 1", n)
	}
	e.ingest(t, "fay@example.com", "Still nothing", text)
	e.ingest(t, "fay@example.com", "Another question", "Can I change the address of my order?")
	if n := g.n.Load(); n != 1 {
		t.Errorf("after two messages of the known sender the guesser was asked %d times, want still 1", n)
	}
}

func TestFirstMessageGuessedAsItIsStored(t *testing.T) {
	e := newEnv(t)
	r := e.run(t)
	e.db.SetReasonGuesser(r)
	sub := e.bus.Subscribe(10000)
	defer sub.Close()
	wismo := e.id["where_is_my_order"]
	const late = "Hi, I ordered two weeks ago and my parcel still has not arrived. The tracking has not moved since Monday. Where is it?"
	first := e.ingest(t, "dora@example.com", "Parcel?", late)
	known := e.ingest(t, "dora@example.com", "Another parcel", late)
	e.waitTicket(t, known, "the known customer's ticket guessed by the worker", func(tk *crm.Ticket) bool { return tk.ReasonID != nil })

	var created *crm.Ticket
	updates := map[int64]int{}
	for len(sub.C) > 0 {
		ev := <-sub.C
		switch {
		case ev.Type == crm.EventTicketCreated && ev.TicketID == first:
			created = &crm.Ticket{}
			if err := json.Unmarshal(ev.Data, created); err != nil {
				t.Fatal(err)
			}
		case ev.Type == crm.EventTicketUpdated && ev.Actor.Kind == "system":
			updates[ev.TicketID]++
		}
	}
	if created == nil || created.ReasonID == nil || *created.ReasonID != wismo || created.ReasonSource != crm.ReasonByAuto {
		t.Fatalf("the new customer's ticket.created: %+v, want where_is_my_order by auto", created)
	}
	if updates[first] != 0 {
		t.Errorf("the worker guessed the new customer's ticket again: %d system ticket.updated", updates[first])
	}
	if updates[known] != 1 {
		t.Errorf("the known customer's new ticket got %d system ticket.updated, want the worker's one guess", updates[known])
	}
	tk, err := e.db.Ticket(e.ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ReasonID == nil || *tk.ReasonID != wismo || tk.ReasonConfidence == nil || *tk.ReasonConfidence < 0.6 {
		t.Errorf("stored: reason %v, confidence %v; want where_is_my_order with its confidence", tk.ReasonID, tk.ReasonConfidence)
	}
	// The guessed reason is in the suggested replies' index too: once an agent answered
	// and resolved the ticket, the next customer with the same question gets that answer.
	agent, err := e.db.CreateAgent(e.ctx, &crm.NewAgent{Email: "ann@shop.example", Name: "Ann", Role: crm.RoleManager, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddMessage(crm.WithAgent(e.ctx, agent), &crm.NewMessage{TicketID: first,
		Body: "Sorry about the wait: your parcel left our warehouse on Monday and arrives tomorrow."}); err != nil {
		t.Fatal(err)
	}
	resolved := crm.StatusResolved
	if _, err := e.db.UpdateTicket(e.ctx, first, crm.TicketUpdate{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	next := e.ingest(t, "eve@example.com", "Parcel?", late)
	replies, err := e.db.SuggestReplies(e.ctx, next, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) == 0 || replies[0].TicketID != first {
		t.Errorf("suggested replies for the next such ticket: %+v, want the answer on ticket %d", replies, first)
	}
}

// TestLaterMessagesAreNotGuessed: the classifier guesses again at each of a customer's
// first three messages, not at the fourth: a thread that goes on for long costs no more
// guesses, though what the fourth says would have given the ticket a reason.
func TestLaterMessagesAreNotGuessed(t *testing.T) {
	e := newEnv(t)
	e.run(t)
	// barrier waits until the worker has read every event stored so far: it guesses a
	// new ticket's reason after them.
	barrier := func() {
		t.Helper()
		id := e.ingest(t, fmt.Sprint("barrier", seq, "@example.com"), "Order", "my package never came, tracking says in transit for 12 days")
		e.waitTicket(t, id, "a later ticket's guess", func(tk *crm.Ticket) bool { return tk.ReasonID != nil || len(tk.ReasonSuggestions) > 0 })
	}
	id := e.ingest(t, "cara@example.com", "Hello", "Hello")
	for _, text := range []string{"Hello?", "Hi"} {
		e.ingest(t, "cara@example.com", "Hello", text)
	}
	barrier()
	tk, err := e.db.Ticket(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ReasonID != nil {
		t.Fatalf("after three greetings the ticket has reason %s, want none", e.slug[*tk.ReasonID])
	}
	e.ingest(t, "cara@example.com", "Hello", "I ordered two weeks ago and my parcel still has not arrived. "+
		"The tracking has not moved since Monday. Where is my order? Where is my parcel?")
	barrier()
	if tk, err = e.db.Ticket(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	if tk.ReasonID != nil {
		t.Errorf("the fourth message was guessed: reason %s", e.slug[*tk.ReasonID])
	}
}

// TestCorrectionsTeachANewReason: a reason the shop added, which no shipped example
// has, is learned from the tickets agents labelled with it.
func TestCorrectionsTeachANewReason(t *testing.T) {
	e := newEnv(t)
	name := "Gift wrapping"
	gift, err := e.db.CreateReason(e.ctx, crm.ReasonInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"can you gift wrap my order", "please add gift wrapping and a card", "is gift wrap available for this present",
		"I want it wrapped as a gift for my mum", "do you offer gift wrapping paper", "could the parcel be gift wrapped please",
		"add a gift message and wrapping", "wrap it as a present, it is a birthday gift", "gift wrapping option missing at checkout",
		"how much is gift wrap", "can I get the box wrapped for christmas", "please wrap both items separately as gifts"}
	for i, text := range texts {
		id := e.ingest(t, fmt.Sprintf("g%d@example.com", i), "Gift", text)
		if _, err := e.db.UpdateTicket(e.ctx, id, crm.TicketUpdate{ReasonID: &gift.ID}); err != nil {
			t.Fatal(err)
		}
	}
	r := reasoner.New(reasoner.Options{Store: e.db, Shipped: true})
	m, err := r.Train(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version == 0 || m.Examples < len(texts) || m.MacroF1 <= 0 {
		t.Fatalf("model %+v", m)
	}
	got, err := r.Predict(e.ctx, "Could you gift wrap the scarf? It is a present.", reasons.Facts{})
	if err != nil || len(got) == 0 {
		t.Fatalf("predict: %v, %v", got, err)
	}
	if got[0].ReasonID != gift.ID {
		t.Fatalf("best reason %d (%.2f), want the shop's own Gift wrapping %d", got[0].ReasonID, got[0].Confidence, gift.ID)
	}
	// Another node loads the model it did not train.
	other := reasoner.New(reasoner.Options{Store: e.db})
	if err := other.Refresh(e.ctx); err != nil || other.Version() != m.Version {
		t.Fatalf("refresh: version %d, %v; want %d", other.Version(), err, m.Version)
	}
}

// TestTrainWithoutExamples: a shop that opted out of the shipped examples and labelled
// nothing gets a clear error, and no model.
func TestTrainWithoutExamples(t *testing.T) {
	e := newEnv(t)
	r := reasoner.New(reasoner.Options{Store: e.db})
	if _, err := r.Train(e.ctx); crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("train: %v, want invalid", err)
	}
	if _, err := e.db.LatestReasonModel(e.ctx); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("latest model: %v, want not_found", err)
	}
	if r.Deflect(e.ctx, "where is my order") {
		t.Fatal("deflects without a model")
	}
}

// TestDeflect: the widget's offer goes to first messages about where an order is, and
// not when the shop turned it off.
func TestDeflect(t *testing.T) {
	e := newEnv(t)
	r := reasoner.New(reasoner.Options{Store: e.db, Shipped: true})
	if _, err := r.Train(e.ctx); err != nil {
		t.Fatal(err)
	}
	if !r.Deflect(e.ctx, "Where is my order? It still has not arrived and the tracking is not updating.") {
		t.Error("no offer for a message about a late order")
	}
	if r.Deflect(e.ctx, "Is this jacket waterproof? What size should I take, I am 1.80 m.") {
		t.Error("an offer for a product question")
	}
	set, err := e.db.ReasonSettings(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.Deflection = false
	if err := e.db.SetReasonSettings(e.ctx, set); err != nil {
		t.Fatal(err)
	}
	if r.Deflect(e.ctx, "Where is my order? It still has not arrived and the tracking is not updating.") {
		t.Error("an offer while the shop turned it off")
	}
}

// TestRetrainAfterLabels: the worker trains a new version once agents labelled a ticket
// since its last training, and a correction counts as much as a new label.
func TestRetrainAfterLabels(t *testing.T) {
	e := newEnv(t)
	r := reasoner.New(reasoner.Options{Store: e.db, Shipped: true, Poll: 50 * time.Millisecond, Retrain: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitVersion := func(after int64) int64 {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for r.Version() <= after {
			if time.Now().After(deadline) {
				t.Fatalf("no model after version %d", after)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return r.Version()
	}
	v1 := waitVersion(0)
	id := e.ingest(t, "cy@example.com", "Gift", "please wrap it as a present")
	other := e.id["other"]
	if _, err := e.db.UpdateTicket(e.ctx, id, crm.TicketUpdate{ReasonID: &other}); err != nil {
		t.Fatal(err)
	}
	v2 := waitVersion(v1)
	product := e.id["product_question"]
	if _, err := e.db.UpdateTicket(e.ctx, id, crm.TicketUpdate{ReasonID: &product}); err != nil {
		t.Fatal(err)
	}
	v3 := waitVersion(v2)
	// Nothing new: ten retrain periods go by without a training.
	time.Sleep(500 * time.Millisecond)
	if v := r.Version(); v != v3 {
		t.Fatalf("version %d after nothing changed, want %d", v, v3)
	}
}
