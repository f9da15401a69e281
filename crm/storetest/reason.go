package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("ReasonsDefaults", testReasonsDefaults)
	add("ReasonsCreateUpdate", testReasonsCreateUpdate)
	add("ReasonsSettings", testReasonsSettings)
	add("ReasonsOnTickets", testReasonsOnTickets)
	add("ReasonsExamples", testReasonsExamples)
	add("ReasonsSeedFromTags", testReasonsSeedFromTags)
	add("ReasonsModels", testReasonsModels)
	add("ReasonsSuggestReplies", testReasonsSuggestReplies)
	add("ReasonsHandleTime", testReasonsHandleTime)
	add("ReasonsSelfServiceAndOrders", testReasonsSelfServiceAndOrders)
	add("ReasonsCursor", testReasonsCursor)
}

// defaultReasons are the slugs and names of a new shop's reasons, in order.
var defaultReasons = [][2]string{
	{"where_is_my_order", "Where is my order"}, {"return_exchange", "Return or exchange"},
	{"refund_status", "Refund status"}, {"damaged_wrong_item", "Damaged or wrong item"},
	{"cancel_order", "Cancel order"}, {"change_order", "Change address or order"},
	{"payment_problem", "Payment problem"}, {"product_question", "Product question"},
	{"discount_promotion", "Discount or promotion"}, {"account_login", "Account or login"},
	{"shipping_cost_time", "Shipping cost or time"}, {"complaint", "Complaint"}, {"other", "Other"},
}

// reasonIDs returns the ids of the store's reasons by slug.
func reasonIDs(tb testing.TB, db Store) map[string]int64 {
	tb.Helper()
	list, err := db.Reasons(sys())
	if err != nil {
		tb.Fatal(err)
	}
	ids := map[string]int64{}
	for _, r := range list {
		ids[r.Slug] = r.ID
	}
	return ids
}

// reasonOf is a ticket's reason id, 0 without one.
func reasonOf(t *crm.Ticket) int64 {
	if t.ReasonID == nil {
		return 0
	}
	return *t.ReasonID
}

// testReasonsDefaults: a new shop has the default e-commerce reasons, in order, none
// archived and none with tags.
func testReasonsDefaults(t *testing.T, open Opener) {
	db := open(t, Options{})
	list, err := db.Reasons(sys())
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for i, r := range list {
		got = append(got, [2]string{r.Slug, r.Name})
		if r.Archived || len(r.Tags) != 0 || r.Position != i+1 || r.ID == 0 {
			t.Errorf("default reason %+v: want position %d, not archived, no tags", r, i+1)
		}
	}
	if !slices.Equal(got, defaultReasons) {
		t.Errorf("default reasons = %v\nwant %v", got, defaultReasons)
	}
}

// testReasonsCreateUpdate: managers add, rename, reorder, map tags to and archive
// reasons; slugs and tags are unique, bad input is refused and changes nothing.
func testReasonsCreateUpdate(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	r, err := db.CreateReason(ctx, crm.ReasonInput{Name: ptr("  Gift cards & vouchers "), Tags: &[]string{" Gift ", "voucher", "gift"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Slug != "gift_cards_vouchers" || r.Name != "Gift cards & vouchers" || r.Position != 14 || r.Archived ||
		!slices.Equal(r.Tags, []string{"gift", "voucher"}) {
		t.Errorf("created reason %+v: want slug gift_cards_vouchers, trimmed name, position 14, tags gift and voucher", r)
	}
	accent, err := db.CreateReason(ctx, crm.ReasonInput{Name: ptr("Größe ändern"), Position: ptr(3)})
	if err != nil || accent.Slug != "grosse_andern" || accent.Position != 3 {
		t.Errorf("reason named with accents: %+v, %v; want slug grosse_andern at position 3", accent, err)
	}

	for _, c := range []struct {
		name string
		in   crm.ReasonInput
		code string
	}{
		{"no name", crm.ReasonInput{Slug: ptr("x")}, crm.EINVALID},
		{"blank name", crm.ReasonInput{Name: ptr("   ")}, crm.EINVALID},
		{"long name", crm.ReasonInput{Name: ptr(strings.Repeat("n", crm.MaxReasonName+1))}, crm.EINVALID},
		{"bad slug", crm.ReasonInput{Name: ptr("Bad"), Slug: ptr("Bad Slug!")}, crm.EINVALID},
		{"long slug", crm.ReasonInput{Name: ptr("Long"), Slug: ptr(strings.Repeat("s", 41))}, crm.EINVALID},
		{"negative position", crm.ReasonInput{Name: ptr("Neg"), Position: ptr(-1)}, crm.EINVALID},
		{"empty tag", crm.ReasonInput{Name: ptr("Tagged"), Tags: &[]string{" "}}, crm.EINVALID},
		{"too many tags", crm.ReasonInput{Name: ptr("Tagged"), Tags: ptr(manyTags(crm.MaxReasonTags + 1))}, crm.EINVALID},
		{"slug taken", crm.ReasonInput{Name: ptr("Other things"), Slug: ptr("other")}, crm.ECONFLICT},
		{"slug from a taken name", crm.ReasonInput{Name: ptr("Complaint")}, crm.ECONFLICT},
		{"tag taken", crm.ReasonInput{Name: ptr("Presents"), Tags: &[]string{"present", "GIFT"}}, crm.ECONFLICT},
	} {
		_, err := db.CreateReason(ctx, c.in)
		if crm.ErrorCode(err) != c.code {
			t.Errorf("create %s: %v, want %s", c.name, err, c.code)
		}
	}
	if list, _ := db.Reasons(ctx); len(list) != 15 {
		t.Errorf("after refused creates there are %d reasons, want 15", len(list))
	}

	up, err := db.UpdateReason(ctx, r.ID, crm.ReasonInput{Name: ptr("Gift cards"), Slug: ptr("gift_cards"), Position: ptr(0),
		Tags: &[]string{"giftcard"}})
	if err != nil || up.Name != "Gift cards" || up.Slug != "gift_cards" || up.Position != 0 || !slices.Equal(up.Tags, []string{"giftcard"}) {
		t.Errorf("updated reason %+v, %v", up, err)
	}
	// The tag it gave up is free for another reason.
	if _, err := db.CreateReason(ctx, crm.ReasonInput{Name: ptr("Presents"), Tags: &[]string{"gift"}}); err != nil {
		t.Errorf("a tag given up by another reason: %v", err)
	}
	if _, err := db.UpdateReason(ctx, r.ID, crm.ReasonInput{Tags: &[]string{"gift"}}); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Errorf("update to another reason's tag: %v, want conflict", err)
	}
	if _, err := db.UpdateReason(ctx, r.ID, crm.ReasonInput{Slug: ptr("complaint")}); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Errorf("update to another reason's slug: %v, want conflict", err)
	}
	if _, err := db.UpdateReason(ctx, r.ID, crm.ReasonInput{Name: ptr("")}); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("update to an empty name: %v, want invalid", err)
	}
	if _, err := db.UpdateReason(ctx, 9999, crm.ReasonInput{Name: ptr("Nothing")}); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("update of an unknown reason: %v, want not_found", err)
	}
	arch, err := db.UpdateReason(ctx, r.ID, crm.ReasonInput{Archived: ptr(true)})
	if err != nil || !arch.Archived || arch.Name != "Gift cards" || !slices.Equal(arch.Tags, []string{"giftcard"}) {
		t.Errorf("archived reason %+v, %v: want archived, the rest as it was", arch, err)
	}

	list, err := db.Reasons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, x := range list {
		order = append(order, x.Slug)
	}
	if len(order) != 16 || order[0] != "gift_cards" || order[1] != "where_is_my_order" {
		t.Errorf("reasons by position: %v; want the archived gift_cards first, then the rest", order)
	}

	// An archived reason is no longer offered: a ticket cannot get it.
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	res := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "a1", Subject: "Voucher", Text: "My voucher code fails",
		From: email("ann@example.com")})
	if _, err := db.UpdateTicket(ctx, res.TicketID, crm.TicketUpdate{ReasonID: &r.ID}); crm.ErrorCode(err) != crm.EINVALID ||
		!strings.Contains(crm.ErrorMessage(err), fmt.Sprintf("unknown contact reason %d", r.ID)) {
		t.Errorf("set an archived reason: %v, want invalid: unknown contact reason %d", err, r.ID)
	}
}

func manyTags(n int) []string {
	var tags []string
	for i := range n {
		tags = append(tags, fmt.Sprintf("tag%d", i))
	}
	return tags
}

// testReasonsSettings: the settings have defaults until saved, and bad ones are refused.
func testReasonsSettings(t *testing.T, open Opener) {
	db := open(t, Options{})
	s, err := db.ReasonSettings(sys())
	if err != nil || *s != crm.DefaultReasonSettings() {
		t.Fatalf("default reason settings %+v, %v; want %+v", s, err, crm.DefaultReasonSettings())
	}
	want := crm.ReasonSettings{Threshold: 0.75, RequireOnResolve: true, HourlyCost: 3200, Currency: "EUR", Deflection: false}
	if err := db.SetReasonSettings(sys(), &want); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []crm.ReasonSettings{
		{Threshold: 1.5, Currency: "EUR"}, {Threshold: -0.1, Currency: "EUR"}, {Threshold: 0.5, HourlyCost: -1, Currency: "EUR"},
		{Threshold: 0.5, Currency: "eur"}, {Threshold: 0.5, Currency: "EURO"}, {Threshold: 0.5},
	} {
		if err := db.SetReasonSettings(sys(), &bad); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("settings %+v: %v, want invalid", bad, err)
		}
	}
	if err := db.SetReasonSettings(sys(), nil); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("no settings: %v, want invalid", err)
	}
	if s, err := db.ReasonSettings(sys()); err != nil || *s != want {
		t.Errorf("saved reason settings %+v, %v; want %+v", s, err, want)
	}
}

// testReasonsOnTickets: an agent sets and corrects a ticket's reason, which the
// ticket.updated event and the history show; the classifier's guess applies a reason
// with its confidence or only suggests, and never overrides an agent.
func testReasonsOnTickets(t *testing.T, open Opener) {
	db := open(t, Options{})
	ids := reasonIDs(t, db)
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	ann := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent, in.ID)
	asAnn := crm.WithAgent(sys(), ann)
	ticket := func(ext, text string) int64 {
		return MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: ext, ThreadKey: ext, Subject: "Help",
			Text: text, From: email(ext + "@example.com")}).TicketID
	}
	wismo, refund := ids["where_is_my_order"], ids["refund_status"]

	a := ticket("a", "Where is my parcel?")
	if tk := MustTicket(t, db, a); tk.ReasonID != nil || tk.ReasonSource != "" {
		t.Fatalf("a new ticket has reason %v (%q)", tk.ReasonID, tk.ReasonSource)
	}
	tk, err := db.UpdateTicket(asAnn, a, crm.TicketUpdate{ReasonID: &wismo})
	if err != nil || reasonOf(tk) != wismo || tk.ReasonSource != crm.ReasonByAgent || tk.ReasonConfidence != nil {
		t.Fatalf("agent sets the reason: %+v, %v", tk, err)
	}
	if got := MustTicket(t, db, a); reasonOf(got) != wismo || got.ReasonSource != crm.ReasonByAgent {
		t.Errorf("read back: reason %v (%q)", got.ReasonID, got.ReasonSource)
	}
	evs, err := db.Events(sys(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != crm.EventTicketUpdated || last.TicketID != a || last.Actor.Kind != "agent" || last.Actor.ID != ann.ID ||
		!strings.Contains(string(last.Data), fmt.Sprintf(`"reason_id":%d`, wismo)) {
		t.Errorf("the last event %s by %+v: %s; want ticket.updated by Ann with the reason", last.Type, last.Actor, last.Data)
	}
	hist, err := db.TicketHistory(sys(), a)
	if err != nil {
		t.Fatal(err)
	}
	if c := hist[len(hist)-1].Changes["reason_id"]; fmt.Sprintf("%s %s", c[0], c[1]) != fmt.Sprintf("null %d", wismo) {
		t.Errorf("history of the change: reason_id %s; want from null to %d", c, wismo)
	}
	for _, bad := range []int64{9999, -1} {
		if _, err := db.UpdateTicket(asAnn, a, crm.TicketUpdate{ReasonID: ptr(bad)}); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("reason %d: %v, want invalid", bad, err)
		}
	}
	if _, err := db.UpdateTicket(asAnn, a, crm.TicketUpdate{ReasonID: &refund, ReasonSource: "magic"}); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("reason source magic: %v, want invalid", err)
	}

	// The classifier does not override the agent.
	tk, changed, err := db.GuessReason(sys(), a, crm.ReasonGuess{ReasonID: refund, Source: crm.ReasonByAuto, Confidence: 0.97, Model: 1,
		Suggestions: []crm.ReasonScore{{ReasonID: refund, Confidence: 0.97}}})
	if err != nil || changed || reasonOf(tk) != wismo || tk.ReasonSource != crm.ReasonByAgent || len(tk.ReasonSuggestions) != 0 {
		t.Errorf("a guess on the agent's reason: %+v, changed %v, %v; want it unchanged", tk, changed, err)
	}

	// A sure guess applies the reason, with its confidence and suggestions.
	b := ticket("b", "When will my refund arrive?")
	before, _ := db.Events(sys(), 0, 1000)
	sugg := []crm.ReasonScore{{ReasonID: wismo, Confidence: 0.05}, {ReasonID: refund, Confidence: 0.91}}
	tk, changed, err = db.GuessReason(sys(), b, crm.ReasonGuess{ReasonID: refund, Confidence: 0.91, Model: 3, Suggestions: sugg})
	if err != nil || !changed || reasonOf(tk) != refund || tk.ReasonSource != crm.ReasonByAuto || tk.ReasonConfidence == nil ||
		*tk.ReasonConfidence != 0.91 {
		t.Fatalf("a sure guess: %+v, changed %v, %v; want refund_status, auto, 0.91", tk, changed, err)
	}
	got := MustTicket(t, db, b)
	wantSugg := []crm.ReasonScore{{ReasonID: refund, Confidence: 0.91}, {ReasonID: wismo, Confidence: 0.05}}
	if reasonOf(got) != refund || got.ReasonSource != crm.ReasonByAuto || got.ReasonConfidence == nil || *got.ReasonConfidence != 0.91 ||
		!slices.Equal(got.ReasonSuggestions, wantSugg) {
		t.Errorf("read back the guess: reason %v %q %v %v; want suggestions %v", got.ReasonID, got.ReasonSource,
			got.ReasonConfidence, got.ReasonSuggestions, wantSugg)
	}
	after, _ := db.Events(sys(), 0, 1000)
	if len(after) != len(before)+1 || after[len(after)-1].Type != crm.EventTicketUpdated || after[len(after)-1].Actor.Kind != "system" ||
		!strings.Contains(string(after[len(after)-1].Data), `"reason_source":"auto"`) {
		t.Errorf("the guess made %d events, the last %+v", len(after)-len(before), after[len(after)-1])
	}
	// The same guess again changes nothing and tells nobody.
	if _, changed, err := db.GuessReason(sys(), b, crm.ReasonGuess{ReasonID: refund, Confidence: 0.91, Model: 3, Suggestions: sugg}); err != nil || changed {
		t.Errorf("the same guess again: changed %v, %v", changed, err)
	}
	if again, _ := db.Events(sys(), 0, 1000); len(again) != len(after) {
		t.Errorf("the same guess again made %d events", len(again)-len(after))
	}
	// An agent's correction ends the confidence and the suggestions.
	tk, err = db.UpdateTicket(asAnn, b, crm.TicketUpdate{ReasonID: &wismo})
	if err != nil || reasonOf(tk) != wismo || tk.ReasonSource != crm.ReasonByAgent || tk.ReasonConfidence != nil || tk.ReasonSuggestions != nil {
		t.Errorf("the agent's correction: %+v, %v", tk, err)
	}
	if got := MustTicket(t, db, b); got.ReasonConfidence != nil || got.ReasonSuggestions != nil {
		t.Errorf("read back the correction: confidence %v, suggestions %v", got.ReasonConfidence, got.ReasonSuggestions)
	}

	// An unsure guess only suggests; archived and unknown reasons are left out of it.
	c := ticket("c", "Hello?")
	if _, err := db.UpdateReason(sys(), ids["complaint"], crm.ReasonInput{Archived: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	tk, changed, err = db.GuessReason(sys(), c, crm.ReasonGuess{Model: 3, Suggestions: []crm.ReasonScore{
		{ReasonID: ids["other"], Confidence: 0.3}, {ReasonID: ids["complaint"], Confidence: 0.4}, {ReasonID: 9999, Confidence: 0.2},
		{ReasonID: ids["product_question"], Confidence: 0.25}}})
	want := []crm.ReasonScore{{ReasonID: ids["other"], Confidence: 0.3}, {ReasonID: ids["product_question"], Confidence: 0.25}}
	if err != nil || !changed || tk.ReasonID != nil || !slices.Equal(tk.ReasonSuggestions, want) {
		t.Errorf("an unsure guess: %+v, changed %v, %v; want no reason, suggestions %v", tk, changed, err, want)
	}
	for _, g := range []crm.ReasonGuess{{ReasonID: ids["complaint"], Confidence: 0.9}, {ReasonID: 9999, Confidence: 0.9},
		{ReasonID: refund, Confidence: 1.2}, {ReasonID: refund, Source: crm.ReasonByAgent}} {
		if _, _, err := db.GuessReason(sys(), c, g); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("guess %+v: %v, want invalid", g, err)
		}
	}
	if _, _, err := db.GuessReason(sys(), 9999, crm.ReasonGuess{}); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("guess on no ticket: %v, want not_found", err)
	}
	// A rule's reason has no confidence.
	tk, err = db.UpdateTicket(sys(), c, crm.TicketUpdate{ReasonID: ptr(ids["other"]), ReasonSource: crm.ReasonByRule})
	if err != nil || reasonOf(tk) != ids["other"] || tk.ReasonSource != crm.ReasonByRule || tk.ReasonConfidence != nil {
		t.Errorf("a rule's reason: %+v, %v", tk, err)
	}
	// 0 clears the reason.
	tk, err = db.UpdateTicket(asAnn, c, crm.TicketUpdate{ReasonID: ptr(int64(0))})
	if err != nil || tk.ReasonID != nil || tk.ReasonSource != "" {
		t.Errorf("clear the reason: %+v, %v", tk, err)
	}
	if got := MustTicket(t, db, c); got.ReasonID != nil || got.ReasonSource != "" {
		t.Errorf("read back the cleared reason: %v %q", got.ReasonID, got.ReasonSource)
	}
}

// testReasonsExamples: the classifier learns from the tickets an agent or a tag gave a
// reason: their subject and first customer messages, and the customer's latest order
// as it stood when the ticket was opened.
func testReasonsExamples(t *testing.T, open Opener) {
	db := open(t, Options{})
	ids := reasonIDs(t, db)
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	start := db.Clock.Now()
	// Placed 12 days ago, shipped (last changed) now; the ticket comes 10 days later.
	if _, err := db.PutOrder(sys(), &crm.Order{Number: "1001", Email: "ann@example.com", Status: "shipped", Currency: "EUR",
		PlacedAt: start.Add(-12 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Placed after the ticket: not the order the customer writes about.
	db.Clock.Add(10*24*time.Hour + time.Hour)
	a := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "a1", ThreadKey: "a", Subject: "Parcel",
		Text: "Where is my parcel?", From: email("ann@example.com")}).TicketID
	db.Clock.Add(time.Minute)
	MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "a2", ThreadKey: "a", Subject: "Re: Parcel",
		Text: "Still nothing.", From: email("ann@example.com")})
	if _, err := db.AddMessage(sys(), &crm.NewMessage{TicketID: a, Body: "It is on its way."}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutOrder(sys(), &crm.Order{Number: "1002", Email: "ann@example.com", Status: "paid", Currency: "EUR",
		PlacedAt: db.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 3000)
	b := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "b1", ThreadKey: "b", Subject: "Long",
		Text: long, From: email("bob@example.com")}).TicketID
	c := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "c1", ThreadKey: "c", Subject: "Auto",
		Text: "Refund?", From: email("cy@example.com")}).TicketID
	if _, err := db.UpdateTicket(sys(), a, crm.TicketUpdate{ReasonID: ptr(ids["where_is_my_order"])}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTicket(sys(), b, crm.TicketUpdate{ReasonID: ptr(ids["other"]), ReasonSource: crm.ReasonByTag}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.GuessReason(sys(), c, crm.ReasonGuess{ReasonID: ids["refund_status"], Confidence: 0.9}); err != nil {
		t.Fatal(err)
	}
	// A tag's reason is a person's label too: a guess leaves it.
	if tk, changed, err := db.GuessReason(sys(), b, crm.ReasonGuess{ReasonID: ids["refund_status"], Confidence: 0.95}); err != nil ||
		changed || reasonOf(tk) != ids["other"] || tk.ReasonSource != crm.ReasonByTag {
		t.Fatalf("a guess on a tag's reason: changed %v, %v; the ticket has %v", changed, err, tk)
	}

	list, err := db.ReasonExamples(sys(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("examples: %d, want the agent's and the tag's", len(list))
	}
	want := crm.ReasonExample{TicketID: a, ReasonID: ids["where_is_my_order"], Text: "Parcel\nWhere is my parcel?\nStill nothing.",
		OrderStatus: "shipped", OrderAgeDays: 10}
	if *list[0] != want {
		t.Errorf("example of the agent's ticket %+v\nwant %+v", *list[0], want)
	}
	if x := list[1]; x.TicketID != b || x.ReasonID != ids["other"] || x.Text != "Long\n"+strings.Repeat("é", 2000-5) ||
		x.OrderStatus != "" || x.OrderAgeDays != 0 {
		t.Errorf("example of the tag's ticket: %d %d %d characters, order %q %d", x.TicketID, x.ReasonID,
			len([]rune(x.Text)), x.OrderStatus, x.OrderAgeDays)
	}
	if page, err := db.ReasonExamples(sys(), a, 1); err != nil || len(page) != 1 || page[0].TicketID != b {
		t.Errorf("examples after %d, one: %v, %v", a, page, err)
	}
	x, err := db.ReasonText(sys(), c)
	if err != nil || x.TicketID != c || x.ReasonID != ids["refund_status"] || x.Text != "Auto\nRefund?" || x.OrderStatus != "" {
		t.Errorf("text of the auto ticket: %+v, %v", x, err)
	}
	if _, err := db.ReasonText(sys(), 9999); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("text of no ticket: %v, want not_found", err)
	}

	// An order that changed after the ticket was opened counts from when it was placed.
	db.Clock.Add(24 * time.Hour)
	d := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "d1", ThreadKey: "d", Subject: "Again",
		Text: "And the second one?", From: email("ann@example.com")}).TicketID
	db.Clock.Add(3 * 24 * time.Hour)
	if _, err := db.PutOrder(sys(), &crm.Order{Number: "1002", Email: "ann@example.com", Status: "delivered", Currency: "EUR",
		PlacedAt: db.Clock.Now().Add(-4 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if x, err := db.ReasonText(sys(), d); err != nil || x.OrderStatus != "delivered" || x.OrderAgeDays != 1 {
		t.Errorf("the order changed since the ticket: %+v, %v; want delivered, placed 1 day before", x, err)
	}
}

// testReasonsSeedFromTags: tickets without a reason get the reason their tags map to,
// closed ones too; an agent's reason stays; a second run finds nothing to do.
func testReasonsSeedFromTags(t *testing.T, open Opener) {
	db := open(t, Options{})
	ids := reasonIDs(t, db)
	ctx := sys()
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	if _, err := db.UpdateReason(ctx, ids["return_exchange"], crm.ReasonInput{Tags: &[]string{"return", "exchange"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateReason(ctx, ids["refund_status"], crm.ReasonInput{Tags: &[]string{"refund"}}); err != nil {
		t.Fatal(err)
	}
	tagged := func(ext string, tags ...string) int64 {
		id := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: ext, ThreadKey: ext, Subject: "Old " + ext,
			Text: "old question " + ext, From: email(ext + "@example.com")}).TicketID
		if _, err := db.UpdateTicket(ctx, id, crm.TicketUpdate{Tags: &tags}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ret := tagged("ret", "return", "vip")
	both := tagged("both", "refund", "exchange") // return_exchange comes first by position
	closed := tagged("closed", "refund")
	if _, err := db.UpdateTicket(ctx, closed, crm.TicketUpdate{Status: ptr(crm.StatusClosed)}); err != nil {
		t.Fatal(err)
	}
	none := tagged("none", "vip")
	agent := tagged("agent", "refund")
	if _, err := db.UpdateTicket(ctx, agent, crm.TicketUpdate{ReasonID: ptr(ids["complaint"])}); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Events(ctx, 0, 1000)
	n, err := db.SeedReasonsFromTags(ctx)
	if err != nil || n != 3 {
		t.Fatalf("seeded %d, %v; want 3", n, err)
	}
	for id, want := range map[int64]int64{ret: ids["return_exchange"], both: ids["return_exchange"], closed: ids["refund_status"],
		none: 0, agent: ids["complaint"]} {
		tk := MustTicket(t, db, id)
		if reasonOf(tk) != want {
			t.Errorf("ticket %q has reason %d, want %d", tk.Subject, reasonOf(tk), want)
		}
		if want != 0 && id != agent && tk.ReasonSource != crm.ReasonByTag {
			t.Errorf("ticket %q has reason source %q, want tag", tk.Subject, tk.ReasonSource)
		}
	}
	after, _ := db.Events(ctx, 0, 1000)
	seeded := map[int64]bool{}
	for _, e := range after[len(before):] {
		if e.Type == crm.EventTicketUpdated && strings.Contains(string(e.Data), `"reason_source":"tag"`) {
			seeded[e.TicketID] = true
		}
	}
	if len(seeded) != 3 || !seeded[ret] || !seeded[both] || !seeded[closed] {
		t.Errorf("ticket.updated events of the seeded tickets: %v", seeded)
	}
	if n, err := db.SeedReasonsFromTags(ctx); err != nil || n != 0 {
		t.Errorf("seed again: %d, %v; want 0", n, err)
	}
	// The seeded tickets are labelled examples.
	list, err := db.ReasonExamples(ctx, 0, 100)
	if err != nil || len(list) != 4 {
		t.Errorf("examples after seeding: %d, %v; want the 3 seeded and the agent's", len(list), err)
	}
}

// testReasonsModels: trained models are versioned; the newest is the latest.
func testReasonsModels(t *testing.T, open Opener) {
	db := open(t, Options{})
	if _, err := db.LatestReasonModel(sys()); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("latest model of a new shop: %v, want not_found", err)
	}
	first, err := db.SaveReasonModel(sys(), &crm.ReasonModel{Examples: 120, MacroF1: 0.81, Report: []byte(`{"a":1}`), Data: []byte{0, 1, 2}})
	if err != nil || first.Version == 0 || first.CreatedAt.IsZero() {
		t.Fatalf("save a model: %+v, %v", first, err)
	}
	db.Clock.Add(time.Hour)
	second, err := db.SaveReasonModel(sys(), &crm.ReasonModel{Examples: 340, MacroF1: 0.873456, Report: []byte(`{"b":2}`),
		Data: []byte("model two \x00 bytes")})
	if err != nil || second.Version <= first.Version {
		t.Fatalf("save a second model: %+v, %v", second, err)
	}
	m, err := db.LatestReasonModel(sys())
	if err != nil || m.Version != second.Version || m.Examples != 340 || m.MacroF1 != 0.873456 || string(m.Report) != `{"b":2}` ||
		string(m.Data) != "model two \x00 bytes" || !m.CreatedAt.Equal(second.CreatedAt) {
		t.Errorf("latest model %+v, %v; want the second", m, err)
	}
	for _, bad := range []*crm.ReasonModel{nil, {Examples: 1, MacroF1: 0.5}, {Examples: 1, MacroF1: 1.5, Data: []byte{1}}} {
		if _, err := db.SaveReasonModel(sys(), bad); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("save model %+v: %v, want invalid", bad, err)
		}
	}
}

// testReasonsSuggestReplies: a ticket gets the first agent replies of the resolved
// tickets of its reason whose customers wrote the most similar text, never one of
// another reason, an open one, or one the agent may not see; any text is safe.
func testReasonsSuggestReplies(t *testing.T, open Opener) {
	db := open(t, Options{})
	ids := reasonIDs(t, db)
	ctx := sys()
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	other := MustCreateInbox(t, db, crm.KindEmail, "Other shop")
	ann := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent, in.ID)
	asAnn := crm.WithAgent(ctx, ann)
	max := MustCreateAgent(t, db, "max@example.com", crm.RoleManager)
	asMax := crm.WithAgent(ctx, max)
	n := 0
	// old files a ticket of reason with the customer's text and the agent's replies,
	// then sets its status.
	old := func(inbox int64, reason, text, status string, replies ...string) int64 {
		t.Helper()
		n++
		ext := fmt.Sprintf("old%d", n)
		id := MustIngest(t, db, &crm.Inbound{InboxID: inbox, ExternalID: ext, ThreadKey: ext, Subject: "Question",
			Text: text, FromName: "Customer " + ext, From: email(ext + "@example.com")}).TicketID
		for _, r := range replies {
			if _, err := db.AddMessage(asMax, &crm.NewMessage{TicketID: id, Body: r}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.UpdateTicket(asMax, id, crm.TicketUpdate{ReasonID: ptr(ids[reason]), Status: &status}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	zebra := old(in.ID, "where_is_my_order", "My zebra-striped umbrella has not arrived, tracking shows nothing", crm.StatusResolved,
		"Your umbrella left our warehouse on Monday: here is the tracking link.", "Anything else?")
	MustPutOrder(t, db, "7001", "old1@example.com", db.Clock.Now())
	old(in.ID, "where_is_my_order", "Where is my order? It has been a week", crm.StatusClosed, "It ships tomorrow, sorry for the wait.")
	old(in.ID, "where_is_my_order", "Order not arrived yet", crm.StatusResolved, "It ships tomorrow, sorry for the wait.")
	old(in.ID, "refund_status", "The zebra-striped umbrella refund has not arrived", crm.StatusResolved, "Refunds take five days.")
	old(in.ID, "where_is_my_order", "zebra umbrella tracking arrived not", crm.StatusOpen, "Still open: never suggested.")
	old(other.ID, "where_is_my_order", "zebra striped umbrella tracking not arrived", crm.StatusResolved, "From a shop Ann cannot see.")
	old(in.ID, "where_is_my_order", "zebra umbrella", crm.StatusResolved) // no reply

	cur := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "new", ThreadKey: "new", Subject: "Umbrella",
		Text: "Hello, my zebra umbrella has still not arrived. The tracking says nothing!", From: email("zoe@example.com")}).TicketID
	if got, err := db.SuggestReplies(asAnn, cur, 3); err != nil || len(got) != 0 {
		t.Errorf("suggestions for a ticket without a reason: %v, %v; want none", got, err)
	}
	if _, _, err := db.GuessReason(ctx, cur, crm.ReasonGuess{ReasonID: ids["where_is_my_order"], Confidence: 0.9}); err != nil {
		t.Fatal(err)
	}
	got, err := db.SuggestReplies(asAnn, cur, 3)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, s := range got {
		texts = append(texts, s.Text)
	}
	want := []string{"Your umbrella left our warehouse on Monday: here is the tracking link.", "It ships tomorrow, sorry for the wait."}
	if !slices.Equal(texts, want) {
		t.Fatalf("suggested replies %q\nwant %q", texts, want)
	}
	if s := got[0]; s.TicketID != zebra || s.MessageID == 0 || s.CustomerName != "Customer old1" || !slices.Equal(s.OrderNumbers, []string{"7001"}) {
		t.Errorf("the best suggestion %+v: want ticket %d, Customer old1 with order 7001", s, zebra)
	}
	if one, err := db.SuggestReplies(asAnn, cur, 1); err != nil || len(one) != 1 || one[0].TicketID != zebra {
		t.Errorf("one suggestion: %+v, %v", one, err)
	}

	// Whatever the customer wrote is only words to look for.
	for i, text := range []string{`"zebra" OR umbrella* NEAR(a b) AND -x ^y {col}: '); DROP TABLE tickets; --`, `"`, `***`, `¿¡😀 ümbrella? ÜMBRELLA`,
		"मेरी किताब कहाँ है? cafe\u0301 nai\u0308ve"} {
		id := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: fmt.Sprintf("odd%d", i), ThreadKey: fmt.Sprintf("odd%d", i),
			Subject: text, Text: text, From: email("odd@example.com")}).TicketID
		if _, err := db.UpdateTicket(asAnn, id, crm.TicketUpdate{ReasonID: ptr(ids["where_is_my_order"])}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SuggestReplies(asAnn, id, 3); err != nil {
			t.Errorf("suggestions for %q: %v", text, err)
		}
	}
	if _, err := db.SuggestReplies(asAnn, 9999, 3); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("suggestions for no ticket: %v, want not_found", err)
	}

	// A ticket whose reason changes moves to the other reason's suggestions.
	if _, err := db.UpdateTicket(asAnn, zebra, crm.TicketUpdate{ReasonID: ptr(ids["refund_status"])}); err != nil {
		t.Fatal(err)
	}
	got, err = db.SuggestReplies(asAnn, cur, 3)
	if err != nil || len(got) == 0 || got[0].Text != "It ships tomorrow, sorry for the wait." {
		t.Fatalf("suggestions once the best ticket has another reason: %+v, %v", got, err)
	}

	if err := db.RecordSuggestionUse(asAnn, cur, got[0].MessageID); err != nil {
		t.Errorf("record a suggestion's use: %v", err)
	}
	if err := db.RecordSuggestionUse(asAnn, cur, 99999); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("record the use of no reply: %v, want not_found", err)
	}
	hidden := MustIngest(t, db, &crm.Inbound{InboxID: other.ID, ExternalID: "hidden", Subject: "x", Text: "x", From: email("h@example.com")}).TicketID
	if err := db.RecordSuggestionUse(asAnn, hidden, got[0].MessageID); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("record a use on a ticket Ann may not see: %v, want not_found", err)
	}
}

// testReasonsHandleTime: agents' time adds up per ticket, each report cut to
// crm.MaxHandleSecs, and report facts carry it with the reason.
func testReasonsHandleTime(t *testing.T, open Opener) {
	db := open(t, Options{})
	ids := reasonIDs(t, db)
	ctx := sys()
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	ann := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent, in.ID)
	bob := MustCreateAgent(t, db, "bob@example.com", crm.RoleAgent, in.ID)
	a := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "a", Subject: "A", Text: "a", From: email("a@example.com")}).TicketID
	b := MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "b", Subject: "B", Text: "b", From: email("b@example.com")}).TicketID
	if err := db.AddHandleTime(ctx, []crm.HandleTime{{TicketID: a, AgentID: ann.ID, Secs: 30}, {TicketID: a, AgentID: bob.ID, Secs: 500},
		{TicketID: b, AgentID: ann.ID, Secs: -20}}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddHandleTime(ctx, []crm.HandleTime{{TicketID: a, AgentID: ann.ID, Secs: 45, At: db.Clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]crm.HandleTime{{{TicketID: 9999, AgentID: ann.ID, Secs: 10}}, {{TicketID: a, AgentID: 9999, Secs: 10}},
		{{TicketID: a, Secs: 10}}, {{TicketID: a, AgentID: ann.ID, Secs: 10}, {TicketID: 9999, AgentID: ann.ID, Secs: 10}}} {
		if err := db.AddHandleTime(ctx, bad); err == nil {
			t.Errorf("handle time %+v was taken", bad)
		}
	}
	if _, _, err := db.GuessReason(ctx, a, crm.ReasonGuess{ReasonID: ids["where_is_my_order"], Confidence: 0.8}); err != nil {
		t.Fatal(err)
	}
	facts, err := db.ReportFacts(ctx, crm.ReportFilter{From: db.Clock.Now().Add(-time.Hour), To: db.Clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]crm.TicketFact{}
	for _, f := range facts {
		got[f.ID] = *f
	}
	// Ann 30 + 45, Bob 500 cut to the most one report adds.
	if f := got[a]; f.HandleSecs != 30+45+crm.MaxHandleSecs || f.ReasonID != ids["where_is_my_order"] || !f.ReasonAuto {
		t.Errorf("facts of ticket a: handle %d, reason %d auto %v; want %d, %d, auto", f.HandleSecs, f.ReasonID, f.ReasonAuto,
			30+45+crm.MaxHandleSecs, ids["where_is_my_order"])
	}
	if f := got[b]; f.HandleSecs != 0 || f.ReasonID != 0 || f.ReasonAuto {
		t.Errorf("facts of ticket b: handle %d, reason %d auto %v; want none", f.HandleSecs, f.ReasonID, f.ReasonAuto)
	}
}

// testReasonsSelfServiceAndOrders: the widget's self-service counts by kind, range and
// inbox; orders count by when they were placed.
func testReasonsSelfServiceAndOrders(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	shop := MustCreateInbox(t, db, crm.KindChat, "Shop")
	outlet := MustCreateInbox(t, db, crm.KindChat, "Outlet")
	start := db.Clock.Now()
	for _, r := range []struct {
		inbox int64
		kind  string
	}{{shop.ID, crm.SelfServiceOffered}, {shop.ID, crm.SelfServiceOffered}, {shop.ID, crm.SelfServiceLookup}, {outlet.ID, crm.SelfServiceLookup}} {
		if err := db.RecordSelfService(ctx, r.inbox, r.kind); err != nil {
			t.Fatal(err)
		}
	}
	db.Clock.Add(2 * time.Hour)
	if err := db.RecordSelfService(ctx, shop.ID, crm.SelfServiceLookup); err != nil { // after the range
		t.Fatal(err)
	}
	if err := db.RecordSelfService(ctx, shop.ID, "phone_call"); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("an unknown kind: %v, want invalid", err)
	}
	if err := db.RecordSelfService(ctx, 9999, crm.SelfServiceLookup); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("no such inbox: %v, want not_found", err)
	}
	rng := crm.ReportFilter{From: start, To: start.Add(time.Hour)}
	for _, c := range []struct {
		f    crm.ReportFilter
		want map[string]int
	}{
		{rng, map[string]int{crm.SelfServiceOffered: 2, crm.SelfServiceLookup: 2}},
		{crm.ReportFilter{From: start, To: start.Add(time.Hour), InboxID: shop.ID}, map[string]int{crm.SelfServiceOffered: 2, crm.SelfServiceLookup: 1}},
		{crm.ReportFilter{From: start, To: start.Add(time.Hour), Channel: crm.ChannelEmail}, map[string]int{crm.SelfServiceOffered: 0, crm.SelfServiceLookup: 0}},
		{crm.ReportFilter{From: start, To: start.Add(3 * time.Hour)}, map[string]int{crm.SelfServiceOffered: 2, crm.SelfServiceLookup: 3}},
	} {
		got, err := db.SelfServiceCounts(ctx, c.f)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("self-service %+v: %v, %v; want %v", c.f, got, err, c.want)
		}
	}

	MustPutOrder(t, db, "9001", "a@example.com", start.Add(-time.Minute))
	MustPutOrder(t, db, "9002", "b@example.com", start)
	MustPutOrder(t, db, "9003", "b@example.com", start.Add(59*time.Minute))
	MustPutOrder(t, db, "9004", "c@example.com", start.Add(time.Hour))
	if n, err := db.CountOrders(ctx, rng); err != nil || n != 2 {
		t.Errorf("orders placed in the hour: %d, %v; want 2", n, err)
	}
}

// testReasonsCursor: the classifier's worker starts at the newest event and goes on
// from where it stopped.
func testReasonsCursor(t *testing.T, open Opener) {
	db := open(t, Options{})
	in := MustCreateInbox(t, db, crm.KindEmail, "Mail")
	MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "a", Subject: "A", Text: "a", From: email("a@example.com")})
	evs, err := db.Events(sys(), 0, 1000)
	if err != nil || len(evs) == 0 {
		t.Fatal(evs, err)
	}
	newest := evs[len(evs)-1].ID
	if after, err := db.ReasonCursor(sys()); err != nil || after != newest {
		t.Errorf("first cursor %d, %v; want the newest event %d", after, err, newest)
	}
	MustIngest(t, db, &crm.Inbound{InboxID: in.ID, ExternalID: "b", Subject: "B", Text: "b", From: email("b@example.com")})
	if after, err := db.ReasonCursor(sys()); err != nil || after != newest {
		t.Errorf("cursor after more events %d, %v; want it where it was, %d", after, err, newest)
	}
	if err := db.SetReasonCursor(sys(), newest+1); err != nil {
		t.Fatal(err)
	}
	if after, err := db.ReasonCursor(sys()); err != nil || after != newest+1 {
		t.Errorf("cursor once set %d, %v; want %d", after, err, newest+1)
	}
}
