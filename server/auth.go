package server

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"parley/crm"

	"golang.org/x/time/rate"
)

const sessionCookie = "parley_session"

// Route access levels.
const (
	roleAgent = iota
	roleManager
	roleAdmin
)

func roleLevel(role string) int {
	switch role {
	case crm.RoleAdmin:
		return roleAdmin
	case crm.RoleManager:
		return roleManager
	}
	return roleAgent
}

type apiHandler func(w http.ResponseWriter, r *http.Request) error

// api registers an authenticated JSON route that needs at least the given role.
func (s *Server) api(pattern string, minRole int, h apiHandler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		err := s.authenticate(r)
		if err == nil && roleLevel(crm.AgentFrom(r.Context()).Role) < minRole {
			err = crm.Errorf(crm.EFORBIDDEN, "your role may not do this")
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			if crm.ErrorCode(err) == crm.EINTERNAL {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
		}
	})
}

// authenticate finds the agent of a bearer token or session cookie and puts it in the
// request's context. Cookie-authenticated unsafe requests must carry the session's CSRF
// token in X-CSRF-Token. It returns unauthorized or forbidden.
func (s *Server) authenticate(r *http.Request) error {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return crm.Errorf(crm.EUNAUTHORIZED, "Authorization must be a Bearer token")
		}
		a, t, err := s.store.TokenAgent(ctx, strings.TrimSpace(token))
		if err != nil {
			return err
		}
		*r = *r.WithContext(crm.WithAgent(withToken(ctx, t), a))
		return nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return crm.Errorf(crm.EUNAUTHORIZED, "log in first")
	}
	a, csrf, err := s.store.SessionAgent(ctx, c.Value)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		got := r.Header.Get("X-CSRF-Token")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrf)) != 1 {
			return crm.Errorf(crm.EFORBIDDEN, "missing or wrong X-CSRF-Token header")
		}
	}
	*r = *r.WithContext(crm.WithAgent(withCSRF(ctx, csrf), a))
	return nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		writeError(w, err)
		return
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if !s.logins.allow("ip:"+clientIP(r)) || !s.logins.allow("email:"+email) {
		s.log.Warn("login rate limited", "email", email, "ip", clientIP(r))
		writeError(w, crm.Errorf(crm.ERATELIMITED, "too many login attempts; try again in a minute"))
		return
	}
	a, err := s.store.Authenticate(r.Context(), email, req.Password)
	if err != nil {
		s.log.Warn("login failed", "email", email, "ip", clientIP(r))
		s.audit(r, "auth.login_failed", map[string]any{"email": crm.CutBytes(email, 320)})
		writeError(w, err)
		return
	}
	// The password proved who acts from here on.
	r = r.WithContext(crm.WithAgent(r.Context(), a))
	if step, err := s.secondStep(r.Context(), a); err != nil {
		s.log.Error("second sign-in step", "agent", a.ID, "err", err)
		writeError(w, err)
		return
	} else if step != "" {
		s.askSecondStep(w, r, a, step)
		return
	}
	s.signIn(w, r, a, nil)
}

// signIn starts a session of a, who proved who they are, in a new cookie (never keeping
// a session the browser had before) and answers {agent, csrf_token} with extra.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, a *crm.Agent, extra map[string]any) {
	r = r.WithContext(crm.WithAgent(r.Context(), a))
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.store.DeleteSession(r.Context(), c.Value) // rotate: never keep a pre-login session
	}
	token, csrf, err := s.store.StartSession(r.Context(), a.ID, s.opt.SessionTTL,
		crm.SessionInfo{UserAgent: r.UserAgent(), IP: clientIP(r)})
	if err != nil {
		s.log.Error("create session", "err", err)
		writeError(w, err)
		return
	}
	s.setSessionCookie(w, token)
	s.log.Info("login", "agent", a.ID, "ip", clientIP(r))
	s.audit(r, "auth.login", map[string]any{"email": a.Email})
	out := map[string]any{"agent": a, "csrf_token": csrf}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.opt.SessionTTL / time.Second),
	})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.store.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
		// The console's sockets of that browser close; those of other browsers stay.
		a := crm.AgentFrom(r.Context())
		s.hub.bus.Publish(&crm.Event{Type: crm.EventSessionEnded, Actor: crm.Actor{Kind: actorAgent, ID: a.ID},
			At: time.Now().UTC()})
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	s.audit(r, "auth.logout", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{"agent": crm.AgentFrom(r.Context())}
	if csrf := csrfFrom(r.Context()); csrf != "" {
		out["csrf_token"] = csrf
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// clientIP is the peer address. Parley does not trust X-Forwarded-For: a proxy in front
// should limit logins itself or pass the connection through.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a set of token buckets by key: 10 attempts at once, then one every 6 seconds.
// Idle buckets are dropped so the set cannot grow without bound. With shared buckets
// (several nodes), those decide, and this node's own only while they cannot be reached.
type limiter struct {
	shared  crm.TokenBuckets
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}, swept: time.Now()} }

func (l *limiter) allow(key string) bool {
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(crm.AsSystem(context.Background()), time.Second)
		ok, err := l.shared.TakeToken(ctx, "login:"+key, 1.0/6, 10)
		cancel()
		if err == nil {
			return ok
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Every(6*time.Second), 10)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
