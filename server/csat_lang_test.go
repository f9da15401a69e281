package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/crm"
)

// get fetches url with an Accept-Language header and returns the status and the page.
func getPage(t *testing.T, u, acceptLanguage string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCSATInSpanish: an email inbox set to Spanish sends its survey in Spanish, and the
// survey page the shopper opens from it is in Spanish (lang="es"), whatever the browser
// says; a bad link follows the browser's language.
func TestCSATInSpanish(t *testing.T) {
	e := newEnv(t)
	svc := reportsFor(e)
	var mail struct {
		ID     int64
		Config map[string]any
	}
	e.admin.mustDo("POST", "/api/v1/inboxes", map[string]any{"kind": crm.KindEmail, "name": "Correo",
		"config": map[string]any{"language": "ES"}}, 201, &mail)
	if mail.Config["language"] != "es" {
		t.Fatalf("stored language %v", mail.Config["language"])
	}
	// A change that leaves the language out (the console's email form) keeps it.
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/inboxes/%d", mail.ID), map[string]any{"config": map[string]any{}}, 200, &mail)
	if mail.Config["language"] != "es" {
		t.Fatalf("language after a change without it: %v", mail.Config["language"])
	}
	if status, _ := e.admin.do("POST", "/api/v1/inboxes", map[string]any{"kind": crm.KindEmail, "name": "X",
		"config": map[string]any{"language": "klingon"}}); status != 400 {
		t.Errorf("language klingon: %d, want 400", status)
	}

	// The first run only catches up with the past: surveys go to what resolves after it.
	if err := svc.Sync(crm.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	r, err := e.db.Ingest(crm.AsSystem(context.Background()), &crm.Inbound{InboxID: mail.ID, Channel: crm.ChannelEmail, ExternalID: "<es@b>",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "lucia@example.es"}}, Subject: "Mi pedido", Text: "Hola"})
	if err != nil {
		t.Fatal(err)
	}
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/tickets/%d", r.TicketID), map[string]any{"status": "resolved"}, 200, nil)
	if err := svc.Sync(crm.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	var msgs struct{ Messages []crm.Message }
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", r.TicketID), nil, 200, &msgs)
	survey := msgs.Messages[len(msgs.Messages)-1].Text
	for _, want := range []string{"Su solicitud se ha resuelto. ¿Qué tal le hemos atendido?", "5 - excelente: http", "¡Gracias!"} {
		if !strings.Contains(survey, want) {
			t.Errorf("the survey email %q lacks %q", survey, want)
		}
	}
	i := strings.Index(survey, "/csat/")
	if i < 0 {
		t.Fatalf("no link in %q", survey)
	}
	token := strings.TrimPrefix(strings.SplitN(survey[i:], "?", 2)[0], "/csat/")

	// A German browser still gets the Spanish survey: the inbox says which language it speaks.
	status, page := getPage(t, e.srv.URL+"/csat/"+token, "de-DE,de;q=0.9")
	for _, want := range []string{`<html lang="es">`, "<title>¿Qué tal le hemos atendido?</title>",
		"¿Qué tal hemos gestionado su solicitud «Mi pedido»?", "5 - excelente", "¿Desea añadir algo? (opcional)",
		`<button type="submit">Enviar</button>`} {
		if status != 200 || !strings.Contains(page, want) {
			t.Errorf("survey page (%d) lacks %q:\n%s", status, want, page)
		}
	}
	status, page = getPage(t, e.srv.URL+"/csat/"+token+"?rating=5", "")
	if status != 200 || !strings.Contains(page, "Nos ha valorado con un 5 de 5.") || !strings.Contains(page, "Actualizar mi respuesta") {
		t.Errorf("one-click rating page (%d):\n%s", status, page)
	}
	resp, err := http.PostForm(e.srv.URL+"/csat/"+token, url.Values{"rating": {"4"}, "comment": {"Muy amables"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Hemos guardado su valoración de 4 de 5.") {
		t.Errorf("answer page (%d):\n%s", resp.StatusCode, b)
	}
	status, page = getPage(t, e.srv.URL+"/csat/"+token+"?rating=9", "")
	if status != 400 || !strings.Contains(page, "Elija una valoración del 1 al 5.") {
		t.Errorf("a bad rating (%d):\n%s", status, page)
	}

	// A link that names no survey speaks the browser's language, else English.
	if status, page := getPage(t, e.srv.URL+"/csat/nope", "es-MX,es;q=0.9"); status != 404 ||
		!strings.Contains(page, `<html lang="es">`) || !strings.Contains(page, "Encuesta no encontrada") {
		t.Errorf("unknown link, Spanish browser (%d):\n%s", status, page)
	}
	if status, page := getPage(t, e.srv.URL+"/csat/nope", "it"); status != 404 ||
		!strings.Contains(page, `<html lang="en">`) || !strings.Contains(page, "Survey not found") {
		t.Errorf("unknown link, Italian browser (%d):\n%s", status, page)
	}
}
