package subscriptions_test

import (
	"fmt"
	"runtime"
	"testing"

	"frontwire/internal/cputime"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

// benchSet builds an index of n generated subscriptions, loaded as the
// daemon loads them at start-up (Bulk), and 1,000 stories.
func benchSet(b *testing.B, n int) (*subscriptions.Index, []subscriptions.CompiledSub, []story.Story) {
	b.Helper()
	g := workload.New(1)
	subs := g.Subscriptions(n)
	ix := subscriptions.NewIndex()
	ix.Grow(n)
	compiled := make([]subscriptions.CompiledSub, 0, n)
	bulk := ix.NewBulk(runtime.GOMAXPROCS(0))
	for _, s := range subs {
		c, err := subscriptions.Compile(s)
		if err != nil {
			b.Fatal(err)
		}
		compiled = append(compiled, c)
		bulk.Add(s)
	}
	if _, err := bulk.Close(); err != nil {
		b.Fatal(err)
	}
	return ix, compiled, g.Stories(1000)
}

// BenchmarkIndexMatch measures one story through Doc.Reset and
// AppendMatches into a reused slice: terms=true as the pipeline calls it
// (every hit with its matched terms), terms=false who matched alone.
func BenchmarkIndexMatch(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		for _, terms := range []bool{true, false} {
			b.Run(fmt.Sprintf("subs=%d/terms=%v", n, terms), func(b *testing.B) {
				ix, _, stories := benchSet(b, n)
				cands, hits := 0, 0
				var buf []subscriptions.Hit
				var reused subscriptions.Doc
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cputime.Process()
				for i := range b.N {
					// Hits never refer to the Doc (terms are slices of
					// the compiled queries), so it is reused, as the
					// pipeline and bench match reuse it.
					d := &reused
					d.Reset(&stories[i%len(stories)])
					var c int
					buf, c = ix.AppendMatches(buf[:0], d, terms)
					cands += c
					hits += len(buf)
				}
				b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/story")
				b.ReportMetric(float64(cands)/float64(b.N), "candidates/story")
				b.ReportMetric(float64(hits)/float64(b.N), "matches/story")
			})
		}
	}
}

// BenchmarkNaiveMatch measures the full scan over every subscription.
func BenchmarkNaiveMatch(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			_, compiled, stories := benchSet(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				d := subscriptions.NewDoc(&stories[i%len(stories)])
				subscriptions.NaiveMatch(compiled, d)
			}
		})
	}
}

// BenchmarkNewDoc measures story normalisation alone.
func BenchmarkNewDoc(b *testing.B) {
	stories := workload.New(1).Stories(1000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := range b.N {
		subscriptions.NewDoc(&stories[i%len(stories)])
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/story")
}

// BenchmarkIndexAdd measures adding then removing one subscription in an
// index of 100k.
func BenchmarkIndexAdd(b *testing.B) {
	ix, _, _ := benchSet(b, 100_000)
	extra := workload.New(2).Subscriptions(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s := extra[i%len(extra)]
		s.ID = 1 << 40
		if err := ix.Add(s); err != nil {
			b.Fatal(err)
		}
		ix.Remove(s.ID)
	}
}
