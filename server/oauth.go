package server

import (
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"parley/crm"
	"parley/oauth"
)

// oauthCallbackPath is where Google and Microsoft send the admin's browser back to: the
// redirect URI of the operator's app registrations is the public URL plus this path.
const oauthCallbackPath = "/oauth/callback"

func (s *Server) oauthRoutes() {
	s.api("GET /api/v1/oauth/providers", roleAdmin, s.handleOAuthProviders)
	s.api("POST /api/v1/inboxes/{id}/oauth", roleAdmin, s.handleOAuthStart)
	s.api("GET /api/v1/inboxes/{id}/oauth", roleAdmin, s.handleOAuthGrant)
	s.mux.HandleFunc("GET "+oauthCallbackPath, s.handleOAuthCallback)
}

// redirectURI is the callback URL on Parley's public URL.
func (s *Server) redirectURI(r *http.Request) string { return s.publicURL(r) + oauthCallbackPath }

// handleOAuthProviders answers which sign-ins the operator set up and the redirect URI
// their app registrations must list: {"providers": ["google", "microsoft"], "redirect_uri"}.
func (s *Server) handleOAuthProviders(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"providers": s.opt.OAuth.Providers(), "redirect_uri": s.redirectURI(r)})
	return nil
}

// sessionHash is the SHA-256 of the request's session cookie, which a sign-in is bound
// to; "" for a request without one.
func sessionHash(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	h := sha256.Sum256([]byte(c.Value))
	return hex.EncodeToString(h[:])
}

// handleOAuthStart begins a sign-in of an email inbox with Google or Microsoft:
// {"provider": "google"} answers {"authorize_url"} for the browser to open. The sign-in
// is bound to the admin's console session and works once, for 10 minutes. Returns
// invalid (not an email inbox, a provider that is not set up, a request with an API
// token instead of a session) or not_found.
func (s *Server) handleOAuthStart(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Provider string `json:"provider"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	if err := oneOf("provider", req.Provider, oauth.Google, oauth.Microsoft); err != nil {
		return err
	}
	sess := sessionHash(r)
	if tokenFrom(r.Context()) != nil || sess == "" {
		return crm.Errorf(crm.EINVALID, "sign in with %s from the console: the sign-in belongs to a browser session, not an API token", req.Provider)
	}
	in, err := s.store.Inbox(r.Context(), id)
	if err != nil {
		return err
	}
	if in.Kind != crm.KindEmail {
		return crm.Errorf(crm.EINVALID, "only email inboxes sign in with %s", req.Provider)
	}
	address, _ := in.Config["address"].(string)
	u, err := s.opt.OAuth.Start(r.Context(), in.ID, req.Provider, crm.AgentFrom(r.Context()).ID, sess, s.redirectURI(r), address)
	if err != nil {
		return err
	}
	s.audit(r, "inbox.sign_in_started", map[string]any{"inbox_id": in.ID, "provider": req.Provider})
	writeJSON(w, http.StatusOK, map[string]string{"authorize_url": u})
	return nil
}

// grantOut is an inbox's sign-in as the API shows it: never its tokens.
type grantOut struct {
	Provider   string    `json:"provider"`
	Account    string    `json:"account"`
	SignedInAt time.Time `json:"updated_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Error      string    `json:"error,omitempty"`
}

// handleOAuthGrant answers an email inbox's sign-in: {provider, account, updated_at,
// expires_at (of the current access token), error (set when the provider refused the
// grant: sign in again)}. Returns not_found when the inbox never signed in.
func (s *Server) handleOAuthGrant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.store.Inbox(r.Context(), id); err != nil {
		return err
	}
	g, err := s.opt.OAuth.Grant(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, grantOut{Provider: g.Provider, Account: g.Account, SignedInAt: g.UpdatedAt.UTC(),
		ExpiresAt: g.Expiry.UTC(), Error: g.Error})
	return nil
}

// handleOAuthCallback finishes a sign-in where the provider sends the browser back:
// the state must be one this browser's admin session started, unused; the code is
// traded for tokens with the PKCE verifier; the inbox then logs in with XOAUTH2 as the
// account signed in, and the browser goes back to the inbox's page. Anything else shows
// a page that says what went wrong.
func (s *Server) handleOAuthCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	fail := func(status int, msg string) {
		s.oauthPage(w, status, msg)
	}
	if err := s.authenticate(r); err != nil {
		fail(http.StatusUnauthorized, "Log in to Parley as an admin in this browser, then start the sign-in again from the inbox's settings.")
		return
	}
	if roleLevel(crm.AgentFrom(r.Context()).Role) < roleAdmin {
		fail(http.StatusForbidden, "Only admins sign inboxes in.")
		return
	}
	if state == "" || len(state) > 200 {
		fail(http.StatusBadRequest, "The provider sent the browser back without the sign-in's state: start the sign-in again from the inbox's settings.")
		return
	}
	if e := q.Get("error"); e != "" {
		// The state is used up all the same, so that it cannot be tried again.
		s.opt.OAuth.Forget(r.Context(), state)
		msg := "The sign-in was not completed: " + cut(e, 100)
		if d := q.Get("error_description"); d != "" {
			msg += " (" + cut(d, 300) + ")"
		}
		if e == "access_denied" {
			msg = "Access was not granted, so Parley cannot read this mailbox. Start the sign-in again and allow access."
		}
		fail(http.StatusBadRequest, msg)
		return
	}
	if code == "" || len(code) > 4096 {
		fail(http.StatusBadRequest, "The provider sent no authorization code: start the sign-in again from the inbox's settings.")
		return
	}
	ctx := r.Context()
	g, err := s.opt.OAuth.Finish(ctx, state, code, crm.AgentFrom(ctx).ID, sessionHash(r), s.redirectURI(r))
	if err != nil {
		if crm.ErrorCode(err) == crm.EINTERNAL {
			s.log.Error("finish sign-in", "err", err)
		}
		fail(httpStatus(err), crm.ErrorMessage(err))
		return
	}
	in, err := s.store.Inbox(ctx, g.InboxID)
	if err == nil {
		in.Config["auth"] = g.Provider
		if g.Account != "" {
			in.Config["imap_username"], in.Config["smtp_username"] = g.Account, g.Account
		}
		// Saving the inbox restarts its channel, which logs in with the new grant.
		_, err = s.store.UpdateInbox(ctx, in)
	}
	if err != nil {
		s.log.Error("save signed-in inbox", "inbox", g.InboxID, "err", err)
		fail(httpStatus(err), "Signed in, but the inbox could not be saved: "+crm.ErrorMessage(err))
		return
	}
	s.audit(r, "inbox.signed_in", map[string]any{"inbox_id": g.InboxID, "provider": g.Provider, "account": g.Account})
	http.Redirect(w, r, "/#/settings/inboxes/"+strconv.FormatInt(g.InboxID, 10), http.StatusSeeOther)
}

func cut(s string, n int) string { return crm.CutRunes(strings.TrimSpace(s), n) }

// httpStatus is the status of an error's code, as the API answers it.
func httpStatus(err error) int {
	rec := &statusOnly{header: http.Header{}}
	writeError(rec, err)
	return rec.status
}

type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

var oauthPageTmpl = template.Must(template.New("oauth").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in not completed · Parley</title></head>
<body><main>
<h1>Sign-in not completed</h1>
<p role="alert" id="oauth-error">{{.}}</p>
<p><a href="/#/settings/inboxes">Back to the inboxes</a></p>
</main></body></html>
`))

// oauthPage shows why a sign-in did not complete, as a page of its own: the browser came
// from the provider, not from the console's scripts.
func (s *Server) oauthPage(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	oauthPageTmpl.Execute(w, msg)
}
