package agentui_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
)

// TestResumeAfterNetworkDrop cuts the console's connection, files a ticket while the
// console cannot reconnect, and checks that the ticket shows up once it does: the console
// resumes from the last event it saw and the hub replays the missed one, without the
// console reading the list again.
func TestResumeAfterNetworkDrop(t *testing.T) {
	f := newFixture(t)
	b := f.newTab(t)
	b.login("ada@test.example", "#/inbox/open")
	first := f.inbound("before-drop", "Alice Shopper", "alice@example.com", "Before the drop", "Hello")
	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, first), "Before the drop")

	// A new ticket, live or replayed, also makes the console read its folder counts
	// (limit=200, at most every 2 s); those are not the list.
	listReads := func() int {
		return f.requests(func(u *url.URL) bool { return u.Path == "/api/v1/tickets" && u.Query().Get("limit") != "200" })
	}
	readsBefore := listReads()
	release := f.hold("/api/v1/ws") // the network is down: no new socket gets through
	f.dropConnections()
	b.waitJS("the console notices the drop", `() => document.querySelector('#conn').dataset.state !== 'live'`)
	missed := f.inbound("during-drop", "Bob Buyer", "bob@example.com", "Filed while offline", "Are you there?")
	release()

	b.waitText(fmt.Sprintf(`.ticket-row[data-id="%d"]`, missed), "Filed while offline")
	b.waitJS("live again", `() => document.querySelector('#conn').dataset.state === 'live'`)
	if got := listReads(); got != readsBefore {
		t.Errorf("the console read the ticket list %d more times; the missed ticket should come from the resume", got-readsBefore)
	}
	if n := replayed(t, f.srv.URL); n < 1 {
		t.Errorf("the hub replayed %d events, want at least 1", n)
	}
	b.noScriptErrors()
}

// replayed reads the hub's count of events replayed to resuming sockets from /metrics.
func replayed(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^parley_ws_replayed_events_total (\d+)`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no parley_ws_replayed_events_total in /metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
