package oauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/oauth"
	"parley/oauth/oauthtest"
)

const redirect = "https://desk.example.test/oauth/callback"

func setup(t *testing.T) (*oauthtest.Fake, *oauth.Provider, *oauth.Service, int64) {
	t.Helper()
	fake := oauthtest.New("client", "secret", "desk@contoso.test")
	t.Cleanup(fake.Close)
	p := oauth.NewMicrosoft(fake.ClientID, fake.ClientSecret, "contoso.test")
	if p.AuthURL != "https://login.microsoftonline.com/contoso.test/oauth2/v2.0/authorize" {
		t.Fatalf("Microsoft's authorize URL = %s", p.AuthURL)
	}
	p.AuthURL, p.TokenURL = fake.AuthURL(), fake.TokenURL()
	st := teststore.Open(t, teststore.Options{})
	svc := oauth.New(st.Store, http.DefaultClient, nil, p)
	in, err := st.Store.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindEmail, Name: "M365"})
	if err != nil {
		t.Fatal(err)
	}
	return fake, p, svc, in.ID
}

// consent follows an authorization URL to the redirect back and returns its query.
func consent(t *testing.T, u string) url.Values {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back.Query()
}

// TestPKCEVerifierChecked: the code is traded only with the verifier whose challenge the
// authorization request carried, and only once.
func TestPKCEVerifierChecked(t *testing.T) {
	fake, p, svc, inbox := setup(t)
	ctx := crm.AsSystem(context.Background())
	u, err := svc.Start(ctx, inbox, oauth.Microsoft, 7, "sess", redirect, "desk@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	back := consent(t, u)
	q := fake.LastAuthorize()
	if q.Get("code_challenge") == "" || q.Get("scope") != "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access openid email" {
		t.Fatalf("authorization request = %v", q)
	}
	_, err = p.Exchange(ctx, http.DefaultClient, back.Get("code"), oauth.NewVerifier(), redirect)
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "code_verifier") {
		t.Fatalf("exchange with another verifier: %v", err)
	}
	g, err := svc.Finish(ctx, back.Get("state"), back.Get("code"), 7, "sess", redirect)
	if err != nil {
		t.Fatalf("finish with the right verifier: %v", err)
	}
	if g.Account != "desk@contoso.test" || g.Provider != "microsoft" || g.Version != 1 {
		t.Fatalf("grant = %+v", g)
	}
	if _, err := svc.Finish(ctx, back.Get("state"), back.Get("code"), 7, "sess", redirect); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("a state used twice: %v, want not_found", err)
	}
	if fake.Exchanges() != 1 {
		t.Fatalf("exchanges = %d", fake.Exchanges())
	}
}

// TestFinishChecksSession: a state finishes only in the session that started it.
func TestFinishChecksSession(t *testing.T) {
	_, _, svc, inbox := setup(t)
	ctx := crm.AsSystem(context.Background())
	u, err := svc.Start(ctx, inbox, oauth.Microsoft, 7, "sess", redirect, "")
	if err != nil {
		t.Fatal(err)
	}
	back := consent(t, u)
	if _, err := svc.Finish(ctx, back.Get("state"), back.Get("code"), 7, "other-session", redirect); crm.ErrorCode(err) != crm.EFORBIDDEN {
		t.Fatalf("finish in another session: %v, want forbidden", err)
	}
	if _, err := svc.Start(ctx, inbox, oauth.Google, 7, "sess", redirect, ""); crm.ErrorCode(err) != crm.EINVALID ||
		!strings.Contains(crm.ErrorMessage(err), "PARLEY_GOOGLE_CLIENT_ID") {
		t.Fatalf("start with a provider that is not set up: %v", err)
	}
}

// TestTokenEndpointErrors: answers that are not tokens become errors that say what
// the endpoint said.
func TestTokenEndpointErrors(t *testing.T) {
	for _, tt := range []struct {
		name, body, want string
		status           int
	}{
		{"html 500", "<html>oops</html>", "answered 500 error: <html>oops</html>", 500},
		{"microsoft", `{"error":"invalid_grant","error_description":"AADSTS70000: The grant is expired.\r\nTrace ID: 1"}`,
			"answered 400 invalid_grant: AADSTS70000: The grant is expired.", 400},
		{"no token", `{"token_type":"Bearer"}`, "has no access_token", 200},
		{"mac token", `{"access_token":"x","token_type":"mac"}`, "not a bearer token", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			p := oauth.NewGoogle("id", "secret")
			p.TokenURL = srv.URL
			_, err := p.Refresh(context.Background(), http.DefaultClient, "rt")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAccountOf(t *testing.T) {
	tok := func(claims string) string {
		e := base64.RawURLEncoding
		return e.EncodeToString([]byte(`{"alg":"none"}`)) + "." + e.EncodeToString([]byte(claims)) + ".sig"
	}
	for _, tt := range []struct{ token, want string }{
		{tok(`{"email":"Shop@Gmail.test"}`), "shop@gmail.test"},
		{tok(`{"preferred_username":"desk@contoso.test"}`), "desk@contoso.test"},
		{tok(`{"preferred_username":"not an address"}`), ""},
		{"garbage", ""},
		{tok(`[1,2]`), ""},
	} {
		if got := oauth.AccountOf(tt.token); got != tt.want {
			t.Errorf("AccountOf(%s) = %q, want %q", tt.token, got, tt.want)
		}
	}
}
