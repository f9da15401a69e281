package agentui_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	agentui "parley/agent-ui"
	"parley/browsertest"
	"parley/channels"
	"parley/channels/chat"
	"parley/channels/discord"
	"parley/channels/discord/discordtest"
	"parley/channels/email"
	"parley/channels/email/imaptest"
	"parley/channels/phone"
	"parley/channels/phone/twiliotest"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/outbound"
	"parley/server"
)

// newChannelFixture is a running Parley with every channel registered and running, as
// `parley serve` wires them, talking to fakes on loopback: what a new shop's admin sets
// up through the screens. It has an admin and no inbox.
func newChannelFixture(t *testing.T) *fixture {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.Default()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("http://" + ln.Addr().String())
	out := outbound.New(outbound.Options{AllowPrivateNetwork: true}) // every fake is on loopback
	registry := channels.NewRegistry()
	s := server.New(db, server.Options{UI: agentui.Handler(), Bus: bus, Logger: logger, Channels: registry, Outbound: out})
	registry.Register(crm.KindAPI, channels.APIConnector)
	mail := email.New(db, bus, logger)
	mail.Outbound = out
	mail.MinBackoff, mail.MaxBackoff, mail.PollInterval = 20*time.Millisecond, 200*time.Millisecond, 50*time.Millisecond
	registry.Register(crm.KindEmail, mail)
	dc := discord.New(db, bus, discord.Options{Logger: logger, Outbound: out, ReconnectDelay: 50 * time.Millisecond})
	registry.Register(crm.KindDiscord, dc)
	tel := phone.New(db, phone.Options{PublicURL: base, Logger: logger, Outbound: out})
	registry.Register(crm.KindPhone, tel)
	s.Handle("/webhooks/twilio/", tel.Handler())
	s.HandleAPI("POST /api/v1/customers/{id}/call", tel.CallHandler())
	widget := chat.New(db, bus, chat.Options{Logger: logger, Connectors: registry})
	registry.Register(crm.KindChat, widget)
	for _, p := range []string{"/widget.js", "/widget/", "/demo"} {
		s.Handle(p, widget.Handler())
	}

	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{s.Run, mail.Run, dc.Run, widget.Run} {
		wg.Go(func() { run(ctx) })
	}
	f := &fixture{t: t, db: db, bus: bus}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	f.srv = srv
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
	})
	f.admin = f.agent("ada@test.example", "Ada Admin", crm.RoleAdmin)
	return f
}

// shot saves the page at the widths the console is checked at, 390, 768 and 1280 pixels,
// when PARLEY_SCREENSHOTS names a directory, and leaves the window at 1440 (four columns).
func (b *tab) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("PARLEY_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, w := range []int64{390, 768, 1280} {
		b.do(chromedp.EmulateViewport(w, 900))
		b.waitJS("layout settles", `() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		// The settings pane scrolls on its own at wide widths: a window as tall as its
		// content shows all of it.
		h, _ := strconv.Atoi(b.eval(`(() => { const p = document.querySelector('#settings-pane');
			return String(p && !p.hidden ? Math.max(900, p.scrollHeight + p.getBoundingClientRect().top + 20) : 900); })()`))
		if h > 900 {
			b.do(chromedp.EmulateViewport(w, int64(min(h, 6000))))
			b.waitJS("layout settles", `() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		}
		browsertest.Screenshot(b.t, b.ctx, filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)))
	}
	b.do(chromedp.EmulateViewport(1440, 900))
}

// setValue sets an input's value as typing would: the input and change events fire.
// An empty v empties the field (chromedp passes an empty string argument as undefined).
func (b *tab) setValue(sel, v string) {
	b.t.Helper()
	b.waitJS("setting "+sel, `(sel, v) => { const el = document.querySelector(sel); if (!el) return false;
		el.value = v === undefined ? '' : v; el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true })); return true; }`, sel, v)
}

// smtpSink is an SMTP server that takes one account's login and any mail.
func smtpSink(t *testing.T, user, pass string) string {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &loginSink{user: user, pass: pass}, nil }))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type loginSink struct{ user, pass string }

func (s *loginSink) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *loginSink) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error {
		if u != s.user || p != s.pass {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}
func (s *loginSink) Mail(string, *smtp.MailOptions) error { return nil }
func (s *loginSink) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *loginSink) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s *loginSink) Reset()                               {}
func (s *loginSink) Logout() error                        { return nil }

// TestSetupEmailInbox: a new shop connects its mailbox through the email form: a provider
// preset fills the servers, "another provider" opens them for its own, and once saved
// the inbox connects and its test shows every step passed, the server's answers in it.
func TestSetupEmailInbox(t *testing.T) {
	f := newChannelFixture(t)
	imap, err := imaptest.Start("support@shop.test", "app-password-1", imaptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer imap.Close()
	smtpAddr := smtpSink(t, "support@shop.test", "app-password-1")
	ih, ip, _ := net.SplitHostPort(imap.Addr)
	sh, sp, _ := net.SplitHostPort(smtpAddr)

	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/inboxes")
	b.waitText("#inbox-kinds", "Email")
	b.shot("inboxes-empty")
	b.click("#add-email")
	b.waitText("#setup-h", "New inbox: Email")
	// The Gmail preset is the first; it fills Google's servers.
	if got := b.eval(`document.querySelector('#em-imap-host').value + ' ' + document.querySelector('#em-smtp-port').value`); got != "imap.gmail.com 587" {
		t.Fatalf("Gmail preset: %q", got)
	}
	b.waitText("#em-provider-help", "app password")
	b.setValue("#em-provider", "custom")
	b.waitJS("the servers open for another provider", `() => document.querySelector('#em-servers').open`)
	b.setValue("#in-name", "Support")
	b.setValue("#em-address", "support@shop.test")
	b.setValue("#em-password", "app-password-1")
	b.setValue("#em-imap-host", ih)
	b.setValue("#em-imap-port", ip)
	b.setValue("#em-imap-security", "none")
	b.setValue("#em-smtp-host", sh)
	b.setValue("#em-smtp-port", sp)
	b.setValue("#em-smtp-security", "none")
	b.shot("inbox-new-email")
	b.click("#inbox-setup button[type=submit]")

	b.waitText("#inbox-h", "Support")
	b.waitText("#inbox-state", "Connected")
	b.waitText("#test-result", "Connection works")
	b.waitText("#test-steps", "IMAP login")
	b.waitText("#test-steps", "INBOX holds 0 messages")
	b.waitText("#test-steps", "SMTP login")
	b.shot("inbox-email")

	// A wrong password shows where it stops, with the server's refusal.
	b.setValue("#em-password", "wrong")
	b.click("#inbox-settings button[type=submit]")
	b.waitText("#inbox-settings [role=status]", "Saved")
	b.click("#test-button")
	b.waitText("#test-result", "Connection failed")
	b.waitText("#test-steps .step-fail", "IMAP login")
	b.noScriptErrors()
}

// TestSetupPhoneInbox: the Twilio form saves with the test's fake Twilio as its API
// address; the inbox page shows the three webhook URLs to paste; the test says the
// number's webhooks are not pasted yet, and passes once they are (as an admin pastes them
// in Twilio's console); a text Twilio signs and posts to the shown URL becomes a ticket.
func TestSetupPhoneInbox(t *testing.T) {
	f := newChannelFixture(t)
	const sid, token = "AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"
	tw := twiliotest.New(sid, token)
	defer tw.Close()
	tw.AddNumber("+14155550100")

	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/inboxes/new-phone")
	b.waitText("#setup-h", "SMS, WhatsApp and calls")
	b.setValue("#ph-sid", sid)
	// A token that is not one says what is wrong with it.
	b.setValue("#ph-token", "your-auth-token")
	b.setValue("#ph-number", "+1 415 555 0100")
	b.setValue("#ph-base", tw.URL)
	b.click("#inbox-setup button[type=submit]")
	b.waitText("#settings-error", "32 letters and digits")
	b.setValue("#ph-token", token)
	b.setValue("#ph-greeting", "Thanks for calling Mugs and Co.")
	b.setValue("#ph-language", "de")
	b.do(chromedp.Click(chromedp.CSS("#ph-always")))
	b.waitJS("business hours show", `() => !document.querySelector('#ph-hours').hidden`)
	b.shot("inbox-new-phone")
	b.click("#inbox-setup button[type=submit]")

	b.waitText("#inbox-h", "Hotline")
	waitUntil(t, "the inbox's language is German", func() bool {
		list, err := f.db.Inboxes(crm.AsSystem(context.Background()))
		return err == nil && len(list) > 0 && list[len(list)-1].Config["language"] == "de"
	})
	b.waitText("#next-steps", "A message comes in")
	b.waitText("#test-steps .step-fail", "Webhooks")
	hook := b.eval(`document.querySelector('#hook-0').value`)
	voice := b.eval(`document.querySelector('#hook-1').value`)
	if !strings.HasPrefix(hook, f.srv.URL+"/webhooks/twilio/") || !strings.HasSuffix(hook, "/messages") || !strings.HasSuffix(voice, "/voice") {
		t.Fatalf("webhook URLs: %q %q", hook, voice)
	}
	b.shot("inbox-phone")
	tw.SetWebhooks("+14155550100", hook, voice)
	b.click("#test-button")
	b.waitText("#test-result", "Connection works")
	b.waitText("#test-steps", "come to this inbox")

	// Twilio posts a signed text to the URL the page showed.
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {sid}, "From": {"+14155550123"}, "To": {"+14155550100"}, "Body": {"Is my order shipped?"}, "NumMedia": {"0"}}
	req, _ := http.NewRequest("POST", hook, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", phone.Signature(token, hook, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the signed text answered %d: %s", resp.StatusCode, answer)
	}
	waitUntil(t, "the text is a ticket", func() bool {
		list, _, err := f.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{})
		return err == nil && len(list) == 1 && list[0].Subject == "Is my order shipped?"
	})
	b.noScriptErrors()
}

// TestSetupDiscordInbox: the bot token connects; the page says the Message Content intent
// is off and how to turn it on, gives the invite link, and once the intent is on lists the
// bot's servers and channels; a picked support channel is saved, and the bot connects.
func TestSetupDiscordInbox(t *testing.T) {
	f := newChannelFixture(t)
	const token = "MTAw.fake.bot-token"
	dc := discordtest.New(token)
	defer dc.Close()
	dc.SetMessageContent(false)
	dc.AddGuild(discordtest.Guild{ID: "200000000000000001", Name: "Mugs and Co", Channels: []discordtest.Channel{
		{ID: "300000000000000001", Type: 0, Name: "general"}, {ID: "300000000000000002", Type: 0, Name: "help"}}})

	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/inboxes/new-discord")
	b.waitText("#setup-h", "Discord")
	b.setValue("#dc-token", token)
	b.setValue("#dc-base", dc.URL)
	b.click("#inbox-setup button[type=submit]")
	b.waitText("#inbox-h", "Discord community")
	b.waitText("#intent-off", "Message Content Intent")
	b.waitText("#test-steps .step-fail", "Message Content intent")
	if got := b.eval(`document.querySelector('#invite').value`); got != "https://discord.com/oauth2/authorize?client_id="+discordtest.ApplicationID+"&permissions=309237711872&scope=bot" {
		t.Fatalf("invite link = %q", got)
	}
	b.shot("inbox-discord-intent-off")

	// Turned on at Discord, "Check again" sees it without a reload.
	dc.SetMessageContent(true)
	b.click("#setup-again")
	b.waitText("#intent-on", "is on")
	if got := b.focused(); got != "next-h" {
		t.Errorf("focus on %q after checking again", got)
	}
	b.waitText("#discord-channels", "Mugs and Co")
	b.click(`#discord-channels input[value="300000000000000002"]`)
	b.click("#discord-channels button[type=submit]")
	b.waitText("#discord-channels [role=status]", "Saved")
	b.click("#test-button")
	b.waitText("#test-result", "Connection works")
	b.waitText("#test-steps", "the bot sees #help")
	b.waitText("#inbox-state", "Connected")
	waitUntil(t, "the bot holds a gateway session", dc.Connected)
	b.shot("inbox-discord")
	b.noScriptErrors()
}

// TestSetupChatInbox: the chat form's preview follows the colour, side and greeting as
// they are typed; saved, the page shows the identity secret once, the embed code and the
// signing snippets in five languages. The embed code, pasted into the shop's page, opens
// the widget there, and the shopper's message is a ticket.
func TestSetupChatInbox(t *testing.T) {
	f := newChannelFixture(t)
	var embed atomic.Value // the code the inbox page shows, pasted into the shop's page
	embed.Store("")
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Mugs and Co</title><h1>Mugs and Co</h1>\n%s\n", embed.Load())
	}))
	defer shop.Close()
	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/inboxes/new-chat")
	b.waitText("#setup-h", "Chat widget")
	b.setValue("#ch-origins", "https://shop.example\nhttps://www.shop.example\n"+shop.URL)
	b.setValue("#ch-color", "#aa3300")
	b.setValue("#ch-greeting", "Hello from Mugs and Co!")
	b.click(`input[name=ch-position][value=left]`)
	b.setValue("#ch-language", "de") // the widget's own texts; the greeting stays as typed
	b.waitText("#widget-preview .wp-head", "Hello from Mugs and Co!")
	b.waitJS("the preview takes the colour and side", `() => { const p = document.querySelector('#widget-preview');
		return getComputedStyle(p.querySelector('.wp-head')).backgroundColor === 'rgb(170, 51, 0)' && p.dataset.position === 'left'; }`)
	b.shot("inbox-new-chat")
	b.click("#inbox-setup button[type=submit]")
	b.waitText("#inbox-h", "Shop chat")
	b.waitText(".once", "shown only once")
	secret := b.eval(`document.querySelector('#secret-identity_secret').value`)
	if len(secret) != 64 {
		t.Fatalf("identity secret shown = %q", secret)
	}
	b.waitJS("embed code", `() => { const e = document.querySelector('#embed'); return !!e && e.value.includes('/widget.js" data-inbox="'); }`)
	b.waitText("#snippets [role=tablist]", "Ruby")
	b.click("#sn-tab-2")
	b.waitJS("the Python snippet", `() => document.querySelector('#snippet').value.includes('hmac.new(')`)
	b.shot("inbox-chat")

	// The shop pastes the embed code; a shopper on its page chats.
	embed.Store(b.eval(`document.querySelector('#embed').value`))
	const shadow = `document.querySelector('#parley-chat').shadowRoot`
	shopper := f.newTab(t)
	shopper.do(chromedp.Navigate(shop.URL))
	shopper.waitJS("the launcher on the shop's page", `() => { const w = document.querySelector('#parley-chat');
		return !!w && !!w.shadowRoot && !!w.shadowRoot.querySelector('.launcher'); }`)
	shopper.do(chromedp.Click(chromedp.JSPath(shadow + `.querySelector('.launcher')`)))
	shopper.waitJS("the connected panel", `() => !`+shadow+`.querySelector('textarea').disabled`)
	shopper.waitJS("the widget in German, the greeting as typed", `() => `+shadow+`.querySelector('.track').textContent === 'Bestellung verfolgen' && `+
		shadow+`.querySelector('h2').textContent === 'Hello from Mugs and Co!'`)
	shopper.do(chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('textarea')`), "Do you ship to Canada?\r"))
	waitUntil(t, "the shopper's message is a ticket", func() bool {
		list, _, err := f.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{})
		return err == nil && len(list) == 1 && list[0].Channel == crm.ChannelChat
	})
	// Shown once: the page again has no secret.
	b.do(chromedp.Reload())
	b.waitText("#inbox-h", "Shop chat")
	if n := b.eval(`String(document.querySelectorAll('.once').length)`); n != "0" {
		t.Fatal("the secret shows again after a reload")
	}
	b.noScriptErrors()
}

// TestSetupAPIInbox: an api inbox needs only a name; its page gives the ingest URL and
// an example request, which files a message when run with a token.
func TestSetupAPIInbox(t *testing.T) {
	f := newChannelFixture(t)
	b := f.newTab(t)
	b.login("ada@test.example", "#/settings/inboxes")
	b.click("#add-api")
	b.waitText("#setup-h", "API")
	b.click("#inbox-setup button[type=submit]")
	b.waitText("#inbox-h", "Backoffice API")
	b.waitJS("the ingest URL", `() => { const e = document.querySelector('#ingest-url'); return !!e && e.value.endsWith('/api/v1/inbound'); }`)
	example := b.eval(`document.querySelector('#api-example').value`)
	if !strings.Contains(example, `"inbox": `) || !strings.Contains(example, f.srv.URL+"/api/v1/inbound") {
		t.Fatalf("example = %q", example)
	}
	if n := b.eval(`String(document.querySelectorAll('#test-panel').length)`); n != "0" {
		t.Error("an api inbox offers a connection test")
	}
	b.shot("inbox-api")
	b.noScriptErrors()
}

// TestInboxLifecycleScreens: an admin disables and enables an inbox (the list shows it
// disabled meanwhile), manages its members on its page, and deletes it only through the
// confirmation, which Esc closes; afterwards the inbox is among the deleted ones and its
// ticket still opens.
func TestInboxLifecycleScreens(t *testing.T) {
	f := newChannelFixture(t)
	ctx := crm.WithAgent(crm.AsSystem(context.Background()), f.admin)
	in, err := f.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Returns portal", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	f.inbox = in.ID
	f.token, _, _ = f.db.CreateToken(crm.AsSystem(context.Background()), f.admin.ID, "test", nil)
	dana := f.agent("dana@test.example", "Dana Agent", crm.RoleAgent)
	ticket := f.inbound("r-1", "Alice", "alice@example.com", "Refund please", "The lamp is broken.")

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/settings/inboxes/%d", in.ID))
	b.waitText("#inbox-h", "Returns portal")
	// Rename.
	b.setValue("#in-name", "Returns and repairs")
	b.click("#inbox-settings button[type=submit]")
	b.waitText("#inbox-settings [role=status]", "Saved")
	b.waitText("#inbox-h", "Returns and repairs")
	if got, _ := f.db.Inbox(crm.AsSystem(context.Background()), in.ID); got.Name != "Returns and repairs" {
		t.Fatalf("renamed inbox = %q", got.Name)
	}
	// A mouse click, as a person makes it, which puts the focus on the button.
	b.do(chromedp.Click(chromedp.CSS("#inbox-toggle")))
	b.waitText("#inbox-state", "Disabled")
	b.waitText("#inbox-toggle", "Enable inbox")
	b.waitJS("focus stays on the switch", `() => document.activeElement === document.querySelector('#inbox-toggle')`)
	if got, _ := f.db.Inbox(crm.AsSystem(context.Background()), in.ID); got.Enabled {
		t.Fatal("the inbox is still enabled")
	}
	b.click(`a[href="#/settings/inboxes"]`)
	b.waitText("#inbox-list", "Disabled")
	b.click(fmt.Sprintf(`a[href="#/settings/inboxes/%d"]`, in.ID))
	b.waitText("#inbox-toggle", "Enable inbox")
	// The keyboard works the switch too.
	b.do(chromedp.Focus(chromedp.CSS("#inbox-toggle")), chromedp.KeyEvent("\r"))
	b.waitText("#inbox-state", "Ready")
	b.waitText("#inbox-toggle", "Disable inbox")

	// Members: Dana joins the inbox from its page.
	b.click(fmt.Sprintf(`#members-form input[value="%d"]`, dana.ID))
	b.click("#members-form button[type=submit]")
	b.waitText("#members-form [role=status]", "Saved")
	if a, _ := f.db.Agent(crm.AsSystem(context.Background()), dana.ID); len(a.InboxIDs) != 1 || a.InboxIDs[0] != in.ID {
		t.Fatalf("Dana's inboxes = %v", a.InboxIDs)
	}

	// Delete asks first; Esc keeps the inbox and gives the focus back.
	b.click("#inbox-delete")
	b.waitText(".confirm-dialog", "Its tickets stay readable")
	b.shot("inbox-delete-confirm")
	b.do(chromedp.KeyEvent("\x1b"))
	b.waitJS("the dialog closed, focus back on Delete", `() => !document.querySelector('.confirm-dialog') && document.activeElement === document.querySelector('#inbox-delete')`)
	if _, err := f.db.Inbox(crm.AsSystem(context.Background()), in.ID); err != nil {
		t.Fatal("Esc deleted the inbox")
	}
	b.click("#inbox-delete")
	b.click("#confirm-yes")
	b.waitText("#archived-inboxes summary", "Deleted inboxes (1)")
	if n := b.eval(`String(document.querySelectorAll('#inbox-list').length)`); n != "0" {
		t.Fatal("the deleted inbox is still listed")
	}
	b.do(chromedp.Click(chromedp.CSS("#archived-inboxes summary")))
	b.waitText("#archived-inboxes", "Returns and repairs")
	b.shot("inboxes-archived")

	// The ticket is still there for Dana, its member.
	d := f.newTab(t)
	d.login("dana@test.example", fmt.Sprintf("#/tickets/%d", ticket))
	d.waitText("#ticket-subject", "Refund please")
	b.noScriptErrors()
	d.noScriptErrors()
}
