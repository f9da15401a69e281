package agentui

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/html"
)

var (
	catalogueKey = regexp.MustCompile(`(?m)^\s*'([\w.]+)':`)
	keyUse       = regexp.MustCompile(`\bt[rn]?\(\s*(?:[^'()]*\?\s*)?'([\w.]+)'(?:\s*:\s*'([\w.]+)')?`)
	rawAnnounce  = regexp.MustCompile("announce\\(\\s*['\"`]")
	quoted       = regexp.MustCompile(`'([a-z]+\.[\w.]+)'`)
	htmlKey      = regexp.MustCompile(`data-i18n(?:-placeholder|-title|-aria-label)?="([^"]*)"`)
)

// catalogueKeys reads the keys of messages/en.js; a key twice is an error.
func catalogueKeys(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("static", "messages", "en.js"))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range catalogueKey.FindAllStringSubmatch(string(src), -1) {
		if keys[m[1]] {
			t.Errorf("messages/en.js has %q twice", m[1])
		}
		keys[m[1]] = true
	}
	if len(keys) < 10 {
		t.Fatalf("messages/en.js has %d keys: the pattern no longer reads it", len(keys))
	}
	return keys
}

// TestConsoleCatalogue holds the console's texts to its message catalogue (i18n.js,
// messages/en.js): no module announces a literal text, every key a module or index.html
// asks for is in the catalogue (a plural key as key.one and key.other; a key built from a
// prefix, t('status.' + s), as at least one key of that prefix), and the catalogue has
// no key nobody uses.
func TestConsoleCatalogue(t *testing.T) {
	keys := map[string]bool{}
	for k := range catalogueKeys(t) {
		keys[k] = false
	}
	use := func(file, k string) {
		_, one := keys[k]
		_, plural := keys[k+".one"]
		switch {
		case one:
			keys[k] = true
		case plural:
			keys[k+".one"], keys[k+".other"] = true, true
		case strings.HasSuffix(k, "."):
			found := false
			for key := range keys {
				if strings.HasPrefix(key, k) {
					keys[key], found = true, true
				}
			}
			if !found {
				t.Errorf("%s asks for keys %s..., which messages/en.js lacks", file, k)
			}
		default:
			t.Errorf("%s asks for %q, which messages/en.js lacks", file, k)
		}
	}
	index, err := os.ReadFile(filepath.Join("static", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range htmlKey.FindAllStringSubmatch(string(index), -1) {
		use("index.html", m[1])
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
				if k != "" && strings.Contains(k, ".") {
					use(filepath.Base(f), k)
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

// TestConsoleTextsFromCatalogue fails on English written into a console module or into
// index.html instead of coming from the catalogue: literal texts handed to h() and
// fill() as children, set as textContent, title or placeholder, given as a text-like
// attribute (title, placeholder, aria-label, label, ...), or asked in confirm(). A few
// literals are not language (notLanguage); a string without a letter never is.
func TestConsoleTextsFromCatalogue(t *testing.T) {
	keys := catalogueKeys(t)
	files, _ := filepath.Glob(filepath.Join("static", "*.js"))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		lits := literalTexts(tokenizeJS(string(src)), keys)
		if notYetTranslated[name] {
			if len(lits) == 0 {
				t.Errorf("%s has no English text left in the code: take it off notYetTranslated", name)
			} else {
				t.Logf("%s: %d texts still in English in the code (notYetTranslated)", name, len(lits))
			}
			continue
		}
		for _, l := range lits {
			t.Errorf("%s:%d: %s %q is English in the code: put it in messages/en.js and use t()", name, l.line, l.where, l.text)
		}
	}
	index, err := os.ReadFile(filepath.Join("static", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range untranslatedHTML(t, string(index), keys) {
		t.Error("index.html: " + p)
	}
}

// notYetTranslated are the modules whose texts are still written in the code, in
// English. Every module's texts come from the catalogue now; a module taken over from
// elsewhere may be listed while it is converted. The check skips them and says how many
// texts each has left; a module leaves the list once its texts come from the catalogue
// (the check fails on a listed module with none left, so the list only shrinks).
var notYetTranslated = map[string]bool{}

// notLanguage are the literals with letters that no translation changes: names of
// products, of a protocol's own things (IMAP's INBOX) and the console's own.
var notLanguage = map[string]bool{"Parley": true, "INBOX": true}

// textAttrs are the attributes and option names whose values are read by people.
var textAttrs = map[string]bool{"text": true, "title": true, "placeholder": true, "aria-label": true,
	"aria-description": true, "alt": true, "label": true, "help": true, "hint": true, "legend": true}

// textProps are the element properties that put a text on screen when assigned.
var textProps = map[string]bool{"textContent": true, "innerText": true, "title": true, "placeholder": true, "ariaLabel": true, "label": true}

// textCalls are the calls whose arguments, from the index given on, are shown as text.
// A member call (el.append) counts only for the DOM methods marked as such.
var textCalls = map[string]int{"h": 2, "fill": 1, "labelled": 1, "confirm": 0, "alert": 0, "prompt": 0, "announce": 0}
var textMethods = map[string]int{"append": 0, "prepend": 0, "replaceChildren": 0, "before": 0, "after": 0, "replaceWith": 0, "confirm": 0, "alert": 0, "prompt": 0}

// sentence is a value of an object literal that reads as text: a capitalised word and
// more ("Refund order", "Sent, waiting"), as the console's tables of labels hold.
var sentence = regexp.MustCompile(`^\p{Lu}\p{Ll}+[ ,:]\S`)

type literal struct {
	line        int
	text, where string
}

// literalTexts returns the literal texts the module's tokens show to people; a key of the
// catalogue (a table of labels holds keys) is not one.
func literalTexts(toks []jsToken, keys map[string]bool) []literal {
	var out []literal
	add := func(strs []jsToken, where string) {
		for _, s := range strs {
			if hasLetter(s.text) && !notLanguage[strings.TrimSpace(s.text)] && !keys[s.text] {
				out = append(out, literal{s.line, s.text, where})
			}
		}
	}
	at := func(i int) jsToken {
		if i >= 0 && i < len(toks) {
			return toks[i]
		}
		return jsToken{}
	}
	for i, tk := range toks {
		prev, next := at(i-1), at(i+1)
		member := prev.kind == 'p' && (prev.text == "." || prev.text == "?.")
		switch {
		case tk.kind == 'i' && next.kind == 'p' && next.text == "(":
			from, ok := textCalls[tk.text]
			if member {
				from, ok = textMethods[tk.text]
			}
			// Errors the console throws end up on screen: new Error(text), new APIError(status, code, text).
			if prev.text == "new" && (tk.text == "Option" || tk.text == "Error") {
				from, ok = 0, true
			}
			if prev.text == "new" && tk.text == "APIError" {
				from, ok = 2, true
			}
			if tk.text == "setAttribute" && at(i+2).kind == 's' && textAttrs[at(i+2).text] {
				from, ok = 1, true
			}
			if !ok || tk.text == "h" && (at(i+2).text == "kbd" || at(i+2).text == "code") {
				continue // a key of the keyboard, or code to type or paste, is no text
			}
			args := callArgs(toks, i+2)
			if member && tk.text == "append" && len(args) > 1 && at(i+2).kind == 's' && at(i+3).text == "," {
				continue // FormData's and URLSearchParams' append(name, value)
			}
			for k, arg := range args {
				if k >= from {
					add(arg, tk.text+"()")
				}
			}
		case (tk.kind == 'i' || tk.kind == 's') && next.kind == 'p' && next.text == ":" && prev.kind == 'p' && (prev.text == "{" || prev.text == ","):
			strs, _ := exprStrings(toks, i+2)
			if textAttrs[tk.text] {
				add(strs, tk.text+":")
			} else if v := at(i + 2); v.kind == 's' && sentence.MatchString(v.text) && (at(i+3).text == "," || at(i+3).text == "}") {
				add([]jsToken{v}, tk.text+":")
			}
		case tk.kind == 'i' && member && textProps[tk.text] && next.kind == 'p' && next.text == "=":
			strs, _ := exprStrings(toks, i+2)
			add(strs, "."+tk.text+" =")
		}
	}
	return out
}

// callArgs returns, per argument of the call whose arguments start at toks[start], the
// literals it shows (see exprStrings).
func callArgs(toks []jsToken, start int) [][]jsToken {
	var args [][]jsToken
	for i := start; i < len(toks); {
		strs, end := exprStrings(toks, i)
		args = append(args, strs)
		if end >= len(toks) || toks[end].text != "," {
			break
		}
		i = end + 1
	}
	return args
}

// exprStrings reads the expression starting at toks[start] up to the comma, semicolon or
// closing bracket that ends it, and returns its literals that become its value: those
// of a ternary, a concatenation, an array or parentheses, not those handed to a call,
// compared with, or inside a function body or an object.
func exprStrings(toks []jsToken, start int) ([]jsToken, int) {
	var strs []jsToken
	var opaque []bool // per open bracket: whether its literals are not the value's
	for j := start; j < len(toks); j++ {
		tk := toks[j]
		if tk.kind == 'p' {
			switch tk.text {
			case "(", "[", "{":
				var prev jsToken
				if j > 0 {
					prev = toks[j-1]
				}
				called := prev.kind == 'i' && !regexAfter[prev.text] || prev.kind == 's' || prev.kind == 'p' && (prev.text == ")" || prev.text == "]")
				// A list that is mapped or joined is not the value: ['open', 'closed'].map(...).
				end := matching(toks, j)
				mapped := end+1 < len(toks) && toks[end+1].text == "."
				opaque = append(opaque, tk.text == "{" || called || mapped)
				continue
			case ")", "]", "}":
				if len(opaque) == 0 {
					return strs, j
				}
				opaque = opaque[:len(opaque)-1]
				continue
			case ",", ";":
				if len(opaque) == 0 {
					return strs, j
				}
			}
		}
		if tk.kind != 's' || slices.Contains(opaque, true) {
			continue
		}
		if j > start && compares(toks[j-1]) || j+1 < len(toks) && (compares(toks[j+1]) || toks[j+1].text == "." || toks[j+1].text == "in") {
			continue
		}
		strs = append(strs, tk)
	}
	return strs, len(toks)
}

// matching returns the index of the bracket that closes the one at toks[open].
func matching(toks []jsToken, open int) int {
	depth := 0
	for j := open; j < len(toks); j++ {
		if toks[j].kind != 'p' {
			continue
		}
		switch toks[j].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks)
}

func compares(tk jsToken) bool {
	return tk.kind == 'p' && (tk.text == "===" || tk.text == "!==" || tk.text == "==" || tk.text == "!=")
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// untranslatedHTML returns the texts of index.html that translate() would not replace:
// a text with letters outside every element with data-i18n, an attribute read by people
// without its data-i18n-<attribute>, and a key the catalogue lacks.
func untranslatedHTML(t *testing.T, src string, keys map[string]bool) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node, translated bool)
	walk = func(n *html.Node, translated bool) {
		switch n.Type {
		case html.TextNode:
			if s := strings.TrimSpace(n.Data); !translated && hasLetter(s) && !notLanguage[s] {
				out = append(out, "text "+strconvQuote(s)+" has no data-i18n")
			}
			return
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "title", "kbd":
				return // code, and the keys of the keyboard
			}
			for _, a := range n.Attr {
				if textAttrs[a.Key] && hasLetter(a.Val) && !notLanguage[a.Val] && attr(n, "data-i18n-"+a.Key) == "" {
					out = append(out, "<"+n.Data+" "+a.Key+"="+strconvQuote(a.Val)+"> has no data-i18n-"+a.Key)
				}
				if htmlKey.MatchString(a.Key+`="`+a.Val+`"`) && !keys[a.Val] {
					out = append(out, a.Key+"="+strconvQuote(a.Val)+" is not in messages/en.js")
				}
			}
			if attr(n, "data-i18n") != "" {
				translated = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, translated)
		}
	}
	walk(doc, false)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func strconvQuote(s string) string { return `"` + s + `"` }

// jsToken is one token of a console module, as far as the literal-text check needs:
// kind 's' is a string or template literal (text holds its characters; a template's
// ${...} parts are left out), 'i' an identifier or keyword, 'n' a number, 'p' punctuation.
type jsToken struct {
	kind byte
	text string
	line int
}

// regexAfter are the keywords after which a slash starts a regular expression.
var regexAfter = map[string]bool{"return": true, "typeof": true, "case": true, "in": true, "of": true,
	"new": true, "delete": true, "void": true, "throw": true, "else": true, "do": true, "yield": true, "await": true}

// tokenizeJS splits a module into tokens. It knows JavaScript well enough for the console's
// plain modules: comments, strings, templates (with nested ${...}), regular expressions.
func tokenizeJS(src string) []jsToken {
	var out []jsToken
	line := 1
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 4
			}
			line += strings.Count(src[i:i+end+4], "\n")
			i += end + 4
		case c == '\'' || c == '"' || c == '`':
			start := line
			text, n := scanQuoted(src[i:])
			line += strings.Count(src[i:i+n], "\n")
			out = append(out, jsToken{'s', text, start})
			i += n
		case c == '/' && slashStartsRegex(out):
			j := i + 1
			class := false
			for j < len(src) && src[j] != '\n' {
				if src[j] == '\\' {
					j += 2
					continue
				}
				if src[j] == '[' {
					class = true
				} else if src[j] == ']' {
					class = false
				} else if src[j] == '/' && !class {
					break
				}
				j++
			}
			j++
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			out = append(out, jsToken{'n', "/regex/", line})
			i = j
		case isIdentByte(c) && !(c >= '0' && c <= '9'):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			out = append(out, jsToken{'i', src[i:j], line})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (isIdentByte(src[j]) || src[j] == '.') {
				j++
			}
			out = append(out, jsToken{'n', src[i:j], line})
			i = j
		default:
			p := src[i : i+1]
			for _, op := range []string{"===", "!==", "...", "=>", "==", "!=", "&&", "||", "??", "?.", "<=", ">=", "+=", "-=", "++", "--", "**"} {
				if strings.HasPrefix(src[i:], op) {
					p = op
					break
				}
			}
			out = append(out, jsToken{'p', p, line})
			i += len(p)
		}
	}
	return out
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func slashStartsRegex(before []jsToken) bool {
	if len(before) == 0 {
		return true
	}
	p := before[len(before)-1]
	switch p.kind {
	case 'p':
		return p.text != ")" && p.text != "]" && p.text != "}"
	case 'i':
		return regexAfter[p.text]
	}
	return false
}

// scanQuoted reads the string or template literal at the start of s and returns its text
// and its length in s. A template's ${...} parts are skipped, nested literals and all.
func scanQuoted(s string) (string, int) {
	q := s[0]
	var b strings.Builder
	i := 1
	for i < len(s) && s[i] != q {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
		case q == '`' && strings.HasPrefix(s[i:], "${"):
			i += 2
			for depth := 1; i < len(s) && depth > 0; {
				switch s[i] {
				case '{':
					depth++
				case '}':
					depth--
				case '\'', '"', '`':
					_, n := scanQuoted(s[i:])
					i += n
					continue
				}
				i++
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), i + 1
}
