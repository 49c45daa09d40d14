package clusters

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"frontwire/internal/story"
)

// refClusterer is a brute-force Clusterer: a plain slice of the kept
// stories, word frequencies counted by scanning them, candidates found by
// scanning them. It states the rules the compact window implements, so
// that TestReference can compare the two on random stories.
type refClusterer struct {
	cfg      Config
	kept     []*refStory // in order of assignment
	bg       map[uint64]int
	bgDocs   int
	newest   time.Time
	seq      uint64
	clusters []*refCluster // every kept cluster, roots and merged
	capped   int           // merges not made for MaxMerged
}

type refStory struct {
	seq     uint64
	id      string
	link    string
	at      time.Time
	f       *feats
	cluster *refCluster
}

type refCluster struct {
	id     string
	parent *refCluster
	born   uint64
	size   int
}

func (k *refCluster) root() *refCluster {
	for k.parent != nil {
		k = k.parent
	}
	return k
}

func newRef(cfg Config) *refClusterer {
	return &refClusterer{cfg: cfg.withDefaults(), bg: map[uint64]int{}}
}

func (r *refClusterer) addBackground(st *story.Story) {
	r.bgDocs++
	for _, h := range features(st).full {
		r.bg[h]++
	}
}

func (r *refClusterer) cutoff() time.Time { return r.newest.Add(-r.cfg.Window) }

func (r *refClusterer) evict() {
	for len(r.kept) > 0 && (len(r.kept) > r.cfg.MaxStories || r.kept[0].at.Before(r.cutoff())) {
		o := r.kept[0]
		r.kept = r.kept[1:]
		root := o.cluster.root()
		if root.size--; root.size == 0 {
			r.clusters = slices.DeleteFunc(r.clusters, func(k *refCluster) bool { return k.root() == root })
		}
	}
}

func (r *refClusterer) df(h uint64) int {
	n := r.bg[h]
	for _, o := range r.kept {
		if _, ok := slices.BinarySearch(o.f.full, h); ok {
			n++
		}
	}
	return n
}

func (r *refClusterer) idf(h uint64) float64 {
	return math.Log(float64(r.bgDocs+len(r.kept)+2) / float64(r.df(h)+1))
}

// latest returns the story assigned last of those kept with has true, if it
// is within the window.
func (r *refClusterer) latest(has func(*refStory) bool) *refStory {
	for i := len(r.kept) - 1; i >= 0; i-- {
		if has(r.kept[i]) {
			if r.kept[i].at.Before(r.cutoff()) {
				return nil
			}
			return r.kept[i]
		}
	}
	return nil
}

// titleFirst lists full's words, title's first, each part in hash order.
func titleFirst(title, full []uint64) []uint64 {
	out := slices.Clone(title)
	for _, h := range full {
		if !slices.Contains(title, h) {
			out = append(out, h)
		}
	}
	return out
}

func has64(set []uint64, h uint64) bool { return slices.Contains(set, h) }

func missing64(a, b []uint64) bool {
	for _, x := range a {
		if !has64(b, x) {
			return true
		}
	}
	return false
}

func (r *refClusterer) score(a, b *feats) float64 {
	if len(a.full) == 0 || len(b.full) == 0 {
		return 0
	}
	// Sums in the order the Clusterer takes them, so that equal scores
	// stay equal to the last bit.
	var aT, aF float64
	for _, h := range titleFirst(a.title, a.full) {
		w := r.idf(h)
		if has64(a.title, h) {
			aT += w
		}
		aF += w
	}
	var interT, restT, interF, restF float64
	for _, h := range titleFirst(b.title, b.full) {
		w := r.idf(h)
		if has64(b.title, h) {
			if has64(a.title, h) {
				interT += w
			} else {
				restT += w
			}
		}
		if has64(a.full, h) {
			interF += w
		} else {
			restF += w
		}
	}
	s := r.cfg.TitleWeight*ratio(interT, aT+restT) + (1-r.cfg.TitleWeight)*ratio(interF, aF+restF)
	if missing64(a.numbers, b.allNums) && missing64(b.numbers, a.allNums) {
		s *= r.cfg.NumberPenalty
	}
	if missing64(a.names, b.full) && missing64(b.names, a.full) {
		s *= r.cfg.NamePenalty
	}
	return s
}

func (r *refClusterer) find(id string) *refCluster {
	for _, k := range r.clusters {
		if k.id == id {
			return k
		}
	}
	return nil
}

func (r *refClusterer) Canonical(id string) string {
	if k := r.find(id); k != nil {
		return k.root().id
	}
	return id
}

func (r *refClusterer) roots() int {
	n := 0
	for _, k := range r.clusters {
		if k.parent == nil {
			n++
		}
	}
	return n
}

func (r *refClusterer) Assign(st *story.Story) (string, bool) {
	f := features(st)
	at := f.at
	if at.IsZero() {
		at = r.newest
	}
	if at.After(r.newest) {
		r.newest = at
	}
	r.evict()
	if st.ID != "" {
		if o := r.latest(func(o *refStory) bool { return o.id == st.ID }); o != nil {
			return o.cluster.root().id, false
		}
	}
	var best *refStory
	if st.Link != "" {
		best = r.latest(func(o *refStory) bool { return o.link == st.Link })
	}
	linked := best != nil
	// The probe words: the six rarest of the story's words that a kept
	// story holds (rarest first, then by hash).
	type pw struct {
		h  uint64
		df int
	}
	var probes []pw
	for _, h := range f.full {
		if r.df(h) > r.bg[h] {
			probes = append(probes, pw{h, r.df(h)})
		}
	}
	slices.SortStableFunc(probes, func(a, b pw) int { return a.df - b.df })
	probes = probes[:min(len(probes), probeWords)]
	var joined []*refCluster
	bestScore := -1.0
	for _, o := range r.kept {
		shares := false
		for _, p := range probes {
			shares = shares || has64(o.f.full, p.h)
		}
		if !shares || o.at.Before(r.cutoff()) || absDur(at.Sub(o.at)) > r.cfg.Window {
			continue
		}
		s := r.score(f, o.f)
		if s >= r.cfg.MergeThreshold && !slices.Contains(joined, o.cluster.root()) {
			joined = append(joined, o.cluster.root())
		}
		if !linked && s >= r.cfg.Threshold && (s > bestScore || s == bestScore && o.seq < best.seq) {
			best, bestScore = o, s
		}
	}
	var k *refCluster
	isNew := false
	if best != nil {
		if root := best.cluster.root(); !slices.Contains(joined, root) {
			joined = append(joined, root)
		}
		k = joined[0]
		for _, j := range joined {
			if j.born < k.born {
				k = j
			}
		}
		// The clusters the merged root would hold merged into it: every
		// kept cluster under one of the joined roots, but the root.
		under := -1
		for _, c := range r.clusters {
			if slices.Contains(joined, c.root()) {
				under++
			}
		}
		if under > r.cfg.MaxMerged {
			k = best.cluster.root() // past the cap: no merge
			r.capped++
		} else {
			for _, j := range joined {
				if j != k {
					j.parent = k
					k.size += j.size
				}
			}
		}
	} else {
		id := formatClusterID(clusterHash(st), 0)
		for n := uint32(1); r.find(id) != nil; n++ {
			id = formatClusterID(clusterHash(st), n)
		}
		k = &refCluster{id: id, born: r.seq + 1}
		r.clusters = append(r.clusters, k)
		isNew = true
	}
	k.size++
	r.seq++
	r.kept = append(r.kept, &refStory{seq: r.seq, id: st.ID, link: st.Link, at: at, f: f, cluster: k})
	r.evict()
	return k.id, isNew
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// randomStories are n stories over a small vocabulary, so that they often
// share words, names and numbers: IDs and links now and then repeated,
// times mostly rising, now and then going back or missing.
func randomStories(r *rand.Rand, n int) []*story.Story {
	vocab := strings.Fields("Putin Witkoff Kremlin talks Ukraine ceasefire Moscow Kyiv Zelensky floods Valencia " +
		"rescue toll rises Apple iPhone unveils design Marseille wildfire evacuated 25 50 95 10,000 " +
		"Путін зустріч Віткофф переговори tariffs cars steel imposes border Poland Belarus closes reopens")
	text := func(k int) string {
		var b strings.Builder
		for i := range k {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(vocab[r.Intn(len(vocab))])
		}
		return b.String()
	}
	var out []*story.Story
	at := t0
	for i := range n {
		s := &story.Story{ID: fmt.Sprint("s", i), Title: text(2 + r.Intn(5)), Text: text(r.Intn(9))}
		switch x := r.Intn(100); {
		case x < 5 && i > 0:
			s.ID = out[r.Intn(i)].ID
		case x < 8:
			s.ID = ""
		}
		switch x := r.Intn(100); {
		case x < 10 && i > 0:
			s.Link = out[r.Intn(i)].Link
		case x < 60:
			s.Link = fmt.Sprint("https://o", r.Intn(5), ".org/", i)
		}
		switch x := r.Intn(100); {
		case x < 5:
			s.FirstSeen = at.Add(-time.Duration(r.Intn(240)) * time.Minute)
		case x < 8:
		default:
			at = at.Add(time.Duration(r.Intn(20)) * time.Minute)
			s.FirstSeen = at
		}
		out = append(out, s)
	}
	return out
}

// TestReference: on random stories the Clusterer gives every story the
// same cluster, isNew and counts as the brute-force refClusterer, and maps
// every cluster ID handed out the same way, through window eviction, the
// cap, merges, repeated IDs and links, and times out of order.
func TestReference(t *testing.T) {
	total := 0
	cfgs := []Config{
		{Window: 3 * time.Hour, MaxStories: 25, MaxMerged: 1},
		{Window: time.Hour, MaxStories: 200, Threshold: 0.15, MergeThreshold: 0.3},
		{Window: 24 * time.Hour, MaxStories: 7, TitleWeight: 0.3},
		// Only the cap evicts: the blocks' ring grows with kept blocks in it.
		{Window: 1000 * time.Hour, MaxStories: 120, Threshold: 0.5, MergeThreshold: 0.6},
	}
	for seed := range int64(16) {
		cfg := cfgs[seed%int64(len(cfgs))]
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			c, ref := New(cfg), newRef(cfg)
			if seed%2 == 1 {
				for _, s := range randomStories(r, 20) {
					c.addBackground(s)
					ref.addBackground(s)
				}
			}
			var ids []string
			news, merges := 0, 0
			n := 1500
			if cfg.MaxStories > 100 {
				n = 600 // the reference is quadratic in the window
			}
			for i, s := range randomStories(r, n) {
				id, isNew := c.Assign(s)
				wantID, wantNew := ref.Assign(s)
				if id != wantID || isNew != wantNew {
					t.Fatalf("story %d %q: (%s, %v), reference (%s, %v)", i, s.Title, id, isNew, wantID, wantNew)
				}
				n, k := c.Len()
				if n != len(ref.kept) || k != ref.roots() {
					t.Fatalf("story %d: Len %d, %d; reference %d, %d", i, n, k, len(ref.kept), ref.roots())
				}
				ids = append(ids, id)
				if isNew {
					news++
				}
				if i%50 == 0 {
					for _, id := range ids {
						if got, want := c.Canonical(id), ref.Canonical(id); got != want {
							t.Fatalf("story %d: Canonical(%s) = %s, reference %s", i, id, got, want)
						}
					}
					merges += checkMerged(t, c, ids)
				}
			}
			// The inputs must exercise what they are for.
			if news < n/30 || news > n*9/10 {
				t.Errorf("%d new clusters of %d stories: inputs too alike or too unlike", news, n)
			}
			total += merges
			if cfg.MaxMerged > 0 && ref.capped == 0 {
				t.Errorf("MaxMerged %d never held a merge back: the cap is not tested", cfg.MaxMerged)
			}
		})
	}
	if total == 0 {
		t.Error("no cluster was ever merged into another: Merged is not tested")
	}
}

// checkMerged checks Merged against Canonical over ids (every ID Assign
// returned): Merged(r) lists exactly the IDs other than r that Canonical
// maps to r (and perhaps IDs of clusters Assign never named, which must
// map to r too), and is nil for an ID that is not a root. It returns how
// many merged IDs it saw.
func checkMerged(t *testing.T, c *Clusterer, ids []string) int {
	t.Helper()
	want := map[string]map[string]bool{} // root -> IDs merged into it
	for _, id := range ids {
		r := c.Canonical(id)
		if want[r] == nil {
			want[r] = map[string]bool{}
		}
		if r != id {
			want[r][id] = true
			if m := c.Merged(id); m != nil {
				t.Fatalf("Merged(%s) = %v for an ID merged into %s", id, m, r)
			}
		}
	}
	seen := 0
	for r, w := range want {
		got := map[string]bool{}
		for _, id := range c.Merged(r) {
			if id == r || got[id] || c.Canonical(id) != r {
				t.Fatalf("Merged(%s) lists %s (Canonical %s) once too many or wrongly", r, id, c.Canonical(id))
			}
			got[id] = true
		}
		for id := range w {
			if !got[id] {
				t.Fatalf("Merged(%s) = %v lacks %s, which Canonical maps to it", r, c.Merged(r), id)
			}
		}
		if max := c.Config().MaxMerged; len(got) > max {
			t.Fatalf("%d clusters merged into %s, more than MaxMerged %d", len(got), r, max)
		}
		seen += len(got)
	}
	return seen
}
