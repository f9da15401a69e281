package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("Webhooks", testWebhooks)
	add("WebhookFanOut", testWebhookFanOut)
	add("WebhookClaims", testWebhookClaims)
	add("WebhookReplay", testWebhookReplay)
}

// mustWebhook creates an enabled webhook as the system.
func mustWebhook(tb testing.TB, db *Env, url string, events ...string) *crm.Webhook {
	tb.Helper()
	if len(events) == 0 {
		events = nil // every type
	}
	w, err := db.CreateWebhook(sys(), &crm.Webhook{URL: url, Events: events, Enabled: true})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// newTicket files a message of a new customer, which stores a customer.updated, a
// ticket.created and a message.created event.
func newTicket(tb testing.TB, db *Env, inbox int64, n int) *crm.IngestResult {
	tb.Helper()
	return MustIngest(tb, db, &crm.Inbound{InboxID: inbox, Channel: crm.ChannelAPI, ExternalID: fmt.Sprintf("wh-%d", n),
		From: email(fmt.Sprintf("shopper%d@example.com", n)), Subject: "Where is my order?", Text: "Hello"})
}

// deliveries lists every delivery of a webhook, oldest first.
func deliveries(tb testing.TB, db *Env, webhookID int64) []*crm.WebhookDelivery {
	tb.Helper()
	var all []*crm.WebhookDelivery
	p := crm.Page{Limit: 200}
	for {
		list, next, err := db.WebhookDeliveries(sys(), webhookID, p)
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, list...)
		if next == "" {
			break
		}
		p.Cursor = next
	}
	slices.Reverse(all)
	return all
}

func deliveryTypes(list []*crm.WebhookDelivery) []string {
	var out []string
	for _, d := range list {
		out = append(out, d.EventType)
	}
	return out
}

// testWebhooks checks who manages webhooks, what is valid, that the secret is made up
// when not given, shown only by the answers that set it and sealed at rest, and that a
// restart keeps them.
func testWebhooks(t *testing.T, open Opener) {
	db := open(t, Options{})
	admin := crm.WithAgent(sys(), MustCreateAgent(t, db, "admin@test.example", crm.RoleAdmin))
	manager := crm.WithAgent(sys(), MustCreateAgent(t, db, "manager@test.example", crm.RoleManager))
	agent := crm.WithAgent(sys(), MustCreateAgent(t, db, "agent@test.example", crm.RoleAgent))

	w, err := db.CreateWebhook(admin, &crm.Webhook{URL: " https://hooks.example.com/parley?x=1 ",
		Events: []string{"ticket.created", "message.created", "ticket.created"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.URL != "https://hooks.example.com/parley?x=1" || !slices.Equal(w.Events, []string{"message.created", "ticket.created"}) ||
		!w.Enabled || w.CreatedAt.IsZero() || !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) != 54 {
		t.Fatalf("created %+v", w)
	}
	// Sealed at rest: the secret's text is nowhere in the row.
	for _, row := range db.Raw(t, `SELECT secret FROM webhooks WHERE id = ?`, w.ID) {
		if b, _ := row[0].([]byte); len(b) == 0 || bytes.Contains(b, []byte(w.Secret)) || bytes.Contains(b, []byte(w.Secret[6:])) {
			t.Fatalf("secret at rest: %q", row[0])
		}
	}

	// Only admins (and the system): a webhook gets every event of every inbox.
	for _, ctx := range []context.Context{manager, agent, context.Background()} {
		_, err = db.CreateWebhook(ctx, &crm.Webhook{URL: "https://x.example"})
		wantCode(t, err, crm.EFORBIDDEN)
		_, err = db.Webhooks(ctx)
		wantCode(t, err, crm.EFORBIDDEN)
		_, err = db.UpdateWebhook(ctx, w.ID, crm.WebhookUpdate{Enabled: ptr(false)})
		wantCode(t, err, crm.EFORBIDDEN)
		wantCode(t, db.DeleteWebhook(ctx, w.ID), crm.EFORBIDDEN)
		_, _, err = db.WebhookDeliveries(ctx, w.ID, crm.Page{})
		wantCode(t, err, crm.EFORBIDDEN)
		_, err = db.ReplayWebhook(ctx, w.ID, 0)
		wantCode(t, err, crm.EFORBIDDEN)
	}

	// Bad input changes nothing.
	for _, bad := range []crm.Webhook{
		{URL: ""}, {URL: "ftp://files.example/x"}, {URL: "https://"}, {URL: "hooks.example.com/x"},
		{URL: "https://user:pw@hooks.example.com/"}, {URL: "https://hooks.example.com/#x"},
		{URL: "https://hooks.example.com/" + strings.Repeat("a", crm.MaxWebhookURL)},
		{URL: "https://h.example", Events: []string{}}, {URL: "https://h.example", Events: []string{"typing"}},
		{URL: "https://h.example", Events: []string{"agent.updated"}}, {URL: "https://h.example", Events: []string{"*", "ticket.created"}},
		{URL: "https://h.example", Secret: "short"}, {URL: "https://h.example", Secret: "has a space in it, sadly"},
	} {
		_, err := db.CreateWebhook(admin, &bad)
		wantCode(t, err, crm.EINVALID)
	}
	if list, err := db.Webhooks(admin); err != nil || len(list) != 1 || list[0].Secret != "" {
		t.Fatalf("webhooks %+v, %v", list, err)
	}

	// Every type by default; an admin's own secret.
	all, err := db.CreateWebhook(admin, &crm.Webhook{URL: "http://hooks.example.com:8080/all", Secret: "my-own-secret-of-the-shop"})
	if err != nil || !slices.Equal(all.Events, []string{"*"}) || all.Secret != "my-own-secret-of-the-shop" || all.Enabled {
		t.Fatalf("created %+v, %v", all, err)
	}

	// Changes; the secret comes back only when it changed.
	u, err := db.UpdateWebhook(admin, all.ID, crm.WebhookUpdate{Enabled: ptr(true), Events: &[]string{"order.updated"}})
	if err != nil || !u.Enabled || !slices.Equal(u.Events, []string{"order.updated"}) || u.Secret != "" || u.URL != all.URL {
		t.Fatalf("updated %+v, %v", u, err)
	}
	if u, err = db.UpdateWebhook(admin, all.ID, crm.WebhookUpdate{NewSecret: true}); err != nil ||
		!strings.HasPrefix(u.Secret, "whsec_") || u.Secret == all.Secret {
		t.Fatalf("new secret %+v, %v", u, err)
	}
	for _, bad := range []crm.WebhookUpdate{
		{URL: ptr("javascript:alert(1)")}, {Events: &[]string{}}, {Events: new([]string)}, {Secret: ptr("")},
		{Secret: ptr("x")}, {Secret: ptr("a-fine-secret-1234"), NewSecret: true},
	} {
		_, err := db.UpdateWebhook(admin, all.ID, bad)
		wantCode(t, err, crm.EINVALID)
	}
	_, err = db.UpdateWebhook(admin, all.ID+100, crm.WebhookUpdate{Enabled: ptr(false)})
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.Webhook(admin, all.ID+100)
	wantCode(t, err, crm.ENOTFOUND)

	db.Reopen(t)
	got, err := db.Webhook(admin, all.ID)
	if err != nil || got.URL != all.URL || !slices.Equal(got.Events, []string{"order.updated"}) || !got.Enabled || got.Secret != "" {
		t.Fatalf("after a restart %+v, %v", got, err)
	}
	if err := db.DeleteWebhook(admin, all.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteWebhook(admin, all.ID), crm.ENOTFOUND)
	_, _, err = db.WebhookDeliveries(admin, all.ID, crm.Page{})
	wantCode(t, err, crm.ENOTFOUND)
}

// testWebhookFanOut checks which events a webhook gets: those stored after it was
// created, of its types, while it is enabled, never inbox and agent events; and that
// the cursor is kept, so that a restart fans out nothing twice.
func testWebhookFanOut(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := MustCreateInbox(t, db, crm.KindAPI, "Shop")
	newTicket(t, db, inbox.ID, 0) // before any webhook: nobody gets it
	before, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	mark := before[len(before)-1].ID

	tickets := mustWebhook(t, db, "https://a.example/", crm.EventTicketCreated)
	every := mustWebhook(t, db, "https://b.example/")
	off, err := db.CreateWebhook(ctx, &crm.Webhook{URL: "https://c.example/"})
	if err != nil {
		t.Fatal(err)
	}
	newTicket(t, db, inbox.ID, 1)
	// Agent and inbox events are no webhook's business.
	MustCreateAgent(t, db, "new@test.example", crm.RoleAgent, inbox.ID)
	if _, err := db.SetInboxEnabled(ctx, inbox.ID, true); err != nil {
		t.Fatal(err)
	}

	n, err := db.FanOutWebhooks(ctx, 0)
	if err != nil || n < 4 {
		t.Fatalf("fan-out read %d, %v", n, err)
	}
	if n, err := db.FanOutWebhooks(ctx, 0); err != nil || n != 0 {
		t.Fatalf("second fan-out read %d, %v", n, err)
	}
	got := deliveries(t, db, tickets.ID)
	if len(got) != 1 || got[0].EventType != crm.EventTicketCreated || got[0].State != crm.WebhookPending ||
		got[0].Attempts != 0 || got[0].NextAttemptAt == nil || got[0].RedeliveryOf != nil {
		t.Fatalf("deliveries of the ticket webhook: %+v", got)
	}
	evs, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var want, internal []string
	for _, e := range evs {
		if e.ID <= mark {
			continue
		}
		if e.Type == crm.EventInboxUpdated || e.Type == crm.EventAgentUpdated {
			internal = append(internal, e.Type)
		} else {
			want = append(want, e.Type)
		}
	}
	if len(want) != 3 || len(internal) < 2 {
		t.Fatalf("events of the test: %v and %v", want, internal)
	}
	if all := deliveryTypes(deliveries(t, db, every.ID)); !slices.Equal(all, want) {
		t.Fatalf("the webhook of every type got %v, want %v", all, want)
	}
	if d := deliveries(t, db, off.ID); len(d) != 0 {
		t.Fatalf("the disabled webhook got %v", deliveryTypes(d))
	}

	// Paged fan-out: two tickets, one event at a time, then a restart in the middle.
	newTicket(t, db, inbox.ID, 2)
	newTicket(t, db, inbox.ID, 3)
	if n, err := db.FanOutWebhooks(ctx, 1); err != nil || n != 1 {
		t.Fatalf("one event: read %d, %v", n, err)
	}
	db.Reopen(t)
	for {
		n, err := db.FanOutWebhooks(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if got := deliveries(t, db, tickets.ID); len(got) != 3 || got[1].EventID >= got[2].EventID {
		t.Fatalf("after paging: %+v", got)
	}
	// Each event once per webhook.
	seen := map[int64]bool{}
	for _, d := range deliveries(t, db, every.ID) {
		if seen[d.EventID] {
			t.Fatalf("event %d delivered twice", d.EventID)
		}
		seen[d.EventID] = true
	}
	if len(seen) != 3*len(want) {
		t.Fatalf("the webhook of every type has %d deliveries, want %d", len(seen), 3*len(want))
	}
}

// testWebhookClaims checks the worker's side: claims lease due deliveries with their
// events and the secret, attempts are recorded, retries come due, a lease that runs out
// is claimed again (a worker that died), disabled webhooks wait, redeliveries are new
// deliveries, and final deliveries are pruned.
func testWebhookClaims(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := MustCreateInbox(t, db, crm.KindAPI, "Shop")
	w := mustWebhook(t, db, "https://hooks.example.com/x", crm.EventTicketCreated)
	other := mustWebhook(t, db, "https://other.example.com/x", crm.EventTicketCreated)
	for i := range 3 {
		newTicket(t, db, inbox.ID, i)
	}
	if _, err := db.FanOutWebhooks(ctx, 0); err != nil {
		t.Fatal(err)
	}
	now := db.Clock.Now()
	if due, err := db.DueWebhooks(ctx, now); err != nil || !slices.Equal(due, []int64{w.ID, other.ID}) {
		t.Fatalf("due %v, %v", due, err)
	}
	jobs, err := db.ClaimWebhookDeliveries(ctx, w.ID, now, time.Minute, 2)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claimed %d, %v", len(jobs), err)
	}
	j := jobs[0]
	if j.URL != w.URL || j.Secret != w.Secret || j.Event == nil || j.Event.ID != j.Delivery.EventID ||
		j.Event.Type != crm.EventTicketCreated || len(j.Event.Data) == 0 || j.Event.At.IsZero() ||
		jobs[1].Delivery.ID <= j.Delivery.ID {
		t.Fatalf("job %+v %+v", j, j.Event)
	}
	// Leased: the next claim gets the third only.
	again, err := db.ClaimWebhookDeliveries(ctx, w.ID, now, time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Delivery.ID == j.Delivery.ID {
		t.Fatalf("claimed again %d, %v", len(again), err)
	}
	// The first delivered, the second to be retried in ten seconds, the third refused.
	err = db.RecordWebhookAttempts(ctx, []*crm.WebhookAttempt{
		{DeliveryID: j.Delivery.ID, At: now, URL: w.URL, State: crm.WebhookDelivered, StatusCode: 204, Duration: 12 * time.Millisecond},
		{DeliveryID: jobs[1].Delivery.ID, At: now, URL: w.URL, State: crm.WebhookPending, NextAttemptAt: now.Add(10 * time.Second),
			StatusCode: 503, Response: strings.Repeat("x", 5000)},
		{DeliveryID: again[0].Delivery.ID, At: now, URL: w.URL, State: crm.WebhookFailed, StatusCode: 410, Response: "gone"},
		{DeliveryID: 999999, At: now, State: crm.WebhookDelivered}, // gone: skipped
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.RecordWebhookAttempts(ctx, []*crm.WebhookAttempt{{DeliveryID: j.Delivery.ID, State: "lost"}}), crm.EINVALID)
	log := deliveries(t, db, w.ID)
	if d := log[0]; d.State != crm.WebhookDelivered || d.Attempts != 1 || d.StatusCode != 204 || d.DurationMS != 12 ||
		d.NextAttemptAt != nil || d.LastAttemptAt == nil || d.URL != w.URL {
		t.Fatalf("delivered %+v", d)
	}
	if d := log[1]; d.State != crm.WebhookPending || d.StatusCode != 503 || len(d.Response) != crm.MaxWebhookResponse ||
		d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(now.Add(10*time.Second).Truncate(time.Millisecond)) {
		t.Fatalf("to retry %+v", d)
	}
	if d := log[2]; d.State != crm.WebhookFailed || d.Response != "gone" || d.NextAttemptAt != nil {
		t.Fatalf("failed %+v", d)
	}
	if due, _ := db.DueWebhooks(ctx, now.Add(5*time.Second)); slices.Contains(due, w.ID) {
		t.Fatalf("due before the retry: %v", due)
	}
	retry, err := db.ClaimWebhookDeliveries(ctx, w.ID, now.Add(10*time.Second), time.Minute, 10)
	if err != nil || len(retry) != 1 || retry[0].Delivery.ID != jobs[1].Delivery.ID || retry[0].Delivery.Attempts != 1 {
		t.Fatalf("retry claimed %+v, %v", retry, err)
	}
	// The worker died with it: once the lease runs out, it is claimed again.
	if l, _ := db.ClaimWebhookDeliveries(ctx, w.ID, now.Add(30*time.Second), time.Minute, 10); len(l) != 0 {
		t.Fatalf("claimed while leased: %d", len(l))
	}
	if l, _ := db.ClaimWebhookDeliveries(ctx, w.ID, now.Add(71*time.Second), time.Minute, 10); len(l) != 1 || l[0].Delivery.ID != jobs[1].Delivery.ID {
		t.Fatalf("claimed after the lease: %d", len(l))
	}
	// A worker that stops hands back what it did not attempt: due at once.
	if err := db.ReleaseWebhookDeliveries(ctx, []int64{jobs[1].Delivery.ID, j.Delivery.ID}, now.Add(72*time.Second)); err != nil {
		t.Fatal(err)
	}
	if l, _ := db.ClaimWebhookDeliveries(ctx, w.ID, now.Add(72*time.Second), time.Minute, 10); len(l) != 1 || l[0].Delivery.ID != jobs[1].Delivery.ID {
		t.Fatalf("claimed after the release: %d", len(l))
	}

	// A disabled webhook's deliveries wait.
	if _, err := db.UpdateWebhook(ctx, other.ID, crm.WebhookUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueWebhooks(ctx, now); slices.Contains(due, other.ID) {
		t.Fatalf("the disabled webhook is due: %v", due)
	}
	if l, err := db.ClaimWebhookDeliveries(ctx, other.ID, now, time.Minute, 10); err != nil || len(l) != 0 {
		t.Fatalf("claimed of the disabled webhook: %d, %v", len(l), err)
	}

	// A redelivery is a new delivery of the same event, due now.
	db.Clock.Add(time.Hour)
	re, err := db.RedeliverWebhook(ctx, w.ID, j.Delivery.ID)
	if err != nil || re.ID == j.Delivery.ID || re.EventID != j.Delivery.EventID || re.State != crm.WebhookPending ||
		re.RedeliveryOf == nil || *re.RedeliveryOf != j.Delivery.ID || re.Attempts != 0 {
		t.Fatalf("redelivery %+v, %v", re, err)
	}
	_, err = db.RedeliverWebhook(ctx, other.ID, j.Delivery.ID)
	wantCode(t, err, crm.ENOTFOUND)
	if l, _ := db.ClaimWebhookDeliveries(ctx, w.ID, db.Clock.Now(), time.Minute, 10); len(l) != 2 || l[1].Delivery.ID != re.ID {
		t.Fatalf("claims after the redelivery: %d", len(l))
	}

	// Final deliveries older than the limit go; pending ones stay.
	if n, err := db.PruneWebhookDeliveries(ctx, db.Clock.Now().Add(-30*time.Minute)); err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if got := len(deliveries(t, db, w.ID)); got != 2 {
		t.Fatalf("%d deliveries after pruning, want 2", got)
	}
	// Deleting the webhook deletes its log.
	if err := db.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if rows := db.Raw(t, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?`, w.ID); fmt.Sprint(rows[0][0]) != "0" {
		t.Fatalf("deliveries of a deleted webhook: %v", rows)
	}
}

// testWebhookReplay checks a replay from an event id: the events the webhook wants, also
// from before it existed, up to the cursor of the fan-out and no further, so that no
// event goes twice.
func testWebhookReplay(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	inbox := MustCreateInbox(t, db, crm.KindAPI, "Shop")
	old := newTicket(t, db, inbox.ID, 0)
	w := mustWebhook(t, db, "https://hooks.example.com/x", crm.EventTicketCreated)
	newTicket(t, db, inbox.ID, 1)
	if _, err := db.FanOutWebhooks(ctx, 0); err != nil {
		t.Fatal(err)
	}
	newTicket(t, db, inbox.ID, 2) // after the cursor: the fan-out's

	r, err := db.ReplayWebhook(ctx, w.ID, 0)
	if err != nil || r.Queued != 2 || r.More {
		t.Fatalf("replay %+v, %v", r, err)
	}
	log := deliveries(t, db, w.ID)
	if got := deliveryTypes(log); !slices.Equal(got, []string{"ticket.created", "ticket.created", "ticket.created"}) {
		t.Fatalf("after the replay %v", got)
	}
	ev, err := db.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var oldEvent int64
	for _, e := range ev {
		if e.Type == crm.EventTicketCreated && e.TicketID == old.TicketID {
			oldEvent = e.ID
		}
	}
	if log[1].EventID != oldEvent || log[2].EventID != log[0].EventID || r.Through < log[0].EventID {
		t.Fatalf("replayed events %d, %d after %d; through %d (the ticket before the webhook: %d)",
			log[1].EventID, log[2].EventID, log[0].EventID, r.Through, oldEvent)
	}
	if _, err := db.FanOutWebhooks(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := len(deliveries(t, db, w.ID)); got != 4 {
		t.Fatalf("%d deliveries after the fan-out, want 4", got)
	}
	// After the cursor there is nothing to replay yet.
	if r, err := db.ReplayWebhook(ctx, w.ID, r.Through+1000); err != nil || r.Queued != 0 || r.More {
		t.Fatalf("replay after the end %+v, %v", r, err)
	}
	_, err = db.ReplayWebhook(ctx, w.ID, -1)
	wantCode(t, err, crm.EINVALID)
	_, err = db.ReplayWebhook(ctx, w.ID+10, 0)
	wantCode(t, err, crm.ENOTFOUND)
}
