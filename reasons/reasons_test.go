package reasons

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"lower-cased", "Where IS my Order", []string{"where", "is", "my", "order"}},
		{"accents folded", "Élodie a reçu un colis abîmé", []string{"elodie", "a", "recu", "un", "colis", "abime"}},
		{"spanish marks are separators", "¿Dónde está mi pedido? ¡Año nuevo!", []string{"donde", "esta", "mi", "pedido", "ano", "nuevo"}},
		{"umlaut as ae oe ue", "Rückerstattung für Größe", []string{"rueckerstattung", "fuer", "groesse"}},
		{"umlaut spelled out", "Rueckerstattung fuer Groesse", []string{"rueckerstattung", "fuer", "groesse"}},
		{"decomposed umlaut", "Ru\u0308ckerstattung fu\u0308r", []string{"rueckerstattung", "fuer"}},
		{"capital umlaut", "ÄNDERUNG ÜBER", []string{"aenderung", "ueber"}},
		{"sharp s", "Straße STRAẞE Strasse", []string{"strasse", "strasse", "strasse"}},
		{"ligatures", "cœur Æsir", []string{"coeur", "aesir"}},
		{"apostrophes split", "l'article n'est pas arrivé, don't", []string{"l", "article", "n", "est", "pas", "arrive", "don", "t"}},
		{"order number", "Order #1042 and 4471120983", []string{"order", "#", "0", "and", "0"}},
		{"amounts and dates are one number", "paid 1,299.00 on 12/05/2024 at 10:30", []string{"paid", "0", "on", "0", "at", "0"}},
		{"symbols are tokens", "20% off, 49,99 € or $5, ann@example.com", []string{"0", "%", "off", "0", "€", "or", "$", "0", "ann", "@", "example", "com"}},
		{"letters and digits split", "ORD-55710 A1234", []string{"ord", "0", "a", "0"}},
		{"hyphen splits words", "e-mail Rücksende-Etikett", []string{"e", "mail", "ruecksende", "etikett"}},
		{"emoji are tokens, punctuation is not", "hey!!! 🕯️ where??? 😡😡", []string{"hey", "🕯", "where", "😡", "😡"}},
		{"other scripts kept", "Заказ 15 не пришёл", []string{"заказ", "0", "не", "пришёл"}},
		{"empty", " ,.!? ", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Tokens(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Tokens(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestTokensStopAtLimit(t *testing.T) {
	got := Tokens(strings.Repeat("word ", 10*maxTokens))
	if len(got) != maxTokens {
		t.Errorf("a long text gives %d tokens, want %d", len(got), maxTokens)
	}
}

func TestStem(t *testing.T) {
	tests := []struct{ in, want string }{
		{"refunds", "refund"},
		{"refunded", "refund"},
		{"refunding", "refund"},
		{"bestellung", "bestell"},
		{"commandes", "command"},
		{"devoluciones", "devoluc"},
		{"pedidos", "pedido"},
		{"was", "was"},    // too short to strip
		{"cases", "case"}, // "es" would leave three letters; "s" leaves four
		{"0", "0"},
	}
	for _, tt := range tests {
		if got := string(stem([]byte(tt.in))); got != tt.want {
			t.Errorf("stem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFactFeatures(t *testing.T) {
	tests := []struct {
		facts Facts
		want  []string
	}{
		{Facts{}, []string{"__no_order"}},
		{Facts{OrderStatus: "  ", OrderAgeDays: 5}, []string{"__no_order"}},
		{Facts{OrderStatus: "shipped", OrderAgeDays: 0}, []string{"__order_shipped", "__order_shipped_age_0_2"}},
		{Facts{OrderStatus: "shipped", OrderAgeDays: 2}, []string{"__order_shipped", "__order_shipped_age_0_2"}},
		{Facts{OrderStatus: "paid", OrderAgeDays: 3}, []string{"__order_paid", "__order_paid_age_3_6"}},
		{Facts{OrderStatus: "shipped", OrderAgeDays: 10}, []string{"__order_shipped", "__order_shipped_age_7_13"}},
		{Facts{OrderStatus: "Delivered", OrderAgeDays: 14}, []string{"__order_delivered", "__order_delivered_age_14plus"}},
		{Facts{OrderStatus: "refunded", OrderAgeDays: 400}, []string{"__order_refunded", "__order_refunded_age_14plus"}},
		{Facts{OrderStatus: "on hold", OrderAgeDays: -1}, []string{"__order_on_hold", "__order_on_hold_age_0_2"}},
	}
	for _, tt := range tests {
		if got := FactFeatures(tt.facts); !slices.Equal(got, tt.want) {
			t.Errorf("FactFeatures(%+v) = %q, want %q", tt.facts, got, tt.want)
		}
	}
}

// small is a tiny training set of three reasons, enough to check behaviour.
var small = []Example{
	{Text: "where is my parcel, tracking has not moved", Facts: Facts{"shipped", 9}, Label: "where_is_my_order"},
	{Text: "my package has still not arrived", Facts: Facts{"shipped", 12}, Label: "where_is_my_order"},
	{Text: "wo bleibt mein Paket? Sendungsverfolgung steht still", Facts: Facts{"shipped", 8}, Label: "where_is_my_order"},
	{Text: "I want my money back for the returned shoes", Facts: Facts{"delivered", 20}, Label: "refund_status"},
	{Text: "when will the refund reach my card?", Facts: Facts{"refunded", 3}, Label: "refund_status"},
	{Text: "Wann bekomme ich die Rückerstattung?", Facts: Facts{"refunded", 5}, Label: "refund_status"},
	{Text: "do you have this jacket in size M?", Label: "product_question"},
	{Text: "is the lamp dimmable?", Label: "product_question"},
	{Text: "Ist die Jacke wasserdicht?", Label: "product_question"},
}

func TestTrainErrors(t *testing.T) {
	tests := []struct {
		name     string
		examples []Example
		opts     Options
		want     string
	}{
		{"no examples", nil, Options{}, "no examples"},
		{"one label", []Example{{Text: "a", Label: "x"}, {Text: "b", Label: "x"}}, Options{}, "at least two labels"},
		{"empty label", []Example{{Text: "a", Label: "x"}, {Text: "b", Label: " "}}, Options{}, "example 2 has no label"},
		{"long label", []Example{{Text: "a", Label: "x"}, {Text: "b", Label: strings.Repeat("y", 201)}}, Options{}, "label of 201 bytes"},
		{"bits too low", small, Options{Bits: 4}, "bits 4"},
		{"bits too high", small, Options{Bits: 30}, "bits 30"},
		{"negative epochs", small, Options{Epochs: -1}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Train(tt.examples, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Train: model %v, error %v, want an error with %q", m != nil, err, tt.want)
			}
		})
	}
}

func mustTrain(t testing.TB, ex []Example, opts Options) *Model {
	t.Helper()
	m, err := Train(ex, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPredict(t *testing.T) {
	m := mustTrain(t, small, Options{})
	if got, want := m.Labels(), []string{"product_question", "refund_status", "where_is_my_order"}; !slices.Equal(got, want) {
		t.Errorf("Labels() = %q, want %q", got, want)
	}
	if m.Examples() != len(small) {
		t.Errorf("Examples() = %d, want %d", m.Examples(), len(small))
	}
	tests := []struct {
		text  string
		facts Facts
		want  string
	}{
		{"tracking has not moved, where is it", Facts{"shipped", 10}, "where_is_my_order"},
		{"Rückerstattung noch nicht da", Facts{"refunded", 4}, "refund_status"},
		{"is this jacket available in size L?", Facts{}, "product_question"},
		// The same empty text leans on the order: shipped 10 days ago is a parcel
		// that should be there.
		{"", Facts{"shipped", 10}, "where_is_my_order"},
	}
	for _, tt := range tests {
		p := m.Predict(tt.text, tt.facts)
		if len(p) != 3 {
			t.Fatalf("Predict(%q) gives %d labels, want 3", tt.text, len(p))
		}
		if p[0].Label != tt.want {
			t.Errorf("Predict(%q, %+v) = %+v, want %s first", tt.text, tt.facts, p, tt.want)
		}
		var sum float64
		for i, pr := range p {
			sum += pr.Confidence
			if pr.Confidence < 0 || pr.Confidence > 1 || (i > 0 && pr.Confidence > p[i-1].Confidence) {
				t.Errorf("Predict(%q) = %+v: confidences not in [0,1] best first", tt.text, p)
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("Predict(%q): confidences sum to %v, want 1", tt.text, sum)
		}
	}
}

func TestPredictConcurrent(t *testing.T) {
	m := mustTrain(t, small, Options{})
	want := make([][]Prediction, len(small))
	for i, e := range small {
		want[i] = m.Predict(e.Text, e.Facts)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (g + n) % len(small)
				if got := m.Predict(small[i].Text, small[i].Facts); !slices.Equal(got, want[i]) {
					errs <- small[i].Text
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for text := range errs {
		t.Errorf("a concurrent Predict(%q) differs from a lone one", text)
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	ex := Synthesize(small, 500, 1)
	a, _ := mustTrain(t, ex, Options{}).MarshalBinary()
	b, _ := mustTrain(t, ex, Options{}).MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Error("two trainings on the same examples give different models")
	}
	c, _ := mustTrain(t, ex, Options{Seed: 7}).MarshalBinary()
	if bytes.Equal(a, c) {
		t.Error("another seed gives the same model")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	m := mustTrain(t, Synthesize(small, 300, 2), Options{})
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(b)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !slices.Equal(got.Labels(), m.Labels()) || got.Examples() != m.Examples() {
		t.Errorf("loaded model has labels %q and %d examples, want %q and %d", got.Labels(), got.Examples(), m.Labels(), m.Examples())
	}
	texts := append([]Example{{Text: "something nobody wrote before"}, {Text: "wo ist mein Paket 123", Facts: Facts{"shipped", 30}}}, small...)
	for _, e := range texts {
		if a, b := m.Predict(e.Text, e.Facts), got.Predict(e.Text, e.Facts); !slices.Equal(a, b) {
			t.Errorf("Predict(%q): %+v before marshalling, %+v after", e.Text, a, b)
		}
	}
	again, _ := got.MarshalBinary()
	if !bytes.Equal(again, b) {
		t.Error("a loaded model marshals to other bytes")
	}
}

// withCRC returns b with its checksum recomputed, to reach the checks behind it.
func withCRC(b []byte) []byte {
	b = slices.Clone(b)
	body := b[:len(b)-4]
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(body))
	return b
}

func TestLoadRefuses(t *testing.T) {
	m := mustTrain(t, small, Options{Bits: 12})
	good, _ := m.MarshalBinary()
	version := slices.Clone(good)
	version[len(magic)] = formatVersion + 1
	flipped := slices.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	// The bits field follows the magic, the version and the examples' uvarint.
	hugeBits := slices.Clone(good)
	hugeBits[len(magic)+2] = 40
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"nothing", nil, "not a model"},
		{"garbage", []byte("this is not a model at all, just some text"), "not a model"},
		{"a gob", []byte{0x0d, 0xff, 0x81, 0x03, 0x01, 0x01, 0x05}, "not a model"},
		{"magic only", []byte(magic), "not a model"},
		{"unknown version", version, "format version 2"},
		{"unknown version with a good checksum", withCRC(version), "format version 2"},
		{"a byte changed", flipped, "checksum"},
		{"bad spec with a good checksum", withCRC(hugeBits), "bad feature spec"},
		{"extra bytes", append(slices.Clone(good), 0), "checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: model %v, error %v, want an error with %q", got != nil, err, tt.want)
			}
		})
	}
	// Every cut of a model is refused, with or without a checksum that fits.
	for n := 0; n < len(good)-4; n += max(1, len(good)/500) {
		if _, err := Load(good[:n]); err == nil {
			t.Fatalf("Load of the first %d of %d bytes succeeded", n, len(good))
		}
		if n >= 4 {
			if _, err := Load(withCRC(append(slices.Clone(good[:n]), 0, 0, 0, 0))); err == nil {
				t.Fatalf("Load of the first %d of %d bytes with a fitting checksum succeeded", n, len(good))
			}
		}
	}
}

// FuzzLoad checks that no input makes Load panic, and that what it accepts predicts.
func FuzzLoad(f *testing.F) {
	m, err := Train(small, Options{Bits: 10})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := m.MarshalBinary()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(magic + "\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := Load(b); err == nil {
			m.Predict("where is my order", Facts{"shipped", 3})
		}
		if m, err := Load(withCRCIfLong(b)); err == nil {
			m.Predict("where is my order", Facts{"shipped", 3})
		}
	})
}

func withCRCIfLong(b []byte) []byte {
	if len(b) < 4 {
		return b
	}
	return withCRC(b)
}

func TestReadTSV(t *testing.T) {
	in := "reason\torder\ttext\n" +
		"where_is_my_order\tshipped:10\tWhere is my parcel?\n" +
		"\n# a comment\n" +
		"product_question\t-\tIs it\twaterproof?\r\n"
	got, err := ReadTSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{Text: "Where is my parcel?", Facts: Facts{"shipped", 10}, Label: "where_is_my_order"},
		{Text: "Is it\twaterproof?", Label: "product_question"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadTSV = %+v, want %+v", got, want)
	}
	bad := []struct{ name, in, want string }{
		{"no header", "where_is_my_order\t-\thello\n", "line 1: want the header"},
		{"empty", "", "no header"},
		{"two columns", "reason\torder\ttext\nx\thello\n", "line 2: want 3 tab-separated columns"},
		{"bad order", "reason\torder\ttext\nx\tshipped\thello\n", `line 2: order "shipped"`},
		{"negative days", "reason\torder\ttext\nx\tshipped:-3\thello\n", "line 2: order"},
		{"no text", "reason\torder\ttext\nx\t-\t \n", "line 2: empty reason or text"},
	}
	for _, tt := range bad {
		if _, err := ReadTSV(strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ReadTSV error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	m := mustTrain(t, small, Options{})
	ev := Evaluate(m, small)
	if ev.Examples != len(small) || ev.Folds != 0 || len(ev.Scores) != 3 {
		t.Fatalf("Evaluate = %+v", ev)
	}
	if ev.Accuracy != 1 || ev.MacroF1 != 1 {
		t.Errorf("a model scored on its own training set: accuracy %v, macro-F1 %v, want 1", ev.Accuracy, ev.MacroF1)
	}
	// Scores by hand: truth a a b b, predicted a b b b.
	tl := newTally()
	tl.add("a", "a")
	tl.add("a", "b")
	tl.add("b", "b")
	tl.add("b", "b")
	got := tl.evaluation(2)
	want := []Score{{Label: "a", Precision: 1, Recall: 0.5, F1: 2.0 / 3, Support: 2}, {Label: "b", Precision: 2.0 / 3, Recall: 1, F1: 0.8, Support: 2}}
	for i := range want {
		g, w := got.Scores[i], want[i]
		if g.Label != w.Label || g.Support != w.Support || math.Abs(g.Precision-w.Precision) > 1e-12 || math.Abs(g.Recall-w.Recall) > 1e-12 || math.Abs(g.F1-w.F1) > 1e-12 {
			t.Errorf("score %d = %+v, want %+v", i, g, w)
		}
	}
	if math.Abs(got.MacroF1-(2.0/3+0.8)/2) > 1e-12 || got.Accuracy != 0.75 {
		t.Errorf("macro-F1 %v, accuracy %v", got.MacroF1, got.Accuracy)
	}
	var b strings.Builder
	if err := got.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"reason  precision  recall     F1  support", "     a      1.000   0.500  0.667        2",
		"macro-F1 0.733, accuracy 0.750 over 4 examples (2-fold cross-validation)"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("the table has no line %q:\n%s", line, b.String())
		}
	}
}

func TestCrossValidateErrors(t *testing.T) {
	for _, k := range []int{0, 1, len(small) + 1} {
		if _, err := CrossValidate(small, k, Options{}); err == nil {
			t.Errorf("CrossValidate with %d folds of %d examples succeeded", k, len(small))
		}
	}
}

func TestStratify(t *testing.T) {
	ex := Synthesize(small, 103, 3)
	folds := stratify(ex, 5, 1)
	perFold := map[int]int{}
	perLabelFold := map[string]map[int]int{}
	for i, f := range folds {
		perFold[f]++
		l := ex[i].Label
		if perLabelFold[l] == nil {
			perLabelFold[l] = map[int]int{}
		}
		perLabelFold[l][f]++
	}
	for f, n := range perFold {
		if n < 103/5 || n > 103/5+1 {
			t.Errorf("fold %d has %d examples, want 20 or 21", f, n)
		}
	}
	for l, m := range perLabelFold {
		lo, hi := math.MaxInt, 0
		for f := range 5 {
			lo, hi = min(lo, m[f]), max(hi, m[f])
		}
		if hi-lo > 1 {
			t.Errorf("label %s is spread %v over the folds", l, m)
		}
	}
}

func TestSplit(t *testing.T) {
	ex := Synthesize(small, 200, 4)
	train, test, err := Split(ex, 0.25, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(train)+len(test) != len(ex) || len(test) < 45 || len(test) > 55 {
		t.Errorf("Split gives %d and %d of %d", len(train), len(test), len(ex))
	}
	count := func(ex []Example) map[string]int {
		n := map[string]int{}
		for _, e := range ex {
			n[e.Label]++
		}
		return n
	}
	all, held := count(ex), count(test)
	for l, n := range all {
		if want := int(float64(n)*0.25 + 0.5); held[l] != want {
			t.Errorf("%s: %d of %d held out, want %d", l, held[l], n, want)
		}
	}
	again, _, _ := Split(ex, 0.25, 1)
	if !slices.Equal(again, train) {
		t.Error("Split with the same seed gives another split")
	}
	for _, share := range []float64{0, 1, -0.5, math.NaN()} {
		if _, _, err := Split(ex, share, 1); err == nil {
			t.Errorf("Split with a test share of %v succeeded", share)
		}
	}
}

func TestSynthesize(t *testing.T) {
	a, b := Synthesize(small, 50, 9), Synthesize(small, 50, 9)
	if !slices.Equal(a, b) || len(a) != 50 {
		t.Fatal("Synthesize is not deterministic")
	}
	for _, e := range a {
		ok := false
		for _, s := range small {
			ok = ok || (strings.HasPrefix(e.Text, s.Text) && s.Label == e.Label && s.Facts == e.Facts)
		}
		if !ok {
			t.Errorf("synthesized %+v starts with no base message of its label", e)
		}
	}
}

// Quality targets of issue 22: macro-F1 on held-out messages of each language.
var targets = map[string]float64{"en": 0.85, "de": 0.80, "fr": 0.80, "es": 0.80}

// TestQuality measures the classifier on the shipped evaluation set the way issue 22
// asks: trained on all languages together, each language scored on messages held out
// from training. A single 75/25 split leaves 7 or 8 messages of a reason per language
// in the test part, where one message moves a reason's F1 by 0.07 and the macro-F1 by
// 0.02 or more, so the split is made four times over, as 4-fold cross-validation
// stratified by reason with a fixed seed: every message is held out once, from a model
// trained on the other three quarters. Then it cross-validates over the whole set with
// 5 folds, the figure of `make bench`. The files ship with the repo: missing ones fail
// the test.
func TestQuality(t *testing.T) {
	for lang := range targets {
		if _, err := os.Stat(filepath.Join("testdata", "eval_"+lang+".tsv")); err != nil {
			t.Fatalf("the evaluation set of %s is missing: %v", lang, err)
		}
	}
	sets, err := EvalSets()
	if err != nil {
		t.Fatal(err)
	}
	for lang := range targets {
		if n := len(sets[lang]); n < 300 {
			t.Fatalf("the evaluation set of %s has %d messages, want at least 300", lang, n)
		}
	}
	byLang, _, err := CrossValidateGroups(sets, 4, Options{})
	if err != nil {
		t.Fatal(err)
	}
	langs := make([]string, 0, len(byLang))
	for lang := range byLang {
		langs = append(langs, lang)
	}
	sort.Strings(langs)
	for _, lang := range langs {
		ev := byLang[lang]
		var b strings.Builder
		ev.WriteTable(&b)
		t.Logf("%s, each quarter held out from a model trained on the rest of all languages:\n%s", lang, b.String())
		if ev.MacroF1 < targets[lang] {
			t.Errorf("%s: macro-F1 %.3f, want at least %.2f", lang, ev.MacroF1, targets[lang])
		}
	}

	if testing.Short() {
		return
	}
	all, err := EvalSet()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := CrossValidate(all, 5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	ev.WriteTable(&b)
	t.Logf("all languages:\n%s", b.String())
	if ev.MacroF1 < targets["de"] {
		t.Errorf("cross-validated macro-F1 %.3f over all languages, want at least %.2f", ev.MacroF1, targets["de"])
	}
}
