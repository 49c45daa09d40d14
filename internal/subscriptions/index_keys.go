package subscriptions

import "math/bits"

// keyTable maps the terms queries are filed under (words and prefixes) to
// their posting lists. It replaces a Go map for two reasons:
//
//   - a story's tokens already carry their hashTok hash (computed by
//     NewDoc), so a lookup needs no hashing of its own; and a prefix of a
//     token has its hash too, for free, because FNV-1a is computed byte by
//     byte: the hash of the first k bytes is the running value after k
//     bytes. So a story looks up every prefix of every token cheaply, and a
//     prefix query can be filed under the whole prefix rather than under its
//     first few letters (which made long lists to scan).
//   - most story tokens ("the", "said") are not filed keys at all. A bit
//     filter of 16 or more bits per key, small enough to stay in cache, says
//     "certainly not a key" for nearly all of them before the table is
//     touched.
//
// Each slot holds a key's hash and its posting list, and the list begins
// with the key itself (a flag for prefix keys, the key's length, its
// bytes), so that a lookup that finds its key reads one slot and then
// memory it needs anyway: the key and the first records share a cache
// line. (An earlier layout kept keys in a separate dense slice of strings
// that pointed into some query's compiled form: a found key cost three
// cache misses before its first record.) The table uses linear probing
// with backward-shift deletion, so it holds no tombstones, is at most half
// full, and grows by rehashing the stored hashes under the index's write
// lock. Bits of deleted keys stay set in the filter until the next growth,
// which only costs a probe.
type keyTable struct {
	slots  []kslot  // open addressing; a nil list marks an empty slot
	n      int      // keys held
	shift  uint32   // 32 - log2(len(slots))
	filter []uint64 // bit per key hash
	fshift uint32   // 32 - log2(bits in filter)
}

type kslot struct {
	list []byte // listHeader, then posting records (never none)
	h    uint32 // keyHash of the key
}

// A list starts with its key: a byte (1 for a prefix key), the key's
// length (uint16 LE) and its bytes. Posting records follow.
const listHeader = 3

// newList returns a list for key holding a copy of recs, with room for
// extra more bytes.
func newList(key string, pre bool, recs []byte, extra int) []byte {
	l := make([]byte, 0, listHeader+len(key)+len(recs)+extra)
	var flag byte
	if pre {
		flag = 1
	}
	l = append(l, flag, byte(len(key)), byte(len(key)>>8))
	l = append(l, key...)
	return append(l, recs...)
}

// records returns the posting records of list.
func records(list []byte) []byte {
	return list[listHeader+(int(list[1])|int(list[2])<<8):]
}

// holds reports whether list is the list of key.
func holds(list []byte, key string, pre bool) bool {
	n := int(list[1]) | int(list[2])<<8
	return n == len(key) && (list[0] == 1) == pre && string(list[listHeader:listHeader+n]) == key
}

// preSalt separates a prefix key's hash from the same word's, so that the
// filter and table treat "negotiat*" and "negotiat" as different keys.
const preSalt = 0x9e3779b9

// keyHash is the table hash of a key whose hashTok is h.
func keyHash(h uint32, pre bool) uint32 {
	if pre {
		return h ^ preSalt
	}
	return h
}

// home is kh's first slot. The stored hashes are FNV-1a, whose high bits
// after a multiplication by an odd constant are well mixed (Fibonacci
// hashing), so one multiplication serves as the table's hash function.
func (t *keyTable) home(kh uint32) uint32 {
	return (kh * 0x9e3779b1) >> t.shift
}

// len returns the number of keys.
func (t *keyTable) len() int { return t.n }

// init sizes the table for capacity keys.
func (t *keyTable) init(capacity int) {
	t.resize(capacity)
}

// resize rebuilds slots and filter for capacity keys, rehashing the keys
// held from their stored hashes.
func (t *keyTable) resize(capacity int) {
	size := 64
	for size < capacity*2 {
		size *= 2
	}
	old := t.slots
	t.slots = make([]kslot, size)
	t.shift = uint32(32 - bits.TrailingZeros(uint(size)))
	// 8 filter bits per slot: 16 or more per key, since the table is
	// never more than half full, for about 6% false positives at worst.
	t.filter = make([]uint64, size*8/64)
	t.fshift = t.shift - 3
	m := uint32(size - 1)
	for _, s := range old {
		if s.list == nil {
			continue
		}
		i := t.home(s.h)
		for t.slots[i].list != nil {
			i = (i + 1) & m
		}
		t.slots[i] = s
		t.setBit(s.h)
	}
}

// fbit is the filter bit of table hash kh.
func (t *keyTable) fbit(kh uint32) uint32 {
	// A second odd multiplier, so that the filter bit and the home slot
	// come from different mixes of the hash.
	return (kh * 0x85ebca6b) >> t.fshift
}

func (t *keyTable) setBit(kh uint32) {
	b := t.fbit(kh)
	t.filter[b>>6] |= 1 << (b & 63)
}

// mayHave reports whether kh may be a key; false is certain.
func (t *keyTable) mayHave(kh uint32) bool {
	b := t.fbit(kh)
	return t.filter[b>>6]&(1<<(b&63)) != 0
}

// index returns the slot index of key, or of the empty slot where it
// would go, and whether it was found.
func (t *keyTable) index(key string, kh uint32, pre bool) (uint32, bool) {
	m := uint32(len(t.slots) - 1)
	for i := t.home(kh); ; i = (i + 1) & m {
		s := &t.slots[i]
		if s.list == nil {
			return i, false
		}
		if s.h == kh && holds(s.list, key, pre) {
			return i, true
		}
	}
}

// find returns the posting records of key (table hash kh), nil if none.
func (t *keyTable) find(key string, kh uint32, pre bool) []byte {
	if len(t.slots) == 0 {
		return nil
	}
	i, ok := t.index(key, kh, pre)
	if !ok {
		return nil
	}
	return records(t.slots[i].list)
}

// appendRecord adds one posting record to key's list, adding the key if
// it is new, and reports whether it was.
func (t *keyTable) appendRecord(key string, kh uint32, pre bool, slot uint32, sg sig, at uint16, prog string) (added bool) {
	if len(t.slots) == 0 {
		t.init(32)
	}
	i, ok := t.index(key, kh, pre)
	if ok {
		// Appending never changes bytes already in the list (see the
		// note on immutability in index.go), even when it writes into
		// spare capacity.
		t.slots[i].list = appendRecord(t.slots[i].list, slot, sg, at, prog)
		return false
	}
	// Most keys hold one or two subscriptions: start small and exact.
	list := appendRecord(newList(key, pre, nil, recHdr+len(prog)), slot, sg, at, prog)
	t.insert(i, kh, list)
	return true
}

// set replaces key's records with a copy of recs (non-empty), adding the
// key if it is new.
func (t *keyTable) set(key string, kh uint32, pre bool, recs []byte) {
	if len(t.slots) == 0 {
		t.init(32)
	}
	i, ok := t.index(key, kh, pre)
	list := newList(key, pre, recs, 0)
	if ok {
		t.slots[i].list = list
		return
	}
	t.insert(i, kh, list)
}

// insert fills empty slot i with a new key, growing the table first if it
// would be more than half full.
func (t *keyTable) insert(i, kh uint32, list []byte) {
	t.n++
	if t.n*2 > len(t.slots) {
		t.resize(t.n) // doubles: resize sizes for twice the keys
		m := uint32(len(t.slots) - 1)
		for i = t.home(kh); t.slots[i].list != nil; i = (i + 1) & m {
		}
	}
	t.slots[i] = kslot{list: list, h: kh}
	t.setBit(kh)
}

// delete removes key, shifting later entries of its probe run back so that
// no tombstone is needed.
func (t *keyTable) delete(key string, kh uint32, pre bool) {
	if len(t.slots) == 0 {
		return
	}
	i, ok := t.index(key, kh, pre)
	if !ok {
		return
	}
	m := uint32(len(t.slots) - 1)
	for j := (i + 1) & m; ; j = (j + 1) & m {
		s := t.slots[j]
		if s.list == nil {
			break
		}
		home := t.home(s.h)
		// Move s back to the hole at i unless its home lies cyclically in
		// (i, j]: then it would become unreachable.
		if (j-home)&m >= (j-i)&m {
			t.slots[i] = s
			i = j
		}
	}
	t.slots[i] = kslot{}
	t.n--
}
