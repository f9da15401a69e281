package orders_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/orders"
	"parley/orders/shopifytest"
	"parley/outbound"
)

// TestShopifySourceHosts checks the hosts a Shopify source may name: shop_domain only a
// store's own myshopify.com host, api_base_url no internal address unless the private
// network is allowed. Nothing refused is stored.
func TestShopifySourceHosts(t *testing.T) {
	db := teststore.Open(t, teststore.Options{}).Store
	ctx := crm.AsSystem(context.Background())
	strict := orders.New(db, orders.Options{})
	shop := func(domain, base string) orders.SourceInput {
		in := orders.SourceInput{Kind: crm.OrderSourceShopify, Name: ptr("Shop"), ShopDomain: ptr(domain), AccessToken: ptr("shpat_x")}
		if base != "" {
			in.APIBaseURL = ptr(base)
		}
		return in
	}
	for _, tt := range []struct{ domain, base, want string }{
		{"x.myshopify.com.evil.example", "", "shop_domain must be the store's myshopify.com host"},
		{"evil.example", "", "shop_domain"},
		{"myshopify.com", "", "shop_domain"},
		{"a.b.myshopify.com", "", "shop_domain"},
		{"x.myshopify.com:8443", "", "shop_domain"},
		{"user@x.myshopify.com", "", "shop_domain"},
		{"10.0.0.1", "", "shop_domain"},
		{"[::1]", "", "shop_domain"},
		{"x.myshopify.com.", "", "shop_domain"},
		{"x.myshopify.com", "http://169.254.169.254", "api_base_url must name a public host, not 169.254.169.254 (link-local address)"},
		{"x.myshopify.com", "http://10.0.0.1:8080/shop", "not 10.0.0.1 (private address)"},
		{"x.myshopify.com", "https://[::1]", "not ::1 (loopback address)"},
		{"x.myshopify.com", "https://[::ffff:127.0.0.1]", "not 127.0.0.1 (loopback address)"},
		{"x.myshopify.com", "http://localhost:9000", "not localhost (loopback address)"},
		{"x.myshopify.com", "http://0.0.0.0", "unspecified address"},
		{"x.myshopify.com", "https://user:pw@proxy.example", "api_base_url must be an http(s) URL"},
		{"x.myshopify.com", "ftp://proxy.example", "api_base_url must be an http(s) URL"},
	} {
		_, err := strict.CreateSource(ctx, shop(tt.domain, tt.base))
		if crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(crm.ErrorMessage(err), tt.want) {
			t.Errorf("%s %s: %v, want invalid %q", tt.domain, tt.base, err, tt.want)
		}
	}
	if list, err := db.OrderSources(ctx); err != nil || len(list) != 0 {
		t.Fatalf("stored sources: %v %v", list, err)
	}

	// A store's own host and a public proxy are fine; with the private network allowed
	// an internal api_base_url is too (tests and fakes).
	if _, err := strict.CreateSource(ctx, shop("My-Store.myshopify.com", "https://shopify-proxy.example/")); err != nil {
		t.Fatal(err)
	}
	open := orders.New(db, orders.Options{Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: true})})
	if _, err := open.CreateSource(ctx, shop("x.myshopify.com", "http://127.0.0.1:9")); err != nil {
		t.Fatal(err)
	}
	if _, err := open.CreateSource(ctx, shop("x.myshopify.com.evil.example", "")); crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("look-alike shop_domain with the private network allowed: %v", err)
	}
}

// TestShopifyLookupRefusedAtDial stores a source whose api_base_url names a made-up
// host that resolves to loopback, where a fake shop listens. The strict client refuses
// the connection at the dial check, so the access token never leaves and the shop sees
// no call; with the private network allowed the same lookup finds the order.
func TestShopifyLookupRefusedAtDial(t *testing.T) {
	fake := shopifytest.New("shpat_x")
	t.Cleanup(fake.Close)
	fake.AddOrder(450789469, "#1001", "alice@x.example", "", "USD", "5.00",
		shopifytest.Line{ID: 11, SKU: "MUG", Name: "Blue mug", Quantity: 1, Price: "19.00"})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(fake.URL, "http://"))
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "rebinding.example" {
			return nil, fmt.Errorf("no such host %s", host)
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	for _, allow := range []bool{false, true} {
		db := teststore.Open(t, teststore.Options{}).Store
		var logs bytes.Buffer
		var mu sync.Mutex
		svc := orders.New(db, orders.Options{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)),
			Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: allow, Lookup: lookup})})
		ctx := crm.AsSystem(context.Background())
		if _, err := svc.CreateSource(ctx, orders.SourceInput{Kind: crm.OrderSourceShopify, Name: ptr("Shop"),
			ShopDomain: ptr("x.myshopify.com"), AccessToken: ptr("shpat_x"), APIBaseURL: ptr("http://rebinding.example:" + port)}); err != nil {
			t.Fatal(err)
		}
		before := len(fake.Calls())
		svc.RefreshNumber(ctx, "1001")
		_, err := db.Order(ctx, "1001")
		mu.Lock()
		log := logs.String()
		mu.Unlock()
		if allow {
			if err != nil || len(fake.Calls()) == before {
				t.Fatalf("private network allowed: order %v, calls %v", err, fake.Calls())
			}
			continue
		}
		if crm.ErrorCode(err) != crm.ENOTFOUND || len(fake.Calls()) != before {
			t.Fatalf("strict: order %v, shop calls %v", err, fake.Calls()[before:])
		}
		if !strings.Contains(log, "refusing to connect to 127.0.0.1: loopback address") {
			t.Fatalf("strict: log does not show the refusal:\n%s", log)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
