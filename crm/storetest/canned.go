package storetest

import (
	"context"
	"testing"

	"parley/crm"
)

func init() {
	add("CannedResponses", testCannedResponses)
}

func testCannedResponses(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	manager := crm.WithAgent(ctx, MustCreateAgent(t, db, "m@test.example", crm.RoleManager))
	agent := crm.WithAgent(ctx, MustCreateAgent(t, db, "a@test.example", crm.RoleAgent))

	c, err := db.CreateCanned(manager, &crm.CannedResponse{Title: " Shipping ", Body: "Hi {{customer.first_name}}\n\n"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "Shipping" || c.Body != "Hi {{customer.first_name}}" || c.CreatedBy == 0 || c.CreatedAt.IsZero() {
		t.Fatalf("created %+v", c)
	}

	// The store refuses a plain agent even if a caller forgot the role check.
	_, err = db.CreateCanned(agent, &crm.CannedResponse{Title: "x", Body: "y"})
	wantCode(t, err, crm.EFORBIDDEN)
	_, err = db.UpdateCanned(agent, c.ID, crm.CannedUpdate{Title: ptr("x")})
	wantCode(t, err, crm.EFORBIDDEN)
	wantCode(t, db.DeleteCanned(agent, c.ID), crm.EFORBIDDEN)

	list, err := db.CannedResponses(agent)
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("agent reads %v, %v", list, err)
	}

	if c, err = db.UpdateCanned(manager, c.ID, crm.CannedUpdate{Body: ptr("Hello")}); err != nil || c.Title != "Shipping" || c.Body != "Hello" {
		t.Fatalf("updated %+v, %v", c, err)
	}
	_, err = db.UpdateCanned(manager, c.ID+1, crm.CannedUpdate{Body: ptr("Hello")})
	wantCode(t, err, crm.ENOTFOUND)
	_, err = db.CreateCanned(manager, &crm.CannedResponse{Title: "x", Body: "\xff"})
	wantCode(t, err, crm.EINVALID)

	// A restart keeps them.
	db.Reopen(t)
	if list, _ = db.CannedResponses(ctx); len(list) != 1 || list[0].Body != "Hello" {
		t.Fatalf("after reopen %v", list)
	}
	if err := db.DeleteCanned(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteCanned(ctx, c.ID), crm.ENOTFOUND)
}
