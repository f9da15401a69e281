package phone_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/channels/phone"
	"parley/crm"
)

// sayLanguages returns the language attribute of every <Say> under n.
func sayLanguages(n xmlNode) []string {
	var out []string
	if n.XMLName.Local == "Say" {
		out = append(out, n.attr("language"))
	}
	for _, c := range n.Children {
		out = append(out, sayLanguages(c)...)
	}
	return out
}

// TestVoicePromptsInGerman: a phone inbox set to German greets, offers its menu, asks
// for a voicemail and reads an order's status in German, each <Say> with Twilio's
// language="de-DE"; the greeting the shop typed is said as typed.
func TestVoicePromptsInGerman(t *testing.T) {
	e := newEnv(t, phone.Options{}, map[string]any{"language": "de"})
	if got := e.inbox.Config["language"]; got != "de" {
		t.Fatalf("stored language %v", got)
	}
	ctx := crm.AsSystem(context.Background())
	const caller = "+4930901820"
	sid := randSID("CA")
	status, body := e.post("voice", callForm(sid, caller))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	resp := parseTwiML(t, body)
	says := resp.says()
	for _, want := range []string{"Vielen Dank für Ihren Anruf bei Hotline.",
		"Für den Status einer Bestellung drücken Sie die 1.",
		"Bitte hinterlassen Sie nach dem Signalton eine Nachricht."} {
		if !strings.Contains(says, want) {
			t.Errorf("the caller hears %q, want %q", says, want)
		}
	}
	if strings.Contains(says, "press") || strings.Contains(says, "Thank you") {
		t.Errorf("English in a German menu: %q", says)
	}
	langs := sayLanguages(resp)
	if len(langs) < 2 {
		t.Fatalf("%d <Say> verbs", len(langs))
	}
	for _, l := range langs {
		if l != "de-DE" {
			t.Errorf("<Say language=%q>, want de-DE (%s)", l, body)
		}
	}

	if _, err := e.db.PutOrder(ctx, &crm.Order{Number: "1001", Phone: caller, Status: "shipped", Currency: "EUR",
		Subtotal: 3750, Shipping: 500, Total: 4250, Carrier: "DHL", TrackingNumber: "JD0123456789",
		PlacedAt: time.Now().Add(-48 * time.Hour), Source: "test"}); err != nil {
		t.Fatal(err)
	}
	_, body = e.post("gather?step=order", with(callForm(sid, caller), "Digits", "1001"))
	resp = parseTwiML(t, body)
	says = resp.says()
	for _, want := range []string{"Der Status der Bestellung 1 0 0 1 lautet: versandt.", "42,50 Euro",
		"mit DHL versandt", "6 7 8 9", "Auf Wiederhören"} {
		if !strings.Contains(says, want) {
			t.Errorf("the owner hears %q, want it to contain %q", says, want)
		}
	}
	for _, l := range sayLanguages(resp) {
		if l != "de-DE" {
			t.Errorf("order status: <Say language=%q>, want de-DE", l)
		}
	}
	// The note for agents stays in the console's English.
	if _, m := e.callMessage(t, sid); !strings.Contains(m.Text, "order 1001: read out") {
		t.Errorf("call message = %q", m.Text)
	}
}

// TestVoicePromptsCustomGreetingAndEnglish: a greeting the shop typed is said as typed
// (in the inbox's language), and an inbox without a language speaks English with
// language="en-US".
func TestVoicePromptsCustomGreetingAndEnglish(t *testing.T) {
	e := newEnv(t, phone.Options{}, map[string]any{"language": "fr", "greeting": "Bonjour et bienvenue chez Mugs & Co."})
	_, body := e.post("voice", callForm(randSID("CA"), "+33142868200"))
	resp := parseTwiML(t, body)
	if s := resp.says(); !strings.Contains(s, "Bonjour et bienvenue chez Mugs & Co. Pour connaître le statut d’une commande, tapez 1.") {
		t.Errorf("French menu says %q", s)
	}
	if l := sayLanguages(resp); len(l) == 0 || l[0] != "fr-FR" {
		t.Errorf("French menu languages %v", l)
	}

	en := newEnv(t, phone.Options{}, nil)
	_, body = en.post("voice", callForm(randSID("CA"), "+14155550123"))
	resp = parseTwiML(t, body)
	if s := resp.says(); !strings.Contains(s, "Thank you for calling Hotline.") || !strings.Contains(s, "press 1") {
		t.Errorf("English menu says %q", s)
	}
	for _, l := range sayLanguages(resp) {
		if l != "en-US" {
			t.Errorf("English menu: <Say language=%q>", l)
		}
	}
}

// TestPhoneLanguageSetting: the language setting takes auto or a shipped language and
// refuses anything else.
func TestPhoneLanguageSetting(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	ctx := crm.AsSystem(context.Background())
	for _, c := range []struct {
		lang any
		ok   bool
	}{{"ES", true}, {"auto", true}, {"it", false}, {7, false}} {
		in := &crm.Inbox{Kind: crm.KindPhone, Name: "x", Config: map[string]any{"account_sid": testSID, "auth_token": testToken,
			"phone_number": inboxNum, "api_base_url": e.tw.srv.URL, "language": c.lang}}
		err := e.ch.PrepareInbox(ctx, in)
		if (err == nil) != c.ok {
			t.Errorf("language %v: %v", c.lang, err)
		}
		if err != nil && (crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(crm.ErrorMessage(err), "language")) {
			t.Errorf("language %v: %v", c.lang, err)
		}
		if c.lang == "ES" && in.Config["language"] != "es" {
			t.Errorf("stored %v", in.Config["language"])
		}
	}
}
