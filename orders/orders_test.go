package orders_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
	"parley/orders"
	"parley/orders/shopifytest"
	"parley/outbound"
)

const (
	shopToken     = "shpat_test_token"
	webhookSecret = "shopify-webhook-secret-0123"
)

// env is the orders engine over a real store and a fake Shopify store.
type env struct {
	t    *testing.T
	db   storetest.Store
	bus  *crm.LocalBus
	svc  *orders.Service
	shop *shopifytest.Fake
	src  *crm.OrderSource
}

func newEnv(t *testing.T, refundLimit int64) *env {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	shop := shopifytest.New(shopToken)
	t.Cleanup(shop.Close)
	svc := orders.New(db, orders.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: true})}) // the fake shop is on loopback
	e := &env{t: t, db: db, bus: bus, svc: svc, shop: shop}
	e.src = e.mustSource(orders.SourceInput{Kind: crm.OrderSourceShopify, Name: ptr("Shop"),
		ShopDomain: ptr("test.myshopify.com"), AccessToken: ptr(shopToken), WebhookSecret: ptr(webhookSecret),
		APIBaseURL: ptr(shop.URL), AgentRefundLimit: &refundLimit})
	return e
}

func (e *env) mustSource(in orders.SourceInput) *crm.OrderSource {
	e.t.Helper()
	src, err := e.svc.CreateSource(crm.AsSystem(context.Background()), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return src
}

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := crm.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want %q", err, got, code)
	}
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
		err     bool
	}{
		{"12.50", "USD", 1250, false},
		{"12.5", "USD", 1250, false},
		{"12", "USD", 1200, false},
		{"0.01", "USD", 1, false},
		{"1000", "JPY", 1000, false},
		{"1000.00", "JPY", 1000, false},
		{"1000.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false},
		{"0.125", "BHD", 125, false},
		{"12.345", "USD", 0, true},
		{"-1.00", "USD", 0, true},
		{"1e3", "USD", 0, true},
		{"", "USD", 0, true},
		{"12.", "USD", 0, true},
		{".5", "USD", 0, true},
		{"12,50", "EUR", 0, true},
		{"1.00", "ZZZ", 0, true},
		{"9999999999999999999", "USD", 0, true},
	}
	for _, tt := range tests {
		got, err := orders.ParseMoney(tt.in, tt.cur)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMoney(%q, %s) = %d, %v; want %d, error %v", tt.in, tt.cur, got, err, tt.want, tt.err)
		}
		if err == nil {
			if back, _ := orders.ParseMoney(orders.FormatMoney(got, tt.cur), tt.cur); back != got {
				t.Errorf("FormatMoney(%d, %s) = %q does not parse back", got, tt.cur, orders.FormatMoney(got, tt.cur))
			}
		}
	}
	for _, tt := range []struct {
		v    int64
		cur  string
		want string
	}{{1250, "USD", "12.50"}, {5, "USD", "0.05"}, {1000, "JPY", "1000"}, {125, "KWD", "0.125"}} {
		if got := orders.FormatMoney(tt.v, tt.cur); got != tt.want {
			t.Errorf("FormatMoney(%d, %s) = %q, want %q", tt.v, tt.cur, got, tt.want)
		}
	}
}

func TestGenericWebhook(t *testing.T) {
	e := newEnv(t, 0)
	ctx := crm.AsSystem(context.Background())
	src := e.mustSource(orders.SourceInput{Kind: crm.OrderSourceWebhook, Name: ptr("My shop"), Secret: ptr("a-long-webhook-secret")})
	body := []byte(`{"number":"W-1","email":"Alice@X.example","status":"paid","currency":"EUR","subtotal":1000,
		"total":1000,"items":[{"sku":"A","name":"Apple","quantity":1,"unit_price":1000}],"placed_at":"2026-11-22T10:00:00Z"}`)

	for name, sig := range map[string]string{
		"missing":    "",
		"wrong":      sign("another-secret-entirely", body),
		"not hex":    "sha256=zz",
		"no prefix":  sign("a-long-webhook-secret", body)[7:],
		"other body": sign("a-long-webhook-secret", append(body, ' ')),
	} {
		_, _, err := e.svc.ReceiveWebhook(ctx, src.ID, body, sig)
		if crm.ErrorCode(err) != crm.EUNAUTHORIZED {
			t.Errorf("%s signature: %v, want unauthorized", name, err)
		}
	}
	// A Shopify source and an unknown id answer the same as a wrong signature.
	_, _, err := e.svc.ReceiveWebhook(ctx, e.src.ID, body, sign(webhookSecret, body))
	wantCode(t, err, crm.EUNAUTHORIZED)
	_, _, err = e.svc.ReceiveWebhook(ctx, 9999, body, sign("a-long-webhook-secret", body))
	wantCode(t, err, crm.EUNAUTHORIZED)
	if _, err := e.db.Order(ctx, "W-1"); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("a forged webhook stored the order: %v", err)
	}

	o, _, err := e.svc.ReceiveWebhook(ctx, src.ID, body, sign("a-long-webhook-secret", body))
	if err != nil {
		t.Fatal(err)
	}
	if o.Email != "alice@x.example" || o.SourceID != src.ID || o.Source != "webhook" || o.CustomerID == 0 || o.Total != 1000 {
		t.Fatalf("order = %+v", o)
	}
	// Signed but bad: a clear invalid, nothing stored.
	bad := []byte(`{"number":"W-2","status":"paid","currency":"EUR","total":-5,"placed_at":"2026-11-22T10:00:00Z"}`)
	_, _, err = e.svc.ReceiveWebhook(ctx, src.ID, bad, sign("a-long-webhook-secret", bad))
	wantCode(t, err, crm.EINVALID)
	unknown := []byte(`{"number":"W-3","status":"paid","currency":"EUR","total":1.5,"placed_at":"2026-11-22T10:00:00Z"}`)
	_, _, err = e.svc.ReceiveWebhook(ctx, src.ID, unknown, sign("a-long-webhook-secret", unknown))
	wantCode(t, err, crm.EINVALID)
}

func TestSourceConfig(t *testing.T) {
	e := newEnv(t, 0)
	ctx := crm.AsSystem(context.Background())
	for name, in := range map[string]orders.SourceInput{
		"short secret":      {Kind: crm.OrderSourceWebhook, Name: ptr("x"), Secret: ptr("short")},
		"shopify field":     {Kind: crm.OrderSourceWebhook, Name: ptr("x"), Secret: ptr("a-long-webhook-secret"), ShopDomain: ptr("a.myshopify.com")},
		"no token":          {Kind: crm.OrderSourceShopify, Name: ptr("x"), ShopDomain: ptr("a.myshopify.com")},
		"bad domain":        {Kind: crm.OrderSourceShopify, Name: ptr("x"), ShopDomain: ptr("a b"), AccessToken: ptr("t")},
		"bad url":           {Kind: crm.OrderSourceShopify, Name: ptr("x"), ShopDomain: ptr("a.myshopify.com"), AccessToken: ptr("t"), APIBaseURL: ptr("file:///etc/passwd")},
		"bad version":       {Kind: crm.OrderSourceShopify, Name: ptr("x"), ShopDomain: ptr("a.myshopify.com"), AccessToken: ptr("t"), APIVersion: ptr("v1")},
		"negative limit":    {Kind: crm.OrderSourceShopify, Name: ptr("x"), ShopDomain: ptr("a.myshopify.com"), AccessToken: ptr("t"), AgentRefundLimit: ptr(int64(-1))},
		"unknown kind":      {Kind: "magento", Name: ptr("x")},
		"secret on shopify": {Kind: crm.OrderSourceShopify, Name: ptr("x"), ShopDomain: ptr("a.myshopify.com"), AccessToken: ptr("t"), Secret: ptr("a-long-webhook-secret")},
	} {
		if _, err := e.svc.CreateSource(ctx, in); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	// A webhook source given no secret gets a generated one, signs the example with it
	// and accepts that example; the source's view never shows the secret again.
	gen := e.mustSource(orders.SourceInput{Kind: crm.OrderSourceWebhook, Name: ptr("Generated")})
	secret := gen.Secrets["secret"]
	if len(secret) != 64 {
		t.Fatalf("generated secret = %q, want 64 hex digits", secret)
	}
	if other := e.mustSource(orders.SourceInput{Kind: crm.OrderSourceWebhook, Name: ptr("Other")}); other.Secrets["secret"] == secret {
		t.Fatal("two sources got the same generated secret")
	}
	gview := orders.View(gen, "https://desk.example")
	ex := orders.ExampleWebhook(secret, gview.WebhookURL)
	if ex.Signature != sign(secret, []byte(ex.Body)) || !strings.Contains(ex.Curl, gview.WebhookURL) {
		t.Fatalf("example = %+v", ex)
	}
	if o, _, err := e.svc.ReceiveWebhook(ctx, gen.ID, []byte(ex.Body), ex.Signature); err != nil || o.Number != "1001" {
		t.Fatalf("example webhook: %v, %+v", err, o)
	}
	if b, _ := json.Marshal(gview); strings.Contains(string(b), secret) {
		t.Fatalf("the view shows the secret: %s", b)
	}
	src := e.mustSource(orders.SourceInput{Kind: crm.OrderSourceShopify, Name: ptr("Defaults"),
		ShopDomain: ptr("Shop.MyShopify.com"), AccessToken: ptr("t")})
	if src.Config["api_base_url"] != "https://shop.myshopify.com" || src.Config["api_version"] != orders.DefaultAPIVersion {
		t.Fatalf("defaults = %v", src.Config)
	}
	up, err := e.svc.UpdateSource(ctx, src.ID, orders.SourceInput{AgentRefundLimit: ptr(int64(2500))})
	if err != nil {
		t.Fatal(err)
	}
	view := orders.View(up, "https://desk.example/")
	if view.Config["agent_refund_limit"] != float64(2500) || view.WebhookURL != "https://desk.example/webhooks/shopify/"+itoa(src.ID) ||
		len(view.SecretsSet) != 1 || view.SecretsSet[0] != "access_token" {
		t.Fatalf("view = %+v", view)
	}
	_, err = e.svc.UpdateSource(ctx, src.ID, orders.SourceInput{Kind: crm.OrderSourceWebhook})
	wantCode(t, err, crm.EINVALID)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
