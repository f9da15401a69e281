package server_test

import (
	"strings"
	"testing"

	"parley/outbound"
)

// allowPrivate is the outbound client of tests whose fakes listen on loopback.
var allowPrivate = outbound.New(outbound.Options{AllowPrivateNetwork: true})

// TestOrderSourceHostsRefused saves Shopify order sources whose shop_domain is not a
// store's own myshopify.com host, or whose api_base_url names an internal address,
// through the HTTP API: each is a 400 invalid that says what is wrong, and nothing is
// stored.
func TestOrderSourceHostsRefused(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ domain, base, want string }{
		{"x.myshopify.com.evil.example", "", "shop_domain must be the store's myshopify.com host"},
		{"169.254.169.254", "", "shop_domain"},
		{"x.myshopify.com:444", "", "shop_domain"},
		{"admin@x.myshopify.com", "", "shop_domain"},
		{"x.myshopify.com", "http://169.254.169.254/", "api_base_url must name a public host, not 169.254.169.254 (link-local address)"},
		{"x.myshopify.com", "http://10.0.0.1", "not 10.0.0.1 (private address)"},
		{"x.myshopify.com", "https://[::1]:8443", "not ::1 (loopback address)"},
		{"x.myshopify.com", "http://[::ffff:a9fe:a9fe]", "not 169.254.169.254 (link-local address)"},
		{"x.myshopify.com", "https://me:pw@proxy.example", "api_base_url must be an http(s) URL"},
	} {
		body := map[string]any{"kind": "shopify", "name": "Shop", "shop_domain": tt.domain, "access_token": "shpat_x"}
		if tt.base != "" {
			body["api_base_url"] = tt.base
		}
		status, data := e.admin.do("POST", "/api/v1/order-sources", body)
		if status != 400 || errCode(t, data) != "invalid" || !strings.Contains(string(data), tt.want) {
			t.Errorf("%s %s: %d %s, want 400 invalid with %q", tt.domain, tt.base, status, data, tt.want)
		}
	}
	var list struct {
		Sources []map[string]any `json:"order_sources"`
	}
	e.admin.mustDo("GET", "/api/v1/order-sources", nil, 200, &list)
	if len(list.Sources) != 0 {
		t.Fatalf("stored: %v", list.Sources)
	}

	// A PATCH cannot move a stored source to an internal address either.
	var src sourceOut
	e.admin.mustDo("POST", "/api/v1/order-sources", map[string]any{"kind": "shopify", "name": "Shop",
		"shop_domain": "x.myshopify.com", "access_token": "shpat_x"}, 201, &src)
	status, data := e.admin.do("PATCH", "/api/v1/order-sources/"+itoa(src.ID), map[string]any{"api_base_url": "http://127.0.0.1:9"})
	if status != 400 || !strings.Contains(string(data), "not 127.0.0.1 (loopback address)") {
		t.Fatalf("patch: %d %s", status, data)
	}
	e.admin.mustDo("GET", "/api/v1/order-sources", nil, 200, &list)
	if len(list.Sources) != 1 || list.Sources[0]["config"].(map[string]any)["api_base_url"] != "https://x.myshopify.com" {
		t.Fatalf("sources after the refused patch: %v", list.Sources)
	}
}
