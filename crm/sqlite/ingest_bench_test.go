package sqlite_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/crm"
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

// benchInbound is the i-th message of the ingest benchmarks: even ones continue one of
// 500 threads of 1,000 known customers, odd ones open a new ticket for a new customer,
// the mix `make bench` sends.
func benchInbound(inboxID, i int64) *crm.Inbound {
	in := &crm.Inbound{InboxID: inboxID, ExternalID: fmt.Sprint("<", i, "@bench>"), Subject: "Order question",
		Text: "Where is my parcel? It has been a week since I ordered it.", FromName: "Bench Customer"}
	if i%2 == 0 {
		in.ThreadKey = fmt.Sprint("t", i%500)
		in.From = email(fmt.Sprintf("c%d@example.com", i%1000))
	} else {
		in.ThreadKey = fmt.Sprint("new", i)
		in.From = email(fmt.Sprintf("new%d@example.com", i))
	}
	return in
}

// BenchmarkIngestParallel files messages from 32 concurrent clients, half to existing
// tickets and half new, the way POST /api/v1/inbound sees them under load.
func BenchmarkIngestParallel(b *testing.B) {
	db := MustOpenDB(b)
	inbox := MustCreateInbox(b, db, crm.KindAPI, "API")
	ctx := crm.AsSystem(context.Background())
	for i := range int64(1000) {
		MustIngest(b, db, benchInbound(inbox.ID, -2*i-2))
	}
	runClients(b, "msgs", func(i int64) error {
		_, err := db.Ingest(ctx, benchInbound(inbox.ID, i))
		return err
	})
}

// BenchmarkIngestEmailParallel files mails the way the email channel does: each with its
// raw message stored as an attachment, from 32 concurrent fetchers.
func BenchmarkIngestEmailParallel(b *testing.B) {
	db := MustOpenDB(b)
	inbox := MustCreateInbox(b, db, crm.KindEmail, "Mail")
	ctx := crm.AsSystem(context.Background())
	body := strings.Repeat("Hello, I ordered a blue kettle last week and it has not arrived yet.\r\n", 60)
	runClients(b, "mails", func(i int64) error {
		in := benchInbound(inbox.ID, i)
		raw := fmt.Sprintf("Message-ID: <%d@bench>\r\nFrom: c%d@example.com\r\nSubject: Order question\r\n\r\n%s", i, i, body)
		in.Attachments = []crm.NewAttachment{{Filename: "message.eml", ContentType: "message/rfc822", Data: []byte(raw)}}
		_, err := db.Ingest(ctx, in)
		return err
	})
}
