package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"parley/crm"
)

// runClients runs one request per benchmark iteration from n goroutines and reports the
// rate as req/s and the 99th percentile latency in milliseconds, as `make bench` does.
func runClients(b *testing.B, n int, call func(i int64) error) {
	b.Helper()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((n + procs - 1) / procs)
	var count atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := call(count.Add(1)); err != nil {
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
	cpu := cpuTime() - cpu0
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// CPU time per request, of server and clients together, is steadier than the rate
	// on a machine shared with other work.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// send makes one request with the client's bearer token and checks its status.
func (c *client) send(hc *http.Client, method, path string, body []byte, want int) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return nil
}

// benchHTTP is a client whose connection pool holds a connection per benchmark client.
func benchHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// BenchmarkInbound posts messages to POST /api/v1/inbound from 32 clients with a bearer
// token, half to existing threads and half new, as `make bench` does.
func BenchmarkInbound(b *testing.B) {
	e := newEnv(b)
	inbox := e.inbox(crm.KindAPI, "API")
	c := e.bearer("admin@test.example")
	hc := benchHTTP()
	body := func(i int64) []byte {
		from, thread := fmt.Sprintf("c%d@example.com", i%1000), fmt.Sprint("t", i%500)
		if i%2 == 1 {
			from, thread = fmt.Sprintf("new%d@example.com", i), fmt.Sprint("new", i)
		}
		return fmt.Appendf(nil, `{"inbox":%d,"external_id":"m%d","thread_key":%q,"from":{"name":"Bench","email":%q},"subject":"Order question","text":"Where is my parcel? It has been a week."}`,
			inbox, i, thread, from)
	}
	for i := range int64(1000) {
		if err := c.send(hc, "POST", "/api/v1/inbound", body(-2*i-2), 201); err != nil {
			b.Fatal(err)
		}
	}
	runClients(b, 32, func(i int64) error { return c.send(hc, "POST", "/api/v1/inbound", body(i), 201) })
}

// benchReads fills 2,000 tickets, one of them with a thread of 50 messages, and returns
// the environment, a bearer client and that ticket's id.
func benchReads(b *testing.B) (*env, *client, int64) {
	e := newEnv(b)
	inbox := e.inbox(crm.KindAPI, "API")
	c := e.bearer("admin@test.example")
	var thread int64
	for i := range 2000 {
		res := e.inbound(inbox, fmt.Sprint("m", i), fmt.Sprintf("c%d@example.com", i%300), fmt.Sprint("message ", i))
		thread = res.TicketID
	}
	for i := range 50 {
		var res inboundResult
		e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": fmt.Sprint("r", i),
			"thread_key": "long", "from": map[string]string{"email": "c1@example.com"}, "text": "more"}, 201, &res)
		thread = res.TicketID
	}
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(thread), map[string]any{"tags": []string{"vip", "late"}}, 200, nil)
	return e, c, thread
}

// BenchmarkTicketList reads the first page of open tickets, newest activity first, from
// 16 clients: after the first, from the server's cache.
func BenchmarkTicketList(b *testing.B) {
	_, c, _ := benchReads(b)
	hc := benchHTTP()
	runClients(b, 16, func(int64) error { return c.send(hc, "GET", "/api/v1/tickets?status=open&limit=50", nil, 200) })
}

// BenchmarkTicketListUncached is BenchmarkTicketList with the cache emptied before every
// request, as a change to any ticket does: what a list costs to read and encode.
func BenchmarkTicketListUncached(b *testing.B) {
	e, c, _ := benchReads(b)
	hc := benchHTTP()
	runClients(b, 16, func(int64) error {
		e.db.Invalidate()
		return c.send(hc, "GET", "/api/v1/tickets?status=open&limit=50", nil, 200)
	})
}

// BenchmarkThread reads the 50 messages of one ticket from 16 clients: after the first,
// from the server's cache.
func BenchmarkThread(b *testing.B) {
	_, c, id := benchReads(b)
	hc := benchHTTP()
	path := "/api/v1/tickets/" + itoa(id) + "/messages?limit=50"
	runClients(b, 16, func(int64) error { return c.send(hc, "GET", path, nil, 200) })
}

// BenchmarkThreadUncached is BenchmarkThread with the cache emptied before every request,
// as a change to the ticket does: what a thread costs to read and encode.
func BenchmarkThreadUncached(b *testing.B) {
	e, c, id := benchReads(b)
	hc := benchHTTP()
	path := "/api/v1/tickets/" + itoa(id) + "/messages?limit=50"
	runClients(b, 16, func(int64) error {
		e.db.Invalidate(id)
		return c.send(hc, "GET", path, nil, 200)
	})
}
