// Package htmlsafe makes HTML from outside (mail bodies, API messages) safe to show in
// the console, and reduces HTML to its text for search and previews. It wraps
// github.com/microcosm-cc/bluemonday.
package htmlsafe

import (
	"html"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

var (
	ugc   = newUGCPolicy()
	strip = bluemonday.StrictPolicy()
)

func newUGCPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowURLSchemes("http", "https", "mailto", "tel", "cid")
	return p
}

// Sanitize returns HTML from outside made safe to display: no scripts, event handlers,
// forms, styles that run code, or links other than http, https, mailto, tel and cid.
func Sanitize(s string) string {
	if s == "" {
		return ""
	}
	return ugc.Sanitize(s)
}

// Text returns the visible text of an HTML fragment, one line per block, for search and
// previews.
func Text(s string) string {
	if s == "" {
		return ""
	}
	for _, tag := range []string{"<br", "<p", "<div", "<li", "<tr", "<h"} {
		s = strings.ReplaceAll(s, tag, "\n"+tag)
	}
	t := html.UnescapeString(strip.Sanitize(s))
	lines := strings.Split(t, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
