package htmlsafe

import (
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the markup renderer: how far it looks for the end of an emphasis or a link,
// and how deep emphases nest, so that hostile input costs linear time.
const (
	markupReach = 2000
	markupDepth = 4
)

// Markup renders the light markup an agent writes in an email reply — **bold**,
// _italic_, lines starting with "- " or "* " (a bulleted list) or "1. " (a numbered
// list), [text](https://…) links and paragraphs separated by a blank line — as the
// HTML part of the mail, sanitized like any other HTML, and as the readable plain text
// of the mail's text part: bold as *bold*, italic as _italic_, a link as
// "text (https://…)", lists and line breaks as written. Anything else, HTML tags
// included, is text. Links other than http, https and mailto stay as written.
func Markup(src string) (text, htm string) {
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(strings.Trim(src, "\n"), "\n")
	var hb, tb strings.Builder
	blank := 0
	for i := 0; i < len(lines); {
		line := strings.TrimRightFunc(lines[i], unicode.IsSpace)
		if line == "" {
			blank++
			i++
			continue
		}
		if tb.Len() > 0 {
			tb.WriteString("\n")
			if blank > 0 {
				tb.WriteString("\n")
			}
		}
		blank = 0
		if kind, _ := listItem(line); kind != "" {
			tag := map[string]string{"-": "ul", "1": "ol"}[kind]
			hb.WriteString("<" + tag + ">\n")
			first := true
			for ; i < len(lines); i++ {
				l := strings.TrimRightFunc(lines[i], unicode.IsSpace)
				k, item := listItem(l)
				if k != kind {
					break
				}
				h, t := inline(item, 0, true)
				hb.WriteString("<li>" + h + "</li>\n")
				if !first {
					tb.WriteString("\n")
				}
				first = false
				tb.WriteString(strings.TrimSuffix(l, item) + t)
			}
			hb.WriteString("</" + tag + ">\n")
			continue
		}
		hb.WriteString("<p>")
		for first := true; i < len(lines); i++ {
			l := strings.TrimRightFunc(lines[i], unicode.IsSpace)
			if k, _ := listItem(l); l == "" || k != "" {
				break
			}
			h, t := inline(l, 0, true)
			if !first {
				hb.WriteString("<br>\n")
				tb.WriteString("\n")
			}
			first = false
			hb.WriteString(h)
			tb.WriteString(t)
		}
		hb.WriteString("</p>\n")
	}
	return tb.String(), Sanitize(hb.String())
}

// listItem returns the kind of list line is an item of ("-" bulleted, "1" numbered, ""
// none) and the item's text after its marker.
func listItem(line string) (kind, item string) {
	s := strings.TrimLeft(line, " ")
	if len(line)-len(s) > 3 {
		return "", ""
	}
	if (strings.HasPrefix(s, "- ") || strings.HasPrefix(s, "* ")) && strings.TrimSpace(s[2:]) != "" {
		return "-", strings.TrimSpace(s[2:])
	}
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n > 0 && n+1 < len(s) && (s[n] == '.' || s[n] == ')') && s[n+1] == ' ' && strings.TrimSpace(s[n+2:]) != "" {
		return "1", strings.TrimSpace(s[n+2:])
	}
	return "", ""
}

// inline renders the emphases and links of one line as HTML and as plain text.
func inline(s string, depth int, links bool) (string, string) {
	var hb, tb strings.Builder
	lit := func(x string) {
		hb.WriteString(html.EscapeString(x))
		tb.WriteString(x)
	}
	for i := 0; i < len(s); {
		switch {
		case depth < markupDepth && strings.HasPrefix(s[i:], "**"):
			if end := closing(s, i+2, "**"); end > 0 {
				h, t := inline(s[i+2:end], depth+1, links)
				hb.WriteString("<strong>" + h + "</strong>")
				tb.WriteString("*" + t + "*")
				i = end + 2
				continue
			}
			lit("**")
			i += 2
			continue
		case depth < markupDepth && s[i] == '_' && !wordBefore(s, i):
			if end := closing(s, i+1, "_"); end > 0 && !wordAfter(s, end+1) {
				h, t := inline(s[i+1:end], depth+1, links)
				hb.WriteString("<em>" + h + "</em>")
				tb.WriteString("_" + t + "_")
				i = end + 1
				continue
			}
		case links && s[i] == '[':
			if label, target, n := link(s[i:]); n > 0 {
				h, t := inline(label, depth+1, false)
				hb.WriteString(`<a href="` + html.EscapeString(target) + `">` + h + "</a>")
				tb.WriteString(t)
				if t != target && "mailto:"+t != target {
					tb.WriteString(" (" + target + ")")
				}
				i += n
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		lit(s[i : i+n])
		i += n
	}
	return hb.String(), tb.String()
}

// closing returns where the emphasis opened before from ends with mark: the next mark
// within reach, when the text between is not empty and neither starts nor ends with a
// space. It returns -1 otherwise.
func closing(s string, from int, mark string) int {
	rest := s[from:]
	if len(rest) > markupReach {
		rest = rest[:markupReach]
	}
	j := strings.Index(rest, mark)
	if j <= 0 {
		return -1
	}
	inner := rest[:j]
	if strings.TrimSpace(inner) != inner {
		return -1
	}
	return from + j
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func wordBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return i > 0 && isWord(r)
}

func wordAfter(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return i < len(s) && isWord(r)
}

// link reads "[label](target)" at the start of s and returns its parts and length, or
// n 0 when s does not start with one or the target is not an http, https or mailto URL.
func link(s string) (label, target string, n int) {
	head := s
	if len(head) > markupReach {
		head = head[:markupReach]
	}
	close := strings.Index(head, "](")
	if close <= 1 || strings.Contains(head[1:close], "[") {
		return "", "", 0
	}
	end := strings.IndexByte(head[close+2:], ')')
	if end < 0 {
		return "", "", 0
	}
	label = strings.TrimSpace(head[1:close])
	target = strings.TrimSpace(head[close+2 : close+2+end])
	if label == "" || !safeLink(target) {
		return "", "", 0
	}
	return label, target, close + 3 + end
}

// safeLink reports whether target may be a link of a mail: an absolute http or https URL
// with a host, or a mailto address.
func safeLink(target string) bool {
	if target == "" || strings.ContainsAny(target, " \t\n<>\"") {
		return false
	}
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return u.Opaque != "" && strings.Contains(u.Opaque, "@")
	}
	return false
}
