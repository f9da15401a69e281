package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
)

// found is what a search returned, as ids in the order of each list.
type found struct{ tickets, messages, customers []int64 }

func (f found) String() string {
	return fmt.Sprintf("tickets %v, messages %v, customers %v", f.tickets, f.messages, f.customers)
}

// searchWorld fills db with the same customers, orders, tickets and messages on either
// store and returns the ids a test expects to find.
type searchWorld struct {
	zoe, bob              int64 // customers
	cafeTicket, bobTicket int64
	russianMsg, tokyoMsg  int64
}

func fillSearchWorld(t *testing.T, db storetest.Store, clock *storetest.Clock) searchWorld {
	t.Helper()
	var w searchWorld
	inbox := storetest.MustCreateInbox(t, db, crm.KindEmail, "Mail")
	storetest.MustPutOrder(t, db, "A-1001", "zoe@bakery-example.org", clock.Now())
	clock.Add(time.Minute)
	r := storetest.MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "z1", FromName: "Zoë Ångström",
		Subject: "Café au lait spilled", Text: "Посылка не пришла. About order #A-1001.",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "zoe@bakery-example.org"}}})
	w.zoe, w.cafeTicket, w.russianMsg = r.CustomerID, r.TicketID, r.MessageID
	clock.Add(time.Minute)
	r = storetest.MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "b1", FromName: "Bob Baker",
		Subject: "Invoice for the café", Text: "Where is the invoice for the 東京都 shipment? A nai\u0308ve question.",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "bob@example.com"}}})
	w.bob, w.bobTicket, w.tokyoMsg = r.CustomerID, r.TicketID, r.MessageID
	// Zoë writes again: her ticket has the newest activity, though Bob's has the higher id.
	clock.Add(time.Minute)
	storetest.MustIngest(t, db, &crm.Inbound{InboxID: inbox.ID, ExternalID: "z2", TicketID: w.cafeTicket, Subject: "Re: Café au lait spilled",
		Text: "Any news?", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "zoe@bakery-example.org"}}})
	return w
}

func search(t *testing.T, db storetest.Store, q string) found {
	t.Helper()
	res, err := db.Search(crm.AsSystem(context.Background()), crm.SearchQuery{Q: q})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	if res.Tickets == nil || res.Messages == nil || res.Customers == nil {
		t.Fatalf("search %q returned a nil list", q)
	}
	var f found
	for _, tk := range res.Tickets {
		f.tickets = append(f.tickets, tk.ID)
	}
	for _, m := range res.Messages {
		f.messages = append(f.messages, m.ID)
	}
	for _, c := range res.Customers {
		f.customers = append(f.customers, c.ID)
	}
	return f
}

// TestSearch_WordsAsOnSQLite fills both stores alike and checks that PostgreSQL's search
// finds a name by a prefix, an email by its domain word, an accented word without its
// accent, words of other scripts and an order number, in SQLite's order, and that query
// syntax typed by a user is nothing but words on both.
func TestSearch_WordsAsOnSQLite(t *testing.T) {
	liteClock, pgClock := storetest.NewClock(), storetest.NewClock()
	pg := teststore.OpenPostgres(t, teststore.Options{Now: pgClock.Now}).Store
	lite := teststore.OpenSQLite(t, teststore.Options{Now: liteClock.Now}).Store
	w := fillSearchWorld(t, pg, pgClock)
	if lw := fillSearchWorld(t, lite, liteClock); lw != w {
		t.Fatalf("ids differ: sqlite %+v, postgres %+v", lw, w)
	}

	for _, tt := range []struct {
		q    string
		want found
	}{
		{"zo", found{tickets: []int64{w.cafeTicket}, customers: []int64{w.zoe}}},                          // a name by a prefix, and her ticket
		{"Ångs", found{tickets: []int64{w.cafeTicket}, customers: []int64{w.zoe}}},                        // with its accent
		{"angstrom", found{tickets: []int64{w.cafeTicket}, customers: []int64{w.zoe}}},                    // without it
		{"bakery", found{tickets: []int64{w.cafeTicket}, customers: []int64{w.zoe}}},                      // an email by its domain word
		{"example", found{tickets: []int64{w.cafeTicket, w.bobTicket}, customers: []int64{w.bob, w.zoe}}}, // newest customer first
		{"cafe", found{tickets: []int64{w.cafeTicket, w.bobTicket}}},                                      // by last activity, not id
		{"CAFÉ", found{tickets: []int64{w.cafeTicket, w.bobTicket}}},                                      // case and accent folded
		{"spilled caf", found{tickets: []int64{w.cafeTicket}}},                                            // every word, the last a prefix
		{"caf spilled", found{}},                            // only the last one
		{"посылка", found{messages: []int64{w.russianMsg}}}, // Cyrillic, case folded
		{"東京", found{messages: []int64{w.tokyoMsg}}},
		{"naïve", found{messages: []int64{w.tokyoMsg}}}, // indexed with a combining accent
		{"naive", found{messages: []int64{w.tokyoMsg}}},
		{"Zoe\u0308", found{tickets: []int64{w.cafeTicket}, customers: []int64{w.zoe}}}, // searched with one
		{"A-1001", found{tickets: []int64{w.cafeTicket}, messages: []int64{w.russianMsg}, customers: []int64{w.zoe}}},
		{"#A-1001", found{tickets: []int64{w.cafeTicket}, messages: []int64{w.russianMsg}, customers: []int64{w.zoe}}},
		{fmt.Sprintf("#%d", w.bobTicket), found{tickets: []int64{w.bobTicket}}}, // a ticket number
		// Query syntax of PostgreSQL and of FTS5 is plain words.
		{"spilled | nothing", found{}},
		{"spilled or nothing", found{}},
		{"spilled or nothing cafe", found{}},
		{"!spilled", found{tickets: []int64{w.cafeTicket}}},
		{"spilled & !cafe", found{tickets: []int64{w.cafeTicket}}},
		{"spilled:*", found{tickets: []int64{w.cafeTicket}}},
		{"(spilled)", found{tickets: []int64{w.cafeTicket}}},
		{`'spilled'`, found{tickets: []int64{w.cafeTicket}}},
		{`"spilled"`, found{tickets: []int64{w.cafeTicket}}},
		{`\spilled\`, found{tickets: []int64{w.cafeTicket}}},
		{`spilled -cafe`, found{tickets: []int64{w.cafeTicket}}},
		{"spilled NEAR(", found{}},
	} {
		got := search(t, pg, tt.q)
		if !slices.Equal(got.tickets, tt.want.tickets) || !slices.Equal(got.messages, tt.want.messages) ||
			!slices.Equal(got.customers, tt.want.customers) {
			t.Errorf("postgres %q found %v, want %v", tt.q, got, tt.want)
		}
		if lg := search(t, lite, tt.q); lg.String() != got.String() {
			t.Errorf("%q: sqlite found %v, postgres %v", tt.q, lg, got)
		}
	}

	// The limit keeps the newest activity.
	for name, db := range map[string]storetest.Store{"sqlite": lite, "postgres": pg} {
		res, err := db.Search(crm.AsSystem(context.Background()), crm.SearchQuery{Q: "cafe", Limit: 1})
		if err != nil || len(res.Tickets) != 1 || res.Tickets[0].ID != w.cafeTicket {
			t.Errorf("%s: cafe with limit 1 found %+v, %v", name, res, err)
		}
	}

	hostile := []string{`'`, `''`, `"`, `\`, `\\'`, `&`, `|`, `!`, `:*`, `(`, `)`, `()`, `a & | b`, `!(a | b)`,
		`a:* & b:*`, `'a':*`, `a <-> b`, `a <2> b`, `E'\\x'`, `$1`, `?`, `%`, `_`, `'; DROP TABLE tickets; --`,
		`\x00`, "\x00", "\u0301", "a\u0301 \u0301b", "\xff\xfe", "💥"}
	ctx := crm.AsSystem(context.Background())
	for _, q := range hostile {
		for name, db := range map[string]storetest.Store{"sqlite": lite, "postgres": pg} {
			if _, err := db.Search(ctx, crm.SearchQuery{Q: q}); err != nil {
				t.Errorf("%s: search %q: %v", name, q, err)
			}
			if _, _, err := db.Tickets(ctx, crm.TicketFilter{Query: q}); err != nil {
				t.Errorf("%s: tickets %q: %v", name, q, err)
			}
			if _, _, err := db.Customers(ctx, q, crm.Page{}); err != nil {
				t.Errorf("%s: customers %q: %v", name, q, err)
			}
		}
	}
	if got := search(t, pg, "cafe"); len(got.tickets) != 2 {
		t.Fatalf("after the hostile queries, cafe found %v", got)
	}
}
