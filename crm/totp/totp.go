// Package totp computes the one-time codes of RFC 6238 that authenticator apps show:
// HMAC-SHA-1 over 30-second steps, 6 digits, as every common app expects by default.
// Both stores check codes with it; it keeps no state, so refusing a code used before is
// the store's job (it records the last step used).
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The parameters of the codes: those of RFC 6238's reference and of the apps' defaults.
const (
	Period = 30 * time.Second
	Digits = 6
	// SecretSize is the secret's length in bytes: the 160 bits RFC 4226 recommends.
	SecretSize = 20
	// Skew is how many steps before and after the current one a code may be from, for
	// a phone whose clock is a little off and a code typed as it changed.
	Skew = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a random secret of SecretSize bytes.
func NewSecret() ([]byte, error) {
	s := make([]byte, SecretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("totp secret: %w", err)
	}
	return s, nil
}

// Key returns the secret in base32 without padding, as a person types it into an app.
func Key(secret []byte) string { return b32.EncodeToString(secret) }

// Step returns the number of the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code returns the code of the secret at a time step (RFC 4226's HOTP with the step as
// counter, truncated to Digits).
func Code(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", Digits, v%1_000_000)
}

// Normalize returns a code as typed without spaces and dashes, and whether what is left
// is Digits digits.
func Normalize(code string) (string, bool) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, code)
	if len(code) != Digits {
		return code, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return code, false
		}
	}
	return code, true
}

// Match returns the step of now, or of a step up to Skew before or after it, whose code
// is code, and whether there is one. It compares in constant time.
func Match(secret []byte, code string, now time.Time) (int64, bool) {
	code, ok := Normalize(code)
	if !ok {
		return 0, false
	}
	cur := Step(now)
	found, step := 0, int64(0)
	for s := cur - Skew; s <= cur+Skew; s++ {
		if subtle.ConstantTimeCompare([]byte(Code(secret, s)), []byte(code)) == 1 && found == 0 {
			found, step = 1, s
		}
	}
	return step, found == 1
}

// URI returns the otpauth:// URI that an authenticator app reads from a QR code: the
// issuer and the account name label the entry in the app.
func URI(secret []byte, issuer, account string) string {
	v := url.Values{}
	v.Set("secret", Key(secret))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(Digits))
	v.Set("period", fmt.Sprint(int(Period/time.Second)))
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?" + v.Encode()
}
