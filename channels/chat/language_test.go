package chat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/crm"
)

// widgetConfig fetches /widget/config of inbox with the query q, from the shop's origin.
func (e *env) widgetConfig(inbox int64, q url.Values) map[string]any {
	e.t.Helper()
	q.Set("inbox", itoa(inbox))
	req, _ := http.NewRequest("GET", e.srv.URL+"/widget/config?"+q.Encode(), nil)
	req.Header.Set("Origin", shopOrigin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("config: %d", resp.StatusCode)
	}
	var cfg map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		e.t.Fatal(err)
	}
	return cfg
}

// TestWidgetConfigLanguage: /widget/config picks the widget's language (data-lang, then
// the inbox's setting, then the page's and the browser's languages, then English) and
// sends only that language's texts, while the greeting the shop typed stays as typed.
func TestWidgetConfigLanguage(t *testing.T) {
	e := newEnv(t, Options{}, map[string]any{"greeting": "Hi there!"})
	if e.inbox.Config["language"] != "auto" {
		t.Fatalf("default language setting %v", e.inbox.Config["language"])
	}
	french := e.createInbox(map[string]any{"language": "fr"})
	for _, c := range []struct {
		inbox        int64
		lang, prefer string
		want, track  string
		wantGreeting string
	}{
		{e.inbox.ID, "", "de-AT,en-US,en", "de", "Bestellung verfolgen", "Hi there!"},
		{e.inbox.ID, "", "it,pt-BR,es-419", "es", "Seguir mi pedido", "Hi there!"},
		{e.inbox.ID, "", "it", "en", "Track my order", "Hi there!"},
		{e.inbox.ID, "", "", "en", "Track my order", "Hi there!"},
		{e.inbox.ID, "fr", "de", "fr", "Suivre ma commande", "Hi there!"},
		// The default greeting, which the shop did not type, is the widget's language's.
		{french.ID, "", "de", "fr", "Suivre ma commande", "Bonjour\u00a0! Comment pouvons-nous vous aider\u00a0?"},
		{french.ID, "es", "de", "es", "Seguir mi pedido", "¡Hola! ¿En qué podemos ayudarle?"},
		{french.ID, "xx", "de", "fr", "Suivre ma commande", "Bonjour\u00a0! Comment pouvons-nous vous aider\u00a0?"}, // an unknown data-lang is ignored
	} {
		q := url.Values{}
		if c.lang != "" {
			q.Set("lang", c.lang)
		}
		if c.prefer != "" {
			q.Set("prefer", c.prefer)
		}
		cfg := e.widgetConfig(c.inbox, q)
		strs, _ := cfg["strings"].(map[string]any)
		if cfg["language"] != c.want || strs["track"] != c.track || cfg["greeting"] != c.wantGreeting {
			t.Errorf("inbox %d lang=%q prefer=%q: language %v, track %v, greeting %v; want %s, %s, %s",
				c.inbox, c.lang, c.prefer, cfg["language"], strs["track"], cfg["greeting"], c.want, c.track, c.wantGreeting)
		}
		if len(strs) < 50 {
			t.Errorf("%d strings", len(strs))
		}
		for k := range strs {
			if strings.HasPrefix(k, "csat.title") || strings.HasPrefix(k, "voice.") {
				t.Errorf("the widget gets %q", k)
			}
		}
	}

	// The setting takes auto or a shipped language, nothing else.
	for lang, ok := range map[string]bool{"auto": true, "DE": true, "es": true, "it": false, "": false} {
		in := &crm.Inbox{Kind: crm.KindChat, Name: "x", Config: map[string]any{"allowed_origins": []any{shopOrigin}, "language": lang}}
		err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), in)
		if (err == nil) != ok {
			t.Errorf("language %q: %v", lang, err)
		}
		if lang == "DE" && in.Config["language"] != "de" {
			t.Errorf("language DE stored as %v", in.Config["language"])
		}
	}
}
