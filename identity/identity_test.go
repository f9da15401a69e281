package identity_test

import (
	"testing"

	"parley/crm"
	"parley/identity"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ kind, in, want string }{
		{"email", " Alice@Example.COM ", "alice@example.com"},
		{"phone", "+1 (555) 555-0101", "+15555550101"},
		{"phone", "whatsapp:+447700900123", "+447700900123"},
		{"phone", "555-555-0101", "+15555550101"},
		{"discord", "80351110224678912", "80351110224678912"},
	} {
		got, err := identity.Normalize(tc.kind, tc.in, "US")
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%s, %q) = %q, %v; want %q", tc.kind, tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ kind, in string }{
		{"email", "no-at-sign"}, {"email", "Bob <bob@x.example>"}, {"phone", "12"}, {"phone", "call me"},
		{"discord", "a b"}, {"fax", "123"}, {"email", ""},
	} {
		if got, err := identity.Normalize(tc.kind, tc.in, "US"); err == nil || crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("Normalize(%s, %q) = %q, %v; want invalid", tc.kind, tc.in, got, err)
		}
	}
}

func TestPremiumRate(t *testing.T) {
	for _, tt := range []struct {
		number string
		want   bool
	}{
		{"+19005550100", true},    // US 900: premium rate
		{"+4490012345678", false}, // not a valid UK number
		{"+449098790000", true},   // UK 09: premium rate
		{"+14155550123", false},
		{"+4930123456", false},
		{"not a number", false},
	} {
		if got := identity.PremiumRate(tt.number); got != tt.want {
			t.Errorf("PremiumRate(%q) = %v, want %v", tt.number, got, tt.want)
		}
	}
}
