package reasons

import (
	"unicode"
	"unicode/utf8"
)

// numToken is what every number becomes: order numbers, amounts and dates differ in
// every message, while "there is a number here" is what carries meaning. It holds a
// digit, which no word token can, so it never collides with a word.
const numToken = "0"

// maxTokens bounds the words read from one text: the reason of a message is in its
// first lines, and a pasted mail thread must not make one prediction slow.
const maxTokens = 150

// folds maps the accented letters of the Latin alphabets, already lower-cased, to
// plain ASCII. German umlauts become the two-letter spellings that German writers use
// without the dots (ä -> ae), so "Rückerstattung" and "Rueckerstattung" are one word;
// every other mark is dropped (é -> e, ñ -> n).
var folds = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'ä': "ae", 'æ': "ae",
	'ç': "c", 'ć': "c", 'ĉ': "c", 'ċ': "c", 'č': "c",
	'ď': "d", 'đ': "d", 'ð': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ĕ': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'ĝ': "g", 'ğ': "g", 'ġ': "g", 'ģ': "g",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ĩ': "i", 'ī': "i", 'ĭ': "i", 'į': "i", 'ı': "i",
	'ł': "l", 'ľ': "l", 'ĺ': "l", 'ļ': "l",
	'ñ': "n", 'ń': "n", 'ņ': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ø': "o", 'ō': "o", 'ŏ': "o", 'ő': "o",
	'ö': "oe", 'œ': "oe",
	'ŕ': "r", 'ř': "r",
	'ś': "s", 'ŝ': "s", 'ş': "s", 'š': "s", 'ß': "ss", 'ſ': "s",
	'ţ': "t", 'ť': "t", 'þ': "th",
	'ù': "u", 'ú': "u", 'û': "u", 'ũ': "u", 'ū': "u", 'ŭ': "u", 'ů': "u", 'ű': "u", 'ų': "u",
	'ü': "ue",
	'ý': "y", 'ÿ': "y",
	'ź': "z", 'ż': "z", 'ž': "z",
}

// combiningDiaeresis is U+0308. Text typed on some systems arrives decomposed ("u"
// followed by it), and it must fold like the composed letter: u + U+0308 -> "ue".
const combiningDiaeresis = '\u0308'

// span is one token: bytes [start, end) of tokenizer.buf.
type span struct{ start, end int32 }

// tokenizer splits a text into normalised words. It keeps its buffers between texts,
// so that a warm tokenizer allocates nothing.
type tokenizer struct {
	buf  []byte // the folded bytes of every token, one after the other
	toks []span
}

// reset empties the tokenizer for the next text.
func (t *tokenizer) reset() {
	t.buf = t.buf[:0]
	t.toks = t.toks[:0]
}

// tokenize lower-cases and folds text and splits it into words: runs of letters, and
// runs of digits (with the separators inside numbers like 1,299.00 or 12/05) which
// become numToken. Everything else separates words. Folded marks that follow a letter
// (a decomposed accent) stay inside the word.
func (t *tokenizer) tokenize(text string) {
	t.reset()
	inWord, inNum := false, false
	start := 0
	end := func() {
		if inWord || inNum {
			t.toks = append(t.toks, span{int32(start), int32(len(t.buf))})
		}
		inWord, inNum = false, false
	}
	for i := 0; i < len(text) && len(t.toks) < maxTokens; {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf && 'a' <= r && r <= 'z':
			if !inWord {
				end()
				inWord, start = true, len(t.buf)
			}
			t.buf = append(t.buf, byte(r))
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			if !inWord {
				end()
				inWord, start = true, len(t.buf)
			}
			t.buf = append(t.buf, byte(r+'a'-'A'))
		case r < utf8.RuneSelf && '0' <= r && r <= '9':
			if !inNum {
				end()
				inNum, start = true, len(t.buf)
				t.buf = append(t.buf, numToken...)
			}
		case inNum && (r == '.' || r == ',' || r == '/' || r == '-' || r == ':') && i < len(text) && '0' <= text[i] && text[i] <= '9':
			// A separator inside a number keeps it one number.
		case r == '%' || r == '@' || r == '#' || r == '$' || (r >= utf8.RuneSelf && unicode.In(r, unicode.So, unicode.Sc)):
			end()
			t.symbol(r)
		case r < utf8.RuneSelf:
			end()
		case inWord && unicode.Is(unicode.Mn, r):
			if r == combiningDiaeresis {
				if last := t.buf[len(t.buf)-1]; last == 'a' || last == 'o' || last == 'u' {
					t.buf = append(t.buf, 'e')
				}
			}
		case unicode.IsLetter(r):
			if !inWord {
				end()
				inWord, start = true, len(t.buf)
			}
			r = unicode.ToLower(r)
			if f, ok := folds[r]; ok {
				t.buf = append(t.buf, f...)
			} else {
				t.buf = utf8.AppendRune(t.buf, r)
			}
		case unicode.IsDigit(r):
			if !inNum {
				end()
				inNum, start = true, len(t.buf)
				t.buf = append(t.buf, numToken...)
			}
		default:
			end()
		}
	}
	end()
	if len(t.toks) > maxTokens {
		t.toks = t.toks[:maxTokens]
	}
}

// symbol adds the symbol r as a token of its own. Emoji, currency signs and a few
// signs of shop talk (% @ #) mean the same in every language, so they are the one
// feature a German message shares with a Spanish one for sure.
func (t *tokenizer) symbol(r rune) {
	start := len(t.buf)
	t.buf = utf8.AppendRune(t.buf, r)
	t.toks = append(t.toks, span{int32(start), int32(len(t.buf))})
}

// word returns the bytes of token i.
func (t *tokenizer) word(i int) []byte {
	s := t.toks[i]
	return t.buf[s.start:s.end]
}

// Tokens returns the words the classifier sees in text, in order: lower-cased, with
// accents folded (ä -> ae, ß -> ss, é -> e), numbers as "0", split on everything that
// is not a letter. It is what the features are made of, exported for tests and for
// tools that explain a prediction.
func Tokens(text string) []string {
	var t tokenizer
	t.tokenize(text)
	out := make([]string, len(t.toks))
	for i := range t.toks {
		out[i] = string(t.word(i))
	}
	return out
}

// suffixes are the inflection endings that light stemming removes, longest first. They
// are common to the four languages' plurals, verb forms and adverbs; char n-grams
// catch what these miss, so the list stays short and safe rather than complete.
var suffixes = []string{
	"ements", "ement", "mente", "ungen", "iones", "ing", "ung", "ion", "ed", "es", "en", "er", "s", "e",
}

// stem removes one inflection ending from a word when at least four letters remain,
// so that "refunds", "refunded" and "refunding" meet at "refund". It returns a prefix
// of w and never allocates.
func stem(w []byte) []byte {
	for _, s := range suffixes {
		if len(w) >= len(s)+4 && string(w[len(w)-len(s):]) == s {
			return w[:len(w)-len(s)]
		}
	}
	return w
}
