package crm

import (
	"context"
	"time"
)

// Lease is the right to run one piece of work that must run on one node at a time (a
// mailbox's fetcher, a Discord bot, the outbox, the reports): its name, and the fencing
// token the store handed out when this holder took it. The token grows each time the
// lease changes hands, so a holder that was paused past its lease's end and wakes up
// still holding an old token is refused by the store (see WithLease).
type Lease struct {
	Name  string
	Token int64
}

// LeaseService hands out leases. Only a store that several nodes share needs to; on
// one node every lease is this node's.
type LeaseService interface {
	// AcquireLease takes or renews the lease name for holder until ttl from now, by the
	// database's clock, and returns it with its token: the same token while holder
	// keeps it, a greater one when it changes hands. A lease another holder has and
	// that has not run out is a conflict.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// ReleaseLease gives up holder's lease name at once, so that another node takes it
	// without waiting for it to run out. Releasing a lease one does not hold does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
}

type leaseKey struct{}

// WithLease returns a context whose store writes are fenced by l: the store refuses
// them (conflict) once the lease has a token other than l's, that is once another
// holder took it.
func WithLease(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, leaseKey{}, l)
}

// LeaseFrom returns the lease that fences the writes of ctx, if any.
func LeaseFrom(ctx context.Context) (Lease, bool) {
	l, ok := ctx.Value(leaseKey{}).(Lease)
	return l, ok
}

// TokenBuckets are rate limits that several nodes share: a bucket per key that refills
// at perSecond up to burst. TakeToken takes one token and reports whether there was one;
// its error means the buckets cannot be reached, and the caller decides alone.
type TokenBuckets interface {
	TakeToken(ctx context.Context, key string, perSecond float64, burst int) (bool, error)
}
