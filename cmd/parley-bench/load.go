package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latencies are the durations of one kind of operation.
type latencies []time.Duration

// pct returns the p-th percentile (0 to 100) in milliseconds, nearest rank.
func (l latencies) pct(p float64) float64 {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return ms(s[i])
}

// loadResult is what a load run did.
type loadResult struct {
	n       int // operations that succeeded
	elapsed time.Duration
	lat     latencies
}

func (r loadResult) perSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.n) / r.elapsed.Seconds()
}

// runLoad calls op with workers goroutines until count operations are done or limit has
// passed, and times each. op gets the operation's number, 0 to count-1. The first error
// stops every worker and is returned.
func runLoad(ctx context.Context, workers, count int, limit time.Duration, op func(ctx context.Context, i int) error) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		all     latencies
		firstEr error
		wg      sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(limit)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine latencies
			defer func() {
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				t := time.Now()
				if err := op(ctx, i); err != nil {
					mu.Lock()
					if firstEr == nil {
						firstEr = fmt.Errorf("operation %d: %w", i, err)
					}
					mu.Unlock()
					cancel()
					return
				}
				mine = append(mine, time.Since(t))
			}
		}()
	}
	wg.Wait()
	res := loadResult{n: len(all), elapsed: time.Since(start), lat: all}
	return res, firstEr
}
