package agentui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
	"parley/outbound"
	"parley/webhooks"
)

// TestWebhooksScreen: on the Webhooks page an admin adds a webhook for new tickets to a
// receiver, copies its secret (shown once), sees a new ticket's delivery arrive in the
// delivery log, redelivers it, disables the webhook and deletes it after confirming. The
// receiver checks every request's signature with the secret the page showed.
func TestWebhooksScreen(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		webhooks.New(webhooks.Options{Store: f.db, Bus: f.bus, Client: outbound.New(outbound.Options{AllowPrivateNetwork: true}),
			Poll: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })

	var mu sync.Mutex
	var secret string
	var got []string // "<event> <delivery> <signature ok>"
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		verdict := "bad"
		if webhooks.Verify(secret, r.Header.Get("X-Parley-Signature"), body, time.Now(), 5*time.Minute) == nil {
			verdict = "signed"
		}
		got = append(got, r.Header.Get("X-Parley-Event")+" "+r.Header.Get("X-Parley-Delivery")+" "+verdict)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()

	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/webhooks")
	b.waitText("#wh-none", "No webhooks yet")
	b.waitText(`nav.tabs a[aria-current="page"]`, "Webhooks")
	b.setValue("#wh-url", rc.URL+"/parley")
	b.click(`#wh-create input[value=some]`)
	b.click(`#wh-create input[value="ticket.created"]`)
	b.shot("webhooks-new")
	b.click("#wh-create button[type=submit]")
	b.waitText("#wh-created-h", "shown only once")
	b.waitJS("focus on the secret's heading", `() => document.activeElement === document.querySelector('#wh-created-h')`)
	mu.Lock()
	secret = b.eval(`document.querySelector('#wh-secret').value`)
	mu.Unlock()
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the page shows the secret %q", secret)
	}
	b.waitText("#wh-list", rc.URL+"/parley")
	b.waitText("#wh-list", "Gets ticket.created.")
	b.waitText("#wh-list .badge", "Enabled")

	// A new ticket: its delivery shows in the log.
	f.inbound("wh-1", "Anna", "anna@example.com", "Where is my parcel?", "It has not arrived.")
	b.click("#wh-list details.wh-deliveries summary")
	b.waitJS("a delivered ticket.created in the log", `() => [...document.querySelectorAll('#wh-list tr[data-state="delivered"]')]
		.some((tr) => tr.textContent.includes('ticket.created') && tr.textContent.includes('HTTP 204'))`)
	b.shot("webhooks-log")
	mu.Lock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "ticket.created ") || !strings.HasSuffix(got[0], " signed") {
		t.Fatalf("the receiver got %q", got)
	}
	mu.Unlock()

	// Redeliver: a second delivery of the same event, signed too.
	b.click(`#wh-list tr[data-state="delivered"] button`)
	b.waitJS("the redelivery delivered", `() => [...document.querySelectorAll('#wh-list tr[data-state="delivered"]')]
		.some((tr) => tr.textContent.includes('again of #'))`)
	mu.Lock()
	if len(got) != 2 || !strings.HasSuffix(got[1], " signed") || got[0] == got[1] {
		t.Fatalf("after redeliver the receiver got %q", got)
	}
	mu.Unlock()

	// A new secret shows once, and the next delivery is signed with it.
	b.click(`#wh-list .row button:not(.danger):not(.wh-toggle)`)
	b.waitText("#confirm-title", "Make a new secret?")
	b.click("#confirm-yes")
	b.waitJS("a new secret shown", `(old) => { const el = document.querySelector('#wh-secret'); return !!el && el.value !== old; }`, secret)
	b.waitJS("the focus on the new secret's heading", `() => document.activeElement === document.querySelector('#wh-created-h')`)
	mu.Lock()
	secret = b.eval(`document.querySelector('#wh-secret').value`)
	mu.Unlock()
	f.inbound("wh-2", "Ben", "ben@example.com", "Wrong size", "Can I swap it?")
	b.click("#wh-list details.wh-deliveries summary") // the redrawn page has the log closed
	b.waitJS("the third delivery", `() => document.querySelectorAll('#wh-list tr[data-state="delivered"]').length === 3`)
	mu.Lock()
	if len(got) != 3 || !strings.HasSuffix(got[2], " signed") {
		t.Fatalf("after the new secret the receiver got %q", got)
	}
	mu.Unlock()

	// Disable: the badge says so and the store agrees.
	b.click(`#wh-list .wh-toggle`)
	b.waitText("#wh-list .badge", "Disabled")
	b.waitJS("the focus stays on the switch", `() => document.activeElement === document.querySelector('#wh-list .wh-toggle')`)
	list, err := f.db.Webhooks(crm.AsSystem(context.Background()))
	if err != nil || len(list) != 1 || list[0].Enabled {
		t.Fatalf("webhooks after disabling: %+v, %v", list, err)
	}

	// Delete asks first.
	b.click(`#wh-list button.danger`)
	b.waitText("#confirm-title", "Delete this webhook?")
	b.shot("webhooks-delete")
	b.click("#confirm-yes")
	b.waitText("#wh-none", "No webhooks yet")
	b.waitJS("the focus on the list's heading", `() => document.activeElement === document.querySelector('#wh-h')`)
	if list, _ := f.db.Webhooks(crm.AsSystem(context.Background())); len(list) != 0 {
		t.Fatalf("webhooks after deleting: %+v", list)
	}
	b.noScriptErrors()

	// A manager has no Webhooks page: the address leads back to the inbox.
	f.agent("mia@test.example", "Mia Manager", crm.RoleManager)
	m := f.newTab(t)
	m.login("mia@test.example", "#/settings/webhooks")
	m.waitJS("the manager is sent to the inbox", `() => location.hash.startsWith('#/inbox/')`)
	m.click("#settings-link")
	m.waitText("#settings-pane nav.tabs", "Canned responses")
	if n := m.eval(`String(document.querySelectorAll('#settings-pane nav.tabs a[href="#/settings/webhooks"]').length)`); n != "0" {
		t.Fatalf("the manager sees %s Webhooks tabs", n)
	}
	m.noScriptErrors()
}
