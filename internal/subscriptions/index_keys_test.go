package subscriptions

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// TestKeyTableEqualsMap drives the key table through random sets and
// deletes, with keys drawn from a small set so that probe runs collide and
// wrap, and checks every key against a Go map after each step.
func TestKeyTableEqualsMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var kt keyTable
		want := map[string][]byte{}
		keys := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-z]{1,6}`), 1, 300, rapid.ID[string]).Draw(t, "keys")
		steps := rapid.IntRange(1, 600).Draw(t, "steps")
		for i := range steps {
			k := rapid.SampledFrom(keys).Draw(t, "key")
			pre := len(k)%2 == 0
			id := fmt.Sprintf("%v:%s", pre, k)
			kh := keyHash(hashTok(k), pre)
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				kt.delete(k, kh, pre)
				delete(want, id)
			case 1:
				v := []byte(fmt.Sprint(i))
				kt.set(k, kh, pre, v)
				want[id] = v
			default:
				// One posting record, appended to the key's list or
				// starting it.
				prog := fmt.Sprint("q", i)
				added := kt.appendRecord(k, kh, pre, uint32(i), sig(0x04030201), uint16(i), prog)
				if _, had := want[id]; added == had {
					t.Fatalf("step %d: appendRecord(%q) reported added=%v, key held before: %v", i, k, added, had)
				}
				want[id] = appendRecord(append([]byte(nil), want[id]...), uint32(i), sig(0x04030201), uint16(i), prog)
			}
			if kt.len() != len(want) {
				t.Fatalf("step %d: len = %d, want %d", i, kt.len(), len(want))
			}
		}
		for _, k := range keys {
			for _, pre := range []bool{false, true} {
				kh := keyHash(hashTok(k), pre)
				got := kt.find(k, kh, pre)
				if w := want[fmt.Sprintf("%v:%s", pre, k)]; string(got) != string(w) || (got == nil) != (w == nil) {
					t.Fatalf("find(%q, %v) = %q, want %q", k, pre, got, w)
				}
				if got != nil && !kt.mayHave(kh) {
					t.Fatalf("filter lost %q", k)
				}
			}
		}
	})
}
