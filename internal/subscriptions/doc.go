package subscriptions

import (
	"slices"
	"strings"

	"frontwire/internal/story"
)

// Doc is a story's normalised tokens, computed once per story by NewDoc and
// then read by every query the story is checked against.
//
// Every token is a slice of one folded string. The title, the text, each
// category and the source name are separate segments of toks, divided by
// empty tokens, so that a phrase never matches across a field boundary.
type Doc struct {
	folded   string
	toks     []tokSpan // all segments in order, "" between them
	titleEnd int       // toks[:titleEnd] is the title
	srcStart int       // toks[srcStart:] is the source name
	uniq     []dterm   // distinct tokens in order of first use, with the fields they occur in
	table    []uint32  // open-addressing hash table: 1 + index into uniq, 0 empty
	bloom    bloom     // the distinct tokens, for the index's pre-check
}

type tokSpan struct{ start, end int32 }

type dterm struct {
	tok  string
	h    uint32 // hashTok(tok)
	mask uint8
}

// NewDoc normalises a story's title, whole text, categories and source
// name.
func NewDoc(st *story.Story) *Doc {
	n := len(st.Title) + len(st.Text) + len(st.Source) + 4
	for _, c := range st.Categories {
		n += len(c) + 1
	}
	var t story.Tokenizer
	t.Grow(n, n/5+8)
	d := &Doc{}
	t.Add(st.Title)
	d.titleEnd = t.Len()
	t.Break()
	t.Add(st.Text)
	for _, c := range st.Categories {
		t.Break()
		t.Add(c)
	}
	t.Break()
	d.srcStart = t.Len()
	t.Add(st.Source)
	d.folded = t.String()
	ntok := t.Len()
	d.toks = make([]tokSpan, ntok)
	// Distinct tokens go into an open-addressing hash table, so that a
	// query term is found with one probe (its hash was computed when the
	// query was parsed).
	size := 16
	for size < 2*ntok {
		size *= 2
	}
	d.table = make([]uint32, size)
	d.uniq = make([]dterm, 0, ntok)
	d.bloom[0] = 1 // position 0: always present
	for i := range ntok {
		s, e := t.Span(i)
		d.toks[i] = tokSpan{int32(s), int32(e)}
		if s == e {
			continue
		}
		m := fBody
		switch {
		case i < d.titleEnd:
			m = fTitle
		case i >= d.srcStart:
			m = fSource
		}
		tok := d.folded[s:e]
		h := hashTok(tok)
		j := int(h) & (size - 1)
		for {
			k := d.table[j]
			if k == 0 {
				d.uniq = append(d.uniq, dterm{tok: tok, h: h, mask: m})
				d.table[j] = uint32(len(d.uniq))
				d.bloom.add(h)
				break
			}
			if u := &d.uniq[k-1]; u.h == h && u.tok == tok {
				u.mask |= m
				break
			}
			j = (j + 1) & (size - 1)
		}
	}
	return d
}

// Tokens returns the distinct tokens of the document, sorted.
func (d *Doc) Tokens() []string {
	out := make([]string, len(d.uniq))
	for i, u := range d.uniq {
		out[i] = u.tok
	}
	slices.Sort(out)
	return out
}

func (d *Doc) tok(i int) string { return d.folded[d.toks[i].start:d.toks[i].end] }

// mask returns the fields tok occurs in, 0 if none.
func (d *Doc) mask(tok string) uint8 { return d.lookup(tok, hashTok(tok)) }

// lookup is mask for a token whose hash h is known.
func (d *Doc) lookup(tok string, h uint32) uint8 {
	m := len(d.table) - 1
	for j := int(h) & m; ; j = (j + 1) & m {
		k := d.table[j]
		if k == 0 {
			return 0
		}
		if u := &d.uniq[k-1]; u.h == h && u.tok == tok {
			return u.mask
		}
	}
}

// hashTok is FNV-1a, used for the Doc hash table and the Bloom filter; it
// is fixed so that query hashes computed at parse time stay valid.
func hashTok(tok string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(tok); i++ {
		h ^= uint32(tok[i])
		h *= 16777619
	}
	return h
}

// hasPrefix reports whether a token starting with pre occurs in a field of
// fld.
func (d *Doc) hasPrefix(pre string, fld uint8) bool {
	// A linear scan: prefixes are rare, and keeping uniq unsorted saves a
	// sort per story.
	for i := range d.uniq {
		if u := &d.uniq[i]; u.mask&fld != 0 && strings.HasPrefix(u.tok, pre) {
			return true
		}
	}
	return false
}

// hasPhrase reports whether toks occur consecutively within one segment of
// a field in fld.
func (d *Doc) hasPhrase(toks []string, fld uint8) bool {
	// Cheap rejection: every word must occur somewhere in the fields.
	for _, t := range toks {
		if d.mask(t)&fld == 0 {
			return false
		}
	}
	lo, hi := 0, len(d.toks)
	switch fld {
	case fTitle:
		hi = d.titleEnd
	case fSource:
		lo = d.srcStart
	case fAny:
		hi = d.srcStart
	}
	n := len(toks)
outer:
	for i := lo; i+n <= hi; i++ {
		for k, t := range toks {
			if d.tok(i+k) != t {
				continue outer
			}
		}
		return true
	}
	return false
}
