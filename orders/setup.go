package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"parley/crm"
)

// Check is one step of an order source's connection test: what was tried, whether it
// worked, and what the shop answered.
type Check struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// shopifyScopes are the Admin API scopes Parley needs, each with what it is for. A
// write scope includes its read scope.
var shopifyScopes = []struct{ scope, alt, why string }{
	{"read_orders", "write_orders", "to show a customer's orders"},
	{"read_customers", "write_customers", "to find the orders of a phone number"},
	{"write_orders", "", "to cancel and refund orders from the console"},
}

// GenerateSecret returns a new random webhook secret: 32 bytes in hex.
func GenerateSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Example is a signed request a shop can send to a webhook source, to copy and adapt.
type Example struct {
	Body      string `json:"body"`
	Signature string `json:"signature"` // the X-Parley-Signature header
	Curl      string `json:"curl"`
}

// ExampleWebhook returns an example order signed with secret for the webhook URL: the
// body, its X-Parley-Signature and a curl command that sends it.
func ExampleWebhook(secret, webhookURL string) Example {
	body := `{"number":"1001","email":"alice@example.com","status":"paid","currency":"USD","total":6764,"placed_at":"2026-11-22T10:00:00Z"}`
	sig := "sha256=" + hex.EncodeToString(hmacSHA256(secret, []byte(body)))
	return Example{Body: body, Signature: sig, Curl: fmt.Sprintf("curl -X POST %s \\\n  -H 'X-Parley-Signature: %s' \\\n  -H 'Content-Type: application/json' \\\n  -d '%s'",
		webhookURL, sig, body)}
}

// TestSource checks an order source against its shop in steps, stopping at the first
// that fails. A Shopify source: the access token (the shop is read), then its scopes
// against what Parley needs. A webhook source has nothing to reach: its only step says
// whether a secret is set. Returns not_found.
func (s *Service) TestSource(ctx context.Context, id int64) ([]Check, error) {
	src, err := s.store.OrderSource(ctx, id)
	if err != nil {
		return nil, err
	}
	if src.Kind != crm.OrderSourceShopify {
		if src.Secrets["secret"] == "" {
			return []Check{{Step: "Secret", Detail: "no secret is set: the shop's requests cannot be checked"}}, nil
		}
		return []Check{{Step: "Secret", OK: true, Detail: "set; the shop signs each request with it"}}, nil
	}
	shop := s.shopifyOf(src)
	var info struct {
		Shop struct {
			Name   string `json:"name"`
			Domain string `json:"myshopify_domain"`
		} `json:"shop"`
	}
	if err := shop.call(ctx, http.MethodGet, "/shop.json", nil, nil, &info); err != nil {
		return []Check{{Step: "Admin API token", Detail: "the shop refused the token: " + err.Error()}}, nil
	}
	checks := []Check{{Step: "Admin API token", OK: true, Detail: fmt.Sprintf("the token opens %s (%s)", info.Shop.Name, info.Shop.Domain)}}
	var scopes struct {
		AccessScopes []struct {
			Handle string `json:"handle"`
		} `json:"access_scopes"`
	}
	// The scopes are under /admin/oauth, outside the versioned API.
	base := strings.TrimSuffix(shop.base, "/api/"+apiVersionOf(src))
	oauth := &shopify{hc: shop.hc, base: base + "/oauth", token: shop.token}
	if err := oauth.call(ctx, http.MethodGet, "/access_scopes.json", nil, nil, &scopes); err != nil {
		return append(checks, Check{Step: "Scopes", Detail: "the token's scopes could not be read: " + err.Error()}), nil
	}
	var have []string
	for _, a := range scopes.AccessScopes {
		have = append(have, a.Handle)
	}
	var missing []string
	for _, need := range shopifyScopes {
		if !slices.Contains(have, need.scope) && (need.alt == "" || !slices.Contains(have, need.alt)) {
			missing = append(missing, need.scope+" ("+need.why+")")
		}
	}
	if len(missing) > 0 {
		return append(checks, Check{Step: "Scopes", Detail: "the app lacks " + strings.Join(missing, ", ") +
			": in Shopify, open Settings → Apps and sales channels → Develop apps → your app → Configuration, add them, and install the app again"}), nil
	}
	return append(checks, Check{Step: "Scopes", OK: true, Detail: "the token has " + strings.Join(have, ", ")}), nil
}

// apiVersionOf is the Admin API version of a Shopify source.
func apiVersionOf(src *crm.OrderSource) string {
	if v := configString(src.Config, "api_version"); v != "" {
		return v
	}
	return DefaultAPIVersion
}
