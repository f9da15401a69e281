package agentui_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// untranslated lists what the page shows in letters outside a [! !] wrap of the
// pseudo-locale: text nodes (options of a visible select included) and the placeholder,
// title and aria-label of visible elements, less the data passed in (names, subjects,
// message bodies: what the test filed), e-mail addresses, links and what <time> and
// <kbd> show and a search result's snippet (a message's text, cut and highlighted). Each
// entry names the element it is in.
const untranslated = `(data) => {
  const visible = (el) => {
    if (el.tagName === 'OPTION' || el.tagName === 'OPTGROUP') el = el.closest('select') || el;
    return el.checkVisibility();
  };
  const rest = (s) => {
    for (const d of data) s = s.split(d).join(' ');
    return s.replace(/\S+@\S+/g, ' ').replace(/https?:\/\/\S+/g, ' ');
  };
  const where = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const out = [];
  // A wrap may hold elements ("press [!{key}!]" with a <kbd>): the depth runs on through
  // the text nodes in document order, hidden ones included.
  let depth = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    let outside = '';
    const s = n.data;
    for (let i = 0; i < s.length; i++) {
      if (s.startsWith('[!', i)) { depth++; i++; } else if (s.startsWith('!]', i)) { depth = Math.max(0, depth - 1); i++; } else if (depth === 0) outside += s[i];
    }
    const el = n.parentElement;
    if (!el || el.closest('script, style, time, kbd, .snippet') || !visible(el)) continue;
    if (/\p{L}/u.test(rest(outside))) out.push(JSON.stringify(s.trim()) + ' in ' + where(el));
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (el.closest('time') || !visible(el)) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) {
      const v = el.getAttribute(a);
      if (v && /\p{L}/u.test(rest(v.replace(/\[!.*!\]/g, ' ')))) out.push(a + '=' + JSON.stringify(v) + ' of ' + where(el));
    }
  }
  return JSON.stringify([...new Set(out)]);
}`

// TestConsolePseudoLocale opens the console in the pseudo-locale (?lang=qps-ploc), in
// which every text of the catalogue shows wrapped in [! !], and walks the screens an
// agent uses all day (the list with the bulk bar and search results, a ticket with its
// composer, menus and customer panel, the notifications, contacts, a customer and its
// history, the shortcuts sheet) and the settings pages of inboxes and canned responses.
// Any text in letters outside a wrap that is not the test's own data was written into
// the code instead of taken from the catalogue: the test prints each one.
func TestConsolePseudoLocale(t *testing.T) {
	f := newFixture(t)
	id := f.inbound("ps-1", "Alice Shopper", "alice@example.com", "Parcel late", "Where is my parcel?")
	f.inbound("ps-2", "Bob Buyer", "bob@example.com", "Wrong size", "Can I swap it?")
	f.putOrder(aliceOrder("1001", "shipped", time.Now().Add(-48*time.Hour)))
	data := []string{"Alice Shopper", "Bob Buyer", "Parcel late", "Wrong size", "Where is my parcel?", "Can I swap it?",
		"Ada Admin", "Web shop", "Blue enamel mug", "MUG-BLUE", "DHL", "JD0146", "Parley"}

	b := f.newTab(t)
	b.login("ada@test.example", "?lang=qps-ploc#/inbox/open")
	b.screen(1440, 900) // every pane on screen: the customer panel is no drawer
	b.waitText("#contacts-link", "[!Contacts!]")

	seen := map[string]bool{} // each text is told once, on the first screen that shows it
	check := func(screen string) {
		t.Helper()
		arg, _ := json.Marshal(data)
		var found, fresh []string
		if err := json.Unmarshal([]byte(b.eval(fmt.Sprintf(`(%s)(%s)`, untranslated, arg))), &found); err != nil {
			t.Fatal(err)
		}
		for _, s := range found {
			if !seen[s] {
				seen[s] = true
				fresh = append(fresh, s)
			}
		}
		if len(fresh) > 0 {
			t.Errorf("%s shows text that is not from the catalogue:\n  %s", screen, strings.Join(fresh, "\n  "))
		}
	}
	show := func(hash, ready string) {
		t.Helper()
		b.eval(fmt.Sprintf(`(() => { location.hash = %q; return ''; })()`, hash))
		b.waitJS("the screen "+hash, `(sel) => !!document.querySelector(sel)`, ready)
	}

	show("#/inbox/open", fmt.Sprintf(`.ticket-row[data-id="%d"]`, id))
	check("the ticket list")
	b.click(fmt.Sprintf(`input.pick[data-id="%d"]`, id))
	b.waitJS("the bulk bar", `() => !document.querySelector('#bulk-bar').hidden`)
	check("the bulk bar")
	b.click(fmt.Sprintf(`input.pick[data-id="%d"]`, id))

	show("#/search/parcel", "#list-body .results")
	check("the search results")

	show(fmt.Sprintf("#/tickets/%d", id), "#thread .msg")
	b.waitJS("the customer panel with the order", `() => !!document.querySelector('#cust-name') && !!document.querySelector('#orders li.order')`)
	check("the open ticket")
	for _, menu := range []struct{ name, open, ready string }{
		{"the snooze menu", "#snooze-button", "#snooze-menu:not([hidden])"},
		{"the send menu", "#send-more", "#send-menu:not([hidden])"},
		{"the notifications", "#bell", "#notify-panel:not([hidden])"},
	} {
		b.click(menu.open)
		b.waitJS(menu.name, `(sel) => !!document.querySelector(sel)`, menu.ready)
		check(menu.name)
		b.do(chromedp.KeyEvent(kb.Escape))
	}
	b.click("#mode-note")
	b.waitJS("the note box", `() => document.querySelector('#reply').classList.contains('is-note')`)
	check("the note box")

	show("#/customers", "#contacts .contact")
	check("contacts")
	show("#/customers/1", "#customer-page #merges li")
	check("the customer page")
	show("#/customers/1/history", "#timeline li")
	check("the customer's history")
	show("#/settings/inboxes", "#inbox-list")
	check("the inboxes")
	show("#/settings/canned", "#canned-create")
	check("the canned responses")

	show("#/inbox/open", ".ticket-row")
	b.click("#help-button")
	b.waitJS("the shortcuts sheet", `() => document.querySelector('#help').open`)
	check("the shortcuts sheet")
	b.noScriptErrors()
}
