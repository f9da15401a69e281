package agentui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"parley/browsertest"
	"parley/crm"
)

// box is an element's place on the screen, as getBoundingClientRect gives it.
type box struct {
	Sel                      string
	Left, Top, Right, Bottom float64
	Shown                    bool
}

func (a box) overlaps(b box) bool {
	const slack = 1 // borders shared by neighbours
	return a.Left < b.Right-slack && b.Left < a.Right-slack && a.Top < b.Bottom-slack && b.Top < a.Bottom-slack
}

func (a box) height() float64 { return a.Bottom - a.Top }

// boxes measures the elements matching the selectors; a missing or hidden one is not Shown.
func (b *tab) boxes(sels ...string) map[string]box {
	b.t.Helper()
	arg, _ := json.Marshal(sels)
	out := b.eval(`(() => JSON.stringify(` + string(arg) + `.map((sel) => {
		const el = document.querySelector(sel);
		const r = el && el.getBoundingClientRect();
		const shown = !!el && !el.closest('[hidden]') && r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
		return { Sel: sel, Left: r ? r.left : 0, Top: r ? r.top : 0, Right: r ? r.right : 0, Bottom: r ? r.bottom : 0, Shown: shown };
	})))()`)
	var list []box
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		b.t.Fatalf("measuring %v: %v (%s)", sels, err, out)
	}
	m := map[string]box{}
	for _, x := range list {
		m[x.Sel] = x
	}
	return m
}

// screen sets the window to w x h and waits until the layout has settled.
func (b *tab) screen(w, h int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(w, h))
	b.waitJS("layout settles", `() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
}

// dark switches the system's colour scheme the page sees.
func (b *tab) dark(on bool) {
	b.t.Helper()
	scheme := "light"
	if on {
		scheme = "dark"
	}
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

// layoutShot saves the window as it is when PARLEY_SCREENSHOTS names a directory.
func (b *tab) layoutShot(name string) {
	b.t.Helper()
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		browsertest.Screenshot(b.t, b.ctx, filepath.Join(dir, name+".png"))
	}
}

// TestLayoutAtEveryWidth opens a busy ticket (an HTML mail, a long thread, orders beside
// it) at the four widths agents use, 390 (a phone), 1024x768, 1280x800 and 1440x900, and
// checks what an agent sees: the thread, the composer and the panels never cover each
// other, the composer is on screen, the thread gets most of the height of a laptop, the
// mail's frame is as tall as the mail, and on a phone the list comes first with the
// filters in a drawer.
func TestLayoutAtEveryWidth(t *testing.T) {
	f := newFixture(t)
	res := f.ingest(&crm.Inbound{
		Channel: crm.ChannelEmail, ExternalID: "<layout@shop.example>", ThreadKey: "layout",
		FromName: "Lena Layout", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@example.com"}},
		Subject: "My order arrived damaged and I would like a replacement please",
		Text:    "Hello,\nthe mug arrived broken.",
		HTML: `<p>Hello,</p><p>the mug arrived broken. ` + strings.Repeat("It was packed in a thin box without any padding. ", 12) + `</p>` +
			`<table><tr><td>Order</td><td>1001</td></tr><tr><td>Item</td><td>Blue enamel mug</td></tr></table><p>Kind regards,<br>Lena</p>`,
	})
	id := res.TicketID
	for i := range 6 {
		f.ingest(&crm.Inbound{Channel: crm.ChannelEmail, ExternalID: fmt.Sprintf("<more-%d@shop.example>", i), ThreadKey: "layout",
			FromName: "Lena Layout", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@example.com"}},
			Subject: "Re: My order", Text: fmt.Sprintf("Another thought, number %d: the handle came off as well.", i+1)})
	}
	for i := range 4 {
		f.inbound(fmt.Sprintf("other-%d", i), "Otto Other", fmt.Sprintf("otto%d@example.com", i), fmt.Sprintf("Question %d about shipping", i+1), "When does it ship?")
	}
	f.putOrder(aliceOrder("1001", "shipped", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)))
	f.putOrder(aliceOrder("1002", "paid", time.Date(2026, 4, 5, 10, 0, 0, 0, time.UTC)))

	b := f.newTab(t)
	b.do(chromedp.EmulateViewport(1280, 800))
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", id))
	b.waitJS("the email frame loaded", `() => document.querySelector('iframe.email-frame')?.dataset.loaded === 'true'`)
	b.waitText("#side-pane", "1002")

	parts := []string{".folders", ".list-pane", ".thread", "#reply", "#side-pane"}
	for _, sz := range []struct{ w, h int64 }{{1024, 768}, {1280, 800}, {1440, 900}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			b.t = t
			b.screen(sz.w, sz.h)
			b.layoutShot(fmt.Sprintf("layout-ticket-%d", sz.w))
			m := b.boxes(parts...)
			for _, p := range []string{".list-pane", ".thread", "#reply"} {
				if !m[p].Shown {
					t.Errorf("%s is not shown at %d px", p, sz.w)
				}
			}
			for i, p := range parts {
				for _, q := range parts[i+1:] {
					if m[p].Shown && m[q].Shown && m[p].overlaps(m[q]) {
						t.Errorf("at %dx%d %s %+v overlaps %s %+v", sz.w, sz.h, p, m[p], q, m[q])
					}
				}
			}
			if r := m["#reply"]; r.Bottom > float64(sz.h)+1 || r.Top < 0 {
				t.Errorf("at %dx%d the composer is off screen: %+v", sz.w, sz.h, r)
			}
			// The thread is what the agent reads: from 1280 px on it gets most of the height.
			share := 0.5
			if sz.w < 1280 {
				share = 0.4
			}
			if th := m[".thread"].height(); th < share*float64(sz.h) {
				t.Errorf("at %dx%d the thread is only %.0f px high", sz.w, sz.h, th)
			}
		})
	}
	b.t = t

	// Dark mode follows the system (its contrast is checked by TestAccessibilityScan).
	b.screen(1280, 800)
	b.dark(true)
	if bg := b.eval(`getComputedStyle(document.body).backgroundColor`); bg != "rgb(20, 24, 30)" {
		t.Errorf("in dark mode the page's background is %s", bg)
	}
	b.layoutShot("layout-ticket-1280-dark")
	b.dark(false)

	// The mail's frame is as tall as the mail: nothing is cut off or scrolls inside it.
	b.screen(1280, 800)
	b.waitJS("the mail frame fits its content", `() => new Promise((done) => {
		const f = document.querySelector('iframe.email-frame');
		if (!f || f.dataset.loaded !== 'true') return done(false);
		// The shown frame has no origin: lay its document out again where the test can look.
		const p = document.createElement('iframe');
		p.setAttribute('sandbox', 'allow-same-origin');
		p.style.width = f.getBoundingClientRect().width + 'px';
		p.style.border = '0';
		p.onload = () => {
			const want = p.contentDocument.documentElement.scrollHeight;
			const got = f.clientHeight;
			p.remove();
			done(want > 150 && Math.abs(got - want) <= 2);
		};
		p.srcdoc = f.srcdoc;
		document.body.append(p);
	})`)

	// A phone: the list first, one column, filters behind a button.
	b.screen(390, 844)
	b.do(chromedp.Navigate(f.srv.URL + "/#/inbox/open"))
	b.waitText("#list-body", "Question 4 about shipping")
	b.layoutShot("layout-list-390")
	m := b.boxes(".list-pane", "#filters", "#filters-toggle", ".thread")
	if !m[".list-pane"].Shown || m[".list-pane"].Top > 200 {
		t.Errorf("on a phone the list is not first: %+v", m[".list-pane"])
	}
	if m["#filters"].Shown {
		t.Errorf("on a phone the filters take the screen before the list: %+v", m["#filters"])
	}
	if !m["#filters-toggle"].Shown {
		t.Fatalf("on a phone there is no Filters button")
	}
	b.click("#filters-toggle")
	b.waitJS("the filters drawer opens", `() => { const f = document.querySelector('#filters'); return f && f.getBoundingClientRect().height > 0; }`)
	b.waitJS("focus moves into the drawer", `() => document.activeElement && document.activeElement.closest('#filters-drawer') !== null`)
	b.layoutShot("layout-filters-390")
	b.do(chromedp.KeyEvent("\x1b"))
	b.waitJS("Esc closes the drawer and returns focus", `() => document.querySelector('#filters').getBoundingClientRect().height === 0 && document.activeElement.id === 'filters-toggle'`)

	b.click(fmt.Sprintf(`#list-body [data-id="%d"] a`, id))
	b.waitJS("the ticket opens", `() => !!document.querySelector('#reply-body')`)
	b.layoutShot("layout-ticket-390")
	m = b.boxes(".thread", "#reply", ".list-pane")
	if m[".list-pane"].Shown {
		t.Errorf("on a phone the list stays beside the open ticket: %+v", m[".list-pane"])
	}
	if m[".thread"].overlaps(m["#reply"]) {
		t.Errorf("on a phone the composer covers the thread: %+v %+v", m[".thread"], m["#reply"])
	}
	b.noScriptErrors()
}
