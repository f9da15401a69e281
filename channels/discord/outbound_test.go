package discord

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"parley/channels"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/outbound"
	"parley/server"
)

// allowPrivate is the outbound client of tests whose fake Discord listens on loopback.
var allowPrivate = outbound.New(outbound.Options{AllowPrivateNetwork: true})

// TestBaseURLRefusedThroughAPI saves Discord inboxes whose api_base_url names an
// internal address through the HTTP API: each is a 400 that names the address, and
// nothing is stored.
func TestBaseURLRefusedThroughAPI(t *testing.T) {
	db := teststore.Open(t, teststore.Options{}).Store
	reg := channels.NewRegistry()
	reg.Register(crm.KindDiscord, New(db, nil, Options{}))
	srv := httptest.NewServer(server.New(db, server.Options{Channels: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	admin, err := db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "admin@test.example", Name: "Ada", Role: crm.RoleAdmin, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateToken(crm.AsSystem(context.Background()), admin.ID, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	for base, want := range map[string]string{
		"http://169.254.169.254":       "not 169.254.169.254 (link-local address)",
		"http://10.0.0.1:8080":         "not 10.0.0.1 (private address)",
		"https://[::1]":                "not ::1 (loopback address)",
		"http://localhost:3000":        "not localhost (loopback address)",
		"https://[::ffff:192.168.1.1]": "not 192.168.1.1 (private address)",
	} {
		body := fmt.Sprintf(`{"kind":"discord","name":"x","config":{"bot_token":"t.t","api_base_url":%q}}`, base)
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/inboxes", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), `"invalid"`) || !strings.Contains(string(data), want) {
			t.Errorf("%s: %d %s, want 400 with %q", base, resp.StatusCode, data, want)
		}
	}
	inboxes, err := db.Inboxes(crm.AsSystem(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inboxes {
		if in.Kind == crm.KindDiscord {
			t.Fatalf("stored %+v", in)
		}
	}
}

// TestConnectionsGoThroughOutbound points the REST API, an attachment and the gateway at
// a fake Discord on loopback under a made-up name. The strict client refuses each at the
// dial check; with the private network allowed, the same calls reach the fake, which
// shows that nothing else stopped them.
func TestConnectionsGoThroughOutbound(t *testing.T) {
	fake := newFakeDiscord(t)
	fake.files["pic.png"] = []byte("\x89PNG")
	_, port, _ := net.SplitHostPort(fake.host())
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "discord.example" {
			return nil, fmt.Errorf("no such host %s", host)
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	name := "discord.example:" + port
	in := &crm.Inbox{ID: 1, Kind: crm.KindDiscord, Config: map[string]any{"bot_token": goodToken,
		"support_channel_ids": []any{supportChannel}, "api_base_url": "http://" + name}}
	const refusal = "refusing to connect to 127.0.0.1: loopback address"
	for _, allow := range []bool{false, true} {
		c := New(nil, nil, Options{AllowedCDNHosts: []string{name},
			Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: allow, Lookup: lookup})})
		ctx := crm.AsSystem(context.Background())
		restErr := c.TestInbox(ctx, in)
		_, _, dlErr := c.download(ctx, "http://"+name+"/cdn/attachments/pic.png")
		cfg, err := parseConfig(in)
		if err != nil {
			t.Fatal(err)
		}
		ws, _, wsErr := c.newSession(cfg).Dialer.Dial("ws://"+name+"/ws/", nil)
		if ws != nil {
			ws.Close()
		}
		for what, err := range map[string]error{"rest": restErr, "download": dlErr, "gateway": wsErr} {
			if allow && err != nil {
				t.Errorf("%s with the private network allowed: %v", what, err)
			}
			if !allow && (err == nil || !strings.Contains(err.Error(), refusal)) {
				t.Errorf("%s: %v, want %q", what, err, refusal)
			}
		}
	}
}

// TestPrepareInboxPrivateAllowed accepts a loopback api_base_url when the operator
// allows the private network, as tests and fakes need.
func TestPrepareInboxPrivateAllowed(t *testing.T) {
	in := &crm.Inbox{Kind: crm.KindDiscord, Config: map[string]any{"bot_token": "x.y", "api_base_url": "http://127.0.0.1:9"}}
	if err := New(nil, nil, Options{Outbound: allowPrivate}).PrepareInbox(crm.AsSystem(context.Background()), in); err != nil {
		t.Fatal(err)
	}
	err := New(nil, nil, Options{}).PrepareInbox(crm.AsSystem(context.Background()), in)
	if crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(err.Error(), "--allow-private-network") {
		t.Fatalf("strict: %v", err)
	}
}
