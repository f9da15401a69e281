package orders

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"parley/crm"
)

// DefaultAPIVersion is the Shopify Admin API version used when a source names none.
const DefaultAPIVersion = "2024-10"

// minSecretLen is the shortest webhook secret accepted: a guessable secret signs forgeries.
const minSecretLen = 16

var (
	apiVersionRe = regexp.MustCompile(`^(20[0-9]{2}-(01|04|07|10)|unstable)$`)
	// shopDomainRe is a store's own Shopify host: one label under myshopify.com, so no
	// IP literal, port, user or look-alike such as x.myshopify.com.evil.example.
	shopDomainRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.myshopify\.com$`)
)

// SourceInput is the body of POST and PATCH /api/v1/order-sources. Nil fields are left
// as they are on a PATCH. Secrets (secret, access_token, webhook_secret) are write-only.
type SourceInput struct {
	Kind             string  `json:"kind"`
	Name             *string `json:"name"`
	Secret           *string `json:"secret"`
	ShopDomain       *string `json:"shop_domain"`
	AccessToken      *string `json:"access_token"`
	WebhookSecret    *string `json:"webhook_secret"`
	APIBaseURL       *string `json:"api_base_url"`
	APIVersion       *string `json:"api_version"`
	AgentRefundLimit *int64  `json:"agent_refund_limit"`
}

// CreateSource checks and stores a new order source. A webhook source without a secret
// gets a generated one (GenerateSecret), which the caller shows once. Returns invalid.
func (s *Service) CreateSource(ctx context.Context, in SourceInput) (*crm.OrderSource, error) {
	if in.Kind == crm.OrderSourceWebhook && in.Secret == nil {
		secret, err := GenerateSecret()
		if err != nil {
			return nil, err
		}
		in.Secret = &secret
	}
	src := &crm.OrderSource{Kind: in.Kind, Config: map[string]any{}, Secrets: map[string]string{}}
	if in.Name != nil {
		src.Name = *in.Name
	}
	if err := s.applySource(src, in); err != nil {
		return nil, err
	}
	return s.store.CreateOrderSource(ctx, src)
}

// UpdateSource changes a source: its name, config and secrets. A secret left out keeps
// its stored value. Returns invalid or not_found.
func (s *Service) UpdateSource(ctx context.Context, id int64, in SourceInput) (*crm.OrderSource, error) {
	src, err := s.store.OrderSource(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.Kind != "" && in.Kind != src.Kind {
		return nil, crm.Errorf(crm.EINVALID, "the kind of an order source cannot change")
	}
	if in.Name != nil {
		src.Name = *in.Name
	}
	if err := s.applySource(src, in); err != nil {
		return nil, err
	}
	return s.store.UpdateOrderSource(ctx, src)
}

// applySource copies the fields of in onto src and checks the result as a whole.
func (s *Service) applySource(src *crm.OrderSource, in SourceInput) error {
	set := func(key string, v *string, secret bool) {
		if v == nil {
			return
		}
		if secret {
			src.Secrets[key] = strings.TrimSpace(*v)
		} else {
			src.Config[key] = strings.TrimSpace(*v)
		}
	}
	switch src.Kind {
	case crm.OrderSourceWebhook:
		if in.ShopDomain != nil || in.AccessToken != nil || in.WebhookSecret != nil || in.APIBaseURL != nil ||
			in.APIVersion != nil || in.AgentRefundLimit != nil {
			return crm.Errorf(crm.EINVALID, "a webhook source takes only name and secret")
		}
		set("secret", in.Secret, true)
		if len(src.Secrets["secret"]) < minSecretLen {
			return crm.Errorf(crm.EINVALID, "secret must be at least %d characters", minSecretLen)
		}
	case crm.OrderSourceShopify:
		if in.Secret != nil {
			return crm.Errorf(crm.EINVALID, "a shopify source takes webhook_secret, not secret")
		}
		set("shop_domain", in.ShopDomain, false)
		set("api_base_url", in.APIBaseURL, false)
		set("api_version", in.APIVersion, false)
		set("access_token", in.AccessToken, true)
		set("webhook_secret", in.WebhookSecret, true)
		if in.AgentRefundLimit != nil {
			if *in.AgentRefundLimit < 0 {
				return crm.Errorf(crm.EINVALID, "agent_refund_limit must not be negative")
			}
			src.Config["agent_refund_limit"] = *in.AgentRefundLimit
		}
		return s.checkShopify(src)
	default:
		return crm.Errorf(crm.EINVALID, "kind must be webhook or shopify")
	}
	return nil
}

// checkShopify checks a Shopify source's config and fills its defaults. An api_base_url
// on a refused address (see package outbound) is refused here already, with a clearer
// error than a failed lookup would give later.
func (s *Service) checkShopify(src *crm.OrderSource) error {
	domain := strings.ToLower(configString(src.Config, "shop_domain"))
	if !shopDomainRe.MatchString(domain) {
		return crm.Errorf(crm.EINVALID, "shop_domain must be the store's myshopify.com host, such as example.myshopify.com")
	}
	src.Config["shop_domain"] = domain
	base := configString(src.Config, "api_base_url")
	if base == "" {
		base = "https://" + domain
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return crm.Errorf(crm.EINVALID, "api_base_url must be an http(s) URL such as https://example.myshopify.com")
	}
	if r := s.out.CheckHost(u.Hostname()); r != nil {
		return crm.Errorf(crm.EINVALID, "%s", r.Setting("api_base_url"))
	}
	src.Config["api_base_url"] = strings.TrimRight(base, "/")
	version := configString(src.Config, "api_version")
	if version == "" {
		version = DefaultAPIVersion
	}
	if !apiVersionRe.MatchString(version) {
		return crm.Errorf(crm.EINVALID, "api_version must look like %s", DefaultAPIVersion)
	}
	src.Config["api_version"] = version
	src.Config["agent_refund_limit"] = configInt(src.Config, "agent_refund_limit")
	if src.Secrets["access_token"] == "" {
		return crm.Errorf(crm.EINVALID, "access_token required")
	}
	if w := src.Secrets["webhook_secret"]; w != "" && len(w) < minSecretLen {
		return crm.Errorf(crm.EINVALID, "webhook_secret must be at least %d characters", minSecretLen)
	}
	for k, v := range src.Secrets {
		if len(v) > 1000 {
			return crm.Errorf(crm.EINVALID, "%s is longer than 1000 characters", k)
		}
	}
	return nil
}

// SourceView is an order source as the API shows it: secrets never leave, only which
// ones are set, plus the URL the shop must send its webhooks to.
type SourceView struct {
	*crm.OrderSource
	SecretsSet []string `json:"secrets_set"`
	WebhookURL string   `json:"webhook_url"`
}

// View returns src as the API shows it, with webhook URLs under publicURL.
func View(src *crm.OrderSource, publicURL string) SourceView {
	set := []string{}
	for k, v := range src.Secrets {
		if v != "" {
			set = append(set, k)
		}
	}
	sort.Strings(set)
	path := "/webhooks/orders/"
	if src.Kind == crm.OrderSourceShopify {
		path = "/webhooks/shopify/"
	}
	return SourceView{OrderSource: src, SecretsSet: set,
		WebhookURL: fmt.Sprintf("%s%s%d", strings.TrimRight(publicURL, "/"), path, src.ID)}
}

// configString returns a string config value, or "".
func configString(cfg map[string]any, key string) string {
	s, _ := cfg[key].(string)
	return s
}

// configInt returns a whole-number config value: JSON gives float64, Go callers int64.
func configInt(cfg map[string]any, key string) int64 {
	switch v := cfg[key].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}
