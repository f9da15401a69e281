package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("MergeUnmergeCustomers", testMergeUnmergeCustomers)
	add("UpdateCustomer", testUpdateCustomer)
	add("Orders", testOrders)
}

func identities(c *crm.Customer) []string {
	var s []string
	for _, i := range c.Identities {
		s = append(s, i.Kind+":"+i.Address)
	}
	slices.Sort(s)
	return s
}

// MustPutOrder stores a paid order of a jacket for email, placed at placed.
func MustPutOrder(tb testing.TB, db Store, number, email string, placed time.Time) *crm.Order {
	tb.Helper()
	o, err := db.PutOrder(crm.AsSystem(context.Background()), &crm.Order{Number: number, Email: email, Status: "paid", Currency: "EUR",
		Total: 4990, Subtotal: 4990, Items: []crm.OrderItem{{SKU: "J1", Name: "Jacket", Quantity: 1, UnitPrice: 4990}},
		PlacedAt: placed})
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

func testMergeUnmergeCustomers(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	a := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", FromName: "Alice", Text: "x", From: email("alice@example.com")})
	b := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "2", FromName: "Alice W", Text: "y",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@work.example"}, {Kind: crm.IdentityPhone, Address: "+15550001111"}}})
	MustPutOrder(t, db, "1001", "alice@work.example", db.Clock.Now())
	MustPutOrder(t, db, "1002", "alice@example.com", db.Clock.Now())

	_, err := db.MergeCustomers(ctx, a.CustomerID, a.CustomerID)
	wantCode(t, err, crm.EINVALID)
	_, err = db.MergeCustomers(ctx, a.CustomerID, 999)
	wantCode(t, err, crm.ENOTFOUND)

	ev, err := db.MergeCustomers(ctx, b.CustomerID, a.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		From, Into   int64
		Identities   []crm.Identity
		TicketIDs    []int64  `json:"ticket_ids"`
		OrderNumbers []string `json:"order_numbers"`
	}
	if err := json.Unmarshal(ev.Data, &rec); err != nil {
		t.Fatal(err)
	}
	if ev.Type != crm.EventCustomerMerged || rec.From != b.CustomerID || rec.Into != a.CustomerID || len(rec.Identities) != 2 ||
		!slices.Equal(rec.TicketIDs, []int64{b.TicketID}) || !slices.Equal(rec.OrderNumbers, []string{"1001"}) {
		t.Fatalf("merge event %s", ev.Data)
	}
	into, _ := db.Customer(ctx, a.CustomerID)
	want := []string{"email:alice@example.com", "email:alice@work.example", "phone:+15550001111"}
	if got := identities(into); !slices.Equal(got, want) {
		t.Fatalf("identities after merge = %v, want %v", got, want)
	}
	from, err := db.Customer(ctx, b.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if from.MergedInto != a.CustomerID || len(from.Identities) != 0 {
		t.Fatalf("merged customer = %+v", from)
	}
	if tk := MustTicket(t, db, b.TicketID); tk.CustomerID != a.CustomerID {
		t.Fatal("ticket did not move")
	}
	if o, _ := db.Order(ctx, "1001"); o.CustomerID != a.CustomerID {
		t.Fatal("order did not move")
	}
	list, _, _ := db.Customers(ctx, "", crm.Page{})
	if len(list) != 1 {
		t.Fatalf("customers list has %d entries, want the merged one hidden", len(list))
	}
	// A new message from a moved identity finds the surviving customer.
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "3", Text: "z", From: email("alice@work.example")})
	if r.CustomerID != a.CustomerID {
		t.Fatalf("customer = %d, want %d", r.CustomerID, a.CustomerID)
	}
	_, err = db.MergeCustomers(ctx, b.CustomerID, a.CustomerID)
	wantCode(t, err, crm.EINVALID)

	back, err := db.UnmergeCustomers(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != b.CustomerID || back.MergedInto != 0 || !slices.Equal(identities(back), []string{"email:alice@work.example", "phone:+15550001111"}) {
		t.Fatalf("unmerged customer = %+v", back)
	}
	if into, _ = db.Customer(ctx, a.CustomerID); !slices.Equal(identities(into), []string{"email:alice@example.com"}) {
		t.Fatalf("into after unmerge = %v", identities(into))
	}
	if tk := MustTicket(t, db, b.TicketID); tk.CustomerID != b.CustomerID {
		t.Fatal("ticket did not move back")
	}
	if tk := MustTicket(t, db, r.TicketID); tk.CustomerID != a.CustomerID {
		t.Fatal("a ticket opened after the merge moved")
	}
	if o, _ := db.Order(ctx, "1001"); o.CustomerID != b.CustomerID {
		t.Fatal("order did not move back")
	}
	if o, _ := db.Order(ctx, "1002"); o.CustomerID != a.CustomerID {
		t.Fatal("order of into moved")
	}
	_, err = db.UnmergeCustomers(ctx, ev.ID)
	wantCode(t, err, crm.ECONFLICT)
	_, err = db.UnmergeCustomers(ctx, 1)
	wantCode(t, err, crm.ENOTFOUND)
	// Search finds the identities where they are now.
	res, err := db.Search(ctx, crm.SearchQuery{Q: "work"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Customers) != 1 || res.Customers[0].ID != b.CustomerID {
		t.Fatalf("search customers = %v", res.Customers)
	}
}

func testUpdateCustomer(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	a := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", Text: "x", From: email("a@example.com")})
	b := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "2", Text: "x", From: email("b@example.com")})
	for _, tt := range []struct {
		name string
		u    crm.CustomerUpdate
		code string
	}{
		{"long name", crm.CustomerUpdate{Name: ptr(strings.Repeat("x", 201))}, crm.EINVALID},
		{"long notes", crm.CustomerUpdate{Notes: ptr(strings.Repeat("x", 10001))}, crm.EINVALID},
		{"bad identity", crm.CustomerUpdate{AddIdentities: email("nope")}, crm.EINVALID},
		{"identity of another", crm.CustomerUpdate{AddIdentities: email("b@example.com")}, crm.ECONFLICT},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.UpdateCustomer(ctx, a.CustomerID, tt.u)
			wantCode(t, err, tt.code)
		})
	}
	c, err := db.UpdateCustomer(ctx, a.CustomerID, crm.CustomerUpdate{Name: ptr("Zoë Adams"), Notes: ptr("VIP"),
		AddIdentities: []crm.Identity{{Kind: crm.IdentityShop, Address: "shop-42"}}, RemoveIdentities: email("a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Zoë Adams" || c.Notes != "VIP" || !slices.Equal(identities(c), []string{"shop:shop-42"}) {
		t.Fatalf("customer = %+v", c)
	}
	for _, q := range []string{"zoe", "Zo", "adams", "shop"} {
		list, _, err := db.Customers(ctx, q, crm.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != a.CustomerID {
			t.Fatalf("customers %q = %v", q, list)
		}
	}
	list, next, err := db.Customers(ctx, "", crm.Page{Limit: 1})
	if err != nil || len(list) != 1 || list[0].ID != b.CustomerID || next == "" {
		t.Fatalf("page 1 = %v %q %v", list, next, err)
	}
	if list, next, _ = db.Customers(ctx, "", crm.Page{Limit: 1, Cursor: next}); len(list) != 1 || list[0].ID != a.CustomerID || next != "" {
		t.Fatalf("page 2 = %v next %q", list, next)
	}
}

func testOrders(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	inbox := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	day := db.Clock.Now()
	r := MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "1", Text: "x", From: email("a@example.com")})
	o := MustPutOrder(t, db, "A-1", "A@Example.com", day.Add(-48*time.Hour))
	if o.CustomerID != r.CustomerID || o.Email != "a@example.com" || len(o.Items) != 1 {
		t.Fatalf("order = %+v", o)
	}
	MustPutOrder(t, db, "A-2", "a@example.com", day.Add(-24*time.Hour))
	n := MustPutOrder(t, db, "B-1", "new@example.com", day)
	if n.CustomerID == 0 || n.CustomerID == r.CustomerID {
		t.Fatalf("order of a new email got customer %d", n.CustomerID)
	}
	// Upsert by number.
	o.Status, o.TrackingNumber = "shipped", "1Z999"
	if o, err := db.PutOrder(ctx, o); err != nil || o.Status != "shipped" || o.TrackingNumber != "1Z999" {
		t.Fatalf("upsert = %+v %v", o, err)
	}
	list, _, err := db.Orders(ctx, crm.OrderFilter{Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Number != "A-2" || list[1].Number != "A-1" {
		t.Fatalf("orders = %v", list)
	}
	if list, _, _ = db.Orders(ctx, crm.OrderFilter{Page: crm.Page{Limit: 2}}); len(list) != 2 || list[0].Number != "B-1" {
		t.Fatalf("all orders = %v", list)
	}
	_, err = db.Order(ctx, "nope")
	wantCode(t, err, crm.ENOTFOUND)
	good := func(f func(o *crm.Order)) *crm.Order {
		o := &crm.Order{Number: "X1", Status: "paid", Currency: "USD", PlacedAt: day}
		f(o)
		return o
	}
	for _, tt := range []struct {
		name string
		o    *crm.Order
	}{
		{"nil", nil},
		{"empty number", good(func(o *crm.Order) { o.Number = "" })},
		{"bad number", good(func(o *crm.Order) { o.Number = "1 2" })},
		{"long number", good(func(o *crm.Order) { o.Number = strings.Repeat("1", 65) })},
		{"bad status", good(func(o *crm.Order) { o.Status = "lost" })},
		{"bad currency", good(func(o *crm.Order) { o.Currency = "usd" })},
		{"negative total", good(func(o *crm.Order) { o.Total = -1 })},
		{"zero quantity", good(func(o *crm.Order) { o.Items = []crm.OrderItem{{Name: "x", Quantity: 0}} })},
		{"no placed_at", good(func(o *crm.Order) { o.PlacedAt = time.Time{} })},
		{"bad phone", good(func(o *crm.Order) { o.Phone = "12" })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.PutOrder(ctx, tt.o)
			wantCode(t, err, crm.EINVALID)
		})
	}

	// The timeline holds the ticket, its message and the orders, newest first, page by page.
	var kinds []string
	cursor := ""
	for {
		items, next, err := db.Timeline(ctx, r.CustomerID, crm.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			kinds = append(kinds, it.Kind)
			if (it.Kind == "ticket") != (it.Ticket != nil) || (it.Kind == "order") != (it.Order != nil) ||
				(it.Kind == "message") != (it.Message != nil) {
				t.Fatalf("item %+v", it)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"ticket", "message", "order", "order"}; !slices.Equal(kinds, want) {
		t.Fatalf("timeline = %v, want %v", kinds, want)
	}
}
