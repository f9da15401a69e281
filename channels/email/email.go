// Package email is Parley's email channel: it reads each email inbox's IMAP mailbox
// (IDLE when the server offers it, polling otherwise), parses and threads the mail into
// tickets, and sends agents' replies over SMTP through the outbox.
package email

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/identity"
	"parley/outbound"
)

// Security modes of IMAP and SMTP connections.
const (
	SecurityTLS      = "tls"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"
)

// Channel is the email connector and the manager of one IMAP fetcher per email inbox.
// Register it for crm.KindEmail and run Run in its own goroutine.
type Channel struct {
	store  Store
	bus    crm.Bus
	logger *slog.Logger

	// TLSConfig, when set, is cloned for every TLS connection (tests trust their own CA).
	TLSConfig *tls.Config
	// PollInterval is how often a mailbox without IDLE is checked. Default 30 seconds.
	PollInterval time.Duration
	// Hold, when set, runs each mailbox's fetcher only on the node that holds its lease.
	Hold channels.HoldFunc
	// IdleRefresh is how long an IDLE runs before the mailbox is checked anyway, which
	// also catches servers that drop IDLE notifications silently. Default 10 minutes, at
	// most 25 (RFC 2177: servers may log a client out after 29 idle minutes).
	IdleRefresh time.Duration
	// CommandTimeout is how long the fetcher waits for an IMAP server that sends
	// nothing while it owes an answer. Then the connection is closed, the inbox status
	// shows the error, and the fetcher reconnects with backoff. Default 2 minutes.
	CommandTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting after an error.
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds connecting and logging in. Default 30 seconds.
	DialTimeout time.Duration
	// Outbound makes the IMAP and SMTP connections and decides which hosts may be saved.
	// Default: the strict client, which refuses private and loopback addresses.
	Outbound *outbound.Client
	// OAuth hands out the access tokens of inboxes that sign in with Google or
	// Microsoft (config "auth": "google" or "microsoft"). Nil: such inboxes cannot log in.
	OAuth TokenSource

	once   sync.Once
	mu     sync.Mutex
	status map[int64]*channels.InboxStatus // of the inboxes a fetcher runs for
}

var (
	_ channels.Connector      = (*Channel)(nil)
	_ channels.InboxPreparer  = (*Channel)(nil)
	_ channels.InboxTester    = (*Channel)(nil)
	_ channels.StatusReporter = (*Channel)(nil)
)

// New returns the email channel over store.
func New(store Store, bus crm.Bus, logger *slog.Logger) *Channel {
	if logger == nil {
		logger = slog.Default()
	}
	c := &Channel{store: store, bus: bus, logger: logger.With("channel", "email"),
		status: map[int64]*channels.InboxStatus{}}
	return c
}

// defaults fills unset settings once; Run, Send and TestInbox run concurrently.
func (c *Channel) defaults() { c.once.Do(c.setDefaults) }

func (c *Channel) setDefaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = 30 * time.Second
	}
	if c.IdleRefresh <= 0 {
		c.IdleRefresh = 10 * time.Minute
	}
	c.IdleRefresh = min(c.IdleRefresh, 25*time.Minute)
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 2 * time.Minute
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 30 * time.Second
	}
	if c.Outbound == nil {
		c.Outbound = outbound.New(outbound.Options{})
	}
}

// Config is the configuration of an email inbox, read from crm.Inbox.Config and Secrets.
type Config struct {
	InboxID      int64
	Address      string // the support address mail is sent from and received at
	FromName     string // display name of outgoing mail; default the inbox name
	IMAPHost     string
	IMAPPort     int
	IMAPSecurity string
	IMAPUsername string
	IMAPPassword string
	IMAPMailbox  string
	SMTPHost     string
	SMTPPort     int
	SMTPSecurity string
	SMTPUsername string
	SMTPPassword string
	ReplySecret  string // signs the ticket token of reply-to addresses
	// Auth is how the inbox logs in to both servers: AuthPassword, or AuthGoogle and
	// AuthMicrosoft for XOAUTH2 with the access token of an admin's sign-in.
	Auth     string
	MarkSeen bool // set \Seen on fetched mail once it is committed
	// UseReplyTo makes the one address of a Reply-To other than From the customer, as
	// contact forms and shop systems send it from a no-reply address. Default true;
	// config use_reply_to: false turns it off.
	UseReplyTo bool
	// TrustedAuthservID is the name the receiving mail server writes into the
	// Authentication-Results headers it adds (for Gmail "mx.google.com"). Only its
	// headers are believed; when empty, the topmost header is.
	TrustedAuthservID string
}

// Domain returns the domain of the inbox address.
func (cfg *Config) Domain() string {
	_, d, _ := strings.Cut(cfg.Address, "@")
	return d
}

// ConfigOf reads the email configuration of an inbox. It does not validate it.
func ConfigOf(in *crm.Inbox) *Config {
	s := func(k string) string {
		if v, ok := in.Config[k].(string); ok {
			return strings.TrimSpace(v)
		}
		return ""
	}
	sec := func(k string) string {
		if v := in.Secrets[k]; v != "" {
			return v
		}
		v, _ := in.Config[k].(string)
		return v
	}
	b, _ := in.Config["mark_seen"].(bool)
	replyTo, set := in.Config["use_reply_to"].(bool)
	cfg := &Config{
		InboxID: in.ID, Auth: strings.ToLower(s("auth")),
		Address: strings.ToLower(s("address")), FromName: s("from_name"),
		IMAPHost: s("imap_host"), IMAPPort: intOf(in.Config["imap_port"]), IMAPSecurity: strings.ToLower(s("imap_security")),
		IMAPUsername: s("imap_username"), IMAPPassword: sec("imap_password"), IMAPMailbox: s("imap_mailbox"),
		SMTPHost: s("smtp_host"), SMTPPort: intOf(in.Config["smtp_port"]), SMTPSecurity: strings.ToLower(s("smtp_security")),
		SMTPUsername: s("smtp_username"), SMTPPassword: sec("smtp_password"),
		ReplySecret: sec("reply_secret"), MarkSeen: b, TrustedAuthservID: s("trusted_authserv_id"),
		UseReplyTo: replyTo || !set,
	}
	if cfg.FromName == "" {
		cfg.FromName = in.Name
	}
	if cfg.IMAPMailbox == "" {
		cfg.IMAPMailbox = "INBOX"
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthPassword
	}
	return cfg
}

// intOf reads a port from JSON (a float64), a Go int or a string; -1 when it is not one.
func intOf(v any) int {
	switch v := v.(type) {
	case nil:
		return 0
	case float64:
		if v != math.Trunc(v) || v < 0 || v > 65535 {
			return -1
		}
		return int(v)
	case int:
		return v
	case int64:
		return int(v)
	case string:
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}

// validHost reports whether h looks like a host name or IP address.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_:[]", r)) {
			return false
		}
	}
	return true
}

// PrepareInbox checks an email inbox's config and completes it before it is saved:
// the address is lower-cased, ports default to the standard ones of their security
// mode, the mailbox to INBOX, user names to the address, and a reply_secret is
// generated once (it is sealed with the other secrets). An inbox whose auth is google or
// microsoft needs no password: it logs in with the access token of an admin's sign-in.
// A host that is a loopback or private IP address, or localhost, is refused unless the
// private network is allowed. Returns invalid.
func (c *Channel) PrepareInbox(ctx context.Context, in *crm.Inbox) error {
	if in.Config == nil {
		in.Config = map[string]any{}
	}
	cfg := ConfigOf(in)
	addr, err := identity.Normalize(crm.IdentityEmail, cfg.Address, "")
	if err != nil {
		return crm.Errorf(crm.EINVALID, "config.address must be an email address")
	}
	if strings.Contains(addr, "+") {
		return crm.Errorf(crm.EINVALID, "config.address must not contain '+': it is used for reply addresses")
	}
	in.Config["address"] = addr
	switch v := in.Config["auth"].(type) {
	case nil:
	case string:
		switch a := strings.ToLower(strings.TrimSpace(v)); a {
		case "", AuthPassword:
			delete(in.Config, "auth")
		case AuthGoogle, AuthMicrosoft:
			in.Config["auth"] = a
		default:
			return crm.Errorf(crm.EINVALID, "config.auth must be password, google or microsoft")
		}
	default:
		return crm.Errorf(crm.EINVALID, "config.auth must be password, google or microsoft")
	}
	oauth := cfg.Auth == AuthGoogle || cfg.Auth == AuthMicrosoft
	for _, p := range []struct {
		name                 string
		host                 string
		port                 int
		security             string
		tlsPort, plainPort   int
		startTLSPort         int
		defaultSecurity      string
		username, password   string
		passwordRequiredName string
	}{
		{"imap", cfg.IMAPHost, cfg.IMAPPort, cfg.IMAPSecurity, 993, 143, 143, SecurityTLS, cfg.IMAPUsername, cfg.IMAPPassword, "imap_password"},
		{"smtp", cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPSecurity, 465, 25, 587, SecurityStartTLS, cfg.SMTPUsername, cfg.SMTPPassword, ""},
	} {
		if !validHost(p.host) {
			return crm.Errorf(crm.EINVALID, "config.%s_host must be a host name", p.name)
		}
		c.defaults()
		if r := c.Outbound.CheckHost(p.host); r != nil {
			return crm.Errorf(crm.EINVALID, "%s", r.Setting("config."+p.name+"_host"))
		}
		sec := p.security
		if sec == "" {
			sec = p.defaultSecurity
		}
		port := p.port
		switch sec {
		case SecurityTLS:
			if port == 0 {
				port = p.tlsPort
			}
		case SecurityStartTLS:
			if port == 0 {
				port = p.startTLSPort
			}
		case SecurityNone:
			if port == 0 {
				port = p.plainPort
			}
		default:
			return crm.Errorf(crm.EINVALID, "config.%s_security must be tls, starttls or none", p.name)
		}
		if port < 1 || port > 65535 {
			return crm.Errorf(crm.EINVALID, "config.%s_port must be a port number", p.name)
		}
		in.Config[p.name+"_host"] = p.host
		in.Config[p.name+"_security"] = sec
		in.Config[p.name+"_port"] = port
		if p.username == "" {
			in.Config[p.name+"_username"] = addr
		}
		if p.passwordRequiredName != "" && p.password == "" && !oauth {
			return crm.Errorf(crm.EINVALID, "config.%s is required", p.passwordRequiredName)
		}
	}
	if cfg.SMTPPassword == "" && in.Config["smtp_password"] == nil && !oauth {
		// Most providers take the same password for IMAP and SMTP.
		in.Config["smtp_password"] = cfg.IMAPPassword
	}
	if mb, _ := in.Config["imap_mailbox"].(string); strings.TrimSpace(mb) == "" {
		in.Config["imap_mailbox"] = "INBOX"
	} else if len(mb) > 200 || strings.ContainsAny(mb, "\r\n\x00") {
		return crm.Errorf(crm.EINVALID, "config.imap_mailbox is not a mailbox name")
	}
	if v, ok := in.Config["trusted_authserv_id"]; ok {
		id, isString := v.(string)
		id = strings.TrimSpace(id)
		if !isString || len(id) > maxAuthServIDLen || strings.ContainsFunc(id, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune(`;()"\`, r)
		}) {
			return crm.Errorf(crm.EINVALID, "config.trusted_authserv_id must be the receiving mail server's name, such as mx.google.com")
		}
		in.Config["trusted_authserv_id"] = id
	}
	for _, k := range []string{"mark_seen", "use_reply_to"} {
		if v, ok := in.Config[k]; ok {
			if _, ok := v.(bool); !ok {
				return crm.Errorf(crm.EINVALID, "config.%s must be true or false", k)
			}
		}
	}
	if cfg.ReplySecret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("generate reply secret: %w", err)
		}
		in.Config["reply_secret"] = hex.EncodeToString(b)
	}
	return nil
}

// InboxStatus returns the state of an email inbox's IMAP connection, or nil when the
// channel has no fetcher for it.
func (c *Channel) InboxStatus(inboxID int64) *channels.InboxStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status[inboxID]
	if s == nil {
		return nil
	}
	cp := *s
	return &cp
}

// setStatus records the state of an inbox's IMAP connection. While it reconnects
// ("connecting") the error that ended the last session stays visible.
func (c *Channel) setStatus(inboxID int64, state string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status[inboxID]
	if s != nil && s.State == state && (err == nil || s.LastError == err.Error()) {
		return
	}
	ns := &channels.InboxStatus{State: state, Since: time.Now().UTC()}
	if err != nil {
		ns.LastError = err.Error()
	} else if s != nil && state == "connecting" {
		ns.LastError, ns.SignIn = s.LastError, s.SignIn
	}
	c.status[inboxID] = ns
}

// markSignIn records on an inbox's status that an admin must sign in with provider again.
func (c *Channel) markSignIn(inboxID int64, provider string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.status[inboxID]; s != nil {
		s.SignIn = provider
	}
}
