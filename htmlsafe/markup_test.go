package htmlsafe_test

import (
	"strings"
	"testing"

	"parley/htmlsafe"
)

// The markup of the composer's toolbar renders as the HTML of the mail, and the text
// part stays readable.
func TestMarkup(t *testing.T) {
	tests := []struct {
		name, in, html, text string
	}{
		{"plain", "Hi Ann,\nthanks!", "<p>Hi Ann,<br>\nthanks!</p>\n", "Hi Ann,\nthanks!"},
		{"paragraphs", "One\n\n\nTwo", "<p>One</p>\n<p>Two</p>\n", "One\n\nTwo"},
		{"bold and italic", "It is **really** _soon_.", "<p>It is <strong>really</strong> <em>soon</em>.</p>\n", "It is *really* _soon_."},
		{"nested", "**very _much_**", "<p><strong>very <em>much</em></strong></p>\n", "*very _much_*"},
		{"bulleted", "Steps:\n- one\n- **two**", "<p>Steps:</p>\n<ul>\n<li>one</li>\n<li><strong>two</strong></li>\n</ul>\n", "Steps:\n- one\n- *two*"},
		{"numbered", "1. first\n2. second\n\nDone", "<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n<p>Done</p>\n", "1. first\n2. second\n\nDone"},
		{"link", "See [our FAQ](https://shop.example/faq?a=1&b=2).",
			`<p>See <a href="https://shop.example/faq?a=1&amp;b=2" rel="nofollow noreferrer noopener" target="_blank">our FAQ</a>.</p>` + "\n",
			"See our FAQ (https://shop.example/faq?a=1&b=2)."},
		{"link as its own text", "[https://shop.example](https://shop.example)",
			`<p><a href="https://shop.example" rel="nofollow noreferrer noopener" target="_blank">https://shop.example</a></p>` + "\n", "https://shop.example"},
		{"mailto", "[write us](mailto:help@shop.example)", `<p><a href="mailto:help@shop.example" rel="nofollow noreferrer">write us</a></p>` + "\n",
			"write us (mailto:help@shop.example)"},
		{"snake case is text", "set order_id_field", "<p>set order_id_field</p>\n", "set order_id_field"},
		{"unclosed", "**open and _open", "<p>**open and _open</p>\n", "**open and _open"},
		{"spaced emphasis is text", "a ** b ** c", "<p>a ** b ** c</p>\n", "a ** b ** c"},
		// Hostile input.
		{"javascript link", "[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n", "[x](javascript:alert(1))"},
		{"data link", "[x](data:text/html,<script>alert(1)</script>)", "<p>[x](data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;)</p>\n",
			"[x](data:text/html,<script>alert(1)</script>)"},
		{"script", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n", "<script>alert(1)</script>"},
		{"attribute break-out", `[x](https://a.example/"onmouseover="alert(1))`, `<p>[x](https://a.example/&#34;onmouseover=&#34;alert(1))</p>` + "\n",
			`[x](https://a.example/"onmouseover="alert(1))`},
		{"tag in a link label", "[<img src=x onerror=alert(1)>](https://a.example)",
			`<p><a href="https://a.example" rel="nofollow noreferrer noopener" target="_blank">&lt;img src=x onerror=alert(1)&gt;</a></p>` + "\n",
			"<img src=x onerror=alert(1)> (https://a.example)"},
		{"protocol-relative", "[x](//evil.example)", "<p>[x](//evil.example)</p>\n", "[x](//evil.example)"},
		{"entity", "Fish &amp; chips", "<p>Fish &amp;amp; chips</p>\n", "Fish &amp; chips"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, html := htmlsafe.Markup(tt.in)
			if html != tt.html {
				t.Errorf("html:\n got %q\nwant %q", html, tt.html)
			}
			if text != tt.text {
				t.Errorf("text:\n got %q\nwant %q", text, tt.text)
			}
		})
	}
}

// Input built to make a naive renderer quadratic (or deeply recursive) is rendered as
// text; the renderer looks only so far ahead.
func TestMarkupHostileShapes(t *testing.T) {
	for _, in := range []string{strings.Repeat("**a ", 16000), strings.Repeat("[", 64000), strings.Repeat("_a ", 20000),
		strings.Repeat("[a](", 16000), strings.Repeat("**_", 20000) + strings.Repeat("_**", 20000)} {
		text, html := htmlsafe.Markup(in)
		if html == "" || text == "" || strings.Contains(html, "<script") {
			t.Fatalf("%q…: html %q…", in[:12], html[:min(len(html), 40)])
		}
	}
}
