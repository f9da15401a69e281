package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"parley/crm"
)

// Leeway is how long before its expiry an access token is refreshed, so that a login
// never presents a token that runs out on the way.
const Leeway = 5 * time.Minute

// SignInError says that an inbox has no working sign-in: it never signed in, or the
// provider refused its refresh token. Only an admin signing in again helps, so channels
// show it on the inbox and do not count it as a passing network failure.
type SignInError struct {
	Provider string // "Google" or "Microsoft"; "" when the inbox never signed in
	Reason   string
}

func (e *SignInError) Error() string {
	if e.Provider == "" {
		return e.Reason + ": use Sign in with Google or Sign in with Microsoft in the inbox settings"
	}
	return fmt.Sprintf("%s: sign in with %s again in the inbox settings", e.Reason, e.Provider)
}

// SignInRequired marks the error for channels that do not import this package.
func (e *SignInError) SignInRequired() bool { return true }

// IsSignInError reports whether err says an inbox must sign in again.
func IsSignInError(err error) bool {
	var e *SignInError
	return errors.As(err, &e)
}

// Service keeps the sign-ins of email inboxes: it starts and finishes the browser flow
// and hands out access tokens. It is safe for concurrent use.
type Service struct {
	store     crm.OAuthStore
	providers map[string]*Provider
	http      *http.Client
	log       *slog.Logger
	// Now is the clock tokens expire on. Default time.Now.
	Now func() time.Time

	mu      sync.Mutex
	refresh map[int64]*sync.Mutex // one refresh at a time per inbox
}

// New returns a Service over store for the providers that have a client id. hc makes the
// token requests: the outbound client.
func New(store crm.OAuthStore, hc *http.Client, logger *slog.Logger, providers ...*Provider) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Service{store: store, providers: map[string]*Provider{}, http: hc, log: logger.With("part", "oauth"),
		Now: time.Now, refresh: map[int64]*sync.Mutex{}}
	for _, p := range providers {
		if p != nil && p.ClientID != "" {
			s.providers[p.Name] = p
		}
	}
	return s
}

// Provider returns a configured provider by name, or nil.
func (s *Service) Provider(name string) *Provider {
	if s == nil {
		return nil
	}
	return s.providers[name]
}

// Providers lists the names of the configured providers, sorted.
func (s *Service) Providers() []string {
	if s == nil {
		return []string{}
	}
	names := []string{}
	for n := range s.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Start begins a sign-in of an inbox: it records a single-use state bound to the admin's
// session (agentID and the SHA-256 of its token) with a new PKCE verifier, and returns
// the provider's URL to send the browser to. Returns invalid (a provider that is not
// configured) or not_found.
func (s *Service) Start(ctx context.Context, inboxID int64, provider string, agentID int64, sessionHash,
	redirectURI, loginHint string) (string, error) {
	p := s.Provider(provider)
	if p == nil {
		return "", crm.Errorf(crm.EINVALID, "sign-in with %q is not set up: the operator sets PARLEY_%s_CLIENT_ID and _SECRET",
			provider, envName(provider))
	}
	st := &crm.OAuthState{State: randomString(32), InboxID: inboxID, Provider: p.Name, Verifier: NewVerifier(),
		AgentID: agentID, SessionHash: sessionHash, ExpiresAt: s.Now().Add(crm.OAuthStateTTL)}
	if err := s.store.CreateOAuthState(ctx, st); err != nil {
		return "", err
	}
	return p.AuthCodeURL(st.State, st.Verifier, redirectURI, loginHint), nil
}

func envName(provider string) string {
	switch provider {
	case Google:
		return "GOOGLE"
	case Microsoft:
		return "MICROSOFT"
	}
	return "<PROVIDER>"
}

// Finish completes a sign-in with the state and code the provider sent the browser back
// with: the state must be one this admin's session started (it works once), and the code
// is exchanged with its PKCE verifier. The grant is saved, replacing the inbox's earlier
// one. Returns not_found (unknown, used or expired state), forbidden (another session's
// state) or invalid (the provider refused the code or gave no refresh token).
func (s *Service) Finish(ctx context.Context, state, code string, agentID int64, sessionHash, redirectURI string) (*crm.OAuthGrant, error) {
	if s == nil {
		return nil, crm.Errorf(crm.EINVALID, "sign-in with Google or Microsoft is not set up on this server")
	}
	st, err := s.store.TakeOAuthState(ctx, state)
	if err != nil {
		return nil, err
	}
	if st.AgentID != agentID || st.SessionHash != sessionHash {
		return nil, crm.Errorf(crm.EFORBIDDEN, "this sign-in was started in another session: start it again from the inbox settings")
	}
	p := s.Provider(st.Provider)
	if p == nil {
		return nil, crm.Errorf(crm.EINVALID, "sign-in with %s is no longer set up", st.Provider)
	}
	start := s.Now() // the token's lifetime counts from before the request
	tok, err := p.Exchange(ctx, s.http, code, st.Verifier, redirectURI)
	var oe *Error
	if errors.As(err, &oe) {
		return nil, crm.Errorf(crm.EINVALID, "%s refused the sign-in: %s", p.Label, oe.Error())
	} else if err != nil {
		return nil, fmt.Errorf("finish sign-in of inbox %d: %w", st.InboxID, err)
	}
	if tok.RefreshToken == "" {
		return nil, crm.Errorf(crm.EINVALID, "%s gave no refresh token, so Parley could not stay signed in: "+
			"check that the app asks for offline access and sign in again", p.Label)
	}
	g, err := s.store.SaveOAuthGrant(ctx, &crm.OAuthGrant{InboxID: st.InboxID, Provider: p.Name,
		Account: AccountOf(tok.IDToken), RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken, Expiry: start.Add(tok.ExpiresIn)})
	if err != nil {
		return nil, err
	}
	s.log.Info("inbox signed in", "inbox", g.InboxID, "provider", p.Name, "account", g.Account)
	return g, nil
}

// Forget uses up a started sign-in that the provider reports as failed, so that its
// state cannot be tried again.
func (s *Service) Forget(ctx context.Context, state string) {
	if s != nil {
		s.store.TakeOAuthState(ctx, state)
	}
}

// Grant returns the sign-in of an inbox. Returns not_found.
func (s *Service) Grant(ctx context.Context, inboxID int64) (*crm.OAuthGrant, error) {
	if s == nil {
		return nil, crm.Errorf(crm.ENOTFOUND, "inbox %d has no sign-in", inboxID)
	}
	return s.store.OAuthGrant(ctx, inboxID)
}

// AccessToken returns the account and a live access token of an inbox's sign-in,
// refreshing it first when it expires within Leeway. A refresh token the provider
// refuses (invalid_grant) is recorded on the grant, and this and every later call
// returns a *SignInError until an admin signs in again, without asking the provider
// again. Other errors (the network, the provider's 5xx) pass and may be retried.
func (s *Service) AccessToken(ctx context.Context, inboxID int64) (account, token string, err error) {
	g, err := s.store.OAuthGrant(ctx, inboxID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return "", "", &SignInError{Reason: "the inbox is not signed in yet"}
	} else if err != nil {
		return "", "", err
	}
	if ok, err := s.usable(g); ok || err != nil {
		return g.Account, g.AccessToken, err
	}

	m := s.inboxLock(inboxID)
	m.Lock()
	defer m.Unlock()
	// Another caller may have refreshed while this one waited.
	if g, err = s.store.OAuthGrant(ctx, inboxID); err != nil {
		return "", "", err
	}
	if ok, err := s.usable(g); ok || err != nil {
		return g.Account, g.AccessToken, err
	}
	p := s.Provider(g.Provider)
	if p == nil {
		return "", "", &SignInError{Provider: g.Provider, Reason: "sign-in with " + g.Provider + " is not set up on this server"}
	}
	start := s.Now()
	tok, err := p.Refresh(ctx, s.http, g.RefreshToken)
	var oe *Error
	if errors.As(err, &oe) && oe.Code == "invalid_grant" {
		g.Error = fmt.Sprintf("%s refused the sign-in of %s (%s)", p.Label, accountName(g), oe.descr())
		if _, serr := s.store.SaveOAuthGrant(ctx, g); serr != nil && crm.ErrorCode(serr) != crm.ECONFLICT {
			s.log.Error("record refused sign-in", "inbox", inboxID, "err", serr)
		}
		s.log.Warn("sign-in refused: an admin must sign in again", "inbox", inboxID, "provider", p.Name, "err", err)
		return "", "", &SignInError{Provider: p.Label, Reason: g.Error}
	} else if err != nil {
		return "", "", fmt.Errorf("refresh the %s access token: %w", p.Label, err)
	}
	g.AccessToken, g.Expiry = tok.AccessToken, start.Add(tok.ExpiresIn)
	if tok.RefreshToken != "" {
		g.RefreshToken = tok.RefreshToken // Microsoft hands out a new one with each refresh
	}
	saved, err := s.store.SaveOAuthGrant(ctx, g)
	if crm.ErrorCode(err) == crm.ECONFLICT {
		// An admin signed in again meanwhile: the new grant wins.
		if g, err = s.store.OAuthGrant(ctx, inboxID); err != nil {
			return "", "", err
		}
		if ok, err := s.usable(g); ok || err != nil {
			return g.Account, g.AccessToken, err
		}
		return "", "", errors.New("the sign-in changed while its token was refreshed: try again")
	} else if err != nil {
		return "", "", fmt.Errorf("save refreshed token: %w", err)
	}
	s.log.Debug("access token refreshed", "inbox", inboxID, "provider", p.Name, "expires", saved.Expiry)
	return saved.Account, saved.AccessToken, nil
}

// usable reports whether g's access token lives longer than Leeway; a grant the provider
// refused is a *SignInError.
func (s *Service) usable(g *crm.OAuthGrant) (bool, error) {
	if g.Error != "" {
		label := g.Provider
		if p := s.Provider(g.Provider); p != nil {
			label = p.Label
		}
		return false, &SignInError{Provider: label, Reason: g.Error}
	}
	return g.AccessToken != "" && s.Now().Add(Leeway).Before(g.Expiry), nil
}

func (e *Error) descr() string {
	if e.Description != "" {
		return e.Code + ": " + e.Description
	}
	return e.Code
}

func accountName(g *crm.OAuthGrant) string {
	if g.Account != "" {
		return g.Account
	}
	return "the mailbox"
}

func (s *Service) inboxLock(id int64) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.refresh[id]
	if m == nil {
		m = &sync.Mutex{}
		s.refresh[id] = m
	}
	return m
}
