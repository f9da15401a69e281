package browsertest_test

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/browsertest"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// TestTabsAndScreenshot opens two tabs on a page that sets a cookie: each tab has cookies
// of its own, and a screenshot is a PNG of the page at the browser's width.
func TestTabsAndScreenshot(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("set") != "" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: r.URL.Query().Get("set")})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>kit</title><body style="background:#36c"><h1>Parley</h1>`))
	}))
	defer srv.Close()

	a, b := browsertest.NewTab(t), browsertest.NewTab(t)
	cookie := func(tab context.Context, path string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatal(err)
		}
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := cookie(a, "/?set=a"); got != "who=a" {
		t.Fatalf("tab a cookies = %q", got)
	}
	if got := cookie(b, "/"); got != "" {
		t.Fatalf("tab b sees the cookies of tab a: %q", got)
	}

	path := filepath.Join(t.TempDir(), "shots", "page.png")
	browsertest.Screenshot(t, a, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w != 1440 {
		t.Errorf("screenshot width %d, want the window's 1440", w)
	}
}
