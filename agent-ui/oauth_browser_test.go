package agentui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	agentui "parley/agent-ui"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/oauth"
	"parley/oauth/oauthtest"
	"parley/outbound"
	"parley/server"

	"github.com/chromedp/chromedp"
)

// TestSignInWithGoogle: an admin adds a Gmail inbox with "Sign in with Google": the
// inbox is saved without a password, the browser goes to Google (a fake that consents at
// once), comes back through Parley's callback to the inbox's page, which says who it
// signs in as.
func TestSignInWithGoogle(t *testing.T) {
	fake := oauthtest.New("parley-client", "parley-secret", "shop@gmail.test")
	t.Cleanup(fake.Close)
	st := teststore.Open(t, teststore.Options{})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	out := outbound.New(outbound.Options{AllowPrivateNetwork: true}) // the fake is on loopback
	p := oauth.NewGoogle(fake.ClientID, fake.ClientSecret)
	p.AuthURL, p.TokenURL = fake.AuthURL(), fake.TokenURL()
	s := server.New(st.Store, server.Options{UI: agentui.Handler(), Bus: st.Bus, Logger: logger, Outbound: out,
		OAuth: oauth.New(st.Store, out.HTTPClient(10*time.Second), logger, p)})
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	f := &fixture{t: t, db: st.Store, bus: st.Bus, srv: srv}
	f.admin = f.agent("ada@test.example", "Ada Admin", crm.RoleAdmin)

	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/inboxes/new-email")
	b.waitText("#em-signin", "or use an app password below")
	b.setValue("#em-address", "shop@gmail.test")
	b.shot("signin-new")
	b.click("#em-signin-google")
	// The browser leaves for the provider and comes back: wait for the page it ends on.
	b.do(chromedp.WaitVisible(chromedp.CSS("#em-signin-state")))
	b.waitText("#em-signin-state", "Signs in with Google as shop@gmail.test")
	b.waitJS("the password hidden", `() => document.querySelector('#em-password').closest('[hidden]') !== null`)
	b.waitJS("the inbox page", `() => /^#\/settings\/inboxes\/\d+$/.test(location.hash)`)
	b.shot("signin-done")

	list, err := st.Store.Inboxes(crm.AsSystem(context.Background()))
	if err != nil || len(list) != 1 || list[0].Config["auth"] != "google" || list[0].Config["imap_username"] != "shop@gmail.test" ||
		list[0].Config["imap_host"] != "imap.gmail.com" {
		t.Fatalf("inboxes = %+v, %v", list, err)
	}
	if fake.Exchanges() != 1 {
		t.Fatalf("exchanges = %d", fake.Exchanges())
	}
	b.noScriptErrors()
}
