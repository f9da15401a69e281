package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"parley/crm"
)

func init() {
	add("OAuthGrant", testOAuthGrant)
	add("OAuthState", testOAuthState)
}

func testOAuthGrant(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindEmail, "Gmail")
	if _, err := db.OAuthGrant(ctx, in.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("grant before a sign-in: %v, want not_found", err)
	}
	expiry := db.Clock.Now().Add(time.Hour).Truncate(time.Millisecond)
	g, err := db.SaveOAuthGrant(ctx, &crm.OAuthGrant{InboxID: in.ID, Provider: "google", Account: "shop@gmail.test",
		RefreshToken: "refresh-secret-1", AccessToken: "access-secret-1", Expiry: expiry})
	if err != nil {
		t.Fatal(err)
	}
	if g.Version != 1 || g.RefreshToken != "refresh-secret-1" || g.AccessToken != "access-secret-1" ||
		!g.Expiry.Equal(expiry) || g.Account != "shop@gmail.test" || g.Error != "" {
		t.Fatalf("saved grant = %+v", g)
	}
	// The tokens are sealed at rest.
	row := db.Raw(t, `SELECT tokens FROM oauth_grants WHERE inbox_id = ?`, in.ID)[0]
	if b := []byte(fmt.Sprint(row[0])); bytes.Contains(b, []byte("refresh-secret-1")) || bytes.Contains(b, []byte("access-secret-1")) {
		t.Fatal("tokens are stored in the clear")
	}

	// A refresh saves the version it read; a second refresh from the same read loses.
	refreshed := *g
	refreshed.AccessToken, refreshed.Expiry = "access-secret-2", expiry.Add(time.Hour)
	g2, err := db.SaveOAuthGrant(ctx, &refreshed)
	if err != nil || g2.Version != 2 || g2.AccessToken != "access-secret-2" {
		t.Fatalf("refresh = %+v, %v", g2, err)
	}
	if _, err := db.SaveOAuthGrant(ctx, &refreshed); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Fatalf("a refresh of an old version: %v, want conflict", err)
	}
	// A failed refresh records why; a new sign-in (version 0) replaces the grant.
	failed := *g2
	failed.Error = "invalid_grant: Token has been expired or revoked."
	if g3, err := db.SaveOAuthGrant(ctx, &failed); err != nil || g3.Error != failed.Error {
		t.Fatalf("failed grant = %+v, %v", g3, err)
	}
	g4, err := db.SaveOAuthGrant(ctx, &crm.OAuthGrant{InboxID: in.ID, Provider: "microsoft", Account: "desk@contoso.test",
		RefreshToken: "refresh-secret-3", Expiry: expiry})
	if err != nil || g4.Version != 4 || g4.Error != "" || g4.Provider != "microsoft" || g4.AccessToken != "" {
		t.Fatalf("new sign-in = %+v, %v", g4, err)
	}
	if got, err := db.OAuthGrant(ctx, in.ID); err != nil || got.RefreshToken != "refresh-secret-3" || got.Version != 4 {
		t.Fatalf("read back = %+v, %v", got, err)
	}

	for _, bad := range []*crm.OAuthGrant{
		{InboxID: in.ID, Provider: "google"},
		{InboxID: in.ID, RefreshToken: "x"},
		{Provider: "google", RefreshToken: "x"},
	} {
		if _, err := db.SaveOAuthGrant(ctx, bad); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("save %+v: %v, want invalid", bad, err)
		}
	}
	if _, err := db.SaveOAuthGrant(ctx, &crm.OAuthGrant{InboxID: 999, Provider: "google", RefreshToken: "x"}); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("grant of an unknown inbox: %v, want not_found", err)
	}
}

func testOAuthState(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := crm.AsSystem(context.Background())
	in := MustCreateInbox(t, db, crm.KindEmail, "Gmail")
	st := &crm.OAuthState{State: "state-0123456789abcdef", InboxID: in.ID, Provider: "google",
		Verifier: "verifier-secret-0123456789", AgentID: 1, SessionHash: "abc123"}
	if err := db.CreateOAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if rows := db.Raw(t, `SELECT count(*) FROM oauth_states WHERE verifier = ?`, []byte(st.Verifier)); fmt.Sprint(rows[0][0]) != "0" {
		t.Fatal("the verifier is stored in the clear")
	}
	got, err := db.TakeOAuthState(ctx, st.State)
	if err != nil || got.InboxID != in.ID || got.Provider != "google" || got.Verifier != st.Verifier ||
		got.AgentID != 1 || got.SessionHash != "abc123" {
		t.Fatalf("taken state = %+v, %v", got, err)
	}
	if _, err := db.TakeOAuthState(ctx, st.State); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("a state taken twice: %v, want not_found", err)
	}

	// A state expires after crm.OAuthStateTTL.
	late := *st
	late.State = "state-late-0123456789"
	if err := db.CreateOAuthState(ctx, &late); err != nil {
		t.Fatal(err)
	}
	db.Clock.Add(crm.OAuthStateTTL + time.Second)
	if _, err := db.TakeOAuthState(ctx, late.State); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("an expired state: %v, want not_found", err)
	}
	if _, err := db.TakeOAuthState(ctx, "never-issued-0123456789"); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("an unknown state: %v, want not_found", err)
	}
	bad := *st
	bad.Verifier = ""
	if err := db.CreateOAuthState(ctx, &bad); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("a state without a verifier: %v, want invalid", err)
	}
	bad = *st
	bad.InboxID = 999
	if err := db.CreateOAuthState(ctx, &bad); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("a state of an unknown inbox: %v, want not_found", err)
	}
}
