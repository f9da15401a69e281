package crm_test

import (
	"testing"

	"parley/crm"
)

// TestPlaceholdersFill fills the placeholders as the console's canned.js does: a known
// one with a value, one without a value or unknown left as written.
func TestPlaceholdersFill(t *testing.T) {
	p := crm.Placeholders{CustomerName: "  Jane Q Doe ", TicketID: 1042, AgentName: "Dana"}
	for in, want := range map[string]string{
		"Hi {{customer.first_name}}":         "Hi Jane",
		"{{ customer.name }} #{{ticket.id}}": "Jane Q Doe #1042",
		"{{agent.name}} re {{order.number}}": "Dana re {{order.number}}",
		"{{customer.email}} {{nope}}":        "{{customer.email}} {{nope}}",
		"no placeholders {{ at all":          "no placeholders {{ at all",
	} {
		if got := p.Fill(in); got != want {
			t.Errorf("Fill(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAssignmentSettingsCheck(t *testing.T) {
	s := &crm.AssignmentSettings{OfflineMinutes: 5, Capacity: map[string]int{"chat": 2},
		Inboxes: []crm.InboxAssignment{{InboxID: 3, Mode: "round_robin"}, {InboxID: 1, Mode: "off"}, {InboxID: 2, Mode: ""}},
		Agents:  []crm.AgentCapacity{{AgentID: 9, Capacity: map[string]int{"email": 30}}, {AgentID: 4}}}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if len(s.Inboxes) != 1 || s.InboxMode(3) != crm.AssignRoundRobin || s.InboxMode(1) != crm.AssignOff {
		t.Errorf("inboxes %+v", s.Inboxes)
	}
	if s.CapacityOf(9, "email") != 30 || s.CapacityOf(4, "email") != 15 || s.CapacityOf(4, "chat") != 2 || len(s.Agents) != 1 {
		t.Errorf("capacities %+v %+v", s.Capacity, s.Agents)
	}
	for _, bad := range []*crm.AssignmentSettings{
		{OfflineMinutes: -1},
		{Capacity: map[string]int{"fax": 1}},
		{Capacity: map[string]int{"chat": -1}},
		{Inboxes: []crm.InboxAssignment{{InboxID: 1, Mode: "random"}}},
		{Inboxes: []crm.InboxAssignment{{InboxID: 1, Mode: "off"}, {InboxID: 1, Mode: "off"}}},
		{Agents: []crm.AgentCapacity{{AgentID: 0}}},
	} {
		if err := bad.Check(); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
