package chat

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/browsertest"
	"parley/crm"
	"parley/crm/storetest"
	"parley/reasoner"

	"github.com/chromedp/chromedp"
)

// TestDeflectionOffer: a shopper whose first message asks where an order is gets Track
// my order offered in the conversation, once, and counted for the reports; a first
// message about something else gets no offer.
func TestDeflectionOffer(t *testing.T) {
	var r *reasoner.Reasoner
	e := newEnvWith(t, func(db storetest.Store) Options {
		r = reasoner.New(reasoner.Options{Store: db, Shipped: true})
		return Options{Deflect: func(ctx context.Context, text string) bool { return r.Deflect(ctx, text) }}
	}, nil)
	ctx := crm.AsSystem(context.Background())
	if _, err := r.Train(ctx); err != nil {
		t.Fatal(err)
	}
	// The offer comes after the message's ack and before the next message's; the live
	// copy of the message itself may come in between.
	offers := func(c *client, first, second, text string) int {
		t.Helper()
		c.send(map[string]any{"type": "message", "client_id": first, "text": text})
		c.send(map[string]any{"type": "message", "client_id": second, "text": "thanks"})
		_, skipped := c.until(func(f *serverFrame) bool { return f.Type == "ack" && f.ClientID == second })
		n := 0
		for _, s := range skipped {
			if s.Type == "offer" && s.Offer == "track_order" {
				n++
			}
		}
		return n
	}
	c, _ := e.visitor(map[string]any{"name": "Sam"})
	if n := offers(c, "c-1", "c-2", "Hi, where is my order? I ordered ten days ago and the parcel has still not arrived."); n != 1 {
		t.Fatalf("%d offers after a first message about an order, want 1", n)
	}
	// Not again in the same conversation, and not for a question about a product.
	if n := offers(c, "c-3", "c-4", "Where is my parcel? The tracking number does not work either."); n != 0 {
		t.Fatalf("%d offers on a later message", n)
	}
	other, _ := e.visitor(map[string]any{"name": "Kim"})
	if n := offers(other, "k-1", "k-2", "Is the blue mug dishwasher safe? And does it come in a bigger size?"); n != 0 {
		t.Fatalf("%d offers for a product question", n)
	}
	counts, err := e.db.SelfServiceCounts(ctx, crm.ReportFilter{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if counts[crm.SelfServiceOffered] != 1 {
		t.Fatalf("self-service counts %v, want one offer", counts)
	}
}

// TestBrowserDeflection: on the demo page, a shopper who asks where an order is sees
// Track my order offered in the conversation, and the offer opens the lookup.
func TestBrowserDeflection(t *testing.T) {
	ctx := browsertest.NewTab(t)
	var r *reasoner.Reasoner
	e := newEnvWith(t, func(db storetest.Store) Options {
		r = reasoner.New(reasoner.Options{Store: db, Shipped: true})
		return Options{Deflect: r.Deflect}
	}, nil)
	sys := crm.AsSystem(context.Background())
	if _, err := r.Train(sys); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateInbox(sys, &crm.Inbox{Kind: crm.KindChat, Name: "Demo: shop chat", Config: map[string]any{"demo": true}}); err != nil {
		t.Fatal(err)
	}
	q := func(sel string) string { return shadow + `.querySelector('` + sel + `')` }
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/demo")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the launcher", q(".launcher"))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".launcher")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the connected panel", `!`+q("textarea")+`.disabled`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.JSPath(q("textarea")), "Where is my order? It has not arrived yet and the tracking is stuck.\r")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the offer", q(".log .offer")+` && `+q(".log .offer p")+`.textContent.startsWith('Looking for your order?')`)
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		browsertest.Screenshot(t, ctx, filepath.Join(dir, "widget-offer.png"))
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".log .offer button")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the lookup form", `!`+q(".orders")+`.hidden && `+q(".log")+`.hidden`)
}
