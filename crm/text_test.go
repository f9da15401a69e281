package crm_test

import (
	"testing"

	"parley/crm"
)

func TestStripNUL(t *testing.T) {
	type inner struct{ Name string }
	v := struct {
		Subject string
		Ptr     *string
		List    []string
		Inner   inner
		Config  map[string]any
		Names   map[string]string
		Raw     []byte
		hidden  string
	}{
		Subject: "he\x00llo", Ptr: new(string), List: []string{"a\x00", "b"}, Inner: inner{"x\x00y"},
		Config: map[string]any{"k\x00": "v\x00", "n": 1.0, "nested": map[string]any{"deep": []any{"d\x00"}}},
		Names:  map[string]string{"a": "b\x00"}, Raw: []byte{0, 1}, hidden: "h\x00",
	}
	*v.Ptr = "p\x00"
	crm.StripNUL(&v)
	nested := v.Config["nested"].(map[string]any)["deep"].([]any)[0]
	if v.Subject != "hello" || *v.Ptr != "p" || v.List[0] != "a" || v.Inner.Name != "xy" || v.Config["k"] != "v" ||
		v.Config["n"] != 1.0 || nested != "d" || v.Names["a"] != "b" || len(v.Raw) != 2 || v.hidden != "h\x00" {
		t.Fatalf("after StripNUL: %+v, nested %q", v, nested)
	}
}

func TestCutBytes(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"héllo", 2, "h"}, // é is 2 bytes: not split
		{"héllo", 3, "hé"},
		{"日本語", 4, "日"},
		{"日本語", 2, ""},
		{"👋x", 3, ""},
		{"👋x", 4, "👋"},
	} {
		if got := crm.CutBytes(tt.s, tt.n); got != tt.want {
			t.Errorf("CutBytes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestCutRunes(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "hé"},
		{"日本語", 3, "日本語"}, // 9 bytes, 3 runes: fits
		{"日本語", 2, "日本"},
		{"👋👋👋", 1, "👋"},
		{"", 0, ""},
		{"abc", 0, ""},
	} {
		if got := crm.CutRunes(tt.s, tt.n); got != tt.want {
			t.Errorf("CutRunes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestIsSnowflake(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"210000000000000001", true},
		{"1", true},
		{"12345678901234567890", true},   // 20 digits
		{"123456789012345678901", false}, // 21
		{"", false},
		{"12a4", false},
		{"-1", false},
		{" 1", false},
		{"１２", false}, // full-width digits
	} {
		if got := crm.IsSnowflake(tt.s); got != tt.want {
			t.Errorf("IsSnowflake(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestNoNUL(t *testing.T) {
	for _, tt := range []struct{ s, want string }{
		{"hello", "hello"},
		{"he\x00llo\x00", "hello"},
		{"\x00", ""},
		{"", ""},
	} {
		if got := crm.NoNUL(tt.s); got != tt.want {
			t.Errorf("NoNUL(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
