package agentui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"parley/crm"
	"parley/reasoner"
)

// TestReasonsOnScreen: with the classifier running, a new ticket about a late parcel gets
// its reason live, which the agent sees as "auto" with its confidence, beside the reply
// an agent sent on a resolved ticket of the same reason, which goes into the reply box
// with this customer's name. A ticket the classifier was not sure of shows its top
// reasons as chips, one click sets it. The manager sees the classifier on the settings
// page and the reasons in the reports.
func TestReasonsOnScreen(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := reasoner.New(reasoner.Options{Store: f.db, Bus: f.bus, Shipped: true, Poll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	sys := crm.AsSystem(context.Background())
	list, err := f.db.Reasons(sys)
	if err != nil {
		t.Fatal(err)
	}
	id := map[string]int64{}
	for _, x := range list {
		id[x.Slug] = x.ID
	}
	wismo, refund := id["where_is_my_order"], id["refund_status"]

	old := f.inbound("old-1", "Olga Old", "olga@example.com", "Parcel late", "My parcel has not arrived and the tracking is stuck.")
	admin := crm.WithAgent(sys, f.admin)
	if _, err := f.db.AddMessage(admin, &crm.NewMessage{TicketID: old, Body: "Hi Olga, the carrier has your parcel; it arrives on Friday."}); err != nil {
		t.Fatal(err)
	}
	resolved := crm.StatusResolved
	if _, err := f.db.UpdateTicket(admin, old, crm.TicketUpdate{Status: &resolved, ReasonID: &wismo}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for r.Version() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the classifier was not trained at start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/all")
	id1 := f.inbound("new-1", "Nia New", "nia@example.com", "Where is my parcel?",
		"Hi, I ordered two weeks ago and the parcel has still not arrived. The tracking has not moved since Monday.")
	b.hash(fmt.Sprintf("#/tickets/%d", id1))
	b.waitJS("the automatic reason on screen", `(id) => { const s = document.querySelector('#t-reason'); return s && s.value === String(id) }`, wismo)
	b.waitText(".reason-auto", "auto")
	b.waitText("#suggestions-title", "1 suggested reply")
	b.click("#suggestions summary")
	b.click("#suggestion-list button")
	b.waitJS("the suggestion in the reply box", `() => document.querySelector('#reply-body').value === 'Hi Nia, the carrier has your parcel; it arrives on Friday.'`)
	b.shot("reasons-ticket")

	// A guess below the threshold: the chips, and a click sets the reason. The worker is
	// stopped first, so that the guess on screen is this one.
	stop()
	id2 := f.inbound("new-2", "Pat", "pat@example.com", "Question", "hello, quick question about my thing")
	if _, _, err := f.db.GuessReason(sys, id2, crm.ReasonGuess{Source: crm.ReasonByAuto, Confidence: 0.4,
		Suggestions: []crm.ReasonScore{{ReasonID: refund, Confidence: 0.4}, {ReasonID: wismo, Confidence: 0.3}}}); err != nil {
		t.Fatal(err)
	}
	b.hash(fmt.Sprintf("#/tickets/%d", id2))
	b.waitText(".reason-suggest", "Refund status 40%")
	b.click(fmt.Sprintf(`.reason-suggest button[data-reason="%d"]`, refund))
	b.waitJS("the chosen reason", `(id) => document.querySelector('#t-reason').value === String(id)`, refund)
	if tk := f.ticket(id2); tk.ReasonID == nil || *tk.ReasonID != refund || tk.ReasonSource != crm.ReasonByAgent {
		t.Fatalf("after the chip: reason %v %q", tk.ReasonID, tk.ReasonSource)
	}

	b.hash("#/settings/reasons")
	b.waitText("#reason-model", "Version")
	b.waitJS("the reasons listed", `() => [...document.querySelectorAll('#reason-list input[name=name]')].some((i) => i.value === 'Where is my order')`)
	// The page's forms as a manager fills them: a new reason, and the settings.
	b.setValue("#nr-name", "Gift wrapping")
	b.click("#new-reason button[type=submit]")
	b.waitJS("the new reason listed", `() => [...document.querySelectorAll('#reason-list input[name=name]')].some((i) => i.value === 'Gift wrapping')`)
	b.setValue("#rs-cost", "32.50")
	b.setValue("#rs-currency", "eur")
	b.click("#reason-settings input[name=require_on_resolve]")
	b.click("#reason-settings button[type=submit]")
	b.waitText("#reason-settings [role=status]", "Saved")
	set, err := f.db.ReasonSettings(sys)
	if err != nil || set.HourlyCost != 3250 || set.Currency != "EUR" || !set.RequireOnResolve || set.Threshold != 0.6 {
		t.Fatalf("settings after the form: %+v, %v", set, err)
	}
	if list, _ := f.db.Reasons(sys); list[len(list)-1].Slug != "gift_wrapping" {
		t.Fatalf("the new reason: %+v", list[len(list)-1])
	}
	b.shot("reasons-settings")
	b.hash("#/reports")
	b.waitText("#reasons-table", "Where is my order")
	b.shot("reasons-report")
	b.noScriptErrors()
}

// hash moves the signed-in console to another screen, as a click on a link does.
func (b *tab) hash(h string) {
	b.t.Helper()
	b.eval(fmt.Sprintf("location.hash = %q", h))
}
