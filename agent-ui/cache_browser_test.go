package agentui_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"parley/crm"
)

// TestConsoleRevalidatesReads checks the console's fetches against the server's
// conditional answers for lists and threads: the browser keeps an answer but asks again
// at every fetch, gets 304 while nothing changed, and shows a change at the next fetch.
func TestConsoleRevalidatesReads(t *testing.T) {
	f := newFixture(t)
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	first := f.inbound("q1", "Alice Shopper", "alice@example.com", "Kettle", "Where is my kettle?")

	// Addresses the console itself does not fetch, so that only this test's fetches
	// count. get is the console's own fetch (api.js); each answer gives the ids or
	// texts it holds.
	list := "/api/v1/tickets?status=open&limit=7"
	thread := fmt.Sprintf("/api/v1/tickets/%d/messages?limit=7", first)
	fetch := func(path, field string) string {
		t.Helper()
		return b.eval(fmt.Sprintf(`import('/api.js').then(async m => {
			const r = await m.get(%q);
			return (r.tickets || r.messages).map(x => x[%q]).join('|');
		})`, path, field))
	}
	// revalidated says whether the last fetch of path came from the browser's cache
	// after a 304: less went over the wire than for the first fetch, the whole answer,
	// but not nothing.
	revalidated := func(path string) string {
		t.Helper()
		return b.eval(fmt.Sprintf(`(() => {
			const e = performance.getEntriesByName(location.origin + %q);
			const first = e[0], last = e[e.length - 1];
			return e.length + ' fetches, ' + first.transferSize + ' then ' + last.transferSize + ' bytes';
		})()`, path))
	}
	asked := func(path string) int {
		want, _ := url.Parse(path)
		return f.requests(func(u *url.URL) bool { return u.Path == want.Path && u.RawQuery == want.RawQuery })
	}

	if got := fetch(list, "id"); got != fmt.Sprint(first) {
		t.Fatalf("list = %s, want %d", got, first)
	}
	if got := fetch(thread, "text"); got != "Where is my kettle?" {
		t.Fatalf("thread = %q", got)
	}
	for _, path := range []string{list, thread} {
		before := asked(path)
		fetch(path, "id")
		if asked(path) != before+1 {
			t.Fatalf("the browser answered %s from its cache without asking", path)
		}
		var n, whole, last int
		got := revalidated(path)
		if _, err := fmt.Sscanf(got, "%d fetches, %d then %d bytes", &n, &whole, &last); err != nil || n != 2 || last <= 0 || last >= whole {
			t.Errorf("an unchanged %s came over the wire again: %s", path, got)
		}
	}

	// Changes show at the next fetch.
	second := f.inbound("q2", "Bob Buyer", "bob@example.com", "Refund", "Refund please")
	if got, want := fetch(list, "id"), fmt.Sprintf("%d|%d", second, first); got != want {
		t.Fatalf("list after a new ticket = %s, want %s", got, want)
	}
	if _, err := f.db.AddMessage(crm.WithAgent(context.Background(), f.admin),
		&crm.NewMessage{TicketID: first, Body: "Checking the warehouse", Internal: true}); err != nil {
		t.Fatal(err)
	}
	if got := fetch(thread, "text"); got != "Where is my kettle?|Checking the warehouse" {
		t.Fatalf("thread after a note = %q", got)
	}
	b.noScriptErrors()
}
