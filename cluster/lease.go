package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"parley/crm"
)

// Lease timing: a lease runs out LeaseTTL after its last renewal, a holder renews it
// every LeaseTTL/3, and a node that wants a lease tries every retryEvery (a little
// later the more it holds). So a dead node's leases move within LeaseTTL plus one try,
// about 12 s.
const (
	LeaseTTL   = 9 * time.Second
	retryEvery = 2 * time.Second
	// PeerWindow is how recently a node must have been heard from to count as alive
	// (Relay.Nodes): shorter than LeaseTTL, and longer than the hubs' presence beat,
	// which every node sends on NATS every 5 s.
	PeerWindow = 8 * time.Second
)

// Leases runs each piece of work that must run on one node at a time (a mailbox's
// fetcher, a Discord bot, the outbox, the reports) on the node that holds its lease in
// the store. The holder renews the lease while the work runs; the work's context is
// fenced by the lease (crm.WithLease), so the store refuses the writes of a holder that
// was paused past the lease's end once another node took it. A node holding more than
// its share of the leases gives one up now and then, so that the work spreads over the
// nodes. Set the fields, then call Hold for each piece of work.
type Leases struct {
	// Store hands out the leases. Without one, this node is alone and runs every piece
	// of work at once.
	Store crm.LeaseService
	// Node is this node's id: the lease holder's name.
	Node string
	// Peers returns how many other nodes are alive, for the share; nil counts none. A
	// dead node must drop out of the count before its leases run out (see Relay.Nodes
	// and PeerWindow), or this node gives up leases no one takes for a moment.
	Peers func() int
	// WarnOthers logs, once, that another node holds a lease: a node that thinks it
	// runs alone (no NATS) learns that it does not.
	WarnOthers bool
	Logger     *slog.Logger

	mu     sync.Mutex
	wanted map[string]bool // the leases Hold is running for
	held   map[string]bool
	warned bool
}

// Hold runs work while this node holds the lease name, until ctx is done or work
// returns. work gets a context fenced by the lease, cancelled when the lease is lost
// or given up; it is started again when this node takes the lease again. When ctx is
// done, Hold stops work, waits for it and gives the lease up at once for another node.
func (l *Leases) Hold(ctx context.Context, name string, work func(context.Context)) {
	if l.Store == nil {
		work(ctx)
		return
	}
	l.want(name, true)
	defer l.want(name, false)
	for ctx.Err() == nil {
		lease, err := l.Store.AcquireLease(crm.AsSystem(ctx), name, l.Node, LeaseTTL)
		if err != nil {
			l.refused(name, err)
			if !sleep(ctx, retryEvery+l.delay()) {
				return
			}
			continue
		}
		returned, gaveUp := l.run(ctx, lease, work)
		if returned {
			return
		}
		// Let a node with fewer take it first; if none does (it died since), take it
		// back soon after.
		if gaveUp && !sleep(ctx, 2*retryEvery) {
			return
		}
	}
}

// run runs work under lease until it returns (returned), the lease is lost, this node
// gives it up for another (gaveUp) or ctx is done. The lease is released unless lost.
func (l *Leases) run(ctx context.Context, lease crm.Lease, work func(context.Context)) (returned, gaveUp bool) {
	l.hold(lease.Name, true)
	defer l.hold(lease.Name, false)
	l.Logger.Info("lease taken: this node does the work", "lease", lease.Name, "node", l.Node, "token", lease.Token)
	wctx, cancel := context.WithCancel(crm.WithLease(ctx, lease))
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(wctx)
	}()
	renewed := time.Now()
	tick := time.NewTicker(LeaseTTL / 3)
	defer tick.Stop()
	lost := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-done:
			returned = ctx.Err() == nil
			break loop
		case <-tick.C:
			if l.giveUp(lease.Name) {
				gaveUp = true
				l.Logger.Info("lease given up for a node with fewer", "lease", lease.Name, "node", l.Node)
				break loop
			}
			rctx, rcancel := context.WithTimeout(crm.AsSystem(ctx), LeaseTTL/3)
			next, err := l.Store.AcquireLease(rctx, lease.Name, l.Node, LeaseTTL)
			rcancel()
			switch {
			case err == nil && next.Token == lease.Token:
				renewed = time.Now()
			case err == nil || crm.ErrorCode(err) == crm.ECONFLICT:
				lost = true
			case time.Since(renewed) > LeaseTTL*2/3:
				// The store cannot be reached: stop before the lease may run out and
				// another node may take it.
				lost = true
			}
			if lost {
				l.Logger.Warn("lease lost: this node stops the work", "lease", lease.Name, "node", l.Node, "err", err)
				break loop
			}
		}
	}
	cancel()
	<-done
	if !lost {
		rctx, rcancel := context.WithTimeout(crm.AsSystem(context.Background()), 5*time.Second)
		if err := l.Store.ReleaseLease(rctx, lease.Name, l.Node); err != nil {
			l.Logger.Warn("release lease: it runs out by itself", "lease", lease.Name, "err", err)
		}
		rcancel()
	}
	return returned, gaveUp
}

// refused notes a lease this node could not take.
func (l *Leases) refused(name string, err error) {
	if crm.ErrorCode(err) != crm.ECONFLICT {
		l.Logger.Warn("take lease", "lease", name, "err", err)
		return
	}
	l.mu.Lock()
	warn := l.WarnOthers && !l.warned
	l.warned = true
	l.mu.Unlock()
	if warn {
		l.Logger.Warn("another node works on this database, but this one runs without --nats: "+
			"agents on one node do not see the other's changes live; give every node --nats", "lease", name)
	}
}

func (l *Leases) want(name string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wanted == nil {
		l.wanted, l.held = map[string]bool{}, map[string]bool{}
		if l.Logger == nil {
			l.Logger = slog.Default()
		}
	}
	if on {
		l.wanted[name] = true
	} else {
		delete(l.wanted, name)
	}
}

func (l *Leases) hold(name string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.held[name] = true
	} else {
		delete(l.held, name)
	}
}

// share is how many leases this node should hold: its part of those it wants.
func (l *Leases) share() int {
	nodes := 1
	if l.Peers != nil {
		nodes += l.Peers()
	}
	return (len(l.wanted) + nodes - 1) / nodes
}

// giveUp reports whether this node holds more than its share, and if so counts the
// lease name as given up already, so that the node's other leases do not all go at once.
func (l *Leases) giveUp(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) <= l.share() {
		return false
	}
	delete(l.held, name)
	return true
}

// delay is how much later than others this node tries a free lease: a node holding its
// share or more lets those holding less take it.
func (l *Leases) delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.held); n > 0 && n >= l.share() {
		return time.Second
	}
	return 0
}

// Held returns the names of the leases this node holds now.
func (l *Leases) Held() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for n := range l.held {
		names = append(names, n)
	}
	return names
}

// sleep waits for d or until ctx is done, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
