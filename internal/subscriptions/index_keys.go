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
//     filter of 16 or more bits per key, small enough to stay in cache, says
//     "certainly not a key" for nearly all of them before the table is
//     touched.
//
// The keys themselves live in a dense slice; the open-addressing table
// holds only their hash and position (8 bytes a slot), so that keeping it
// at most half full costs little memory. It uses linear probing with
// backward-shift deletion, so it holds no tombstones, and grows by
// rehashing under the index's write lock. Bits of deleted keys stay set in
// the filter until the next growth, which only costs a probe.
type keyTable struct {
	slots  []kslot   // open addressing; ref 0 marks an empty slot
	keys   []keyList // dense; slots refer to them
	filter []uint64  // bit per (mixed) key hash
}

type kslot struct {
	h   uint32 // keyHash of the key
	ref uint32 // 1 + index into keys
}

type keyList struct {
	key  string
	list []byte // posting records, never empty
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
// come from well-mixed bits.
func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}

// len returns the number of keys.
func (t *keyTable) len() int { return len(t.keys) }

// init empties the table and sizes it for capacity keys.
func (t *keyTable) init(capacity int) {
	t.keys = make([]keyList, 0, capacity)
	t.resize(capacity)
}

// resize rebuilds slots and filter for capacity keys from t.keys.
func (t *keyTable) resize(capacity int) {
	size := 64
	for size < capacity*2 {
		size *= 2
	}
	t.slots = make([]kslot, size)
	// 8 filter bits per slot: 16 or more per key, since the table is
	// never more than half full, for about 6% false positives at worst.
	t.filter = make([]uint64, size*8/64)
	m := uint32(size - 1)
	for k := range t.keys {
		kl := &t.keys[k]
		kh := keyHash(hashTok(kl.key), kl.pre)
		i := mix(kh) & m
		for t.slots[i].ref != 0 {
			i = (i + 1) & m
		}
		t.slots[i] = kslot{h: kh, ref: uint32(k + 1)}
		t.setBit(kh)
	}
}

// fbit is the filter bit of table hash kh.
func (t *keyTable) fbit(kh uint32) uint32 {
	return mix(kh^0x5bd1e995) & uint32(len(t.filter)*64-1)
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
	for i := mix(kh) & m; ; i = (i + 1) & m {
		s := t.slots[i]
		if s.ref == 0 {
			return i, false
		}
		if s.h == kh {
			if kl := &t.keys[s.ref-1]; kl.pre == pre && kl.key == key {
				return i, true
			}
		}
	}
}

// find returns the posting list of key (table hash kh), nil if none.
func (t *keyTable) find(key string, kh uint32, pre bool) []byte {
	if len(t.slots) == 0 {
		return nil
	}
	i, ok := t.index(key, kh, pre)
	if !ok {
		return nil
	}
	return t.keys[t.slots[i].ref-1].list
}

// set stores list (non-empty) for key, adding the key if it is new.
func (t *keyTable) set(key string, kh uint32, pre bool, list []byte) {
	if len(t.slots) == 0 {
		t.init(32)
	}
	i, ok := t.index(key, kh, pre)
	if ok {
		t.keys[t.slots[i].ref-1].list = list
		return
	}
	if (len(t.keys)+1)*2 > len(t.slots) {
		t.keys = append(t.keys, keyList{key: key, list: list, pre: pre})
		t.resize(len(t.slots)) // doubles: resize sizes for twice the capacity
		return
	}
	t.keys = append(t.keys, keyList{key: key, list: list, pre: pre})
	t.slots[i] = kslot{h: kh, ref: uint32(len(t.keys))}
	t.setBit(kh)
}

// delete removes key, shifting later entries of its probe run back so that
// no tombstone is needed, and moves the last key into its place in keys.
func (t *keyTable) delete(key string, kh uint32, pre bool) {
	if len(t.slots) == 0 {
		return
	}
	i, ok := t.index(key, kh, pre)
	if !ok {
		return
	}
	ref := t.slots[i].ref
	m := uint32(len(t.slots) - 1)
	for j := (i + 1) & m; ; j = (j + 1) & m {
		s := t.slots[j]
		if s.ref == 0 {
			break
		}
		home := mix(s.h) & m
		// Move s back to the hole at i unless its home lies cyclically in
		// (i, j]: then it would become unreachable.
		if (j-home)&m >= (j-i)&m {
			t.slots[i] = s
			i = j
		}
	}
	t.slots[i] = kslot{}
	last := uint32(len(t.keys))
	if ref != last {
		// Move the last key into the freed place and repoint its slot.
		moved := t.keys[last-1]
		t.keys[ref-1] = moved
		mh := keyHash(hashTok(moved.key), moved.pre)
		j, _ := t.index(moved.key, mh, moved.pre)
		t.slots[j].ref = ref
	}
	t.keys[last-1] = keyList{}
	t.keys = t.keys[:last-1]
}
