package agentui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"parley/crm"

	"github.com/chromedp/chromedp"
)

// TestDeliveryStatusLive sends a reply whose answer reaches the browser only after the
// channel sent it: the thread shows "Sent" from the live events, and the late answer,
// which still says "queued", does not turn it back.
func TestDeliveryStatusLive(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("late-1", "Alice Shopper", "alice@example.com", "Where is my parcel?", "Hi, it has not arrived.")
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitText("#thread .msg.dir-in .text", "it has not arrived")

	release := f.lateAnswer(fmt.Sprintf("/api/v1/tickets/%d/messages", id))
	defer release()
	b.do(
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "It ships today."),
		chromedp.Click(chromedp.CSS("#send")),
	)
	b.waitText("#thread .msg.dir-out .delivery", "Queued") // message.created, live
	ctx := crm.AsSystem(context.Background())
	var outs []*crm.Outbound
	deadline := time.Now().Add(10 * time.Second)
	for len(outs) == 0 && time.Now().Before(deadline) {
		var err error
		if outs, err = f.db.ClaimOutbound(ctx, time.Minute, 10); err != nil {
			t.Fatal(err)
		}
	}
	if len(outs) != 1 {
		t.Fatalf("%d replies in the outbox", len(outs))
	}
	if err := f.db.MarkSent(ctx, outs[0].Message.ID, "api-1"); err != nil {
		t.Fatal(err)
	}
	b.waitText("#thread .msg.dir-out .delivery", "Sent") // message.updated, live
	release()
	b.waitJS("the reply box cleared by the answer", `() => document.querySelector('#reply-body').value === ''`)
	if got := b.eval(`document.querySelector('#thread .msg.dir-out .delivery').textContent`); got != "Sent" {
		t.Fatalf("after the late answer the reply shows %q, want Sent", got)
	}
	b.noScriptErrors()
}
