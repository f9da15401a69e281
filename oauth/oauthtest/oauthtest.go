// Package oauthtest is a fake OAuth2 authorization server, like Google's and Microsoft's,
// for tests: an authorization endpoint whose user consents at once and redirects back
// with a code, and a token endpoint that checks the client, the redirect URI and the
// PKCE verifier (S256), hands out access and refresh tokens, refreshes them and refuses a
// revoked grant with invalid_grant, in the wire format of RFC 6749. Mail servers in tests
// ask it whether a bearer token is live (Valid).
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// Fake is a running fake authorization server with one user and one client.
type Fake struct {
	*httptest.Server
	ClientID, ClientSecret string

	mu sync.Mutex
	// account is the address the user signs in as.
	account string
	// ttl is the lifetime of access tokens.
	ttl time.Duration
	// rotate makes each refresh hand out a new refresh token, as Microsoft does.
	rotate bool
	// deny makes the user refuse consent (error=access_denied).
	deny    bool
	now     func() time.Time
	codes   map[string]*grant // authorization code -> what it was issued for
	refresh map[string]bool   // live refresh tokens
	access  map[string]time.Time
	// counters
	exchanges, refreshes int
	lastAuth             url.Values
}

type grant struct {
	challenge, redirect string
	used                bool
}

// New starts a fake for the client id and secret. The user signs in as account; access
// tokens live an hour. Close stops it.
func New(clientID, clientSecret, account string) *Fake {
	f := &Fake{ClientID: clientID, ClientSecret: clientSecret, account: account, ttl: time.Hour, now: time.Now,
		codes: map[string]*grant{}, refresh: map[string]bool{}, access: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	f.Server = httptest.NewServer(mux)
	return f
}

// AuthURL and TokenURL are the fake's endpoints, for a provider's config.
func (f *Fake) AuthURL() string  { return f.URL + "/authorize" }
func (f *Fake) TokenURL() string { return f.URL + "/token" }

// SetClock makes the fake's tokens expire on now.
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// SetTTL sets the lifetime of access tokens handed out from now on.
func (f *Fake) SetTTL(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ttl = d
}

// Rotate makes each refresh hand out a new refresh token and retire the old one.
func (f *Fake) Rotate(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotate = on
}

// Deny makes the user refuse consent at the authorization endpoint.
func (f *Fake) Deny(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = on
}

// RevokeAll revokes every refresh and access token, as a user does who removes the app's
// access or changes their password.
func (f *Fake) RevokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refresh = map[string]bool{}
	f.access = map[string]time.Time{}
}

// Valid reports whether token is a live access token of the user, for mail servers that
// accept only the right bearer token; it returns the account it is for.
func (f *Fake) Valid(token string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.access[token]
	if !ok || !f.now().Before(exp) {
		return "", false
	}
	return f.account, true
}

// Refreshes counts the refresh-token grants the fake answered with a token.
func (f *Fake) Refreshes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

// Exchanges counts the authorization codes the fake traded for tokens.
func (f *Fake) Exchanges() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

// LastAuthorize returns the query of the last authorization request.
func (f *Fake) LastAuthorize() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize is the browser's stop at the provider: the user is signed in and consents
// at once, unless Deny. It checks what a real server checks before it redirects.
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.lastAuth = q
	deny := f.deny
	f.mu.Unlock()
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if q.Get("client_id") != f.ClientID || err != nil || !ru.IsAbs() {
		// A real server shows its own error page: it never redirects to an unknown client's URI.
		http.Error(w, "unknown client or redirect URI", http.StatusBadRequest)
		return
	}
	back := ru.Query()
	back.Set("state", q.Get("state"))
	switch {
	case deny:
		back.Set("error", "access_denied")
		back.Set("error_description", "The user did not consent.")
	case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		back.Set("error", "invalid_request")
		back.Set("error_description", "PKCE with S256 is required.")
	default:
		code := random()
		f.mu.Lock()
		f.codes[code] = &grant{challenge: q.Get("code_challenge"), redirect: redirect}
		f.mu.Unlock()
		back.Set("code", code)
	}
	ru.RawQuery = back.Encode()
	http.Redirect(w, r, ru.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, status int, code, descr string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": descr})
}

// idToken is an OpenID Connect ID token naming the account. Its signature is made up:
// Parley reads the claims of a token that came straight from the token endpoint.
func (f *Fake) idToken() string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"iss": f.URL, "aud": f.ClientID, "email": f.account,
		"email_verified": true, "sub": "user-1", "exp": f.now().Add(time.Hour).Unix()})
	return head + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString([]byte("not-a-signature"))
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "The body is not a form.")
		return
	}
	form := r.PostForm
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != f.ClientID || secret != f.ClientSecret {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ans := map[string]any{"token_type": "Bearer", "expires_in": int(f.ttl / time.Second)}
	switch form.Get("grant_type") {
	case "authorization_code":
		g := f.codes[form.Get("code")]
		switch {
		case g == nil || g.used:
			tokenError(w, http.StatusBadRequest, "invalid_grant", "The authorization code is unknown or was used.")
			return
		case g.redirect != form.Get("redirect_uri"):
			tokenError(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the authorization request.")
			return
		}
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "The code_verifier does not match the code_challenge.")
			return
		}
		g.used = true
		f.exchanges++
		rt := random()
		f.refresh[rt] = true
		ans["refresh_token"] = rt
		ans["id_token"] = f.idToken()
		ans["scope"] = "https://mail.google.com/ openid email"
	case "refresh_token":
		rt := form.Get("refresh_token")
		if !f.refresh[rt] {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		f.refreshes++
		if f.rotate {
			delete(f.refresh, rt)
			rt = random()
			f.refresh[rt] = true
			ans["refresh_token"] = rt
		}
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "Only authorization_code and refresh_token.")
		return
	}
	at := "ya29." + random()
	f.access[at] = f.now().Add(f.ttl)
	ans["access_token"] = at
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(ans)
}
