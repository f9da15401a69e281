package htmlsafe_test

import (
	"strings"
	"testing"

	"parley/htmlsafe"
)

func TestSanitize(t *testing.T) {
	in := `<p onclick="x()">Hi <a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)><script>alert(1)</script><form action=/x><input></form><base href="http://evil/"><a href="https://ok.example">ok</a></p>`
	out := htmlsafe.Sanitize(in)
	for _, bad := range []string{"onclick", "javascript:", "onerror", "<script", "<form", "<input", "<base"} {
		if strings.Contains(out, bad) {
			t.Errorf("sanitized HTML still has %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, `href="https://ok.example"`) {
		t.Errorf("safe link dropped: %s", out)
	}
}

func TestText(t *testing.T) {
	if got := htmlsafe.Text("<p>Hello&nbsp;<b>there</b></p><p>Line 2</p>"); got != "Hello\u00a0there\nLine 2" {
		t.Errorf("Text = %q", got)
	}
}
