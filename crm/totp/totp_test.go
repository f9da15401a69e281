package totp_test

import (
	"strings"
	"testing"
	"time"

	"parley/crm/totp"
)

// TestCodeRFC6238 checks the codes against the SHA-1 test vectors of RFC 6238, appendix
// B, cut to 6 digits as apps show them (the RFC's are 8).
func TestCodeRFC6238(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tt := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		if got := totp.Code(secret, totp.Step(time.Unix(tt.unix, 0))); got != tt.want {
			t.Errorf("code at %d = %s, want %s", tt.unix, got, tt.want)
		}
	}
}

// TestMatch accepts the code of the current step and of one step either side, typed with
// spaces, and nothing further off or malformed.
func TestMatch(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	cur := totp.Step(now)
	for _, tt := range []struct {
		name string
		code string
		step int64
		ok   bool
	}{
		{"current", totp.Code(secret, cur), cur, true},
		{"one before", totp.Code(secret, cur-1), cur - 1, true},
		{"one after", totp.Code(secret, cur+1), cur + 1, true},
		{"spaced", totp.Code(secret, cur)[:3] + " " + totp.Code(secret, cur)[3:], cur, true},
		{"two before", totp.Code(secret, cur-2), 0, false},
		{"two after", totp.Code(secret, cur+2), 0, false},
		{"letters", "12a456", 0, false},
		{"short", "12345", 0, false},
		{"empty", "", 0, false},
	} {
		step, ok := totp.Match(secret, tt.code, now)
		if ok != tt.ok || (ok && step != tt.step) {
			t.Errorf("%s: Match(%q) = %d, %v; want %d, %v", tt.name, tt.code, step, ok, tt.step, tt.ok)
		}
	}
}

func TestURI(t *testing.T) {
	got := totp.URI([]byte("12345678901234567890"), "Parley", "dana@shop.example")
	want := "otpauth://totp/Parley:dana@shop.example?algorithm=SHA1&digits=6&issuer=Parley&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if got != want {
		t.Errorf("URI = %s\nwant %s", got, want)
	}
	if k := totp.Key([]byte("12345678901234567890")); strings.Contains(k, "=") {
		t.Errorf("key %s is padded", k)
	}
}
