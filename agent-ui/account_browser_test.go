package agentui_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	agentui "parley/agent-ui"
	"parley/channels"
	"parley/channels/email"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/crm/totp"
	"parley/outbound"
	"parley/server"
)

// newBareFixture is a running Parley like newFixture's, with an admin and nothing else:
// no inbox, as a fresh install. The email channel is registered, so that the server can
// mail from an email inbox a test makes.
func newBareFixture(t *testing.T) *fixture {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := channels.NewRegistry()
	ch := email.New(st.Store, st.Bus, logger)
	ch.Outbound = outbound.New(outbound.Options{AllowPrivateNetwork: true}) // the SMTP sink is on loopback
	reg.Register(crm.KindEmail, ch)
	s := server.New(st.Store, server.Options{UI: agentui.Handler(), Bus: st.Bus, Logger: logger, Channels: reg})
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	f := &fixture{t: t, db: st.Store, bus: st.Bus, srv: srv}
	f.admin = f.agent("ada@test.example", "Ada Admin", crm.RoleAdmin)
	return f
}

// mailSink is an SMTP server on loopback that keeps the mails it is given.
type mailSink struct {
	addr string
	mu   sync.Mutex
	msgs [][]byte
}

func newMailSink(t *testing.T) *mailSink {
	t.Helper()
	m := &mailSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSinkSession{m: m}, nil }))
	srv.Domain = "mx.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	m.addr = ln.Addr().String()
	return m
}

func (m *mailSink) mails() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.msgs...)
}

type mailSinkSession struct{ m *mailSink }

func (s *mailSinkSession) Reset()                               {}
func (s *mailSinkSession) Logout() error                        { return nil }
func (s *mailSinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, b)
	s.m.mu.Unlock()
	return nil
}

// mailText returns the To address and the decoded text of a mail.
func mailText(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	mr, err := mail.CreateReader(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	to, _ := mr.Header.AddressList("To")
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(p.Body)
	if len(to) != 1 {
		t.Fatalf("mail to %v", to)
	}
	return to[0].Address, string(body)
}

// valueOf reads a form control's value.
func (b *tab) valueOf(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`document.querySelector(%q).value`, sel))
}

// focused is the id of the element with the focus.
func (b *tab) focused() string {
	b.t.Helper()
	return b.eval(`document.activeElement ? document.activeElement.id : ''`)
}

// totpKey reads the manual key the setup shows and returns the secret.
func (b *tab) totpKey(sel string) []byte {
	b.t.Helper()
	b.waitText(sel, " ")
	key := strings.ReplaceAll(b.eval(fmt.Sprintf(`document.querySelector(%q).textContent`, sel)), " ", "")
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key)
	if err != nil || len(secret) != totp.SecretSize {
		b.t.Fatalf("key %q: %v", key, err)
	}
	return secret
}

// qrDrawn waits until the setup's QR code image has loaded from the server's PNG.
func (b *tab) qrDrawn() {
	b.t.Helper()
	b.waitJS("waiting for the QR code", `() => { const i = document.querySelector('img.qr'); return !!i && i.complete && i.naturalWidth > 100; }`)
}

// nextCode is a code of the app a step after the current one: the current step's code
// may have been spent by the step before, and the server takes one step of skew.
func nextCode(secret []byte) string { return totp.Code(secret, totp.Step(time.Now())+1) }

// TestInvitationFirstSignInAndTOTP: an admin invites a colleague from the Agents page;
// the link arrives by mail through the email inbox's SMTP server and is shown to copy;
// the invitee opens it, chooses a name and password and is signed in; the link works no
// more. The new agent sets up an authenticator app on the profile page (QR code, key,
// code, recovery codes), and the next sign-in asks for a code.
func TestInvitationFirstSignInAndTOTP(t *testing.T) {
	f := newBareFixture(t)
	sink := newMailSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)
	p, _ := strconv.Atoi(port)
	ctx := crm.AsSystem(context.Background())
	mailbox, err := f.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Support", Config: map[string]any{
		"address": "support@shop.test", "smtp_host": host, "smtp_port": p, "smtp_security": "none"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := f.newTab(t)
	admin.login("ada@test.example", "#/settings/agents")
	admin.waitText("#inv-create", "Invite an agent")
	if got := admin.valueOf("#inv-from"); got != strconv.FormatInt(mailbox.ID, 10) {
		t.Fatalf("mail from %q, want the email inbox", got)
	}
	admin.do(
		chromedp.SendKeys(chromedp.CSS("#inv-email"), "nina@example.com"),
		chromedp.SendKeys(chromedp.CSS("#inv-name"), "Nina"),
		chromedp.Click(chromedp.CSS(`#inv-create input[name="inv-inboxes"]`)),
		chromedp.Click(chromedp.CSS("#inv-create button[type=submit]")),
	)
	admin.waitText("#inv-result", "The invitation was mailed to nina@example.com.")
	admin.waitText("#inv-list", "nina@example.com")
	admin.shot("agents-invited")
	if got := admin.focused(); got != "inv-link" {
		t.Errorf("focus on %q after inviting, want the link", got)
	}
	link := admin.valueOf("#inv-link")
	if !strings.HasPrefix(link, f.srv.URL+"/#/invite/") {
		t.Fatalf("link %q", link)
	}
	var raw []byte
	deadline := time.Now().Add(10 * time.Second)
	for raw == nil {
		if ms := sink.mails(); len(ms) > 0 {
			raw = ms[0]
		} else if time.Now().After(deadline) {
			t.Fatal("no invitation mail")
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	to, text := mailText(t, raw)
	if to != "nina@example.com" || !strings.Contains(text, link) || !strings.Contains(text, "Ada Admin invited you") {
		t.Fatalf("mail to %s:\n%s", to, text)
	}
	admin.noScriptErrors()

	// The invitee's browser, from the mail's link.
	nina := f.newTab(t)
	nina.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#invite-form")))
	if nina.valueOf("#invite-email") != "nina@example.com" || nina.valueOf("#invite-name") != "Nina" || nina.focused() != "invite-name" {
		t.Fatalf("invite page: %q %q, focus %q", nina.valueOf("#invite-email"), nina.valueOf("#invite-name"), nina.focused())
	}
	nina.shot("invite")
	// chromedp.Clear empties only the value attribute, not what was typed or filled in:
	// setValue empties the field as selecting all and deleting would.
	nina.setValue("#invite-name", "")
	nina.do(
		chromedp.SendKeys(chromedp.CSS("#invite-name"), "Nina Newhire"),
		chromedp.SendKeys(chromedp.CSS("#invite-password"), "nina's password"),
		chromedp.SendKeys(chromedp.CSS("#invite-password2"), "nina's passw0rd"),
		chromedp.Click(chromedp.CSS("#invite-form button[type=submit]")),
	)
	nina.waitText("#invite-error", "The two passwords differ.")
	if got := nina.focused(); got != "invite-password2" {
		t.Errorf("focus on %q after a mismatch", got)
	}
	nina.setValue("#invite-password2", "")
	nina.do(
		chromedp.SendKeys(chromedp.CSS("#invite-password2"), "nina's password"),
		chromedp.Click(chromedp.CSS("#invite-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="live"]`)),
	)
	nina.waitText("#me-name", "Nina Newhire")
	if h := nina.eval(`location.hash`); strings.Contains(h, "invite") {
		t.Errorf("the spent link stays in the address bar: %s", h)
	}
	a, err := f.db.AgentByEmail(ctx, "nina@example.com")
	if err != nil || a.Role != crm.RoleAgent || len(a.InboxIDs) != 1 || a.InboxIDs[0] != mailbox.ID {
		t.Fatalf("invited agent = %+v, %v", a, err)
	}

	// The link works once.
	again := f.newTab(t)
	again.do(chromedp.Navigate(link))
	again.waitText("#invite-error", "does not work")

	// Two-factor sign-in from the profile page.
	nina.click("#me-name")
	nina.waitText("#profile-totp", "Off.")
	nina.click("#totp-start")
	nina.qrDrawn()
	nina.shot("profile-totp-setup")
	secret := nina.totpKey("#profile-key")
	if ac := nina.eval(`document.querySelector('#profile-code').autocomplete`); ac != "one-time-code" {
		t.Errorf("code field autocomplete = %q", ac)
	}
	if got := nina.focused(); got != "profile-code" {
		t.Errorf("focus on %q after starting the setup", got)
	}
	nina.do(chromedp.SendKeys(chromedp.CSS("#profile-code"), "000000"), chromedp.Click(chromedp.CSS(".totp-setup button[type=submit]")))
	nina.waitText("#profile-error", "not the app's current one")
	nina.do(chromedp.SetValue(chromedp.CSS("#profile-code"), totp.Code(secret, totp.Step(time.Now()))),
		chromedp.Click(chromedp.CSS(".totp-setup button[type=submit]")))
	nina.waitText("#recovery-title", "Save your recovery codes")
	nina.shot("profile-recovery-codes")
	codes := nina.eval(`[...document.querySelectorAll('#recovery-codes code')].map((c) => c.textContent).join(' ')`)
	if n := len(strings.Fields(codes)); n != 10 || !regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}`).MatchString(codes) {
		t.Fatalf("recovery codes = %q", codes)
	}
	if got := nina.focused(); got != "recovery-ok" {
		t.Errorf("focus on %q with the recovery codes", got)
	}
	nina.click("#recovery-ok")
	nina.waitText("#totp-state", "On. 10 of 10 recovery codes left.")
	nina.shot("profile")

	// Signed out, the password alone no longer signs in: the app's code does.
	nina.click("#logout")
	nina.do(
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), "nina@example.com"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "nina's password"),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#totp-code")),
	)
	if got := nina.focused(); got != "totp-code" {
		t.Errorf("focus on %q at the code step", got)
	}
	nina.shot("signin-code")
	if ac := nina.eval(`document.querySelector('#totp-code').autocomplete`); ac != "one-time-code" {
		t.Errorf("code field autocomplete = %q", ac)
	}
	nina.do(chromedp.SendKeys(chromedp.CSS("#totp-code"), "000000"), chromedp.Click(chromedp.CSS("#totp-form button[type=submit]")))
	nina.waitText("#login-step-error", "wrong or was used")
	nina.do(chromedp.SetValue(chromedp.CSS("#totp-code"), nextCode(secret)), chromedp.Click(chromedp.CSS("#totp-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="live"]`)))
	nina.waitText("#me-name", "Nina Newhire")
	nina.noScriptErrors()
	again.noScriptErrors()
}

// TestRequiredTwoFactorAtSignIn: an admin requires two-factor sign-in on the Security
// page; an agent without an app is walked through setting one up before getting in.
func TestRequiredTwoFactorAtSignIn(t *testing.T) {
	f := newFixture(t)
	f.agent("dana@test.example", "Dana", crm.RoleAgent, f.inbox)
	admin := f.newTab(t)
	admin.login("ada@test.example", "#/settings/security")
	admin.waitText("#security-form", "Require two-factor sign-in for everyone")
	admin.waitText("#totp-agents", "Dana")
	admin.shot("security")
	admin.do(chromedp.Click(chromedp.CSS("#require-2fa")), chromedp.Click(chromedp.CSS("#security-form button[type=submit]")))
	admin.waitText("#security-status", "Saved")
	if s, err := f.db.SecuritySettings(crm.AsSystem(context.Background())); err != nil || !s.RequireTOTP {
		t.Fatalf("security settings = %+v, %v", s, err)
	}

	dana := f.newTab(t)
	dana.do(
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), "dana@test.example"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
	dana.waitText("#login-step-title", "Set up two-factor sign-in")
	dana.qrDrawn()
	dana.shot("signin-enrol")
	secret := dana.totpKey("#enrol-key")
	if status, _ := get(t, f.srv.URL+"/api/v1/me"); status != http.StatusUnauthorized {
		t.Fatalf("signed in before the app was set up: %d", status)
	}
	dana.do(chromedp.SendKeys(chromedp.CSS("#enrol-code"), totp.Code(secret, totp.Step(time.Now()))),
		chromedp.Click(chromedp.CSS(".totp-setup button[type=submit]")))
	dana.waitText("#recovery-title", "Save your recovery codes")
	dana.click("#recovery-ok")
	dana.do(chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="live"]`)))
	dana.waitText("#me-name", "Dana")
	a, _ := f.db.AgentByEmail(crm.AsSystem(context.Background()), "dana@test.example")
	if !a.TOTPEnabled {
		t.Fatal("two-factor sign-in is not on")
	}
	admin.noScriptErrors()
	dana.noScriptErrors()
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestFirstRunChecklist: a fresh install opens on the checklist for the admin; its steps
// tick as the shop gets an email inbox and a colleague is invited; once dismissed, the
// console opens on the inbox.
func TestFirstRunChecklist(t *testing.T) {
	f := newBareFixture(t)
	admin := f.newTab(t)
	admin.login("ada@test.example", "")
	admin.waitText("#setup-progress", "0 of 5 done.")
	if h := admin.eval(`location.hash`); h != "#/settings/start" {
		t.Fatalf("a fresh install opened on %q", h)
	}
	admin.waitText(`[data-item="email"]`, "Connect your support email")
	admin.shot("checklist-fresh")
	if href := admin.eval(`document.querySelector('[data-item="email"] a').getAttribute('href')`); href != "#/settings/inboxes/new-email" {
		t.Errorf("email step links to %q", href)
	}
	ctx := crm.AsSystem(context.Background())
	if _, err := f.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Support", Config: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.db.CreateInvitation(crm.WithAgent(ctx, f.admin), &crm.NewInvitation{Email: "new@example.com"}); err != nil {
		t.Fatal(err)
	}
	// Back from another page, the checklist shows what is done.
	admin.click(`.tabs a[href="#/settings/agents"]`)
	admin.waitText("#inv-list", "new@example.com")
	admin.click(`.tabs a[href="#/settings/start"]`)
	admin.waitText("#setup-progress", "2 of 5 done.")
	admin.waitJS("email and team ticked", `() => ['email', 'team'].every((id) => document.querySelector('[data-item="' + id + '"]').dataset.done === 'true')
		&& document.querySelector('[data-item="chat"]').dataset.done === 'false'`)
	admin.shot("checklist-two-done")
	admin.click("#setup-dismiss")
	admin.waitText("#setup-dismiss", "Show this checklist at sign-in again")
	if got := admin.focused(); got != "setup-dismiss" {
		t.Errorf("focus on %q after dismissing", got)
	}
	if d, _ := f.db.SetupDismissed(ctx); !d {
		t.Fatal("not dismissed")
	}
	admin.noScriptErrors()

	// Another fresh shop whose admin put it away opens on the inbox.
	g := newBareFixture(t)
	if err := g.db.SetSetupDismissed(crm.AsSystem(context.Background()), true); err != nil {
		t.Fatal(err)
	}
	other := g.newTab(t)
	other.login("ada@test.example", "")
	other.waitText("#list-title", "Mine")
	if h := other.eval(`location.hash`); h == "#/settings/start" {
		t.Fatal("a dismissed checklist opened")
	}
}

// TestProfilePage: an agent changes name, picture, notification choices and password on
// the profile page, signs a second browser out with "Sign out everywhere else", and makes
// an API token, shown once, that works as a bearer token until it is revoked.
func TestProfilePage(t *testing.T) {
	f := newFixture(t)
	f.agent("dana@test.example", "Dana", crm.RoleAgent, f.inbox)
	other := f.newTab(t)
	other.login("dana@test.example", "")
	b := f.newTab(t)
	b.login("dana@test.example", "")
	b.click("#me-name")
	b.waitText("#profile-title", "Your profile")
	b.waitText("#session-list", "this browser")

	b.setValue("#profile-name", "Dana Diaz")
	b.click("#name-form button[type=submit]")
	b.waitText("#name-status", "Name saved.")
	b.waitText("#me-name", "Dana Diaz")

	pic := filepath.Join(t.TempDir(), "me.png")
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 16, 16)))
	if err := os.WriteFile(pic, img.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#avatar-file"), []string{pic}))
	b.waitText("#name-status", "Picture saved.")
	b.waitJS("the picture shows", `() => { const i = document.querySelector('#profile-name-card img.avatar'); return !!i && i.complete && i.naturalWidth === 16; }`)

	b.click("#notify-sla_warning")
	b.click("#notify-form button[type=submit]")
	b.waitText("#notify-status", "Notifications saved.")
	a, _ := f.db.AgentByEmail(crm.AsSystem(context.Background()), "dana@test.example")
	if n, err := f.db.Notifications(crm.AsSystem(context.Background()), a.ID); err != nil || n.SLAWarning || !n.Assigned {
		t.Fatalf("notifications = %+v, %v", n, err)
	}

	// Sign out everywhere else asks first, then the other browser is out.
	b.waitText("#session-list", "Headless Chrome")
	b.click("#sessions-others")
	b.waitText("#sessions-others", "Really sign out 1 other browser?")
	b.click("#sessions-others")
	b.waitText("#sessions-status", "Signed out of 1 other browser.")
	other.do(chromedp.Reload())
	other.waitText("#login", "Sign in")

	// A token for a script: shown once, works, revoked.
	b.setValue("#token-name", "Returns portal")
	b.click("#token-form button[type=submit]")
	b.waitText("#profile-tokens .once", "shown only once")
	if got := b.focused(); got != "token-new" {
		t.Errorf("focus on %q after making a token", got)
	}
	token := b.valueOf("#token-new")
	b.shot("profile-tokens")
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the token: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	b.waitText("#token-list", "Returns portal")
	b.click(`#token-list button[aria-label="Revoke the token Returns portal"]`)
	b.click(`#token-list button[aria-label="Revoke the token Returns portal"]`)
	b.waitText("#tokens-status", "Revoked Returns portal")
	req, _ = http.NewRequest("GET", f.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("the revoked token: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}

	// The password: a mismatch is caught before anything is sent; then it changes.
	b.setValue("#pw-current", password)
	b.setValue("#pw-new", "a new long password")
	b.setValue("#pw-new2", "a new long passw0rd")
	b.click("#password-form button[type=submit]")
	b.waitText("#password-status", "The two new passwords differ.")
	b.setValue("#pw-new2", "a new long password")
	b.click("#password-form button[type=submit]")
	b.waitText("#password-status", "Password changed.")
	if _, err := f.db.Authenticate(crm.AsSystem(context.Background()), "dana@test.example", "a new long password"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	// The page keeps working on its new session.
	b.setValue("#profile-name", "Dana D.")
	b.click("#name-form button[type=submit]")
	b.waitText("#me-name", "Dana D.")
	b.shot("profile-page")
	b.noScriptErrors()
}
