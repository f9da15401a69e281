package main

import (
	"math/rand/v2"
	"strings"
)

// commonWords are the most frequent words of the generated text, in order, so that
// searches for them behave like searches on a real helpdesk.
var commonWords = strings.Fields(`order the my and to a is it of for you i was not
	refund shipping delivery package tracking number please help thanks hello where return
	received damaged wrong size color item payment card charged twice cancel address
	change account password login email invoice discount code coupon sale price stock
	available when will arrive week days late still waiting courier label exchange broken
	missing parcel warehouse customer service support reply urgent today tomorrow monday
	friday store online website checkout cart shoe shirt jacket dress bag watch phone case
	charger cable battery screen laptop camera lens gift wrap note message subscription
	renewal plan upgrade downgrade points loyalty voucher balance bank transfer paypal
	receipt warranty repair replacement manual instructions assembly fit small large
	medium quality material cotton leather wool price match review photo video`)

var syllables = strings.Fields(`ka lo mi ne ru sa ti vo ba de fi go hu ja ke li mo nu pa
	qui re se to un ve wa xi yo ze bri cla dro fle gra plo stu tra`)

// vocabulary is commonWords followed by made-up words, 5,000 in all.
type vocabulary struct {
	words []string
}

func newVocabulary() *vocabulary {
	v := &vocabulary{words: append([]string(nil), commonWords...)}
	seen := map[string]bool{}
	for _, w := range v.words {
		seen[w] = true
	}
	r := rand.New(rand.NewPCG(1, 2))
	for len(v.words) < 5000 {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			v.words = append(v.words, w)
		}
	}
	return v
}

// text is a generator of message-like text with Zipf-distributed words.
type text struct {
	v *vocabulary
	r *rand.Rand
	z *rand.Zipf
}

func (v *vocabulary) text(seed uint64) *text {
	r := rand.New(rand.NewPCG(seed, 7))
	return &text{v: v, r: r, z: rand.NewZipf(r, 1.1, 2, uint64(len(v.words)-1))}
}

// words returns n to m words as a sentence.
func (t *text) words(n, m int) string {
	k := n + t.r.IntN(m-n+1)
	parts := make([]string, k)
	for i := range parts {
		parts[i] = t.v.words[t.z.Uint64()]
	}
	return strings.Join(parts, " ")
}

// queries returns n search queries of the given kind: "one" word, "two" words or a
// 3-letter "prefix", drawn from ranks 10 to 500, from the common to the rarer words.
func (v *vocabulary) queries(kind string, n int) []string {
	r := rand.New(rand.NewPCG(uint64(len(kind)), 11))
	pick := func() string {
		for {
			if w := v.words[10+r.IntN(490)]; len(w) >= 3 {
				return w
			}
		}
	}
	q := make([]string, n)
	for i := range q {
		switch kind {
		case "one":
			q[i] = pick()
		case "two":
			q[i] = pick() + " " + pick()
		default:
			q[i] = pick()[:3]
		}
	}
	return q
}
