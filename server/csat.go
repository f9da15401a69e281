package server

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"parley/crm"
	"parley/i18n"
)

// csatCSP allows the survey page nothing but its own form: no script, no style, no
// frames, no outside requests.
const csatCSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var csatPage = template.Must(template.New("csat").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}
<form method="post" action="/csat/{{.Token}}">
<fieldset>
<legend>{{.Question}}</legend>
{{range .Ratings}}<label><input type="radio" name="rating" value="{{.Value}}" required{{if .Checked}} checked{{end}}> {{.Label}}</label><br>
{{end}}
</fieldset>
<p><label for="comment">{{.CommentLabel}}</label><br>
<textarea id="comment" name="comment" rows="5" cols="50" maxlength="2000">{{.Comment}}</textarea></p>
<p><button type="submit">{{.Button}}</button></p>
</form>
{{end}}
</main>
</body>
</html>
`))

type csatRating struct {
	Value   int
	Label   string
	Checked bool
}

type csatView struct {
	Lang, Title, Message, Token, Comment string
	Question, CommentLabel, Button       string
	Form                                 bool
	Ratings                              []csatRating
}

// csatLang is the language of a survey page: the language setting of the survey's inbox
// when it names one (the language the survey was sent in), else the browser's
// (Accept-Language) when Parley ships it, else English. A page without a survey (a bad
// link) follows the browser.
func (s *Server) csatLang(r *http.Request, v *crm.CSATSurvey) string {
	if v != nil && v.InboxID != 0 {
		if in, err := s.store.Inbox(r.Context(), v.InboxID); err == nil {
			if l := i18n.Setting(in.Config); l != i18n.Auto {
				return l
			}
		}
	}
	if l := i18n.AcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return i18n.Default
}

// renderCSAT writes the survey page with the strict CSP.
func renderCSAT(w http.ResponseWriter, status int, v csatView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csatCSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	h.Set("Content-Language", v.Lang)
	h.Set("Vary", "Accept-Language")
	w.WriteHeader(status)
	csatPage.Execute(w, v)
}

// csatError shows an error page for a survey link in lang. The store's words are for
// the log and the API; the shopper reads the catalogue's text for what went wrong.
func csatError(w http.ResponseWriter, lang string, err error) {
	t := func(key string) string { return i18n.Text(lang, key) }
	switch crm.ErrorCode(err) {
	case crm.ENOTFOUND:
		renderCSAT(w, http.StatusNotFound, csatView{Lang: lang, Title: t("csat.not_found_title"), Message: t("csat.not_found")})
	case crm.EINVALID:
		status, key := http.StatusBadRequest, "csat.bad_form"
		switch msg := crm.ErrorMessage(err); {
		case strings.Contains(msg, "expired"):
			status, key = http.StatusGone, "csat.expired"
		case strings.Contains(msg, "comment"):
			key = "csat.comment_too_long"
		case strings.Contains(msg, "rating"):
			key = "csat.bad_rating"
		case strings.Contains(msg, "too large"):
			key = "csat.too_large"
		}
		renderCSAT(w, status, csatView{Lang: lang, Title: t("csat.unavailable_title"), Message: t(key)})
	default:
		renderCSAT(w, http.StatusInternalServerError, csatView{Lang: lang, Title: t("csat.error_title"), Message: t("csat.error")})
	}
}

// surveyForm is the page of a survey with its current answer, in lang.
func surveyForm(lang, token string, v *crm.CSATSurvey, title, message string) csatView {
	view := csatView{Lang: lang, Title: title, Message: message, Token: token, Comment: v.Comment, Form: true,
		Question: i18n.Text(lang, "csat.question"), CommentLabel: i18n.Text(lang, "csat.comment"),
		Button: i18n.Text(lang, "csat.send")}
	if v.Subject != "" {
		view.Question = i18n.Text(lang, "csat.question_subject", "subject", v.Subject)
	}
	if v.Rating > 0 {
		view.Button = i18n.Text(lang, "csat.update")
	}
	for i := 1; i <= 5; i++ {
		view.Ratings = append(view.Ratings, csatRating{Value: i, Label: i18n.Text(lang, "csat.rating."+strconv.Itoa(i)), Checked: v.Rating == i})
	}
	return view
}

func parseRating(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, crm.Errorf(crm.EINVALID, "rating must be a whole number from 1 to 5")
	}
	return n, nil
}

// handleCSATPage shows a survey. With ?rating=N, the one-click link of the email, it
// records the rating first and offers to add a comment.
func (s *Server) handleCSATPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if v := r.URL.Query().Get("rating"); v != "" {
		n, err := parseRating(v)
		if err != nil {
			s.csatError(w, r, token, err)
			return
		}
		sv, err := s.store.AnswerCSATToken(r.Context(), token, n, nil)
		if err != nil {
			s.csatError(w, r, token, err)
			return
		}
		lang := s.csatLang(r, sv)
		renderCSAT(w, http.StatusOK, surveyForm(lang, token, sv, i18n.Text(lang, "csat.thanks_title"),
			i18n.Text(lang, "csat.rated", "rating", strconv.Itoa(n))))
		return
	}
	sv, err := s.store.CSATSurveyByToken(r.Context(), token)
	if err != nil {
		csatError(w, s.csatLang(r, nil), err)
		return
	}
	lang := s.csatLang(r, sv)
	renderCSAT(w, http.StatusOK, surveyForm(lang, token, sv, i18n.Text(lang, "csat.title"), ""))
}

// csatError shows the error page of a request about the survey of token, in the
// survey's language when the token names one.
func (s *Server) csatError(w http.ResponseWriter, r *http.Request, token string, err error) {
	sv, _ := s.store.CSATSurveyByToken(r.Context(), token)
	csatError(w, s.csatLang(r, sv), err)
}

// handleCSATAnswer records the survey form: a rating and an optional comment.
// Submitting again changes the answer.
func (s *Server) handleCSATAnswer(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.csatError(w, r, token, crm.Errorf(crm.EINVALID, "send the form from the survey page"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.csatError(w, r, token, crm.Errorf(crm.EINVALID, "the form is too large or malformed"))
		return
	}
	n, err := parseRating(r.PostForm.Get("rating"))
	if err != nil {
		s.csatError(w, r, token, err)
		return
	}
	comment := r.PostForm.Get("comment")
	sv, err := s.store.AnswerCSATToken(r.Context(), token, n, &comment)
	if err != nil {
		s.csatError(w, r, token, err)
		return
	}
	lang := s.csatLang(r, sv)
	renderCSAT(w, http.StatusOK, surveyForm(lang, token, sv, i18n.Text(lang, "csat.saved_title"),
		i18n.Text(lang, "csat.saved", "rating", strconv.Itoa(n))))
}
