// Package browsertest is the headless Chromium of the browser tests, the console's
// (agent-ui) and the widget's (channels/chat): one browser per test binary with the
// flags these tests need, a tab of its own per caller, screenshots, and the rule for
// a machine without Chromium: the test skips with a loud message, or fails when
// PARLEY_BROWSER_TESTS=required (as .ci/run sets it).
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is the browser the tests drive: Debian's package.
const Chromium = "/usr/bin/chromium"

// The one browser of the test binary, started on first use.
var (
	once       sync.Once
	browserCtx context.Context
	browserErr error
	stop       = func() {}
)

// Main runs the tests of m and then stops the shared browser: a package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	stop()
	os.Exit(code)
}

// Browser returns the shared Chromium, started on the first call, or skips tb loudly
// when there is none and PARLEY_BROWSER_TESTS is not "required" (then it fails). The
// package's TestMain must call Main, which stops it.
func Browser(tb testing.TB) context.Context {
	tb.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		msg := fmt.Sprintf("\n\n!!! BROWSER TEST %s NOT RUN: %s is missing (%v).\n!!! Install Chromium (apt-get install chromium) or set PARLEY_BROWSER_TESTS=required to make this a failure.\n", tb.Name(), Chromium, err)
		if os.Getenv("PARLEY_BROWSER_TESTS") == "required" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	once.Do(start)
	if browserErr != nil {
		tb.Fatalf("start %s: %v", Chromium, browserErr)
	}
	return browserCtx
}

func start() {
	dir, err := os.MkdirTemp("", "parley-chromium-")
	if err != nil {
		browserErr = err
		return
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(Chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1440, 900), // wide enough for the console's four columns (layout_browser_test checks narrower)
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		// Tabs in the background keep their timers and sockets at full speed.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		// Remote images of the email tests come from an httptest TLS server.
		chromedp.Flag("ignore-certificate-errors", true),
	)
	c, cancelBrowser := chromedp.NewContext(alloc)
	stop = func() {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(dir)
	}
	// The browser starts here, outside any test's deadline.
	browserErr = chromedp.Do(c)
	browserCtx = c
}

// NewTab opens a tab of the shared browser in a browser context of its own (cookies and
// storage shared with no other tab), closed when tb ends. When tb has failed by then
// and PARLEY_SCREENSHOTS names a directory, the tab's page is saved there first as
// <test name>.png, to see what the test saw.
func NewTab(tb testing.TB) context.Context {
	tb.Helper()
	tab, closeTab := chromedp.NewContext(Browser(tb), chromedp.WithNewBrowserContext())
	tb.Cleanup(func() {
		if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" && tb.Failed() {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name()) + ".png"
			Screenshot(tb, tab, filepath.Join(dir, name))
		}
		closeTab()
	})
	if err := chromedp.Do(tab); err != nil {
		tb.Fatal(err)
	}
	return tab
}

// Screenshot saves the whole page of the tab as a PNG file at path and logs where. A
// page that cannot be captured is logged, not failed: it is a help for reading a
// failure, not a check.
func Screenshot(tb testing.TB, tab context.Context, path string) {
	tb.Helper()
	c, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		tb.Logf("screenshot %s: %v", path, err)
		return
	}
	tb.Logf("screenshot: %s", path)
}
