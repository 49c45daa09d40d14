// Package benchmatch runs the matching benchmark behind `bot bench match`:
// it generates a deterministic workload (internal/subscriptions/workload),
// stores the subscriptions in bbolt, loads and indexes them as start-up
// does, matches the stories with the index and with the naive full scan,
// and reports the figures side by side.
package benchmatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"frontwire/internal/cputime"
	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

// Loader stores subscriptions and reads them all back; *storage.DB
// satisfies it. AddSubscriptions assigns the IDs.
type Loader interface {
	AddSubscriptions(subs []*subscriptions.Subscription) error
	ForEachSubscription(fn func(*subscriptions.Subscription) error) error
}

// Options configure a run.
type Options struct {
	Subs    int   // subscriptions to generate
	Stories int   // stories to match
	Seed    int64 // workload seed
	// NaiveSample is how many of the stories the naive full scan matches
	// (spread evenly); 0 picks a number that keeps the scan to a few
	// seconds.
	NaiveSample int
	JSON        bool   // print one JSON object instead of a table
	Dir         string // where the caller opened the bbolt file (reported only)
}

// Result holds the figures of one run. Rates are per core: stories divided
// by the CPU time the process spent, so that other load on the machine does
// not distort them; wall-clock rates are reported beside them.
type Result struct {
	Subs          int     `json:"subs"`
	Stories       int     `json:"stories"`
	IndexedPerSec float64 `json:"indexed_stories_per_sec"`
	// IndexedTermsPerSec is the rate of AppendMatches with every hit's
	// matched terms, into a reused slice (the pipeline's call);
	// IndexedPerSec is the same without terms.
	IndexedTermsPerSec  float64 `json:"indexed_with_terms_stories_per_sec"`
	AllocsTermsPerStory float64 `json:"allocs_with_terms_per_story"`
	// NaivePerSec is the Contains loop issue 5 describes
	// (subscriptions.ContainsScan), and Speedup the index's rate over it.
	NaivePerSec float64 `json:"naive_stories_per_sec"`
	Speedup     float64 `json:"speedup"`
	// EvalScanPerSec is the full scan with the compiled evaluator over
	// the tokenised story (subscriptions.NaiveMatch), a stronger
	// baseline than the Contains loop; EvalScanSpeedup the index's rate
	// over it.
	EvalScanPerSec       float64 `json:"evaluator_scan_stories_per_sec"`
	EvalScanSpeedup      float64 `json:"speedup_over_evaluator_scan"`
	CandidatesPerStory   float64 `json:"candidates_per_story"`
	MatchesPerStory      float64 `json:"matches_per_story"`
	AllocsPerStory       float64 `json:"allocs_per_story"`
	IndexBytesPerSub     float64 `json:"index_bytes_per_sub"`
	KeysPerSub           float64 `json:"index_keys_per_sub"`
	LoadAndIndexSeconds  float64 `json:"load_and_index_seconds"`
	AddRemoveMicros      float64 `json:"add_remove_micros"`
	IndexedPerWallSec    float64 `json:"indexed_stories_per_wall_sec"`
	NaivePerWallSec      float64 `json:"naive_stories_per_wall_sec"`
	NaiveSample          int     `json:"naive_sample"`
	NaiveMatchesPerStory float64 `json:"naive_matches_per_story"`
	Mismatches           int     `json:"mismatches"` // stories where index and naive disagree; always 0
	LoadCPUSeconds       float64 `json:"load_and_index_cpu_seconds"`
	StoreSeconds         float64 `json:"store_seconds"`
	GOMAXPROCS           int     `json:"gomaxprocs"`
}

// ErrMismatch means the index and the naive scan disagreed on a story.
var ErrMismatch = errors.New("index and naive scan disagree")

// Run performs the benchmark and writes its figures to w.
func Run(ctx context.Context, opt Options, load Loader, w io.Writer) error {
	if opt.Subs <= 0 || opt.Stories <= 0 {
		return fmt.Errorf("bench match: subs and stories must be positive (got %d and %d)", opt.Subs, opt.Stories)
	}
	if load == nil {
		return errors.New("bench match: no subscription store")
	}
	res, err := run(ctx, opt, load)
	if err != nil {
		return err
	}
	if opt.JSON {
		enc := json.NewEncoder(w)
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("bench match: %w", err)
		}
	} else if err := writeTable(w, res, opt); err != nil {
		return fmt.Errorf("bench match: %w", err)
	}
	if res.Mismatches > 0 {
		return fmt.Errorf("bench match: %d stories: %w", res.Mismatches, ErrMismatch)
	}
	return nil
}

func run(ctx context.Context, opt Options, load Loader) (*Result, error) {
	res := &Result{Subs: opt.Subs, Stories: opt.Stories, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	g := workload.New(opt.Seed)
	generated := g.Subscriptions(opt.Subs)
	stories := g.Stories(opt.Stories)

	// Store in batches, as an import would.
	t0 := time.Now()
	const batch = 50_000
	ptrs := make([]*subscriptions.Subscription, 0, batch)
	for i := range generated {
		ptrs = append(ptrs, &generated[i])
		if len(ptrs) == batch || i == len(generated)-1 {
			if err := load.AddSubscriptions(ptrs); err != nil {
				return nil, fmt.Errorf("bench match: store subscriptions: %w", err)
			}
			ptrs = ptrs[:0]
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	res.StoreSeconds = time.Since(t0).Seconds()
	generated, ptrs = nil, nil

	// Start-up: read every subscription back and index it, parsing on
	// every core while the store is read. The heap grows by what the index
	// holds (compiled queries, postings, and the query and chat strings it
	// keeps); measured after a full GC on both sides.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix := subscriptions.NewIndex()
	cpu0, t0 := cputime.Process(), time.Now()
	ix.Grow(opt.Subs)
	bulk := ix.NewBulk(runtime.GOMAXPROCS(0))
	err := load.ForEachSubscription(func(s *subscriptions.Subscription) error {
		bulk.Add(*s)
		return nil
	})
	if _, cerr := bulk.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("bench match: load and index: %w", err)
	}
	res.LoadAndIndexSeconds = time.Since(t0).Seconds()
	res.LoadCPUSeconds = (cputime.Process() - cpu0).Seconds()
	runtime.GC()
	runtime.ReadMemStats(&after)
	res.IndexBytesPerSub = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(max(ix.Len(), 1))
	res.KeysPerSub = float64(ix.Keys()) / float64(max(ix.Len(), 1))

	// Indexed matching, one story at a time into one reused Doc and one
	// reused hit slice: first who matched (hits without terms), then with
	// each hit's matched terms, as the pipeline calls it.
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cands, matches := 0, 0
	var buf []subscriptions.Hit
	var d subscriptions.Doc
	cpu0, t0 = cputime.Process(), time.Now()
	for i := range stories {
		d.Reset(&stories[i])
		var c int
		buf, c = ix.AppendMatches(buf[:0], &d, false)
		cands += c
		matches += len(buf)
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	cpu, wall := cputime.Process()-cpu0, time.Since(t0)
	runtime.ReadMemStats(&m1)
	n := float64(len(stories))
	res.IndexedPerSec = n / cpu.Seconds()
	res.IndexedPerWallSec = n / wall.Seconds()
	res.CandidatesPerStory = float64(cands) / n
	res.MatchesPerStory = float64(matches) / n
	res.AllocsPerStory = float64(m1.Mallocs-m0.Mallocs) / n

	runtime.ReadMemStats(&m0)
	cpu0 = cputime.Process()
	for i := range stories {
		d.Reset(&stories[i])
		buf, _ = ix.AppendMatches(buf[:0], &d, true)
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	cpu = cputime.Process() - cpu0
	runtime.ReadMemStats(&m1)
	buf = nil
	res.IndexedTermsPerSec = n / cpu.Seconds()
	res.AllocsTermsPerStory = float64(m1.Mallocs-m0.Mallocs) / n

	// The naive scans over a sample of the stories; every sampled story is
	// also checked against the index. The naive scan of issue 5 is the
	// Contains loop (subscriptions.ContainsScan: strings.Contains needles
	// per subscription over the normalised text); the evaluator scan
	// (subscriptions.NaiveMatch: the compiled queries over the tokenised
	// story) is the stronger full scan, reported beside it.
	var compiled []subscriptions.CompiledSub
	err = load.ForEachSubscription(func(s *subscriptions.Subscription) error {
		c, err := subscriptions.Compile(*s)
		if err == nil {
			compiled = append(compiled, c)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench match: compile for the naive scan: %w", err)
	}
	scan := subscriptions.NewContainsScan(compiled)
	sample := opt.NaiveSample
	if sample <= 0 {
		sample = max(10, 20_000_000/max(len(compiled), 1))
	}
	sample = min(sample, len(stories))
	res.NaiveSample = sample
	step := float64(len(stories)) / float64(sample)
	naiveMatches := 0
	var naiveCPU, naiveWall, evalCPU time.Duration
	for k := range sample {
		st := &stories[int(float64(k)*step)]
		c0, w0 := cputime.Process(), time.Now()
		d := subscriptions.NewDoc(st)
		got := scan.Match(d)
		naiveCPU += cputime.Process() - c0
		naiveWall += time.Since(w0)

		// Each scan is timed with its own normalisation, as the index is.
		c0 = cputime.Process()
		d = subscriptions.NewDoc(st)
		want := subscriptions.NaiveMatch(compiled, d)
		evalCPU += cputime.Process() - c0
		naiveMatches += len(want)
		ids := sortedIDs(ix.Match(d))
		slices.Sort(got) // ContainsScan lists subscriptions in scan order
		if !slices.Equal(ids, sortedIDs(want)) || !slices.Equal(ids, got) {
			res.Mismatches++
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	res.NaivePerSec = float64(sample) / naiveCPU.Seconds()
	res.NaivePerWallSec = float64(sample) / naiveWall.Seconds()
	res.NaiveMatchesPerStory = float64(naiveMatches) / float64(sample)
	res.Speedup = res.IndexedPerSec / res.NaivePerSec
	res.EvalScanPerSec = float64(sample) / evalCPU.Seconds()
	res.EvalScanSpeedup = res.IndexedPerSec / res.EvalScanPerSec

	// Add and remove one subscription at full size.
	extra := workload.New(opt.Seed + 1).Subscriptions(1000)
	t0 = time.Now()
	for i, s := range extra {
		s.ID = 1<<62 + uint64(i)
		if err := ix.Add(s); err != nil {
			return nil, fmt.Errorf("bench match: add: %w", err)
		}
		ix.Remove(s.ID)
	}
	res.AddRemoveMicros = float64(time.Since(t0).Microseconds()) / float64(len(extra))
	return res, nil
}

// sortedIDs returns the subscription IDs of hits, sorted.
func sortedIDs(hits []subscriptions.Hit) []uint64 {
	ids := make([]uint64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	slices.Sort(ids)
	return ids
}

func writeTable(w io.Writer, r *Result, opt Options) error {
	_, err := fmt.Fprintf(w, `matching benchmark: %d subscriptions, %d stories, seed %d, GOMAXPROCS %d
                             indexed        naive (%d stories)
stories/s per core (CPU)     %-14.0f %.1f (Contains loop), %.1f (evaluator scan)
  with matched terms         %.0f
stories/s (wall clock)       %-14.0f %.1f
speedup                      %.0fx over the Contains loop, %.0fx over the evaluator scan
candidates per story         %.1f
matches per story            %-14.2f %.2f
allocations per story        %.1f (%.1f with terms)
index bytes per subscription %.0f
store in bbolt               %.2f s
load and index from bbolt    %.2f s wall, %.2f s CPU
add + remove one             %.1f µs
index/naive disagreements    %d
`, r.Subs, r.Stories, opt.Seed, r.GOMAXPROCS, r.NaiveSample,
		r.IndexedPerSec, r.NaivePerSec, r.EvalScanPerSec, r.IndexedTermsPerSec, r.IndexedPerWallSec, r.NaivePerWallSec, r.Speedup, r.EvalScanSpeedup,
		r.CandidatesPerStory, r.MatchesPerStory, r.NaiveMatchesPerStory, r.AllocsPerStory, r.AllocsTermsPerStory, r.IndexBytesPerSub,
		r.StoreSeconds, r.LoadAndIndexSeconds, r.LoadCPUSeconds, r.AddRemoveMicros, r.Mismatches)
	return err
}
