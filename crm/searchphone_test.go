package crm_test

import (
	"testing"

	"parley/crm"
)

func TestSearchPhoneDigits(t *testing.T) {
	for _, tc := range []struct{ q, want string }{
		{"+1 415 555 0123", "14155550123"},
		{"4155550123", "4155550123"},
		{"(415) 555-0123", "4155550123"},
		{" 415.555.0123 ", "4155550123"},
		{"#1042", ""},
		{"order 1042", ""},
		{"12345", ""},
		{"alice", ""},
		{"1234567890123456", ""},
	} {
		if got := crm.SearchPhoneDigits(tc.q); got != tc.want {
			t.Errorf("SearchPhoneDigits(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
}
