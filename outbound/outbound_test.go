package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// errStopped is what the tests' dial hook answers for an address the guard let through:
// no test ever connects anywhere but its own loopback server, even with a broken guard.
var errStopped = errors.New("test: connection stopped after the guard allowed it")

// fence wraps the guard of c. Connections to the addresses in open go through without
// the guard (the test's own httptest server); every other address is first judged by
// the guard, and if the guard lets it through it is recorded and stopped before connect.
type fence struct {
	mu     sync.Mutex
	passed []string // addresses the guard allowed, none of them connected
	asked  []string // every address the dialer was about to connect to
}

func fenced(t *testing.T, c *Client, open ...string) *fence {
	t.Helper()
	f := &fence{}
	guard := c.dialer.Control
	c.dialer.Control = func(network, address string, rc syscall.RawConn) error {
		f.mu.Lock()
		f.asked = append(f.asked, address)
		f.mu.Unlock()
		for _, o := range open {
			if address == o {
				return nil
			}
		}
		if err := guard(network, address, rc); err != nil {
			return err
		}
		f.mu.Lock()
		f.passed = append(f.passed, address)
		f.mu.Unlock()
		return errStopped
	}
	return f
}

// stub resolves the names of the map and nothing else.
func stub(names map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		list, ok := names[host]
		if !ok {
			return nil, fmt.Errorf("stub resolver: no such host %s", host)
		}
		var out []netip.Addr
		for _, s := range list {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		addr, reason string // reason "" means allowed
	}{
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"0.1.2.3", "this-network"},
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.5.4", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:192.168.0.1", "private"},
		{"169.254.169.254", "link-local"},
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"224.0.0.1", "link-local"}, // link-local multicast
		{"239.1.2.3", "multicast"},
		{"ff02::1", "link-local"},
		{"ff0e::1", "multicast"},
		{"::ffff:224.1.1.1", "multicast"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.254", "carrier-grade NAT"},
		{"192.0.0.8", "IETF protocol"},
		{"192.0.2.1", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"},
		{"::10.0.0.1", "IPv4-compatible"},
		{"64:ff9b::a9fe:a9fe", "link-local address (169.254.169.254 embedded in IPv6)"},
		{"64:ff9b::7f00:1", "loopback"},
		{"64:ff9b:1::1", "local NAT64"},
		{"2002:c0a8:0101::1", "private address (192.168.1.1 embedded in IPv6)"},
		{"2002:7f00:1::", "loopback"},
		{"2001:0:4136:e378::1", "Teredo"},
		{"2001:db8::1", "documentation"},
		{"fec0::1", "site-local"},
		{"100::1", "discard"},
		// Public addresses.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
		{"2a00:1450:4001::200e", ""},
	}
	for _, tt := range tests {
		err := Check(netip.MustParseAddr(tt.addr))
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%s: %v, want allowed", tt.addr, err)
			}
			continue
		}
		var r *RefusedError
		if !errors.As(err, &r) || !strings.Contains(r.Reason, tt.reason) {
			t.Errorf("%s: %v, want refused as %q", tt.addr, err, tt.reason)
		}
	}
	err := Check(netip.MustParseAddr("10.0.0.1"))
	if want := "outbound: refusing to connect to 10.0.0.1: private address"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// TestDialRefusesForbiddenAddresses dials made-up names whose stub answers are internal
// addresses, and the addresses themselves: each is refused by the dialer's check with
// the address named, and the fence shows nothing got past the guard.
func TestDialRefusesForbiddenAddresses(t *testing.T) {
	forbidden := []string{"10.0.0.1", "172.20.1.1", "192.168.1.10", "169.254.169.254", "127.0.0.1", "0.0.0.0",
		"100.64.1.1", "224.0.0.251", "::1", "fe80::1", "fd00::1", "ff02::1", "::", "::ffff:10.0.0.1",
		"::ffff:169.254.169.254", "::ffff:127.0.0.1", "64:ff9b::a00:1"}
	for _, ip := range forbidden {
		c := New(Options{Lookup: stub(map[string][]string{"internal.example": {ip}})})
		f := fenced(t, c)
		for _, addr := range []string{"internal.example:80", net.JoinHostPort(ip, "443")} {
			conn, err := c.DialContext(context.Background(), "tcp", addr)
			if conn != nil {
				conn.Close()
			}
			var r *RefusedError
			if !errors.As(err, &r) || !strings.Contains(err.Error(), "outbound: refusing to connect to ") {
				t.Errorf("dial %s (%s): %v, want refused", addr, ip, err)
			} else if want := netip.MustParseAddr(ip).Unmap().String(); r.Target != want {
				t.Errorf("dial %s: refusal names %q, want %q", addr, r.Target, want)
			}
		}
		if len(f.passed) != 0 {
			t.Errorf("%s: the guard let %v through", ip, f.passed)
		}
		if len(f.asked) < 2 { // the refusal came from the dial hook, once per dial at least
			t.Errorf("%s: the dialer was asked for %v, want the address twice", ip, f.asked)
		}
	}
}

// TestDialPublicPassesGuard checks that the guard does not refuse a public address; the
// fence stops the connection right after.
func TestDialPublicPassesGuard(t *testing.T) {
	c := New(Options{Lookup: stub(map[string][]string{"shop.example": {"10.1.1.1", "93.184.215.14"}})})
	f := fenced(t, c)
	_, err := c.DialContext(context.Background(), "tcp", "shop.example:443")
	if !errors.Is(err, errStopped) && !IsRefused(err) {
		t.Fatalf("dial: %v", err)
	}
	if strings.Join(f.passed, ",") != "93.184.215.14:443" {
		t.Fatalf("passed the guard: %v, want only the public address", f.passed)
	}
}

// TestHTTPNameResolvingToInternalRefused requests a made-up name that resolves to the
// cloud metadata address: the request fails with the dialer's refusal.
func TestHTTPNameResolvingToInternalRefused(t *testing.T) {
	c := New(Options{Lookup: stub(map[string][]string{"metadata.example": {"169.254.169.254"}})})
	f := fenced(t, c)
	resp, err := c.HTTPClient(0).Get("http://metadata.example/latest/meta-data/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to 169.254.169.254 answered")
	}
	if !IsRefused(err) || !strings.Contains(err.Error(), "refusing to connect to 169.254.169.254: link-local address") {
		t.Fatalf("error = %v, want the refusal", err)
	}
	if len(f.passed) != 0 {
		t.Fatalf("passed the guard: %v", f.passed)
	}
}

// TestRedirectToInternalRefused follows a redirect from the test's own server (the
// only address the fence opens) to internal addresses: each hop is refused at its dial.
func TestRedirectToInternalRefused(t *testing.T) {
	var hits sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		switch r.URL.Path {
		case "/meta":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/name":
			http.Redirect(w, r, "http://rebind.example:8080/", http.StatusFound)
		case "/v6":
			http.Redirect(w, r, "http://[::1]:9/", http.StatusFound)
		}
	}))
	defer srv.Close()
	open := strings.TrimPrefix(srv.URL, "http://")
	c := New(Options{Lookup: stub(map[string][]string{"shop.example": {"127.0.0.1"}, "rebind.example": {"10.0.0.7"}})})
	f := fenced(t, c, open)
	for path, want := range map[string]string{"/meta": "169.254.169.254: link-local", "/name": "10.0.0.7: private",
		"/v6": "::1: loopback"} {
		resp, err := c.HTTPClient(0).Get(srv.URL + path)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: redirect followed, status %d", path, resp.StatusCode)
		}
		if !IsRefused(err) || !strings.Contains(err.Error(), "refusing to connect to "+want) {
			t.Errorf("%s: error = %v, want %q", path, err, want)
		}
		if _, ok := hits.Load(path); !ok {
			t.Errorf("%s: the first hop did not reach the test server", path)
		}
	}
	if len(f.passed) != 0 {
		t.Fatalf("passed the guard: %v", f.passed)
	}
}

// TestAllowPrivateNetwork reaches a loopback server by a made-up name when the operator
// allows the private network, and refuses it otherwise.
func TestAllowPrivateNetwork(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("fake shop"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	names := stub(map[string][]string{"fake.example": {"127.0.0.1"}})

	open := New(Options{AllowPrivateNetwork: true, Lookup: names})
	resp, err := open.HTTPClient(0).Get("http://fake.example:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !open.AllowsPrivateNetwork() {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if r := open.CheckHost("10.0.0.1"); r != nil {
		t.Fatalf("CheckHost with the private network allowed: %v", r)
	}

	strict := New(Options{Lookup: names})
	fenced(t, strict)
	if resp, err := strict.HTTPClient(0).Get("http://fake.example:" + port + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("strict client reached a loopback server")
	} else if !strings.Contains(err.Error(), "refusing to connect to 127.0.0.1: loopback address") {
		t.Fatalf("error = %v", err)
	}
}

// TestProxyFromEnvironmentIgnored sets HTTP_PROXY to a loopback server: a request to an
// internal name still fails at the dial check and the proxy sees nothing, since a proxy
// would connect on Parley's behalf, out of reach of the check.
func TestProxyFromEnvironmentIgnored(t *testing.T) {
	var proxied sync.Map
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Store(r.URL.String(), true)
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	c := New(Options{Lookup: stub(map[string][]string{"internal.example": {"10.0.0.1"}})})
	fenced(t, c, strings.TrimPrefix(proxy.URL, "http://"))
	resp, err := c.HTTPClient(0).Get("http://internal.example/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("request answered")
	}
	if !IsRefused(err) {
		t.Fatalf("error = %v, want the refusal", err)
	}
	n := 0
	proxied.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("the proxy got %d requests", n)
	}
}

func TestCheckHost(t *testing.T) {
	c := New(Options{})
	for host, want := range map[string]string{
		"169.254.169.254": "link-local", "10.0.0.1": "private", "::1": "loopback", "[::1]": "loopback",
		"::ffff:127.0.0.1": "loopback", "localhost": "loopback", "LOCALHOST.": "loopback", "api.localhost": "loopback",
		"0.0.0.0": "unspecified", "127.0.0.1:143": "loopback", "[::1]:25": "loopback", "localhost:25": "loopback",
		"api.twilio.com": "", "x.myshopify.com": "", "8.8.8.8": "", "imap.shop.example:993": "", "2001:4860::8888": "",
	} {
		r := c.CheckHost(host)
		if want == "" {
			if r != nil {
				t.Errorf("%s: %v", host, r)
			}
		} else if r == nil || !strings.Contains(r.Reason, want) {
			t.Errorf("%s: %v, want %s", host, r, want)
		}
	}
}

// TestInProcessHosts: a request to an in-process host is answered by its handler, body,
// status and headers as a server would send them, with no connection at all; other
// hosts still go through the guarded dialer.
func TestInProcessHosts(t *testing.T) {
	shop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		fmt.Fprint(&body, r.Method, " ", r.Host, " ", r.URL.RequestURI(), " ", r.Header.Get("X-Token"), " ")
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		body.Write(b[:n])
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(body.String()))
	})
	c := New(Options{InProcess: map[string]http.Handler{"shop.demo.test": shop}, Lookup: stub(map[string][]string{"other.example": {"127.0.0.1"}})})
	f := fenced(t, c)
	req, _ := http.NewRequest("POST", "https://Shop.Demo.Test/admin/orders.json?x=1", strings.NewReader("hello"))
	req.Header.Set("X-Token", "t")
	resp, err := c.HTTPClient(0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 200)
	n, _ := resp.Body.Read(b)
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "text/plain" ||
		string(b[:n]) != "POST Shop.Demo.Test /admin/orders.json?x=1 t hello" {
		t.Fatalf("answer %d %q", resp.StatusCode, b[:n])
	}
	if len(f.asked) != 0 {
		t.Fatalf("the in-process host was dialled: %v", f.asked)
	}
	if _, err := c.HTTPClient(0).Get("http://other.example/"); err == nil || !IsRefused(err) {
		t.Fatalf("another host: %v", err)
	}
}
