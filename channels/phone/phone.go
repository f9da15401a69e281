// Package phone is the Twilio channel: SMS, MMS and WhatsApp messages and voice calls
// come in through signed webhooks; agent replies and click-to-call go out through
// Twilio's REST API. Only the client, api/v2010 and twiml packages of twilio-go are used.
package phone

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/i18n"
	"parley/identity"
	"parley/outbound"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// twilioAPI is the base URL twilio-go builds its REST URLs on; it is replaced by the
// inbox's api_base_url.
const twilioAPI = "https://api.twilio.com"

// Options configure a Channel.
type Options struct {
	// PublicURL is where Twilio reaches Parley, scheme and host, e.g. https://desk.example.
	// Signatures are checked against it, so they hold behind a reverse proxy, and the
	// status callbacks of replies and calls point to it. When nil, the URL the request
	// arrived on is used, replies ask for no status callback and click-to-call is refused.
	PublicURL *url.URL
	Logger    *slog.Logger
	// Online returns the ids of the agents of an inbox who are online now. When set, a
	// caller who asks for an agent is put through only to the forward numbers that are
	// the phones of online agents.
	Online func(inboxID int64) []int64
	// DefaultRegion parses numbers written without a country code (ISO 3166, "US").
	DefaultRegion string
	// Outbound carries REST and media requests and decides which api_base_url hosts may
	// be saved. Default: the strict client, which refuses private and loopback addresses.
	Outbound *outbound.Client
	// Now is the clock of business hours. Default time.Now.
	Now func() time.Time
}

// Channel is the phone channel: the Connector of phone inboxes, their webhooks and
// click-to-call. It is safe for concurrent use.
type Channel struct {
	store  Store
	opt    Options
	log    *slog.Logger
	public string // PublicURL's scheme and host, "" without one

	numbers   numberCache
	templates templateCache
}

var (
	_ channels.Connector     = (*Channel)(nil)
	_ channels.InboxPreparer = (*Channel)(nil)
	_ channels.InboxTester   = (*Channel)(nil)
)

// New returns the phone channel over store.
func New(store Store, opt Options) *Channel {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.DefaultRegion == "" {
		opt.DefaultRegion = "US"
	}
	if opt.Outbound == nil {
		opt.Outbound = outbound.New(outbound.Options{})
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	c := &Channel{store: store, opt: opt, log: opt.Logger.With("channel", "phone")}
	if opt.PublicURL != nil {
		c.public = opt.PublicURL.Scheme + "://" + opt.PublicURL.Host
	}
	return c
}

// config is a phone inbox's parsed configuration.
type config struct {
	AccountSID     string
	AuthToken      string
	PhoneNumber    string
	WhatsAppNumber string
	ForwardNumbers []string
	APIBaseURL     string
	apiHost        string
	apiScheme      string
	Greeting       string
	Language       string         // of the voice prompts: one of i18n.Languages
	Location       *time.Location // nil: always open
	OpenDays       [7]bool
	OpenFrom       int // minutes after midnight
	OpenUntil      int
}

var (
	accountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	authTokenRe  = regexp.MustCompile(`^[A-Za-z0-9]{8,128}$`)
	hoursRe      = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]|24):([0-5][0-9])$`)
)

var configKeys = map[string]bool{"account_sid": true, "auth_token": true, "phone_number": true,
	"whatsapp_number": true, "forward_numbers": true, "api_base_url": true, "greeting": true,
	"timezone": true, "open_days": true, "open_hours": true, i18n.SettingKey: true}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// PrepareInbox checks a phone inbox's config before it is saved and writes back its
// normalised values: numbers in E.164, api_base_url defaulted to https://api.twilio.com
// and not on a loopback or private address unless the private network is allowed.
// The auth_token is sealed by the store since its key ends in "token". Returns invalid.
func (c *Channel) PrepareInbox(ctx context.Context, in *crm.Inbox) error {
	if in.Config == nil {
		in.Config = map[string]any{}
	}
	for k := range in.Config {
		if !configKeys[k] {
			return crm.Errorf(crm.EINVALID, "unknown phone inbox setting %q", k)
		}
	}
	if _, ok := in.Config["api_base_url"]; !ok {
		in.Config["api_base_url"] = twilioAPI
	}
	cfg, err := c.parseConfig(in)
	if err != nil {
		return err
	}
	if u, _ := url.Parse(cfg.APIBaseURL); u != nil {
		if r := c.opt.Outbound.CheckHost(u.Hostname()); r != nil {
			return crm.Errorf(crm.EINVALID, "%s", r.Setting("api_base_url"))
		}
	}
	in.Config["account_sid"] = cfg.AccountSID
	in.Config["phone_number"] = cfg.PhoneNumber
	in.Config["api_base_url"] = cfg.APIBaseURL
	if cfg.WhatsAppNumber != "" {
		in.Config["whatsapp_number"] = cfg.WhatsAppNumber
	} else {
		delete(in.Config, "whatsapp_number")
	}
	fwd := make([]any, len(cfg.ForwardNumbers))
	for i, n := range cfg.ForwardNumbers {
		fwd[i] = n
	}
	in.Config["forward_numbers"] = fwd
	return i18n.CheckSetting(in.Config)
}

// parseConfig reads an inbox's config and secrets. Returns invalid for anything missing
// or malformed, naming the setting.
func (c *Channel) parseConfig(in *crm.Inbox) (*config, error) {
	if in.Kind != crm.KindPhone {
		return nil, crm.Errorf(crm.EINVALID, "inbox %d is not a phone inbox", in.ID)
	}
	str := func(k string) (string, error) {
		v, ok := in.Config[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", crm.Errorf(crm.EINVALID, "%s must be a string", k)
		}
		return strings.TrimSpace(s), nil
	}
	var cfg config
	var err error
	if cfg.AccountSID, err = str("account_sid"); err != nil {
		return nil, err
	} else if !accountSIDRe.MatchString(cfg.AccountSID) {
		return nil, crm.Errorf(crm.EINVALID, "account_sid must be AC followed by 32 hexadecimal digits")
	}
	if cfg.AuthToken, err = str("auth_token"); err != nil {
		return nil, err
	} else if cfg.AuthToken == "" {
		cfg.AuthToken = in.Secrets["auth_token"]
	}
	switch {
	case cfg.AuthToken == "":
		return nil, crm.Errorf(crm.EINVALID, "auth_token is required: the Auth Token from the Twilio console")
	case !authTokenRe.MatchString(cfg.AuthToken):
		return nil, crm.Errorf(crm.EINVALID,
			"auth_token is not a Twilio Auth Token: it is 32 letters and digits, without spaces or dashes (Twilio console, Account Info)")
	}
	s, err := str("phone_number")
	if err != nil {
		return nil, err
	}
	if cfg.PhoneNumber, err = c.number(s); err != nil {
		return nil, crm.Errorf(crm.EINVALID, "phone_number: %s", crm.ErrorMessage(err))
	}
	if s, err = str("whatsapp_number"); err != nil {
		return nil, err
	} else if s != "" {
		if cfg.WhatsAppNumber, err = c.number(s); err != nil {
			return nil, crm.Errorf(crm.EINVALID, "whatsapp_number: %s", crm.ErrorMessage(err))
		}
	}
	switch v := in.Config["forward_numbers"].(type) {
	case nil:
	case []any:
		if len(v) > 10 {
			return nil, crm.Errorf(crm.EINVALID, "forward_numbers may list at most 10 numbers")
		}
		for _, x := range v {
			s, _ := x.(string)
			n, err := c.number(s)
			if err != nil {
				return nil, crm.Errorf(crm.EINVALID, "forward_numbers: %s", crm.ErrorMessage(err))
			}
			cfg.ForwardNumbers = append(cfg.ForwardNumbers, n)
		}
	default:
		return nil, crm.Errorf(crm.EINVALID, "forward_numbers must be a list of phone numbers")
	}
	if s, err = str("api_base_url"); err != nil {
		return nil, err
	} else if s == "" {
		s = twilioAPI
	}
	if err := cfg.setAPIBase(s); err != nil {
		return nil, err
	}
	if cfg.Greeting, err = str("greeting"); err != nil {
		return nil, err
	} else if len(cfg.Greeting) > 500 {
		return nil, crm.Errorf(crm.EINVALID, "greeting must be at most 500 characters")
	}
	if err := cfg.setHours(in.Config); err != nil {
		return nil, err
	}
	// A caller brings no language of its own, so "auto" (the default) speaks English.
	if err := i18n.CheckSetting(map[string]any{i18n.SettingKey: in.Config[i18n.SettingKey]}); err != nil {
		return nil, err
	}
	cfg.Language = i18n.Of(in.Config)
	return &cfg, nil
}

// number returns s as an E.164 number. A leading + is required, because a number
// without its country code means different things in different places.
func (c *Channel) number(s string) (string, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "whatsapp:"))
	if !strings.HasPrefix(s, "+") {
		return "", crm.Errorf(crm.EINVALID, "phone number %q must be in E.164 format, like +15550100", s)
	}
	if n, ok := c.numbers.get(s); ok {
		return n, nil
	}
	n, err := identity.Normalize(crm.IdentityPhone, s, c.opt.DefaultRegion)
	if err != nil {
		return "", err
	}
	c.numbers.put(s, n)
	return n, nil
}

// maxNumbers bounds the number cache; a full cache is emptied, which costs one parse
// per number again rather than memory without bound.
const maxNumbers = 10_000

// numberCache remembers normalized phone numbers. Parsing one with the carriers'
// metadata is a tenth of the work of an inbound SMS, and each webhook parses the
// sender's number and the inbox's own numbers, which are nearly always the same few.
// Only numbers that parsed are kept, so the keys are short.
type numberCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (nc *numberCache) get(s string) (string, bool) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	n, ok := nc.m[s]
	return n, ok
}

func (nc *numberCache) put(s, n string) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	if nc.m == nil || len(nc.m) >= maxNumbers {
		nc.m = make(map[string]string)
	}
	nc.m[s] = n
}

// setAPIBase checks the REST base URL. Plain http is allowed only to a loopback host, so
// the account's credentials never cross a network unencrypted.
func (cfg *config) setAPIBase(s string) error {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return crm.Errorf(crm.EINVALID, "api_base_url must be a URL like https://api.twilio.com")
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return crm.Errorf(crm.EINVALID, "api_base_url must use https")
		}
	default:
		return crm.Errorf(crm.EINVALID, "api_base_url must use https")
	}
	cfg.APIBaseURL = u.Scheme + "://" + u.Host
	cfg.apiScheme, cfg.apiHost = u.Scheme, strings.ToLower(u.Host)
	return nil
}

// locations holds the time zones loaded so far. time.LoadLocation reads and parses the
// zone's file on every call, and the config of an inbox with business hours is read on
// every webhook. Only zones that loaded are kept, so there are at most a few hundred.
var locations sync.Map // string -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// setHours reads the optional business hours: timezone (IANA name), open_days (a list
// of mon..sun, default mon-fri) and open_hours ("09:00-17:00"). Without a timezone the
// line is always open.
func (cfg *config) setHours(m map[string]any) error {
	tz, _ := m["timezone"].(string)
	if tz == "" {
		if m["open_days"] != nil || m["open_hours"] != nil {
			return crm.Errorf(crm.EINVALID, "timezone is required with open_days and open_hours")
		}
		return nil
	}
	loc, err := loadLocation(tz)
	if err != nil || tz == "Local" {
		return crm.Errorf(crm.EINVALID, "timezone %q is not an IANA time zone like Europe/Berlin", tz)
	}
	cfg.Location = loc
	switch v := m["open_days"].(type) {
	case nil:
		for d := time.Monday; d <= time.Friday; d++ {
			cfg.OpenDays[d] = true
		}
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			d, ok := weekdays[strings.ToLower(s)]
			if !ok {
				return crm.Errorf(crm.EINVALID, "open_days: %q is not one of mon, tue, wed, thu, fri, sat, sun", s)
			}
			cfg.OpenDays[d] = true
		}
	default:
		return crm.Errorf(crm.EINVALID, "open_days must be a list like [\"mon\", \"tue\"]")
	}
	hours, _ := m["open_hours"].(string)
	if hours == "" {
		hours = "09:00-17:00"
	}
	p := hoursRe.FindStringSubmatch(hours)
	if p == nil {
		return crm.Errorf(crm.EINVALID, "open_hours must look like 09:00-17:00")
	}
	cfg.OpenFrom = atoi(p[1])*60 + atoi(p[2])
	cfg.OpenUntil = atoi(p[3])*60 + atoi(p[4])
	if cfg.OpenUntil <= cfg.OpenFrom || cfg.OpenUntil > 24*60 {
		return crm.Errorf(crm.EINVALID, "open_hours must end after they start, on the same day")
	}
	return nil
}

// open reports whether t falls within business hours.
func (cfg *config) open(t time.Time) bool {
	if cfg.Location == nil {
		return true
	}
	t = t.In(cfg.Location)
	m := t.Hour()*60 + t.Minute()
	return cfg.OpenDays[t.Weekday()] && m >= cfg.OpenFrom && m < cfg.OpenUntil
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestInbox fetches the inbox's Twilio account with its credentials, for the console's
// "test connection" button. Returns invalid for a bad config or rejected credentials.
func (c *Channel) TestInbox(ctx context.Context, in *crm.Inbox) error {
	cfg, err := c.parseConfig(in)
	if err != nil {
		return err
	}
	acct, err := c.api(ctx, cfg).FetchAccount(cfg.AccountSID)
	if err != nil {
		return crm.Errorf(crm.EINVALID, "twilio: %s", restMessage(err))
	}
	if acct.Status != nil && *acct.Status != "active" {
		return crm.Errorf(crm.EINVALID, "twilio account %s is %s", cfg.AccountSID, *acct.Status)
	}
	return nil
}

// api returns a Twilio REST client for the inbox that sends to its api_base_url and
// whose requests end with ctx. twilio-go's requests take no context, so the context
// rides on the transport.
func (c *Channel) api(ctx context.Context, cfg *config) *openapi.ApiService {
	cl := &client.Client{
		Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport:     ctxTransport{ctx: ctx, next: c.opt.Outbound.Transport()},
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	cl.SetAccountSid(cfg.AccountSID)
	rh := client.NewRequestHandler(baseClient{Client: cl, base: cfg.APIBaseURL})
	rh.Edge, rh.Region = "", "" // set from TWILIO_EDGE and TWILIO_REGION; the base URL decides
	return openapi.NewApiService(rh)
}

// baseClient sends twilio-go's requests to the inbox's REST base URL.
type baseClient struct {
	*client.Client
	base string
}

func (b baseClient) SendRequest(method, rawURL string, data url.Values, headers map[string]any, body ...byte) (*http.Response, error) {
	if rest, ok := strings.CutPrefix(rawURL, twilioAPI); ok {
		rawURL = b.base + rest
	}
	return b.Client.SendRequest(method, rawURL, data, headers, body...)
}

// ctxTransport makes every request end with ctx.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(t.ctx))
}

// restMessage is the readable part of an error of Twilio's REST API.
func restMessage(err error) string {
	if te, ok := asRestError(err); ok {
		return fmt.Sprintf("error %d: %s", te.Code, te.Message)
	}
	return err.Error()
}
