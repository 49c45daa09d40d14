package clusters

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"frontwire/internal/story"
)

// feats is what Assign compares, extracted from one story. It is computed
// outside the Clusterer's lock: it depends on the story alone, and only its
// hashes and sorted sets are kept once the story is in the window.
type feats struct {
	idH, linkH     uint64 // hashes of ID and canonical link
	hasID, hasLink bool
	at             time.Time
	clusterH       uint64   // hash of the ID of a cluster the story founds
	title          []uint64 // stems of the title's words, sorted, distinct
	full           []uint64 // stems of title and lead, sorted, distinct; title ⊆ full
	names          []uint64 // stems of the title's capitalised words (not its first)
	numbers        []uint64 // numbers in the title
	allNums        []uint64 // numbers in title and lead
}

// features extracts what Assign compares from st.
func features(st *story.Story) *feats {
	e := &feats{at: st.FirstSeen, hasID: st.ID != "", hasLink: st.Link != ""}
	e.idH, e.linkH = hashString(st.ID), hashString(st.Link)
	e.clusterH = clusterHash(st)
	if e.at.IsZero() {
		e.at = st.Published
	}
	lead := st.Summary
	if lead == "" {
		lead = st.Text
	}
	lead = firstSentence(lead)

	toks := make([]string, 0, 32)
	toks = story.AppendTokens(toks, st.Title)
	nTitle := len(toks)
	toks = story.AppendTokens(toks, lead)
	if len(toks) > maxTokens {
		toks = toks[:maxTokens]
	}
	nTitle = min(nTitle, len(toks))
	for i, t := range toks {
		if isNumber(t) {
			h := hashString(t)
			e.allNums = append(e.allNums, h)
			if i < nTitle {
				e.numbers = append(e.numbers, h)
			}
			// Numbers count as words too: a shared casualty figure
			// is strong evidence.
		} else if isStopword(t) || !hasLetter(t) {
			continue
		}
		h := stemHash(t)
		e.full = append(e.full, h)
		if i < nTitle {
			e.title = append(e.title, h)
		}
	}
	e.full = sortedSet(e.full)
	e.title = sortedSet(e.title)
	e.numbers = sortedSet(e.numbers)
	e.allNums = sortedSet(e.allNums)
	e.names = titleNames(st.Title)
	return e
}

// sortedSet sorts s and drops repeats, in place.
func sortedSet(s []uint64) []uint64 {
	slices.Sort(s)
	return slices.Compact(s)
}

// titleNames returns the stems of the title's words written with a capital
// letter, except its first word and words of a title in capitals (which
// say nothing about names).
func titleNames(title string) []uint64 {
	var out []uint64
	if strings.ToUpper(title) == title {
		return nil
	}
	var toks []string
	for w := range strings.FieldsSeq(title) {
		r, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }))
		if !unicode.IsUpper(r) || strings.ToUpper(w) == w && utf8.RuneCountInString(w) > 3 {
			continue
		}
		toks = story.AppendTokens(toks[:0], w)
		for _, t := range toks {
			if !isStopword(t) && hasLetter(t) && utf8.RuneCountInString(t) > 2 {
				out = insertSorted(out, stemHash(t))
			}
		}
		if len(out) >= maxTokens {
			break
		}
	}
	return out
}

func insertSorted(s []uint64, h uint64) []uint64 {
	i, found := slices.BinarySearch(s, h)
	if found {
		return s
	}
	return slices.Insert(s, i, h)
}

func isNumber(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// stemHash is the hash of a folded word's stem, a crude phonetic key of
// at most stemRunes letters: Cyrillic transliterated, w→v, y/j→i, g→h,
// c→k, doubled letters once. It is deliberately lossy; rarity weighting
// keeps the collisions it makes between common words cheap. It hashes the
// key's bytes as it makes them (features_test.go's stem builds the key
// itself): a string per word was most of an Assign's allocations.
func stemHash(t string) uint64 {
	h := uint64(fnvOffset)
	var last rune
	n := 0
	for _, r := range t {
		for _, l := range latin(r) {
			if l == last {
				continue
			}
			if l < utf8.RuneSelf {
				h = (h ^ uint64(l)) * fnvPrime
			} else {
				var buf [utf8.UTFMax]byte
				for _, c := range buf[:utf8.EncodeRune(buf[:], l)] {
					h = (h ^ uint64(c)) * fnvPrime
				}
			}
			last = l
			if n++; n == stemRunes {
				return h
			}
		}
	}
	return h
}

// latin maps one folded rune to the letters of its phonetic key.
func latin(r rune) string {
	switch r {
	case 'w', 'в':
		return "v"
	case 'y', 'j', 'и', 'і', 'ї', 'й', 'ы':
		return "i"
	case 'g', 'h', 'г', 'ґ', 'х':
		return "h"
	case 'c', 'q', 'к':
		return "k"
	case 'а':
		return "a"
	case 'б':
		return "b"
	case 'д':
		return "d"
	case 'е', 'є', 'ё', 'э':
		return "e"
	case 'ж':
		return "zh"
	case 'з':
		return "z"
	case 'л':
		return "l"
	case 'м':
		return "m"
	case 'н':
		return "n"
	case 'о':
		return "o"
	case 'п':
		return "p"
	case 'р':
		return "r"
	case 'с':
		return "s"
	case 'т':
		return "t"
	case 'у':
		return "u"
	case 'ф':
		return "f"
	case 'ц':
		return "ts"
	case 'ч':
		return "ch"
	case 'ш':
		return "sh"
	case 'щ':
		return "shch"
	case 'ю':
		return "iu"
	case 'я':
		return "ia"
	case 'ь', 'ъ', '\'', 'ʼ', '’':
		return ""
	}
	return string(r)
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// firstSentence returns text up to the end of its first sentence, at most
// maxLeadBytes long and cut on a rune boundary.
func firstSentence(text string) string {
	if len(text) > maxLeadBytes {
		cut := maxLeadBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	for i, r := range text {
		switch r {
		case '.', '!', '?':
			// A full stop followed by a space ends a sentence; "U.S."
			// and "2.5" do not.
			if i+1 < len(text) && text[i+1] == ' ' && (i == 0 || !isUpperASCII(text[i-1])) {
				return text[:i+1]
			}
		case '。', '！', '？':
			return text[:i+len(string(r))]
		}
	}
	return text
}

func isUpperASCII(b byte) bool { return 'A' <= b && b <= 'Z' }

// FNV-1a, 64 bits (hash/fnv's constants), written out so that hashing a
// string allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// clusterHash derives a cluster's ID from its first story, so that a
// Clusterer rebuilt from the same stories gives the same IDs.
func clusterHash(st *story.Story) uint64 {
	h := uint64(fnvOffset)
	for _, s := range []string{st.ID, st.Link, st.Title} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * fnvPrime
		}
		// The zero byte after each field, as before.
		h *= fnvPrime
	}
	return h
}

// formatClusterID is the text of a cluster's ID: its hash in hex, and
// "-n" when n earlier clusters kept had the same hash.
func formatClusterID(h uint64, n uint32) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(h >> (56 - 8*i))
	}
	s := hex.EncodeToString(b[:])
	if n > 0 {
		s += "-" + strconv.FormatUint(uint64(n), 10)
	}
	return s
}

// parseClusterID is the inverse of formatClusterID; ok is false for any
// text formatClusterID does not make.
func parseClusterID(id string) (h uint64, n uint32, ok bool) {
	if len(id) < 16 {
		return 0, 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(id[:16])); err != nil {
		return 0, 0, false
	}
	for _, x := range b {
		h = h<<8 | uint64(x)
	}
	if len(id) > 16 {
		if id[16] != '-' {
			return 0, 0, false
		}
		v, err := strconv.ParseUint(id[17:], 10, 32)
		if err != nil || v == 0 {
			return 0, 0, false
		}
		n = uint32(v)
	}
	// Only the canonical spelling ("-5", not "-05"; lower-case hex).
	return h, n, formatClusterID(h, n) == id
}
