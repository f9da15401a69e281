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
