// Package clusters groups news stories that report the same event, so that
// Frontwire can send one alert per event however many outlets publish it.
//
// A Clusterer keeps the stories of a sliding time window in memory. A new
// story is compared with the stories that share one of its rarest words
// (an inverted index, so the cost follows how common its words are, not
// the size of the window). The score is a Jaccard similarity of word sets
// in which each word weighs by its rarity in the window (IDF): shared
// names, which are rare, count for much; shared headline verbs, which are
// common, for little. Words are folded, Cyrillic is transliterated and
// words are cut to a short stem, so that Віткофф and Witkoff, Путіним and
// Putin meet. Two headlines that each carry a number the other lacks
// (25% against 50%) are penalised. Stories with the same canonical link
// are always one cluster. See docs/CLUSTERING.md for the method and the
// measured precision and recall.
package clusters

import (
	"math"
	"slices"
	"sync"
	"time"

	"frontwire/internal/story"
)

// Defaults used where a Config field is zero.
const (
	// DefaultThreshold is the score at or above which two stories are the
	// same event, chosen on testdata/pairs.json for precision first (see
	// docs/CLUSTERING.md).
	DefaultThreshold = 0.25
	// DefaultWindow is how far apart in time two stories of one event may be.
	DefaultWindow = 24 * time.Hour
	// DefaultTitleWeight is the weight of the titles' similarity against
	// that of title and lead together.
	DefaultTitleWeight = 0.5
	// DefaultNumberPenalty multiplies the score of two stories whose
	// titles each carry a number the other lacks.
	DefaultNumberPenalty = 0.5
	// DefaultNamePenalty multiplies the score of two stories whose titles
	// each name something the other story lacks.
	DefaultNamePenalty = 0.3
	// DefaultMaxStories caps the stories kept, whatever their times say.
	DefaultMaxStories = 50000
	// DefaultMaxMerged caps the clusters merged into one (Config.MaxMerged):
	// one event seldom starts as more than a few clusters.
	DefaultMaxMerged = 32
	// maxLeadBytes bounds the lead read from a story, so that a feed
	// with no sentence breaks cannot make one story expensive.
	maxLeadBytes = 400
	// maxTokens bounds the words taken from title and lead together.
	maxTokens = 80
	// stemRunes is how many letters of a word are kept: enough to tell
	// words apart, few enough that inflections (Путіним/Путін,
	// talks/talk) and transliterations (Moskau/Moskva) meet.
	stemRunes = 5
	// probeWords is how many of a story's rarest words pick the
	// candidates it is compared with.
	probeWords = 6
)

// Config sets how eagerly stories are merged. Zero fields take the defaults.
type Config struct {
	// Threshold is the score in [0, 1] at or above which a story joins the
	// cluster of an earlier one. Higher merges less.
	Threshold float64
	// Window is the greatest time between two stories of one cluster.
	// Stories older than Window (measured from the newest story seen) are
	// forgotten.
	Window time.Duration
	// TitleWeight in [0, 1] weighs the titles' similarity against that of
	// title and lead: score = TitleWeight*titles + (1-TitleWeight)*full.
	TitleWeight float64
	// NumberPenalty in (0, 1] multiplies the score when each title has a
	// number the other story lacks; 1 turns the penalty off.
	NumberPenalty float64
	// NamePenalty in (0, 1] multiplies the score when each title names
	// (a capitalised word, not the first) something the other story does
	// not mention; 1 turns the penalty off.
	NamePenalty float64
	// MaxStories caps the stories kept in memory; the oldest go first.
	// At most 1<<24.
	MaxStories int
	// MergeThreshold is the score at or above which a new story that
	// resembles members of two or more clusters merges them into the
	// oldest. Zero, or a value below Threshold, means Threshold.
	MergeThreshold float64
	// MaxMerged caps how many clusters one cluster holds merged into it
	// (zero: DefaultMaxMerged). A merge that would take it past the cap is
	// not made: the story joins the cluster it resembles most, alone.
	// Storage looks a chat's alert of a merged event up under every
	// merged ID (Merged), per alert; without a cap a news cycle's
	// catch-all cluster absorbed 2,000 others in the pipeline benchmark's
	// workload, and each of its alerts cost 2,000 look-ups.
	MaxMerged int
}

func (c Config) withDefaults() Config {
	if c.Threshold <= 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.TitleWeight <= 0 || c.TitleWeight > 1 {
		c.TitleWeight = DefaultTitleWeight
	}
	if c.NumberPenalty <= 0 || c.NumberPenalty > 1 {
		c.NumberPenalty = DefaultNumberPenalty
	}
	if c.NamePenalty <= 0 || c.NamePenalty > 1 {
		c.NamePenalty = DefaultNamePenalty
	}
	if c.MaxStories <= 0 {
		c.MaxStories = DefaultMaxStories
	}
	// Links name stories by the low bits of their seqs (see link).
	c.MaxStories = min(c.MaxStories, maxStories)
	if c.MergeThreshold < c.Threshold {
		c.MergeThreshold = c.Threshold
	}
	if c.MaxMerged <= 0 {
		c.MaxMerged = DefaultMaxMerged
	}
	return c
}

// Clusterer assigns stories to clusters. It is safe for concurrent use.
//
// The window is kept compact (a few hundred bytes per story, and no
// pointers per story or per word for the collector to trace): a story is
// an entry in a ring in order of assignment, its words are IDs of interned
// stems in a second ring, and a word's postings are a list threaded
// through the blocks of the kept stories holding it, oldest first: beside
// each word a block holds the sequence number of the next story with that
// word. Eviction is strictly first in, first out, so the story leaving is
// the first posting of each of its words, and removing it is O(1) per word.
type Clusterer struct {
	cfg Config

	mu sync.Mutex
	// ring holds the kept stories, the one of sequence number s at
	// s&(len(ring)-1); head is the oldest kept, next the number the next
	// story gets.
	ring       []entry
	head, next uint64
	// feat holds each kept story's block (see entry) at [entry.feat,
	// +blockLen), in order of assignment from featHead to featNext,
	// wrapping to the start when the end has no room (featWrapped) but
	// never within a block. featLive words are in use.
	feat               []uint32
	featHead, featNext uint32
	featWrapped        bool
	featLive           int
	byID               hashIndex // hash of a story ID → seqKey of the story
	byLink             hashIndex // hash of a canonical link → seqKey of the latest story with it

	clusters     []cluster
	freeClusters []uint32
	// clusterIDs finds a kept cluster (root or merged) by its ID's hash;
	// suffixed holds the rare IDs made unique with a "-n".
	clusterIDs hashIndex
	suffixed   map[clusterKey]uint32
	roots      int

	words     hashIndex // stem hash → index in wordTab and stat
	wordTab   []word
	stat      []wordStat // apart from wordTab: all that scoring reads, dense
	freeWords []uint32
	docs      int // kept stories and background documents

	newest int64 // latest story time seen (see nanos): the window ends here

	// Scratch reused by every Assign (under mu), so that scoring a story
	// allocates nothing per candidate.
	stamp   uint32    // wordStat.mark == stamp: in the new story; stamp+1: in its title too
	visit   uint32    // entry.visit == visit: a candidate of the current Assign
	cand    []uint32  // the candidates' ring slots
	probe   []probe   // the new story's words, rarest first
	fullIDs []uint32  // the new story's words (feats.full order), noWord if not kept
	joined  []uint32  // roots of the clusters the new story may merge
	aTitleW float64   // the new story's title words' summed idf
	aFullW  float64   // all its words' summed idf
	a32     setsOf32  // its names, numbers and words as 32-bit hashes
	b32     []uint32  // a candidate's words as 32-bit hashes
	idfTab  []idfMemo // idf by document frequency, for the current docs
	idfGen  uint64    // generation of idfTab's valid entries
	idfDocs int       // docs when idfGen was taken
}

const (
	noWord    = ^uint32(0)
	noCluster = ^uint32(0)
	// zeroAt stands for the zero time.Time: far before any real time,
	// yet far enough from the int64 limits that adding or subtracting a
	// window cannot overflow.
	zeroAt = math.MinInt64 / 4
	maxAt  = math.MaxInt64 / 4
)

// entry is one kept story: only what comparisons need, and no pointers.
// Its block in Clusterer.feat is its word IDs (nTitle title words, then
// the rest of nFull, each part in the order of the stems' hashes); then,
// for each of those words, the low 32 bits of the seq of the next kept
// story holding it (meaningless for the word's last story); then the low
// 32 bits of the hashes of its names (nNames), title numbers (nNums) and
// all numbers (nAllNums), each sorted.
type entry struct {
	at                                     int64 // see nanos
	idH, linkH                             uint64
	feat                                   uint32 // its block's offset in Clusterer.feat
	cluster                                uint32 // the cluster it joined (may since be merged)
	visit                                  uint32
	nFull, nTitle, nNames, nNums, nAllNums uint8
	flags                                  uint8 // hasID | hasLink
}

const (
	hasID   = 1
	hasLink = 2
)

func (e *entry) blockLen() uint32 {
	return 2*uint32(e.nFull) + uint32(e.nNames) + uint32(e.nNums) + uint32(e.nAllNums)
}

// word is one stem in the window.
type word struct {
	hash uint64
	// n kept stories hold it (its postings); first and last are links
	// (see link) to the oldest and the newest.
	n           uint32
	first, last uint32
}

// wordStat is what scoring reads of a word.
type wordStat struct {
	df   int32  // kept stories and background documents holding it
	mark uint32 // see Clusterer.stamp
}

// A link names a kept story and the position of a word among its words:
// the low seqBits bits of the story's seq, then posBits of position, so
// that following a posting list finds its next link without a search.
// The window holds at most maxStories stories, fewer than 1<<seqBits.
const (
	posBits    = 7 // positions < maxTokens ≤ 1<<posBits
	seqBits    = 32 - posBits
	maxStories = 1 << 24
)

func link(seq uint64, pos int) uint32 {
	return uint32(seq)<<posBits | uint32(pos)
}

func linkPos(l uint32) int { return int(l & (1<<posBits - 1)) }

// probe is one of the new story's words, for picking the rarest.
type probe struct {
	id uint32
	df int32
}

// setsOf32 are a story's sets as the low 32 bits of their hashes, sorted:
// the form in which a kept story holds its names and numbers.
type setsOf32 struct {
	names, numbers, allNums, full []uint32
}

// idfMemo is one cached idf value, valid while gen matches idfGen.
type idfMemo struct {
	gen uint64
	v   float64
}

// cluster is a set in a union-find forest: a merged cluster points at the
// cluster it joined (parent) and the root is the canonical cluster. Entries
// keep the cluster they joined, so a merge touches no entry.
type cluster struct {
	h      uint64 // its ID's hash; the ID is formatClusterID(h, n)
	born   uint64 // seq of its first story: the lower, the older
	n      uint32
	parent uint32 // noCluster for a root
	// alias chains the clusters merged into a root, which are forgotten
	// with it.
	alias  uint32
	size   int32 // stories kept (roots)
	merged int32 // clusters on the alias chain (roots)
}

type clusterKey struct {
	h uint64
	n uint32
}

// New returns a Clusterer with cfg, its zero fields set to the defaults.
func New(cfg Config) *Clusterer {
	return &Clusterer{
		cfg:      cfg.withDefaults(),
		head:     1,
		next:     1,
		suffixed: make(map[clusterKey]uint32),
		newest:   zeroAt,
	}
}

// Config returns the configuration in use, defaults filled in.
func (c *Clusterer) Config() Config { return c.cfg }

// nanos is t in Unix nanoseconds, clamped so that window arithmetic cannot
// overflow; the zero time is zeroAt.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return zeroAt
	case t.Year() < 1700:
		return zeroAt + 1
	case t.Year() > 2200:
		return maxAt
	}
	return t.UnixNano()
}

// Assign puts st in the cluster of the earlier story in the window that it
// resembles most, if any scores at or above the threshold, or else in a new
// cluster. It returns the cluster's ID and whether the cluster is new.
//
// When st scores at or above MergeThreshold with members of two or more
// clusters, those clusters merge into the oldest of them (the one whose
// first story came first) and Assign returns that cluster's ID; Canonical
// maps the IDs of the merged clusters to it. Greedy assignment alone makes
// the outcome depend on arrival order: two reports too unlike each other
// start two clusters, and a third report like both is what shows they are
// one event.
//
// A story with the same canonical link as a kept story always joins that
// story's cluster; a story whose ID was assigned before gets the same
// cluster again with isNew false. The story's time is FirstSeen, else
// Published, else the newest time seen so far.
//
// Stories leave the window in the order they were assigned: the oldest
// assigned goes once it is older than Window before the newest time seen,
// or once MaxStories are kept. A story assigned after a later-timed one
// (times out of order) may stay behind it past the window; it is then no
// candidate and no match by ID or link, as if gone, but still counts in
// the words' frequencies until it leaves.
func (c *Clusterer) Assign(st *story.Story) (clusterID string, isNew bool) {
	// Features are computed outside the lock: they are the costly part
	// that depends on the story alone.
	f := features(st)

	c.mu.Lock()
	defer c.mu.Unlock()

	at := c.newest
	if !f.at.IsZero() {
		at = nanos(f.at)
	}
	c.newest = max(c.newest, at)
	c.evict()
	window := int64(min(c.cfg.Window, time.Duration(maxAt)))
	cutoff := c.newest - window

	if f.hasID {
		if s, ok := c.byID.get(f.idH); ok {
			if o := &c.ring[s&c.mask()]; o.at >= cutoff {
				return c.idOf(c.root(o.cluster)), false
			}
		}
	}

	best := noWord // a ring slot
	if f.hasLink {
		if s, ok := c.byLink.get(f.linkH); ok && c.ring[s&c.mask()].at >= cutoff {
			best = s & c.mask()
		}
	}
	// joined are the roots of the clusters st resembles enough to merge.
	c.joined = c.joined[:0]
	linked := best != noWord
	bestScore, bestSeq := -1.0, uint64(0)
	if linked {
		bestSeq = c.seqOf(best)
	}
	c.prepareScoring(f)
	for _, slot := range c.candidates(f) {
		o := &c.ring[slot]
		if d := at - o.at; d > window || -d > window || o.at < cutoff {
			continue
		}
		s := c.score(f, o)
		if s >= c.cfg.MergeThreshold {
			c.joined = addRoot(c.joined, c.root(o.cluster))
		}
		// Ties go to the earlier story, so the outcome does not
		// depend on the order of the candidates.
		if !linked && s >= c.cfg.Threshold {
			if seq := c.seqOf(slot); s > bestScore || s == bestScore && seq < bestSeq {
				best, bestScore, bestSeq = slot, s, seq
			}
		}
	}

	var k uint32
	if best != noWord {
		bestRoot := c.root(c.ring[best].cluster)
		c.joined = addRoot(c.joined, bestRoot)
		if c.mergedAfter(c.joined) > c.cfg.MaxMerged {
			k = bestRoot // the merge would pass the cap: join alone
		} else {
			k = c.merge(c.joined)
		}
	} else {
		// Two different stories whose first members hash alike would
		// share an ID; tell them apart rather than merge them.
		n := uint32(0)
		for c.findCluster(f.clusterH, n) != noCluster {
			n++
		}
		k = c.newCluster(f.clusterH, n, c.next)
		isNew = true
	}
	// k is a root here: the one joined (after any merge) or new.
	c.clusters[k].size++
	c.add(f, at, k)
	c.evict()
	return c.idOf(k), isNew
}

func (c *Clusterer) mask() uint32 { return uint32(len(c.ring) - 1) }

// seqKey is how the ID and link indexes name a kept story: the low 31 bits
// of its seq (a hashIndex holds values below 1<<31), enough to find its
// ring slot.
func seqKey(seq uint64) uint32 { return uint32(seq) & (1<<31 - 1) }

// block returns e's block in the feat ring.
func (c *Clusterer) block(e *entry) []uint32 {
	return c.feat[e.feat : e.feat+e.blockLen()]
}

// linked returns the kept story that link l names.
func (c *Clusterer) linked(l uint32) (slot uint32, e *entry) {
	slot = l >> posBits & c.mask()
	return slot, &c.ring[slot]
}

// nextLink returns the link after l in its word's posting list.
func (c *Clusterer) nextLink(l uint32) uint32 {
	_, e := c.linked(l)
	return c.block(e)[int(e.nFull)+linkPos(l)]
}

// seqOf is the sequence number of the kept story in ring slot slot.
func (c *Clusterer) seqOf(slot uint32) uint64 {
	return c.head + uint64((slot-uint32(c.head))&c.mask())
}

// addRoot adds r to roots unless it is there already.
func addRoot(roots []uint32, r uint32) []uint32 {
	if slices.Contains(roots, r) {
		return roots
	}
	return append(roots, r)
}

// root returns k's canonical cluster, shortening the path on the way.
func (c *Clusterer) root(k uint32) uint32 {
	r := k
	for c.clusters[r].parent != noCluster {
		r = c.clusters[r].parent
	}
	for c.clusters[k].parent != noCluster {
		next := c.clusters[k].parent
		c.clusters[k].parent = r
		k = next
	}
	return r
}

func (c *Clusterer) idOf(k uint32) string {
	return formatClusterID(c.clusters[k].h, c.clusters[k].n)
}

// findCluster returns the kept cluster whose ID is (h, n), or noCluster.
func (c *Clusterer) findCluster(h uint64, n uint32) uint32 {
	var k uint32
	var ok bool
	if n == 0 {
		k, ok = c.clusterIDs.get(h)
	} else {
		k, ok = c.suffixed[clusterKey{h, n}]
	}
	if !ok {
		return noCluster
	}
	return k
}

func (c *Clusterer) newCluster(h uint64, n uint32, born uint64) uint32 {
	var k uint32
	if last := len(c.freeClusters) - 1; last >= 0 {
		k = c.freeClusters[last]
		c.freeClusters = c.freeClusters[:last]
	} else {
		k = uint32(len(c.clusters))
		c.clusters = append(c.clusters, cluster{})
	}
	c.clusters[k] = cluster{h: h, n: n, born: born, parent: noCluster, alias: noCluster}
	if n == 0 {
		c.clusterIDs.put(h, k)
	} else {
		c.suffixed[clusterKey{h, n}] = k
	}
	c.roots++
	return k
}

// mergedAfter is how many clusters the merged root would hold merged
// into it after merging roots: all of them and theirs, but one.
func (c *Clusterer) mergedAfter(roots []uint32) int {
	n := len(roots) - 1
	for _, r := range roots {
		n += int(c.clusters[r].merged)
	}
	return n
}

// merge unites the root clusters roots (at least one) under the oldest
// and returns it.
func (c *Clusterer) merge(roots []uint32) uint32 {
	oldest := roots[0]
	for _, r := range roots[1:] {
		if c.clusters[r].born < c.clusters[oldest].born {
			oldest = r
		}
	}
	o := &c.clusters[oldest]
	for _, r := range roots {
		if r == oldest {
			continue
		}
		k := &c.clusters[r]
		k.parent = oldest
		o.size += k.size
		o.merged += 1 + k.merged
		// r and the clusters merged into it join oldest's chain.
		tail := r
		for c.clusters[tail].alias != noCluster {
			tail = c.clusters[tail].alias
		}
		c.clusters[tail].alias = o.alias
		o.alias = r
		c.roots--
	}
	return oldest
}

// freeCluster forgets the root r and every cluster merged into it.
func (c *Clusterer) freeCluster(r uint32) {
	for k := r; k != noCluster; {
		cl := &c.clusters[k]
		if cl.n == 0 {
			c.clusterIDs.del(cl.h)
		} else {
			delete(c.suffixed, clusterKey{cl.h, cl.n})
		}
		next := cl.alias
		*cl = cluster{parent: noCluster, alias: noCluster}
		c.freeClusters = append(c.freeClusters, k)
		k = next
	}
	c.roots--
}

// findID returns the kept cluster whose ID is id, or noCluster (also for
// a string that is no cluster ID). The caller holds c.mu.
func (c *Clusterer) findID(id string) uint32 {
	h, n, ok := parseClusterID(id)
	if !ok {
		return noCluster
	}
	return c.findCluster(h, n)
}

// Canonical returns the ID of the cluster that the cluster id was merged
// into, or id itself when it was not merged (also when it is unknown or
// already evicted). Records filed under a cluster's ID before a merge are
// found again through it.
func (c *Clusterer) Canonical(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.findID(id)
	if k == noCluster || c.clusters[k].parent == noCluster {
		return id
	}
	return c.idOf(c.root(k))
}

// Merged returns the IDs of the kept clusters merged into the cluster id,
// the inverse of Canonical: every ID other than id that Canonical maps to
// id. It is nil when nothing was merged into id, and when id is not a
// kept cluster's root (unknown, evicted, or itself merged into another:
// Canonical maps nothing to it then). Storage looks a chat's records up by
// these IDs (storage.ClusterPolicy.Merged) instead of mapping every record
// of the chat through Canonical.
func (c *Clusterer) Merged(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.findID(id)
	if k == noCluster || c.clusters[k].parent != noCluster {
		return nil
	}
	var ids []string
	for a := c.clusters[k].alias; a != noCluster; a = c.clusters[a].alias {
		ids = append(ids, c.idOf(a))
	}
	return ids
}

// Len returns the number of stories and clusters kept.
func (c *Clusterer) Len() (stories, clusters int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.next - c.head), c.roots
}

// wordOf returns the word of stem hash h, adding it when create is set;
// noWord when it is not kept and create is not set.
func (c *Clusterer) wordOf(h uint64, create bool) uint32 {
	if id, ok := c.words.get(h); ok {
		return id
	}
	if !create {
		return noWord
	}
	var id uint32
	if last := len(c.freeWords) - 1; last >= 0 {
		id = c.freeWords[last]
		c.freeWords = c.freeWords[:last]
		c.wordTab[id] = word{hash: h}
		c.stat[id] = wordStat{}
	} else {
		id = uint32(len(c.wordTab))
		c.wordTab = append(c.wordTab, word{hash: h})
		c.stat = append(c.stat, wordStat{})
	}
	c.words.put(h, id)
	return id
}

// add keeps the story of f, at time at, in cluster k, and indexes its words.
func (c *Clusterer) add(f *feats, at int64, k uint32) {
	if c.next-c.head == uint64(len(c.ring)) {
		c.growRing()
	}
	seq := c.next
	// Counts are bytes: the sets hold at most maxTokens words, except a
	// pathological title's names, of which the first 255 (by hash) count.
	ne := entry{at: at, idH: f.idH, linkH: f.linkH, cluster: k,
		nFull: uint8(len(f.full)), nTitle: uint8(len(f.title)), nNames: uint8(min(len(c.a32.names), 255)),
		nNums: uint8(len(c.a32.numbers)), nAllNums: uint8(len(c.a32.allNums))}
	// Room for the block first: making it may move the kept blocks.
	ne.feat = c.allocFeat(ne.blockLen())
	c.next++
	e := &c.ring[uint32(seq)&c.mask()]
	*e = ne
	if f.hasID {
		e.flags |= hasID
		c.byID.put(f.idH, seqKey(seq))
	}
	if f.hasLink {
		e.flags |= hasLink
		c.byLink.put(f.linkH, seqKey(seq))
	}
	blk := c.block(e)

	// Words, title first, each part in hash order (see entry), as
	// prepareScoring summed the new story's weights.
	c.docs++
	i, t := 0, 0
	place := func(fi int) {
		id := c.fullIDs[fi]
		if id == noWord {
			id = c.wordOf(f.full[fi], true)
		}
		w := &c.wordTab[id]
		c.stat[id].df++
		l := link(seq, i)
		if w.n > 0 {
			// The word's newest story so far links to this one.
			_, last := c.linked(w.last)
			c.block(last)[int(last.nFull)+linkPos(w.last)] = l
		} else {
			w.first = l
		}
		w.last = l
		w.n++
		blk[i] = id
		blk[int(e.nFull)+i] = 0
		i++
	}
	for fi, h := range f.full {
		if t < len(f.title) && f.title[t] == h {
			place(fi)
			t++
		}
	}
	t = 0
	for fi, h := range f.full {
		if t < len(f.title) && f.title[t] == h {
			t++
			continue
		}
		place(fi)
	}
	i += int(e.nFull)
	i += copy(blk[i:], c.a32.names[:e.nNames])
	i += copy(blk[i:], c.a32.numbers)
	copy(blk[i:], c.a32.allNums)
}

func (c *Clusterer) growRing() {
	old, oldMask := c.ring, uint64(len(c.ring)-1)
	c.ring = make([]entry, max(64, 2*len(old)))
	mask := uint64(len(c.ring) - 1)
	for s := c.head; s != c.next; s++ {
		c.ring[s&mask] = old[s&oldMask]
	}
}

// allocFeat returns the offset of a new block of n words after the
// newest in the feat ring, growing the ring when it has no room.
func (c *Clusterer) allocFeat(n uint32) uint32 {
	c.featLive += int(n)
	size := uint32(len(c.feat))
	switch {
	case !c.featWrapped && c.featNext+n <= size:
	case !c.featWrapped && n <= c.featHead:
		// No room at the end: start again at the beginning.
		c.featNext, c.featWrapped = 0, true
	case c.featWrapped && c.featNext+n <= c.featHead:
	default:
		c.resizeFeat(c.featLive + c.featLive/8 + 1024)
	}
	p := c.featNext
	c.featNext += n
	return p
}

// resizeFeat moves the kept blocks, in order, to the start of a new feat
// ring of size words (at least featLive; the block being added is counted
// but not yet kept). Growing by an eighth rather than doubling keeps the
// ring's unused part small; the copy is rare once the window is full.
func (c *Clusterer) resizeFeat(size int) {
	old := c.feat
	c.feat = make([]uint32, size)
	p := uint32(0)
	for s := c.head; s != c.next; s++ {
		e := &c.ring[uint32(s)&c.mask()]
		n := e.blockLen()
		copy(c.feat[p:p+n], old[e.feat:e.feat+n])
		e.feat = p
		p += n
	}
	c.featHead, c.featNext, c.featWrapped = 0, p, false
}

// evict drops the oldest assigned stories while the oldest is older than
// the window or more than MaxStories are kept, and with them the clusters
// left empty.
func (c *Clusterer) evict() {
	cutoff := c.newest - int64(min(c.cfg.Window, time.Duration(maxAt)))
	for c.head != c.next {
		e := &c.ring[uint32(c.head)&c.mask()]
		if c.next-c.head <= uint64(c.cfg.MaxStories) && e.at >= cutoff {
			return
		}
		c.forget(e, seqKey(c.head))
		c.featLive -= int(e.blockLen())
		c.head++
		switch {
		case c.head == c.next:
			c.featHead, c.featNext, c.featWrapped = 0, 0, false
		case c.ring[uint32(c.head)&c.mask()].feat < c.featHead:
			// The oldest block is now past the wrap.
			c.featHead, c.featWrapped = c.ring[uint32(c.head)&c.mask()].feat, false
		default:
			c.featHead = c.ring[uint32(c.head)&c.mask()].feat
		}
	}
	// A window that has shrunk gives most of its blocks' ring back.
	if len(c.feat) > 1<<16 && c.featLive < len(c.feat)/4 {
		c.resizeFeat(c.featLive + c.featLive/8 + 1024)
	}
}

// forget removes the kept story e, of sequence number seq (seqKey), from
// the maps, the word statistics and its cluster.
func (c *Clusterer) forget(e *entry, seq uint32) {
	if s, ok := c.byID.get(e.idH); ok && e.flags&hasID != 0 && s == seq {
		c.byID.del(e.idH)
	}
	if s, ok := c.byLink.get(e.linkH); ok && e.flags&hasLink != 0 && s == seq {
		c.byLink.del(e.linkH)
	}
	c.docs--
	blk := c.block(e)
	for i, id := range blk[:e.nFull] {
		w := &c.wordTab[id]
		// Stories leave in the order they came, so e is the first
		// posting of each of its words: the next one becomes first.
		w.first = blk[int(e.nFull)+i]
		w.n--
		if c.stat[id].df--; c.stat[id].df <= 0 {
			c.words.del(w.hash)
			c.freeWords = append(c.freeWords, id)
		}
	}
	r := c.root(e.cluster)
	if c.clusters[r].size--; c.clusters[r].size <= 0 {
		c.freeCluster(r)
	}
}

// candidates returns the ring slots of the kept stories sharing one of the
// new story's rarest words (prepareScoring looked its words up). Two
// reports of one event share their rarest words (names, places); a word
// most stories hold would bring in most of the window for nothing. The
// slice is the Clusterer's scratch, valid until the next call.
func (c *Clusterer) candidates(f *feats) []uint32 {
	c.probe = c.probe[:0]
	for _, id := range c.fullIDs {
		if id != noWord && c.wordTab[id].n > 0 {
			c.probe = append(c.probe, probe{id, c.stat[id].df})
		}
	}
	// Rarest first; among equally rare words, the lower hash (the order
	// of f.full). Words absent from the window hold no postings and were
	// left out, which skips them just as probing them would.
	slices.SortStableFunc(c.probe, func(a, b probe) int { return int(a.df) - int(b.df) })
	if c.visit++; c.visit == 0 {
		// The stamp wrapped: clear the old marks.
		for i := range c.ring {
			c.ring[i].visit = 0
		}
		c.visit = 1
	}
	c.cand = c.cand[:0]
	for n, p := range c.probe {
		if n == probeWords {
			break
		}
		w := &c.wordTab[p.id]
		l := w.first
		for k := uint32(0); k < w.n; k++ {
			slot, o := c.linked(l)
			if o.visit != c.visit {
				o.visit = c.visit
				c.cand = append(c.cand, slot)
			}
			if k+1 < w.n {
				l = c.block(o)[int(o.nFull)+linkPos(l)]
			}
		}
	}
	return c.cand
}

// idf is the weight of a word held by df documents: rare words in the
// window weigh most. The smoothing keeps a word seen once from weighing
// without bound and gives words never seen the highest weight. The
// logarithm was most of the cost of scoring, and within one Assign it
// depends on df alone, so each value is computed once per generation of
// docs (syncIDF).
func (c *Clusterer) idf(df int32) float64 {
	// Small enough to inline into the scoring loop.
	if t := c.idfTab; uint(df) < uint(len(t)) && t[df].gen == c.idfGen {
		return t[df].v
	}
	return c.idfSlow(int(df))
}

// syncIDF starts a new generation of idf values when docs has changed.
func (c *Clusterer) syncIDF() {
	if c.idfDocs != c.docs || c.idfGen == 0 {
		c.idfGen++
		c.idfDocs = c.docs
	}
}

func (c *Clusterer) idfSlow(df int) float64 {
	if df >= len(c.idfTab) {
		c.idfTab = append(c.idfTab, make([]idfMemo, df+1-len(c.idfTab))...)
	}
	m := &c.idfTab[df]
	if m.gen != c.idfGen {
		m.gen = c.idfGen
		m.v = math.Log(float64(c.docs+2) / float64(df+1))
	}
	return m.v
}

// prepareScoring looks up the new story's words, marks them for score,
// sums their weights in the current window (title words first, as a kept
// story's block orders them) and takes the 32-bit forms of its sets.
func (c *Clusterer) prepareScoring(f *feats) {
	if c.stamp += 2; c.stamp < 2 {
		// The stamp wrapped: clear the old marks.
		for i := range c.stat {
			c.stat[i].mark = 0
		}
		c.stamp = 2
	}
	c.fullIDs = c.fullIDs[:0]
	for _, h := range f.full {
		c.fullIDs = append(c.fullIDs, c.wordOf(h, false))
	}
	c.syncIDF()
	weight := func(id uint32) float64 {
		if id == noWord {
			return c.idf(0)
		}
		return c.idf(c.stat[id].df)
	}
	c.aTitleW, c.aFullW = 0, 0
	t := 0
	for i, h := range f.full {
		if t < len(f.title) && f.title[t] == h {
			t++
			w := weight(c.fullIDs[i])
			c.aTitleW += w
			c.aFullW += w
			if id := c.fullIDs[i]; id != noWord {
				c.stat[id].mark = c.stamp + 1
			}
		}
	}
	t = 0
	for i, h := range f.full {
		if t < len(f.title) && f.title[t] == h {
			t++
			continue
		}
		c.aFullW += weight(c.fullIDs[i])
		if id := c.fullIDs[i]; id != noWord {
			c.stat[id].mark = c.stamp
		}
	}
	c.a32.names = lows(c.a32.names[:0], f.names)
	c.a32.numbers = lows(c.a32.numbers[:0], f.numbers)
	c.a32.allNums = lows(c.a32.allNums[:0], f.allNums)
	c.a32.full = lows(c.a32.full[:0], f.full)
}

// lows appends the low 32 bits of hs to dst, sorted.
func lows(dst []uint32, hs []uint64) []uint32 {
	for _, h := range hs {
		dst = append(dst, uint32(h))
	}
	slices.Sort(dst)
	return dst
}

// score is how alike the story being assigned, f (whose words
// prepareScoring marked and weighed), and the kept story o are, in [0, 1]:
// TitleWeight × the weighted Jaccard similarity of their titles' words,
// plus the rest × that of all their words, each word weighing its idf.
func (c *Clusterer) score(f *feats, o *entry) float64 {
	if len(f.full) == 0 || o.nFull == 0 {
		return 0
	}
	blk := c.block(o)
	// The intersections, and the weights of o's words that f lacks: the
	// union is f's weight plus those.
	var interT, restT, interF, restF float64
	// The idf lookups written out (idf is too big to inline), with the
	// slices in locals: this loop is most of an Assign.
	stat, stamp := c.stat, c.stamp
	tab, gen := c.idfTab, c.idfGen
	for k, id := range blk[:o.nFull] {
		st := stat[id]
		var w float64
		if uint(st.df) < uint(len(tab)) && tab[st.df].gen == gen {
			w = tab[st.df].v
		} else {
			w = c.idfSlow(int(st.df))
			tab = c.idfTab
		}
		// st.mark-stamp is 0 for a word of the new story, 1 for one of
		// its title, and large for any other (marks of earlier Assigns
		// are lower).
		inA := st.mark-stamp < 2
		if k < int(o.nTitle) {
			if st.mark == stamp+1 {
				interT += w
			} else {
				restT += w
			}
		}
		if inA {
			interF += w
		} else {
			restF += w
		}
	}
	s := c.cfg.TitleWeight*ratio(interT, c.aTitleW+restT) + (1-c.cfg.TitleWeight)*ratio(interF, c.aFullW+restF)
	if s < c.cfg.Threshold && s < c.cfg.MergeThreshold {
		// The penalties only lower a score, and this one already
		// decides nothing.
		return s
	}
	sets := blk[2*int(o.nFull):]
	names, nums, allNums := sets[:o.nNames], sets[o.nNames:int(o.nNames)+int(o.nNums)], sets[int(o.nNames)+int(o.nNums):]
	// "25% tariffs on cars" and "50% on steel": each title has a number
	// the other story never mentions.
	if missing(c.a32.numbers, allNums) && missing(nums, c.a32.allNums) {
		s *= c.cfg.NumberPenalty
	}
	// "Witkoff meets Putin in Moscow" and "Witkoff meets Zelensky in
	// Kyiv": each title names someone or somewhere the other story never
	// mentions.
	if missing(names, c.a32.full) {
		c.b32 = c.b32[:0]
		for _, id := range blk[:o.nFull] {
			c.b32 = append(c.b32, uint32(c.wordTab[id].hash))
		}
		slices.Sort(c.b32)
		if missing(c.a32.names, c.b32) {
			s *= c.cfg.NamePenalty
		}
	}
	return s
}

func ratio(inter, union float64) float64 {
	if union == 0 {
		return 0
	}
	return inter / union
}

// missing reports whether some element of sorted set a is not in sorted set b.
func missing(a, b []uint32) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return true
		}
	}
	return false
}

// addBackground counts st's words in the document frequencies for good,
// without making it a candidate. A live window holds thousands of stories
// and learns which words are common from them; the labelled evaluation
// compares pairs in an empty Clusterer, and gives it the labelled set as
// that background instead.
func (c *Clusterer) addBackground(st *story.Story) {
	f := features(st)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.docs++
	for _, h := range f.full {
		c.stat[c.wordOf(h, true)].df++
	}
}
