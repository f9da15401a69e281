package server_test

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/channels"
	"parley/channels/email"
	"parley/channels/email/imaptest"
	"parley/crm"
	"parley/crm/totp"
	"parley/server"
)

// docSteps runs the examples of one docs section one after another, so that a test can
// take what an answer gave (a token, an id) into the variables of the next example.
type docSteps struct {
	t        *testing.T
	where    string
	examples []docExample
	vars     map[string]string
	base     string
	session  *client
	next     int
}

func newDocSteps(t *testing.T, heading string, count int, vars map[string]string, base string, session *client) *docSteps {
	t.Helper()
	ex := docExamples(t, "api.md", heading)
	if len(ex) != count {
		t.Fatalf("docs/api.md %q has %d examples, this test knows %d", heading, len(ex), count)
	}
	return &docSteps{t: t, where: heading, examples: ex, vars: vars, base: base, session: session}
}

// run runs the next example, which must answer status, checks the documented answer's
// fields against the real one (each line of an NDJSON answer against the last line of
// the documented one), and returns the answer.
func (d *docSteps) run(status int) []byte {
	d.t.Helper()
	if d.next >= len(d.examples) {
		d.t.Fatalf("%s: no example %d", d.where, d.next+1)
	}
	ex := d.examples[d.next]
	d.next++
	got, body := runCurl(d.t, ex.command, d.vars, d.base, d.session)
	if got != status {
		d.t.Fatalf("%s, example %d: %s\n= %d %s", d.where, d.next, ex.command, got, body)
	}
	if ex.answer == "" {
		return body
	}
	var doc, ans any
	if err := json.Unmarshal([]byte(ex.answer), &doc); err != nil {
		d.t.Fatalf("%s, example %d: the documented answer is not JSON: %v", d.where, d.next, err)
	}
	last := body
	if lines := bytes.Split(bytes.TrimSpace(body), []byte("\n")); len(lines) > 1 {
		last = lines[len(lines)-1]
	}
	if err := json.Unmarshal(last, &ans); err != nil {
		d.t.Fatalf("%s, example %d: answer %s: %v", d.where, d.next, body, err)
	}
	sameKeys(d.t, fmt.Sprintf("%s, example %d", d.where, d.next), doc, ans)
	return body
}

// done fails unless every example ran.
func (d *docSteps) done() {
	d.t.Helper()
	if d.next != len(d.examples) {
		d.t.Fatalf("%s: %d of %d examples ran", d.where, d.next, len(d.examples))
	}
}

func field(t *testing.T, body []byte, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s has no %v", body, path)
		}
		v = m[k]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatInt(int64(x), 10)
	}
	t.Fatalf("%s: %v is %v", body, path, v)
	return ""
}

// codeOf is the app's code for a key as the console shows it, a step ahead: the current
// step's code may have been spent by the step before.
func codeOf(t *testing.T, key string) string {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	return totp.Code(secret, totp.Step(time.Now())+1)
}

// The two-factor sign-in of docs/api.md works as written: the password's answer, a code
// of the app; then, with two-factor sign-in required, setting an app up at sign-in.
func TestDocsTwoFactorExamples(t *testing.T) {
	e := newEnv(t)
	ctx := ctxSystem()
	inbox := e.inbox(crm.KindAPI, "Shop")
	e.agent("nina@test.example", crm.RoleAgent, inbox)
	a, _ := e.db.AgentByEmail(ctx, "nina@test.example")
	secret, err := e.db.BeginTOTP(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ConfirmTOTP(ctx, a.ID, totp.Code(secret, totp.Step(time.Now()))); err != nil {
		t.Fatal(err)
	}

	vars := map[string]string{"EMAIL": "nina@test.example", "PASSWORD": "password-123"}
	d := newDocSteps(t, "### Two-factor sign-in", 4, vars, e.srv.URL, e.anon())
	ans := d.run(200)
	if field(t, ans, "step") != "totp" {
		t.Fatalf("password step: %s", ans)
	}
	vars["PENDING"], vars["CODE"] = field(t, ans, "pending_token"), totp.Code(secret, totp.Step(time.Now())+1)
	d.run(200)

	// Required for everyone: Omar, without an app, sets one up at sign-in.
	e.agent("omar@test.example", crm.RoleAgent, inbox)
	if err := e.db.SetSecuritySettings(ctx, &crm.SecuritySettings{RequireTOTP: true}); err != nil {
		t.Fatal(err)
	}
	vars["EMAIL"] = "omar@test.example"
	d.next = 0 // the password step again
	ans = d.run(200)
	if field(t, ans, "step") != "totp_setup" {
		t.Fatalf("password step: %s", ans)
	}
	vars["PENDING"] = field(t, ans, "pending_token")
	d.next = 2
	ans = d.run(200)
	vars["CODE"] = codeOf(t, field(t, ans, "key"))
	ans = d.run(200)
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	json.Unmarshal(ans, &out)
	if len(out.RecoveryCodes) != crm.RecoveryCodes {
		t.Fatalf("enrolled: %s", ans)
	}
	d.done()
}

// The "Your account" section of docs/api.md works as written, in an agent's session:
// profile, name and notifications, password, avatar, sessions and two-factor sign-in.
func TestDocsAccountExamples(t *testing.T) {
	e := newEnv(t)
	dana := e.agent("dana@test.example", crm.RoleAgent, e.inbox(crm.KindAPI, "Shop"))
	other := e.login("dana@test.example", "password-123") // another browser

	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8)))
	vars := map[string]string{"CSRF": dana.csrf, "PASSWORD": "password-123", "@avatar.png": img.String()}
	d := newDocSteps(t, "## Your account", 11, vars, e.srv.URL, dana)
	d.run(200)
	if ans := d.run(200); field(t, ans, "agent", "name") != "Dana Diaz" {
		t.Fatalf("PATCH /me: %s", ans)
	}
	ans := d.run(200) // the password: the other browser is signed out
	vars["CSRF"] = field(t, ans, "csrf_token")
	if status, _ := other.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("the other browser after the password change: %d", status)
	}
	if _, err := e.db.Authenticate(ctxSystem(), "dana@test.example", "a new long password"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if ans := d.run(200); field(t, ans, "avatar") == "" {
		t.Fatalf("avatar: %s", ans)
	}
	if status, body := dana.do("GET", "/api/v1/agents/"+field(t, ans, "agent", "id")+"/avatar", nil); status != 200 || !bytes.Equal(body, img.Bytes()) {
		t.Fatalf("the avatar image: %d", status)
	}
	d.run(200) // sessions
	// Signed in again there, "sign out everywhere" ends it.
	other = e.login("dana@test.example", "a new long password")
	if ans := d.run(200); field(t, ans, "ended") != "1" {
		t.Fatalf("sign out everywhere: %s", ans)
	}
	if status, _ := other.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("the other browser after sign out everywhere: %d", status)
	}
	ans = d.run(200) // totp setup
	vars["CODE"] = codeOf(t, field(t, ans, "key"))
	d.run(200) // confirm
	if ans := d.run(200); !strings.Contains(string(ans), `"enabled":true`) {
		t.Fatalf("totp: %s", ans)
	}
	d.run(200) // new recovery codes
	d.run(204) // off
	d.done()
}

// The invitation examples of docs/api.md work as written: invite, list, and the
// invitee's browser checks and accepts the link.
func TestDocsInvitationExamples(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "Shop")
	invitee := e.anon()
	vars := map[string]string{"CSRF": e.admin.csrf, "INBOX": itoa(inbox)}
	d := newDocSteps(t, "### Invitations (admins): `GET`/`POST /api/v1/invitations` · `DELETE /api/v1/invitations/{id}`", 4, vars, e.srv.URL, e.admin)
	ans := d.run(201)
	vars["TOKEN"] = inviteToken(t, field(t, ans, "link"))
	d.run(200)
	d.session = invitee
	d.run(200)
	d.run(200)
	d.done()
	if status, body := invitee.do("GET", "/api/v1/me", nil); status != 200 || !strings.Contains(string(body), "Nina Novak") {
		t.Fatalf("the invitee is not signed in: %d %s", status, body)
	}
}

// The security settings and first-run checklist examples of docs/api.md work as written.
func TestDocsSecurityAndSetupExamples(t *testing.T) {
	e := newEnv(t)
	e.agent("dana@test.example", crm.RoleAgent)
	vars := map[string]string{"CSRF": e.admin.csrf}
	newDocSteps(t, "### Security settings (admins): `GET`/`PATCH /api/v1/settings/security`", 1, vars, e.srv.URL, e.admin).run(200)
	if s, _ := e.db.SecuritySettings(ctxSystem()); !s.RequireTOTP {
		t.Fatal("two-factor sign-in is not required")
	}
	ans := newDocSteps(t, "### First-run checklist (admins): `GET`/`PATCH /api/v1/setup`", 1, vars, e.srv.URL, e.admin).run(200)
	if !strings.Contains(string(ans), `{"id":"team","done":true}`) || !strings.Contains(string(ans), `"first_run":true`) {
		t.Fatalf("setup: %s", ans)
	}
}

// The inbox examples of docs/api.md work as written: disable, the api inbox's setup, the
// step-wise test of an email inbox whose password is wrong, and delete.
func TestDocsInboxExamples(t *testing.T) {
	reg := channels.NewRegistry()
	e := newHubEnvWith(t, server.Options{Channels: reg, Outbound: allowPrivate})
	mail := email.New(e.db, e.bus, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mail.Outbound = allowPrivate // the IMAP server is on loopback
	reg.Register(crm.KindEmail, mail)
	reg.Register(crm.KindAPI, channels.APIConnector)
	api := e.inbox(crm.KindAPI, "Backoffice")
	vars := map[string]string{"CSRF": e.admin.csrf, "INBOX": itoa(api)}

	ans := newDocSteps(t, "### `GET /api/v1/inboxes` · `GET /api/v1/inboxes/{id}` · `PATCH /api/v1/inboxes/{id}`", 1, vars, e.srv.URL, e.admin).run(200)
	if !strings.Contains(string(ans), `"enabled":false`) {
		t.Fatalf("disable: %s", ans)
	}
	ans = newDocSteps(t, "### `GET /api/v1/inboxes/{id}/setup` (admins)", 1, vars, e.srv.URL, e.admin).run(200)
	if field(t, ans, "ingest_url") != e.srv.URL+"/api/v1/inbound" {
		t.Fatalf("setup: %s", ans)
	}

	imap, err := imaptest.Start("support@shop.example", "right password", imaptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer imap.Close()
	host, port, _ := net.SplitHostPort(imap.Addr)
	var box struct{ ID int64 }
	e.admin.mustDo("POST", "/api/v1/inboxes", map[string]any{"kind": "email", "name": "Support", "config": map[string]any{
		"address": "support@shop.example", "imap_host": host, "imap_port": port, "imap_security": "none",
		"imap_password": "wrong password", "smtp_host": host, "smtp_port": 25, "smtp_security": "none"}}, 201, &box)
	vars["INBOX"] = itoa(box.ID)
	ans = newDocSteps(t, "### `POST /api/v1/inboxes/{id}/test`", 1, vars, e.srv.URL, e.admin).run(200)
	if !strings.HasPrefix(field(t, ans, "error"), "IMAP login: ") {
		t.Fatalf("test: %s", ans)
	}

	vars["INBOX"] = itoa(api)
	newDocSteps(t, "### `DELETE /api/v1/inboxes/{id}` → `204`", 1, vars, e.srv.URL, e.admin).run(204)
	if status, _ := e.admin.do("GET", "/api/v1/inboxes/"+itoa(api), nil); status != 404 {
		t.Fatalf("the deleted inbox answers %d", status)
	}
}

// The order source and import examples of docs/api.md work as written: a webhook source
// with a generated secret, whose example request stores its order; its check; and the
// upload of a CSV file.
func TestDocsOrderSourceExamples(t *testing.T) {
	e := newEnv(t)
	vars := map[string]string{"CSRF": e.admin.csrf, "@orders.csv": "number,email,status,currency,total,placed_at\n" +
		"2001,alice@example.com,paid,USD,58.00,2026-11-22\n2002,bob@example.com,paid,EUX,10.00,2026-11-22\n" +
		"2003,carla@example.com,shipped,EUR,12.50,2026-11-23\n"}
	ans := newDocSteps(t, "### Order sources (admins): `GET`/`POST /api/v1/order-sources` · `PATCH /api/v1/order-sources/{id}`", 1, vars, e.srv.URL, e.admin).run(201)
	vars["SOURCE"] = field(t, ans, "id")
	if status, body := runExample(t, field(t, ans, "example", "curl"), nil); status != 200 || !strings.Contains(string(body), `"number":"1001"`) {
		t.Fatalf("the generated example: %d %s", status, body)
	}
	newDocSteps(t, "### `POST /api/v1/order-sources/{id}/test` (admins)", 1, vars, e.srv.URL, e.admin).run(200)
	ans = newDocSteps(t, "### `POST /api/v1/orders/import?format=csv|ndjson&source=NAME` (managers and admins)", 1, vars, e.srv.URL, e.admin).run(200)
	if !strings.Contains(string(ans), `"imported":2`) || !strings.Contains(string(ans), `EUX`) {
		t.Fatalf("import: %s", ans)
	}
	if o, err := e.db.Order(ctxSystem(), "2003"); err != nil || o.Source != "legacy" {
		t.Fatalf("imported order = %+v, %v", o, err)
	}
}
