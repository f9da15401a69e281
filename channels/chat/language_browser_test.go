package chat

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/browsertest"
	"parley/crm"

	"github.com/chromedp/chromedp"
)

// shopPage serves the shop's own pages, on an origin of their own, with the widget of
// ?inbox= embedded: <html lang="?lang="> and, with ?force=, data-lang on the script tag.
func shopPage(t *testing.T, e *env) *httptest.Server {
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		force := ""
		if f := q.Get("force"); f != "" {
			force = ` data-lang="` + html.EscapeString(f) + `"`
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="%s"><head><meta charset="utf-8"><title>Shop</title></head>
<body><main><h1>Shop</h1></main><script src="%s/widget.js" data-inbox="%s"%s async></script></body></html>`,
			html.EscapeString(q.Get("lang")), e.srv.URL, html.EscapeString(q.Get("inbox")), force)
	}))
	t.Cleanup(shop.Close)
	return shop
}

// widgetTexts is what a shopper reads and a screen reader says of the open widget.
type widgetTexts struct {
	Lang, Launcher, Close, Greeting, Placeholder, Send, Track, Attach string
}

func readWidget(t *testing.T, ctx context.Context) widgetTexts {
	t.Helper()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[widgetTexts](`(() => { const r = `+shadow+`, q = (s) => r.querySelector(s);
		return {Lang: document.querySelector('#parley-chat').lang, Launcher: q('.launcher').getAttribute('aria-label'),
			Close: q('.x').getAttribute('aria-label'), Greeting: q('h2').textContent, Placeholder: q('textarea').placeholder,
			Send: q('.compose button[type=submit]').textContent, Track: q('.track').textContent,
			Attach: q('.compose button.a').getAttribute('aria-label')} })()`))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// openWidget loads the shop's page and opens the widget, connected.
func openWidget(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the launcher", shadow+`.querySelector('.launcher')`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('.launcher')`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the connected panel", `!`+shadow+`.querySelector('textarea').disabled`)
}

// TestWidgetLanguages opens the widget as shoppers do: on a German page (<html lang="de">)
// of an inbox left on auto it speaks German, Track my order included, while the greeting
// the shop typed stays as typed; the inbox set to French wins over the page (and its
// default greeting, which nobody typed, is French too); data-lang
// on the script tag wins over both.
func TestWidgetLanguages(t *testing.T) {
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	shop := shopPage(t, e)
	auto := e.createInbox(map[string]any{"allowed_origins": []any{shop.URL}, "greeting": "Hallo! Wie können wir helfen?"})
	french := e.createInbox(map[string]any{"allowed_origins": []any{shop.URL}, "language": "fr"})
	e.putOrder("1001", "alice@example.com", "", "shipped", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))

	openWidget(t, ctx, shop.URL+"/?lang=de&inbox="+itoa(auto.ID))
	want := widgetTexts{Lang: "de", Launcher: "Mit uns chatten", Close: "Chat schließen", Greeting: "Hallo! Wie können wir helfen?",
		Placeholder: "Nachricht schreiben…", Send: "Senden", Track: "Bestellung verfolgen", Attach: "Datei anhängen"}
	if got := readWidget(t, ctx); got != want {
		t.Errorf("German page:\n got %+v\nwant %+v", got, want)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[string](shadow+`.querySelector('.head p').textContent`))
	if err != nil || (status != "Wir antworten in der Regel innerhalb weniger Minuten." && !strings.HasPrefix(status, "Wir sind gerade nicht erreichbar.")) {
		t.Errorf("German status line %q (%v)", status, err)
	}

	// Track my order, in German: the form, a lookup and what screen readers are told.
	q := func(sel string) string { return shadow + `.querySelector('` + sel + `')` }
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".track")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the lookup form", `!`+q(".orders")+`.hidden`)
	form, err := chromedp.Run(ctx, chromedp.Evaluate[string](q(".orders")+`.textContent`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"← Zurück zum Chat", "Bestellnummer", "E-Mail-Adresse, mit der Sie bestellt haben", "Bestellung suchen"} {
		if !strings.Contains(form, want) {
			t.Errorf("the German lookup form %q lacks %q", form, want)
		}
	}
	if track, _ := chromedp.Run(ctx, chromedp.Evaluate[string](q(".track")+`.textContent`)); track != "Zurück zum Chat" {
		t.Errorf("the track link while tracking: %q", track)
	}
	lookup := func(number, email string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.JSPath(q("input[name=number]")), number),
			chromedp.SetValue(chromedp.JSPath(q("input[name=email]")), email),
			chromedp.Click(chromedp.JSPath(q(".lookup button")))); err != nil {
			t.Fatal(err)
		}
	}
	lookup("1001", "mallory@example.com")
	waitJS(t, ctx, "no matching order, in German", q(".omsg")+`.textContent.startsWith('Wir konnten keine Bestellung mit dieser Nummer')`)
	lookup("1001", "alice@example.com")
	waitJS(t, ctx, "the order, in German", q(".order .ostatus")+`.textContent === 'Versandt'`)
	waitJS(t, ctx, "the order said in German", q(".sr[role=status]")+`.textContent === 'Bestellung 1001: Versandt'`)
	card, err := chromedp.Run(ctx, chromedp.Evaluate[string](q(".order")+`.textContent`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bestellung 1001", "Bestellt am 2.3.2026", "Zwischensumme39,00 €", "Versand4,95 €",
		"Gesamtsumme46,36 €", "Sendungsverfolgung: DHL JD0146"} {
		if !strings.Contains(strings.ReplaceAll(card, "\u00a0", " "), want) {
			t.Errorf("the German order card %q lacks %q", card, want)
		}
	}
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		browsertest.Screenshot(t, ctx, filepath.Join(dir, "widget-german-order.png"))
	}

	// The inbox set to French wins over the German page.
	openWidget(t, ctx, shop.URL+"/?lang=de&inbox="+itoa(french.ID))
	want = widgetTexts{Lang: "fr", Launcher: "Discuter avec nous", Close: "Fermer la discussion", Greeting: "Bonjour\u00a0! Comment pouvons-nous vous aider\u00a0?",
		Placeholder: "Écrivez un message…", Send: "Envoyer", Track: "Suivre ma commande", Attach: "Joindre un fichier"}
	if got := readWidget(t, ctx); got != want {
		t.Errorf("French inbox on a German page:\n got %+v\nwant %+v", got, want)
	}
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		browsertest.Screenshot(t, ctx, filepath.Join(dir, "widget-french.png"))
	}

	// data-lang on the script tag wins over the inbox and the page.
	openWidget(t, ctx, shop.URL+"/?lang=de&force=es&inbox="+itoa(french.ID))
	if got := readWidget(t, ctx); got.Lang != "es" || got.Track != "Seguir mi pedido" || got.Send != "Enviar" ||
		got.Placeholder != "Escriba un mensaje…" {
		t.Errorf("data-lang=es: %+v", got)
	}

	// A page in a language Parley does not ship falls back to the browser's (English here).
	openWidget(t, ctx, shop.URL+"/?lang=it&inbox="+itoa(auto.ID))
	if got := readWidget(t, ctx); got.Lang != "en" || got.Track != "Track my order" || got.Send != "Send" || got.Launcher != "Chat with us" {
		t.Errorf("Italian page, English browser: %+v", got)
	}
}

// TestWidgetCSATInSpanish: on a Spanish page the rating prompt, its buttons (names and
// visible text alike), what screen readers are told and the thanks are Spanish.
func TestWidgetCSATInSpanish(t *testing.T) {
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	shop := shopPage(t, e)
	in := e.createInbox(map[string]any{"allowed_origins": []any{shop.URL}})
	var err error
	if e.agent, err = e.db.UpdateAgent(crm.AsSystem(context.Background()), e.agent.ID, crm.AgentUpdate{InboxIDs: &[]int64{e.inbox.ID, in.ID}}); err != nil {
		t.Fatal(err)
	}
	openWidget(t, ctx, shop.URL+"/?lang=es-ES&inbox="+itoa(in.ID))
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.JSPath(shadow+`.querySelector('textarea')`), "Mi taza llegó rota\r")); err != nil {
		t.Fatal(err)
	}
	e.resolve(e.waitTicket(in.ID))

	waitJS(t, ctx, "the survey", `!`+shadow+`.querySelector('.csat').hidden`)
	waitJS(t, ctx, "the survey said in Spanish", shadow+`.querySelector('.sr[role=status]').textContent === '¿Qué tal le hemos atendido? Valore esta conversación, por favor.'`)
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...`+shadow+`.querySelectorAll('.csat .rate')].map(b => b.getAttribute('aria-label') + '|' + b.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 5 || labels[0] != "1 de 5: Muy mala|1Muy mala" || labels[4] != "5 de 5: Excelente|5Excelente" {
		t.Fatalf("rating buttons = %q", labels)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.JSPath(shadow+`.querySelector('.csat .rate[data-rating="5"]')`)),
		chromedp.Click(chromedp.JSPath(shadow+`.querySelector('.csat button[type=submit]')`)),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the thanks in Spanish", shadow+`.querySelector('.cthanks').textContent === '¡Gracias por su opinión!' && !`+
		shadow+`.querySelector('.cthanks').hidden`)
}

// TestWidgetGermanAccessibilityScan runs axe-core's WCAG 2.1 A/AA rules on the open
// German widget: translated names must still match the visible text (a German label is
// longer than its English one) and nothing may become unreadable.
func TestWidgetGermanAccessibilityScan(t *testing.T) {
	path := os.Getenv("PARLEY_AXE")
	if path == "" {
		t.Skip("SKIPPED: the accessibility scan needs axe-core: PARLEY_AXE=path/to/axe.min.js (.ci/run installs it with npm)")
	}
	axe, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.NewTab(t)
	e := newEnv(t, Options{}, nil)
	shop := shopPage(t, e)
	in := e.createInbox(map[string]any{"allowed_origins": []any{shop.URL}})
	e.putOrder("1001", "alice@example.com", "", "shipped", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	openWidget(t, ctx, shop.URL+"/?lang=de&inbox="+itoa(in.ID))
	scan := func(state string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(axe)+`;true`)); err != nil {
			t.Fatal(err)
		}
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
			.then((r) => JSON.stringify(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
				.map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', '))))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if out != "[]" {
			t.Errorf("the German widget %s: serious or critical accessibility violations: %s", state, out)
		}
	}
	scan("open")
	q := func(sel string) string { return shadow + `.querySelector('` + sel + `')` }
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(q(".track"))),
		chromedp.SetValue(chromedp.JSPath(q("input[name=number]")), "1001"),
		chromedp.SetValue(chromedp.JSPath(q("input[name=email]")), "alice@example.com"),
		chromedp.Click(chromedp.JSPath(q(".lookup button")))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the order", q(".order .ostatus")+`.textContent === 'Versandt'`)
	scan("with an order")
}
