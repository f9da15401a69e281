package reasons

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Seeds of the feature kinds, so that the word "an" and the char n-gram "an" are
// different features.
const (
	seedWord   = 0x9e3779b97f4a7c15
	seedBigram = 0xc2b2ae3d27d4eb4f
	seedChar   = 0x165667b19e3779f9
	seedFact   = 0x27d4eb2f165667c5
)

// featureSpec is how a model turns a text and its facts into features. It is part of
// the model: a loaded model extracts exactly what it was trained on.
type featureSpec struct {
	bits       uint8   // log2 of the hashed feature space
	charMin    uint8   // shortest char n-gram, in letters; 0: none
	charMax    uint8   // longest char n-gram
	bigrams    bool    // word bigrams
	stem       bool    // light suffix stripping of words (not of char n-grams)
	wordWeight float32 // L2 norm of the word part of a text's vector
	charWeight float32 // L2 norm of the char n-gram part
	factWeight float32 // value of each order fact feature
	markWeight float32 // value of the features of a text that asks (?) or exclaims (!)
}

// feature is one hashed feature with its value. The same index may appear twice when
// two kinds collide in the hash space; a linear model just adds them.
type feature struct {
	idx uint32
	val float32
}

// scratch is the per-call working memory of feature extraction, pooled by the model so
// that a prediction allocates almost nothing.
type scratch struct {
	tok    tokenizer
	words  []uint32 // hashed word features of the text, before counting
	chars  []uint32
	pad    []byte // a word between boundary marks, for char n-grams
	pos    []int  // rune starts of pad
	fact   []byte // the names of the fact features
	feats  []feature
	scores []float64
}

// hashBytes is FNV-1a over b, started from seed, finished with a mixer so that the
// high bits (which pick the bucket) depend on every byte.
func hashBytes[T string | []byte](seed uint64, b T) uint64 {
	h := seed ^ 0xcbf29ce484222325
	for i := 0; i < len(b); i++ {
		h ^= uint64(b[i])
		h *= 0x100000001b3
	}
	return mix(h)
}

// mix is the finaliser of SplitMix64.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// bucket maps a hash onto the feature space of 2^bits buckets.
func (s *featureSpec) bucket(h uint64) uint32 { return uint32(h >> (64 - s.bits)) }

// extract fills sc.feats with the features of text and f.
func (s *featureSpec) extract(text string, f Facts, sc *scratch) []feature {
	sc.tok.tokenize(text)
	sc.words, sc.chars, sc.feats = sc.words[:0], sc.chars[:0], sc.feats[:0]
	var prev uint64
	for i := range sc.tok.toks {
		w := sc.tok.word(i)
		base := w
		if s.stem {
			base = stem(w)
		}
		h := hashBytes(seedWord, base)
		sc.words = append(sc.words, s.bucket(h))
		if s.bigrams && i > 0 {
			sc.words = append(sc.words, s.bucket(mix(prev*31^h^seedBigram)))
		}
		prev = h
		if s.charMin > 0 && string(w) != numToken {
			sc.chars = s.charGrams(w, sc)
		}
	}
	sc.feats = appendGroup(sc.feats, sc.words, s.wordWeight)
	sc.feats = appendGroup(sc.feats, sc.chars, s.charWeight)
	if s.markWeight > 0 && strings.ContainsAny(text, "?¿") {
		sc.feats = append(sc.feats, feature{s.bucket(hashBytes(seedFact, "__question")), s.markWeight})
	}
	if s.markWeight > 0 && strings.ContainsAny(text, "!¡") {
		sc.feats = append(sc.feats, feature{s.bucket(hashBytes(seedFact, "__exclaim")), s.markWeight})
	}
	if s.factWeight > 0 {
		names, first := factNames(sc.fact[:0], f)
		sc.fact = names
		sc.feats = append(sc.feats, feature{s.bucket(hashBytes(seedFact, names[:first])), s.factWeight})
		if first < len(names) {
			sc.feats = append(sc.feats, feature{s.bucket(hashBytes(seedFact, names)), s.factWeight})
		}
	}
	return sc.feats
}

// charGrams appends the hashed char n-grams of w, between the boundary marks < and >,
// to sc.chars. They are counted in letters, not bytes.
func (s *featureSpec) charGrams(w []byte, sc *scratch) []uint32 {
	sc.pad = append(append(append(sc.pad[:0], '<'), w...), '>')
	sc.pos = sc.pos[:0]
	for i, c := range sc.pad {
		if c < utf8.RuneSelf || c >= 0xC0 {
			sc.pos = append(sc.pos, i)
		}
	}
	sc.pos = append(sc.pos, len(sc.pad))
	runes := len(sc.pos) - 1
	lo, hi := int(s.charMin), int(s.charMax)
	for i := 0; i+lo <= runes; i++ {
		h := uint64(seedChar ^ 0xcbf29ce484222325)
		for n := 1; n <= hi && i+n <= runes; n++ {
			for _, c := range sc.pad[sc.pos[i+n-1]:sc.pos[i+n]] {
				h ^= uint64(c)
				h *= 0x100000001b3
			}
			if n >= lo {
				sc.chars = append(sc.chars, s.bucket(mix(h)))
			}
		}
	}
	return sc.chars
}

// appendGroup counts the hashed features of one kind, weighs each by 1+ln(count) and
// scales the group to the L2 norm weight, so that a long text does not shout down a
// short one and each kind has the say its weight gives it.
func appendGroup(dst []feature, idx []uint32, weight float32) []feature {
	if len(idx) == 0 || weight == 0 {
		return dst
	}
	slices.Sort(idx)
	first := len(dst)
	var norm float64
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && idx[j] == idx[i] {
			j++
		}
		v := 1 + math.Log(float64(j-i))
		norm += v * v
		dst = append(dst, feature{idx[i], float32(v)})
		i = j
	}
	scale := float32(float64(weight) / math.Sqrt(norm))
	for i := first; i < len(dst); i++ {
		dst[i].val *= scale
	}
	return dst
}

// ageBuckets are the upper bounds (inclusive) of the order age buckets, in days.
var ageBuckets = []struct {
	max  int
	name string
}{{2, "0_2"}, {6, "3_6"}, {13, "7_13"}, {math.MaxInt, "14plus"}}

// factNames appends the names of the fact features of f to buf: the order's status
// ("__order_shipped") followed by the status with its age bucket
// ("__order_shipped_age_7_13"), or only "__no_order". The first name is
// names[:first]; when first is len(names) there is no second.
func factNames(buf []byte, f Facts) (names []byte, first int) {
	st := strings.TrimSpace(f.OrderStatus)
	if st == "" {
		buf = append(buf, "__no_order"...)
		return buf, len(buf)
	}
	buf = append(buf, "__order_"...)
	for _, r := range st {
		switch {
		case r == ' ' || r == '-':
			r = '_'
		default:
			r = unicode.ToLower(r)
		}
		buf = utf8.AppendRune(buf, r)
	}
	first = len(buf)
	buf = append(buf, "_age_"...)
	for _, b := range ageBuckets {
		if f.OrderAgeDays <= b.max {
			buf = append(buf, b.name...)
			break
		}
	}
	return buf, first
}

// FactFeatures returns the names of the features that f adds to a text, such as
// "__order_shipped" and "__order_shipped_age_7_13", or "__no_order".
func FactFeatures(f Facts) []string {
	names, first := factNames(nil, f)
	if first == len(names) {
		return []string{string(names)}
	}
	return []string{string(names[:first]), string(names)}
}
