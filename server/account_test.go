package server_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/totp"

	"github.com/gorilla/websocket"
)

// invitation is what POST /api/v1/invitations answers.
type invitation struct {
	Invitation crm.Invitation `json:"invitation"`
	Link       string         `json:"link"`
	EmailSent  *bool          `json:"email_sent"`
}

// inviteToken is the token of an invitation link.
func inviteToken(t *testing.T, link string) string {
	t.Helper()
	_, token, ok := strings.Cut(link, "/#/invite/")
	if !ok || token == "" {
		t.Fatalf("link %q has no token", link)
	}
	return token
}

// TestInvitations: an admin invites, the invitee's browser reads the invitation and
// accepts it with a name and a password, which signs it in; the link works once.
func TestInvitations(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Shop")
	var inv invitation
	e.admin.mustDo("POST", "/api/v1/invitations", map[string]any{"email": "Nina@Example.com", "name": "Nina",
		"role": "manager", "inbox_ids": []int64{inbox}}, 201, &inv)
	if !strings.HasPrefix(inv.Link, e.srv.URL+"/#/invite/") || inv.Invitation.Email != "nina@example.com" ||
		inv.Invitation.Role != crm.RoleManager || inv.EmailSent != nil {
		t.Fatalf("invitation = %+v", inv)
	}
	token := inviteToken(t, inv.Link)
	var list struct{ Invitations []crm.Invitation }
	e.admin.mustDo("GET", "/api/v1/invitations", nil, 200, &list)
	if len(list.Invitations) != 1 || list.Invitations[0].Email != "nina@example.com" {
		t.Fatalf("invitations = %+v", list)
	}

	nina := e.anon()
	var check struct {
		Email, Name, Role string
		ExpiresAt         time.Time `json:"expires_at"`
	}
	nina.mustDo("POST", "/api/v1/invitations/check", map[string]string{"token": token}, 200, &check)
	if check.Email != "nina@example.com" || check.Name != "Nina" || check.Role != "manager" ||
		time.Until(check.ExpiresAt) < crm.InvitationTTL-time.Minute {
		t.Fatalf("check = %+v", check)
	}
	status, body := nina.do("POST", "/api/v1/invitations/accept", map[string]string{"token": token, "name": "Nina N", "password": "short"})
	if status != 400 || errCode(t, body) != "invalid" {
		t.Fatalf("short password: %d %s", status, body)
	}
	var signed struct {
		Agent crm.Agent
		CSRF  string `json:"csrf_token"`
	}
	nina.mustDo("POST", "/api/v1/invitations/accept", map[string]string{"token": token, "name": "Nina N",
		"password": "nina's own password"}, 200, &signed)
	if signed.Agent.Email != "nina@example.com" || signed.Agent.Name != "Nina N" || signed.Agent.Role != crm.RoleManager ||
		len(signed.Agent.InboxIDs) != 1 || signed.CSRF == "" {
		t.Fatalf("accepted = %+v", signed)
	}
	nina.csrf = signed.CSRF
	var me struct{ Agent crm.Agent }
	nina.mustDo("GET", "/api/v1/me", nil, 200, &me)
	if me.Agent.ID != signed.Agent.ID {
		t.Fatalf("me = %+v", me)
	}
	e.login("nina@example.com", "nina's own password")

	// Once only; the admin's list is empty again.
	for path, body := range map[string]map[string]string{
		"/api/v1/invitations/check":  {"token": token},
		"/api/v1/invitations/accept": {"token": token, "name": "X", "password": "another password"},
	} {
		status, body := e.anon().do("POST", path, body)
		if status != 404 || errCode(t, body) != "not_found" {
			t.Errorf("%s with a used link: %d %s", path, status, body)
		}
	}
	e.admin.mustDo("GET", "/api/v1/invitations", nil, 200, &list)
	if len(list.Invitations) != 0 {
		t.Fatalf("accepted invitation still listed: %+v", list)
	}

	// An existing agent's email is a conflict; bad input changes nothing; agents may not invite.
	for _, tt := range []struct {
		body   any
		status int
	}{
		{map[string]any{"email": "NINA@example.com"}, 409},
		{map[string]any{"email": "admin@test.example"}, 409},
		{map[string]any{"email": "nope"}, 400},
		{map[string]any{"email": "x@example.com", "role": "owner"}, 400},
		{map[string]any{"email": "x@example.com", "send_from_inbox_id": inbox}, 400}, // not an email inbox
		{map[string]any{"email": "x@example.com", "send_from_inbox_id": 999}, 400},
		{`{"email": "x@example.com", "password": "x"}`, 400},
	} {
		if status, body := e.admin.do("POST", "/api/v1/invitations", tt.body); status != tt.status {
			t.Errorf("invite %v: %d %s, want %d", tt.body, status, body, tt.status)
		}
	}
	e.admin.mustDo("GET", "/api/v1/invitations", nil, 200, &list)
	if len(list.Invitations) != 0 {
		t.Fatalf("refused invitations were stored: %+v", list)
	}
	agent := e.agent("agent@test.example", crm.RoleAgent)
	if status, _ := agent.do("POST", "/api/v1/invitations", map[string]any{"email": "y@example.com"}); status != 403 {
		t.Errorf("an agent invited: %d", status)
	}

	// Revoked: the link stops.
	e.admin.mustDo("POST", "/api/v1/invitations", map[string]any{"email": "olga@example.com"}, 201, &inv)
	e.admin.mustDo("DELETE", "/api/v1/invitations/"+itoa(inv.Invitation.ID), nil, 204, nil)
	if status, _ := e.anon().do("POST", "/api/v1/invitations/accept", map[string]string{"token": inviteToken(t, inv.Link),
		"name": "Olga", "password": "olga's password"}); status != 404 {
		t.Errorf("revoked link accepted: %d", status)
	}
}

// enrol sets up two-factor sign-in for the signed-in client and returns the secret and
// the recovery codes.
func enrol(t *testing.T, c *client) ([]byte, []string) {
	t.Helper()
	var setup struct {
		Key   string `json:"key"`
		URI   string `json:"otpauth_uri"`
		QRPNG string `json:"qr_png"`
	}
	c.mustDo("POST", "/api/v1/me/totp/setup", nil, 200, &setup)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Key)
	if err != nil || len(secret) != totp.SecretSize || !strings.HasPrefix(setup.URI, "otpauth://totp/Parley:") {
		t.Fatalf("setup = %+v (%v)", setup, err)
	}
	raw, err := base64.StdEncoding.DecodeString(setup.QRPNG)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("qr code is not a PNG to scan: %v", err)
	}
	if status, body := c.do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": "000000"}); status != 400 {
		t.Fatalf("a wrong code confirmed the app: %d %s", status, body)
	}
	var out struct {
		Codes []string `json:"recovery_codes"`
	}
	c.mustDo("POST", "/api/v1/me/totp/confirm", map[string]string{"code": totp.Code(secret, totp.Step(time.Now()))}, 200, &out)
	if len(out.Codes) != crm.RecoveryCodes {
		t.Fatalf("recovery codes = %q", out.Codes)
	}
	return secret, out.Codes
}

// login2 is a sign-in whose password step asks for a second one: the answer's step and
// pending token, and no cookie.
func (e *env) login2(email, password, wantStep string) (*client, string) {
	e.t.Helper()
	c := e.anon()
	var out struct {
		Step    string `json:"step"`
		Pending string `json:"pending_token"`
		CSRF    string `json:"csrf_token"`
	}
	c.mustDo("POST", "/api/v1/login", map[string]string{"email": email, "password": password}, 200, &out)
	if out.Step != wantStep || out.Pending == "" || out.CSRF != "" {
		e.t.Fatalf("password step = %+v, want step %s", out, wantStep)
	}
	if status, _ := c.do("GET", "/api/v1/me", nil); status != 401 {
		e.t.Fatalf("signed in after the password alone: %d", status)
	}
	return c, out.Pending
}

// TestTwoFactorSignIn: with an authenticator app set up, the password gives a pending
// token, not a session; a code of the app, once, or a recovery code, once, finishes the
// sign-in. Wrong codes are rate-limited as passwords are.
func TestTwoFactorSignIn(t *testing.T) {
	e := newEnv(t)
	dana := e.agent("dana@test.example", crm.RoleAgent)
	secret, codes := enrol(t, dana)

	c, pending := e.login2("dana@test.example", "password-123", "totp")
	// The pending token is no session.
	fake := e.anon()
	fake.hc.Jar.SetCookies(mustURL(t, e.srv.URL), []*http.Cookie{{Name: "parley_session", Value: pending}})
	if status, _ := fake.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("the pending token works as a session: %d", status)
	}
	for _, body := range []map[string]string{
		{"pending_token": pending, "code": "000000"},
		{"pending_token": pending, "code": totp.Code(secret, totp.Step(time.Now())+3)},
		{"pending_token": pending + "x", "code": totp.Code(secret, totp.Step(time.Now())+1)},
	} {
		if status, data := c.do("POST", "/api/v1/login/totp", body); status != 401 {
			t.Fatalf("second step %v: %d %s", body, status, data)
		}
	}
	if status, _ := c.do("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending}); status != 400 {
		t.Fatalf("second step without a code: %d", status)
	}
	code := totp.Code(secret, totp.Step(time.Now())+1) // the current step's went to confirming the app
	var signed struct {
		Agent crm.Agent
		CSRF  string `json:"csrf_token"`
	}
	c.mustDo("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending, "code": code}, 200, &signed)
	if signed.Agent.Email != "dana@test.example" || !signed.Agent.TOTPEnabled || signed.CSRF == "" {
		t.Fatalf("signed in = %+v", signed)
	}
	c.mustDo("GET", "/api/v1/me", nil, 200, nil)
	if status, _ := c.do("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending, "code": code}); status != 401 {
		t.Fatalf("a used pending token worked again: %d", status)
	}

	// The same code in another sign-in: refused, it was used.
	c2, pending2 := e.login2("dana@test.example", "password-123", "totp")
	if status, data := c2.do("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending2, "code": code}); status != 401 ||
		!strings.Contains(string(data), "used already") {
		t.Fatalf("a replayed code: %d %s", status, data)
	}
	var rec struct {
		Left int `json:"recovery_codes_left"`
	}
	c2.mustDo("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending2, "recovery_code": codes[0]}, 200, &rec)
	if rec.Left != crm.RecoveryCodes-1 {
		t.Fatalf("recovery codes left = %d", rec.Left)
	}
	c3, pending3 := e.login2("dana@test.example", "password-123", "totp")
	if status, _ := c3.do("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending3, "recovery_code": codes[0]}); status != 401 {
		t.Fatalf("a used recovery code worked again: %d", status)
	}

	// Guessing codes is rate-limited like passwords: 10 at once, then one every 6 s.
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		status, _ := c3.do("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending3, "code": "000000"})
		limited = status == 429
	}
	if !limited {
		t.Fatal("12 wrong codes in a row were not rate-limited")
	}

	// Turning it off needs the password.
	c.csrf = signed.CSRF
	if status, _ := c.do("POST", "/api/v1/me/totp/disable", map[string]string{"password": "wrong password"}); status != 400 {
		t.Fatalf("turned off with a wrong password: %d", status)
	}
	c.mustDo("POST", "/api/v1/me/totp/disable", map[string]string{"password": "password-123"}, 204, nil)
	e.login("dana@test.example", "password-123") // one step again
}

// TestRequireTwoFactor: once an admin requires it, an agent without an app sets one up at
// the next sign-in before any session; agents cannot turn it off, an admin can reset it.
func TestRequireTwoFactor(t *testing.T) {
	e := newEnv(t)
	dana := e.agent("dana@test.example", crm.RoleAgent)
	if status, _ := dana.do("PATCH", "/api/v1/settings/security", map[string]bool{"require_2fa": true}); status != 403 {
		t.Fatalf("an agent changed the security settings: %d", status)
	}
	var sec struct {
		Require bool `json:"require_2fa"`
	}
	e.admin.mustDo("PATCH", "/api/v1/settings/security", map[string]bool{"require_2fa": true}, 200, &sec)
	if !sec.Require {
		t.Fatal("not required")
	}
	dana.mustDo("GET", "/api/v1/me", nil, 200, nil) // the session of before goes on

	c, pending := e.login2("dana@test.example", "password-123", "totp_setup")
	if status, _ := c.do("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending, "code": "123456"}); status != 409 &&
		status != 400 {
		t.Fatalf("a code before any app was set up: %d", status)
	}
	var setup struct{ Key string }
	c.mustDo("POST", "/api/v1/login/totp/setup", map[string]string{"pending_token": pending}, 200, &setup)
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Key)
	var signed struct {
		Agent crm.Agent
		CSRF  string   `json:"csrf_token"`
		Codes []string `json:"recovery_codes"`
	}
	c.mustDo("POST", "/api/v1/login/totp", map[string]string{"pending_token": pending,
		"code": totp.Code(secret, totp.Step(time.Now()))}, 200, &signed)
	if !signed.Agent.TOTPEnabled || len(signed.Codes) != crm.RecoveryCodes || signed.CSRF == "" {
		t.Fatalf("set up at sign-in = %+v", signed)
	}
	c.csrf = signed.CSRF
	status, body := c.do("POST", "/api/v1/me/totp/disable", map[string]string{"password": "password-123"})
	if status != 409 {
		t.Fatalf("turned off while required: %d %s", status, body)
	}

	// A lost phone: an admin resets it, which signs the agent out everywhere.
	id := itoa(signed.Agent.ID)
	if status, _ := dana.do("DELETE", "/api/v1/agents/"+id+"/totp", nil); status != 403 {
		t.Fatalf("an agent reset two-factor sign-in: %d", status)
	}
	e.admin.mustDo("DELETE", "/api/v1/agents/"+id+"/totp", nil, 204, nil)
	if status, _ := c.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("still signed in after the reset: %d", status)
	}
	e.login2("dana@test.example", "password-123", "totp_setup") // set up anew at the next sign-in
}

// TestProfile: every agent changes its own name, notification choices, password and
// avatar; the avatar is an image any agent may fetch and nothing else.
func TestProfile(t *testing.T) {
	e := newEnv(t)
	dana := e.agent("dana@test.example", crm.RoleAgent)
	var prof struct {
		Agent         crm.Agent
		Notifications crm.Notifications
		TOTP          struct {
			Enabled  bool
			Required bool
		}
	}
	dana.mustDo("GET", "/api/v1/me/profile", nil, 200, &prof)
	if prof.Notifications != crm.DefaultNotifications() || prof.TOTP.Enabled || prof.Agent.Email != "dana@test.example" {
		t.Fatalf("profile = %+v", prof)
	}
	want := crm.Notifications{Assigned: true, Mentions: true, Email: true}
	dana.mustDo("PATCH", "/api/v1/me", map[string]any{"name": "Dana Doe", "notifications": want}, 200, &prof)
	if prof.Agent.Name != "Dana Doe" || prof.Notifications != want {
		t.Fatalf("updated profile = %+v", prof)
	}
	if status, _ := dana.do("PATCH", "/api/v1/me", map[string]any{"role": "admin"}); status != 400 {
		t.Fatalf("an agent changed its role: %d", status)
	}
	if status, _ := dana.do("PATCH", "/api/v1/me", map[string]any{"name": ""}); status != 400 {
		t.Fatalf("an empty name: %d", status)
	}

	// Avatar: a PNG by its bytes, whatever the client says; HTML is refused.
	pngBytes := tinyPNG(t)
	status, body := dana.doRaw("PUT", "/api/v1/me/avatar", "text/html", pngBytes)
	var a crm.Agent
	if status != 200 || jsonInto(body, &a) != nil || a.Avatar == "" {
		t.Fatalf("set avatar: %d %s", status, body)
	}
	if status, _ := dana.doRaw("PUT", "/api/v1/me/avatar", "image/png", []byte("<html><script>alert(1)</script>")); status != 400 {
		t.Fatalf("HTML as an avatar: %d", status)
	}
	if status, _ := dana.doRaw("PUT", "/api/v1/me/avatar", "image/png", append(pngBytes, make([]byte, crm.MaxAvatarSize)...)); status != 413 {
		t.Fatalf("a too large avatar: %d", status)
	}
	other := e.agent("olga@test.example", crm.RoleAgent)
	resp := other.get("/api/v1/agents/" + itoa(a.ID) + "/avatar?v=" + a.Avatar)
	if resp.status != 200 || resp.header.Get("Content-Type") != "image/png" || !bytes.Equal(resp.body, pngBytes) ||
		!strings.Contains(resp.header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("avatar served: %d %v", resp.status, resp.header)
	}
	var agents struct {
		Agents []struct {
			ID     int64
			Avatar string
		}
	}
	other.mustDo("GET", "/api/v1/agents", nil, 200, &agents)
	found := false
	for _, x := range agents.Agents {
		found = found || (x.ID == a.ID && x.Avatar == a.Avatar)
	}
	if !found {
		t.Fatalf("colleagues do not see the avatar: %+v", agents)
	}
	if status, _ := e.anon().do("GET", "/api/v1/agents/"+itoa(a.ID)+"/avatar", nil); status != 401 {
		t.Fatalf("avatar without a session: %d", status)
	}
	dana.mustDo("DELETE", "/api/v1/me/avatar", nil, 200, &a)
	if a.Avatar != "" || other.get("/api/v1/agents/"+itoa(a.ID)+"/avatar").status != 404 {
		t.Fatalf("avatar removed: %+v", a)
	}

	// Password: the current one first; then every other browser is signed out and this
	// one goes on with a new session.
	phone := e.login("dana@test.example", "password-123")
	if status, _ := dana.do("POST", "/api/v1/me/password", map[string]string{"current_password": "wrong-password",
		"new_password": "a new password"}); status != 400 {
		t.Fatalf("changed with a wrong current password: %d", status)
	}
	var signed struct {
		CSRF string `json:"csrf_token"`
	}
	dana.mustDo("POST", "/api/v1/me/password", map[string]string{"current_password": "password-123",
		"new_password": "a new password"}, 200, &signed)
	dana.csrf = signed.CSRF
	dana.mustDo("GET", "/api/v1/me", nil, 200, nil)
	dana.mustDo("PATCH", "/api/v1/me", map[string]any{"name": "Dana D"}, 200, nil)
	if status, _ := phone.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("the other browser is still signed in: %d", status)
	}
	e.login("dana@test.example", "a new password")
	if status, _ := e.bearer("dana@test.example").do("POST", "/api/v1/me/password", map[string]string{
		"current_password": "a new password", "new_password": "token's password"}); status != 403 {
		t.Fatalf("an API token changed the password: %d", status)
	}
}

// TestSessionsList: an agent sees its browsers, signs one out, or all but this one; the
// sockets of ended sessions close at once.
func TestSessionsList(t *testing.T) {
	e := newHubEnv(t)
	inA := e.inbox("api", "Shop A")
	laptop := e.agent("alice@test.example", crm.RoleAgent, inA)
	phone := e.login("alice@test.example", "password-123")
	tablet := e.login("alice@test.example", "password-123")
	onPhone, onTablet := e.dial(phone), e.dial(tablet)

	var list struct{ Sessions []crm.Session }
	laptop.mustDo("GET", "/api/v1/me/sessions", nil, 200, &list)
	if len(list.Sessions) != 3 {
		t.Fatalf("sessions = %+v", list)
	}
	var current, tabletID string
	for _, s := range list.Sessions {
		if s.Current {
			current = s.ID
		}
		if !strings.HasPrefix(s.UserAgent, "Go-http-client") || s.IP != "127.0.0.1" {
			t.Errorf("session %+v lacks its browser", s)
		}
	}
	var tlist struct{ Sessions []crm.Session }
	tablet.mustDo("GET", "/api/v1/me/sessions", nil, 200, &tlist)
	for _, s := range tlist.Sessions {
		if s.Current {
			tabletID = s.ID
		}
	}
	if current == "" || tabletID == "" || current == tabletID {
		t.Fatalf("current sessions %q and %q", current, tabletID)
	}

	// One browser signed out from another: its socket closes.
	laptop.mustDo("DELETE", "/api/v1/me/sessions/"+tabletID, nil, 204, nil)
	var ce *websocket.CloseError
	if err := onTablet.closed(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "signed out" {
		t.Fatalf("socket of the ended session: %v", err)
	}
	if status, _ := tablet.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("the ended session still works: %d", status)
	}
	if status, _ := laptop.do("DELETE", "/api/v1/me/sessions/"+tabletID, nil); status != 404 {
		t.Fatalf("ending it again: %d", status)
	}
	// Another agent's session is not found.
	other := e.agent("bob@test.example", crm.RoleAgent, inA)
	if status, _ := other.do("DELETE", "/api/v1/me/sessions/"+current, nil); status != 404 {
		t.Fatalf("another agent's session: %d", status)
	}

	// Everywhere else: the phone goes, the laptop stays.
	var ended struct{ Ended int }
	laptop.mustDo("DELETE", "/api/v1/me/sessions", nil, 200, &ended)
	if ended.Ended != 1 {
		t.Fatalf("ended %d sessions", ended.Ended)
	}
	if err := onPhone.closed(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("socket of the phone: %v", err)
	}
	laptop.mustDo("GET", "/api/v1/me", nil, 200, nil)
	laptop.mustDo("GET", "/api/v1/me/sessions", nil, 200, &list)
	if len(list.Sessions) != 1 || !list.Sessions[0].Current {
		t.Fatalf("sessions left = %+v", list)
	}
}

// TestSetupChecklist: the first-run checklist ticks from what exists, and an admin can
// put it away.
func TestSetupChecklist(t *testing.T) {
	e := newEnv(t)
	type state struct {
		FirstRun  bool `json:"first_run"`
		Dismissed bool
		Items     []struct {
			ID   string
			Done bool
		}
	}
	done := func() string {
		var s state
		e.admin.mustDo("GET", "/api/v1/setup", nil, 200, &s)
		var out []string
		for _, it := range s.Items {
			if it.Done {
				out = append(out, it.ID)
			}
		}
		if s.FirstRun {
			out = append(out, "first_run")
		}
		return strings.Join(out, " ")
	}
	if got := done(); got != "first_run" {
		t.Fatalf("fresh install: %q", got)
	}
	ctx := ctxSystem()
	for _, kind := range []string{crm.KindEmail, crm.KindChat} {
		if _, err := e.db.CreateInbox(ctx, &crm.Inbox{Kind: kind, Name: kind}); err != nil {
			t.Fatal(err)
		}
	}
	if got := done(); got != "email chat" {
		t.Fatalf("with email and chat inboxes: %q", got)
	}
	e.admin.mustDo("POST", "/api/v1/invitations", map[string]any{"email": "new@example.com"}, 201, nil)
	if _, err := e.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindPhone, Name: "phone"}); err != nil {
		t.Fatal(err)
	}
	if got := done(); got != "email chat phone team" {
		t.Fatalf("with a phone inbox and an invitation: %q", got)
	}
	if _, err := e.db.CreateOrderSource(ctx, &crm.OrderSource{Kind: crm.OrderSourceWebhook, Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	if got := done(); got != "email chat phone orders team" {
		t.Fatalf("with an order source: %q", got)
	}
	var s state
	e.admin.mustDo("PATCH", "/api/v1/setup", map[string]bool{"dismissed": true}, 200, &s)
	if !s.Dismissed {
		t.Fatal("not dismissed")
	}
	if status, _ := e.agent("agent@test.example", crm.RoleAgent).do("GET", "/api/v1/setup", nil); status != 403 {
		t.Fatalf("an agent read the checklist: %d", status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// tinyPNG is a 2×2 PNG image.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jsonInto(data []byte, v any) error { return json.Unmarshal(data, v) }

// doRaw sends body as is with the given Content-Type.
func (c *client) doRaw(method, path, contentType string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// get fetches path and keeps the headers.
func (c *client) get(path string) rawResponse {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return rawResponse{resp.StatusCode, resp.Header, data}
}
