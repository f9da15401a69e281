// Package oauth signs email inboxes in to Gmail and Microsoft 365 with OAuth2: the
// authorization-code flow with PKCE (RFC 7636) through Parley's public URL, the refresh
// token sealed in the store, and an access token that is refreshed before it expires,
// for XOAUTH2 logins over IMAP and SMTP. It speaks the token endpoint's wire format
// (RFC 6749) itself, over the outbound HTTP client.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Provider names, as inbox configs and the API name them.
const (
	Google    = "google"
	Microsoft = "microsoft"
)

// Provider is an OAuth2 authorization server Parley signs in to mailboxes with, and the
// operator's app registration there.
type Provider struct {
	Name         string // Google or Microsoft
	Label        string // "Google", "Microsoft"
	AuthURL      string
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// AuthParams are extra parameters of the authorization request.
	AuthParams url.Values
}

// NewGoogle returns Google with the operator's OAuth client: full mail access over IMAP
// and SMTP (https://mail.google.com/), the address signed in as (openid email), and a
// refresh token (access_type=offline; prompt=consent asks again, so that Google hands
// out a refresh token on every sign-in).
func NewGoogle(clientID, clientSecret string) *Provider {
	return &Provider{Name: Google, Label: "Google",
		AuthURL:  "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL: "https://oauth2.googleapis.com/token",
		ClientID: clientID, ClientSecret: clientSecret,
		Scopes:     []string{"https://mail.google.com/", "openid", "email"},
		AuthParams: url.Values{"access_type": {"offline"}, "prompt": {"consent"}},
	}
}

// NewMicrosoft returns Microsoft's identity platform (Entra ID) for tenant ("common"
// when empty: work, school and personal accounts) with the operator's app registration:
// IMAP and SMTP in Exchange Online, a refresh token (offline_access) and the address
// signed in as (openid email).
func NewMicrosoft(clientID, clientSecret, tenant string) *Provider {
	if tenant == "" {
		tenant = "common"
	}
	base := "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0"
	return &Provider{Name: Microsoft, Label: "Microsoft",
		AuthURL: base + "/authorize", TokenURL: base + "/token",
		ClientID: clientID, ClientSecret: clientSecret,
		Scopes: []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send",
			"offline_access", "openid", "email"},
		AuthParams: url.Values{"prompt": {"select_account"}},
	}
}

// Token is what a token endpoint hands out.
type Token struct {
	AccessToken  string
	RefreshToken string // empty when the endpoint kept the one it was given
	ExpiresIn    time.Duration
	IDToken      string
}

// Error is a token endpoint's error answer (RFC 6749 section 5.2).
type Error struct {
	Status      int
	Code        string // "invalid_grant", "invalid_client", ...
	Description string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("token endpoint answered %d %s", e.Status, e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// IsInvalidGrant reports whether err is the provider's refusal of a refresh token or
// authorization code: it was revoked, it expired, the password changed or the app lost
// its consent. Only a new sign-in helps.
func IsInvalidGrant(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == "invalid_grant"
}

// randomString returns n random bytes in base64url without padding.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewVerifier returns a PKCE code verifier: 32 random bytes, 43 characters.
func NewVerifier() string { return randomString(32) }

// Challenge returns the S256 code challenge of a verifier.
func Challenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// AuthCodeURL returns where to send the admin's browser to sign in: the authorization
// request with state, the PKCE challenge of verifier, the redirect URI and, when set,
// the address to sign in as.
func (p *Provider) AuthCodeURL(state, verifier, redirectURI, loginHint string) string {
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {p.ClientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {strings.Join(p.Scopes, " ")},
		"state":                 {state},
		"code_challenge":        {Challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, vs := range p.AuthParams {
		v[k] = vs
	}
	if loginHint != "" {
		v.Set("login_hint", loginHint)
	}
	sep := "?"
	if strings.Contains(p.AuthURL, "?") {
		sep = "&"
	}
	return p.AuthURL + sep + v.Encode()
}

// Exchange trades an authorization code and its PKCE verifier for tokens. Returns an
// *Error for the endpoint's refusal.
func (p *Provider) Exchange(ctx context.Context, hc *http.Client, code, verifier, redirectURI string) (*Token, error) {
	return p.token(ctx, hc, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {verifier}, "redirect_uri": {redirectURI}})
}

// Refresh trades a refresh token for a new access token (and, at Microsoft, a new refresh
// token). Returns an *Error for the endpoint's refusal: IsInvalidGrant when the grant is
// gone.
func (p *Provider) Refresh(ctx context.Context, hc *http.Client, refreshToken string) (*Token, error) {
	return p.token(ctx, hc, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"scope": {strings.Join(p.Scopes, " ")}})
}

// maxTokenAnswer bounds what is read of a token endpoint's answer.
const maxTokenAnswer = 1 << 20

func (p *Provider) token(ctx context.Context, hc *http.Client, form url.Values) (*Token, error) {
	form.Set("client_id", p.ClientID)
	if p.ClientSecret != "" {
		form.Set("client_secret", p.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s token endpoint: %w", p.Label, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	if err != nil {
		return nil, fmt.Errorf("read %s token answer: %w", p.Label, err)
	}
	var ans struct {
		AccessToken  string          `json:"access_token"`
		RefreshToken string          `json:"refresh_token"`
		ExpiresIn    json.RawMessage `json:"expires_in"` // a number; some servers send a string
		IDToken      string          `json:"id_token"`
		TokenType    string          `json:"token_type"`
		Error        string          `json:"error"`
		Description  string          `json:"error_description"`
	}
	jsonErr := json.Unmarshal(body, &ans)
	if resp.StatusCode != http.StatusOK || ans.Error != "" {
		if ans.Error == "" {
			ans.Error = "error"
			ans.Description = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
		return nil, &Error{Status: resp.StatusCode, Code: ans.Error, Description: firstLine(ans.Description)}
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("%s token answer is not JSON: %w", p.Label, jsonErr)
	}
	if ans.AccessToken == "" {
		return nil, fmt.Errorf("%s token answer has no access_token", p.Label)
	}
	if ans.TokenType != "" && !strings.EqualFold(ans.TokenType, "bearer") {
		return nil, fmt.Errorf("%s handed out a %q token, not a bearer token", p.Label, ans.TokenType)
	}
	secs, _ := strconv.ParseInt(strings.Trim(string(ans.ExpiresIn), `"`), 10, 64)
	if secs <= 0 {
		secs = 3600 // RFC 6749 leaves it optional; an hour is what both providers give
	}
	return &Token{AccessToken: ans.AccessToken, RefreshToken: ans.RefreshToken, IDToken: ans.IDToken,
		ExpiresIn: time.Duration(secs) * time.Second}, nil
}

// firstLine keeps the first line of a provider's error description (Microsoft's go on
// with trace and correlation ids) and at most 300 bytes of it.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// AccountOf returns the address an ID token names: its email claim, else Microsoft's
// preferred_username when that is an address. The token is not verified: it came straight
// from the token endpoint over TLS, in answer to Parley's own request (OpenID Connect Core
// 3.1.3.7), and it only names the account; the mail server checks the access token.
func AccountOf(idToken string) string {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Email             string `json:"email"`
		PreferredUsername string `json:"preferred_username"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	for _, a := range []string{claims.Email, claims.PreferredUsername} {
		a = strings.ToLower(strings.TrimSpace(a))
		if strings.Count(a, "@") == 1 && len(a) <= 254 && !strings.ContainsAny(a, " \r\n\x00") {
			return a
		}
	}
	return ""
}
