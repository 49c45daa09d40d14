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
	"encoding/hex"
	"hash/fnv"
	"math"
	"sort"
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
	MaxStories int
	// MergeThreshold is the score at or above which a new story that
	// resembles members of two or more clusters merges them into the
	// oldest. Zero, or a value below Threshold, means Threshold.
	MergeThreshold float64
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
	if c.MergeThreshold < c.Threshold {
		c.MergeThreshold = c.Threshold
	}
	return c
}

// Clusterer assigns stories to clusters. It is safe for concurrent use.
type Clusterer struct {
	cfg Config

	mu       sync.Mutex
	entries  []*entry            // kept stories, in order of assignment
	byID     map[string]*entry   // story ID → entry, for stories seen again
	byLink   map[string]*entry   // canonical link → latest entry with it
	clusters map[string]*cluster // roots only
	// merged maps the ID of a cluster merged into an older one to that
	// cluster, whose root is found through parent links.
	merged map[string]*cluster
	newest time.Time // latest story time seen: the window ends here
	seq    uint64
	// words holds, per word, how many kept stories (and background
	// documents) hold it and which kept stories do.
	words map[uint64]*word
	docs  int
	// minAt is no later than the time of every kept story, so that
	// evict can tell without a scan that none has left the window.
	minAt time.Time

	// Scratch reused by every Assign (under mu), so that scoring a story
	// allocates nothing per candidate.
	visit   uint64    // stamp marking the candidates of the current Assign
	cand    []*entry  // the candidates
	probe   []*word   // the story's words, rarest first
	idfTab  []idfMemo // idf by document frequency, for the current docs
	idfGen  uint64    // generation of idfTab's valid entries
	idfDocs int       // docs when idfGen was taken
	eTitleW []float64 // idf of the new story's title words
	eFullW  []float64 // idf of the new story's words
}

// word is one stem's statistics in the window.
type word struct {
	df       int // kept stories and background documents holding it
	postings map[*entry]struct{}
}

// idfMemo is one cached idf value, valid while gen matches idfGen.
type idfMemo struct {
	gen uint64
	v   float64
}

// entry is one story as the Clusterer remembers it: only what comparisons need.
type entry struct {
	id      string
	link    string
	at      time.Time
	cluster *cluster
	seq     uint64   // order of assignment, for ties
	title   []uint64 // stems of the title's words, sorted, distinct
	full    []uint64 // stems of title and lead
	names   []uint64 // stems of the title's capitalised words (not its first)
	numbers []uint64 // numbers in the title
	allNums []uint64 // numbers in title and lead
	// titleW and fullW are the words of title and full, set when the
	// entry is indexed, so that scoring reads their frequencies without
	// a map lookup.
	titleW []*word
	fullW  []*word
	visit  uint64 // the Clusterer's visit stamp when last a candidate
}

// cluster is a set in a union-find forest: a merged cluster points at the
// cluster it joined (parent) and the root is the canonical cluster. Entries
// keep pointing at the cluster they joined, so a merge touches no entry.
type cluster struct {
	id     string
	parent *cluster  // nil for a root
	born   uint64    // seq of its first story: the lower, the older
	last   time.Time // time of its newest story (roots)
	size   int       // stories kept (roots)
	// aliases are the IDs of the clusters merged into this root, dropped
	// from Clusterer.merged when the root is evicted.
	aliases []string
}

// root returns k's canonical cluster, shortening the path on the way.
func root(k *cluster) *cluster {
	r := k
	for r.parent != nil {
		r = r.parent
	}
	for k.parent != nil {
		next := k.parent
		k.parent = r
		k = next
	}
	return r
}

// New returns a Clusterer with cfg, its zero fields set to the defaults.
func New(cfg Config) *Clusterer {
	return &Clusterer{
		cfg:      cfg.withDefaults(),
		byID:     make(map[string]*entry),
		byLink:   make(map[string]*entry),
		clusters: make(map[string]*cluster),
		merged:   make(map[string]*cluster),
		words:    make(map[uint64]*word),
	}
}

// Config returns the configuration in use, defaults filled in.
func (c *Clusterer) Config() Config { return c.cfg }

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
func (c *Clusterer) Assign(st *story.Story) (clusterID string, isNew bool) {
	// Features are computed outside the lock: they are the costly part and
	// depend on the story alone.
	e := features(st)

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
			return root(old.cluster).id, false
		}
	}

	var best *entry
	if e.link != "" {
		if old, ok := c.byLink[e.link]; ok {
			best = old
		}
	}
	// joined are the roots of the clusters st resembles enough to merge.
	var joined []*cluster
	linked := best != nil
	bestScore := -1.0
	c.prepareScoring(e)
	for _, o := range c.candidates(e) {
		if absDur(e.at.Sub(o.at)) > c.cfg.Window {
			continue
		}
		s := c.score(e, o)
		if s >= c.cfg.MergeThreshold {
			joined = addRoot(joined, root(o.cluster))
		}
		// Ties go to the earlier story, so the outcome does not
		// depend on map order.
		if !linked && s >= c.cfg.Threshold && (s > bestScore || s == bestScore && o.seq < best.seq) {
			best, bestScore = o, s
		}
	}

	if best != nil {
		joined = addRoot(joined, root(best.cluster))
		e.cluster = c.merge(joined)
		isNew = false
	} else {
		e.cluster = &cluster{id: newClusterID(st)}
		// Two different stories whose first members hash alike would
		// share an ID; tell them apart rather than merge them.
		for n := 1; c.clusters[e.cluster.id] != nil || c.merged[e.cluster.id] != nil; n++ {
			e.cluster.id = newClusterID(st) + "-" + strconv.Itoa(n)
		}
		e.cluster.born = c.seq + 1
		c.clusters[e.cluster.id] = e.cluster
		isNew = true
	}
	if e.at.After(e.cluster.last) {
		e.cluster.last = e.at
	}
	// e.cluster is a root here: the one joined (after any merge) or new.
	e.cluster.size++
	c.seq++
	e.seq = c.seq
	if len(c.entries) == 0 || e.at.Before(c.minAt) {
		c.minAt = e.at
	}
	c.entries = append(c.entries, e)
	if e.id != "" {
		c.byID[e.id] = e
	}
	if e.link != "" {
		c.byLink[e.link] = e
	}
	c.index(e, 1)
	c.evict()
	return e.cluster.id, isNew
}

// addRoot adds r to roots unless it is there already.
func addRoot(roots []*cluster, r *cluster) []*cluster {
	for _, x := range roots {
		if x == r {
			return roots
		}
	}
	return append(roots, r)
}

// merge unites the root clusters roots (at least one) under the oldest
// and returns it.
func (c *Clusterer) merge(roots []*cluster) *cluster {
	oldest := roots[0]
	for _, r := range roots[1:] {
		if r.born < oldest.born {
			oldest = r
		}
	}
	for _, r := range roots {
		if r == oldest {
			continue
		}
		r.parent = oldest
		oldest.size += r.size
		if r.last.After(oldest.last) {
			oldest.last = r.last
		}
		oldest.aliases = append(oldest.aliases, r.id)
		oldest.aliases = append(oldest.aliases, r.aliases...)
		r.aliases = nil
		delete(c.clusters, r.id)
		c.merged[r.id] = r
	}
	return oldest
}

// Canonical returns the ID of the cluster that the cluster id was merged
// into, or id itself when it was not merged (also when it is unknown or
// already evicted). Records filed under a cluster's ID before a merge are
// found again through it.
func (c *Clusterer) Canonical(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.merged[id]; ok {
		return root(k).id
	}
	return id
}

// Len returns the number of stories and clusters kept.
func (c *Clusterer) Len() (stories, clusters int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), len(c.clusters)
}

// index adds (delta 1) or removes (-1) e's words to the document
// frequencies and the postings.
func (c *Clusterer) index(e *entry, delta int) {
	c.docs += delta
	if delta > 0 {
		e.fullW = make([]*word, len(e.full))
		e.titleW = make([]*word, len(e.title))
	}
	t := 0
	for i, h := range e.full {
		w := c.words[h]
		if w == nil {
			if delta < 0 {
				continue
			}
			w = &word{}
			c.words[h] = w
		}
		w.df += delta
		if delta > 0 {
			e.fullW[i] = w
			// title is a subset of full, both sorted.
			for t < len(e.title) && e.title[t] < h {
				t++
			}
			if t < len(e.title) && e.title[t] == h {
				e.titleW[t] = w
			}
			if w.postings == nil {
				w.postings = make(map[*entry]struct{})
			}
			w.postings[e] = struct{}{}
		} else {
			delete(w.postings, e)
		}
		if w.df <= 0 {
			delete(c.words, h)
		}
	}
	if delta < 0 {
		// Dropped from the window: let the words go with it.
		e.fullW, e.titleW = nil, nil
	}
}

// candidates returns the kept stories sharing one of e's rarest words.
// Two reports of one event share their rarest words (names, places); a
// word most stories hold would bring in most of the window for nothing.
// The slice is the Clusterer's scratch, valid until the next call.
func (c *Clusterer) candidates(e *entry) []*entry {
	// e is not indexed yet: its words are looked up here, once.
	c.probe = c.probe[:0]
	hashes := e.full
	for _, h := range hashes {
		if w := c.words[h]; w != nil && len(w.postings) > 0 {
			c.probe = append(c.probe, w)
		}
	}
	// Rarest first; among equally rare words, the lower hash, as before.
	// Words absent from the window hold no postings and were left out,
	// which skips them just as probing them would.
	sort.SliceStable(c.probe, func(i, j int) bool { return c.probe[i].df < c.probe[j].df })
	c.visit++
	c.cand = c.cand[:0]
	for n, w := range c.probe {
		if n == probeWords {
			break
		}
		for o := range w.postings {
			if o.visit != c.visit {
				o.visit = c.visit
				c.cand = append(c.cand, o)
			}
		}
	}
	return c.cand
}

// evict drops stories older than the window and, past MaxStories, the
// oldest ones, and with them the clusters left empty.
func (c *Clusterer) evict() {
	cutoff := c.newest.Add(-c.cfg.Window)
	excess := len(c.entries) - c.cfg.MaxStories
	if len(c.entries) == 0 || !c.minAt.Before(cutoff) {
		// No kept story has left the window: only the cap can drop
		// any, and it drops the first ones.
		if excess <= 0 {
			return
		}
		for i, e := range c.entries[:excess] {
			c.forget(e)
			c.entries[i] = nil
		}
		c.entries = c.entries[excess:]
		return
	}
	keep := c.entries[:0]
	var minAt time.Time
	for i, e := range c.entries {
		if i < excess || e.at.Before(cutoff) {
			c.forget(e)
			continue
		}
		if len(keep) == 0 || e.at.Before(minAt) {
			minAt = e.at
		}
		keep = append(keep, e)
	}
	// Clear the tail so dropped entries can be collected.
	for i := len(keep); i < len(c.entries); i++ {
		c.entries[i] = nil
	}
	c.entries = keep
	c.minAt = minAt
}

func (c *Clusterer) forget(e *entry) {
	if e.id != "" && c.byID[e.id] == e {
		delete(c.byID, e.id)
	}
	if e.link != "" && c.byLink[e.link] == e {
		delete(c.byLink, e.link)
	}
	c.index(e, -1)
	r := root(e.cluster)
	r.size--
	if r.size <= 0 {
		delete(c.clusters, r.id)
		for _, id := range r.aliases {
			delete(c.merged, id)
		}
	}
}

// idf is a word's weight: rare words in the window weigh most. The
// smoothing keeps a word seen once from weighing without bound and gives
// words never seen the highest weight.
func (c *Clusterer) idf(h uint64) float64 {
	df := 0
	if w := c.words[h]; w != nil {
		df = w.df
	}
	return c.idfOfDF(df)
}

// idfOfDF is idf for a word held by df documents. The logarithm is most
// of the cost of scoring, and within one Assign it depends on df alone,
// so each value is computed once per generation of docs.
func (c *Clusterer) idfOfDF(df int) float64 {
	if c.idfDocs != c.docs || c.idfGen == 0 {
		c.idfGen++
		c.idfDocs = c.docs
	}
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

// prepareScoring computes the weights of e's words for the current
// window, before e is indexed, for score to read.
func (c *Clusterer) prepareScoring(e *entry) {
	c.eFullW = c.eFullW[:0]
	for _, h := range e.full {
		c.eFullW = append(c.eFullW, c.idf(h))
	}
	c.eTitleW = c.eTitleW[:0]
	for _, h := range e.title {
		c.eTitleW = append(c.eTitleW, c.idf(h))
	}
}

// weightedJaccard of two sorted word sets, each word weighing its IDF:
// a's weights are given (aw), b's are read from its words (bw).
func (c *Clusterer) weightedJaccard(a []uint64, aw []float64, b []uint64, bw []*word) float64 {
	var inter, union float64
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			union += aw[i]
			i++
		case i == len(a) || b[j] < a[i]:
			union += c.idfOfDF(bw[j].df)
			j++
		default:
			w := aw[i]
			inter += w
			union += w
			i++
			j++
		}
	}
	if union == 0 {
		return 0
	}
	return inter / union
}

// score is how alike the story being assigned, a (whose word weights
// prepareScoring computed), and the kept story b are, in [0, 1].
func (c *Clusterer) score(a, b *entry) float64 {
	if len(a.full) == 0 || len(b.full) == 0 {
		return 0
	}
	s := c.cfg.TitleWeight*c.weightedJaccard(a.title, c.eTitleW, b.title, b.titleW) + (1-c.cfg.TitleWeight)*c.weightedJaccard(a.full, c.eFullW, b.full, b.fullW)
	// "25% tariffs on cars" and "50% on steel": each title has a number
	// the other story never mentions.
	if missing(a.numbers, b.allNums) && missing(b.numbers, a.allNums) {
		s *= c.cfg.NumberPenalty
	}
	// "Witkoff meets Putin in Moscow" and "Witkoff meets Zelensky in
	// Kyiv": each title names someone or somewhere the other story never
	// mentions.
	if missing(a.names, b.full) && missing(b.names, a.full) {
		s *= c.cfg.NamePenalty
	}
	return s
}

// missing reports whether some element of sorted set a is not in sorted set b.
func missing(a, b []uint64) bool {
	for _, x := range a {
		i := sort.Search(len(b), func(i int) bool { return b[i] >= x })
		if i == len(b) || b[i] != x {
			return true
		}
	}
	return false
}

// features extracts what Assign compares from st.
func features(st *story.Story) *entry {
	e := &entry{id: st.ID, link: st.Link, at: st.FirstSeen}
	if e.at.IsZero() {
		e.at = st.Published
	}
	lead := st.Summary
	if lead == "" {
		lead = st.Text
	}
	lead = firstSentence(lead)

	var toks []string
	toks = story.AppendTokens(toks, st.Title)
	nTitle := len(toks)
	toks = story.AppendTokens(toks, lead)
	if len(toks) > maxTokens {
		toks = toks[:maxTokens]
	}
	nTitle = min(nTitle, len(toks))
	for i, t := range toks {
		if isNumber(t) {
			h := hashString(t)
			e.allNums = insertSorted(e.allNums, h)
			if i < nTitle {
				e.numbers = insertSorted(e.numbers, h)
			}
			// Numbers count as words too: a shared casualty figure
			// is strong evidence.
		} else if isStopword(t) || !hasLetter(t) {
			continue
		}
		h := hashString(stem(t))
		e.full = insertSorted(e.full, h)
		if i < nTitle {
			e.title = insertSorted(e.title, h)
		}
	}
	e.names = titleNames(st.Title)
	return e
}

// titleNames returns the stems of the title's words written with a capital
// letter, except its first word and words of a title in capitals (which
// say nothing about names).
func titleNames(title string) []uint64 {
	var out []uint64
	if strings.ToUpper(title) == title {
		return nil
	}
	var toks []string
	for w := range strings.FieldsSeq(title) {
		r, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }))
		if !unicode.IsUpper(r) || strings.ToUpper(w) == w && utf8.RuneCountInString(w) > 3 {
			continue
		}
		toks = story.AppendTokens(toks[:0], w)
		for _, t := range toks {
			if !isStopword(t) && hasLetter(t) && utf8.RuneCountInString(t) > 2 {
				out = insertSorted(out, hashString(stem(t)))
			}
		}
		if len(out) >= maxTokens {
			break
		}
	}
	return out
}

func isNumber(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// stem reduces a folded word to a crude phonetic key of at most stemRunes
// letters: Cyrillic transliterated, w→v, y/j→i, g→h, c→k, doubled letters
// once. It is deliberately lossy; rarity weighting keeps the collisions it
// makes between common words cheap.
func stem(t string) string {
	var b strings.Builder
	var last rune
	n := 0
	for _, r := range t {
		for _, l := range latin(r) {
			if l == last {
				continue
			}
			b.WriteRune(l)
			last = l
			if n++; n == stemRunes {
				return b.String()
			}
		}
	}
	return b.String()
}

// latin maps one folded rune to the letters of its phonetic key.
func latin(r rune) string {
	switch r {
	case 'w', 'в':
		return "v"
	case 'y', 'j', 'и', 'і', 'ї', 'й', 'ы':
		return "i"
	case 'g', 'h', 'г', 'ґ', 'х':
		return "h"
	case 'c', 'q', 'к':
		return "k"
	case 'а':
		return "a"
	case 'б':
		return "b"
	case 'д':
		return "d"
	case 'е', 'є', 'ё', 'э':
		return "e"
	case 'ж':
		return "zh"
	case 'з':
		return "z"
	case 'л':
		return "l"
	case 'м':
		return "m"
	case 'н':
		return "n"
	case 'о':
		return "o"
	case 'п':
		return "p"
	case 'р':
		return "r"
	case 'с':
		return "s"
	case 'т':
		return "t"
	case 'у':
		return "u"
	case 'ф':
		return "f"
	case 'ц':
		return "ts"
	case 'ч':
		return "ch"
	case 'ш':
		return "sh"
	case 'щ':
		return "shch"
	case 'ю':
		return "iu"
	case 'я':
		return "ia"
	case 'ь', 'ъ', '\'', 'ʼ', '’':
		return ""
	}
	return string(r)
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func insertSorted(s []uint64, h uint64) []uint64 {
	i := sort.Search(len(s), func(i int) bool { return s[i] >= h })
	if i < len(s) && s[i] == h {
		return s
	}
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = h
	return s
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

// addBackground counts st's words in the document frequencies for good,
// without making it a candidate. A live window holds thousands of stories
// and learns which words are common from them; the labelled evaluation
// compares pairs in an empty Clusterer, and gives it the labelled set as
// that background instead.
func (c *Clusterer) addBackground(st *story.Story) {
	e := features(st)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.docs++
	for _, h := range e.full {
		w := c.words[h]
		if w == nil {
			w = &word{}
			c.words[h] = w
		}
		w.df++
	}
}
