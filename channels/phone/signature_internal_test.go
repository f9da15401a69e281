package phone

import (
	"slices"
	"testing"
)

// TestSignedURLs checks the spellings of a webhook URL that a signature may cover.
func TestSignedURLs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"https://desk.example/webhooks/twilio/1/messages", []string{"https://desk.example/webhooks/twilio/1/messages", "https://desk.example:443/webhooks/twilio/1/messages"}},
		{"http://desk.example/x?step=menu", []string{"http://desk.example/x?step=menu", "http://desk.example:80/x?step=menu"}},
		{"https://desk.example:443/x", []string{"https://desk.example:443/x", "https://desk.example/x"}},
		{"http://127.0.0.1:8080/x", []string{"http://127.0.0.1:8080/x", "http://127.0.0.1/x"}},
		{"http://[::1]:8080/x", []string{"http://[::1]:8080/x", "http://[::1]/x"}},
		{"https://[2001:db8::1]/x", []string{"https://[2001:db8::1]/x", "https://[2001:db8::1]:443/x"}},
		{"ftp://desk.example/x", []string{"ftp://desk.example/x"}},
		{"%zz", []string{"%zz"}},
	} {
		if got := signedURLs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("signedURLs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestValidSignatureRefusesRepeatedKeys checks that a form repeating a key is refused
// even with a signature of its first values: the signature would not cover the others.
func TestValidSignatureRefusesRepeatedKeys(t *testing.T) {
	u := "https://desk.example/webhooks/twilio/1/messages"
	form := map[string][]string{"Body": {"hello"}, "From": {"+14155550123"}}
	if !validSignature("tok", u, form, Signature("tok", u, form)) {
		t.Fatal("a genuine signature is refused")
	}
	form["Body"] = []string{"hello", "injected"}
	if validSignature("tok", u, form, Signature("tok", u, form)) {
		t.Error("a form with a repeated key is accepted")
	}
	if validSignature("tok", u, form, "") {
		t.Error("an empty signature is accepted")
	}
}
