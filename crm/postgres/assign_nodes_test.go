package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/postgres/pgtest"
	"parley/crm/storetest"
)

// TestAutoAssignAcrossNodes: three nodes on one database, each with its own writer, give
// tickets to the same agents at once. The agent's row lock makes the capacity check and
// the assignment one at a time over the cluster: no agent ends above capacity and no
// ticket is given twice (the suite's case covers one node's writer).
func TestAutoAssignAcrossNodes(t *testing.T) {
	url := pgtest.URL(t)
	ctx := crm.AsSystem(context.Background())
	const nodes, capacity, tickets, agents = 3, 4, 30, 3
	dbs := make([]*postgres.DB, nodes)
	for i := range dbs { // one after another: the first applies the migrations
		db, err := postgres.Open(ctx, url, postgres.Options{DataDir: t.TempDir(), SecretKey: storetest.SecretKey, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	inbox, err := dbs[0].CreateInbox(ctx, &crm.Inbox{Kind: crm.KindChat, Name: "Chat"})
	if err != nil {
		t.Fatal(err)
	}
	var ids, agentIDs []int64
	for i := range tickets {
		tk, err := dbs[0].CreateTicket(ctx, &crm.NewTicket{InboxID: inbox.ID, CustomerName: "C",
			Identities: []crm.Identity{{Kind: crm.IdentityEmail, Address: fmt.Sprintf("c%d@test.example", i)}}, Subject: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	for i := range agents {
		a, err := dbs[0].CreateAgent(ctx, &crm.NewAgent{Email: fmt.Sprintf("a%d@test.example", i), Name: "A", Role: crm.RoleAgent,
			Password: "correct horse", InboxIDs: []int64{inbox.ID}})
		if err != nil {
			t.Fatal(err)
		}
		agentIDs = append(agentIDs, a.ID)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[int64][]int64{}
	for n, db := range dbs {
		for _, a := range agentIDs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each node walks the tickets from another start, so that they collide.
				for k := range ids {
					id := ids[(k+n*tickets/nodes)%tickets]
					if _, err := db.AutoAssign(ctx, id, a, capacity); err == nil {
						mu.Lock()
						won[id] = append(won[id], a)
						mu.Unlock()
					} else if crm.ErrorCode(err) != crm.ECONFLICT {
						t.Errorf("node %d: assign %d to %d: %v", n, id, a, err)
					}
				}
			}()
		}
	}
	wg.Wait()
	per := map[int64]int{}
	for id, as := range won {
		if len(as) != 1 {
			t.Errorf("ticket %d went to %v", id, as)
		}
		per[as[0]]++
	}
	for _, a := range agentIDs {
		got, _, err := dbs[1].Tickets(ctx, crm.TicketFilter{AssigneeID: a})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != capacity || per[a] != capacity {
			t.Errorf("agent %d holds %d tickets (calls said %d), capacity %d", a, len(got), per[a], capacity)
		}
	}
}
