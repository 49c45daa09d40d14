package subscriptions

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
//     filter of about 8 bits per key, small enough to stay in cache, says
//     "certainly not a key" for nearly all of them before the table (a cache
//     miss at a million subscriptions) is touched.
//
// The table uses linear probing with backward-shift deletion, so it holds
// no tombstones. It grows by rehashing under the index's write lock; bits
// of deleted keys stay set in the filter until the next growth, which only
// costs a probe.
type keyTable struct {
	slots  []kslot
	n      int      // keys held
	filter []uint64 // bit per (mixed) key hash
}

type kslot struct {
	list []byte // posting records; nil marks an empty slot
	key  string
	h    uint32 // keyHash(key, pre)
	pre  bool
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

// mix spreads FNV's bits so that the table index and the filter bit both
// come from well-mixed high bits.
func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

func (t *keyTable) init(capacity int) {
	size := 64
	for size < capacity*2 {
		size *= 2
	}
	t.slots = make([]kslot, size)
	// 8 filter bits per slot: 16 or more per key, since the table is
	// never more than half full, for about 6% false positives at worst.
	t.filter = make([]uint64, size*8/64)
	t.n = 0
}

// fbit is the filter bit of table hash kh.
func (t *keyTable) fbit(kh uint32) uint32 {
	return mix(kh^0x5bd1e995) & uint32(len(t.filter)*64-1)
}

// mayHave reports whether kh may be a key; false is certain.
func (t *keyTable) mayHave(kh uint32) bool {
	b := t.fbit(kh)
	return t.filter[b>>6]&(1<<(b&63)) != 0
}

// find returns the posting list of key (table hash kh), nil if none.
func (t *keyTable) find(key string, kh uint32, pre bool) []byte {
	if len(t.slots) == 0 {
		return nil
	}
	m := uint32(len(t.slots) - 1)
	for i := mix(kh) & m; ; i = (i + 1) & m {
		s := &t.slots[i]
		if s.list == nil {
			return nil
		}
		if s.h == kh && s.pre == pre && s.key == key {
			return s.list
		}
	}
}

// slot returns the slot holding key or the empty slot where it would go.
func (t *keyTable) slot(key string, kh uint32, pre bool) *kslot {
	m := uint32(len(t.slots) - 1)
	for i := mix(kh) & m; ; i = (i + 1) & m {
		s := &t.slots[i]
		if s.list == nil || (s.h == kh && s.pre == pre && s.key == key) {
			return s
		}
	}
}

// set stores list (non-empty) for key, adding the key if it is new.
func (t *keyTable) set(key string, kh uint32, pre bool, list []byte) {
	if len(t.slots) == 0 {
		t.init(64)
	}
	s := t.slot(key, kh, pre)
	if s.list == nil {
		if (t.n+1)*2 > len(t.slots) {
			t.grow()
			s = t.slot(key, kh, pre)
		}
		t.n++
		*s = kslot{key: key, h: kh, pre: pre}
		b := t.fbit(kh)
		t.filter[b>>6] |= 1 << (b & 63)
	}
	s.list = list
}

// delete removes key, shifting later entries of its probe run back so that
// no tombstone is needed.
func (t *keyTable) delete(key string, kh uint32, pre bool) {
	if len(t.slots) == 0 {
		return
	}
	m := uint32(len(t.slots) - 1)
	i := mix(kh) & m
	for {
		s := &t.slots[i]
		if s.list == nil {
			return
		}
		if s.h == kh && s.pre == pre && s.key == key {
			break
		}
		i = (i + 1) & m
	}
	t.n--
	for j := (i + 1) & m; ; j = (j + 1) & m {
		s := &t.slots[j]
		if s.list == nil {
			break
		}
		home := mix(s.h) & m
		// Move s back to the hole at i unless its home lies cyclically in
		// (i, j]: then it would become unreachable.
		if (j-home)&m >= (j-i)&m {
			t.slots[i] = *s
			i = j
		}
	}
	t.slots[i] = kslot{}
}

func (t *keyTable) grow() {
	old := t.slots
	t.init(len(old)) // doubles: init sizes for twice the capacity
	for i := range old {
		if s := &old[i]; s.list != nil {
			d := t.slot(s.key, s.h, s.pre)
			*d = *s
			t.n++
			b := t.fbit(s.h)
			t.filter[b>>6] |= 1 << (b & 63)
		}
	}
}
