package agentui

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	catalogueKey = regexp.MustCompile(`(?m)^\s*'([\w.]+)':`)
	keyUse       = regexp.MustCompile(`\btr?\(\s*(?:[^'()]*\?\s*)?'([\w.]+)'(?:\s*:\s*'([\w.]+)')?`)
	rawAnnounce  = regexp.MustCompile("announce\\(\\s*['\"`]")
	quoted       = regexp.MustCompile(`'([a-z]+\.[\w.]+)'`)
)

// TestConsoleCatalogue holds the console's announcements to its message catalogue
// (i18n.js, messages/en.js): no module announces a literal text, every key a module asks
// for is in the catalogue (a plural key as key.one and key.other), and the catalogue
// has no key nobody uses.
func TestConsoleCatalogue(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("static", "messages", "en.js"))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range catalogueKey.FindAllStringSubmatch(string(src), -1) {
		if keys[m[1]] {
			t.Errorf("messages/en.js has %q twice", m[1])
		}
		keys[m[1]] = false
	}
	if len(keys) < 10 {
		t.Fatalf("messages/en.js has %d keys: the pattern no longer reads it", len(keys))
	}
	files, _ := filepath.Glob(filepath.Join("static", "*.js"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := rawAnnounce.Find(b); m != nil {
			t.Errorf("%s announces a literal text (%s...): put it in messages/en.js and use t()", filepath.Base(f), m)
		}
		// A key may be picked before the call (a map of keys, a ternary): any quoted key
		// in a module counts as used; the ones passed to t() must exist.
		for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
			if _, ok := keys[m[1]]; ok {
				keys[m[1]] = true
			} else if _, ok := keys[m[1]+".one"]; ok {
				keys[m[1]+".one"], keys[m[1]+".other"] = true, true
			}
		}
		for _, m := range keyUse.FindAllStringSubmatch(string(b), -1) {
			for _, k := range m[1:] {
				if k == "" || !strings.Contains(k, ".") {
					continue
				}
				_, one := keys[k]
				_, plural := keys[k+".one"]
				switch {
				case one:
					keys[k] = true
				case plural:
					keys[k+".one"], keys[k+".other"] = true, true
				default:
					t.Errorf("%s asks for %q, which messages/en.js lacks", filepath.Base(f), k)
				}
			}
		}
	}
	var unused []string
	for k, used := range keys {
		if !used {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("messages/en.js has keys no module uses: %v", unused)
	}
}
