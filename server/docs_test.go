package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"parley/crm"
)

// docExample is one ```sh block of a docs page and the ```json block right after it, if
// any: the answer the page promises.
type docExample struct {
	command string
	answer  string
}

// docExamples returns the examples of the section of docs/<page> whose heading is
// heading, up to the next heading of the same level.
func docExamples(t *testing.T, page, heading string) []docExample {
	t.Helper()
	b, err := os.ReadFile("../docs/" + page)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("docs/%s has no %q", page, heading)
	}
	text = text[start+len(heading)+2:]
	level := heading[:strings.Index(heading, " ")+1]
	if end := strings.Index(text, "\n"+level); end >= 0 {
		text = text[:end]
	}
	var out []docExample
	block := regexp.MustCompile("(?s)```(sh|json)\n(.*?)```\n")
	for _, m := range block.FindAllStringSubmatch(text, -1) {
		if m[1] == "sh" {
			out = append(out, docExample{command: m[2]})
		} else if len(out) > 0 && out[len(out)-1].answer == "" {
			out[len(out)-1].answer = m[2]
		}
	}
	return out
}

// shellWords splits a one-command shell line as sh would: quotes, backslash-newline,
// and $NAME from vars (an unknown name fails).
func shellWords(s string, vars map[string]string) ([]string, error) {
	s = strings.ReplaceAll(s, "\\\n", " ")
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(i int) (int, error) {
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		v, ok := vars[s[i+1:j]]
		if !ok {
			return 0, fmt.Errorf("unknown variable $%s", s[i+1:j])
		}
		cur.WriteString(v)
		return j, nil
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i, inWord = i+end+2, true
		case c == '"':
			i, inWord = i+1, true
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '$' {
					j, err := expand(i)
					if err != nil {
						return nil, err
					}
					i = j - 1
				} else {
					cur.WriteByte(s[i])
				}
			}
			if i == len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			i++
		case c == '$':
			j, err := expand(i)
			if err != nil {
				return nil, err
			}
			i, inWord = j, true
		default:
			cur.WriteByte(c)
			i, inWord = i+1, true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// runCurl runs a documented curl command against base (for http://127.0.0.1:8080) as
// curl would: -H, -d and --data-binary @FILE (a POST unless -X says otherwise; the file's
// content is vars["@FILE"]), -F name=value and -F name=@FILE (multipart/form-data, each
// with an optional ;type=), -X, and -b/-c jar, which use session's cookie jar. It
// returns the status and the body.
func runCurl(t *testing.T, command string, vars map[string]string, base string, session *client) (int, []byte) {
	t.Helper()
	args, err := shellWords(strings.TrimSpace(command), vars)
	if err != nil || len(args) == 0 || args[0] != "curl" {
		t.Fatalf("not a curl command: %q (%v)", command, err)
	}
	method, target, body := "GET", "", ""
	header := http.Header{}
	var form [][3]string // name, value, type of -F parts
	hc := http.DefaultClient
	for i := 1; i < len(args); i++ {
		arg := args[i]
		if strings.HasPrefix(arg, "http://127.0.0.1:8080/") {
			target = base + strings.TrimPrefix(arg, "http://127.0.0.1:8080")
			continue
		}
		if i+1 == len(args) {
			t.Fatalf("%s needs a value in %q", arg, command)
		}
		i++
		switch v := args[i]; arg {
		case "-H":
			name, value, ok := strings.Cut(v, ":")
			if !ok {
				t.Fatalf("bad header %q", v)
			}
			header.Add(name, strings.TrimSpace(value))
		case "-d":
			body = v
			if method == "GET" {
				method = "POST"
			}
		case "--data-binary": // @FILE: the file's content is vars["@FILE"]
			f, ok := vars[v]
			if !ok || !strings.HasPrefix(v, "@") {
				t.Fatalf("no file %s for %q", v, command)
			}
			body = f
			if method == "GET" {
				method = "POST"
			}
		case "-F":
			name, value, ok := strings.Cut(v, "=")
			if !ok {
				t.Fatalf("bad form part %q", v)
			}
			typ := ""
			if i := strings.LastIndex(value, ";type="); i >= 0 {
				value, typ = value[:i], value[i+len(";type="):]
			}
			form = append(form, [3]string{name, value, typ})
			if method == "GET" {
				method = "POST"
			}
		case "-X":
			method = v
		case "-b", "-c":
			hc = session.hc
		default:
			t.Fatalf("runCurl does not know %s (in %q)", arg, command)
		}
	}
	if target == "" {
		t.Fatalf("no URL in %q", command)
	}
	if len(form) > 0 {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, p := range form {
			h := textproto.MIMEHeader{}
			disposition := fmt.Sprintf("form-data; name=%q", p[0])
			content := p[1]
			if strings.HasPrefix(p[1], "@") {
				f, ok := vars[p[1]]
				if !ok {
					t.Fatalf("no file %s for %q", p[1], command)
				}
				disposition += fmt.Sprintf("; filename=%q", p[1][1:])
				content = f
				if p[2] == "" {
					p[2] = "application/octet-stream"
				}
			}
			h.Set("Content-Disposition", disposition)
			if p[2] != "" {
				h.Set("Content-Type", p[2])
			}
			pw, _ := w.CreatePart(h)
			io.WriteString(pw, content)
		}
		w.Close()
		body = buf.String()
		header.Set("Content-Type", w.FormDataContentType())
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// sameKeys fails unless got, a JSON object, has exactly the keys of the documented one,
// and so on for the first element of arrays of objects.
func sameKeys(t *testing.T, what string, doc, got any) {
	t.Helper()
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("%s: got %v, the docs show an object", what, got)
		}
		var dk, gk []string
		for k := range d {
			dk = append(dk, k)
		}
		for k := range g {
			gk = append(gk, k)
		}
		slices.Sort(dk)
		slices.Sort(gk)
		if !slices.Equal(dk, gk) {
			t.Fatalf("%s: keys %v, the docs show %v", what, gk, dk)
		}
		for k := range d {
			sameKeys(t, what+"."+k, d[k], g[k])
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(d) > 0 && len(g) == 0 {
			t.Fatalf("%s: got %v, the docs show %v", what, got, doc)
		}
		if len(d) > 0 {
			sameKeys(t, what+"[0]", d[0], g[0])
		}
	}
}

// The API tokens section of docs/api.md works as written: its curl commands run
// against a real server and answer with the documented fields.
func TestDocsTokenExamples(t *testing.T) {
	e := newEnv(t)
	dana := e.agent("dana@shop.example", crm.RoleAgent)
	examples := docExamples(t, "api.md", "## API tokens")
	if len(examples) != 3 {
		t.Fatalf("docs/api.md has %d token examples, this test knows 3", len(examples))
	}
	vars := map[string]string{"CSRF": dana.csrf}
	wantStatus := []int{201, 200, 204}
	for i, ex := range examples {
		status, body := runCurl(t, ex.command, vars, e.srv.URL, dana)
		if status != wantStatus[i] {
			t.Fatalf("example %d: %s\n= %d %s", i+1, ex.command, status, body)
		}
		if ex.answer != "" {
			var doc, got any
			if err := json.Unmarshal([]byte(ex.answer), &doc); err != nil {
				t.Fatalf("example %d: the documented answer is not JSON: %v", i+1, err)
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("example %d: answer %s: %v", i+1, body, err)
			}
			sameKeys(t, fmt.Sprintf("example %d", i+1), doc, got)
		}
		if i == 0 { // the created token is what the next examples use
			var tok struct {
				ID    int64
				Token string
			}
			json.Unmarshal(body, &tok)
			vars["TOKEN"], vars["ID"] = tok.Token, itoa(tok.ID)
		}
	}
	if status, _ := e.as(vars["TOKEN"]).do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("the revoked token answers %d", status)
	}
}
