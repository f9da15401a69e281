package server_test

import (
	"encoding/json"
	"testing"

	"parley/crm"
)

// TestHubAvailability: an agent's availability rides on the presence frames: in the list
// a new socket gets, and as a change when a connected agent chooses another; the server's
// AgentOnline, which the assigner goes by, follows the sockets; /api/v1/agents shows an
// agent without a socket as offline.
func TestHubAvailability(t *testing.T) {
	e := newHubEnv(t)
	in := e.inbox("api", "Shop")
	aliceC := e.agent("alice@test.example", crm.RoleAgent, in)
	bobC := e.agent("bob@test.example", crm.RoleAgent, in)
	aliceID, bobID := e.agentID("alice@test.example"), e.agentID("bob@test.example")
	bobC.mustDo("PUT", "/api/v1/me/availability", map[string]string{"availability": "away"}, 200, nil)
	alice := e.dial(aliceC)
	alice.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
	if e.api.AgentOnline(bobID) {
		t.Fatal("bob online without a socket")
	}
	var list struct {
		Agents []struct {
			ID           int64  `json:"id"`
			Availability string `json:"availability"`
		} `json:"agents"`
	}
	aliceC.mustDo("GET", "/api/v1/agents", nil, 200, &list)
	for _, a := range list.Agents {
		if a.ID == bobID && a.Availability != crm.Unavailable {
			t.Errorf("bob without a socket shows %q", a.Availability)
		}
	}
	bob := e.dial(bobC)
	alice.waitFor("bob online and away", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == bobID && f.str("status") == "online" && f.str("availability") == "away"
	})
	if !e.api.AgentOnline(bobID) || !e.api.AgentOnline(aliceID) {
		t.Fatal("AgentOnline misses a connected agent")
	}
	first := bob.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
	var l struct {
		Agents []struct {
			AgentID      int64  `json:"agent_id"`
			Availability string `json:"availability"`
		} `json:"agents"`
	}
	json.Unmarshal(first.Data, &l)
	if len(l.Agents) != 2 || l.Agents[0].AgentID != aliceID || l.Agents[0].Availability != "available" {
		t.Fatalf("presence list %s", first.raw)
	}
	bobC.mustDo("PUT", "/api/v1/me/availability", map[string]string{"availability": "available"}, 200, nil)
	alice.waitFor("bob available", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == bobID && f.str("availability") == "available"
	})
}
