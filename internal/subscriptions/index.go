package subscriptions

import (
	"encoding/binary"
	"maps"
	"math/bits"
	"slices"
	"sync"
	"unsafe"

	"frontwire/internal/chat"
)

// The index is a percolator: instead of checking every subscription against
// every story, each query is filed under a few terms it cannot match
// without, and a story looks up only the queries filed under its own
// tokens. Those candidates are then checked exactly with the evaluator
// behind Query.Match, so the result is the same set as a full scan
// (NaiveMatch), only cheaper.
//
// Which terms a query is filed under (keys):
//   - a word: the word;
//   - a phrase: its rarest word (all its words must occur);
//   - a prefix: the whole prefix, as a prefix key; a story token looks up
//     each of its own prefixes of MinPrefix characters or more (see
//     keyTable for why that is cheap);
//   - an AND: the keys of its rarest positive part;
//   - an OR: the keys of every branch;
//   - an exclusion: nothing (it cannot be the reason a story matches).
//
// Parse accepts only queries that have keys (every OR branch and at least
// one part of every query must hold a word to look for), so there is no
// always-verify list.
//
// Rarity is estimated without looking at any stories, by a heuristic that
// holds broadly for news text: a short list of English function and
// near-universal words is very common, and otherwise longer words are
// rarer; single ideographs and bare numbers are common. A title: term is rarer than the same word
// anywhere; a source: term occurs in every story of that source. The
// estimate only decides which key is used; it never changes a result.

// Hit is one subscription a story matched.
type Hit struct {
	ID    uint64
	Chat  chat.Address
	Query string   // the query as the subscriber wrote it
	Terms []string // the positive terms that matched, as Query.Match reports them
}

// Index finds the subscriptions a story matches. It is safe for concurrent
// Match while Add and Remove run: Match holds a read lock, Add and Remove a
// write lock for microseconds (Remove copies the posting lists it changes;
// neither ever rebuilds the index).
type Index struct {
	mu      sync.RWMutex
	entries []entry           // by slot; q == nil marks a free slot
	free    []uint32          // free slots, reused by Add
	byID    map[uint64]uint32 // subscription ID → slot
	keys    keyTable          // key word or prefix → posting records
	npre    int               // prefix keys in keys: when 0, Match skips prefix lookups
	// preStarts has a bit for the first three bytes of every prefix key
	// ever added (bits are not cleared on removal; a stale bit costs
	// only a loop). A story token whose first three bytes have no bit
	// cannot have a prefix key as a prefix, so its prefixes are not
	// looked up.
	preStarts *[1 << 10]uint64
	scratch   sync.Pool // *matchScratch, reused across Match calls
	// platforms counts the indexed subscriptions by chat platform, kept
	// by addLocked and removeSlot, so that the metrics gauge needs no walk
	// of the stored subscriptions (at a million, 0.3 CPU-s and two
	// million allocations every refresh).
	platforms map[string]int
}

// A posting list is a byte slice of records, one per subscription filed
// under the key:
//
//	slot (uint32 LE; with exactBit, multiBit and impliedBit), sig (uint32 LE),
//	plen (uint16 LE), at (uint16 LE), the compiled query (plen bytes,
//	Query.prog)
//
// at is the offset in the compiled query of the term the key comes from,
// when that term is one word or a prefix (noTerm otherwise: a phrase is
// filed under one of its words). A story that finds the record through
// the key holds that term, so the check takes it as true without looking
// it up again (if the story's token is in a field the term allows).
//
// Keeping a copy of each compiled query inside its posting lists means a
// story's candidates are checked while reading memory in order, instead of
// chasing a pointer (and missing the cache) per candidate; the Bloom
// signature rejects most non-matching candidates before even that.
//
// A compiled query once written to a posting list is never changed:
// Remove builds a new slice without the record. So the strings Match hands
// out (matched terms are slices of a query's prog) stay valid after any
// later change. (Only the slot fields are rewritten, by renumber, under
// the write lock.)
const recHdr = 12

// noTerm is a record's at when its key does not prove a term.
const noTerm = 0xFFFF

type entry struct {
	id   uint64
	q    *Query
	chat chat.Address
	text string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byID: map[uint64]uint32{}}
}

// Add compiles s.Query and indexes it, replacing any subscription with the
// same ID. The caller adds only active (unpaused) subscriptions. An invalid
// query returns the *QueryError from Parse, wrapped, and changes nothing.
func (ix *Index) Add(s Subscription) error {
	c, err := Compile(s)
	if err != nil {
		return err
	}
	ix.AddCompiled(c)
	return nil
}

func appendRecord(dst []byte, slot uint32, sg sig, at uint16, prog string) []byte {
	dst = append(dst, byte(slot), byte(slot>>8), byte(slot>>16), byte(slot>>24), byte(sg), byte(sg>>8), byte(sg>>16), byte(sg>>24),
		byte(len(prog)), byte(len(prog)>>8), byte(at), byte(at>>8))
	return append(dst, prog...)
}

// record decodes the record at offset o of list, returning its slot (with
// exactBit), signature, compiled query, and the next offset.
func record(list []byte, o int) (slot uint32, sg sig, prog string, next int) {
	h := list[o : o+recHdr]
	slot = uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16 | uint32(h[3])<<24
	sg = sig(binary.LittleEndian.Uint32(h[4:]))
	plen := int(h[8]) | int(h[9])<<8
	o += recHdr
	prog = unsafe.String(&list[o], plen)
	return slot, sg, prog, o + plen
}

// prepared is a compiled subscription with everything Add needs that does
// not depend on the index (its keys and signature), so that bulk loading
// can compute it in parallel.
type prepared struct {
	c    CompiledSub
	keys []key
	sig  sig
}

func prepare(c CompiledSub) prepared {
	keys := c.Q.appendKeys(nil)
	var skip uint32
	if len(keys) == 1 && !keys[0].pre {
		skip = keys[0].h
	}
	return prepared{c: c, keys: keys, sig: c.Q.signature(skip)}
}

// AddCompiled indexes an already compiled subscription, replacing any with
// the same ID.
func (ix *Index) AddCompiled(c CompiledSub) {
	p := prepare(c)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.addLocked(&p)
}

func (ix *Index) addLocked(p *prepared) {
	c := &p.c
	if slot, ok := ix.byID[c.ID]; ok {
		ix.removeSlot(slot)
	}
	var slot uint32
	e := entry{id: c.ID, q: c.Q, chat: c.Chat, text: c.Text}
	if n := len(ix.free); n > 0 {
		slot = ix.free[n-1]
		ix.free = ix.free[:n-1]
		ix.entries[slot] = e
	} else {
		slot = uint32(len(ix.entries))
		ix.entries = append(ix.entries, e)
	}
	ix.byID[c.ID] = slot
	if ix.platforms == nil {
		ix.platforms = map[string]int{}
	}
	ix.platforms[c.Chat.Platform]++
	single := c.Q.singleWord()
	for _, k := range p.keys {
		rs := slot
		if single && !k.pre {
			rs |= exactBit
		}
		if k.at != noTerm && c.Q.impliedBy(int(k.at)) {
			rs |= impliedBit
		}
		if len(p.keys) > 1 || k.pre {
			// An OR is filed under several keys, and several story tokens
			// can share a prefix ("war", "warning"): such findings are
			// deduped.
			rs |= multiBit
		}
		if ix.keys.appendRecord(k.tok, keyHash(k.h, k.pre), k.pre, rs, p.sig, k.at, c.Q.prog) && k.pre {
			ix.npre++
			if ix.preStarts == nil {
				ix.preStarts = new([1 << 10]uint64)
			}
			b := preStart(k.tok)
			ix.preStarts[b>>6] |= 1 << (b & 63)
		}
	}
}

// Remove drops subscription id; removing an unknown id does nothing.
func (ix *Index) Remove(id uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if slot, ok := ix.byID[id]; ok {
		ix.removeSlot(slot)
	}
}

// without returns list less the records of slot, as a new slice (see the
// note on immutability above), or nil when nothing is left.
func without(list []byte, slot uint32) []byte {
	var out []byte
	for o := 0; o < len(list); {
		s, _, _, next := record(list, o)
		if s&slotMask != slot {
			if out == nil {
				out = make([]byte, 0, len(list))
			}
			out = append(out, list[o:next]...)
		}
		o = next
	}
	return out
}

func (ix *Index) removeSlot(slot uint32) {
	e := &ix.entries[slot]
	for _, k := range e.q.appendKeys(nil) {
		kh := keyHash(k.h, k.pre)
		list := ix.keys.find(k.tok, kh, k.pre)
		if list == nil {
			continue // an OR filed under the same key twice: already done
		}
		if rest := without(list, slot); rest != nil {
			ix.keys.set(k.tok, kh, k.pre, rest)
		} else {
			ix.keys.delete(k.tok, kh, k.pre)
			if k.pre {
				ix.npre--
			}
		}
	}
	delete(ix.byID, e.id)
	ix.platforms[e.chat.Platform]--
	*e = entry{}
	ix.free = append(ix.free, slot)
}

// Len returns the number of indexed subscriptions.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Platforms returns how many subscriptions are indexed on each chat
// platform (the active ones: the caller indexes no paused subscription).
// A platform whose subscriptions have all been removed is listed with 0,
// so that a gauge set from this falls to 0 instead of keeping its last
// value.
func (ix *Index) Platforms() map[string]int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return maps.Clone(ix.platforms)
}

// Keys returns the number of distinct words and prefixes subscriptions are
// filed under, for benchmarks and metrics.
func (ix *Index) Keys() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.keys.len()
}

// Match returns every indexed subscription that d matches, in no
// particular order: exactly the set NaiveMatch returns over the same
// subscriptions, each hit with its matched terms.
func (ix *Index) Match(d *Doc) []Hit {
	hits, _ := ix.AppendMatches(nil, d, true)
	return hits
}

// MatchStats is Match that also reports how many candidate subscriptions
// were checked (after the Bloom pre-check), for benchmarks and metrics.
func (ix *Index) MatchStats(d *Doc) (hits []Hit, candidates int) {
	return ix.AppendMatches(nil, d, true)
}

// matched is a subscription found to match, before its hit is built.
// slot keeps its exactBit: the query is one word, which is then its only
// matched term.
type matched struct {
	slot uint32
	prog string
}

// matchScratch is the working memory of one Match call, pooled so that a
// story costs no allocations beyond the hits.
type matchScratch struct {
	found []matched
	seen  []uint32 // a set of slot fields, 0 for empty
}

// addSlot adds v (non-zero) to the open-addressing set seen, whose length
// is 1<<(32-shift), and reports whether it was new.
func addSlot(seen []uint32, v uint32, shift int) bool {
	m := uint32(len(seen) - 1)
	for i := (v * 0x9e3779b1) >> shift; ; i = (i + 1) & m {
		switch seen[i] {
		case v:
			return false
		case 0:
			seen[i] = v
			return true
		}
	}
}

// AppendMatches appends to dst a hit for every indexed subscription d
// matches (the set Match returns) and reports how many candidates were
// verified. With terms false the hits carry no Terms, so a caller that
// needs only who matched, and reuses dst from story to story, allocates
// nothing. With terms true the hits' Terms share one new backing array.
func (ix *Index) AppendMatches(dst []Hit, d *Doc, terms bool) (hits []Hit, candidates int) {
	sc, _ := ix.scratch.Get().(*matchScratch)
	if sc == nil {
		sc = &matchScratch{}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	found, multi, candidates := ix.find(sc.found[:0], d)
	nfound := len(found)
	if multi > 1 {
		// A query filed under several keys can be found more than once:
		// keep its first finding. The findings that may repeat go
		// through a small open-addressing set of their slot fields
		// (never 0: multiBit is set), cheaper than a Go map.
		size := 16
		for size < 2*multi {
			size *= 2
		}
		if cap(sc.seen) < size {
			sc.seen = make([]uint32, size)
		}
		seen := sc.seen[:size]
		shift := 32 - bits.TrailingZeros(uint(size))
		w := 0
		for _, m := range found {
			if m.slot&multiBit != 0 && !addSlot(seen, m.slot, shift) {
				continue
			}
			found[w] = m
			w++
		}
		found = found[:w]
		clear(seen)
	}
	n0 := len(dst)
	hits = slices.Grow(dst, len(found))[:n0+len(found)]
	out := hits[n0:]
	for i, m := range found {
		e := &ix.entries[m.slot&slotMask]
		out[i] = Hit{ID: e.id, Chat: e.chat, Query: e.text}
	}
	// Terms are slices of the queries' compiled forms, never of d, so a
	// caller may Reset d while it still holds the hits.
	if terms {
		// All hits' terms share one backing array; each Hit gets a capped
		// slice of it so that appending to one cannot clobber another.
		all := make([]string, 0, len(found)+len(found)/2)
		var arena termArena
		for i, m := range found {
			from := len(all)
			q := Query{prog: m.prog}
			if m.slot&exactBit != 0 {
				all = append(all, q.firstTok(q.node(0)))
			} else {
				all = q.appendMatched(all, d, &arena)
			}
			out[i].Terms = all[from:len(all):len(all)]
		}
	}
	// Drop references into posting lists before pooling, so that a removed
	// list is not kept alive.
	clear(found[:nfound])
	sc.found = found[:0]
	ix.scratch.Put(sc)
	return hits, candidates
}

// find appends the subscriptions d matches to found (with duplicates for
// multi-key queries) and reports how many findings may be duplicates and
// how many candidates were verified. The caller holds the read lock.
func (ix *Index) find(found []matched, d *Doc) (_ []matched, multi, candidates int) {
	t := &ix.keys
	if t.len() == 0 {
		return found, 0, 0
	}
	// check verifies the records of one posting list.
	check := func(list []byte, u *dterm) {
		for o := 0; o < len(list); {
			// record's decoding, written out: this loop reads every
			// record a story's tokens find, and record is too big for
			// the compiler to inline.
			h := list[o : o+recHdr : o+recHdr]
			slot := binary.LittleEndian.Uint32(h)
			plen := int(binary.LittleEndian.Uint16(h[8:]))
			o += recHdr
			prog := unsafe.String(&list[o], plen)
			o += plen
			if slot&exactBit != 0 {
				// A query of one unrestricted word matches wherever that
				// word is in the title, text or categories.
				candidates++
				if u.mask&fAny != 0 {
					found = append(found, matched{slot, prog})
				}
				continue
			}
			at := int(binary.LittleEndian.Uint16(h[10:]))
			if slot&impliedBit != 0 && u.mask&prog[at+1] != 0 {
				// The key's term is where the query allows it, and
				// that alone is a match.
				candidates++
				found = append(found, matched{slot &^ impliedBit, prog})
				if slot&multiBit != 0 {
					multi++
				}
				continue
			}
			if !d.bloom.has(sig(binary.LittleEndian.Uint32(h[4:]))) {
				continue
			}
			candidates++
			known := -1
			if at != noTerm && u.mask&prog[at+1] != 0 {
				known = at // the node's field byte allows where u occurs
			}
			if q := (Query{prog: prog}); q.eval(d, 0, known) {
				found = append(found, matched{slot &^ impliedBit, prog})
				if slot&multiBit != 0 {
					multi++
				}
			}
		}
	}
	for i := range d.uniq {
		u := &d.uniq[i]
		if t.mayHave(u.h) {
			if list := t.find(u.tok, u.h, false); list != nil {
				check(list, u)
			}
		}
		if ix.npre == 0 || len(u.tok) < 3 {
			continue
		}
		if b := preStart(u.tok); ix.preStarts[b>>6]&(1<<(b&63)) == 0 {
			continue // no prefix key starts as this token does
		}
		// Every prefix of the token of at least MinPrefix characters may
		// be a prefix key. FNV-1a's running value is the hash of the bytes
		// so far, so each costs a multiplication and a filter bit.
		h := uint32(2166136261)
		runes := 0
		tok := u.tok
		for j := 0; j < len(tok); j++ {
			h ^= uint32(tok[j])
			h *= 16777619
			if j+1 < len(tok) && tok[j+1]&0xC0 == 0x80 {
				continue // inside a character
			}
			runes++
			if runes < MinPrefix {
				continue
			}
			kh := h ^ preSalt
			if !t.mayHave(kh) {
				continue
			}
			if list := t.find(tok[:j+1], kh, true); list != nil {
				check(list, u)
			}
		}
	}
	return found, multi, candidates
}

// preStart maps the first three bytes of s (at least three long) to a bit
// of Index.preStarts.
func preStart(s string) uint32 {
	return (uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16) * 0x9e3779b1 >> 16
}

// Flags in the slot field of a posting record.
const (
	exactBit = 1 << 31 // the query is just that one unrestricted word
	multiBit = 1 << 30 // the query is filed under several keys: dedupe it
	// impliedBit: the record's term (at) alone makes the query match: it
	// is the whole query, or a branch of its top-level OR ("the OR
	// Witkoff"). A story that finds the record with the term in a field
	// it allows matches without a check. Only posting records carry it:
	// findings drop it, so that a query found under two keys dedupes.
	impliedBit = 1 << 29
	slotMask   = impliedBit - 1
)

// sig is a query's filter: the Bloom positions (1..1023) of up to three
// words it requires, 10 bits each, in one uint32. Position 0 is set in
// every story, so unused positions always pass.
//
// The filter has 1,024 bits because a story has about 100 distinct
// tokens: in the 256 bits it had before, a third of all positions were
// set, so a third of the candidates whose other words were absent still
// had to be evaluated; at 1,024 bits about a tenth are.
type sig uint32

// sigWords is how many words a sig holds.
const sigWords = 3

// bloom is a 1,024-bit Bloom filter of a story's tokens, one hash each.
type bloom [16]uint64

func (b *bloom) add(h uint32) {
	p := bloomPos(h)
	b[p>>6] |= 1 << (p & 63)
}

func (b *bloom) has(s sig) bool {
	p0, p1, p2 := uint32(s)&1023, uint32(s)>>10&1023, uint32(s)>>20&1023
	return b[p0>>6]&(1<<(p0&63)) != 0 && b[p1>>6]&(1<<(p1&63)) != 0 && b[p2>>6]&(1<<(p2&63)) != 0
}

// bloomPos maps a token hash to a position in 1..1023.
func bloomPos(h uint32) uint32 { return 1 + (h^h>>16)%1023 }

// signature picks up to three words the query cannot match without (the
// words of the terms directly under its top-level AND, or of the single
// term it is), rarest first, leaving out the word of the query's one key
// when it has one (skip; 0 for none): a story that finds the record
// through that key has it, so it would only waste a position. It runs for
// every subscription at start-up, so it keeps the rarest words in a small
// array instead of sorting.
func (q *Query) signature(skip uint32) sig {
	var best [sigWords]uint32 // hashes, rarest first
	var freq [sigWords]float64
	n := 0
	addTerm := func(t qnode) {
		if t.op != opTerm || t.pre {
			return
		}
		o := t.first
		for range t.ntok {
			l := int(q.prog[o]) | int(q.prog[o+1])<<8
			tok := q.prog[o+2 : o+2+l]
			o += 2 + l
			h := hashTok(tok)
			if h == skip {
				skip = 0 // only once: a phrase may repeat the word
				continue
			}
			f := wordFreq(tok)
			if n == len(best) && f >= freq[n-1] {
				continue
			}
			// Insert in order, after equals so that earlier words win
			// ties; the rarest four stay.
			i := min(n, len(best)-1)
			for i > 0 && freq[i-1] > f {
				best[i], freq[i] = best[i-1], freq[i-1]
				i--
			}
			best[i], freq[i] = h, f
			n = min(n+1, len(best))
		}
	}
	root := q.node(0)
	if root.op == opAnd {
		for j := root.first; j < q.end(root); j += q.node(j).size {
			addTerm(q.node(j))
		}
	} else {
		addTerm(root)
	}
	var s sig
	for i := range n {
		s |= sig(bloomPos(best[i])) << (10 * i)
	}
	return s
}

// key is one term a query is filed under.
type key struct {
	tok string
	h   uint32 // hashTok(tok)
	pre bool
	at  uint16 // offset of the term node when the key proves it, else noTerm
}

// appendKeys appends the terms q is filed under.
func (q *Query) appendKeys(dst []key) []key {
	return q.keysOf(0, dst)
}

// keysOf appends the keys node o is filed under: a term's key, the keys of
// the cheapest positive part of an AND, the keys of every branch of an OR.
// It appends nothing for a node that cannot be filed (an exclusion, or an
// OR with such a branch).
func (q *Query) keysOf(o int, dst []key) []key {
	n := q.node(o)
	switch n.op {
	case opTerm:
		k, _ := q.termKey(n)
		return append(dst, k)
	case opAnd:
		bestCost, bestAt := noKeys, -1
		for j := n.first; j < q.end(n); j += q.node(j).size {
			if c := q.keyCost(j); c < bestCost {
				bestCost, bestAt = c, j
			}
		}
		if bestAt < 0 {
			return dst
		}
		return q.keysOf(bestAt, dst)
	case opOr:
		mark := len(dst)
		for j := n.first; j < q.end(n); j += q.node(j).size {
			before := len(dst)
			if dst = q.keysOf(j, dst); len(dst) == before {
				return dst[:mark]
			}
		}
		return dst
	}
	return dst
}

// keyCost is the estimated frequency of node o, summed over the keys
// keysOf would file it under, or noKeys when it cannot be filed.
func (q *Query) keyCost(o int) float64 {
	n := q.node(o)
	switch n.op {
	case opTerm:
		_, c := q.termKey(n)
		return c
	case opAnd:
		best := noKeys
		for j := n.first; j < q.end(n); j += q.node(j).size {
			best = min(best, q.keyCost(j))
		}
		return best
	case opOr:
		total := 0.0
		for j := n.first; j < q.end(n); j += q.node(j).size {
			c := q.keyCost(j)
			if c >= noKeys {
				return noKeys
			}
			total += c
		}
		return total
	}
	return noKeys
}

// termKey returns the key term n is filed under (a phrase under its rarest
// word, a prefix under the whole prefix) and its estimated frequency. A
// title: term is rarer than the same word anywhere; a source: term occurs
// in every story of that source.
func (q *Query) termKey(n qnode) (key, float64) {
	scale := 1.0
	switch n.fld {
	case fTitle:
		scale = 0.125
	case fSource:
		scale = 16
	}
	if n.pre {
		t := q.firstTok(n)
		return key{t, n.h, true, uint16(n.at)}, 4 * scale * wordFreq(t)
	}
	var best string
	bestF := 0.0
	o := n.first
	for i := range n.ntok {
		l := int(q.prog[o]) | int(q.prog[o+1])<<8
		t := q.prog[o+2 : o+2+l]
		o += 2 + l
		if f := wordFreq(t); i == 0 || f < bestF {
			best, bestF = t, f
		}
	}
	h, at := n.h, uint16(n.at) // the first token's hash, computed at parse time
	if n.ntok > 1 {
		// A phrase: the story having this word does not prove it.
		h, at = hashTok(best), noTerm
	}
	return key{best, h, false, at}, scale * bestF
}

// noKeys is the cost of a node that cannot be filed under any term.
const noKeys = 1e18

// wordFreq estimates how often a folded token occurs in news text, in
// arbitrary units; only comparisons between estimates matter.
func wordFreq(tok string) float64 {
	if isCommonWord(tok) {
		return 1 << 20
	}
	n := 0
	digits := true
	for _, r := range tok {
		n++
		if r < '0' || r > '9' {
			digits = false
		}
		if r >= 0x2E80 {
			// Ideographs and syllables carry a whole word each.
			n += 2
		}
	}
	n = min(n, 14)
	f := float64(int(1) << (16 - n))
	if digits {
		f *= 8
	}
	return f
}

// isCommonWord reports the function words and near-universal words of
// English news text, which a query should never be filed under when it
// holds anything rarer.
func isCommonWord(tok string) bool {
	switch tok {
	case "a", "about", "according", "after", "against", "all", "also", "an", "and", "another", "any", "are",
		"as", "at", "be", "because", "been", "before", "being", "between", "both", "but", "by", "can",
		"could", "day", "did", "do", "does", "during", "even", "every", "first", "for", "friday", "from",
		"get", "government", "had", "has", "have", "he", "her", "here", "his", "how", "i", "if",
		"in", "into", "is", "it", "its", "just", "last", "like", "made", "many", "may", "me",
		"minister", "monday", "more", "most", "much", "must", "my", "new", "news", "no", "not", "now",
		"of", "off", "official", "officials", "on", "one", "only", "or", "other", "our", "out", "over",
		"people", "per", "president", "report", "reports", "said", "saturday", "say", "says", "see", "she", "should",
		"since", "so", "some", "still", "such", "sunday", "than", "that", "the", "their", "them", "then",
		"there", "these", "they", "this", "those", "three", "through", "thursday", "time", "to", "told", "tuesday",
		"two", "under", "up", "us", "very", "was", "we", "wednesday", "week", "well", "were", "what",
		"when", "where", "which", "while", "who", "why", "will", "with", "within", "would", "year", "years",
		"you", "your":
		return true
	}
	return false
}
