package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/postgres"
	"parley/crm/postgres/pgtest"
	"parley/crm/storetest"
)

// benchClients is the number of concurrent clients of the parallel benchmarks, the
// figure the ingest target of `make bench` is set for.
const benchClients = 32

// runClients runs one call per benchmark iteration from benchClients goroutines and
// reports the rate as unit/s and the 99th percentile latency in milliseconds.
func runClients(b *testing.B, unit string, call func(i int64) error) {
	b.Helper()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchClients + procs - 1) / procs)
	var n atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := call(n.Add(1)); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit+"/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// benchInbound is the i-th message of the ingest benchmark: even ones continue one of
// 500 threads of 1,000 known customers, odd ones open a new ticket for a new customer,
// the mix `make bench` sends.
func benchInbound(inboxID, i int64) *crm.Inbound {
	in := &crm.Inbound{InboxID: inboxID, ExternalID: fmt.Sprint("<", i, "@bench>"), Subject: "Order question",
		Text: "Where is my parcel? It has been a week since I ordered it.", FromName: "Bench Customer"}
	if i%2 == 0 {
		in.ThreadKey = fmt.Sprint("t", i%500)
		in.From = []crm.Identity{{Kind: "email", Address: fmt.Sprintf("c%d@example.com", i%1000)}}
	} else {
		in.ThreadKey = fmt.Sprint("new", i)
		in.From = []crm.Identity{{Kind: "email", Address: fmt.Sprintf("new%d@example.com", i)}}
	}
	return in
}

// BenchmarkIngestParallel files messages from 32 concurrent clients, half to existing
// tickets and half new, the way POST /api/v1/inbound sees them under load, on the
// PostgreSQL server of PARLEY_TEST_POSTGRES: what the store's writer costs in this
// process (go test -cpuprofile) and how many messages a second its group commits carry.
func BenchmarkIngestParallel(b *testing.B) {
	db, err := postgres.Open(context.Background(), pgtest.URL(b), postgres.Options{DataDir: b.TempDir(), SecretKey: storetest.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := crm.AsSystem(context.Background())
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "API"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range int64(1000) {
		if _, err := db.Ingest(ctx, benchInbound(inbox.ID, -2*i-2)); err != nil {
			b.Fatal(err)
		}
	}
	commits := db.Commits()
	runClients(b, "msgs", func(i int64) error {
		_, err := db.Ingest(ctx, benchInbound(inbox.ID, i))
		return err
	})
	b.ReportMetric(float64(b.N)/float64(db.Commits()-commits), "msgs/commit")
}
