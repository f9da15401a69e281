package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("OrderSources", testOrderSources)
	add("RecordWebhook", testRecordWebhook)
	add("OrderActions", testOrderActions)
	add("OrderMentions", testOrderMentions)
}

func testOrderSources(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())

	src, err := db.CreateOrderSource(ctx, &crm.OrderSource{Kind: crm.OrderSourceShopify, Name: " Main shop ",
		Config:  map[string]any{"shop_domain": "x.myshopify.com", "access_token": "shpat_in_config"},
		Secrets: map[string]string{"webhook_secret": "whsec-0123456789abcdef"}})
	if err != nil {
		t.Fatal(err)
	}
	if src.Name != "Main shop" || src.Config["shop_domain"] != "x.myshopify.com" {
		t.Fatalf("source = %+v", src)
	}
	if _, ok := src.Config["access_token"]; ok || src.Secrets["access_token"] != "shpat_in_config" {
		t.Fatalf("a token in the config must move to the secrets: config %v", src.Config)
	}

	// Secrets are sealed on disk: neither appears in the file.
	row := db.Raw(t, `SELECT config, secrets FROM order_sources WHERE id = ?`, src.ID)[0]
	config, sealed := fmt.Sprint(row[0]), row[1].([]byte)
	for _, s := range []string{"shpat_in_config", "whsec-0123456789abcdef"} {
		if bytes.Contains(sealed, []byte(s)) || strings.Contains(config, s) {
			t.Fatalf("secret %q stored in clear", s)
		}
	}

	// An update without secrets keeps them; a new one replaces only itself.
	up, err := db.UpdateOrderSource(ctx, &crm.OrderSource{ID: src.ID, Name: "Renamed",
		Config:  map[string]any{"shop_domain": "y.myshopify.com"},
		Secrets: map[string]string{"access_token": "shpat_new", "webhook_secret": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "Renamed" || up.Config["shop_domain"] != "y.myshopify.com" ||
		up.Secrets["access_token"] != "shpat_new" || up.Secrets["webhook_secret"] != "whsec-0123456789abcdef" {
		t.Fatalf("updated = %+v secrets %v", up, up.Secrets)
	}
	if _, err := db.UpdateOrderSource(ctx, &crm.OrderSource{ID: src.ID, Kind: crm.OrderSourceWebhook}); crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("kind change: %v", err)
	}
	_, err = db.UpdateOrderSource(ctx, &crm.OrderSource{ID: 999, Name: "x"})
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.CreateOrderSource(ctx, &crm.OrderSource{Kind: "woo", Name: "x"})
	wantCode(t, err, crm.EINVALID)
	_, err = db.CreateOrderSource(ctx, &crm.OrderSource{Kind: crm.OrderSourceWebhook, Name: "  "})
	wantCode(t, err, crm.EINVALID)

	list, err := db.OrderSources(ctx)
	if err != nil || len(list) != 1 || list[0].Secrets["access_token"] != "shpat_new" {
		t.Fatalf("OrderSources = %v, %v", list, err)
	}

	// An order of a source carries its id; an unknown source is invalid, not a 500.
	o, err := db.PutOrder(ctx, &crm.Order{Number: "1001", Email: "a@x.example", Status: "paid", Currency: "USD",
		Total: 100, PlacedAt: time.Now(), SourceID: src.ID, ExternalID: "450789469",
		Items: []crm.OrderItem{{SKU: "S", Name: "Sock", Quantity: 1, UnitPrice: 100, LineItemID: "466157049"}}})
	if err != nil {
		t.Fatal(err)
	}
	if o.SourceID != src.ID || o.ExternalID != "450789469" || o.Items[0].LineItemID != "466157049" {
		t.Fatalf("order = %+v", o)
	}
	_, err = db.PutOrder(ctx, &crm.Order{Number: "1002", Status: "paid", Currency: "USD", PlacedAt: time.Now(), SourceID: 77})
	wantCode(t, err, crm.EINVALID)
	_, err = db.PutOrder(ctx, &crm.Order{Number: "1003", Status: "paid", Currency: "ZZZ", PlacedAt: time.Now()})
	wantCode(t, err, crm.EINVALID)
}

func testRecordWebhook(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	src, err := db.CreateOrderSource(ctx, &crm.OrderSource{Kind: crm.OrderSourceWebhook, Name: "Shop",
		Secrets: map[string]string{"secret": "0123456789abcdef"}})
	if err != nil {
		t.Fatal(err)
	}
	if seen, err := db.WebhookSeen(ctx, src.ID, "w-1"); err != nil || seen {
		t.Fatalf("seen before recording: %v %v", seen, err)
	}
	if fresh, err := db.RecordWebhook(ctx, src.ID, "w-1"); err != nil || !fresh {
		t.Fatalf("first record: %v %v", fresh, err)
	}
	if fresh, err := db.RecordWebhook(ctx, src.ID, "w-1"); err != nil || fresh {
		t.Fatalf("second record: %v %v", fresh, err)
	}
	if seen, _ := db.WebhookSeen(ctx, src.ID, "w-1"); !seen {
		t.Fatal("recorded id not seen")
	}
	// Ids are forgotten after a week.
	db.Clock.Add(8 * 24 * time.Hour)
	if _, err := db.RecordWebhook(ctx, src.ID, "w-2"); err != nil {
		t.Fatal(err)
	}
	if seen, _ := db.WebhookSeen(ctx, src.ID, "w-1"); seen {
		t.Fatal("a week-old id is still remembered")
	}
	_, err = db.RecordWebhook(ctx, src.ID, "")
	wantCode(t, err, crm.EINVALID)
}

func testOrderActions(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	res := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "m1", From: email("alice@x.example"), Text: "Refund please"})
	MustPutOrder(t, db, "1001", "alice@x.example", time.Now())
	agent := MustCreateAgent(t, db, "dana@shop.example", crm.RoleAgent, inbox.ID)
	actx := crm.WithAgent(ctx, agent)
	sub := db.Bus.Subscribe(16)
	defer sub.Close()

	// Concurrent starts with one key: exactly one is created.
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	var first *crm.OrderAction
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, ok, err := db.StartOrderAction(actx, &crm.OrderAction{OrderNumber: "1001", TicketID: res.TicketID,
				Kind: crm.ActionRefund, IdempotencyKey: "key-0001-abcd", Amount: 4990, Currency: "EUR"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				created++
				first = a
			}
		}()
	}
	wg.Wait()
	if created != 1 || first.Status != crm.ActionPending || first.Actor != (crm.Actor{Kind: "agent", ID: agent.ID}) {
		t.Fatalf("created %d, first %+v", created, first)
	}

	first.Status, first.Result = crm.ActionOK, json.RawMessage(`{"refund_id":42}`)
	done, err := db.FinishOrderAction(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != crm.ActionOK || string(done.Result) != `{"refund_id":42}` || done.TicketID != res.TicketID {
		t.Fatalf("done = %+v", done)
	}
	_, err = db.FinishOrderAction(ctx, first)
	wantCode(t, err, crm.ECONFLICT)

	// The action is an event on the ticket, by the agent who started it.
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Type != crm.EventOrderAction {
				continue
			}
			if e.TicketID != res.TicketID || e.InboxID != inbox.ID || e.Actor.ID != agent.ID {
				t.Fatalf("event = %+v", e)
			}
			var a crm.OrderAction
			if err := json.Unmarshal(e.Data, &a); err != nil || a.ID != done.ID || a.Kind != crm.ActionRefund {
				t.Fatalf("event data %s: %v", e.Data, err)
			}
			goto listed
		case <-deadline:
			t.Fatal("no order.action event")
		}
	}
listed:
	list, err := db.OrderActions(actx, "1001")
	if err != nil || len(list) != 1 || list[0].ID != done.ID {
		t.Fatalf("OrderActions = %v, %v", list, err)
	}
	// Another inbox's agent sees no actions of an order it may not see.
	other := MustCreateInbox(t, db, crm.KindAPI, "Other")
	stranger := MustCreateAgent(t, db, "eve@shop.example", crm.RoleAgent, other.ID)
	if list, err := db.OrderActions(crm.WithAgent(ctx, stranger), "1001"); err != nil || len(list) != 0 {
		t.Fatalf("stranger sees %v, %v", list, err)
	}

	for _, bad := range []*crm.OrderAction{
		{OrderNumber: "1001", Kind: "explode", IdempotencyKey: "key-0002-abcd"},
		{OrderNumber: "1001", Kind: crm.ActionCancel, IdempotencyKey: "short"},
		{OrderNumber: "bad number!", Kind: crm.ActionCancel, IdempotencyKey: "key-0003-abcd"},
	} {
		_, _, err := db.StartOrderAction(ctx, bad)
		wantCode(t, err, crm.EINVALID)
	}
}

func testOrderMentions(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindAPI, "API")
	MustPutOrder(t, db, "1001", "alice@x.example", time.Now())
	MustPutOrder(t, db, "#2002", "alice@x.example", time.Now()) // a shop that keeps the "#"
	MustPutOrder(t, db, "3003", "bob@x.example", time.Now())

	alice := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "a1", From: email("alice@x.example"),
		Subject: "Where is it?", Text: "Hi, my order 1001 and #2002 have not arrived. Also order #3003."})
	bob := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "b1", From: email("bob@x.example"),
		Subject: "Hello", Text: "Can you tell me about #1001?"})

	tests := []struct {
		q    string
		want []int64
	}{
		{"1001", []int64{alice.TicketID}}, // Bob named it but it is not his
		{"#1001", []int64{alice.TicketID}},
		{"2002", []int64{alice.TicketID}},
		{"3003", nil}, // Alice named Bob's order: not linked
	}
	for _, tt := range tests {
		res, err := db.Search(ctx, crm.SearchQuery{Q: tt.q, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, tk := range res.Tickets {
			if tk.ID == alice.TicketID || tk.ID == bob.TicketID {
				got = append(got, tk.ID)
			}
		}
		if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("search %q tickets = %v, want %v", tt.q, got, tt.want)
		}
	}

	// The customer is found by an order number, and the ticket list's q finds the ticket.
	res, err := db.Search(ctx, crm.SearchQuery{Q: "3003", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Customers) != 1 || res.Customers[0].ID != bob.CustomerID {
		t.Fatalf("search 3003 customers = %v, want bob %d", res.Customers, bob.CustomerID)
	}
	list, _, err := db.Tickets(ctx, crm.TicketFilter{Query: "2002"})
	if err != nil || len(list) != 1 || list[0].ID != alice.TicketID {
		t.Fatalf("ticket list q=2002: %v, %v", list, err)
	}

	// An agent of another inbox finds nothing through an order number.
	other := MustCreateInbox(t, db, crm.KindAPI, "Other")
	stranger := MustCreateAgent(t, db, "eve@shop.example", crm.RoleAgent, other.ID)
	res, err = db.Search(crm.WithAgent(ctx, stranger), crm.SearchQuery{Q: "2002", Limit: 20})
	if err != nil || len(res.Tickets)+len(res.Customers) != 0 {
		t.Fatalf("stranger finds %+v, %v", res, err)
	}
}
