package chat

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/browsertest"
	"parley/crm"

	"github.com/chromedp/chromedp"
)

// TestBrowserTrackMyOrder is a shopper on /demo who finds out an order's status and
// cost with "Track my order", after a wrong email that gets no hint.
func TestBrowserTrackMyOrder(t *testing.T) {
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	if _, err := e.db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindChat, Name: "Demo: shop chat", Config: map[string]any{"demo": true}}); err != nil {
		t.Fatal(err)
	}
	o := e.putOrder("1001", "alice@example.com", "", "shipped", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	o.TrackingURL = "http://track.example/JD0146" // not https: the widget shows no link (the store refuses javascript: outright)
	if _, err := e.db.PutOrder(crm.AsSystem(context.Background()), o); err != nil {
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
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".track")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the lookup form", `!`+q(".orders")+`.hidden && `+q(".log")+`.hidden`)

	lookup := func(number, email string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.JSPath(q("input[name=number]")), number),
			chromedp.SetValue(chromedp.JSPath(q("input[name=email]")), email),
			chromedp.Click(chromedp.JSPath(q(".lookup button"))))
		if err != nil {
			t.Fatal(err)
		}
	}
	lookup("1001", "mallory@example.com")
	waitJS(t, ctx, "no matching order", q(".omsg")+`.textContent.includes('could not find an order')`)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](shadow+`.querySelectorAll('.order').length`)); err != nil || n != 0 {
		t.Fatalf("%d orders shown after a wrong email (%v)", n, err)
	}

	lookup("1001", "alice@example.com")
	waitJS(t, ctx, "the order", q(".order .ostatus")+`.textContent === 'Shipped'`)
	waitJS(t, ctx, "the order said to screen readers", q(".sr[role=status]")+`.textContent.startsWith('Order ')`)
	card, err := chromedp.Run(ctx, chromedp.Evaluate[string](q(".order")+`.textContent`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Order 1001", "2 × Blue enamel mug", "€39.00", "Total€46.36", "Shipping€4.95", "DHL JD0146"} {
		if !strings.Contains(card, want) {
			t.Errorf("the order card %q lacks %q", card, want)
		}
	}
	if strings.Contains(card, "Secret Lane") {
		t.Errorf("the order card shows the address: %q", card)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](shadow+`.querySelectorAll('.otrack a').length`)); err != nil || n != 0 {
		t.Fatalf("an http tracking URL became %d links (%v)", n, err)
	}

	// Back to the chat.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".track")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the chat again", `!`+q(".log")+`.hidden && `+q(".orders")+`.hidden && !`+q("textarea")+`.disabled`)
}

// TestBrowserSignedInShopperSeesOrders is a shopper signed in by the shop (a valid
// identity hash on the script tag) who sees their recent orders without typing.
func TestBrowserSignedInShopperSeesOrders(t *testing.T) {
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	e.putOrder("1001", "alice@example.com", "", "delivered", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	e.putOrder("1002", "alice@example.com", "", "shipped", time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC))
	e.putOrder("1003", "mallory@example.com", "", "paid", time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC))

	// The shop's own page, on its own origin, embeds the widget for Alice.
	var inboxID int64
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><p>Welcome back, Alice</p>
<script src="%s/widget.js" data-inbox="%d" data-identity-email="alice@example.com" data-identity-hash="%s" async></script>`,
			e.srv.URL, inboxID, sign("alice@example.com"))
	}))
	defer shop.Close()
	inboxID = e.createInbox(map[string]any{"allowed_origins": []any{shop.URL}}).ID

	q := func(sel string) string { return shadow + `.querySelector('` + sel + `')` }
	if err := chromedp.Do(ctx, chromedp.Navigate(shop.URL)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the launcher", q(".launcher"))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".launcher")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the connected panel", `!`+q("textarea")+`.disabled`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".track")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "Alice's orders", shadow+`.querySelectorAll('.order').length === 2`)
	waitJS(t, ctx, "the orders said to screen readers", shadow+`.querySelector('.sr[role=status]').textContent.endsWith(': 2 orders')`)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...`+shadow+`.querySelectorAll('.order')].map(o => o.dataset.number + ' ' + o.querySelector('.ostatus').textContent).join(', ')`))
	if err != nil || got != "1002 Shipped, 1001 Delivered" {
		t.Fatalf("orders shown: %q (%v), want 1002 then 1001 and nobody else's", got, err)
	}
}
