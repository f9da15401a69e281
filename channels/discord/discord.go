// Package discord is Parley's Discord channel: a bot per Discord inbox that turns direct
// messages and messages in configured support channels into tickets, and delivers agent
// replies back to the DM or to the Discord thread of the ticket. It wraps discordgo.
package discord

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/outbound"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// DefaultAPIBaseURL is where the bot talks to Discord unless an inbox says otherwise.
const DefaultAPIBaseURL = "https://discord.com"

// Limits of the channel.
const (
	maxSupportChannels = 50
	maxMessageLen      = 2000 // Discord's limit of one message, in characters
	maxAttachments     = 10   // Discord's own limit per message
	maxAttachmentTotal = 50 << 20
)

// Config keys of a Discord inbox. bot_token ends in "token", so the store keeps it sealed.
const (
	keyToken    = "bot_token"
	keyChannels = "support_channel_ids"
	keyBaseURL  = "api_base_url"
)

// cdnHosts are the only hosts attachments are downloaded from: Discord's CDN and its
// media proxy. Anything else in an attachment URL is refused, so a forged event cannot
// make Parley fetch internal URLs.
var cdnHosts = []string{"cdn.discordapp.com", "media.discordapp.net"}

func init() {
	// discordgo logs through a package-level hook; it is set once here, before any session
	// runs, so that its messages go to slog like the rest of Parley.
	discordgo.Logger = func(level, caller int, format string, a ...any) {
		lv := slog.LevelDebug
		switch level {
		case discordgo.LogError:
			lv = slog.LevelError
		case discordgo.LogWarning:
			lv = slog.LevelWarn
		}
		slog.Default().Log(context.Background(), lv, "discordgo: "+fmt.Sprintf(format, a...))
	}
}

// Options configure a Channel. Every field is optional.
type Options struct {
	Logger *slog.Logger
	// Outbound carries the REST API, the gateway connection and attachment downloads, and
	// decides which api_base_url hosts may be saved. Default: the strict client, which
	// refuses private and loopback addresses.
	Outbound *outbound.Client
	// AllowedCDNHosts adds hosts (host or host:port) that attachments may be downloaded
	// from, over http or https. Tests use it for their fake Discord; production needs none.
	AllowedCDNHosts []string
	// ReconnectDelay is the first wait before reconnecting a dropped gateway connection;
	// it doubles up to five minutes. Default one second.
	ReconnectDelay time.Duration
	// Hold, when set, runs each bot only on the node that holds its lease.
	Hold channels.HoldFunc
}

// Channel is the Discord connector and the manager of one bot session per Discord inbox.
type Channel struct {
	store Store
	bus   crm.Bus
	log   *slog.Logger
	opt   Options
	out   *outbound.Client
	http  *http.Client // attachment downloads
	cdn   map[string]bool
	extra map[string]bool // test hosts, also allowed over http

	mu     sync.Mutex
	bots   map[int64]*bot
	status map[int64]*channels.InboxStatus
}

var (
	_ channels.Connector      = (*Channel)(nil)
	_ channels.InboxPreparer  = (*Channel)(nil)
	_ channels.InboxTester    = (*Channel)(nil)
	_ channels.StatusReporter = (*Channel)(nil)
)

// New returns the Discord channel. Register it for crm.KindDiscord and start Run.
func New(store Store, bus crm.Bus, opt Options) *Channel {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.ReconnectDelay <= 0 {
		opt.ReconnectDelay = time.Second
	}
	if opt.Outbound == nil {
		opt.Outbound = outbound.New(outbound.Options{})
	}
	c := &Channel{store: store, bus: bus, log: opt.Logger.With("channel", "discord"), opt: opt, out: opt.Outbound,
		cdn: map[string]bool{}, extra: map[string]bool{},
		bots: map[int64]*bot{}, status: map[int64]*channels.InboxStatus{}}
	for _, h := range cdnHosts {
		c.cdn[h] = true
	}
	for _, h := range opt.AllowedCDNHosts {
		c.extra[strings.ToLower(h)] = true
	}
	c.http = c.out.HTTPClient(2 * time.Minute)
	c.http.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("too many redirects")
		}
		return c.checkCDN(req.URL)
	}
	return c
}

// config is a parsed Discord inbox config.
type config struct {
	token    string
	channels map[string]bool
	base     string
}

func (c config) equal(o config) bool {
	if c.token != o.token || c.base != o.base || len(c.channels) != len(o.channels) {
		return false
	}
	for id := range c.channels {
		if !o.channels[id] {
			return false
		}
	}
	return true
}

// PrepareInbox checks a Discord inbox config before it is saved: bot_token is required
// (a leading "Bot " is dropped), support_channel_ids must be a list of Discord ids as
// strings, and api_base_url defaults to https://discord.com and may not name a loopback
// or private address unless the private network is allowed. Returns invalid.
func (c *Channel) PrepareInbox(ctx context.Context, in *crm.Inbox) error {
	if in.Config == nil {
		in.Config = map[string]any{}
	}
	token := in.Secrets[keyToken] // the stored token, on an update
	if v, ok := in.Config[keyToken]; ok {
		s, isString := v.(string)
		if !isString {
			return crm.Errorf(crm.EINVALID, "bot_token must be a string")
		}
		// A new token stays in the config: the store seals it and it wins over the stored
		// one. Empty keeps the stored token.
		if s = cleanToken(s); s != "" {
			token = s
			in.Config[keyToken] = s
		} else {
			delete(in.Config, keyToken)
		}
	}
	if token == "" {
		return crm.Errorf(crm.EINVALID, "bot_token is required: copy it from the Bot page of your Discord application")
	}
	if err := checkToken(token); err != nil {
		return err
	}
	ids, err := parseChannelIDs(in.Config[keyChannels])
	if err != nil {
		return err
	}
	list := make([]any, len(ids))
	for i, id := range ids {
		list[i] = id
	}
	in.Config[keyChannels] = list
	base, err := parseBaseURL(in.Config[keyBaseURL])
	if err != nil {
		return err
	}
	if u, _ := url.Parse(base); u != nil {
		if r := c.out.CheckHost(u.Hostname()); r != nil {
			return crm.Errorf(crm.EINVALID, "%s", r.Setting("api_base_url"))
		}
	}
	in.Config[keyBaseURL] = base
	return nil
}

// TestInbox checks the inbox's bot token against Discord and that the bot can see every
// support channel. Returns invalid with what is wrong.
func (c *Channel) TestInbox(ctx context.Context, in *crm.Inbox) error {
	cfg, err := parseConfig(in)
	if err != nil {
		return err
	}
	s := c.newSession(cfg)
	u, err := s.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		return crm.Errorf(crm.EINVALID, "discord rejected the bot token: %s", restMessage(err))
	}
	for id := range cfg.channels {
		if _, err := s.Channel(id, discordgo.WithContext(ctx)); err != nil {
			return crm.Errorf(crm.EINVALID, "bot %s cannot see support channel %s: %s", u.Username, id, restMessage(err))
		}
	}
	return nil
}

// parseConfig reads a stored Discord inbox. Returns invalid.
func parseConfig(in *crm.Inbox) (config, error) {
	cfg := config{token: in.Secrets[keyToken]}
	if cfg.token == "" {
		if s, ok := in.Config[keyToken].(string); ok {
			cfg.token = cleanToken(s)
		}
	}
	if cfg.token == "" {
		return cfg, crm.Errorf(crm.EINVALID, "discord inbox %d has no bot_token", in.ID)
	}
	if err := checkToken(cfg.token); err != nil {
		return cfg, err
	}
	ids, err := parseChannelIDs(in.Config[keyChannels])
	if err != nil {
		return cfg, err
	}
	cfg.channels = map[string]bool{}
	for _, id := range ids {
		cfg.channels[id] = true
	}
	cfg.base, err = parseBaseURL(in.Config[keyBaseURL])
	return cfg, err
}

func cleanToken(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 4 && strings.EqualFold(s[:4], "bot ") {
		s = strings.TrimSpace(s[4:])
	}
	return s
}

func checkToken(s string) error {
	if len(s) > 200 {
		return crm.Errorf(crm.EINVALID, "bot_token is too long")
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f {
			return crm.Errorf(crm.EINVALID, "bot_token contains invalid characters")
		}
	}
	return nil
}

// parseChannelIDs accepts a JSON list of id strings, or one comma-separated string.
// Numbers are refused: Discord ids do not fit a JSON number without losing digits.
func parseChannelIDs(v any) ([]string, error) {
	var raw []string
	switch v := v.(type) {
	case nil:
	case string:
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				raw = append(raw, s)
			}
		}
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, crm.Errorf(crm.EINVALID, "support_channel_ids must be a list of strings (Discord ids do not fit JSON numbers)")
			}
			raw = append(raw, strings.TrimSpace(s))
		}
	case []string:
		raw = v
	default:
		return nil, crm.Errorf(crm.EINVALID, "support_channel_ids must be a list of channel id strings")
	}
	seen := map[string]bool{}
	ids := []string{}
	for _, s := range raw {
		if !crm.IsSnowflake(s) {
			return nil, crm.Errorf(crm.EINVALID, "support_channel_ids: %q is not a Discord channel id", crm.CutRunes(s, 40))
		}
		if !seen[s] {
			seen[s] = true
			ids = append(ids, s)
		}
	}
	if len(ids) > maxSupportChannels {
		return nil, crm.Errorf(crm.EINVALID, "support_channel_ids: at most %d channels", maxSupportChannels)
	}
	return ids, nil
}

func parseBaseURL(v any) (string, error) {
	s, ok := v.(string)
	if v != nil && !ok {
		return "", crm.Errorf(crm.EINVALID, "api_base_url must be a string")
	}
	if s = strings.TrimSpace(s); s == "" {
		return DefaultAPIBaseURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", crm.Errorf(crm.EINVALID, "api_base_url must be an http or https URL such as %s", DefaultAPIBaseURL)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// InboxStatus returns the state of the bot of an inbox, or nil for an inbox this channel
// does not run.
func (c *Channel) InboxStatus(inboxID int64) *channels.InboxStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.status[inboxID]
	if !ok {
		return nil
	}
	cp := *st
	return &cp
}

// setStatus records the state of an inbox's bot. A bot that was replaced does not
// overwrite the state of its successor. An empty lastErr keeps the previous error.
func (c *Channel) setStatus(b *bot, state, lastErr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bots[b.inboxID] != b {
		return
	}
	id := b.inboxID
	st, ok := c.status[id]
	if !ok {
		st = &channels.InboxStatus{}
		c.status[id] = st
	}
	if st.State != state {
		st.State, st.Since = state, time.Now().UTC()
	}
	if lastErr != "" {
		st.LastError = crm.CutRunes(lastErr, 500)
	}
}

// Run keeps a bot for every Discord inbox until ctx is done (channels.InboxWorkers): an
// inbox.updated event starts, restarts or stops the bot of that inbox. It closes every
// gateway connection before it returns nil.
func (c *Channel) Run(ctx context.Context) error {
	w := &channels.InboxWorkers{Kind: crm.KindDiscord, Store: c.store, Bus: c.bus, Logger: c.log, Work: c.runBot, Hold: c.opt.Hold}
	return w.Run(ctx)
}

// runBot runs the bot of an inbox until ctx is done. An inbox it cannot read shows the
// error until the inbox changes. The status lasts as long as runBot.
func (c *Channel) runBot(ctx context.Context, in *crm.Inbox) {
	defer func() {
		c.mu.Lock()
		delete(c.status, in.ID)
		c.mu.Unlock()
	}()
	cfg, err := parseConfig(in)
	if err != nil {
		c.log.Warn("discord inbox not started", "inbox", in.ID, "err", err)
		c.mu.Lock()
		c.status[in.ID] = &channels.InboxStatus{State: "error", LastError: crm.ErrorMessage(err), Since: time.Now().UTC()}
		c.mu.Unlock()
		<-ctx.Done()
		return
	}
	b := c.newBot(in.ID, cfg)
	c.mu.Lock()
	c.bots[in.ID] = b
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.bots, in.ID)
		c.mu.Unlock()
	}()
	c.setStatus(b, "connecting", "")
	b.serve(ctx)
}

// runningBot returns the bot of an inbox when it runs with the same config.
func (c *Channel) runningBot(inboxID int64, cfg config) *bot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.bots[inboxID]; b != nil && b.cfg.equal(cfg) {
		return b
	}
	return nil
}

// newSession returns a discordgo session for cfg whose REST requests go to cfg.base.
// REST and the gateway, whose URL the REST API names, connect through the outbound
// client; discordgo's default dialer would use any proxy from the environment.
func (c *Channel) newSession(cfg config) *discordgo.Session {
	s, _ := discordgo.New("Bot " + cfg.token) // New never fails
	var next http.RoundTripper = c.out.Transport()
	rt := next
	if cfg.base != DefaultAPIBaseURL {
		u, _ := url.Parse(cfg.base)
		rt = &rewriteTransport{base: u, next: next}
	}
	s.Client = &http.Client{Transport: rt, Timeout: 30 * time.Second}
	s.Dialer = &websocket.Dialer{NetDialContext: c.out.DialContext, HandshakeTimeout: 45 * time.Second}
	s.Identify.Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages | discordgo.IntentsMessageContent
	s.ShouldReconnectOnError = false // bot.run reconnects, so that it can report state and stop
	s.SyncEvents = true              // handlers only enqueue; this keeps the gateway's order
	s.StateEnabled = false
	s.MaxRestRetries = 2
	return s
}

// rewriteTransport sends the requests discordgo addresses to discord.com to another base
// URL. discordgo builds its URLs from package-level variables; rewriting per session
// instead lets inboxes of one process use different bases (tests use a fake Discord).
type rewriteTransport struct {
	base *url.URL
	next http.RoundTripper
}

func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "discord.com" {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host = t.base.Scheme, t.base.Host
	r.URL.Path = strings.TrimRight(t.base.Path, "/") + req.URL.Path
	r.URL.RawPath = ""
	r.Host = ""
	return t.next.RoundTrip(r)
}

// checkCDN returns an error unless u may be downloaded as an attachment.
func (c *Channel) checkCDN(u *url.URL) error {
	host := strings.ToLower(u.Host)
	switch {
	case c.extra[host] && (u.Scheme == "https" || u.Scheme == "http"):
		return nil
	case c.cdn[host] && u.Scheme == "https":
		return nil
	}
	return fmt.Errorf("attachment host %q is not Discord's CDN", crm.CutRunes(u.Host, 100))
}
