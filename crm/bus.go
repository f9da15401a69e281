package crm

import "sync"

// Bus carries committed events to subscribers in this process (the socket hub, webhooks,
// the outbox dispatcher). Several nodes would put NATS behind the same interface.
type Bus interface {
	Publish(events ...*Event)
	Subscribe(buffer int) *Subscription
}

// Subscription receives published events on C. A subscriber that falls behind by more than
// its buffer misses events and finds Lagged set; it must re-read from the event log.
type Subscription struct {
	C      <-chan *Event
	c      chan *Event
	bus    *LocalBus
	mu     sync.Mutex
	lagged bool
}

// Lagged reports, and clears, whether events were dropped since the last call.
func (s *Subscription) Lagged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lagged
	s.lagged = false
	return l
}

// Close stops the subscription and closes C.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.c)
	}
}

// LocalBus is the in-process Bus. Publish never blocks on a slow subscriber.
type LocalBus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

var _ Bus = (*LocalBus)(nil)

// NewBus returns an empty in-process bus.
func NewBus() *LocalBus { return &LocalBus{subs: map[*Subscription]struct{}{}} }

// Publish hands events to every subscriber, dropping them for a subscriber whose buffer is full.
func (b *LocalBus) Publish(events ...*Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		for _, e := range events {
			select {
			case s.c <- e:
			default:
				s.mu.Lock()
				s.lagged = true
				s.mu.Unlock()
			}
		}
	}
}

// Subscribe returns a subscription with a buffer of the given size.
func (b *LocalBus) Subscribe(buffer int) *Subscription {
	c := make(chan *Event, buffer)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}
