package server

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"parley/crm"
)

// csatCSP allows the survey page nothing but its own form: no script, no style, no
// frames, no outside requests.
const csatCSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var csatPage = template.Must(template.New("csat").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}
<form method="post" action="/csat/{{.Token}}">
<fieldset>
<legend>How did we do with your request{{if .Subject}} &ldquo;{{.Subject}}&rdquo;{{end}}?</legend>
{{range .Ratings}}<label><input type="radio" name="rating" value="{{.Value}}" required{{if .Checked}} checked{{end}}> {{.Label}}</label><br>
{{end}}
</fieldset>
<p><label for="comment">Anything you would like to add? (optional)</label><br>
<textarea id="comment" name="comment" rows="5" cols="50" maxlength="2000">{{.Comment}}</textarea></p>
<p><button type="submit">{{if .Rated}}Update my answer{{else}}Send{{end}}</button></p>
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
	Title, Message, Token, Subject, Comment string
	Form, Rated                             bool
	Ratings                                 []csatRating
}

var ratingLabels = []string{"1 - bad", "2 - poor", "3 - okay", "4 - good", "5 - great"}

// renderCSAT writes the survey page with the strict CSP.
func renderCSAT(w http.ResponseWriter, status int, v csatView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csatCSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	w.WriteHeader(status)
	csatPage.Execute(w, v)
}

// csatError shows an error page for a survey link.
func csatError(w http.ResponseWriter, err error) {
	switch crm.ErrorCode(err) {
	case crm.ENOTFOUND:
		renderCSAT(w, http.StatusNotFound, csatView{Title: "Survey not found", Message: "This survey link is not valid."})
	case crm.EINVALID:
		status := http.StatusBadRequest
		if strings.Contains(crm.ErrorMessage(err), "expired") {
			status = http.StatusGone
		}
		renderCSAT(w, status, csatView{Title: "Survey unavailable", Message: crm.ErrorMessage(err)})
	default:
		renderCSAT(w, http.StatusInternalServerError, csatView{Title: "Something went wrong", Message: "Please try again later."})
	}
}

// surveyForm is the page of a survey with its current answer.
func surveyForm(token string, v *crm.CSATSurvey, title, message string) csatView {
	view := csatView{Title: title, Message: message, Token: token, Subject: v.Subject, Comment: v.Comment,
		Form: true, Rated: v.Rating > 0}
	for i, l := range ratingLabels {
		view.Ratings = append(view.Ratings, csatRating{Value: i + 1, Label: l, Checked: v.Rating == i+1})
	}
	return view
}

func parseRating(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, crm.Errorf(crm.EINVALID, "Please choose a rating from 1 to 5.")
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
			csatError(w, err)
			return
		}
		sv, err := s.store.AnswerCSATToken(r.Context(), token, n, nil)
		if err != nil {
			csatError(w, err)
			return
		}
		renderCSAT(w, http.StatusOK, surveyForm(token, sv, "Thank you!",
			"You rated us "+strconv.Itoa(n)+" out of 5. You can change your rating or add a comment below."))
		return
	}
	sv, err := s.store.CSATSurveyByToken(r.Context(), token)
	if err != nil {
		csatError(w, err)
		return
	}
	renderCSAT(w, http.StatusOK, surveyForm(token, sv, "How did we do?", ""))
}

// handleCSATAnswer records the survey form: a rating and an optional comment.
// Submitting again changes the answer.
func (s *Server) handleCSATAnswer(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		csatError(w, crm.Errorf(crm.EINVALID, "Please send the form from the survey page."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		csatError(w, crm.Errorf(crm.EINVALID, "The form is too large or malformed."))
		return
	}
	n, err := parseRating(r.PostForm.Get("rating"))
	if err != nil {
		csatError(w, err)
		return
	}
	comment := r.PostForm.Get("comment")
	sv, err := s.store.AnswerCSATToken(r.Context(), token, n, &comment)
	if err != nil {
		csatError(w, err)
		return
	}
	renderCSAT(w, http.StatusOK, surveyForm(token, sv, "Thank you for your feedback!",
		"We saved your rating of "+strconv.Itoa(n)+" out of 5."))
}
