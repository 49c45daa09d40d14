package clusters

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"frontwire/internal/cputime"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions/workload"
)

// windowStories are n workload stories (the text bench pipeline's feeds
// carry) with links like its feeds' and first-seen times two seconds
// apart, so that 30,000 of them fit in the default 24-hour window.
func windowStories(n int) []story.Story {
	sts := workload.New(1).Stories(n)
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range sts {
		s := &sts[i]
		s.Link = fmt.Sprintf("https://feed%d.bench.test/news/2026/03/02/story-%d-g1k%d", i%1000, i, i%50)
		s.FirstSeen = t.Add(time.Duration(i) * 2 * time.Second)
		s.Published = s.FirstSeen
	}
	return sts
}

// BenchmarkWindow fills a Clusterer with a window of 30,000 workload
// stories and reports the live heap it holds per story (HeapAlloc after a
// collection, less that before it was made), then times Assign of further
// stories against that full window (each evicts the oldest).
func BenchmarkWindow(b *testing.B) {
	const window = 30000
	sts := windowStories(window + 20000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := New(Config{MaxStories: window})
	for i := range window {
		c.Assign(&sts[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heapPerStory := float64(after.HeapAlloc-before.HeapAlloc) / window
	if n, _ := c.Len(); n != window {
		b.Fatalf("window holds %d stories, want %d", n, window)
	}
	cpu0 := cputime.Process()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		s := sts[window+i%20000]
		// A new ID and a later time for every round over the extra
		// stories, so that each Assign is of a new story.
		s.ID = fmt.Sprint(s.ID, "-", i)
		s.Link = fmt.Sprint(s.Link, "-", i)
		s.FirstSeen = sts[window-1].FirstSeen.Add(time.Duration(i+1) * 2 * time.Second)
		c.Assign(&s)
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
	// Reported after the loop: ResetTimer drops metrics reported before it.
	b.ReportMetric(heapPerStory, "heap-B/story")
	runtime.KeepAlive(c)
}
