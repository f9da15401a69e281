package reasons

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
)

// ReadTSV reads labelled messages in the format of the shipped evaluation set: a
// header line "reason<TAB>order<TAB>text", then one message a line. The order is "-"
// when the customer has none, else "status:days", e.g. "shipped:10". Blank lines and
// lines starting with # are skipped. A malformed line is an error that names it.
func ReadTSV(r io.Reader) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var out []Example
	line, header := 0, false
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		cols := strings.SplitN(s, "\t", 3)
		if !header {
			if len(cols) != 3 || !strings.EqualFold(cols[0], "reason") || !strings.EqualFold(cols[1], "order") || !strings.EqualFold(strings.TrimSpace(cols[2]), "text") {
				return nil, fmt.Errorf("line %d: want the header reason<TAB>order<TAB>text, got %q", line, s)
			}
			header = true
			continue
		}
		if len(cols) != 3 {
			return nil, fmt.Errorf("line %d: want 3 tab-separated columns, got %d", line, len(cols))
		}
		e := Example{Label: strings.TrimSpace(cols[0]), Text: strings.TrimSpace(cols[2])}
		if e.Label == "" || e.Text == "" {
			return nil, fmt.Errorf("line %d: empty reason or text", line)
		}
		f, err := parseOrder(strings.TrimSpace(cols[1]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		e.Facts = f
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if !header {
		return nil, fmt.Errorf("no header line reason<TAB>order<TAB>text")
	}
	return out, nil
}

// parseOrder reads the order column: "-" or "status:days".
func parseOrder(s string) (Facts, error) {
	if s == "-" || s == "" {
		return Facts{}, nil
	}
	status, days, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(days)
	if !ok || err != nil || n < 0 || strings.TrimSpace(status) == "" {
		return Facts{}, fmt.Errorf("order %q: want - or status:days, e.g. shipped:10", s)
	}
	return Facts{OrderStatus: strings.ToLower(strings.TrimSpace(status)), OrderAgeDays: n}, nil
}

// evalFiles is the labelled evaluation set written for Parley, one file a language:
// testdata/eval_<language>.tsv.
//
//go:embed testdata/*.tsv
var evalFiles embed.FS

// EvalSets returns the shipped evaluation set by language ("de", "en", "es", "fr").
func EvalSets() (map[string][]Example, error) {
	names, err := evalNames()
	if err != nil {
		return nil, err
	}
	sets := map[string][]Example{}
	for _, name := range names {
		b, err := evalFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("eval set: %w", err)
		}
		ex, err := ReadTSV(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("eval set %s: %w", path.Base(name), err)
		}
		lang := strings.TrimSuffix(strings.TrimPrefix(path.Base(name), "eval_"), ".tsv")
		sets[lang] = ex
	}
	return sets, nil
}

// EvalSet returns the whole shipped evaluation set, its languages in the order of
// their codes.
func EvalSet() ([]Example, error) {
	sets, err := EvalSets()
	if err != nil {
		return nil, err
	}
	langs := make([]string, 0, len(sets))
	for l := range sets {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	var all []Example
	for _, l := range langs {
		all = append(all, sets[l]...)
	}
	return all, nil
}

func evalNames() ([]string, error) {
	entries, err := evalFiles.ReadDir("testdata")
	if err != nil {
		return nil, fmt.Errorf("eval set: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, "eval_") && strings.HasSuffix(n, ".tsv") {
			names = append(names, "testdata/"+n)
		}
	}
	return names, nil
}
