package agentui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/crm"
	"parley/orders/shopifytest"
)

// TestOrderSourcesScreens: on the Order sources page an admin connects a Shopify store
// (the fake's address as the API address) and sees its token and scopes checked and the
// webhook URL to paste, sees a missing scope named, creates a signed webhook source whose
// secret and example request show once, and uploads a CSV file of orders with its report.
func TestOrderSourcesScreens(t *testing.T) {
	f := newChannelFixture(t)
	shop := shopifytest.New("shpat_test_token")
	defer shop.Close()

	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/sources")
	b.waitText("#no-sources", "No order sources yet")
	b.setValue("#ns-domain", "test-store.myshopify.com")
	b.setValue("#ns-token", "shpat_test_token")
	b.setValue("#ns-secret", "shopify-webhook-secret-0123")
	b.setValue("#ns-base", shop.URL)
	b.click("#shopify-create button[type=submit]")
	b.waitText("#source-list", "Shopify")
	b.waitText("#source-list .test-steps", "the token opens Test store")
	b.waitText("#source-list .test-steps", "read_customers")
	b.waitJS("the Shopify webhook URL", `() => { const e = document.querySelector('#source-list input.code'); return !!e && /\/webhooks\/shopify\/\d+$/.test(e.value); }`)
	b.shot("sources-shopify")

	shop.SetScopes("read_orders")
	b.click("#source-list button[type=button]:not(.copy)")
	b.waitText("#source-list .test-steps .step-fail", "write_orders (to cancel and refund orders")

	b.setValue("#nw-name", "Legacy shop")
	b.click("#webhook-create button[type=submit]")
	b.waitText("#created-h", "shown only once")
	secret := b.eval(`document.querySelector('#created-secret').value`)
	example := b.eval(`document.querySelector('#created-example').value`)
	if len(secret) != 64 || !strings.Contains(example, "X-Parley-Signature: sha256=") || !strings.Contains(example, f.srv.URL+"/webhooks/orders/") {
		t.Fatalf("secret %q, example %q", secret, example)
	}
	b.waitJS("focus on the secret's heading", `() => document.activeElement === document.querySelector('#created-h')`)
	b.shot("sources-webhook-created")

	// The upload: two good rows and one with an unknown currency.
	file := filepath.Join(t.TempDir(), "orders.csv")
	csv := "number,email,status,currency,total,placed_at\n3001,alice@example.com,paid,USD,58.00,2026-11-22\n3002,bob@example.com,paid,EUX,1.00,2026-11-22\n3003,carla@example.com,shipped,EUR,12.50,2026-11-23\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#imp-file"), []string{file}))
	b.setValue("#imp-source", "legacy")
	b.click("#order-import button[type=submit]")
	b.waitText("#imp-status", "Imported 2 orders, skipped 1.")
	b.waitText("#imp-skipped", "EUX")
	b.waitJS("the progress bar is full", `() => document.querySelector('#imp-progress').value === 100`)
	if o, err := f.db.Order(crm.AsSystem(context.Background()), "3003"); err != nil || o.Source != "legacy" {
		t.Fatalf("uploaded order = %+v, %v", o, err)
	}
	b.shot("sources-import")
	b.noScriptErrors()
}
