package chat

import (
	"context"
	"sync"
	"time"

	"parley/crm"

	"golang.org/x/time/rate"
)

// Limit is a token bucket: Rate events per second on average, bursts of up to Burst.
type Limit struct {
	Rate  rate.Limit
	Burst int
}

// Limits are the abuse limits of the widget. The zero value of a field takes its default.
type Limits struct {
	// NewVisitorsPerIP limits new conversations (a hello without a known visitor token)
	// from one IP address. Default 1 every 6 s, bursts of 20.
	NewVisitorsPerIP Limit
	// MessagesPerIP limits messages and uploads from one IP address. Default 2 a second,
	// bursts of 40, so a shop's office behind one address still works.
	MessagesPerIP Limit
	// MessagesPerVisitor limits messages and uploads of one visitor. Default 1 every 2 s,
	// bursts of 10.
	MessagesPerVisitor Limit
	// OrderLookupsPerVisitor limits "Track my order" lookups of one visitor, so order
	// numbers cannot be guessed. Default 5 per 10 minutes.
	OrderLookupsPerVisitor Limit
	// OrderLookupsPerIP limits order lookups from one IP address, whatever the visitor.
	// Default 20 per 10 minutes.
	OrderLookupsPerIP Limit
	// HellosPerIP limits every hello, of new and returning visitors, from one IP
	// address: a returning visitor's hello costs store reads. Default 1 a second, bursts
	// of 60 (a shop's office reloading pages behind one address).
	HellosPerIP Limit
	// UploadsPerVisitor limits the files one visitor uploads. Default 10 per 10 minutes.
	UploadsPerVisitor Limit
	// UploadsPerIP limits the files uploaded from one IP address. Default 30 per 10
	// minutes.
	UploadsPerIP Limit

	// SocketsPerIP caps the widget sockets open at once from one IP address (default
	// 50), SocketsPerVisitor those of one visitor, its tabs (default 10). A negative
	// value is no cap.
	SocketsPerIP      int
	SocketsPerVisitor int
	// PendingUploadBytesPerVisitor caps the bytes of one visitor's uploads that no
	// message has used yet (default 25 MiB); PendingUploadBytes those of all visitors
	// together (default 500 MiB). Uploads older than a day are deleted. A negative value
	// is no cap.
	PendingUploadBytesPerVisitor int64
	PendingUploadBytes           int64
}

func (l *Limits) defaults() {
	def := func(x *Limit, r rate.Limit, b int) {
		if x.Rate == 0 {
			x.Rate = r
		}
		if x.Burst == 0 {
			x.Burst = b
		}
	}
	def(&l.NewVisitorsPerIP, rate.Every(6*time.Second), 20)
	def(&l.MessagesPerIP, 2, 40)
	def(&l.MessagesPerVisitor, 0.5, 10)
	def(&l.OrderLookupsPerVisitor, rate.Every(2*time.Minute), 5)
	def(&l.OrderLookupsPerIP, rate.Every(30*time.Second), 20)
	def(&l.HellosPerIP, 1, 60)
	def(&l.UploadsPerVisitor, rate.Every(time.Minute), 10)
	def(&l.UploadsPerIP, rate.Every(20*time.Second), 30)
	if l.SocketsPerIP == 0 {
		l.SocketsPerIP = 50
	}
	if l.SocketsPerVisitor == 0 {
		l.SocketsPerVisitor = 10
	}
	if l.PendingUploadBytesPerVisitor == 0 {
		l.PendingUploadBytesPerVisitor = 25 << 20
	}
	if l.PendingUploadBytes == 0 {
		l.PendingUploadBytes = 500 << 20
	}
}

// keyed holds one token bucket per key (an IP address, a visitor id). Buckets idle for
// longer than it takes them to refill are swept, so the map stays small.
type keyed struct {
	limit  Limit
	shared crm.TokenBuckets // the cluster's buckets, when several nodes share them
	prefix string           // of this limit's keys among the shared buckets
	mu     sync.Mutex
	m      map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxKeys bounds the buckets kept between sweeps; a flood of new keys forces a sweep.
const maxKeys = 100_000

func newKeyed(l Limit, shared crm.TokenBuckets, prefix string) *keyed {
	return &keyed{limit: l, shared: shared, prefix: prefix, m: map[string]*bucket{}}
}

// allow takes a token from key's bucket and reports whether there was one.
func (k *keyed) allow(key string) bool {
	if k.limit.Rate == rate.Inf {
		return true
	}
	if k.shared != nil {
		ctx, cancel := context.WithTimeout(crm.AsSystem(context.Background()), time.Second)
		ok, err := k.shared.TakeToken(ctx, k.prefix+key, float64(k.limit.Rate), k.limit.Burst)
		cancel()
		if err == nil {
			return ok
		}
	}
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.m[key]
	if b == nil {
		if len(k.m) >= maxKeys {
			k.sweepLocked(now)
		}
		b = &bucket{lim: rate.NewLimiter(k.limit.Rate, k.limit.Burst)}
		k.m[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// sweep forgets buckets that have been idle long enough to be full again.
func (k *keyed) sweep() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweepLocked(time.Now())
}

func (k *keyed) sweepLocked(now time.Time) {
	idle := 10 * time.Minute
	if k.limit.Rate > 0 && k.limit.Rate != rate.Inf {
		if full := time.Duration(float64(k.limit.Burst) / float64(k.limit.Rate) * float64(time.Second)); full > idle {
			idle = full
		}
	}
	for key, b := range k.m {
		if now.Sub(b.seen) > idle {
			delete(k.m, key)
		}
	}
}
