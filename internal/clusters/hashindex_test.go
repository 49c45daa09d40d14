package clusters

import (
	"math/rand"
	"testing"
)

// TestHashIndex runs random puts, gets and deletes of 302 keys against a
// Go map, in phases that fill and empty the index, so that it grows and
// shrinks and deletions shift runs of colliding keys back.
func TestHashIndex(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var ix hashIndex
	want := map[uint64]uint32{}
	keys := []uint64{0, ^uint64(0)}
	for range 300 {
		keys = append(keys, r.Uint64())
	}
	for op := range 200000 {
		k := keys[r.Intn(len(keys))]
		// Phases of growth and of shrinking, so that resizes both ways run.
		growing := op/20000%2 == 0
		switch x := r.Intn(10); {
		case x < 5 && growing || x < 2:
			v := uint32(r.Int31())
			ix.put(k, v)
			want[k] = v
		case x < 8:
			ix.del(k)
			delete(want, k)
		default:
			v, ok := ix.get(k)
			if w, wok := want[k]; ok != wok || v != w {
				t.Fatalf("op %d: get(%x) = %d, %v; want %d, %v", op, k, v, ok, w, wok)
			}
		}
		if ix.len() != len(want) {
			t.Fatalf("op %d: len %d, want %d", op, ix.len(), len(want))
		}
	}
	for k, w := range want {
		if v, ok := ix.get(k); !ok || v != w {
			t.Fatalf("get(%x) = %d, %v; want %d", k, v, ok, w)
		}
	}
	if len(ix.keys) > 64 && ix.n*16 < len(ix.keys)*3 {
		t.Errorf("%d entries in %d slots", ix.n, len(ix.keys))
	}
}
