package phone_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/channels/phone"

	"github.com/twilio/twilio-go/client"
)

// TestSignature checks Signature against Twilio's published example (auth token 12345,
// the URL and the call's parameters of its request-validation docs) and against Twilio's
// own validator, the one reference there is, on forms with what Twilio sends: repeated
// signs, spaces, non-ASCII and an empty value.
func TestSignature(t *testing.T) {
	docs := url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}}
	if got, want := phone.Signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", docs), "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Errorf("Twilio's example signs as %q, want %q", got, want)
	}
	for _, tt := range []struct {
		name string
		url  string
		form url.Values
	}{
		{"sms", "https://desk.example.test/webhooks/twilio/3/messages",
			url.Values{"Body": {"Hi & bye = 100%"}, "From": {"+14155550123"}, "MessageSid": {"SM" + strings.Repeat("a", 32)}}},
		{"no form", "https://desk.example.test/webhooks/twilio/3/voice/status", url.Values{}},
		{"query and port", "http://127.0.0.1:8080/webhooks/twilio/3/gather?step=menu", url.Values{"Digits": {"2"}}},
		{"non-ASCII and empty", "https://desk.example.test/webhooks/twilio/3/messages",
			url.Values{"Body": {"Grüße, ça va? 👋"}, "ProfileName": {""}, "NumMedia": {"0"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{}
			for k := range tt.form {
				params[k] = tt.form.Get(k)
			}
			sig := phone.Signature("12345678abcdef", tt.url, tt.form)
			if v := client.NewRequestValidator("12345678abcdef"); !v.Validate(tt.url, params, sig) {
				t.Errorf("Twilio's validator refuses %q", sig)
			}
			if v := client.NewRequestValidator("other-token"); v.Validate(tt.url, params, sig) {
				t.Error("Twilio's validator takes the signature with another token")
			}
		})
	}
}

// TestSignedPortSpellings posts webhooks signed for the public URL spelled with the
// scheme's default port, which Twilio may hold when it was configured so: accepted, as by
// Twilio's own validator; a signature for another port is not.
func TestSignedPortSpellings(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	path := e.hookPath("messages")
	form := smsForm(randSID("SM"), "+14155550123", "hello")
	if status, body := e.postSigned("messages", form, phone.Signature(testToken, "https://desk.example.test:443"+path, form)); status != http.StatusOK {
		t.Fatalf("signed with :443: %d %s", status, body)
	}
	form = smsForm(randSID("SM"), "+14155550123", "hello again")
	if status, _ := e.postSigned("messages", form, phone.Signature(testToken, "https://desk.example.test:8443"+path, form)); status != http.StatusForbidden {
		t.Fatalf("signed with :8443: %d, want 403", status)
	}
}
