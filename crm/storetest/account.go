package storetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/totp"
)

func init() {
	add("Invitations", testInvitations)
	add("SessionList", testSessionList)
	add("PendingLogins", testPendingLogins)
	add("TOTP", testTOTP)
	add("Profile", testProfile)
	add("AccountSettings", testAccountSettings)
}

// testInvitations: an invitation's link works once, for 7 days, and never for an email
// that has an agent; inviting again replaces the link; accepting makes the agent.
func testInvitations(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	admin := MustCreateAgent(t, db, "admin@example.com", crm.RoleAdmin)
	actx := crm.WithAgent(ctx, admin)
	mail := MustCreateInbox(t, db, crm.KindEmail, "Mail")

	for _, tt := range []struct {
		name string
		ni   *crm.NewInvitation
		code string
	}{
		{"agent exists", &crm.NewInvitation{Email: "ADMIN@example.com"}, crm.ECONFLICT},
		{"bad email", &crm.NewInvitation{Email: "dana"}, crm.EINVALID},
		{"bad role", &crm.NewInvitation{Email: "dana@example.com", Role: "root"}, crm.EINVALID},
		{"unknown inbox", &crm.NewInvitation{Email: "dana@example.com", InboxIDs: []int64{999}}, crm.EINVALID},
		{"long name", &crm.NewInvitation{Email: "dana@example.com", Name: strings.Repeat("x", 101)}, crm.EINVALID},
	} {
		_, _, err := db.CreateInvitation(actx, tt.ni)
		if crm.ErrorCode(err) != tt.code {
			t.Errorf("%s: error %v, want %s", tt.name, err, tt.code)
		}
	}
	if list, _ := db.Invitations(ctx); len(list) != 0 {
		t.Fatalf("refused invitations were stored: %+v", list)
	}

	first, _, err := db.CreateInvitation(actx, &crm.NewInvitation{Email: " Dana@Example.com ", Name: "Dana", Role: crm.RoleManager, InboxIDs: []int64{mail.ID}})
	if err != nil {
		t.Fatal(err)
	}
	token, inv, err := db.CreateInvitation(actx, &crm.NewInvitation{Email: "dana@example.com", Name: "Dana D", InboxIDs: []int64{mail.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "dana@example.com" || inv.Role != crm.RoleAgent || inv.Name != "Dana D" || inv.InvitedBy != admin.ID ||
		!slices.Equal(inv.InboxIDs, []int64{mail.ID}) || !inv.ExpiresAt.Equal(db.Clock.Now().Add(crm.InvitationTTL)) {
		t.Fatalf("invitation = %+v", inv)
	}
	if len(token) < 40 || token == first {
		t.Fatalf("token %q", token)
	}
	_, err = db.InvitationByToken(ctx, first)
	wantCode(t, err, crm.ENOTFOUND) // replaced
	if got, err := db.InvitationByToken(ctx, token); err != nil || got.ID != inv.ID {
		t.Fatalf("by token = %+v, %v", got, err)
	}
	if list, err := db.Invitations(ctx); err != nil || len(list) != 1 || list[0].ID != inv.ID {
		t.Fatalf("invitations = %+v, %v", list, err)
	}
	if rows := db.Raw(t, `SELECT count(*) FROM invitations WHERE token_hash = ?`, []byte(token)); fmt.Sprint(rows[0][0]) != "0" {
		t.Fatal("the invitation's token is stored as it is")
	}

	_, err = db.AcceptInvitation(ctx, token, "Dana", "short")
	wantCode(t, err, crm.EINVALID)
	_, err = db.AcceptInvitation(ctx, token+"x", "Dana", "long enough password")
	wantCode(t, err, crm.ENOTFOUND)
	a, err := db.AcceptInvitation(ctx, token, " Dana Doe ", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "dana@example.com" || a.Name != "Dana Doe" || a.Role != crm.RoleAgent || !slices.Equal(a.InboxIDs, []int64{mail.ID}) {
		t.Fatalf("agent = %+v", a)
	}
	if got, err := db.Authenticate(ctx, "dana@example.com", "long enough password"); err != nil || got.ID != a.ID {
		t.Fatalf("sign in as the invited agent: %v, %v", got, err)
	}
	_, err = db.AcceptInvitation(ctx, token, "Dana", "long enough password")
	wantCode(t, err, crm.ENOTFOUND) // single use
	if list, _ := db.Invitations(ctx); len(list) != 0 {
		t.Fatalf("accepted invitation still listed: %+v", list)
	}
	_, _, err = db.CreateInvitation(actx, &crm.NewInvitation{Email: "dana@example.com"})
	wantCode(t, err, crm.ECONFLICT)

	// Seven days, then the link tells it expired.
	token, _, err = db.CreateInvitation(actx, &crm.NewInvitation{Email: "eve@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	db.Clock.Add(crm.InvitationTTL - time.Second)
	if _, err := db.InvitationByToken(ctx, token); err != nil {
		t.Fatalf("a day-old invitation: %v", err)
	}
	db.Clock.Add(time.Second)
	_, err = db.InvitationByToken(ctx, token)
	wantCode(t, err, crm.ENOTFOUND)
	if !strings.Contains(crm.ErrorMessage(err), "expired") {
		t.Errorf("expired message = %q", crm.ErrorMessage(err))
	}
	_, err = db.AcceptInvitation(ctx, token, "Eve", "long enough password")
	wantCode(t, err, crm.ENOTFOUND)
	if list, _ := db.Invitations(ctx); len(list) != 1 || !list[0].Expired(db.Clock.Now()) {
		t.Fatalf("expired invitation not listed as such: %+v", list)
	}

	// Revoked: the link stops.
	token, inv, _ = db.CreateInvitation(actx, &crm.NewInvitation{Email: "eve@example.com"})
	if err := db.RevokeInvitation(actx, inv.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.AcceptInvitation(ctx, token, "Eve", "long enough password")
	wantCode(t, err, crm.ENOTFOUND)
	wantCode(t, db.RevokeInvitation(actx, inv.ID), crm.ENOTFOUND)

	// An agent made another way since the invitation: the link is refused.
	token, _, _ = db.CreateInvitation(actx, &crm.NewInvitation{Email: "fay@example.com"})
	MustCreateAgent(t, db, "fay@example.com", crm.RoleAgent)
	_, err = db.AcceptInvitation(ctx, token, "Fay", "long enough password")
	wantCode(t, err, crm.ECONFLICT)
}

// testSessionList: an agent's sessions say where and when they were opened and last
// seen; one ends by its id, or all but the current one.
func testSessionList(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	a := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent)
	b := MustCreateAgent(t, db, "bob@example.com", crm.RoleAgent)
	laptop, _, err := db.StartSession(ctx, a.ID, time.Hour, crm.SessionInfo{UserAgent: "Firefox on Linux", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	db.Clock.Add(time.Minute)
	phone, _, err := db.StartSession(ctx, a.ID, time.Hour, crm.SessionInfo{UserAgent: "Safari on iPhone", IP: "198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := db.StartSession(ctx, b.ID, time.Hour, crm.SessionInfo{})
	start := db.Clock.Now()

	list, err := db.Sessions(ctx, a.ID, laptop)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions = %+v, %v", list, err)
	}
	if list[0].UserAgent != "Safari on iPhone" || list[0].IP != "198.51.100.7" || list[0].Current ||
		list[1].UserAgent != "Firefox on Linux" || !list[1].Current || list[0].ID == list[1].ID || len(list[0].ID) != 16 {
		t.Fatalf("sessions = %+v %+v", list[0], list[1])
	}
	if strings.Contains(laptop, list[1].ID) || strings.Contains(phone, list[0].ID) {
		t.Fatal("a session's id is part of its token")
	}

	// Use moves last_seen_at on, at most once a minute.
	db.Clock.Add(2 * time.Minute)
	if _, _, err := db.SessionAgent(ctx, phone); err != nil {
		t.Fatal(err)
	}
	list, _ = db.Sessions(ctx, a.ID, "")
	if !list[0].LastSeenAt.Equal(db.Clock.Now()) || !list[1].LastSeenAt.Before(start) {
		t.Fatalf("last seen = %v and %v, want %v and before %v", list[0].LastSeenAt, list[1].LastSeenAt, db.Clock.Now(), start)
	}

	wantCode(t, db.EndSession(ctx, b.ID, list[0].ID), crm.ENOTFOUND) // another agent's session
	wantCode(t, db.EndSession(ctx, a.ID, "0000000000000000"), crm.ENOTFOUND)
	if err := db.EndSession(ctx, a.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.SessionAgent(ctx, phone)
	wantCode(t, err, crm.EUNAUTHORIZED)
	if _, _, err := db.SessionAgent(ctx, laptop); err != nil {
		t.Fatalf("the other session ended too: %v", err)
	}

	tablet, _, _ := db.StartSession(ctx, a.ID, time.Hour, crm.SessionInfo{UserAgent: "tablet"})
	n, err := db.EndOtherSessions(ctx, a.ID, laptop)
	if err != nil || n != 1 {
		t.Fatalf("end others = %d, %v", n, err)
	}
	_, _, err = db.SessionAgent(ctx, tablet)
	wantCode(t, err, crm.EUNAUTHORIZED)
	if _, _, err := db.SessionAgent(ctx, laptop); err != nil {
		t.Fatalf("the kept session ended: %v", err)
	}
	if _, _, err := db.SessionAgent(ctx, other); err != nil {
		t.Fatalf("another agent's session ended: %v", err)
	}
	if n, err := db.EndOtherSessions(ctx, a.ID, ""); err != nil || n != 1 {
		t.Fatalf("end all = %d, %v", n, err)
	}
	if list, _ := db.Sessions(ctx, a.ID, ""); len(list) != 0 {
		t.Fatalf("sessions left: %+v", list)
	}
}

// testPendingLogins: the step between the password and the code is no session, expires,
// and ends with the agent's disabling.
func testPendingLogins(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	a := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent)
	_, err := db.CreatePendingLogin(ctx, a.ID, "root")
	wantCode(t, err, crm.EINVALID)
	_, err = db.CreatePendingLogin(ctx, 999, crm.LoginTOTP)
	wantCode(t, err, crm.ENOTFOUND)
	token, err := db.CreatePendingLogin(ctx, a.ID, crm.LoginTOTP)
	if err != nil {
		t.Fatal(err)
	}
	if got, purpose, err := db.PendingLogin(ctx, token); err != nil || got.ID != a.ID || purpose != crm.LoginTOTP {
		t.Fatalf("pending = %v %q %v", got, purpose, err)
	}
	_, _, err = db.SessionAgent(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED) // not a session
	for _, bad := range []string{"", token + "x"} {
		_, _, err := db.PendingLogin(ctx, bad)
		wantCode(t, err, crm.EUNAUTHORIZED)
	}
	if err := db.DeletePendingLogin(ctx, token); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.PendingLogin(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED)

	enrol, _ := db.CreatePendingLogin(ctx, a.ID, crm.LoginEnrol)
	db.Clock.Add(crm.PendingLoginTTL)
	_, _, err = db.PendingLogin(ctx, enrol)
	wantCode(t, err, crm.EUNAUTHORIZED)

	token, _ = db.CreatePendingLogin(ctx, a.ID, crm.LoginTOTP)
	if _, err := db.UpdateAgent(ctx, a.ID, crm.AgentUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.PendingLogin(ctx, token)
	wantCode(t, err, crm.EUNAUTHORIZED)
}

// testTOTP: setting an app up needs one of its codes; then each code works once, within
// one step either side; recovery codes work once; the secret and the codes are not
// stored as they are.
func testTOTP(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	a := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent)
	code := func(secret []byte, steps int64) string {
		return totp.Code(secret, totp.Step(db.Clock.Now())+steps)
	}
	wantCode(t, db.VerifyTOTP(ctx, a.ID, "123456"), crm.EUNAUTHORIZED) // off
	_, err := db.ConfirmTOTP(ctx, a.ID, "123456")
	wantCode(t, err, crm.ECONFLICT) // nothing begun
	_, err = db.BeginTOTP(ctx, 999)
	wantCode(t, err, crm.ENOTFOUND)

	old, err := db.BeginTOTP(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := db.BeginTOTP(ctx, a.ID) // again: a new secret replaces the first
	if err != nil || len(secret) != totp.SecretSize || bytes.Equal(old, secret) {
		t.Fatalf("secret %x, %v", secret, err)
	}
	if got, _ := db.Agent(ctx, a.ID); got.TOTPEnabled {
		t.Fatal("on before a code confirmed it")
	}
	wantCode(t, db.VerifyTOTP(ctx, a.ID, code(secret, 0)), crm.EUNAUTHORIZED) // not confirmed yet
	_, err = db.ConfirmTOTP(ctx, a.ID, code(old, 0))
	wantCode(t, err, crm.EINVALID)
	_, err = db.ConfirmTOTP(ctx, a.ID, code(secret, 2))
	wantCode(t, err, crm.EINVALID)
	first := code(secret, 0)
	codes, err := db.ConfirmTOTP(ctx, a.ID, first)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != crm.RecoveryCodes || len(codes[0]) != 19 || slices.Contains(codes[1:], codes[0]) {
		t.Fatalf("recovery codes = %q", codes)
	}
	if got, _ := db.Agent(ctx, a.ID); !got.TOTPEnabled {
		t.Fatal("not on after confirming")
	}
	_, err = db.BeginTOTP(ctx, a.ID)
	wantCode(t, err, crm.ECONFLICT)

	// The secret and the recovery codes at rest.
	rows := db.Raw(t, `SELECT totp_secret FROM agents WHERE id = ?`, a.ID)
	sealed, _ := rows[0][0].([]byte)
	if len(sealed) == 0 || bytes.Contains(sealed, secret) || bytes.Contains(sealed, []byte(totp.Key(secret))) {
		t.Fatalf("the secret is not sealed at rest: %q", sealed)
	}
	for _, row := range db.Raw(t, `SELECT code_hash FROM recovery_codes WHERE agent_id = ?`, a.ID) {
		h, _ := row[0].([]byte)
		for _, c := range codes {
			if bytes.Contains(h, []byte(c)) || bytes.Contains(h, []byte(strings.ReplaceAll(c, "-", ""))) {
				t.Fatal("a recovery code is stored as it is")
			}
		}
	}

	// The code that confirmed is used; so is any of its step or before.
	wantCode(t, db.VerifyTOTP(ctx, a.ID, first), crm.EUNAUTHORIZED)
	wantCode(t, db.VerifyTOTP(ctx, a.ID, code(secret, -1)), crm.EUNAUTHORIZED)
	wantCode(t, db.VerifyTOTP(ctx, a.ID, "000000"), crm.EUNAUTHORIZED)
	wantCode(t, db.VerifyTOTP(ctx, a.ID, code(secret, 2)), crm.EUNAUTHORIZED) // too far ahead
	if err := db.VerifyTOTP(ctx, a.ID, code(secret, 1)); err != nil {
		t.Fatalf("the next step's code (a phone's clock ahead): %v", err)
	}
	wantCode(t, db.VerifyTOTP(ctx, a.ID, code(secret, 1)), crm.EUNAUTHORIZED) // replay
	db.Clock.Add(totp.Period * 2)
	if err := db.VerifyTOTP(ctx, a.ID, code(secret, -0)); err != nil {
		t.Fatalf("a later code: %v", err)
	}

	// Recovery codes: once each, typed in any case, with or without dashes.
	left, err := db.UseRecoveryCode(ctx, a.ID, strings.ToUpper(strings.ReplaceAll(codes[3], "-", " ")))
	if err != nil || left != crm.RecoveryCodes-1 {
		t.Fatalf("recovery code: %d, %v", left, err)
	}
	_, err = db.UseRecoveryCode(ctx, a.ID, codes[3])
	wantCode(t, err, crm.EUNAUTHORIZED)
	_, err = db.UseRecoveryCode(ctx, a.ID, "aaaa-bbbb-cccc-dddd")
	wantCode(t, err, crm.EUNAUTHORIZED)
	if n, err := db.RecoveryCodesLeft(ctx, a.ID); err != nil || n != crm.RecoveryCodes-1 {
		t.Fatalf("left = %d, %v", n, err)
	}
	fresh, err := db.NewRecoveryCodes(ctx, a.ID)
	if err != nil || len(fresh) != crm.RecoveryCodes {
		t.Fatalf("new codes = %q, %v", fresh, err)
	}
	_, err = db.UseRecoveryCode(ctx, a.ID, codes[4])
	wantCode(t, err, crm.EUNAUTHORIZED) // the old set is gone
	if _, err := db.UseRecoveryCode(ctx, a.ID, fresh[0]); err != nil {
		t.Fatal(err)
	}

	if err := db.DisableTOTP(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	db.Clock.Add(totp.Period)
	wantCode(t, db.VerifyTOTP(ctx, a.ID, code(secret, 0)), crm.EUNAUTHORIZED)
	if got, _ := db.Agent(ctx, a.ID); got.TOTPEnabled {
		t.Fatal("on after turning off")
	}
	if n, _ := db.RecoveryCodesLeft(ctx, a.ID); n != 0 {
		t.Fatalf("%d recovery codes left after turning off", n)
	}
	_, err = db.NewRecoveryCodes(ctx, a.ID)
	wantCode(t, err, crm.ECONFLICT)
	wantCode(t, db.DisableTOTP(ctx, 999), crm.ENOTFOUND)

	// Set up again from the start: a code of the new secret confirms it.
	again, _ := db.BeginTOTP(ctx, a.ID)
	if _, err := db.ConfirmTOTP(ctx, a.ID, code(again, 0)); err != nil {
		t.Fatalf("set up again: %v", err)
	}
}

// testProfile: notification choices and the avatar.
func testProfile(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := sys()
	a := MustCreateAgent(t, db, "ann@example.com", crm.RoleAgent)
	n, err := db.Notifications(ctx, a.ID)
	if err != nil || *n != crm.DefaultNotifications() {
		t.Fatalf("default notifications = %+v, %v", n, err)
	}
	want := crm.Notifications{Assigned: true, Email: true}
	if err := db.SetNotifications(ctx, a.ID, &want); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Notifications(ctx, a.ID); err != nil || *n != want {
		t.Fatalf("notifications = %+v, %v; want %+v", n, err, want)
	}
	wantCode(t, db.SetNotifications(ctx, 999, &want), crm.ENOTFOUND)
	_, err = db.Notifications(ctx, 999)
	wantCode(t, err, crm.ENOTFOUND)

	if a.Avatar != "" {
		t.Fatalf("a new agent has avatar %q", a.Avatar)
	}
	_, _, err = db.Avatar(ctx, a.ID)
	wantCode(t, err, crm.ENOTFOUND)
	png := []byte("\x89PNG\r\n\x1a\n fake image one")
	got, err := db.SetAvatar(ctx, a.ID, png, "image/png")
	if err != nil || got.Avatar == "" {
		t.Fatalf("set avatar = %+v, %v", got, err)
	}
	typ, f, err := db.Avatar(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	f.Close()
	if typ != "image/png" || !bytes.Equal(data, png) {
		t.Fatalf("avatar = %s %q", typ, data)
	}
	other, err := db.SetAvatar(ctx, a.ID, []byte("\x89PNG\r\n\x1a\n fake image two"), "image/png")
	if err != nil || other.Avatar == got.Avatar || other.Avatar == "" {
		t.Fatalf("a new image keeps the tag: %q, %q, %v", got.Avatar, other.Avatar, err)
	}
	if listed, _ := db.Agent(ctx, a.ID); listed.Avatar != other.Avatar {
		t.Fatalf("agent avatar = %q, want %q", listed.Avatar, other.Avatar)
	}
	_, err = db.SetAvatar(ctx, a.ID, make([]byte, crm.MaxAvatarSize+1), "image/png")
	wantCode(t, err, crm.ETOOLARGE)
	_, err = db.SetAvatar(ctx, a.ID, []byte("<svg/>"), "text/html")
	wantCode(t, err, crm.EINVALID)
	_, err = db.SetAvatar(ctx, 999, png, "image/png")
	wantCode(t, err, crm.ENOTFOUND)
	if got, err := db.SetAvatar(ctx, a.ID, nil, ""); err != nil || got.Avatar != "" {
		t.Fatalf("remove avatar = %+v, %v", got, err)
	}
	_, _, err = db.Avatar(ctx, a.ID)
	wantCode(t, err, crm.ENOTFOUND)
}

func testAccountSettings(t *testing.T, open Opener) {
	db := open(t, Options{})
	ctx := context.Background()
	ctx = crm.AsSystem(ctx)
	s, err := db.SecuritySettings(ctx)
	if err != nil || s.RequireTOTP {
		t.Fatalf("default security = %+v, %v", s, err)
	}
	if err := db.SetSecuritySettings(ctx, &crm.SecuritySettings{RequireTOTP: true}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.SecuritySettings(ctx); err != nil || !s.RequireTOTP {
		t.Fatalf("security = %+v, %v", s, err)
	}
	if d, err := db.SetupDismissed(ctx); err != nil || d {
		t.Fatalf("dismissed = %v, %v", d, err)
	}
	if err := db.SetSetupDismissed(ctx, true); err != nil {
		t.Fatal(err)
	}
	if d, err := db.SetupDismissed(ctx); err != nil || !d {
		t.Fatalf("dismissed = %v, %v", d, err)
	}
}
