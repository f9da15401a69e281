// Package orders brings a shop's orders into Parley and acts on them: order sources (a
// signed webhook that pushes Parley's own order JSON, and Shopify through its Admin API
// and webhooks), lookups on demand with a short cache, the cancel, refund and resend
// actions on Shopify orders, and the import of CSV and NDJSON files.
package orders

import (
	"log/slog"
	"net/http"
	"time"

	"parley/outbound"
)

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// Outbound connects to the shops' APIs and decides which api_base_url hosts may be
	// saved. Default: the strict client, which refuses private and loopback addresses.
	Outbound *outbound.Client
	// CacheTTL is how long a lookup in a shop is not repeated. Default 60 s.
	CacheTTL time.Duration
	// DefaultRegion parses phone numbers written without a country code. Default "US".
	DefaultRegion string
}

// Service is the orders engine over a store.
type Service struct {
	store  Store
	log    *slog.Logger
	out    *outbound.Client
	hc     *http.Client
	region string
	cache  *lookupCache
}

// New returns a Service over store.
func New(store Store, opt Options) *Service {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Outbound == nil {
		opt.Outbound = outbound.New(outbound.Options{})
	}
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = time.Minute
	}
	if opt.DefaultRegion == "" {
		opt.DefaultRegion = "US"
	}
	return &Service{store: store, log: opt.Logger, out: opt.Outbound, hc: opt.Outbound.HTTPClient(15 * time.Second), region: opt.DefaultRegion,
		cache: newLookupCache(opt.CacheTTL)}
}
