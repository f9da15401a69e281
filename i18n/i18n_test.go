package i18n

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestCatalogues holds every catalogue to English: exactly its keys, no key twice, no
// empty text, and in each text the same placeholders as the English one, so that no
// shopper ever sees a raw key, an English gap or a "{count}" left unfilled.
func TestCatalogues(t *testing.T) {
	en := Keys(Default)
	if len(en) < 100 {
		t.Fatalf("the English catalogue has only %d keys", len(en))
	}
	for _, lang := range Languages {
		b, err := files.ReadFile("catalogue/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range duplicateKeys(t, b) {
			t.Errorf("%s: key %q appears twice", lang, k)
		}
		keys := Keys(lang)
		for _, k := range en {
			if !slices.Contains(keys, k) {
				t.Errorf("%s: missing %q", lang, k)
			}
		}
		for _, k := range keys {
			text := catalogues[lang][k]
			if !slices.Contains(en, k) {
				t.Errorf("%s: %q is not an English key", lang, k)
				continue
			}
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s: %q is empty", lang, k)
			}
			if got, want := Placeholders(text), Placeholders(catalogues[Default][k]); !slices.Equal(got, want) {
				t.Errorf("%s: %q has placeholders %v, English has %v", lang, k, got, want)
			}
		}
	}
}

// duplicateKeys returns the keys a JSON object file names more than once, which
// json.Unmarshal would silently reduce to the last.
func duplicateKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var dup []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("value of %v: %v", k, err)
		}
		if seen[k.(string)] {
			dup = append(dup, k.(string))
		}
		seen[k.(string)] = true
	}
	return dup
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		lang, key string
		vars      []string
		want      string
	}{
		{"en", "widget.track", nil, "Track my order"},
		{"de", "widget.track", nil, "Bestellung verfolgen"},
		{"fr", "widget.track", nil, "Suivre ma commande"},
		{"es", "widget.track", nil, "Seguir mi pedido"},
		{"de", "widget.launcher.unread.other", []string{"count", "3"}, "Mit uns chatten, 3 neue Antworten"},
		{"es", "csat.saved", []string{"rating", "4"}, "Hemos guardado su valoración de 4 de 5."},
		{"it", "widget.send", nil, "Send"}, // a language Parley does not ship: English
		{"", "voice.goodbye", nil, "Thank you for calling. Goodbye."},
		{"de", "no.such.key", nil, "no.such.key"},                      // a mistake shows
		{"en", "voice.greeting", nil, "Thank you for calling {name}."}, // a placeholder without a value stays
	} {
		if got := Text(c.lang, c.key, c.vars...); got != c.want {
			t.Errorf("Text(%q, %q, %v) = %q, want %q", c.lang, c.key, c.vars, got, c.want)
		}
	}
}

func TestStrings(t *testing.T) {
	de := Strings("de", "widget.")
	if de["send"] != "Senden" || de["message.placeholder"] != "Nachricht schreiben…" {
		t.Errorf("German widget strings: send %q, placeholder %q", de["send"], de["message.placeholder"])
	}
	if _, ok := de["csat.title"]; ok {
		t.Error("the widget's strings hold the survey page's")
	}
	if len(de) != len(Strings("en", "widget.")) {
		t.Errorf("%d German widget strings, %d English", len(de), len(Strings("en", "widget.")))
	}
	if it := Strings("it", "widget."); it["send"] != "Send" {
		t.Errorf("an unknown language's strings: send %q", it["send"])
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		tags []string
		want string
	}{
		{[]string{"de-CH"}, "de"},
		{[]string{"FR_ca"}, "fr"},
		{[]string{"it", "pt-BR", "es-MX", "de"}, "es"},
		{[]string{"it", "nl"}, ""},
		{[]string{"", "  en-GB "}, "en"},
		{nil, ""},
	} {
		if got := Match(c.tags...); got != c.want {
			t.Errorf("Match(%q) = %q, want %q", c.tags, got, c.want)
		}
	}
	for h, want := range map[string]string{
		"de-DE,de;q=0.9,en;q=0.8":  "de",
		"it-IT,it;q=0.9,fr;q=0.5":  "fr",
		"en;q=0.2, es;q=0.7":       "es",
		"es;q=0, fr":               "fr",
		"":                         "",
		"*":                        "",
		"pt-BR;q=garbage,de;q=0.1": "de",
	} {
		if got := AcceptLanguage(h); got != want {
			t.Errorf("AcceptLanguage(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestSetting(t *testing.T) {
	for _, c := range []struct {
		in      any
		want    string
		invalid bool
	}{
		{nil, "", false},
		{"auto", "auto", false},
		{" DE ", "de", false},
		{"es", "es", false},
		{"it", "", true},
		{"german", "", true},
		{true, "", true},
	} {
		cfg := map[string]any{"greeting": "Hi"}
		if c.in != nil {
			cfg[SettingKey] = c.in
		}
		err := CheckSetting(cfg)
		if (err != nil) != c.invalid {
			t.Errorf("CheckSetting(%v): %v", c.in, err)
			continue
		}
		if err == nil {
			got, _ := cfg[SettingKey].(string)
			if got != c.want {
				t.Errorf("CheckSetting(%v) stored %q, want %q", c.in, got, c.want)
			}
		}
	}
	if got := Setting(map[string]any{"language": "fr"}); got != "fr" {
		t.Errorf("Setting(fr) = %q", got)
	}
	if got := Setting(nil); got != Auto {
		t.Errorf("Setting(nil) = %q", got)
	}
	if got := Of(map[string]any{"language": "auto"}, "it", "es-ES"); got != "es" {
		t.Errorf("Of(auto, it, es-ES) = %q", got)
	}
	if got := Of(map[string]any{"language": "de"}, "es"); got != "de" {
		t.Errorf("Of(de, es) = %q", got)
	}
	if got := Of(nil, "it"); got != "en" {
		t.Errorf("Of(nil, it) = %q", got)
	}
}
