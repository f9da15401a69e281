// Package outbound is the one way Parley connects to hosts that an admin or an outsider
// can name: Shopify stores, Discord's API and gateway, Twilio's API and media, mail
// servers, outgoing webhooks. Its dialer refuses loopback, link-local, private,
// multicast, unspecified and other special-purpose addresses unless the operator allows
// the private network. The check runs on the address a connection is about to be made
// to, after the host name is resolved and before connect, so a redirect, a DNS answer
// that changes between a check and a use, or an IPv4 address written as IPv6 cannot get
// around it. It imports only the standard library.
package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Options configure a Client. The zero value is the strict client.
type Options struct {
	// AllowPrivateNetwork lets connections go to any address, private and loopback ones
	// included. `parley serve --allow-private-network` sets it; tests set it to reach
	// their httptest fakes.
	AllowPrivateNetwork bool
	// Lookup resolves a host name to its addresses. Default net.DefaultResolver's
	// LookupNetIP. Tests give made-up names the addresses they need.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// InProcess maps host names (without a port) to handlers in this process that answer
	// their HTTP requests without any connection: the demo's shop (`parley serve --demo`).
	// Only the program's wiring sets it; nothing an admin saves can add a host.
	InProcess map[string]http.Handler
}

// Client is the guarded dialer and the one HTTP transport over it. It is safe for
// concurrent use; create one per process and hand it to every component.
type Client struct {
	allowPrivate bool
	lookup       func(ctx context.Context, host string) ([]netip.Addr, error)
	dialer       *net.Dialer
	transport    *http.Transport
	rt           http.RoundTripper // transport, or inProcess over it
}

// New returns a Client.
func New(opt Options) *Client {
	c := &Client{allowPrivate: opt.AllowPrivateNetwork, lookup: opt.Lookup}
	if c.lookup == nil {
		c.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	c.dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: c.control}
	c.transport = &http.Transport{
		// No Proxy: a proxy would make the connection to the named host itself, out of
		// reach of the address check, so HTTP_PROXY and HTTPS_PROXY are not used.
		Proxy:                 nil,
		DialContext:           c.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		ExpectContinueTimeout: time.Second,
	}
	c.rt = c.transport
	if len(opt.InProcess) > 0 {
		c.rt = &inProcess{hosts: opt.InProcess, next: c.transport}
	}
	return c
}

// inProcess answers the requests to its hosts with their handlers and passes the others
// to next.
type inProcess struct {
	hosts map[string]http.Handler
	next  http.RoundTripper
}

func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	h, ok := t.hosts[strings.ToLower(req.URL.Hostname())]
	if !ok {
		return t.next.RoundTrip(req)
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	// The handler sees the request as a server would: a body to read and the host.
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	w := &answer{header: http.Header{}}
	h.ServeHTTP(w, in)
	if req.Body != nil {
		req.Body.Close()
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{Status: fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: w.header, ContentLength: int64(w.body.Len()),
		Body: io.NopCloser(&w.body), Request: req}, nil
}

// answer is the http.ResponseWriter of an in-process request: it keeps the answer.
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answer) Header() http.Header { return a.header }

func (a *answer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *answer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(b)
}

// Lookup resolves a host name to its addresses with the client's resolver, for a
// connection test that shows each step. It connects to nothing: DialContext checks
// every address it connects to.
func (c *Client) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return c.lookup(ctx, host)
}

// AllowsPrivateNetwork reports whether the client connects to private addresses too.
func (c *Client) AllowsPrivateNetwork() bool { return c.allowPrivate }

// Transport returns the client's HTTP transport, shared by every caller so that they
// share its connections. Every HTTP request to a host that an admin or outsider names
// goes through it, redirects included.
func (c *Client) Transport() http.RoundTripper { return c.rt }

// HTTPClient returns an http.Client over the shared transport whose requests end after
// timeout (0: no limit). Callers may set its CheckRedirect.
func (c *Client) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Transport: c.rt, Timeout: timeout}
}

// DialContext connects to address ("host:port") over network ("tcp", "tcp4" or "tcp6"),
// trying each address of a host name in turn. A connection to a refused address fails
// with an error that wraps a *RefusedError, before any packet is sent to it.
func (c *Client) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("outbound: %w", err)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return c.dialer.DialContext(ctx, network, address)
	}
	addrs, err := c.lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("outbound: resolve %s: %w", host, err)
	}
	var first error
	for _, a := range addrs {
		if (network == "tcp4" && !a.Unmap().Is4()) || (network == "tcp6" && a.Is4()) {
			continue
		}
		conn, err := c.dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if first == nil {
		first = fmt.Errorf("outbound: %s has no %s address", host, network)
	}
	return nil, first
}

// control is the dialer's hook between creating a socket and connecting it: address is
// the resolved IP and port the socket is about to connect to.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	if c.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Target: address, Reason: "not an IP address"}
	}
	return Check(ap.Addr())
}

// CheckHost returns a *RefusedError when host, a host name or IP literal with or
// without a port, would be refused: an IP literal of a refused range, or localhost.
// Names are not resolved: this only gives an admin a clear error when a setting is
// saved, while the dialer is the guard. Always nil when the private network is allowed.
func (c *Client) CheckHost(host string) *RefusedError {
	if c.allowPrivate {
		return nil
	}
	h := strings.ToLower(host)
	if hp, _, err := net.SplitHostPort(h); err == nil { // a setting written host:port
		h = hp
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return &RefusedError{Target: host, Reason: "loopback address"}
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if reason := classify(a); reason != "" {
			return &RefusedError{Target: a.WithZone("").Unmap().String(), Reason: reason}
		}
	}
	return nil
}

// RefusedError is a connection the client would not make, and why.
type RefusedError struct {
	Target string // the address, or the host name CheckHost refused
	Reason string // e.g. "private address"
}

func (e *RefusedError) Error() string {
	return "outbound: refusing to connect to " + e.Target + ": " + e.Reason
}

// Setting is the message for an admin whose setting, named name, names a refused host.
func (e *RefusedError) Setting(name string) string {
	return fmt.Sprintf("%s must name a public host, not %s (%s); parley serve --allow-private-network allows private addresses",
		name, e.Target, e.Reason)
}

// IsRefused reports whether err is or wraps a *RefusedError.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// Check returns a *RefusedError when a is not an address on the public internet, and nil
// when it is. IPv4 addresses written as IPv6 (mapped, NAT64, 6to4) are judged by their
// IPv4 address.
func Check(a netip.Addr) error {
	if reason := classify(a); reason != "" {
		return &RefusedError{Target: a.WithZone("").Unmap().String(), Reason: reason}
	}
	return nil
}

// special are the ranges refused beyond those netip.Addr names (loopback, private,
// link-local, multicast, unspecified): shared, reserved, documentation and
// benchmarking space, and IPv6 forms that lead to such space or cannot be checked.
var special = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved address"}, // and 255.255.255.255
	{netip.MustParsePrefix("::/96"), "IPv4-compatible address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "discard address"},
	{netip.MustParsePrefix("2001::/32"), "Teredo address"}, // its IPv4 part is obscured
	{netip.MustParsePrefix("2001:2::/48"), "benchmarking address"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation address"},
	{netip.MustParsePrefix("3fff::/20"), "documentation address"},
	{netip.MustParsePrefix("fec0::/10"), "site-local address"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: IPv4 in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: IPv4 in bits 16 to 48
)

// classify returns why a is refused, or "" for a public address.
func classify(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	switch {
	case !a.IsValid():
		return "invalid address"
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsLoopback():
		return "loopback address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local address"
	case a.IsMulticast():
		return "multicast address"
	case a.IsPrivate():
		return "private address"
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.reason
		}
	}
	b := a.As16()
	var v4 netip.Addr
	switch {
	case nat64.Contains(a):
		v4 = netip.AddrFrom4([4]byte(b[12:16]))
	case sixToFour.Contains(a):
		v4 = netip.AddrFrom4([4]byte(b[2:6]))
	default:
		return ""
	}
	if r := classify(v4); r != "" {
		return r + " (" + v4.String() + " embedded in IPv6)"
	}
	return ""
}
