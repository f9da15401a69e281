package reasons

import (
	"math/rand/v2"
	"strings"
)

// Synthesize makes n labelled messages out of base, for benchmarks that need more
// tickets than a hand-written set has: each is a message of base followed by a run of
// words from another message of the same reason, with the first one's order facts. The
// same base, n and seed give the same messages.
func Synthesize(base []Example, n int, seed uint64) []Example {
	if len(base) == 0 || n <= 0 {
		return nil
	}
	byLabel := map[string][]int{}
	for i, e := range base {
		byLabel[e.Label] = append(byLabel[e.Label], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5e7))
	out := make([]Example, n)
	for i := range out {
		a := base[rng.IntN(len(base))]
		same := byLabel[a.Label]
		words := strings.Fields(base[same[rng.IntN(len(same))]].Text)
		from := rng.IntN(len(words))
		to := from + 1 + rng.IntN(len(words)-from)
		out[i] = Example{Text: a.Text + " " + strings.Join(words[from:to], " "), Facts: a.Facts, Label: a.Label}
	}
	return out
}
