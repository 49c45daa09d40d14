package story

import (
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Text folding and word splitting, shared by story matching and the query
// parser so that both sides of a comparison are normalised the same way.
//
// Folding is Unicode NFKC, full case folding, and removal of non-spacing and
// enclosing combining marks (so "Zelenskyy", "ZELENSKYY" and "Zélenskyy"
// fold alike, and "ﬁnal" folds to "final"). Words are maximal runs of
// letters, digits and spacing marks; everything else breaks words, so
// possessives ("Witkoff's", "Witkoff’s") and hyphenated words ("peace-plan")
// become several tokens. Format characters (zero-width spaces and joiners,
// soft hyphens, bidirectional controls) are dropped without breaking a word,
// so they cannot be used to hide a word from a subscription.
//
// Scripts written without spaces are split per character: each Han
// ideograph, each Hiragana or Katakana character and each Hangul syllable is
// one token. A query word written in those scripts becomes a phrase of its
// characters, so "東京" matches the two consecutive tokens "東" "京" wherever
// they occur, including inside longer compounds. Thai, Lao, Khmer and Burmese
// are not segmented: a run of them is one token.

// AppendTokens folds s and appends its words to dst. Lower-case ASCII words
// are appended as substrings of s; other words share one new string per call,
// so a call allocates at most once besides growing dst.
func AppendTokens(dst []string, s string) []string {
	var t Tokenizer
	t.run(s)
	if len(t.spans) == 0 {
		return dst
	}
	var folded string
	if len(t.buf) > 0 {
		folded = string(t.buf)
	}
	for _, sp := range t.spans {
		if sp.src {
			dst = append(dst, s[sp.start:sp.end])
		} else {
			dst = append(dst, folded[sp.start:sp.end])
		}
	}
	return dst
}

// Fold returns the folded form of one query term: its words joined by single
// spaces. Fold(Fold(s)) == Fold(s).
func Fold(s string) string {
	toks := AppendTokens(nil, s)
	switch len(toks) {
	case 0:
		return ""
	case 1:
		return toks[0]
	}
	n := len(toks) - 1
	for _, t := range toks {
		n += len(t)
	}
	b := make([]byte, 0, n)
	for i, t := range toks {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, t...)
	}
	return string(b)
}

// span is one token found by a Tokenizer: bytes [start, end) of the
// folded buffer, or of the input when src is set.
type span struct {
	start, end int32
	src        bool
}

// Tokenizer folds several pieces of text into one buffer, for callers that
// want every token of a story as a slice of one string (one allocation).
// Use Grow, then Add and Break, then String once, then Span. The zero value
// is ready to use; a Tokenizer is not safe for concurrent use.
type Tokenizer struct {
	buf     []byte
	spans   []span
	copyAll bool // Add copies every token into buf
	noFast  bool // tests: fold every non-ASCII word the slow way
	// scratch holds intermediate forms of one non-ASCII word.
	scratch []byte
	caser   *cases.Caser
}

// Grow reserves room for about n folded bytes and ntok tokens.
func (t *Tokenizer) Grow(n, ntok int) {
	t.buf = make([]byte, 0, n)
	t.spans = make([]span, 0, ntok)
}

// Reset empties t for reuse and keeps its buffers, so that a caller
// folding many short texts (queries at start-up) allocates them once.
// Strings that Bytes or Detach exposed before must no longer be used:
// Reset is for callers that copied what they keep.
func (t *Tokenizer) Reset() {
	t.buf = t.buf[:0]
	t.spans = t.spans[:0]
}

// Add folds s and adds its tokens.
func (t *Tokenizer) Add(s string) {
	t.copyAll = true
	t.run(s)
}

// Break adds an empty token, which no word or phrase matches: it keeps
// phrases from running across the boundary between two fields.
func (t *Tokenizer) Break() {
	n := int32(len(t.buf))
	t.spans = append(t.spans, span{n, n, false})
}

// Len returns the number of tokens added, empty ones included.
func (t *Tokenizer) Len() int { return len(t.spans) }

// String returns the folded text that Span indexes into. Call it once,
// after the last Add.
func (t *Tokenizer) String() string { return string(t.buf) }

// Detach returns the folded text that Span indexes into without copying it,
// and leaves the Tokenizer empty, so that the buffer is never written again.
// It spares String's copy for a caller that is done adding.
func (t *Tokenizer) Detach() string {
	b := t.buf
	t.buf = nil
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Bytes returns the folded buffer that Span indexes into, without copying.
// Add only ever appends to it, so bytes already returned are never changed;
// the slice itself may be outgrown by later Adds.
func (t *Tokenizer) Bytes() []byte { return t.buf }

// Span returns token i as byte offsets into String().
func (t *Tokenizer) Span(i int) (start, end int) {
	return int(t.spans[i].start), int(t.spans[i].end)
}

// run appends the tokens of s. Tokens are lower-case ASCII slices of s (Src)
// or slices of buf.
func (t *Tokenizer) run(s string) {
	i := 0
	for i < len(s) {
		if byteClass[s[i]] == classSpace {
			i++
			continue
		}
		// A word starts here: scan its ASCII part, noting upper case.
		start := i
		upper := false
	scan:
		for ; i < len(s); i++ {
			switch byteClass[s[i]] {
			case classWord:
			case classUpper:
				upper = true
			default:
				break scan
			}
		}
		if i < len(s) && s[i] >= utf8.RuneSelf {
			// The word continues into (or is followed by) non-ASCII text:
			// find the end of the whole run and fold it the slow way.
			end := i
			pure := true // only ASCII so far; punctuation may end the word
			for end < len(s) {
				r, size := utf8.DecodeRuneInString(s[end:])
				if r < utf8.RuneSelf {
					if !isASCIIWord(byte(r)) {
						break
					}
				} else if !isWordRune(r) && !isFormatRune(r) {
					break
				}
				if r >= utf8.RuneSelf {
					pure = false
				}
				end += size
			}
			if pure {
				// A non-ASCII separator (curly quote, dash, NBSP) right after
				// an ASCII word: keep the fast path.
				t.emitASCII(s, start, i, upper)
				_, size := utf8.DecodeRuneInString(s[i:])
				i += size
				continue
			}
			if t.noFast || !t.fast(s[start:end]) {
				t.slow(s[start:end])
			}
			i = end
			continue
		}
		t.emitASCII(s, start, i, upper)
	}
}

func (t *Tokenizer) emitASCII(s string, start, end int, upper bool) {
	if start == end {
		return
	}
	if !upper && !t.copyAll {
		t.spans = append(t.spans, span{int32(start), int32(end), true})
		return
	}
	b := int32(len(t.buf))
	if !upper {
		t.buf = append(t.buf, s[start:end]...)
		t.spans = append(t.spans, span{b, int32(len(t.buf)), false})
		return
	}
	for j := start; j < end; j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t.buf = append(t.buf, c)
	}
	t.spans = append(t.spans, span{b, int32(len(t.buf)), false})
}

// fast folds a word holding non-ASCII runes one rune at a time, for the
// runes whose folding does not depend on their neighbours: caseless letters
// without decompositions (Han, Kana, Hangul syllables, Arabic, Hebrew...),
// basic Cyrillic, and letters that decompose to an ASCII letter and
// combining marks (é, ñ, ü, ő...). It gives exactly what slow gives (see
// TestFastFoldMatchesSlow) and reports false, having added nothing, when a
// rune needs the slow path.
func (t *Tokenizer) fast(w string) bool {
	markBuf, markSpans := len(t.buf), len(t.spans)
	tok := -1 // start of the current token in buf
	flush := func() {
		if tok >= 0 && len(t.buf) > tok {
			t.spans = append(t.spans, span{int32(tok), int32(len(t.buf)), false})
		}
		tok = -1
	}
	for j := 0; j < len(w); {
		c := w[j]
		if c < utf8.RuneSelf {
			if tok < 0 {
				tok = len(t.buf)
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			t.buf = append(t.buf, c)
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(w[j:])
		if r < tableEnd {
			// Latin, Greek and Cyrillic: one table lookup.
			e := &foldTable()[r-utf8.RuneSelf]
			switch e.n {
			case 0:
				t.buf, t.spans = t.buf[:markBuf], t.spans[:markSpans]
				return false
			case skipRune:
			default:
				if tok < 0 {
					tok = len(t.buf)
				}
				t.buf = append(t.buf, e.b[:e.n]...)
			}
			j += size
			continue
		}
		if 0x4E00 <= r && r <= 0x9FFF {
			// A CJK unified ideograph: no decomposition, a boundary
			// before it, a token of its own (as the general case below
			// finds, without its property lookups).
			flush()
			b := len(t.buf)
			t.buf = append(t.buf, w[j:j+size]...)
			t.spans = append(t.spans, span{int32(b), int32(len(t.buf)), false})
			j += size
			continue
		}
		if isFormatRune(r) {
			j += size
			continue
		}
		d := norm.NFKD.PropertiesString(w[j:]).Decomposition()
		boundary := norm.NFKC.PropertiesString(w[j:]).BoundaryBefore()
		switch {
		case 0xAC00 <= r && r <= 0xD7A3 || isSplitScript(r) && d == nil && boundary:
			flush()
			b := len(t.buf)
			t.buf = append(t.buf, w[j:j+size]...)
			t.spans = append(t.spans, span{int32(b), int32(len(t.buf)), false})
		case d == nil && boundary && (0x400 <= r && r <= 0x45F || unicode.Is(unicode.Lo, r)):
			if tok < 0 {
				tok = len(t.buf)
			}
			t.buf = utf8.AppendRune(t.buf, unicode.ToLower(r))
		case len(d) > 1 && d[0] < utf8.RuneSelf && isASCIIWord(d[0]) && boundary && onlyMarks(d[1:]):
			if tok < 0 {
				tok = len(t.buf)
			}
			c := d[0]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			t.buf = append(t.buf, c)
		default:
			t.buf, t.spans = t.buf[:markBuf], t.spans[:markSpans]
			return false
		}
		j += size
	}
	flush()
	return true
}

// tableEnd bounds the runes folded by table lookup: Latin-1, Latin
// Extended-A and -B, IPA, spacing modifiers, combining marks, Greek and
// Cyrillic (with its supplement).
const tableEnd = 0x530

// skipRune marks a table entry for a rune that is dropped (a format
// character such as the soft hyphen).
const skipRune = 0xff

// foldEntry is the fold of one rune on its own: n bytes of b, 0 when the
// rune needs the slow path, skipRune when it folds to nothing.
type foldEntry struct {
	n uint8
	b [7]byte
}

// foldTable is built once, on first use, and only read afterwards.
var foldTable = sync.OnceValue(buildFoldTable)

// buildFoldTable folds every rune below tableEnd with the slow path and
// keeps the result where folding a word rune by rune is known to give the
// same as folding the whole word: the rune starts a new NFKC segment (it
// never composes with what precedes it), is a starter (canonical combining
// class 0), and folds on its own to one token of letters and digits that are
// themselves below tableEnd and have no decomposition, so that nothing in
// the result can compose with its neighbours. Combining marks fail these
// conditions, so a word holding one is folded whole by the slow path.
// TestFastFoldMatchesSlow checks every entry against the slow path.
func buildFoldTable() *[tableEnd - utf8.RuneSelf]foldEntry {
	var tab [tableEnd - utf8.RuneSelf]foldEntry
	var t Tokenizer
	for r := rune(utf8.RuneSelf); r < tableEnd; r++ {
		e := &tab[r-utf8.RuneSelf]
		s := string(r)
		if unicode.Is(unicode.Cf, r) {
			e.n = skipRune
			continue
		}
		p := norm.NFKC.PropertiesString(s)
		if !isWordRune(r) || !p.BoundaryBefore() || p.CCC() != 0 {
			continue
		}
		// The whole folded form, before splitting, must be letters: a
		// rune that folds to a letter and a separator ("Ŀ" to "l·")
		// ends a word and is left to the slow path.
		out := t.foldFix(s)
		if len(out) == 0 || len(out) > len(e.b) || !plainLetters([]byte(out)) {
			continue
		}
		e.n = uint8(len(out))
		copy(e.b[:], out)
	}
	return &tab
}

// plainLetters reports whether b holds only word runes below tableEnd that
// have no decomposition and start an NFC segment.
func plainLetters(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r >= tableEnd || !isWordRune(r) {
			return false
		}
		p := norm.NFKD.Properties(b)
		if p.Decomposition() != nil || p.CCC() != 0 || !norm.NFC.Properties(b).BoundaryBefore() {
			return false
		}
		b = b[size:]
	}
	return true
}

// onlyMarks reports whether b holds only non-spacing combining marks.
func onlyMarks(b []byte) bool {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if !unicode.Is(unicode.Mn, r) {
			return false
		}
		b = b[size:]
	}
	return true
}

// slow folds one run of word characters that contains non-ASCII runes, and
// splits the result (NFKC may turn one character into several words, and
// ideographs are one token each).
func (t *Tokenizer) slow(w string) {
	t.splitFolded(t.foldFix(w))
}

// foldFix folds w until folding changes it no more (at most three rounds).
func (t *Tokenizer) foldFix(w string) string {
	if t.caser == nil {
		c := cases.Fold()
		t.caser = &c
	}
	f := w
	for range 3 {
		g := foldOnce(t, f)
		if g == f {
			break
		}
		f = g
	}
	return f
}

// foldOnce applies NFKC, case folding, mark removal and NFC once.
func foldOnce(t *Tokenizer, w string) string {
	s := norm.NFKC.String(w)
	s = cherokeeFold(t.caser.String(s))
	t.scratch = norm.NFKD.AppendString(t.scratch[:0], s)
	out := t.scratch[:0]
	for j := 0; j < len(t.scratch); {
		r, size := utf8.DecodeRune(t.scratch[j:])
		if !unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
			out = append(out, t.scratch[j:j+size]...)
		}
		j += size
	}
	return norm.NFC.String(string(out))
}

// cherokeeFold maps small Cherokee letters to capitals, as Unicode's case
// folding does (Cherokee is the one script whose capitals are the folded
// form). x/text's Fold caser swaps Cherokee's cases, capitals to small
// letters as well as small letters to capitals, so a Cherokee word changed
// case with every fold and never reached a fixed point: "ꮔ" folded to "Ꮔ"
// and "Ꮔ" to "ꮔ", and the two did not match each other.
func cherokeeFold(s string) string {
	var b []byte
	for i, r := range s {
		var c rune
		switch {
		case 0xAB70 <= r && r <= 0xABBF:
			c = r - 0xAB70 + 0x13A0
		case 0x13F8 <= r && r <= 0x13FD:
			c = r - 0x13F8 + 0x13F0
		default:
			if b != nil {
				b = utf8.AppendRune(b, r)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)), s[:i]...)
		}
		b = utf8.AppendRune(b, c)
	}
	if b == nil {
		return s
	}
	return string(b)
}

// splitFolded appends the words of an already folded string.
func (t *Tokenizer) splitFolded(f string) {
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			b := int32(len(t.buf))
			t.buf = append(t.buf, f[start:end]...)
			t.spans = append(t.spans, span{b, int32(len(t.buf)), false})
		}
		start = -1
	}
	for j := 0; j < len(f); {
		r, size := utf8.DecodeRuneInString(f[j:])
		switch {
		case r == utf8.RuneError && size <= 1:
			flush(j)
		case isSplitScript(r):
			flush(j)
			start = j
			flush(j + size)
		case isWordRune(r):
			if start < 0 {
				start = j
			}
		default:
			flush(j)
		}
		j += size
	}
	flush(len(f))
}

// byteClass sorts bytes for the tokenizer's ASCII loop: one table load a
// byte instead of range comparisons. It is never written after
// initialisation.
var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = classOther
		case 'A' <= c && c <= 'Z':
			t[c] = classUpper
		case isASCIIWord(byte(c)):
			t[c] = classWord
		}
	}
	return t
}()

// Byte classes of byteClass.
const (
	classSpace = iota // ASCII that is not part of a word
	classWord         // a-z, 0-9
	classUpper        // A-Z
	classOther        // a byte of a non-ASCII character
)

func isASCIIWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isWordRune reports whether r can be part of a word before folding.
func isWordRune(r rune) bool {
	// The ranges below cover most non-ASCII text in news (accented
	// Latin, Cyrillic, curly quotes and dashes, Han); each answers as
	// unicode.In would, which costs a binary search in three tables.
	switch {
	case r < utf8.RuneSelf:
		return isASCIIWord(byte(r))
	case 0xC0 <= r && r <= 0x24F:
		return r != 0xD7 && r != 0xF7 // all letters but × and ÷
	case 0x300 <= r && r <= 0x36F: // combining diacritical marks
		return true
	case 0x400 <= r && r <= 0x481, 0x483 <= r && r <= 0x52F: // Cyrillic, less ҂
		return true
	case 0x2000 <= r && r <= 0x206F: // general punctuation: no letters, digits or marks
		return false
	case 0x4E00 <= r && r <= 0x9FFF: // CJK unified ideographs, all assigned
		return true
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.M)
}

// isFormatRune reports a format character (category Cf: zero-width
// spaces and joiners, soft hyphens, bidirectional controls).
func isFormatRune(r rune) bool {
	if 0x2000 <= r && r <= 0x206F {
		// The general punctuation block's format characters.
		return 0x200B <= r && r <= 0x200F || 0x202A <= r && r <= 0x202E || 0x2060 <= r && r <= 0x2064 || 0x2066 <= r
	}
	return unicode.Is(unicode.Cf, r)
}

// isSplitScript reports whether r belongs to a script written without
// spaces between words, which is tokenised one character at a time.
func isSplitScript(r rune) bool {
	if r < 0x1100 {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == 0x30FC
}
