package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"parley/reasons"
)

// The reasons step's figures in bench/results.json.
const (
	keyReasonsTrainS     = "reasons_train_s"
	keyReasonsPredictP99 = "reasons_predict_p99_ms"
	keyReasonsMacroF1    = "reasons_macro_f1"
)

// benchReasons measures the contact-reason classifier in this process, without a
// server: one Train on 100,000 labelled messages (5,000 at the tiny scale) synthesised
// from the shipped evaluation set, each a message of the set followed by a run of words
// of another message of the same reason; the p99 of one Predict of the set's messages
// with that model; and the macro-F1 of 5-fold cross-validation over the shipped set
// (the figure `parley reasons eval --testdata` prints), with each language's figure
// from 4-fold cross-validation in the notes.
func benchReasons(sc scale, res *results) error {
	sets, err := reasons.EvalSets()
	if err != nil {
		return err
	}
	base, err := reasons.EvalSet()
	if err != nil {
		return err
	}
	n, iters := 100_000, 20_000
	if sc.Name == "tiny" {
		n, iters = 5_000, 2_000
	}
	train := reasons.Synthesize(base, n, 1)
	start := time.Now()
	m, err := reasons.Train(train, reasons.Options{})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	took := time.Since(start)
	res.set(keyReasonsTrainS, took.Seconds())

	lat := make(latencies, 0, iters)
	for i := range iters {
		e := base[i%len(base)]
		t := time.Now()
		m.Predict(e.Text, e.Facts)
		lat = append(lat, time.Since(t))
	}
	res.set(keyReasonsPredictP99, lat.pct(99))

	ev, err := reasons.CrossValidate(base, 5, reasons.Options{})
	if err != nil {
		return fmt.Errorf("cross-validate: %w", err)
	}
	res.set(keyReasonsMacroF1, ev.MacroF1)
	byLang, _, err := reasons.CrossValidateGroups(sets, 4, reasons.Options{})
	if err != nil {
		return fmt.Errorf("cross-validate by language: %w", err)
	}
	langs := make([]string, 0, len(byLang))
	for l := range byLang {
		langs = append(langs, fmt.Sprintf("%s %.3f", l, byLang[l].MacroF1))
	}
	sort.Strings(langs)
	res.note(fmt.Sprintf("reasons: trained on %d synthesised messages in %.1f s; predict p50 %.3f ms; macro-F1 %.3f (accuracy %.3f) by 5-fold cross-validation over the %d shipped messages, by language (4-fold) %s",
		n, took.Seconds(), lat.pct(50), ev.MacroF1, ev.Accuracy, len(base), strings.Join(langs, ", ")))
	return nil
}
