package benchpipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"frontwire/internal/cputime"
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
	cpu0 := cputime.Process()
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
	b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N*benchFeeds), "cpu-µs/feed")
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

// BenchmarkHTTPNotModified is the HTTP part of a 304 cycle alone: every
// feed of benchFeeds asked with its ETag, 8 at once, each on its own host
// (so a new connection per feed, as in a cycle), through the same client
// and the same in-process server, with neither the scheduler nor bbolt.
// Reported per feed, with the process's CPU time per feed (client and
// server together).
func BenchmarkHTTPNotModified(b *testing.B) {
	fs := NewFeedServer(benchFeeds, 50, 1)
	srv := httptest.NewServer(fs)
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	client := LoopbackClient(u.Host)
	etags := make([]string, benchFeeds)
	for i := range etags {
		etags[i] = fs.etags[i]
	}
	get := func(i int) error {
		req, err := http.NewRequest(http.MethodGet, FeedURL(i, u.Port()), nil)
		if err != nil {
			return err
		}
		req.Header.Set("If-None-Match", etags[i])
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			return fmt.Errorf("feed %d: status %d", i, resp.StatusCode)
		}
		return nil
	}
	cpu0 := cputime.Process()
	for b.Loop() {
		sem := make(chan struct{}, 8)
		errs := make(chan error, benchFeeds)
		for i := range benchFeeds {
			sem <- struct{}{}
			go func() { errs <- get(i); <-sem }()
		}
		for range benchFeeds {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
	feeds := float64(b.N * benchFeeds)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/feeds, "ns/feed")
	b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/feeds, "cpu-µs/feed")
}
