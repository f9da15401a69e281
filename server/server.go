// Package server is Parley's HTTP side: the REST API, authentication and sessions, the
// console's static files and the health and metrics endpoints.
package server

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/oauth"
	"parley/orders"
	"parley/outbound"
)

// Options configure a Server.
type Options struct {
	// Statuses, when set, has the connection statuses of inboxes whose fetcher or bot
	// runs on another node of a cluster (channels.StatusBoard).
	Statuses interface {
		Status(inboxID int64) *channels.InboxStatus
	}
	// RateLimits, when set, are buckets every node of a cluster shares: sign-in limits
	// hold for the cluster. Nil: this process's own.
	RateLimits crm.TokenBuckets
	// PublicURL is where browsers reach Parley: scheme and host, e.g. https://desk.example
	// (cmd/parley checks it). It decides whether cookies are Secure, which Origin is the
	// console's own and the host of the shops' webhook URLs. Nil: the request's host.
	PublicURL *url.URL
	// DefaultRegion parses phone numbers written without a country code (ISO 3166, "US").
	DefaultRegion string
	// SessionTTL is how long a login lasts. Default 30 days.
	SessionTTL time.Duration
	Logger     *slog.Logger
	// UI serves the console at "/"; nil shows a plain page.
	UI http.Handler
	// Channels holds the connectors, asked to check inbox configs and report status.
	Channels *channels.Registry
	// Bus carries the store's committed events and live typing and viewing events to the
	// WebSocket hub. Nil gives the hub a private bus: sockets then get no stored events.
	Bus crm.Bus
	// Outbound connects to the shops' APIs for the orders engine. Default: the strict
	// client, which refuses private and loopback addresses.
	Outbound *outbound.Client
	// MetricsToken, when set, is the bearer token that GET /metrics requires.
	MetricsToken string
	// MetricsElsewhere takes GET /metrics off this server's routes: the caller serves
	// MetricsHandler on a listener of its own.
	MetricsElsewhere bool
	// AuthRecheck is how often the sessions and API tokens of open sockets are checked
	// again, so that a revocation or expiry the bus did not announce (the CLI) ends them.
	// Default 3 seconds.
	AuthRecheck time.Duration
	// PresenceTTL is how long the agents another node announced stay online here after
	// its last announcement; nodes announce every quarter of it. Default 20 seconds.
	PresenceTTL time.Duration
	// NoReadCache turns off the cache of encoded ticket lists and threads, for a store
	// whose data other processes change without telling this one.
	NoReadCache bool
	// OAuth signs email inboxes in with Google and Microsoft; nil offers no sign-in.
	OAuth *oauth.Service
	// WhatsApp lists the approved WhatsApp templates of phone inboxes; nil lists none.
	WhatsApp WhatsAppTemplates
	// Reasons trains the contact-reason classifier on demand; nil: POST
	// /api/v1/reasons/train answers unavailable.
	Reasons Classifier
}

// Server serves the HTTP API over a store.
type Server struct {
	store   Store
	opt     Options
	log     *slog.Logger
	mux     *http.ServeMux
	secure  bool
	logins  *limiter
	metrics *metrics
	hub     *hub
	orders  *orders.Service
	reads   *readCache // nil when the store has no read versions
}

// New returns a Server over store with every route registered.
func New(store Store, opt Options) *Server {
	if opt.SessionTTL == 0 {
		opt.SessionTTL = 30 * 24 * time.Hour
	}
	if opt.DefaultRegion == "" {
		opt.DefaultRegion = "US"
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Channels == nil {
		opt.Channels = channels.NewRegistry()
	}
	s := &Server{
		store:   store,
		opt:     opt,
		log:     opt.Logger,
		mux:     http.NewServeMux(),
		secure:  opt.PublicURL != nil && opt.PublicURL.Scheme == "https",
		logins:  newLimiter(),
		metrics: newMetrics(),
	}
	s.logins.shared = opt.RateLimits
	if opt.Bus == nil {
		opt.Bus = crm.NewBus()
		s.opt.Bus = opt.Bus
	}
	if !opt.NoReadCache {
		s.reads = newReadCache(store)
	}
	s.hub = newHub(store, opt.Bus, s.log, opt.AuthRecheck)
	if opt.PresenceTTL > 0 {
		s.hub.presenceTTL, s.hub.presenceBeat = opt.PresenceTTL, opt.PresenceTTL/4
	}
	s.metrics.reg.MustRegister(s.hub.collectors()...)
	s.routes()
	return s
}

// Handle registers an extra handler, for channels that bring their own endpoints
// (webhooks, the widget).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP applies the common headers, recovers panics and records metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v)
			if !rec.wrote {
				writeError(rec, crm.Errorf(crm.EINTERNAL, "internal error"))
			}
		}
		s.metrics.observe(r.Pattern, rec.status, time.Since(start))
	}()
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.handleHealth)
	if s.opt.MetricsElsewhere {
		m.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, crm.Errorf(crm.ENOTFOUND, "no such endpoint %s %s", r.Method, r.URL.Path))
		})
	} else {
		m.Handle("GET /metrics", s.MetricsHandler())
	}
	m.HandleFunc("POST /api/v1/login", s.handleLogin)
	m.HandleFunc("POST /api/v1/login/totp", s.handleLoginTOTP)
	m.HandleFunc("POST /api/v1/login/totp/setup", s.handleLoginTOTPSetup)
	m.HandleFunc("POST /api/v1/invitations/check", s.handleCheckInvitation)
	m.HandleFunc("POST /api/v1/invitations/accept", s.handleAcceptInvitation)
	m.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, crm.Errorf(crm.ENOTFOUND, "no such endpoint %s %s", r.Method, r.URL.Path))
	})

	s.api("POST /api/v1/logout", roleAgent, s.handleLogout)
	s.api("GET /api/v1/me", roleAgent, s.handleMe)
	s.api("GET /api/v1/me/profile", roleAgent, s.handleProfile)
	s.api("PATCH /api/v1/me", roleAgent, s.handleUpdateProfile)
	s.api("POST /api/v1/me/password", roleAgent, s.handleChangePassword)
	s.api("PUT /api/v1/me/avatar", roleAgent, s.handleSetAvatar)
	s.api("DELETE /api/v1/me/avatar", roleAgent, s.handleDeleteAvatar)
	s.api("GET /api/v1/me/sessions", roleAgent, s.handleSessions)
	s.api("DELETE /api/v1/me/sessions", roleAgent, s.handleEndOtherSessions)
	s.api("DELETE /api/v1/me/sessions/{id}", roleAgent, s.handleEndSession)
	s.api("GET /api/v1/me/totp", roleAgent, s.handleMyTOTP)
	s.api("POST /api/v1/me/totp/setup", roleAgent, s.handleMyTOTPSetup)
	s.api("POST /api/v1/me/totp/confirm", roleAgent, s.handleMyTOTPConfirm)
	s.api("POST /api/v1/me/totp/disable", roleAgent, s.handleMyTOTPDisable)
	s.api("POST /api/v1/me/totp/recovery-codes", roleAgent, s.handleMyRecoveryCodes)

	s.api("GET /api/v1/tickets", roleAgent, s.handleTickets)
	s.api("POST /api/v1/tickets", roleAgent, s.handleCreateTicket)
	s.api("GET /api/v1/tickets/{id}", roleAgent, s.handleTicket)
	s.api("PATCH /api/v1/tickets/{id}", roleAgent, s.handleUpdateTicket)
	s.api("GET /api/v1/tickets/{id}/messages", roleAgent, s.handleMessages)
	s.api("POST /api/v1/tickets/{id}/messages", roleAgent, s.handleAddMessage)
	s.api("POST /api/v1/tickets/{id}/merge", roleAgent, s.handleMergeTickets)
	s.api("POST /api/v1/tickets/bulk", roleAgent, s.handleBulk)
	s.api("GET /api/v1/attachments/{id}", roleAgent, s.handleAttachment)
	s.api("GET /api/v1/views", roleAgent, s.handleViews)
	s.api("POST /api/v1/views", roleAgent, s.handleCreateView)
	s.api("GET /api/v1/views/{id}", roleAgent, s.handleView)
	s.api("PATCH /api/v1/views/{id}", roleAgent, s.handleUpdateView)
	s.api("DELETE /api/v1/views/{id}", roleAgent, s.handleDeleteView)
	s.api("GET /api/v1/notifications", roleAgent, s.handleNotifications)
	s.api("POST /api/v1/notifications/read", roleAgent, s.handleReadNotifications)

	s.api("GET /api/v1/customers", roleAgent, s.handleContacts)
	s.api("GET /api/v1/customers/{id}", roleAgent, s.handleCustomer)
	s.api("PATCH /api/v1/customers/{id}", roleAgent, s.handleUpdateCustomer)
	s.api("GET /api/v1/customers/{id}/timeline", roleAgent, s.handleHistory)
	s.api("POST /api/v1/customers/{id}/merge", roleAgent, s.handleMergeCustomers)
	s.api("POST /api/v1/customers/merges/{event}/undo", roleAgent, s.handleUnmergeCustomers)
	s.api("GET /api/v1/customers/{id}/merges", roleAgent, s.handleCustomerMerges)
	s.api("POST /api/v1/customers/{id}/identities", roleAgent, s.handleAddIdentity)
	s.api("DELETE /api/v1/customers/{id}/identities", roleAgent, s.handleRemoveIdentity)
	s.api("GET /api/v1/customers/{id}/proofs", roleAgent, s.handleProofs)
	s.api("POST /api/v1/customers/{id}/proofs/{proof}/link", roleAgent, s.handleLinkProof)
	s.api("POST /api/v1/tickets/{id}/split", roleAgent, s.handleSplitTicket)

	s.api("POST /api/v1/inbound", roleAgent, s.handleInbound)
	s.api("GET /api/v1/search", roleAgent, s.handleSearch)

	s.api("GET /api/v1/orders", roleAgent, s.handleOrders)
	s.api("GET /api/v1/orders/{number}", roleAgent, s.handleOrder)
	s.api("PUT /api/v1/orders/{number}", roleManager, s.handlePutOrder)
	s.orders = orders.New(s.store, orders.Options{Logger: s.log, DefaultRegion: s.opt.DefaultRegion, Outbound: s.opt.Outbound})
	s.api("GET /api/v1/orders/{number}/actions", roleAgent, s.handleOrderActions)
	s.api("POST /api/v1/orders/{number}/actions", roleAgent, s.handleOrderAction)
	s.api("GET /api/v1/order-sources", roleAdmin, s.handleOrderSources)
	s.api("POST /api/v1/order-sources", roleAdmin, s.handleCreateOrderSource)
	s.api("PATCH /api/v1/order-sources/{id}", roleAdmin, s.handleUpdateOrderSource)
	s.api("POST /api/v1/order-sources/{id}/test", roleAdmin, s.handleTestOrderSource)
	s.api("POST /api/v1/orders/import", roleManager, s.handleImportOrders)
	m.HandleFunc("POST /webhooks/orders/{source_id}", s.webhook(s.handleOrderWebhook))
	m.HandleFunc("POST /webhooks/shopify/{source_id}", s.webhook(s.handleShopifyWebhook))

	s.api("GET /api/v1/inboxes", roleAgent, s.handleInboxes)
	s.api("POST /api/v1/inboxes", roleAdmin, s.handleCreateInbox)
	s.api("GET /api/v1/inboxes/{id}", roleAgent, s.handleInbox)
	s.api("PATCH /api/v1/inboxes/{id}", roleAdmin, s.handleUpdateInbox)
	s.api("DELETE /api/v1/inboxes/{id}", roleAdmin, s.handleDeleteInbox)
	s.api("POST /api/v1/inboxes/{id}/test", roleAdmin, s.handleTestInbox)
	s.api("GET /api/v1/inboxes/{id}/setup", roleAdmin, s.handleInboxSetup)
	s.oauthRoutes()
	s.whatsAppRoutes()

	s.api("GET /api/v1/ws", roleAgent, s.handleWS)

	s.api("GET /api/v1/agents", roleAgent, s.handleAgents)
	s.api("POST /api/v1/agents", roleAdmin, s.handleCreateAgent)
	s.api("GET /api/v1/agents/{id}", roleAgent, s.handleAgent)
	s.api("PATCH /api/v1/agents/{id}", roleAdmin, s.handleUpdateAgent)
	s.api("GET /api/v1/agents/{id}/avatar", roleAgent, s.handleAvatar)
	s.api("DELETE /api/v1/agents/{id}/totp", roleAdmin, s.handleResetTOTP)
	s.api("GET /api/v1/invitations", roleAdmin, s.handleInvitations)
	s.api("POST /api/v1/invitations", roleAdmin, s.handleCreateInvitation)
	s.api("DELETE /api/v1/invitations/{id}", roleAdmin, s.handleRevokeInvitation)
	s.api("GET /api/v1/settings/security", roleAdmin, s.handleSecuritySettings)
	s.api("PATCH /api/v1/settings/security", roleAdmin, s.handleUpdateSecuritySettings)
	s.api("GET /api/v1/setup", roleAdmin, s.handleSetup)
	s.api("PATCH /api/v1/setup", roleAdmin, s.handleUpdateSetup)

	s.api("GET /api/v1/tokens", roleAgent, s.handleTokens)
	s.api("POST /api/v1/tokens", roleAgent, s.handleCreateToken)
	s.api("DELETE /api/v1/tokens/{id}", roleAgent, s.handleRevokeToken)

	s.webhookRoutes()
	s.ruleRoutes()
	s.assignmentRoutes()

	s.api("GET /api/v1/canned-responses", roleAgent, s.handleCannedResponses)
	s.api("POST /api/v1/canned-responses", roleManager, s.handleCreateCanned)
	s.api("PATCH /api/v1/canned-responses/{id}", roleManager, s.handleUpdateCanned)
	s.api("DELETE /api/v1/canned-responses/{id}", roleManager, s.handleDeleteCanned)

	s.api("GET /api/v1/reasons", roleAgent, s.handleReasons)
	s.api("POST /api/v1/reasons", roleManager, s.handleCreateReason)
	s.api("PATCH /api/v1/reasons/{id}", roleManager, s.handleUpdateReason)
	s.api("DELETE /api/v1/reasons/{id}", roleManager, s.handleArchiveReason)
	s.api("GET /api/v1/reasons/model", roleManager, s.handleReasonModel)
	s.api("POST /api/v1/reasons/train", roleManager, s.handleTrainReasons)
	s.api("POST /api/v1/reasons/seed", roleManager, s.handleSeedReasons)
	s.api("GET /api/v1/settings/reasons", roleAgent, s.handleReasonSettings)
	s.api("PATCH /api/v1/settings/reasons", roleManager, s.handleUpdateReasonSettings)
	s.api("GET /api/v1/tickets/{id}/suggestions", roleAgent, s.handleSuggestions)
	s.api("POST /api/v1/tickets/{id}/suggestions/{message_id}/used", roleAgent, s.handleSuggestionUsed)
	s.api("GET /api/v1/reports/reasons", roleManager, s.handleReportReasons)
	s.api("GET /api/v1/reports/reasons.csv", roleManager, s.handleReasonsCSV)
	s.api("GET /api/v1/reports/overview", roleManager, s.handleReportOverview)
	s.api("GET /api/v1/reports/agents", roleManager, s.handleReportAgents)
	s.api("GET /api/v1/reports/me", roleAgent, s.handleReportMe)
	s.api("GET /api/v1/reports/inboxes", roleManager, s.handleReportInboxes)
	s.api("GET /api/v1/reports/tickets", roleManager, s.handleReportTickets)
	s.api("GET /api/v1/reports/tickets.csv", roleManager, s.handleTicketsCSV)
	s.api("GET /api/v1/reports/agents.csv", roleManager, s.handleAgentsCSV)
	s.api("GET /api/v1/sla-policies", roleAgent, s.handleSLAPolicies)
	s.api("POST /api/v1/sla-policies", roleManager, s.handleCreateSLAPolicy)
	s.api("PATCH /api/v1/sla-policies/{id}", roleManager, s.handleUpdateSLAPolicy)
	s.api("DELETE /api/v1/sla-policies/{id}", roleManager, s.handleDeleteSLAPolicy)
	s.api("GET /api/v1/tickets/{id}/sla", roleAgent, s.handleTicketSLA)
	s.api("GET /api/v1/tickets/{id}/events", roleAgent, s.handleTicketEvents)
	s.api("GET /api/v1/audit", roleAdmin, s.handleAudit)
	s.api("GET /api/v1/audit.csv", roleAdmin, s.handleAuditCSV)
	s.api("GET /api/v1/settings/csat", roleAdmin, s.handleCSATSettings)
	s.api("PATCH /api/v1/settings/csat", roleAdmin, s.handleUpdateCSATSettings)
	s.api("GET /api/v1/settings/workflow", roleAgent, s.handleWorkflowSettings)
	s.api("PATCH /api/v1/settings/workflow", roleManager, s.handleUpdateWorkflowSettings)
	// A survey's secret token is the customer's proof; the answer is stored as the system.
	m.HandleFunc("GET /csat/{token}", asSystem(s.handleCSATPage))
	m.HandleFunc("POST /csat/{token}", asSystem(s.handleCSATAnswer))

	ui := s.opt.UI
	if ui == nil {
		ui = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte("Parley is running. The API is at /api/v1/.\n"))
		})
	}
	m.Handle("/", ui)
}

// handleHealth answers {"status":"ok"} while the store answers and takes writes. While
// writes fail for lack of disk space it answers 503 {"status":"degraded","store":"disk
// full"}, unlogged: the store logs that itself, once a minute, and probes come more often.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.store.Ping(ctx)
	if crm.ErrorCode(err) == crm.EUNAVAILABLE {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "degraded", "store": crm.ErrorMessage(err)})
		return
	}
	if err != nil {
		s.log.Error("health check", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// sameOrigin reports whether origin is the console's own: the public URL's, or the
// request's host when no public URL is configured.
func (s *Server) sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if p := s.opt.PublicURL; p != nil {
		return strings.EqualFold(p.Scheme, u.Scheme) && strings.EqualFold(p.Host, u.Host)
	}
	return strings.EqualFold(u.Host, r.Host)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and the WebSocket upgrader reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack hands the connection to the WebSocket upgrader.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.wrote, r.status = true, http.StatusSwitchingProtocols
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// asSystem runs h acting as the system: for endpoints that no agent calls and that check
// their caller another way (a survey's token).
func asSystem(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h(w, r.WithContext(crm.AsSystem(r.Context()))) }
}
