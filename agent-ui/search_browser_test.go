package agentui_test

import (
	"fmt"
	"testing"
)

// TestSearchFindsPeople searches by a customer's name: her tickets are found although
// their subjects do not name her, the matched words are marked, and a filter narrows the
// tickets without losing the customer.
func TestSearchFindsPeople(t *testing.T) {
	f := newFixture(t)
	a := f.inbound("s-1", "Alice Shopper", "alice@example.com", "Parcel late", "Hi, Alice here: the parcel is late.")
	f.inbound("s-2", "Bob Buyer", "bob@example.com", "Refund", "My money back please.")
	b := f.newTab(t)
	b.login("ada@test.example", "#/search/alice")
	b.waitText(fmt.Sprintf(`#list-body .ticket-row[data-id="%d"]`, a), "Parcel late")
	b.waitText("#list-body", "Tickets (1)")
	b.waitText("#list-body .results mark", "Alice")
	b.waitText("#list-body", "Customers (1)")
	b.shot("search")

	b.setValue("#search-status", "resolved")
	b.waitText("#list-body", "Tickets (0)")
	b.waitText("#list-body", "Customers (1)")
	b.waitJS("the filter stays chosen", `() => document.querySelector('#search-status').value === 'resolved'`)
	b.setValue("#search-status", "")
	b.waitText("#list-body", "Tickets (1)")
	b.noScriptErrors()
}
