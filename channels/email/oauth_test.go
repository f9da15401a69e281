package email_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/channels/email/imaptest"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/oauth"
	"parley/oauth/oauthtest"
)

// clock is a settable clock that the sign-in's tokens expire on.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// oauthEnv is env with a Google sign-in: a fake authorization server, an IMAP server and
// an SMTP sink that take only its live bearer tokens, and the inbox set to sign in with
// Google (no password).
type oauthEnv struct {
	*env
	fake  *oauthtest.Fake
	svc   *oauth.Service
	clock *clock
}

const redirect = "https://desk.example.test/oauth/callback"

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	t.Cleanup(cancel)
	st := teststore.Open(t, teststore.Options{})
	e := &env{t: t, ctx: ctx, bus: st.Bus, db: st.Store}
	o := &oauthEnv{env: e, clock: &clock{t: time.Now()}}

	o.fake = oauthtest.New("parley-client", "parley-client-secret", supportAddr)
	t.Cleanup(o.fake.Close)
	o.fake.SetClock(o.clock.Now)
	bearer := func(user, token string) error {
		if acct, ok := o.fake.Valid(token); !ok || acct != user {
			return errors.New("invalid bearer token")
		}
		return nil
	}
	srv, err := imaptest.Start(supportAddr, imapPass, imaptest.Options{XOAUTH2: bearer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.imap = srv
	e.sink = newSink(t)
	e.sink.xoauth2 = bearer

	p := oauth.NewGoogle(o.fake.ClientID, o.fake.ClientSecret)
	p.AuthURL, p.TokenURL = o.fake.AuthURL(), o.fake.TokenURL()
	o.svc = oauth.New(e.db, allowPrivate.HTTPClient(10*time.Second), quietLogger(), p)
	o.svc.Now = o.clock.Now
	e.ch = e.newChannel()
	e.ch.OAuth = o.svc

	ih, ip := hostPort(t, srv.Addr)
	sh, sp := hostPort(t, e.sink.addr)
	in := &crm.Inbox{Kind: crm.KindEmail, Name: "Gmail", Config: map[string]any{
		"address": supportAddr, "auth": "google",
		"imap_host": ih, "imap_port": ip, "imap_security": "none",
		"smtp_host": sh, "smtp_port": sp, "smtp_security": "none",
	}}
	if err := e.ch.PrepareInbox(ctx, in); err != nil {
		t.Fatalf("an inbox that signs in with Google needs no password: %v", err)
	}
	if e.inbox, err = e.db.CreateInbox(ctx, in); err != nil {
		t.Fatal(err)
	}
	return o
}

// signIn runs the browser's part of a sign-in against the fake: the authorization
// request, the consent and the redirect back, whose state and code it hands to Finish.
func (o *oauthEnv) signIn() *crm.OAuthGrant {
	o.t.Helper()
	u, err := o.svc.Start(o.ctx, o.inbox.ID, oauth.Google, 1, "session-hash", redirect, supportAddr)
	if err != nil {
		o.t.Fatal(err)
	}
	state, code := o.authorize(u)
	g, err := o.svc.Finish(o.ctx, state, code, 1, "session-hash", redirect)
	if err != nil {
		o.t.Fatalf("finish the sign-in: %v", err)
	}
	// Saving the inbox restarts its fetcher, as the server's callback does.
	in, err := o.db.Inbox(o.ctx, o.inbox.ID)
	if err != nil {
		o.t.Fatal(err)
	}
	if _, err := o.db.UpdateInbox(o.ctx, in); err != nil {
		o.t.Fatal(err)
	}
	return g
}

// authorize follows an authorization URL as a browser does up to the redirect back to
// Parley, and returns the state and code of that redirect.
func (o *oauthEnv) authorize(u string) (state, code string) {
	o.t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(u)
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), redirect) {
		o.t.Fatalf("the provider sent the browser to %q (%v)", resp.Header.Get("Location"), err)
	}
	return back.Query().Get("state"), back.Query().Get("code")
}

func (o *oauthEnv) status() (state, lastError, signIn string) {
	st := o.ch.InboxStatus(o.inbox.ID)
	if st == nil {
		return "", "", ""
	}
	return st.State, st.LastError, st.SignIn
}

// TestOAuthSignInFetchesAndSends: an inbox that signs in with Google shows that it must
// sign in until it has; then it reads the mailbox over IMAP and sends a reply over SMTP,
// both servers taking only the live bearer token of the sign-in with XOAUTH2.
func TestOAuthSignInFetchesAndSends(t *testing.T) {
	o := newOAuthEnv(t)
	o.run(o.ch)
	waitFor(t, "the inbox to say it must sign in", func() bool {
		_, msg, signIn := o.status()
		return signIn == "google" && strings.Contains(msg, "not signed in yet") && strings.Contains(msg, "Sign in with Google")
	})

	// PKCE: the authorization request carries an S256 challenge, which the fake checks
	// against the verifier at the token endpoint.
	g := o.signIn()
	if q := o.fake.LastAuthorize(); q.Get("code_challenge_method") != "S256" || q.Get("login_hint") != supportAddr ||
		q.Get("access_type") != "offline" || !strings.Contains(q.Get("scope"), "https://mail.google.com/") {
		t.Fatalf("authorization request = %v", q)
	}
	if g.Account != supportAddr || g.RefreshToken == "" || g.AccessToken == "" || g.Provider != "google" {
		t.Fatalf("grant = %+v", g)
	}
	waitFor(t, "the IMAP login with XOAUTH2", func() bool { s, _, _ := o.status(); return s == "connected" })
	if _, _, signIn := o.status(); signIn != "" {
		t.Fatalf("a connected inbox still asks to sign in with %q", signIn)
	}

	o.appendMail("From: Alice <alice@example.test>\r\nTo: " + supportAddr + "\r\nSubject: Where is my order?\r\n" +
		"Message-ID: <o1@example.test>\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nIt has not arrived.\r\n")
	waitFor(t, "the mail to become a ticket", func() bool { return len(o.tickets()) == 1 })
	tk := o.tickets()[0]
	o.dispatcher(o.ch)
	admin := storeAgent(t, o.env)
	if _, err := o.db.AddMessage(crm.WithAgent(o.ctx, admin), &crm.NewMessage{TicketID: tk.ID, Body: "On its way."}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply at the SMTP server", func() bool { return len(o.sink.sent()) == 1 })
	if got := o.sink.sent()[0]; got.From != supportAddr || len(got.To) != 1 || got.To[0] != "alice@example.test" {
		t.Fatalf("sent = %+v", got)
	}
	if n := o.fake.Refreshes(); n != 0 {
		t.Fatalf("a fresh token was refreshed %d times", n)
	}
}

// storeAgent creates an admin to reply as.
func storeAgent(t *testing.T, e *env) *crm.Agent {
	t.Helper()
	a, err := e.db.CreateAgent(e.ctx, &crm.NewAgent{Email: "ada@shop.test", Name: "Ada", Role: crm.RoleAdmin, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOAuthRefreshBeforeExpiry: the access token is used while it has more than five
// minutes to live, then refreshed before it expires; a refresh token that Microsoft-style
// rotation replaces is saved, so the next refresh works.
func TestOAuthRefreshBeforeExpiry(t *testing.T) {
	o := newOAuthEnv(t)
	o.fake.Rotate(true)
	g := o.signIn()
	ctx := o.ctx

	o.clock.Add(50 * time.Minute)
	if _, tok, err := o.svc.AccessToken(ctx, o.inbox.ID); err != nil || tok != g.AccessToken || o.fake.Refreshes() != 0 {
		t.Fatalf("at 50 minutes: token changed %v, refreshes %d, err %v", tok != g.AccessToken, o.fake.Refreshes(), err)
	}
	o.clock.Add(6 * time.Minute) // 4 minutes before expiry: refreshed, while the old one still works
	_, tok2, err := o.svc.AccessToken(ctx, o.inbox.ID)
	if err != nil || tok2 == g.AccessToken || o.fake.Refreshes() != 1 {
		t.Fatalf("at 56 minutes: new token %v, refreshes %d, err %v", tok2 != g.AccessToken, o.fake.Refreshes(), err)
	}
	if _, ok := o.fake.Valid(tok2); !ok {
		t.Fatal("the refreshed token is not live")
	}
	g2, err := o.db.OAuthGrant(ctx, o.inbox.ID)
	if err != nil || g2.RefreshToken == g.RefreshToken || g2.AccessToken != tok2 {
		t.Fatalf("the rotated refresh token was not saved: %+v, %v", g2, err)
	}
	if _, tok, _ := o.svc.AccessToken(ctx, o.inbox.ID); tok != tok2 || o.fake.Refreshes() != 1 {
		t.Fatal("a live refreshed token was refreshed again")
	}

	// Hours later the first token is dead; the channel logs in and sends with a new one.
	o.clock.Add(3 * time.Hour)
	if _, ok := o.fake.Valid(g.AccessToken); ok {
		t.Fatal("the fake still takes an expired token")
	}
	o.run(o.ch)
	waitFor(t, "the IMAP login with a refreshed token", func() bool { s, _, _ := o.status(); return s == "connected" })
	if o.fake.Refreshes() != 2 {
		t.Fatalf("refreshes = %d, want 2", o.fake.Refreshes())
	}
}

// TestOAuthRevokedSaysSignInAgain: when the user revokes Parley's access, the refresh
// fails with invalid_grant: the inbox's status says to sign in with Google again, Google
// is not asked again on every retry, replies wait with the same reason, and a new sign-in
// connects the inbox again.
func TestOAuthRevokedSaysSignInAgain(t *testing.T) {
	o := newOAuthEnv(t)
	o.signIn()
	o.fake.RevokeAll()
	o.clock.Add(2 * time.Hour)
	o.run(o.ch)
	waitFor(t, "the inbox to say sign in again", func() bool {
		s, msg, signIn := o.status()
		return s != "connected" && signIn == "google" && strings.Contains(msg, "Google refused the sign-in of "+supportAddr) &&
			strings.Contains(msg, "invalid_grant") && strings.Contains(msg, "sign in with Google again")
	})
	g, err := o.db.OAuthGrant(o.ctx, o.inbox.ID)
	if err != nil || !strings.Contains(g.Error, "invalid_grant") {
		t.Fatalf("grant after revocation = %+v, %v", g, err)
	}
	refreshes := o.fake.Refreshes()
	_, _, err = o.svc.AccessToken(o.ctx, o.inbox.ID)
	if !oauth.IsSignInError(err) || !strings.Contains(err.Error(), "sign in with Google again") {
		t.Fatalf("token of a revoked grant: %v", err)
	}
	if o.fake.Refreshes() != refreshes {
		t.Fatal("a refused grant was sent to Google again")
	}

	o.signIn()
	waitFor(t, "the inbox to connect after signing in again", func() bool {
		s, _, signIn := o.status()
		return s == "connected" && signIn == ""
	})
}

// TestOAuthBadBearerRefused: the servers take only the live token of the sign-in: a
// password login and a made-up token are refused with the server's answer.
func TestOAuthBadBearerRefused(t *testing.T) {
	o := newOAuthEnv(t)
	o.signIn()
	ctx := o.ctx
	// The same servers, with the password instead of the sign-in.
	in, err := o.db.Inbox(ctx, o.inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	in.Config["auth"] = "password"
	in.Config["imap_password"] = imapPass
	if err := o.ch.PrepareInbox(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := o.ch.TestInbox(ctx, in); err == nil || !strings.Contains(err.Error(), "imap login") {
		t.Fatalf("a password login to an XOAUTH2-only server: %v", err)
	}
	// A revoked token (the sign-in still thinks it lives): the server refuses it.
	o.fake.RevokeAll()
	in.Config["auth"] = "google"
	err = o.ch.TestInbox(ctx, in)
	if err == nil || !strings.Contains(err.Error(), "XOAUTH2") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a dead bearer token: %v", err)
	}
}

// TestOAuthConnectionTest: the console's connection test logs in the way the inbox does:
// before the sign-in it stops at the IMAP login saying so, after it both logins work
// with XOAUTH2.
func TestOAuthConnectionTest(t *testing.T) {
	o := newOAuthEnv(t)
	steps := o.ch.TestInboxSteps(o.ctx, o.inbox)
	last := steps[len(steps)-1]
	if last.OK || last.Step != "IMAP login" || !strings.Contains(last.Detail, "not signed in yet") {
		t.Fatalf("test before the sign-in ends with %+v", last)
	}
	o.signIn()
	in, err := o.db.Inbox(o.ctx, o.inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	steps = o.ch.TestInboxSteps(o.ctx, in)
	var logins []string
	for _, s := range steps {
		if !s.OK {
			t.Fatalf("step %s failed: %s", s.Step, s.Detail)
		}
		if strings.HasSuffix(s.Step, "login") {
			logins = append(logins, s.Detail)
		}
	}
	if len(logins) != 2 || !strings.Contains(logins[0], "logged in as "+supportAddr+" with XOAUTH2 (the sign-in with Google)") ||
		!strings.Contains(logins[1], "with XOAUTH2") {
		t.Fatalf("logins = %q", logins)
	}
}
