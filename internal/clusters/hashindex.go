package clusters

// hashIndex maps 64-bit hashes to values below 1<<31: open addressing
// with linear probing, deletion by backward shift (no tombstones), kept
// between 3/16 and 3/4 full. It takes 12 bytes a slot where a Go map of
// uint64 to uint32 takes 16 and more spare room: the window holds four
// such indexes, one or two entries per kept story each.
type hashIndex struct {
	keys []uint64
	vals []uint32 // emptyVal in an empty slot
	n    int
}

const emptyVal = ^uint32(0)

// home is h's first slot: the hashes are FNV-1a, whose low bits alone are
// poorly spread, so they are mixed first.
func (t *hashIndex) home(h uint64) int {
	return int((h * 0x9e3779b97f4a7c15) >> 32 & uint64(len(t.keys)-1))
}

func (t *hashIndex) get(h uint64) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := len(t.keys) - 1
	for i := t.home(h); t.vals[i] != emptyVal; i = (i + 1) & mask {
		if t.keys[i] == h {
			return t.vals[i], true
		}
	}
	return 0, false
}

// put sets h's value to v (below 1<<31).
func (t *hashIndex) put(h uint64, v uint32) {
	if (t.n+1)*4 > len(t.keys)*3 {
		t.resize(max(16, 2*len(t.keys)))
	}
	mask := len(t.keys) - 1
	i := t.home(h)
	for ; t.vals[i] != emptyVal; i = (i + 1) & mask {
		if t.keys[i] == h {
			t.vals[i] = v
			return
		}
	}
	t.keys[i], t.vals[i] = h, v
	t.n++
}

func (t *hashIndex) del(h uint64) {
	if t.n == 0 {
		return
	}
	mask := len(t.keys) - 1
	i := t.home(h)
	for ; t.keys[i] != h || t.vals[i] == emptyVal; i = (i + 1) & mask {
		if t.vals[i] == emptyVal {
			return
		}
	}
	// Shift back each following entry of the run that may take the
	// freed slot: one whose home is not between the gap and it.
	for j := (i + 1) & mask; t.vals[j] != emptyVal; j = (j + 1) & mask {
		if k := t.home(t.keys[j]); (j-k)&mask >= (j-i)&mask {
			t.keys[i], t.vals[i] = t.keys[j], t.vals[j]
			i = j
		}
	}
	t.vals[i] = emptyVal
	t.n--
	if len(t.keys) > 64 && t.n*16 < len(t.keys)*3 {
		t.resize(len(t.keys) / 2)
	}
}

func (t *hashIndex) len() int { return t.n }

func (t *hashIndex) resize(size int) {
	keys, vals := t.keys, t.vals
	t.keys, t.vals, t.n = make([]uint64, size), make([]uint32, size), 0
	for i := range t.vals {
		t.vals[i] = emptyVal
	}
	for i, v := range vals {
		if v != emptyVal {
			t.put(keys[i], v)
		}
	}
}
