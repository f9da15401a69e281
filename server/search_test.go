package server_test

import (
	"net/http"
	"testing"

	"parley/crm"
)

// TestSearchFilters checks the filters of GET /api/v1/search: what each narrows, and a
// clear invalid for values it cannot use.
func TestSearchFilters(t *testing.T) {
	e := newEnv(t)
	shop := e.inbox("api", "Shop")
	r := e.inbound(shop, "f1", "alice@example.com", "the parcel is late")
	for _, bad := range []string{"status=done", "channel=fax", "inbox=x", "inbox=-1", "from=yesterday",
		"to=2026-13-01", "from=2026-12-08&to=2026-12-07"} {
		if code, body := e.admin.do("GET", "/api/v1/search?q=alice&"+bad, nil); code != http.StatusBadRequest || errCode(t, body) != "invalid" {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	var res struct {
		Tickets   []crm.Ticket   `json:"tickets"`
		Customers []crm.Customer `json:"customers"`
	}
	for _, tc := range []struct {
		filter  string
		tickets int
	}{
		{"", 1},
		{"status=open&channel=api&inbox=" + itoa(shop), 1},
		{"status=resolved", 0},
		{"channel=email", 0},
		{"from=2000-01-01&to=2999-12-31", 1},
		{"to=2000-01-01", 0},
	} {
		e.admin.mustDo("GET", "/api/v1/search?q=alice&"+tc.filter, nil, 200, &res)
		if len(res.Tickets) != tc.tickets || len(res.Customers) != 1 {
			t.Errorf("%q: %d tickets, %d customers; want %d, 1", tc.filter, len(res.Tickets), len(res.Customers), tc.tickets)
		}
		if tc.tickets == 1 && res.Tickets[0].ID != r.TicketID {
			t.Errorf("%q: ticket %d", tc.filter, res.Tickets[0].ID)
		}
	}
}
