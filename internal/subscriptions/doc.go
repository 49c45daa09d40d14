package subscriptions

import (
	"slices"
	"unsafe"

	"frontwire/internal/story"
)

// Doc is a story's normalised tokens, computed once per story by NewDoc and
// then read by every query the story is checked against.
//
// Every token is a slice of one folded string. The title, the text, each
// category and the source name are separate segments of the token
// sequence (tid), divided by breaks, so that a phrase never matches across
// a field boundary.
type Doc struct {
	folded   string
	titleEnd int     // tokens [0, titleEnd) are the title
	srcStart int     // tokens [srcStart, len(tid)) are the source name
	uniq     []dterm // distinct tokens in order of first use, with the fields they occur in
	table    []int32 // open-addressing hash table: 1 + index into uniq, 0 empty
	bloom    bloom   // the distinct tokens, for the index's pre-check
	// starts is a 1,024-bit filter of how tokens begin (their first
	// three bytes, and their first four), so that a prefix term the
	// story has no token for, the usual case, is rejected without
	// scanning the tokens.
	starts [16]uint64
	// tid[i] is 1 + the uniq index of token i (0 for a segment break), and
	// next[i] the position of the same token's next occurrence (-1: none),
	// so that a phrase is checked from its first word's occurrences by
	// comparing integers rather than by scanning every token's text.
	tid  []int32
	next []int32
	// heads[i] is head(uniq[i].tok), for hasPrefix's scan.
	heads []int32

	// Kept by Reset for the next story: the tokenizer's buffers and the
	// allocation table, tid, next and heads share. NewDoc's Docs hold
	// none (the folded text is detached from the tokenizer).
	tok story.Tokenizer
	ids []int32
}

type dterm struct {
	tok         string
	h           uint32 // hashTok(tok)
	first, last int32  // positions of the first and last occurrence
	mask        uint8
}

// NewDoc normalises a story's title, whole text, categories and source
// name.
func NewDoc(st *story.Story) *Doc {
	d := &Doc{}
	d.fill(st, false)
	return d
}

// Reset makes d the Doc of st, reusing d's memory: a caller that matches
// many stories one after another (a benchmark, a pipeline worker) then
// allocates nothing per story once its buffers have grown, and keeps the
// same memory in cache instead of touching fresh memory for every story.
// The strings d's Tokens returned before are overwritten: a caller that
// keeps any must copy them first. The Terms of hits matched against d
// are not: they are slices of the compiled queries (Index.AppendMatches).
func (d *Doc) Reset(st *story.Story) {
	d.fill(st, true)
}

// fill normalises st into d; reuse keeps d's buffers (see Reset).
func (d *Doc) fill(st *story.Story, reuse bool) {
	n := len(st.Title) + len(st.Text) + len(st.Source) + 4
	for _, c := range st.Categories {
		n += len(c) + 1
	}
	t := &d.tok
	if reuse {
		t.Reset()
	} else {
		t.Grow(n, n/5+8)
	}
	*d = Doc{tok: d.tok, ids: d.ids, uniq: d.uniq[:0]}
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
	ntok := t.Len()
	// Distinct tokens go into an open-addressing hash table, so that a
	// query term is found with one probe (its hash was computed when the
	// query was parsed).
	size := 16
	for size < 2*ntok {
		size *= 2
	}
	// The table, tid and next share one allocation; the spans are read
	// before Detach hands over the folded buffer.
	ids := d.ids
	if need := size + 3*ntok; cap(ids) < need {
		ids = make([]int32, need)
	} else {
		ids = ids[:need]
		clear(ids[:size]) // the table must start empty; tid, next and heads are written below
	}
	d.ids = ids
	d.table = ids[:size:size]
	d.tid, d.next = ids[size:size+ntok:size+ntok], ids[size+ntok:size+2*ntok:size+2*ntok]
	heads := ids[size+2*ntok:]
	d.heads = heads
	if reuse {
		d.folded = unsafe.String(unsafe.SliceData(t.Bytes()), len(t.Bytes()))
		d.uniq = slices.Grow(d.uniq, ntok)
	} else {
		d.folded = t.Detach()
		d.uniq = make([]dterm, 0, ntok)
	}
	d.bloom[0] = 1 // position 0: always present
	for i := range ntok {
		s, e := t.Span(i)
		d.next[i] = -1
		if s == e {
			d.tid[i] = 0 // a segment break (a reused Doc holds the last story's IDs)
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
				heads[len(d.uniq)] = int32(head(tok))
				d.uniq = append(d.uniq, dterm{tok: tok, h: h, first: int32(i), last: int32(i), mask: m})
				d.table[j] = int32(len(d.uniq))
				d.tid[i] = int32(len(d.uniq))
				d.bloom.add(h)
				if len(tok) >= 3 {
					p := start3(tok)
					d.starts[p>>6] |= 1 << (p & 63)
					if len(tok) >= 4 {
						p = start4(tok)
						d.starts[p>>6] |= 1 << (p & 63)
					}
				}
				break
			}
			if u := &d.uniq[k-1]; u.h == h && u.tok == tok {
				u.mask |= m
				d.next[u.last] = int32(i)
				u.last = int32(i)
				d.tid[i] = int32(k)
				break
			}
			j = (j + 1) & (size - 1)
		}
	}
	if !reuse {
		d.tok, d.ids = story.Tokenizer{}, nil // NewDoc's Docs keep no spare buffers
	}
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

// lookup is mask for a token whose hash h is known.
func (d *Doc) lookup(tok string, h uint32) uint8 {
	if k := d.find(tok, h); k > 0 {
		return d.uniq[k-1].mask
	}
	return 0
}

// find returns 1 + the uniq index of tok (whose hash is h), 0 if absent.
func (d *Doc) find(tok string, h uint32) int32 {
	m := len(d.table) - 1
	for j := int(h) & m; ; j = (j + 1) & m {
		k := d.table[j]
		if k == 0 {
			return 0
		}
		if u := &d.uniq[k-1]; u.h == h && u.tok == tok {
			return k
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

// start3 and start4 map a token's first three or four bytes to a bit of
// Doc.starts.
func start3(tok string) uint32 {
	return (uint32(tok[0]) | uint32(tok[1])<<8 | uint32(tok[2])<<16) * 0x9e3779b1 >> 22
}

func start4(tok string) uint32 {
	return (uint32(tok[0]) | uint32(tok[1])<<8 | uint32(tok[2])<<16 | uint32(tok[3])<<24) * 0x85ebca77 >> 22
}

// hasPrefix reports whether a token starting with pre occurs in a field of
// fld.
func (d *Doc) hasPrefix(pre string, fld uint8) bool {
	// A prefix has at least MinPrefix characters, so three bytes or more.
	if len(pre) >= 3 {
		p := start3(pre)
		if len(pre) >= 4 {
			p = start4(pre)
		}
		if d.starts[p>>6]&(1<<(p&63)) == 0 {
			return false
		}
	}
	// A linear scan: a story has a few dozen distinct tokens, and keeping
	// uniq unsorted saves a sort per story. Each token's first four bytes
	// are compared as one integer before the strings are.
	want, mask := head(pre), uint32(1<<32-1)
	if len(pre) < 4 {
		mask = 1<<(8*len(pre)) - 1
	}
	for i, h := range d.heads[:len(d.uniq)] {
		if uint32(h)&mask != want {
			continue
		}
		if u := &d.uniq[i]; len(u.tok) >= len(pre) && u.mask&fld != 0 && u.tok[:len(pre)] == pre {
			return true
		}
	}
	return false
}

// head packs the first four bytes of s (fewer if s is shorter, the rest
// zero) into an integer.
func head(s string) uint32 {
	var h uint32
	for i := 0; i < len(s) && i < 4; i++ {
		h |= uint32(s[i]) << (8 * i)
	}
	return h
}

// idsInRow reports whether the distinct tokens ids (1 + uniq indexes,
// each present in fld) occur consecutively within one segment of a field
// in fld.
func (d *Doc) idsInRow(ids []int32, fld uint8) bool {
	lo, hi := 0, len(d.tid)
	switch fld {
	case fTitle:
		hi = d.titleEnd
	case fSource:
		lo = d.srcStart
	case fAny:
		hi = d.srcStart
	}
	n := len(ids)
	// Occurrences come in increasing position order.
outer:
	for p := int(d.uniq[ids[0]-1].first); p >= 0 && p+n <= hi; p = int(d.next[p]) {
		if p < lo {
			continue
		}
		for k := 1; k < n; k++ {
			if d.tid[p+k] != ids[k] {
				continue outer
			}
		}
		return true
	}
	return false
}
