// Package i18n holds the message catalogues of what shoppers and callers read and hear:
// the chat widget, the satisfaction survey (its page, email and text message) and the
// phone menu's voice prompts, in English, German, French and Spanish. The catalogues are
// JSON files embedded in the binary, one per language, with the same keys as English;
// a text missing from a language falls back to English. It imports only crm.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"parley/crm"
)

//go:embed catalogue/*.json
var files embed.FS

// Default is the language of last resort, and the one every catalogue is checked against.
const Default = "en"

// Auto is the language setting of an inbox that follows the shopper (the page's or the
// browser's language) instead of naming a language.
const Auto = "auto"

// SettingKey is the key of the language setting in an inbox's config.
const SettingKey = "language"

// Languages are the languages Parley ships, as ISO 639-1 codes, English first.
var Languages = []string{"en", "de", "fr", "es"}

// catalogues maps a language to its texts by key. It is read once at start from the
// embedded files; a file that does not parse is a build mistake that TestCatalogues
// catches, so it panics.
var catalogues = load()

func load() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range Languages {
		b, err := files.ReadFile("catalogue/" + lang + ".json")
		if err != nil {
			panic(fmt.Sprintf("i18n: catalogue %s: %v", lang, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: catalogue %s: %v", lang, err))
		}
		out[lang] = m
	}
	return out
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return slices.Contains(Languages, lang) }

// Text returns the text of key in lang with its placeholders filled: vars are pairs of
// a name and its value, and {name} in the text becomes the value. A language Parley does
// not ship, or a key its catalogue lacks, falls back to English; an unknown key is
// returned as it is, so that a mistake shows instead of an empty string.
func Text(lang, key string, vars ...string) string {
	s, ok := catalogues[lang][key]
	if !ok {
		if s, ok = catalogues[Default][key]; !ok {
			return key
		}
	}
	return Fill(s, vars...)
}

// Lookup is Text for a key that may be missing from the catalogues (an order status or a
// currency the shop made up): ok is false, and the text empty, when English lacks key.
func Lookup(lang, key string, vars ...string) (text string, ok bool) {
	if _, ok := catalogues[Default][key]; !ok {
		return "", false
	}
	return Text(lang, key, vars...), true
}

// Fill replaces each {name} in s by its value; vars are pairs of a name and a value.
// Placeholders without a value stay as they are.
func Fill(s string, vars ...string) string {
	if len(vars) < 2 || !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, len(vars))
	for i := 0; i+1 < len(vars); i += 2 {
		pairs = append(pairs, "{"+vars[i]+"}", vars[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Strings returns every text of lang whose key starts with prefix, keyed without the
// prefix, English filling any gap: what a client (the widget) needs of one language.
func Strings(lang, prefix string) map[string]string {
	out := map[string]string{}
	for _, l := range []string{Default, lang} {
		for k, v := range catalogues[l] {
			if strings.HasPrefix(k, prefix) {
				out[strings.TrimPrefix(k, prefix)] = v
			}
		}
	}
	return out
}

// Keys returns the sorted keys of lang's catalogue.
func Keys(lang string) []string {
	var keys []string
	for k := range catalogues[lang] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var placeholderRe = regexp.MustCompile(`\{[a-z_]+\}`)

// Placeholders returns the sorted, distinct placeholders of s, such as "{count}".
func Placeholders(s string) []string {
	p := placeholderRe.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

// Match returns the first of tags (BCP 47 language tags such as "de-CH" or "fr", in the
// order of preference) whose language Parley ships, or "" when none is.
func Match(tags ...string) string {
	for _, t := range tags {
		base, _, _ := strings.Cut(strings.TrimSpace(t), "-")
		base, _, _ = strings.Cut(base, "_")
		base = strings.ToLower(base)
		if Supported(base) {
			return base
		}
	}
	return ""
}

// AcceptLanguage returns the shipped language a browser's Accept-Language header
// prefers most, or "" when it names none of them.
func AcceptLanguage(header string) string {
	type choice struct {
		tag string
		q   float64
	}
	var list []choice
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if _, err := fmt.Sscanf(v, "%g", &q); err != nil {
				q = 0
			}
		}
		if tag != "" && q > 0 {
			list = append(list, choice{tag, q})
		}
	}
	slices.SortStableFunc(list, func(a, b choice) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]string, len(list))
	for i, c := range list {
		tags[i] = c.tag
	}
	return Match(tags...)
}

// Setting returns an inbox config's language setting: one of Languages, or Auto when it
// names none (missing, "auto", or anything else an old config holds).
func Setting(config map[string]any) string {
	if s, ok := config[SettingKey].(string); ok && Supported(strings.ToLower(s)) {
		return strings.ToLower(s)
	}
	return Auto
}

// CheckSetting checks the language setting of an inbox's config before it is saved and
// writes it back in lower case: "auto" or one of Languages; a missing setting stays
// missing (which means auto). Returns invalid.
func CheckSetting(config map[string]any) error {
	v, ok := config[SettingKey]
	if !ok || v == nil {
		delete(config, SettingKey)
		return nil
	}
	s, isString := v.(string)
	s = strings.ToLower(strings.TrimSpace(s))
	if !isString || (s != Auto && !Supported(s)) {
		return crm.Errorf(crm.EINVALID, "language must be %s or one of %s", Auto, strings.Join(Languages, ", "))
	}
	config[SettingKey] = s
	return nil
}

// Of returns the language to use for an inbox: its setting when it names a language,
// else the first of tags Parley ships, else English.
func Of(config map[string]any, tags ...string) string {
	if l := Setting(config); l != Auto {
		return l
	}
	if l := Match(tags...); l != "" {
		return l
	}
	return Default
}
