package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/oauth"
	"parley/oauth/oauthtest"
	"parley/outbound"
	"parley/server"
)

// oauthServer is the API with sign-in with Google set up against a fake Google, and an
// email inbox that signs in with it.
type oauthServer struct {
	*env
	fake  *oauthtest.Fake
	inbox int64
}

func newOAuthServer(t *testing.T) *oauthServer {
	t.Helper()
	fake := oauthtest.New("parley-client", "parley-secret", "shop@gmail.test")
	t.Cleanup(fake.Close)
	st := teststore.Open(t, teststore.Options{})
	p := oauth.NewGoogle(fake.ClientID, fake.ClientSecret)
	p.AuthURL, p.TokenURL = fake.AuthURL(), fake.TokenURL()
	out := outbound.New(outbound.Options{AllowPrivateNetwork: true}) // the fake is on loopback
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := oauth.New(st.Store, out.HTTPClient(10*time.Second), logger, p)
	srv := httptest.NewServer(server.New(st.Store, server.Options{Logger: logger, OAuth: svc}))
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, db: st.Store, bus: st.Bus, srv: srv}
	ctx := crm.AsSystem(context.Background())
	if _, err := e.db.CreateAgent(ctx, &crm.NewAgent{Email: "admin@test.example", Name: "Ada Admin", Role: crm.RoleAdmin, Password: adminPassword}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login("admin@test.example", adminPassword)
	in, err := e.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Gmail", Config: map[string]any{
		"address": "shop@gmail.test", "auth": "google", "imap_host": "imap.gmail.com", "imap_port": 993,
		"smtp_host": "smtp.gmail.com", "smtp_port": 587}})
	if err != nil {
		t.Fatal(err)
	}
	return &oauthServer{env: e, fake: fake, inbox: in.ID}
}

// noFollow is c's browser that stops at redirects, to look at them.
func noFollow(c *client) *http.Client {
	return &http.Client{Jar: c.hc.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// start asks the API to start a sign-in and follows the authorization URL through the
// fake's consent, returning the callback URL the fake sends the browser back to.
func (o *oauthServer) start(c *client) string {
	o.t.Helper()
	var res struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	c.mustDo("POST", "/api/v1/inboxes/"+itoa(o.inbox)+"/oauth", map[string]string{"provider": "google"}, 200, &res)
	resp, err := noFollow(c).Get(res.AuthorizeURL)
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, o.srv.URL+"/oauth/callback?") {
		o.t.Fatalf("the provider sent the browser to %q", back)
	}
	return back
}

// visit opens u in c's browser without following a redirect and returns the status,
// the Location and the page.
func visit(t *testing.T, c *client, u string) (int, string, string) {
	t.Helper()
	resp, err := noFollow(c).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// TestOAuthCallback: the whole browser flow through the API: start, the provider's
// consent, the callback that saves the grant and points the inbox at it and sends the
// admin back to the inbox's page. The state works once, only in the session that
// started it, and only from a browser session.
func TestOAuthCallback(t *testing.T) {
	o := newOAuthServer(t)
	var prov struct {
		Providers   []string `json:"providers"`
		RedirectURI string   `json:"redirect_uri"`
	}
	o.admin.mustDo("GET", "/api/v1/oauth/providers", nil, 200, &prov)
	if len(prov.Providers) != 1 || prov.Providers[0] != "google" || prov.RedirectURI != o.srv.URL+"/oauth/callback" {
		t.Fatalf("providers = %+v", prov)
	}
	if status, _ := o.admin.do("GET", "/api/v1/inboxes/"+itoa(o.inbox)+"/oauth", nil); status != 404 {
		t.Fatalf("grant before the sign-in: %d, want 404", status)
	}

	back := o.start(o.admin)
	q := o.fake.LastAuthorize()
	if q.Get("redirect_uri") != o.srv.URL+"/oauth/callback" || q.Get("code_challenge_method") != "S256" ||
		q.Get("login_hint") != "shop@gmail.test" || q.Get("client_id") != "parley-client" {
		t.Fatalf("authorization request = %v", q)
	}
	status, loc, page := visit(t, o.admin, back)
	if status != http.StatusSeeOther || loc != "/#/settings/inboxes/"+itoa(o.inbox) {
		t.Fatalf("callback: %d to %q: %s", status, loc, page)
	}
	var g struct {
		Provider, Account, Error string
		ExpiresAt                time.Time `json:"expires_at"`
	}
	o.admin.mustDo("GET", "/api/v1/inboxes/"+itoa(o.inbox)+"/oauth", nil, 200, &g)
	if g.Provider != "google" || g.Account != "shop@gmail.test" || g.Error != "" || time.Until(g.ExpiresAt) < 50*time.Minute {
		t.Fatalf("grant = %+v", g)
	}
	in, err := o.db.Inbox(ctxSystem(), o.inbox)
	if err != nil || in.Config["auth"] != "google" || in.Config["imap_username"] != "shop@gmail.test" {
		t.Fatalf("inbox after the sign-in = %+v, %v", in, err)
	}
	if rows := o.st.Raw(t, `SELECT count(*) FROM audit WHERE type = 'inbox.signed_in'`); fmt.Sprint(rows[0][0]) != "1" {
		t.Errorf("the sign-in was audited %v times, want once", rows[0][0])
	}

	// The same redirect again (a replay): refused, nothing changes.
	status, _, page = visit(t, o.admin, back)
	if status != http.StatusNotFound || !strings.Contains(page, "unknown or was used already") {
		t.Fatalf("replayed callback: %d: %s", status, page)
	}
	if o.fake.Exchanges() != 1 {
		t.Fatalf("exchanges = %d, want 1", o.fake.Exchanges())
	}

	// A state started in one session does not finish in another, even the same admin's.
	back = o.start(o.admin)
	other := o.login("admin@test.example", adminPassword)
	status, _, page = visit(t, other, back)
	if status != http.StatusForbidden || !strings.Contains(page, "started in another session") {
		t.Fatalf("callback in another session: %d: %s", status, page)
	}
	// Nor without a session: the page says to log in.
	status, _, page = visit(t, o.anon(), o.start(o.admin))
	if status != http.StatusUnauthorized || !strings.Contains(page, "Log in to Parley") {
		t.Fatalf("callback without a session: %d: %s", status, page)
	}

	// An API token cannot start one: the sign-in belongs to a browser.
	status, body := o.bearer("admin@test.example").do("POST", "/api/v1/inboxes/"+itoa(o.inbox)+"/oauth", map[string]string{"provider": "google"})
	if status != 400 || errCode(t, body) != "invalid" {
		t.Fatalf("start with an API token: %d %s", status, body)
	}
	// Microsoft is not set up here; an unknown provider is refused.
	for _, p := range []string{"microsoft", "yahoo"} {
		status, body = o.admin.do("POST", "/api/v1/inboxes/"+itoa(o.inbox)+"/oauth", map[string]string{"provider": p})
		if status != 400 || errCode(t, body) != "invalid" {
			t.Fatalf("start with %s: %d %s", p, status, body)
		}
	}
	// Only admins sign in.
	agent := o.agent("agent@test.example", crm.RoleAgent, o.inbox)
	if status, _ := agent.do("POST", "/api/v1/inboxes/"+itoa(o.inbox)+"/oauth", map[string]string{"provider": "google"}); status != 403 {
		t.Fatalf("an agent started a sign-in: %d", status)
	}
}

// TestOAuthCallbackDenied: a user who does not consent comes back to a page that says
// so, and the state is used up.
func TestOAuthCallbackDenied(t *testing.T) {
	o := newOAuthServer(t)
	o.fake.Deny(true)
	back := o.start(o.admin)
	status, _, page := visit(t, o.admin, back)
	if status != http.StatusBadRequest || !strings.Contains(page, "Access was not granted") {
		t.Fatalf("denied consent: %d: %s", status, page)
	}
	u, _ := url.Parse(back)
	q := u.Query()
	q.Del("error")
	q.Set("code", "made-up")
	u.RawQuery = q.Encode()
	if status, _, page := visit(t, o.admin, u.String()); status != http.StatusNotFound {
		t.Fatalf("the state of a denied sign-in worked again: %d: %s", status, page)
	}
	if status, _ := o.admin.do("GET", "/api/v1/inboxes/"+itoa(o.inbox)+"/oauth", nil); status != 404 {
		t.Fatalf("a denied sign-in left a grant: %d", status)
	}
}
