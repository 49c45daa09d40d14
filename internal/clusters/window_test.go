package clusters

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// keptIDs returns the hashes of the kept stories' IDs, oldest assigned first.
func keptIDs(c *Clusterer) []uint64 {
	var out []uint64
	for s := c.head; s != c.next; s++ {
		out = append(out, c.ring[uint32(s)&c.mask()].idH)
	}
	return out
}

func hashesOf(ids ...string) []uint64 {
	var out []uint64
	for _, id := range ids {
		out = append(out, hashString(id))
	}
	return out
}

// TestEvictionOrder: stories leave in the order they were assigned,
// whatever their times say.
func TestEvictionOrder(t *testing.T) {
	t.Run("cap", func(t *testing.T) {
		c := New(Config{MaxStories: 3})
		minutes := []int{5, 1, 3, 2, 4, 0}
		var ids []string
		for i, m := range minutes {
			id := fmt.Sprint("s", i)
			ids = append(ids, id)
			c.Assign(st(id, fmt.Sprintf("Unrelated item%d", i), "", "", t0.Add(time.Duration(m)*time.Minute)))
			want := hashesOf(ids[max(0, len(ids)-3):]...)
			if got := keptIDs(c); !slices.Equal(got, want) {
				t.Fatalf("after %d stories kept %x, want the last three assigned %x", i+1, got, want)
			}
		}
	})
	t.Run("window", func(t *testing.T) {
		c := New(Config{Window: time.Hour})
		steps := []struct {
			id   string
			at   time.Duration
			kept []string
		}{
			{"a", 2 * time.Hour, []string{"a"}},
			// b is older than the window already, but a was assigned
			// first and is within it: b waits behind a.
			{"b", 0, []string{"a", "b"}},
			{"c", 2*time.Hour + 10*time.Minute, []string{"a", "b", "c"}},
			// The window now starts at 2h30: a leaves, then b, then c.
			{"d", 3*time.Hour + 30*time.Minute, []string{"d"}},
		}
		for i, s := range steps {
			c.Assign(st(s.id, "Story "+s.id, "", "", t0.Add(s.at)))
			if got, want := keptIDs(c), hashesOf(s.kept...); !slices.Equal(got, want) {
				t.Fatalf("step %d: kept %x, want %v %x", i, got, s.kept, want)
			}
		}
	})
	t.Run("stale story is gone for matching", func(t *testing.T) {
		c := New(Config{Window: time.Hour})
		c.Assign(st("a", "Floods in Valencia kill at least 95", "", "https://x.org/a", t0.Add(2*time.Hour)))
		idB, _ := c.Assign(st("b", "Witkoff meets Putin in Moscow", "", "https://x.org/b", t0))
		// b is still kept (behind a) but outside the window: neither its
		// ID, nor its link, nor its words find it.
		id, isNew := c.Assign(st("b", "Witkoff meets Putin in Moscow", "", "https://x.org/b", t0.Add(90*time.Minute)))
		if !isNew || id == idB {
			t.Errorf("story b again: (%s, %v), want a new cluster, not %s", id, isNew, idB)
		}
		if n, _ := c.Len(); n != 3 {
			t.Errorf("kept %d stories, want 3", n)
		}
	})
}

// windowSizes are the sizes of a Clusterer's structures.
type windowSizes struct {
	ring, feat, words, wordTab, clusters, aliases, postings int
}

// checkWindow verifies that the postings are exactly the kept stories'
// words and that counts match, and returns the structures' sizes.
func checkWindow(t *testing.T, c *Clusterer) windowSizes {
	t.Helper()
	sz := windowSizes{ring: len(c.ring), feat: len(c.feat), words: c.words.len(), wordTab: len(c.wordTab), clusters: len(c.clusters)}
	held := map[uint32]int{} // word → kept stories holding it
	for s := c.head; s != c.next; s++ {
		e := &c.ring[uint32(s)&c.mask()]
		for _, id := range c.block(e)[:e.nFull] {
			held[id]++
		}
	}
	for id := range c.wordTab {
		w := &c.wordTab[id]
		sz.postings += int(w.n)
		if df := c.stat[id].df; int(w.n) != held[uint32(id)] || df > 0 && int(df) != held[uint32(id)] {
			t.Fatalf("word %d: %d postings, df %d; %d kept stories hold it", id, w.n, df, held[uint32(id)])
		}
		// Its list runs through kept stories holding it at the position
		// named, in order of assignment, from first to last.
		prev, l := uint64(0), w.first
		for k := uint32(0); k < w.n; k++ {
			seq := c.head + uint64((l>>posBits-uint32(c.head))&(1<<seqBits-1))
			_, o := c.linked(l)
			if seq >= c.next || k > 0 && seq <= prev || c.block(o)[linkPos(l)] != uint32(id) {
				t.Fatalf("word %d: posting %d is not a kept story holding it, in order (head %d, next %d)", id, seq, c.head, c.next)
			}
			if k+1 == w.n && l != w.last {
				t.Fatalf("word %d: list ends at %x, last is %x", id, l, w.last)
			}
			prev = seq
			if k+1 < w.n {
				l = c.nextLink(l)
			}
		}
	}
	// Every cluster in use is a root of a kept story's cluster or merged
	// into one, and the roots' sizes count the kept stories.
	inRoot := map[uint32]int{}
	for s := c.head; s != c.next; s++ {
		inRoot[c.root(c.ring[uint32(s)&c.mask()].cluster)]++
	}
	reachable := 0
	for r, n := range inRoot {
		if c.clusters[r].parent != noCluster || int(c.clusters[r].size) != n {
			t.Fatalf("cluster %d: size %d, parent %d; %d kept stories in it", r, c.clusters[r].size, c.clusters[r].parent, n)
		}
		for k := r; k != noCluster; k = c.clusters[k].alias {
			reachable++
		}
	}
	sz.aliases = reachable - len(inRoot)
	if inUse := len(c.clusters) - len(c.freeClusters); inUse != reachable || c.roots != len(inRoot) {
		t.Fatalf("%d clusters in use, %d roots counted; %d reachable from %d roots of kept stories", inUse, c.roots, reachable, len(inRoot))
	}
	if c.words.len() != len(held) {
		t.Fatalf("%d words interned, %d held by kept stories", c.words.len(), len(held))
	}
	return sz
}

// TestWindowBounded: over ten windows' worth of stories the postings stay
// exactly the kept stories' words, and no structure keeps growing.
func TestWindowBounded(t *testing.T) {
	const window = 500
	sts := windowStories(10 * window)
	c := New(Config{MaxStories: window})
	var first windowSizes
	for i := range sts {
		c.Assign(&sts[i])
		if (i+1)%window != 0 {
			continue
		}
		sz := checkWindow(t, c)
		// The blocks' ring has room for about an eighth more than the
		// blocks in it, and never keeps growing.
		if sz.feat > c.featLive+c.featLive/4+2048 {
			t.Errorf("after %d stories: blocks' ring of %d words for %d in use", i+1, sz.feat, c.featLive)
		}
		if n, _ := c.Len(); n != window {
			t.Fatalf("kept %d stories, want %d", n, window)
		}
		switch (i + 1) / window {
		case 2:
			first = sz
		case 10:
			t.Logf("after 2 windows %+v, after 10 %+v", first, sz)
			if sz.ring > first.ring || sz.wordTab > first.wordTab*5/4 || sz.clusters > (first.clusters+sz.aliases)*5/4 {
				t.Errorf("structures grew from %+v after 2 windows to %+v after 10", first, sz)
			}
		}
	}
}

// TestWindowShrinks: when the window empties, the blocks' ring gives its
// memory back, and what is left is consistent.
func TestWindowShrinks(t *testing.T) {
	sts := windowStories(3001)
	c := New(Config{})
	for i := range 3000 {
		c.Assign(&sts[i])
	}
	big := len(c.feat)
	last := sts[3000]
	last.FirstSeen = sts[2999].FirstSeen.Add(48 * time.Hour)
	c.Assign(&last)
	checkWindow(t, c)
	if n, _ := c.Len(); n != 1 || len(c.feat) > 4096 || big < 1<<16 {
		t.Errorf("kept %d stories in a blocks' ring of %d words (%d before); want 1 story, under 4096 words", n, len(c.feat), big)
	}
}
