package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"parley/crm"
	"parley/i18n"
)

// Config keys of a chat inbox.
const (
	keyOrigins      = "allowed_origins"
	keySecret       = "identity_secret"
	keyRequireEmail = "require_email"
	keyGreeting     = "greeting"
	keyColor        = "color"
	keyPosition     = "position"
	keyEmailInbox   = "email_inbox_id"
	keyDemo         = "demo"
	keyLanguage     = i18n.SettingKey
)

// Defaults of a chat inbox's look.
const (
	defaultGreeting = "Hi! How can we help you today?"
	defaultColor    = "#2563eb"
	defaultPosition = "right"
	maxOrigins      = 50
	maxGreeting     = 500
)

var colorRe = regexp.MustCompile(`^#([0-9a-f]{3}|[0-9a-f]{6})$`)

// settings is a chat inbox's config, read once and cached.
type settings struct {
	InboxID      int64
	Name         string
	Origins      []string
	Secret       string
	RequireEmail bool
	Greeting     string
	Color        string
	Position     string
	EmailInboxID int64
	Demo         bool
	Language     string // i18n.Auto or one of i18n.Languages
}

// settingsOf reads a chat inbox's config leniently: a value of the wrong type falls back
// to its default, because an inbox created outside the API (the demo seed) skipped
// PrepareInbox.
func settingsOf(in *crm.Inbox) *settings {
	s := &settings{InboxID: in.ID, Name: in.Name, Greeting: defaultGreeting, Color: defaultColor, Position: defaultPosition}
	c := in.Config
	if list, ok := c[keyOrigins].([]any); ok {
		for _, v := range list {
			if o, err := normalizeOrigin(fmt.Sprint(v)); err == nil {
				s.Origins = append(s.Origins, o)
			}
		}
	}
	s.Secret = in.Secrets[keySecret]
	s.RequireEmail, _ = c[keyRequireEmail].(bool)
	s.Demo, _ = c[keyDemo].(bool)
	if g, ok := c[keyGreeting].(string); ok && strings.TrimSpace(g) != "" {
		s.Greeting = g
	}
	if col, ok := c[keyColor].(string); ok && colorRe.MatchString(strings.ToLower(col)) {
		s.Color = strings.ToLower(col)
	}
	if p, ok := c[keyPosition].(string); ok && (p == "left" || p == "right") {
		s.Position = p
	}
	s.EmailInboxID, _ = intOf(c[keyEmailInbox])
	s.Language = i18n.Setting(c)
	return s
}

// language picks the widget's language: the script tag's data-lang (forced) when Parley
// ships it, else the inbox's setting when it names a language, else the first of the
// page's and the browser's languages (prefer, in order) that Parley ships, else English.
func (s *settings) language(forced string, prefer []string) string {
	if l := i18n.Match(forced); l != "" {
		return l
	}
	return i18n.Of(map[string]any{keyLanguage: s.Language}, prefer...)
}

// allowsOrigin reports whether a page of origin may open the inbox's widget.
func (s *settings) allowsOrigin(origin string) bool {
	o, err := normalizeOrigin(origin)
	if err != nil {
		return false
	}
	for _, a := range s.Origins {
		if a == o {
			return true
		}
	}
	return false
}

// normalizeOrigin returns an origin as browsers send it: scheme://host[:port], lower
// case, without a default port. Returns invalid for anything with a path, query,
// user info or another scheme than http and https.
func normalizeOrigin(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", crm.Errorf(crm.EINVALID, "invalid origin %q: scheme://host[:port] expected, e.g. https://shop.example", s)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	} else if p != "" {
		if n, err := parsePort(p); err != nil || n == 0 {
			return "", crm.Errorf(crm.EINVALID, "invalid port in origin %q", s)
		}
	}
	if u.Hostname() == "" || strings.ContainsAny(u.Hostname(), "*/\\") {
		return "", crm.Errorf(crm.EINVALID, "invalid host in origin %q", s)
	}
	return u.Scheme + "://" + host, nil
}

func parsePort(p string) (int, error) {
	n := 0
	for _, r := range p {
		if r < '0' || r > '9' || n > 65535 {
			return 0, fmt.Errorf("bad port")
		}
		n = n*10 + int(r-'0')
	}
	if n > 65535 {
		return 0, fmt.Errorf("bad port")
	}
	return n, nil
}

// intOf returns a JSON number that is a positive integer.
func intOf(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n > 0 && n == math.Trunc(n) && n < 1<<53 {
			return int64(n), true
		}
	case int64:
		return n, n > 0
	case int:
		return int64(n), n > 0
	}
	return 0, false
}

// PrepareInbox checks and completes a chat inbox's config before it is saved:
// allowed_origins (a list of scheme://host[:port], required unless the inbox is a demo),
// identity_secret (generated into in.Secrets when missing: 32 random bytes in hex; kept
// when an update leaves it out), require_email, greeting, color (#rgb or #rrggbb), position (left or
// right), email_inbox_id (an email inbox for offline replies) and language (auto, en, de,
// fr or es: the language of the widget's own texts, see docs/widget.md). Unknown keys are
// refused so that a typo does not silently do nothing. Returns invalid.
func (ch *Channel) PrepareInbox(ctx context.Context, in *crm.Inbox) error {
	if in.Kind != crm.KindChat {
		return nil
	}
	c := in.Config
	if c == nil {
		c = map[string]any{}
	}
	out := map[string]any{}
	for k := range c {
		switch k {
		case keyOrigins, keySecret, keyRequireEmail, keyGreeting, keyColor, keyPosition, keyEmailInbox, keyDemo, keyLanguage:
		default:
			return crm.Errorf(crm.EINVALID, "unknown chat inbox setting %q", k)
		}
	}

	demo := false
	if v, ok := c[keyDemo]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return crm.Errorf(crm.EINVALID, "demo must be true or false")
		}
		demo = b
		if demo {
			out[keyDemo] = true
		}
	}

	origins := []any{}
	if v, ok := c[keyOrigins]; ok && v != nil {
		list, isList := v.([]any)
		if !isList {
			return crm.Errorf(crm.EINVALID, "allowed_origins must be a list of origins like https://shop.example")
		}
		if len(list) > maxOrigins {
			return crm.Errorf(crm.EINVALID, "at most %d allowed_origins", maxOrigins)
		}
		seen := map[string]bool{}
		for _, item := range list {
			s, isString := item.(string)
			if !isString {
				return crm.Errorf(crm.EINVALID, "allowed_origins must be a list of strings")
			}
			o, err := normalizeOrigin(s)
			if err != nil {
				return err
			}
			if !seen[o] {
				seen[o] = true
				origins = append(origins, o)
			}
		}
	}
	if len(origins) == 0 && !demo {
		return crm.Errorf(crm.EINVALID, "allowed_origins needs at least one origin of the shop, e.g. https://shop.example")
	}
	out[keyOrigins] = origins

	secret, _ := c[keySecret].(string)
	if v, ok := c[keySecret]; ok && v != nil {
		if _, isString := v.(string); !isString {
			return crm.Errorf(crm.EINVALID, "identity_secret must be a string")
		}
	}
	secret = strings.TrimSpace(secret)
	switch {
	case secret != "":
		if len(secret) < 16 || len(secret) > 256 {
			return crm.Errorf(crm.EINVALID, "identity_secret must be 16 to 256 characters")
		}
		out[keySecret] = secret
	case in.Secrets[keySecret] != "":
		// An update that leaves the secret out keeps the stored one.
	default:
		// A generated secret goes to Secrets, not Config: that is how the server knows
		// to show it once in the response that creates the inbox.
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("generate identity secret: %w", err)
		}
		if in.Secrets == nil {
			in.Secrets = map[string]string{}
		}
		in.Secrets[keySecret] = hex.EncodeToString(b)
	}

	if v, ok := c[keyRequireEmail]; ok && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			return crm.Errorf(crm.EINVALID, "require_email must be true or false")
		}
		out[keyRequireEmail] = b
	} else {
		out[keyRequireEmail] = false
	}

	out[keyGreeting] = defaultGreeting
	if v, ok := c[keyGreeting]; ok && v != nil {
		g, isString := v.(string)
		if !isString {
			return crm.Errorf(crm.EINVALID, "greeting must be a string")
		}
		g = strings.TrimSpace(g)
		if !utf8.ValidString(g) || utf8.RuneCountInString(g) > maxGreeting {
			return crm.Errorf(crm.EINVALID, "greeting must be at most %d characters", maxGreeting)
		}
		if g != "" {
			out[keyGreeting] = g
		}
	}

	out[keyColor] = defaultColor
	if v, ok := c[keyColor]; ok && v != nil {
		col, _ := v.(string)
		col = strings.ToLower(strings.TrimSpace(col))
		if !colorRe.MatchString(col) {
			return crm.Errorf(crm.EINVALID, "color must be #rgb or #rrggbb, e.g. #2563eb")
		}
		out[keyColor] = col
	}

	out[keyPosition] = defaultPosition
	if v, ok := c[keyPosition]; ok && v != nil {
		p, _ := v.(string)
		if p != "left" && p != "right" {
			return crm.Errorf(crm.EINVALID, "position must be left or right")
		}
		out[keyPosition] = p
	}

	if v, ok := c[keyEmailInbox]; ok && v != nil {
		id, isInt := intOf(v)
		if !isInt {
			return crm.Errorf(crm.EINVALID, "email_inbox_id must be the id of an email inbox")
		}
		ei, err := ch.store.Inbox(ctx, id)
		if err != nil || ei.Kind != crm.KindEmail {
			return crm.Errorf(crm.EINVALID, "email_inbox_id %d is not an email inbox", id)
		}
		out[keyEmailInbox] = id
	}

	out[keyLanguage] = i18n.Auto
	if v, ok := c[keyLanguage]; ok && v != nil {
		lang := map[string]any{keyLanguage: v}
		if err := i18n.CheckSetting(lang); err != nil {
			return err
		}
		out[keyLanguage] = lang[keyLanguage]
	}
	in.Config = out
	return nil
}
