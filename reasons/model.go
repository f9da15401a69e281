// Package reasons is Parley's local contact-reason classifier: a multinomial logistic
// regression over hashed word, word-bigram and char n-gram features of a customer's
// message, plus features of the customer's latest order. It works the same way in
// English, German, French and Spanish (and passably in any language written with
// letters), needs no outside service, trains on 100,000 tickets in seconds and
// predicts in microseconds. docs/reasons-classifier.md explains the choices and the
// figures.
package reasons

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Facts is what the classifier knows beside the text: the customer's latest order.
type Facts struct {
	OrderStatus  string // placed, paid, shipped, delivered, cancelled, refunded; "" when none
	OrderAgeDays int    // days since the order reached OrderStatus
}

// Example is one labelled message. Label is a reason slug.
type Example struct {
	Text  string
	Facts Facts
	Label string
}

// Prediction is one reason with the model's confidence in it, in [0, 1].
type Prediction struct {
	Label      string
	Confidence float64
}

// Options tune training. The zero value gives the defaults that
// docs/reasons-classifier.md measures; the fields exist for experiments and tests.
type Options struct {
	// Bits is the log2 of the number of hashed feature buckets, 10 to 24; 0 means 18.
	// The model holds 2^Bits times the number of labels weights.
	Bits int
	// Epochs is the number of passes over the examples; 0 chooses by their number:
	// 20 over a few thousand, fewer over more, 3 from 100,000.
	Epochs int
	// L2 is the strength of the L2 regularisation; 0 means 1e-3 and a negative value
	// turns it off.
	L2 float64
	// LearningRate is the step of AdaGrad; 0 means 0.05.
	LearningRate float64
	// Seed fixes the order in which examples are visited; the same examples, options
	// and seed give the same model, byte for byte.
	Seed uint64
	// NoCharGrams, NoBigrams, NoStem and NoFacts leave out char n-grams (3 to 5
	// letters), word bigrams, light suffix stripping and the order facts.
	NoCharGrams, NoBigrams, NoStem, NoFacts bool
}

// Defaults of Options.
const (
	defaultBits = 18
	defaultL2   = 1e-3
	defaultRate = 0.05
	defaultSeed = 22
)

// Model is a trained classifier. It is immutable, so Predict is safe for concurrent
// use.
type Model struct {
	spec     featureSpec
	labels   []string
	examples int
	// The weights: 2^bits rows of len(labels), each row stored as bytes times its
	// scale. Eight bits a weight keep a model trained on many tickets a few MB, and
	// change no prediction that matters (the rounding is below 1/254 of a row's
	// largest weight).
	q        []int8
	rowScale []float32
	bias     []float32
	pool     sync.Pool // *scratch
}

// Labels returns the reasons the model knows, sorted.
func (m *Model) Labels() []string { return slices.Clone(m.labels) }

// Examples returns how many examples the model was trained on.
func (m *Model) Examples() int { return m.examples }

// Train fits a model to examples. It fails when there are no examples, when an example
// has no label (or one over 200 bytes), when the examples have fewer than two labels
// (a classifier needs a choice to make) or more than 1,000, and on bad options.
func Train(examples []Example, opts Options) (*Model, error) {
	if len(examples) == 0 {
		return nil, errors.New("train: no examples")
	}
	index := map[string]int{}
	for i, e := range examples {
		if strings.TrimSpace(e.Label) == "" {
			return nil, fmt.Errorf("train: example %d has no label", i+1)
		}
		if len(e.Label) > maxLabelBytes {
			return nil, fmt.Errorf("train: example %d has a label of %d bytes, want at most %d", i+1, len(e.Label), maxLabelBytes)
		}
		index[e.Label] = 0
	}
	if len(index) < 2 {
		return nil, fmt.Errorf("train: %d examples of one label %q: need at least two labels", len(examples), examples[0].Label)
	}
	if len(index) > maxLabels {
		return nil, fmt.Errorf("train: %d labels, want at most %d", len(index), maxLabels)
	}
	spec, err := opts.spec()
	if err != nil {
		return nil, err
	}
	labels := make([]string, 0, len(index))
	for l := range index {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for i, l := range labels {
		index[l] = i
	}
	y := make([]int, len(examples))
	for i, e := range examples {
		y[i] = index[e.Label]
	}
	if (1<<spec.bits)*len(labels) > maxWeights {
		return nil, fmt.Errorf("train: 2^%d buckets of %d labels are too many weights: lower Bits", spec.bits, len(labels))
	}
	m := newModel(spec, labels, len(examples))
	m.fit(examples, y, opts)
	return m, nil
}

// spec checks the options and returns the feature spec they describe.
func (o Options) spec() (featureSpec, error) {
	s := featureSpec{bits: defaultBits, charMin: 3, charMax: 5, bigrams: !o.NoBigrams, stem: !o.NoStem,
		wordWeight: 1, charWeight: 2, factWeight: 0.75, markWeight: 0.75}
	if o.Bits != 0 {
		if o.Bits < 10 || o.Bits > 24 {
			return s, fmt.Errorf("train: bits %d: want 10 to 24", o.Bits)
		}
		s.bits = uint8(o.Bits)
	}
	if o.NoCharGrams {
		s.charMin, s.charMax = 0, 0
	}
	if o.NoFacts {
		s.factWeight = 0
	}
	if o.Epochs < 0 || o.LearningRate < 0 || math.IsNaN(o.L2) || math.IsNaN(o.LearningRate) {
		return s, errors.New("train: epochs and learning rate must not be negative")
	}
	return s, nil
}

func newModel(spec featureSpec, labels []string, examples int) *Model {
	m := &Model{spec: spec, labels: labels, examples: examples,
		q: make([]int8, (1<<spec.bits)*len(labels)), rowScale: make([]float32, 1<<spec.bits), bias: make([]float32, len(labels))}
	m.initPool()
	return m
}

func (m *Model) initPool() {
	n := len(m.labels)
	m.pool.New = func() any { return &scratch{scores: make([]float64, n)} }
}

// batch is a run of examples' features handed from the extracting goroutine to the
// learning one.
type batch struct {
	feats []feature
	ends  []int // feats[ends[i-1]:ends[i]] are example i's
	ys    []int
}

// fit minimises the multinomial logistic loss with L2 regularisation by stochastic
// gradient descent with AdaGrad steps: each weight's step shrinks with the gradients it
// has seen, so the weights of rare words and n-grams (most of them) still move when the
// frequent ones have settled. The L2 penalty is applied to the weights of the features
// an example has, when it has them. One goroutine extracts features in the visiting
// order while this one learns, so training uses two cores and stays deterministic: the
// order of updates is fixed by the seed alone. Features are extracted anew each pass
// instead of kept, which holds memory to a few batches however many examples there are.
func (m *Model) fit(examples []Example, y []int, opts Options) {
	epochs := opts.Epochs
	if epochs == 0 {
		// Small sets need more passes to converge; large ones converge in a few.
		epochs = min(20, max(3, 300_000/len(examples)))
	}
	lambda := opts.L2
	switch {
	case lambda == 0:
		lambda = defaultL2
	case lambda < 0:
		lambda = 0
	}
	rate := opts.LearningRate
	if rate == 0 {
		rate = defaultRate
	}
	seed := opts.Seed
	if seed == 0 {
		seed = defaultSeed
	}

	const batchSize = 256
	const cacheFeatures = 4 << 20 // 32 MB of features at most
	work := make(chan *batch, 4)
	free := make(chan *batch, 6)
	for range cap(free) {
		free <- &batch{}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(work)
		sc := &scratch{}
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		order := make([]int, len(examples))
		for i := range order {
			order[i] = i
		}
		// The features of the first examples are kept from the first epoch to the next,
		// up to cacheFeatures in all: small sets take many epochs, and extracting the
		// same features again is most of their training time.
		cache := make([][]feature, len(examples))
		cached := 0
		features := func(i int) []feature {
			if cache[i] != nil {
				return cache[i]
			}
			x := m.spec.extract(examples[i].Text, examples[i].Facts, sc)
			if cached+len(x) <= cacheFeatures {
				cache[i] = slices.Clone(x)
				cached += len(x)
			}
			return x
		}
		for range epochs {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for start := 0; start < len(order); start += batchSize {
				var b *batch
				select {
				case b = <-free:
				case <-done:
					return
				}
				b.feats, b.ends, b.ys = b.feats[:0], b.ends[:0], b.ys[:0]
				for _, i := range order[start:min(start+batchSize, len(order))] {
					b.feats = append(b.feats, features(i)...)
					b.ends = append(b.ends, len(b.feats))
					b.ys = append(b.ys, y[i])
				}
				work <- b
			}
		}
	}()

	L := len(m.labels)
	w := make([]float32, len(m.q))
	sq := make([]float32, 1<<m.spec.bits) // AdaGrad's sums of squared gradients, a row each
	sqBias := make([]float64, L)
	bias := m.bias
	scores := make([]float64, L)
	grad := make([]float32, L)
	lam, eta := float32(lambda), float32(rate)
	for b := range work {
		from := 0
		for k, end := range b.ends {
			x := b.feats[from:end]
			from = end
			scoreFloat(w, bias, x, scores)
			softmax(scores)
			var gg float32 // the squared norm of the gradient over the labels
			for l := range L {
				g := scores[l]
				if l == b.ys[k] {
					g--
				}
				sqBias[l] += g * g
				bias[l] -= float32(rate * g / (math.Sqrt(sqBias[l]) + 1e-6))
				grad[l] = float32(g)
				gg += float32(g * g)
			}
			step(w, sq, grad, x, gg, eta, lam)
		}
		free <- b
	}
	m.quantize(w)
}

// step moves the weights of the features x against the gradient grad (gg its squared
// norm), AdaGrad's step size per feature, with the L2 penalty.
//
// The weights and the sums belong to the one goroutine that trains: there is nothing for
// the race detector to find here, and its checks of every access would make `go test
// -race` train fifty times slower (go:norace).
//
//go:norace
func step(w, sq, grad []float32, x []feature, gg, eta, lam float32) {
	L := len(grad)
	for _, f := range x {
		o := int(f.idx) * L
		row := w[o : o+L]
		// The row's mean squared gradient of the loss: the step size only needs its
		// scale, and the penalty's share is small.
		sq[f.idx] += gg * f.val * f.val / float32(L)
		step := eta / (sqrt32(sq[f.idx]) + 1e-6)
		for l, g := range grad {
			row[l] -= step * (g*f.val + lam*row[l])
		}
	}
}

func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

// quantize stores the weights w times scale in m, a byte a weight with a scale a row.
func (m *Model) quantize(w []float32) {
	L := len(m.labels)
	for r := range m.rowScale {
		row := w[r*L : r*L+L]
		var top float32
		for _, v := range row {
			top = max(top, v, -v)
		}
		if top == 0 {
			continue
		}
		rs := top / 127
		m.rowScale[r] = rs
		for l, v := range row {
			m.q[r*L+l] = int8(math.Round(float64(v / rs)))
		}
	}
}

// scoreFloat writes the raw scores of the features x into out: the scores during
// training, on the training goroutine's own weights (go:norace, as step).
//
//go:norace
func scoreFloat(w, bias []float32, x []feature, out []float64) {
	L := len(bias)
	var acc [64]float32
	var sum []float32
	if L <= len(acc) {
		sum = acc[:L]
	} else {
		sum = make([]float32, L)
	}
	for _, f := range x {
		row := w[int(f.idx)*L : int(f.idx)*L+L]
		for l, wl := range row {
			sum[l] += wl * f.val
		}
	}
	for l := range out {
		out[l] = float64(sum[l]) + float64(bias[l])
	}
}

// score writes the raw scores of the features x into out.
func (m *Model) score(x []feature, out []float64) {
	L := len(m.labels)
	var acc [64]float32
	var sum []float32
	if L <= len(acc) {
		sum = acc[:L]
	} else {
		sum = make([]float32, L)
	}
	for _, f := range x {
		v := f.val * m.rowScale[f.idx]
		if v == 0 {
			continue
		}
		row := m.q[int(f.idx)*L : int(f.idx)*L+L]
		for l, ql := range row {
			sum[l] += float32(ql) * v
		}
	}
	for l := range out {
		out[l] = float64(sum[l]) + float64(m.bias[l])
	}
}

// softmax turns scores into probabilities in place.
func softmax(s []float64) {
	top := math.Inf(-1)
	for _, v := range s {
		top = max(top, v)
	}
	var sum float64
	for i, v := range s {
		s[i] = math.Exp(v - top)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
}

// Predict returns every label of the model with its confidence, best first; the
// confidences sum to 1. Ties keep the labels' sorted order. It is safe for concurrent
// use and allocates only the returned slice.
func (m *Model) Predict(text string, f Facts) []Prediction {
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	x := m.spec.extract(text, f, sc)
	m.score(x, sc.scores)
	softmax(sc.scores)
	out := make([]Prediction, len(m.labels))
	for i, l := range m.labels {
		out[i] = Prediction{Label: l, Confidence: sc.scores[i]}
	}
	slices.SortStableFunc(out, func(a, b Prediction) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return 0
	})
	return out
}

// best returns the index of the most likely label of text and f.
func (m *Model) best(text string, f Facts) int {
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	m.score(m.spec.extract(text, f, sc), sc.scores)
	top := 0
	for i, v := range sc.scores {
		if v > sc.scores[top] {
			top = i
		}
	}
	return top
}
