// Package clusters groups news stories that report the same event, so that
// Frontwire can send one alert per event however many outlets publish it.
//
// A Clusterer keeps the stories of a sliding time window in memory. Each new
// story is compared with every story of the window on two signals: how much
// of the wording of its title and lead it shares (MinHash estimates of the
// Jaccard similarity of word shingles), and how many of its names it shares
// (capitalised words that are not common words). Stories with the same
// canonical link are always one cluster. See docs/CLUSTERING.md for the
// method and for how the default threshold was chosen.
package clusters

import (
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"frontwire/internal/story"
)

// Defaults used where a Config field is zero.
const (
	// DefaultThreshold is the score at or above which two stories are the
	// same event. It was chosen on testdata/pairs.json for precision first:
	// it ties for the best F0.5 there (see docs/CLUSTERING.md).
	DefaultThreshold = 0.30
	// DefaultWindow is how far apart in time two stories of one event may be.
	DefaultWindow = 24 * time.Hour
	// DefaultShingle is the number of words in one shingle.
	DefaultShingle = 1
	// DefaultTextWeight is the weight of wording against names in the score.
	DefaultTextWeight = 0.5
	// DefaultMaxStories caps the stories kept, whatever their times say.
	DefaultMaxStories = 50000
	// numHashes is the MinHash signature length: the standard error of
	// the Jaccard estimate is about 1/sqrt(numHashes) ≈ 0.09 at worst
	// (J = 0.5), less near 0 and 1.
	numHashes = 64
	// maxLeadBytes bounds the lead read from a story, so that a feed
	// with no sentence breaks cannot make one story expensive.
	maxLeadBytes = 400
	// maxTokens bounds the words taken from title and lead together.
	maxTokens = 80
)

// Config sets how eagerly stories are merged. Zero fields take the defaults.
type Config struct {
	// Threshold is the score in [0, 1] at or above which a story joins the
	// cluster of an earlier one. Higher merges less.
	Threshold float64
	// Window is the greatest time between two stories of one cluster.
	// Clusters whose latest story is older than Window (measured from the
	// newest story seen) are forgotten.
	Window time.Duration
	// Shingle is the number of consecutive words in one shingle. 1 compares
	// vocabularies; 2 or more also compares word order.
	Shingle int
	// TextWeight in [0, 1] weighs wording against shared names: the score
	// is TextWeight*wording + (1-TextWeight)*names.
	TextWeight float64
	// MaxStories caps the stories kept in memory; the oldest go first.
	MaxStories int
}

func (c Config) withDefaults() Config {
	if c.Threshold <= 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Shingle <= 0 {
		c.Shingle = DefaultShingle
	}
	if c.TextWeight <= 0 || c.TextWeight > 1 {
		c.TextWeight = DefaultTextWeight
	}
	if c.MaxStories <= 0 {
		c.MaxStories = DefaultMaxStories
	}
	return c
}

// Clusterer assigns stories to clusters. It is safe for concurrent use.
type Clusterer struct {
	cfg Config

	mu       sync.Mutex
	entries  []*entry          // kept stories, in order of assignment
	byID     map[string]*entry // story ID → entry, for stories seen again
	byLink   map[string]*entry // canonical link → latest entry with it
	clusters map[string]*cluster
	newest   time.Time // latest story time seen: the window ends here
}

// entry is one story as the Clusterer remembers it: only what comparisons need.
type entry struct {
	id      string
	link    string
	at      time.Time
	cluster *cluster
	title   signature // shingles of the title
	full    signature // shingles of title and lead
	names   []uint64  // hashes of names, sorted, no duplicates
	empty   bool      // no words at all: never merged by wording
}

type cluster struct {
	id   string
	last time.Time // time of its newest story
	size int       // stories kept
}

type signature [numHashes]uint32

// New returns a Clusterer with cfg, its zero fields set to the defaults.
func New(cfg Config) *Clusterer {
	return &Clusterer{
		cfg:      cfg.withDefaults(),
		byID:     make(map[string]*entry),
		byLink:   make(map[string]*entry),
		clusters: make(map[string]*cluster),
	}
}

// Config returns the configuration in use, defaults filled in.
func (c *Clusterer) Config() Config { return c.cfg }

// Assign puts st in the cluster of the earlier story in the window that it
// resembles most, if any scores at or above the threshold, or else in a new
// cluster. It returns the cluster's ID and whether the cluster is new.
//
// A story with the same canonical link as a kept story always joins that
// story's cluster; a story whose ID was assigned before gets the same
// cluster again with isNew false. The story's time is FirstSeen, else
// Published, else the newest time seen so far.
func (c *Clusterer) Assign(st *story.Story) (clusterID string, isNew bool) {
	// Features are computed outside the lock: they are the costly part and
	// depend on the story alone.
	e := c.features(st)

	c.mu.Lock()
	defer c.mu.Unlock()

	if e.at.IsZero() {
		e.at = c.newest
	}
	if e.at.After(c.newest) {
		c.newest = e.at
	}
	c.evict()

	if e.id != "" {
		if old, ok := c.byID[e.id]; ok {
			return old.cluster.id, false
		}
	}

	var best *entry
	if e.link != "" {
		if old, ok := c.byLink[e.link]; ok {
			best = old
		}
	}
	if best == nil {
		bestScore := -1.0
		for _, o := range c.entries {
			if absDur(e.at.Sub(o.at)) > c.cfg.Window {
				continue
			}
			s := c.score(e, o)
			if s >= c.cfg.Threshold && s > bestScore {
				best, bestScore = o, s
			}
		}
	}

	if best != nil {
		e.cluster = best.cluster
		isNew = false
	} else {
		e.cluster = &cluster{id: newClusterID(st)}
		// Two different stories whose first members hash alike would
		// share an ID; tell them apart rather than merge them.
		for n := 1; c.clusters[e.cluster.id] != nil; n++ {
			e.cluster.id = newClusterID(st) + "-" + strconv.Itoa(n)
		}
		c.clusters[e.cluster.id] = e.cluster
		isNew = true
	}
	if e.at.After(e.cluster.last) {
		e.cluster.last = e.at
	}
	e.cluster.size++
	c.entries = append(c.entries, e)
	if e.id != "" {
		c.byID[e.id] = e
	}
	if e.link != "" {
		c.byLink[e.link] = e
	}
	c.evict()
	return e.cluster.id, isNew
}

// Len returns the number of stories and clusters kept.
func (c *Clusterer) Len() (stories, clusters int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), len(c.clusters)
}

// evict drops stories older than the window and, past MaxStories, the
// oldest ones, and with them the clusters left empty.
func (c *Clusterer) evict() {
	cutoff := c.newest.Add(-c.cfg.Window)
	keep := c.entries[:0]
	excess := len(c.entries) - c.cfg.MaxStories
	for i, e := range c.entries {
		if i < excess || e.at.Before(cutoff) {
			c.forget(e)
			continue
		}
		keep = append(keep, e)
	}
	// Clear the tail so dropped entries can be collected.
	for i := len(keep); i < len(c.entries); i++ {
		c.entries[i] = nil
	}
	c.entries = keep
}

func (c *Clusterer) forget(e *entry) {
	if e.id != "" && c.byID[e.id] == e {
		delete(c.byID, e.id)
	}
	if e.link != "" && c.byLink[e.link] == e {
		delete(c.byLink, e.link)
	}
	e.cluster.size--
	if e.cluster.size <= 0 {
		delete(c.clusters, e.cluster.id)
	}
}

// score is how alike two stories are, in [0, 1].
func (c *Clusterer) score(a, b *entry) float64 {
	if a.empty || b.empty {
		return 0
	}
	text := max(a.title.similarity(&b.title), a.full.similarity(&b.full))
	names := text
	if len(a.names) > 0 && len(b.names) > 0 {
		names = jaccard(a.names, b.names)
	}
	return c.cfg.TextWeight*text + (1-c.cfg.TextWeight)*names
}

// features extracts what Assign compares from st.
func (c *Clusterer) features(st *story.Story) *entry {
	e := &entry{id: st.ID, link: st.Link, at: st.FirstSeen}
	if e.at.IsZero() {
		e.at = st.Published
	}
	lead := st.Summary
	if lead == "" {
		lead = st.Text
	}
	lead = firstSentence(lead)

	titleToks := contentTokens(nil, st.Title)
	nTitle := len(titleToks)
	allToks := contentTokens(titleToks, lead)
	if len(allToks) > maxTokens {
		allToks = allToks[:maxTokens]
	}
	if nTitle > len(allToks) {
		nTitle = len(allToks)
	}
	e.empty = len(allToks) == 0
	e.title = minhash(allToks[:nTitle], c.cfg.Shingle)
	e.full = minhash(allToks, c.cfg.Shingle)
	e.names = names(st.Title, lead)
	return e
}

// contentTokens appends the folded words of s that are not common words.
func contentTokens(dst []string, s string) []string {
	start := len(dst)
	dst = story.AppendTokens(dst, s)
	keep := dst[:start]
	for _, t := range dst[start:] {
		if !isStopword(t) {
			keep = append(keep, t)
		}
	}
	return keep
}

// names returns the sorted, distinct hashes of the names in title and lead:
// words written with a capital letter that are not common words once
// folded. A headline in title case makes every word look like a name; the
// stopword list removes the worst of those, and the wording score carries
// the rest.
func names(title, lead string) []uint64 {
	var out []uint64
	var toks []string
	for _, field := range [2]string{title, lead} {
		for w := range strings.FieldsSeq(field) {
			r, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(w, notLetter))
			if !unicode.IsUpper(r) {
				continue
			}
			toks = story.AppendTokens(toks[:0], w)
			for _, t := range toks {
				if utf8.RuneCountInString(t) < 3 || isStopword(t) || !hasLetter(t) {
					continue
				}
				out = insertSorted(out, hashString(t))
				if len(out) >= maxTokens {
					return out
				}
			}
		}
	}
	return out
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func insertSorted(s []uint64, h uint64) []uint64 {
	i := 0
	for i < len(s) && s[i] < h {
		i++
	}
	if i < len(s) && s[i] == h {
		return s
	}
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = h
	return s
}

// jaccard of two sorted sets without duplicates.
func jaccard(a, b []uint64) float64 {
	inter := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// firstSentence returns text up to the end of its first sentence, at most
// maxLeadBytes long and cut on a rune boundary.
func firstSentence(text string) string {
	if len(text) > maxLeadBytes {
		cut := maxLeadBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	for i, r := range text {
		switch r {
		case '.', '!', '?':
			// A full stop followed by a space ends a sentence; "U.S."
			// and "2.5" do not.
			if i+1 < len(text) && text[i+1] == ' ' && (i == 0 || !isUpperASCII(text[i-1])) {
				return text[:i+1]
			}
		case '。', '！', '？':
			return text[:i+len(string(r))]
		}
	}
	return text
}

func isUpperASCII(b byte) bool { return 'A' <= b && b <= 'Z' }

// minhash returns the MinHash signature of the n-word shingles of toks.
// Fewer than n words make one shingle of them all.
func minhash(toks []string, n int) signature {
	var sig signature
	for i := range sig {
		sig[i] = ^uint32(0)
	}
	if len(toks) == 0 {
		return sig
	}
	if n > len(toks) {
		n = len(toks)
	}
	for i := 0; i+n <= len(toks); i++ {
		h := fnv.New64a()
		for j, t := range toks[i : i+n] {
			if j > 0 {
				h.Write([]byte{0})
			}
			h.Write([]byte(t))
		}
		// Derive numHashes hash functions from two halves of one 64-bit
		// hash (Kirsch–Mitzenmacher), each passed through a mixer so the
		// permutations are not simply shifted copies of one another.
		x := mix64(h.Sum64())
		h1, h2 := uint32(x), uint32(x>>32)|1
		for k := range sig {
			v := mix32(h1 + uint32(k)*h2)
			if v < sig[k] {
				sig[k] = v
			}
		}
	}
	return sig
}

// similarity estimates the Jaccard similarity of the two shingle sets.
func (s *signature) similarity(o *signature) float64 {
	eq := 0
	for i := range s {
		if s[i] == o[i] {
			eq++
		}
	}
	return float64(eq) / numHashes
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// newClusterID derives a cluster's ID from its first story, so that a
// Clusterer rebuilt from the same stories gives the same IDs.
func newClusterID(st *story.Story) string {
	h := fnv.New64a()
	h.Write([]byte(st.ID))
	h.Write([]byte{0})
	h.Write([]byte(st.Link))
	h.Write([]byte{0})
	h.Write([]byte(st.Title))
	var b [8]byte
	v := h.Sum64()
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
