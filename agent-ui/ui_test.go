package agentui_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	agentui "parley/agent-ui"
)

// TestConsoleHeaders checks what a browser gets for the console: a strict CSP that forbids
// inline script and framing, and JavaScript modules with a script MIME type.
func TestConsoleHeaders(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ path, ctype string }{
		{"/", "text/html"},
		{"/app.js", "text/javascript"},
		{"/app.css", "text/css"},
	} {
		resp, err := http.Get(f.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("GET %s: %d", tc.path, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.ctype)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self';", "style-src 'self';", "object-src 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", tc.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP allows unsafe code: %q", tc.path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.path)
		}
	}
}

var (
	scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	inlineAttr   = regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`)
	jsURL        = regexp.MustCompile(`(?i)javascript:`)
	moduleImport = regexp.MustCompile(`from '\./([a-z]+\.js)'`)
	// Ways to turn a string into markup or code. The console builds every element with
	// createElement and textContent; the one HTML sink is the sandboxed email frame's
	// srcdoc in email.js, whose HTML email.js prepares in an inert DOMParser document
	// and reads back (never assigns) with innerHTML.
	htmlSinks     = regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\('style'|\.srcdoc\b|DOMParser`)
	htmlAssigned  = regexp.MustCompile(`innerHTML\s*\+?=[^=]`)
	emailFrameUse = map[string]bool{".srcdoc": true, "DOMParser": true, "innerHTML": true}
)

// TestNoInlineCode checks the static files against the rules the CSP enforces, so that a
// mistake shows up here and not as a blank page: no inline script, style or handlers,
// no javascript: URLs, no HTML sinks, and every module import exists.
func TestNoInlineCode(t *testing.T) {
	dir := "static"
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := scriptTag.FindAllStringSubmatch(string(index), -1)
	if len(scripts) == 0 {
		t.Fatal("index.html loads no script")
	}
	for _, m := range scripts {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script in index.html: %s", m[0])
		}
	}
	if m := inlineAttr.FindString(string(index)); m != "" {
		t.Errorf("inline handler or style attribute in index.html: %q", m)
	}
	if jsURL.Match(index) {
		t.Error("javascript: URL in index.html")
	}
	if strings.Contains(string(index), "<style") {
		t.Error("inline <style> in index.html")
	}
	if strings.Contains(string(index), "http://") || strings.Contains(string(index), "https://") {
		t.Error("index.html loads an external resource")
	}

	err = fs.WalkDir(os.DirFS(dir), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".js") {
			return err
		}
		src, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := htmlSinks.FindString(line); m != "" && !(path == "email.js" && emailFrameUse[m] && !htmlAssigned.MatchString(line)) {
				t.Errorf("%s:%d uses %s", path, i+1, m)
			}
		}
		for _, m := range moduleImport.FindAllStringSubmatch(string(src), -1) {
			if _, err := os.Stat(filepath.Join(dir, m[1])); err != nil {
				t.Errorf("%s imports missing module %s", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHandlerServesEmbeddedFiles checks the handler alone, as main mounts it.
func TestHandlerServesEmbeddedFiles(t *testing.T) {
	rec := httptest.NewRecorder()
	agentui.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/ticket.js", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "export async function openTicket") {
		t.Fatalf("GET /ticket.js: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	agentui.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/nope.js", nil))
	if rec.Code != 404 {
		t.Fatalf("GET /nope.js: %d", rec.Code)
	}
}
