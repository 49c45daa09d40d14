package benchpipeline

import (
	"context"
	"testing"
)

// benchFeeds keeps the Go benchmarks short on the shared machine; `bot
// bench pipeline` runs the full 1,000 feeds.
const benchFeeds = 100

func newBench(b *testing.B, subs int, noClusters bool) *Bench {
	b.Helper()
	bench, err := NewBench(Options{Feeds: benchFeeds, Items: 50, Subs: subs, NoClusters: noClusters, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bench.Close)
	// The first poll of a source only marks its stories seen.
	if _, err := bench.Cycle(context.Background(), "first"); err != nil {
		b.Fatal(err)
	}
	return bench
}

// BenchmarkCycleNew is one cycle of benchFeeds feeds, each with 50 new
// stories, through parse, normalise, dedupe, cluster, match and enqueue;
// reported per story. The clusters=false cases leave the clusterer out.
func BenchmarkCycleNew(b *testing.B) {
	for _, tc := range []struct {
		subs       int
		noClusters bool
	}{{1000, false}, {1000, true}, {100_000, false}, {100_000, true}} {
		name := "subs=" + itoa(tc.subs)
		if tc.noClusters {
			name += "/clusters=false"
		} else {
			name += "/clusters=true"
		}
		b.Run(name, func(b *testing.B) {
			bench := newBench(b, tc.subs, tc.noClusters)
			var stories, queued int64
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				bench.Server.Advance()
				b.StartTimer()
				c, err := bench.Cycle(context.Background(), "new")
				if err != nil {
					b.Fatal(err)
				}
				stories += c.NewStories
				queued += c.Queued
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(stories, 1)), "ns/story")
			b.ReportMetric(float64(queued)/float64(max(stories, 1)), "queued/story")
		})
	}
}

// BenchmarkCycleNotModified is one cycle of benchFeeds feeds that all
// answer 304; reported per feed.
func BenchmarkCycleNotModified(b *testing.B) {
	bench := newBench(b, 1000, false)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := bench.Cycle(context.Background(), "304")
		if err != nil {
			b.Fatal(err)
		}
		if c.NotModified != benchFeeds {
			b.Fatalf("%d of %d feeds answered 304", c.NotModified, benchFeeds)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchFeeds), "ns/feed")
}

func itoa(n int) string {
	switch {
	case n >= 1000 && n%1000 == 0:
		return itoa(n/1000) + "k"
	}
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}
