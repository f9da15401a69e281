package server

import "net/http"

// HandleAPI registers an authenticated API route served by a channel (for example the
// phone channel's click-to-call). The handler finds the agent with crm.AgentFrom and
// writes its own JSON; unauthenticated requests and missing CSRF tokens are refused
// before it runs, like every other API route.
func (s *Server) HandleAPI(pattern string, h http.Handler) {
	s.api(pattern, roleAgent, func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	})
}
