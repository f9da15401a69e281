package orders

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"parley/crm"
)

// Limits of lookups in shops: how long one request may wait for them all, and how many
// cache keys are kept before the cache starts over.
const (
	lookupTimeout   = 5 * time.Second
	maxCacheEntries = 10_000
)

// lookupCache remembers which lookups ran recently, so that opening the same customer
// again within the TTL costs no call to the shop. A failed lookup counts too: a shop that
// is down is not asked again on every request.
type lookupCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]time.Time
}

func newLookupCache(ttl time.Duration) *lookupCache {
	return &lookupCache{ttl: ttl, m: map[string]time.Time{}}
}

// claim reports whether key is due for a lookup, and marks it as looked up now if so.
func (c *lookupCache) claim(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if at, ok := c.m[key]; ok && now.Sub(at) < c.ttl {
		return false
	}
	if len(c.m) >= maxCacheEntries {
		clear(c.m)
	}
	c.m[key] = now
	return true
}

// Refresh looks up in every Shopify source the orders a list filter asks for (a
// customer's, by email, by phone, or by order number) and stores what changed. Shops are
// asked at most once a minute per query; a shop that fails is logged and the stored
// orders are served as they are. It never fails the request.
func (s *Service) Refresh(ctx context.Context, f crm.OrderFilter) {
	var emails, phones, numbers []string
	if f.CustomerID != 0 {
		c, err := s.store.Customer(ctx, f.CustomerID) // an agent's own view: nothing it may not see
		if err != nil {
			return
		}
		for _, id := range c.Identities {
			switch id.Kind {
			case crm.IdentityEmail:
				emails = append(emails, id.Address)
			case crm.IdentityPhone:
				phones = append(phones, id.Address)
			}
		}
	}
	if f.Email != "" {
		emails = append(emails, f.Email)
	}
	if f.Phone != "" {
		phones = append(phones, f.Phone)
	}
	// A number shorter than 3 characters is someone still typing: not worth a call.
	if q := strings.TrimPrefix(strings.TrimSpace(f.Query), "#"); strings.Contains(q, "@") {
		emails = append(emails, strings.ToLower(q))
	} else if len(q) >= 3 {
		numbers = append(numbers, q)
	}
	s.lookup(ctx, emails, phones, numbers)
}

// RefreshNumber looks up one order number in every Shopify source, like Refresh.
func (s *Service) RefreshNumber(ctx context.Context, number string) {
	s.lookup(ctx, nil, nil, []string{strings.TrimPrefix(number, "#")})
}

func (s *Service) lookup(ctx context.Context, emails, phones, numbers []string) {
	if len(emails)+len(phones)+len(numbers) == 0 {
		return
	}
	sources, err := s.store.OrderSources(crm.AsSystem(ctx))
	if err != nil {
		s.log.Error("list order sources", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(crm.AsSystem(ctx), lookupTimeout)
	defer cancel()
	for _, src := range sources {
		if src.Kind != crm.OrderSourceShopify {
			continue
		}
		c := s.shopifyOf(src)
		run := func(kind, v string, find func(context.Context, string) ([]shopifyOrder, error)) {
			if len(v) > 320 || !s.cache.claim(itoa(src.ID)+"\x00"+kind+"\x00"+v) {
				return
			}
			found, err := find(ctx, v)
			if err != nil {
				s.log.Warn("shopify lookup failed; serving stored orders", "source", src.ID, "by", kind, "err", err)
				return
			}
			for i := range found {
				s.storeShopify(ctx, &found[i], src.ID)
			}
		}
		for _, e := range emails {
			run("email", e, c.ordersByEmail)
		}
		for _, p := range phones {
			run("phone", p, c.ordersByPhone)
		}
		for _, n := range numbers {
			run("name", n, c.ordersByName)
		}
	}
}

// storeShopify stores a Shopify order, as the system whatever the agent who asked may
// see, unless the stored one is the same, so that
// repeated lookups add no order.updated events, or newer (stale is then true: Shopify's
// updated_at orders the versions). It logs what it cannot store.
func (s *Service) storeShopify(ctx context.Context, so *shopifyOrder, sourceID int64) (saved *crm.Order, stale bool, err error) {
	o, err := s.mapShopify(so, sourceID)
	if err != nil {
		s.log.Warn("shopify order not stored", "source", sourceID, "id", so.ID, "err", err)
		return nil, false, err
	}
	if old, err := s.store.Order(crm.AsSystem(ctx), o.Number); err == nil && sameOrder(old, o) {
		return old, false, nil
	}
	saved, err = s.store.PutOrder(crm.AsSystem(ctx), o)
	if err != nil {
		s.log.Warn("shopify order not stored", "source", sourceID, "order", o.Number, "err", err)
		return nil, false, err
	}
	return saved, crm.StaleOrder(o, saved), nil
}

// sameOrder reports whether the stored order a already says what b says. Only fields
// the shop sets are compared: the customer is Parley's, and so is the update time when
// the shop gave none.
func sameOrder(a, b *crm.Order) bool {
	x, y := *a, *b
	x.CustomerID, y.CustomerID = 0, 0
	if y.UpdatedAt.IsZero() {
		x.UpdatedAt = time.Time{}
	}
	x.UpdatedAt, y.UpdatedAt = x.UpdatedAt.UTC().Truncate(time.Millisecond), y.UpdatedAt.UTC().Truncate(time.Millisecond)
	x.PlacedAt, y.PlacedAt = x.PlacedAt.UTC().Truncate(time.Millisecond), y.PlacedAt.UTC().Truncate(time.Millisecond)
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}
