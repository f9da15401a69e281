package reasons

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"text/tabwriter"
)

// Score is the quality of one reason: of the messages predicted as Label, the share
// that are (Precision); of the messages that are, the share predicted (Recall); their
// harmonic mean (F1); and how many test messages are Label (Support).
type Score struct {
	Label                 string
	Precision, Recall, F1 float64
	Support               int
}

// Evaluation is the quality of a model on test messages: a Score per reason, sorted by
// reason, the mean F1 of the reasons (MacroF1) and the share of messages predicted
// right (Accuracy). Folds is the k of a cross-validation, 0 for one test set.
type Evaluation struct {
	Scores            []Score
	MacroF1, Accuracy float64
	Examples, Folds   int
}

// tally counts predictions against the truth.
type tally struct {
	truth, predicted, right map[string]int
	n, correct              int
}

func newTally() *tally {
	return &tally{truth: map[string]int{}, predicted: map[string]int{}, right: map[string]int{}}
}

func (t *tally) add(truth, predicted string) {
	t.n++
	t.truth[truth]++
	t.predicted[predicted]++
	if truth == predicted {
		t.right[truth]++
		t.correct++
	}
}

// evaluation computes the scores. The reasons that count are those of the test
// messages and those predicted: a reason the model predicts but no test message has
// scores 0 and lowers the macro-F1, as it should.
func (t *tally) evaluation(folds int) Evaluation {
	e := Evaluation{Examples: t.n, Folds: folds}
	seen := map[string]bool{}
	for l := range t.truth {
		seen[l] = true
	}
	for l := range t.predicted {
		seen[l] = true
	}
	for l := range seen {
		s := Score{Label: l, Support: t.truth[l]}
		if p := t.predicted[l]; p > 0 {
			s.Precision = float64(t.right[l]) / float64(p)
		}
		if s.Support > 0 {
			s.Recall = float64(t.right[l]) / float64(s.Support)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		e.Scores = append(e.Scores, s)
		e.MacroF1 += s.F1
	}
	sort.Slice(e.Scores, func(i, j int) bool { return e.Scores[i].Label < e.Scores[j].Label })
	if len(e.Scores) > 0 {
		e.MacroF1 /= float64(len(e.Scores))
	}
	if t.n > 0 {
		e.Accuracy = float64(t.correct) / float64(t.n)
	}
	return e
}

// Evaluate predicts every test message with m and scores the best reason against the
// message's label.
func Evaluate(m *Model, test []Example) Evaluation {
	t := newTally()
	for _, e := range test {
		t.add(e.Label, m.labels[m.best(e.Text, e.Facts)])
	}
	return t.evaluation(0)
}

// CrossValidate estimates how well a model trained on examples predicts messages it has
// not seen: stratified k-fold cross-validation, where each reason's examples are spread
// evenly over k folds, each fold is predicted by a model trained on the other k-1, and
// all the predictions are scored together. The folds come from a fixed seed, so the
// same examples give the same figures. It fails when k is below 2 or above the number
// of examples, or when a fold's training part has fewer than two reasons.
func CrossValidate(examples []Example, k int, opts Options) (Evaluation, error) {
	_, all, err := CrossValidateGroups(map[string][]Example{"": examples}, k, opts)
	return all, err
}

// CrossValidateGroups is CrossValidate over groups of examples, such as languages,
// that are learnt together and scored apart: each group is split into k stratified
// folds, fold i of every group is predicted by one model trained on the other folds of
// all groups, and the predictions are scored per group and over all. Every message is
// held out once, so with k = 4 this is four 75/25 splits that together cover the set.
func CrossValidateGroups(groups map[string][]Example, k int, opts Options) (map[string]Evaluation, Evaluation, error) {
	names := make([]string, 0, len(groups))
	n := 0
	for g, ex := range groups {
		names = append(names, g)
		n += len(ex)
	}
	if k < 2 || k > n {
		return nil, Evaluation{}, fmt.Errorf("cross-validate: %d folds of %d examples: want 2 to the number of examples", k, n)
	}
	sort.Strings(names)
	folds := map[string][]int{}
	tallies := map[string]*tally{}
	for _, g := range names {
		folds[g] = stratify(groups[g], k, cvSeed)
		tallies[g] = newTally()
	}
	all := newTally()
	for f := range k {
		var train []Example
		for _, g := range names {
			for i, e := range groups[g] {
				if folds[g][i] != f {
					train = append(train, e)
				}
			}
		}
		m, err := Train(train, opts)
		if err != nil {
			return nil, Evaluation{}, fmt.Errorf("cross-validate: fold %d: %w", f+1, err)
		}
		for _, g := range names {
			for i, e := range groups[g] {
				if folds[g][i] == f {
					p := m.labels[m.best(e.Text, e.Facts)]
					tallies[g].add(e.Label, p)
					all.add(e.Label, p)
				}
			}
		}
	}
	byGroup := make(map[string]Evaluation, len(names))
	for _, g := range names {
		byGroup[g] = tallies[g].evaluation(k)
	}
	return byGroup, all.evaluation(k), nil
}

// cvSeed fixes the folds of cross-validation.
const cvSeed = 0xf01d

// stratify assigns each example one of k folds, so that every label's examples are
// spread as evenly as possible, in a shuffled order fixed by seed. The folds a label's
// remainder lands on rotate from label to label, so that the folds stay even in size.
func stratify(examples []Example, k int, seed uint64) []int {
	byLabel := map[string][]int{}
	for i, e := range examples {
		byLabel[e.Label] = append(byLabel[e.Label], i)
	}
	labels := make([]string, 0, len(byLabel))
	for l := range byLabel {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	rng := rand.New(rand.NewPCG(seed, uint64(k)))
	folds := make([]int, len(examples))
	next := 0
	for _, l := range labels {
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			folds[i] = next
			next = (next + 1) % k
		}
	}
	return folds
}

// Split divides examples into a training and a test part, stratified by label: of
// every label's examples, testShare (rounded) go to the test part, chosen by a shuffle
// fixed by seed.
func Split(examples []Example, testShare float64, seed uint64) (train, test []Example, err error) {
	if !(testShare > 0 && testShare < 1) {
		return nil, nil, errors.New("split: the test share must be between 0 and 1")
	}
	byLabel := map[string][]int{}
	var labels []string
	for i, e := range examples {
		if _, ok := byLabel[e.Label]; !ok {
			labels = append(labels, e.Label)
		}
		byLabel[e.Label] = append(byLabel[e.Label], i)
	}
	sort.Strings(labels)
	rng := rand.New(rand.NewPCG(seed, 0x5b17))
	inTest := make([]bool, len(examples))
	for _, l := range labels {
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		n := int(float64(len(idx))*testShare + 0.5)
		for _, i := range idx[:n] {
			inTest[i] = true
		}
	}
	for i, e := range examples {
		if inTest[i] {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test, nil
}

// WriteTable writes e for people: a row per reason with precision, recall, F1 and
// support, then the macro-F1 and the accuracy.
func (e Evaluation) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "reason\tprecision\trecall\tF1\tsupport\t")
	for _, s := range e.Scores {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%d\t\n", s.Label, s.Precision, s.Recall, s.F1, s.Support)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	how := "one test set"
	if e.Folds > 0 {
		how = fmt.Sprintf("%d-fold cross-validation", e.Folds)
	}
	_, err := fmt.Fprintf(w, "macro-F1 %.3f, accuracy %.3f over %d examples (%s)\n", e.MacroF1, e.Accuracy, e.Examples, how)
	return err
}
