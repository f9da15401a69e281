package chat

import (
	"context"
	"testing"
	"time"

	"parley/browsertest"
	"parley/crm"

	"github.com/chromedp/chromedp"
)

// TestBrowserCSAT rates a resolved conversation in the widget on the demo page: the
// survey appears as five labelled buttons, the shopper picks one, adds a comment and
// sends it, sees the thanks, and the store has the answer.
func TestBrowserCSAT(t *testing.T) {
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	demo, err := e.db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindChat, Name: "Demo: shop chat", Config: map[string]any{"demo": true}})
	if err != nil {
		t.Fatal(err)
	}
	if e.agent, err = e.db.UpdateAgent(crm.AsSystem(context.Background()), e.agent.ID, crm.AgentUpdate{InboxIDs: &[]int64{e.inbox.ID, demo.ID}}); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/demo")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the launcher", shadow+`.querySelector('.launcher')`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('.launcher')`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the connected panel", `!`+shadow+`.querySelector('textarea').disabled`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('textarea')`), "My mug arrived broken\r")); err != nil {
		t.Fatal(err)
	}
	var ticket int64
	deadline := time.Now().Add(20 * time.Second)
	for ticket == 0 {
		ts, _, err := e.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{InboxID: demo.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) == 1 {
			ticket = ts[0].ID
		} else if time.Now().After(deadline) {
			t.Fatal("the shopper's message never reached the store")
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if _, err := e.db.OpenChatSurvey(crm.AsSystem(context.Background()), ticket); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("a survey before resolving: %v", err)
	}
	e.resolve(ticket)

	waitJS(t, ctx, "the survey", `!`+shadow+`.querySelector('.csat').hidden`)
	waitJS(t, ctx, "the survey said to screen readers", shadow+`.querySelector('.sr[role=status]').textContent === 'How did we do? Please rate this conversation.'`)
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...`+shadow+`.querySelectorAll('.csat .rate')].map(b => b.getAttribute('aria-label') + '|' + b.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 5 || labels[0] != "1 of 5: Very bad|1Very bad" || labels[4] != "5 of 5: Excellent|5Excellent" {
		t.Fatalf("rating buttons = %q", labels)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.JSPath(shadow+`.querySelector('.csat .rate[data-rating="4"]')`)),
		chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('.csat input')`), "Replaced fast"),
		chromedp.Click(chromedp.JSPath(shadow+`.querySelector('.csat button[type=submit]')`)),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the thanks", shadow+`.querySelector('.cthanks').textContent.includes('Thank you') && !`+
		shadow+`.querySelector('.cthanks').hidden && `+shadow+`.querySelector('.csat-ask').hidden`)
	answers := e.csatAnswers(ticket)
	if len(answers) != 1 || answers[0]["rating"] != 4.0 || answers[0]["comment"] != "Replaced fast" {
		t.Fatalf("stored answers = %v", answers)
	}
	pressed, err := chromedp.Run(ctx, chromedp.Evaluate[string](shadow+`.querySelector('.rate[aria-pressed="true"]').dataset.rating`))
	if err != nil || pressed != "4" {
		t.Fatalf("pressed rating = %q (%v)", pressed, err)
	}
}
