package crm

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of what a ticket's reason carries.
const (
	// MaxReasonText is how much of what a customer wrote the classifier reads.
	MaxReasonText = 2000
	// MaxReasonSuggestions is how many of the classifier's reasons a ticket keeps.
	MaxReasonSuggestions = 5
)

var (
	reasonSlugRE   = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
	currencyCodeRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Check trims and checks in, in place: a name of 1 to MaxReasonName characters, a slug of
// a-z, 0-9 and _, a position of 0 to 1,000,000, at most MaxReasonTags tags, lower-cased,
// without repeats and sorted. Returns invalid.
func (in *ReasonInput) Check() error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if n := utf8.RuneCountInString(name); n < 1 || n > MaxReasonName {
			return Errorf(EINVALID, "a contact reason's name must be 1 to %d characters", MaxReasonName)
		}
		in.Name = &name
	}
	if in.Slug != nil {
		slug := strings.TrimSpace(*in.Slug)
		if !reasonSlugRE.MatchString(slug) {
			return Errorf(EINVALID, "a contact reason's slug must be 1 to 40 characters of a-z, 0-9 and _")
		}
		in.Slug = &slug
	}
	if in.Position != nil && (*in.Position < 0 || *in.Position > 1_000_000) {
		return Errorf(EINVALID, "a contact reason's position must be 0 to 1000000")
	}
	if in.Tags != nil {
		tags := []string{}
		for _, tag := range *in.Tags {
			tag = strings.ToLower(strings.TrimSpace(tag))
			if n := utf8.RuneCountInString(tag); n < 1 || n > 50 {
				return Errorf(EINVALID, "tags must be 1 to 50 characters")
			}
			if !slices.Contains(tags, tag) {
				tags = append(tags, tag)
			}
		}
		if len(tags) > MaxReasonTags {
			return Errorf(EINVALID, "a contact reason maps at most %d tags", MaxReasonTags)
		}
		slices.Sort(tags)
		in.Tags = &tags
	}
	return nil
}

// ReasonSlug makes a slug of a reason's name: its letters and digits in lower case,
// accents dropped, every other run of characters one underscore, at most 40 characters.
func ReasonSlug(name string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(name) {
		fold, ok := letterFolds[r]
		if !ok {
			fold = string(r)
		}
		for _, c := range fold {
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				if gap && b.Len() > 0 {
					b.WriteByte('_')
				}
				gap = false
				b.WriteRune(c)
			} else {
				gap = true
			}
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "_")
	}
	if s == "" {
		s = "reason" // a name without Latin letters or digits
	}
	return s
}

// letterFolds are the accented Latin letters of the shops' languages and their plain
// spellings, for slugs.
var letterFolds = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "c",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i",
	'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'œ': "oe",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y", 'ß': "ss",
}

// Check returns invalid unless s holds a threshold in [0, 1], an hourly cost of 0 or
// more and a currency code of three capital letters.
func (s *ReasonSettings) Check() error {
	switch {
	case s == nil:
		return Errorf(EINVALID, "settings required")
	case math.IsNaN(s.Threshold) || s.Threshold < 0 || s.Threshold > 1:
		return Errorf(EINVALID, "threshold must be between 0 and 1")
	case s.HourlyCost < 0:
		return Errorf(EINVALID, "hourly_cost must be 0 or more")
	case !currencyCodeRE.MatchString(s.Currency):
		return Errorf(EINVALID, "currency must be a three-letter currency code such as USD")
	}
	return nil
}

// ValidReasonSource reports whether s is a source of a ticket's reason.
func ValidReasonSource(s string) bool {
	switch s {
	case ReasonByAgent, ReasonByAuto, ReasonByTag, ReasonByRule:
		return true
	}
	return false
}

// ValidConfidence reports whether c is a confidence: a number in [0, 1].
func ValidConfidence(c float64) bool { return !math.IsNaN(c) && c >= 0 && c <= 1 }

// Check checks g and returns its source (auto when not given) and its suggestions by
// confidence, at most MaxReasonSuggestions. Returns invalid.
func (g ReasonGuess) Check() (string, []ReasonScore, error) {
	source := g.Source
	if source == "" {
		source = ReasonByAuto
	}
	if !ValidReasonSource(source) || source == ReasonByAgent {
		return "", nil, Errorf(EINVALID, "a guess comes from the classifier, a tag or a rule, not %q", g.Source)
	}
	if g.ReasonID < 0 || g.Model < 0 {
		return "", nil, Errorf(EINVALID, "invalid contact reason guess")
	}
	if !ValidConfidence(g.Confidence) {
		return "", nil, Errorf(EINVALID, "confidence must be between 0 and 1")
	}
	list := slices.Clone(g.Suggestions)
	for _, s := range list {
		if s.ReasonID <= 0 || !ValidConfidence(s.Confidence) {
			return "", nil, Errorf(EINVALID, "a suggestion needs a reason and a confidence between 0 and 1")
		}
	}
	slices.SortStableFunc(list, func(a, b ReasonScore) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return 0
	})
	if len(list) > MaxReasonSuggestions {
		list = list[:MaxReasonSuggestions]
	}
	return source, list, nil
}

// ApplyTo sets guess g on ticket t, which is being opened: the reason with g's
// confidence (to the millionth, as stored), else the suggestions. Returns invalid when
// g does not check (see Check).
func (g ReasonGuess) ApplyTo(t *Ticket) error {
	source, suggestions, err := g.Check()
	if err != nil {
		return err
	}
	if g.ReasonID != 0 {
		id := g.ReasonID
		t.ReasonID, t.ReasonSource, t.ReasonConfidence = &id, source, nil
		if source == ReasonByAuto {
			c := math.Round(g.Confidence*1e6) / 1e6
			t.ReasonConfidence = &c
		}
		return nil
	}
	if len(suggestions) > 0 {
		t.ReasonSuggestions = suggestions
	}
	return nil
}

// ApplyFirstGuess gives ticket t, about to be opened by a new customer's message, that
// message's guess g (nil: none; see GuesserSlot), as GuessReason would a moment later.
// It reports whether t got a reason or suggestions, and the model that guessed; a guess
// that does not check is left to the reasoner's worker.
func ApplyFirstGuess(t *Ticket, g *ReasonGuess) (model int64, ok bool) {
	if g == nil || g.ApplyTo(t) != nil || t.ReasonID == nil && len(t.ReasonSuggestions) == 0 {
		return 0, false
	}
	return g.Model, true
}

// ReasonColumns are the values of t's reason columns as both stores keep them: the
// reason id (nil for none), the confidence in millionths (nil for none) and the
// suggestions as JSON ("" for none).
func ReasonColumns(t *Ticket) (id, confidence any, suggestions string, err error) {
	if t.ReasonID != nil {
		id = *t.ReasonID
	}
	if t.ReasonConfidence != nil {
		confidence = int64(math.Round(*t.ReasonConfidence * 1e6))
	}
	if len(t.ReasonSuggestions) > 0 {
		b, err := json.Marshal(t.ReasonSuggestions)
		if err != nil {
			return nil, nil, "", fmt.Errorf("marshal reason suggestions: %w", err)
		}
		suggestions = string(b)
	}
	return id, confidence, suggestions, nil
}

// SameReason reports whether a and b have the same reason, source, confidence and
// suggestions.
func SameReason(a, b *Ticket) bool {
	eq := func(x, y *int64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	fq := func(x, y *float64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return eq(a.ReasonID, b.ReasonID) && a.ReasonSource == b.ReasonSource && fq(a.ReasonConfidence, b.ReasonConfidence) &&
		slices.Equal(a.ReasonSuggestions, b.ReasonSuggestions)
}

// ReasonText is what the classifier reads of a ticket: its subject, then what the
// customer wrote, at most MaxReasonText characters.
func ReasonText(subject, msgs string) string {
	text := subject
	if msgs != "" {
		text += "\n" + msgs
	}
	return CutRunes(text, MaxReasonText)
}

// The suggested replies' index keeps, per ticket with a reason, what its customer wrote
// as words prefixed with the reason (ReasonTerm), so that a word's entries in a
// full-text index are those of one reason; both stores build it with ReasonIndexText.
const (
	maxIndexedWords = 300 // distinct words of a ticket that are indexed
	maxWordRunes    = 64  // a longer word is cut, as the stores' search does
)

// ReasonWords returns the distinct words of s in the order they first appear,
// lower-cased and cut to 64 characters, leaving out one-letter words, at most most of
// them: runs of letters, digits and marks, as the full-text indexes split text.
func ReasonWords(s string, most int) []string {
	var out []string
	seen := map[string]bool{}
	var cur []rune
	flush := func() {
		if len(cur) > 1 {
			if len(cur) > maxWordRunes {
				cur = cur[:maxWordRunes]
			}
			if w := string(cur); !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
		cur = cur[:0]
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			cur = append(cur, unicode.ToLower(r))
			continue
		}
		flush()
		if len(out) == most {
			return out
		}
	}
	flush()
	if len(out) > most {
		out = out[:most]
	}
	return out
}

// ReasonTerm is word as the index of reason keeps it. The prefix ends at the first x, so
// no two reasons and words make the same term.
func ReasonTerm(reason int64, word string) string {
	return "r" + strconv.FormatInt(reason, 10) + "x" + word
}

// ReasonIndexText is the indexed text of a ticket of reason whose customer wrote text. A
// tool that writes tickets with reasons straight into a database writes it too.
func ReasonIndexText(reason int64, text string) string {
	words := ReasonWords(text, maxIndexedWords)
	for i, w := range words {
		words[i] = ReasonTerm(reason, w)
	}
	return strings.Join(words, " ")
}
