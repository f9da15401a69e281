package phone

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"parley/crm"
	"parley/outbound"
)

// TestTwilioConnectionsGoThroughOutbound sends a REST call and a media fetch to a fake
// Twilio on loopback under a made-up name. The strict client refuses both at the dial
// check and the fake sees nothing; with the private network allowed both reach it, which
// shows that nothing else stopped them.
func TestTwilioConnectionsGoThroughOutbound(t *testing.T) {
	const sid = "AC0123456789abcdef0123456789abcdef"
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.HasSuffix(r.URL.Path, ".json") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"sid":%q,"status":"active"}`, sid)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	host := "twilio.example:" + port
	lookup := func(_ context.Context, name string) ([]netip.Addr, error) {
		if name != "twilio.example" {
			return nil, fmt.Errorf("no such host %s", name)
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	cfg := &config{AccountSID: sid, AuthToken: "token123456", APIBaseURL: "http://" + host, apiScheme: "http", apiHost: host}
	const refusal = "refusing to connect to 127.0.0.1: loopback address"
	for _, allow := range []bool{false, true} {
		hits.Store(0)
		c := &Channel{opt: Options{Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: allow, Lookup: lookup})}}
		ctx := crm.AsSystem(context.Background())
		_, restErr := c.api(ctx, cfg).FetchAccount(sid)
		_, _, mediaErr := c.fetch(ctx, cfg, "http://"+host+"/2010-04-01/Accounts/"+sid+"/Messages/MM1/Media/ME1", 1<<20)
		for what, err := range map[string]error{"rest": restErr, "media": mediaErr} {
			if allow && err != nil {
				t.Errorf("%s with the private network allowed: %v", what, err)
			}
			if !allow && (err == nil || !strings.Contains(err.Error(), refusal)) {
				t.Errorf("%s: %v, want %q", what, err, refusal)
			}
		}
		if n := hits.Load(); !allow && n != 0 {
			t.Errorf("the fake got %d requests from the strict client", n)
		} else if allow && n != 2 {
			t.Errorf("the fake got %d requests, want 2", n)
		}
	}
}

// TestAPIBaseRefusedAtSave refuses an api_base_url on an internal address when an inbox
// is saved, and accepts it when the private network is allowed.
func TestAPIBaseRefusedAtSave(t *testing.T) {
	strict := &Channel{opt: Options{Outbound: outbound.New(outbound.Options{}), DefaultRegion: "US"}}
	open := &Channel{opt: Options{Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: true}), DefaultRegion: "US"}}
	for base, want := range map[string]string{
		"http://127.0.0.1:8080":       "not 127.0.0.1 (loopback address)",
		"http://localhost:8080":       "not localhost (loopback address)",
		"https://10.1.2.3":            "not 10.1.2.3 (private address)",
		"https://169.254.169.254":     "not 169.254.169.254 (link-local address)",
		"https://[fd00::1]":           "not fd00::1 (private address)",
		"https://[::ffff:172.16.0.1]": "not 172.16.0.1 (private address)",
	} {
		in := func() *crm.Inbox {
			return &crm.Inbox{Kind: crm.KindPhone, Config: map[string]any{"account_sid": "AC0123456789abcdef0123456789abcdef",
				"auth_token": "token123456", "phone_number": "+14155550100", "api_base_url": base}}
		}
		err := strict.PrepareInbox(crm.AsSystem(context.Background()), in())
		if crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(crm.ErrorMessage(err), want) {
			t.Errorf("%s: %v, want invalid %q", base, err, want)
		}
		if err := open.PrepareInbox(crm.AsSystem(context.Background()), in()); err != nil {
			t.Errorf("%s with the private network allowed: %v", base, err)
		}
	}
}
