// Package benchpipeline measures Frontwire's whole path from feed bytes to
// queued alerts, behind `bot bench pipeline`: a local FeedServer publishes
// deterministic feeds with ETag and Last-Modified, and the real scheduler
// (sources.Scheduler.PollAll), fetcher, parser, alert pipeline and bbolt
// outbox process them, wired as internal/daemon wires them, with the
// subscriptions of the matcher workload (internal/subscriptions/workload)
// indexed. It reports the time and CPU of a cycle with new content, of a
// cycle where every feed answers 304, and, with a child `bot run`, the
// resident memory of a running bot.
package benchpipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/clock"
	"frontwire/internal/clusters"
	"frontwire/internal/config"
	"frontwire/internal/cputime"
	"frontwire/internal/digest"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

// Options configure Run.
type Options struct {
	Feeds int   // feeds on the server (default 1,000)
	Items int   // items per feed (default 50)
	Subs  int   // subscriptions indexed (default 100,000)
	Seed  int64 // workload seed (default 1)
	// NotModifiedCycles is how many all-304 cycles to run (default 3).
	NotModifiedCycles int
	// MaxConcurrent and PerHost bound polls as the scheduler does; zero
	// keeps the scheduler's defaults (8 and 2), which `bot run` uses.
	MaxConcurrent, PerHost int
	// NoSync skips fsync on commit. `bot run` syncs, so the default is to
	// sync too.
	NoSync bool
	// NoClusters leaves the story clusterer out of the pipeline, to show
	// what the rest of the path costs; the daemon always wires it.
	NoClusters bool
	// ServerCommand, when set, runs the feed server in a child process
	// (a command that runs ServeFeeds with Feeds, Items and Seed), so
	// that a cycle's CPUSeconds is the bot's alone and the server's is
	// reported as ServerCPUSeconds.
	ServerCommand []string
	// Dir holds the bbolt file; required.
	Dir  string
	JSON bool
	// CPUProfile, when set, is the file that receives a CPU profile of
	// the cycle of new content alone: the other cycles would hide the
	// cost of matching and queueing under that of parsing.
	CPUProfile string
}

// Cycle is the outcome of one PollAll over every feed.
type Cycle struct {
	Name        string  `json:"name"`
	WallSeconds float64 `json:"wall_seconds"`
	// CPUSeconds is user+system time of the whole process during the
	// cycle: the bot's, and the feed server's too unless it runs in a
	// process of its own (Options.ServerCommand).
	CPUSeconds float64 `json:"cpu_seconds"`
	// ServerCPUSeconds is the feed server's CPU time during the cycle
	// when it runs in its own process.
	ServerCPUSeconds float64 `json:"server_cpu_seconds,omitempty"`
	Requests         int64   `json:"requests"`
	NotModified      int64   `json:"not_modified"`
	NewStories       int64   `json:"new_stories"`
	Matches          int64   `json:"matches"`
	Queued           int64   `json:"queued"`
	StoriesPerSec    float64 `json:"stories_per_sec"`
	// StoriesPerCPUSec is NewStories divided by CPUSeconds.
	StoriesPerCPUSec float64 `json:"stories_per_cpu_sec"`
	HeapMB           float64 `json:"heap_mb_after"`
}

// Result is the outcome of Run.
type Result struct {
	Feeds            int     `json:"feeds"`
	Items            int     `json:"items"`
	Subs             int     `json:"subs"`
	Seed             int64   `json:"seed"`
	FeedBytes        int64   `json:"feed_bytes_per_generation"`
	IndexSeconds     float64 `json:"store_and_index_seconds"`
	MaxConcurrent    int     `json:"max_concurrent"`
	PerHost          int     `json:"per_host"`
	Sync             bool    `json:"fsync"`
	Clusters         bool    `json:"clusters"`
	ServerProcess    bool    `json:"server_process"`
	GOMAXPROCS       int     `json:"gomaxprocs"`
	LoadAverage      string  `json:"load_average_before"`
	Cycles           []Cycle `json:"cycles"`
	DBBytes          int64   `json:"db_bytes"`
	BestNotModWall   float64 `json:"best_304_wall_seconds"`
	BestNotModCPU    float64 `json:"best_304_cpu_seconds"`
	NewStoriesPerSec float64 `json:"new_stories_per_sec"`
}

// counter is the pipeline's PollObserver: it counts what went through.
type counter struct {
	seen, matched, queued atomic.Int64
}

func (c *counter) StoriesSeen(n int)      { c.seen.Add(int64(n)) }
func (c *counter) Matched(n int)          { c.matched.Add(int64(n)) }
func (c *counter) Queued(_ string, n int) { c.queued.Add(int64(n)) }
func (c *counter) snapshot() [3]int64 {
	return [3]int64{c.seen.Load(), c.matched.Load(), c.queued.Load()}
}

func cpuSeconds() float64 { return cputime.Process().Seconds() }

func heapMB() float64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// loadAverage is the 1, 5 and 15 minute load averages, for the report.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func (o Options) sourcesFor(port string) []config.Source {
	out := make([]config.Source, o.Feeds)
	for i := range out {
		out[i] = config.Source{Name: fmt.Sprintf("wire-%04d", i), URL: FeedURL(i, port)}
	}
	return out
}

func (o Options) defaults() Options {
	if o.Feeds <= 0 {
		o.Feeds = 1000
	}
	if o.Items <= 0 {
		o.Items = 50
	}
	if o.Subs < 0 {
		o.Subs = 0
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.NotModifiedCycles <= 0 {
		o.NotModifiedCycles = 3
	}
	return o
}

// Bench is a wired pipeline over a feed server, ready to run cycles. It is
// what Run and the Go benchmarks share.
type Bench struct {
	// Server is the feed server when it runs in this process; nil when
	// it runs in a child (Options.ServerCommand).
	Server *FeedServer
	feeds  feedSource
	DB     *storage.DB
	Sched  *sources.Scheduler
	count  *counter
	http   *httptest.Server
}

// NewBench stores and indexes opt.Subs workload subscriptions in a bbolt
// file in opt.Dir, starts the feed server and wires the scheduler and the
// pipeline as the daemon does (clusters, digest policy), without chat
// platforms: alerts stay in the outbox. Close releases it all.
func NewBench(opt Options) (*Bench, error) {
	opt = opt.defaults()
	if opt.Dir == "" {
		return nil, errors.New("bench pipeline: no directory for the database")
	}
	db, err := storage.Open(filepath.Join(opt.Dir, "frontwire.db"), storage.Options{NoSync: opt.NoSync})
	if err != nil {
		return nil, fmt.Errorf("bench pipeline: %w", err)
	}
	b := &Bench{DB: db, count: &counter{}}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	ix, err := indexWorkload(db, opt.Subs, opt.Seed)
	if err != nil {
		return nil, err
	}
	var addr string
	if len(opt.ServerCommand) > 0 {
		rf, err := startRemoteFeeds(opt.ServerCommand)
		if err != nil {
			return nil, fmt.Errorf("bench pipeline: %w", err)
		}
		b.feeds, addr = rf, rf.addr
	} else {
		b.Server = NewFeedServer(opt.Feeds, opt.Items, opt.Seed)
		b.feeds = localFeeds{b.Server}
		b.http = httptest.NewServer(b.Server)
		addr = strings.TrimPrefix(b.http.URL, "http://")
	}
	u, err := url.Parse("http://" + addr)
	if err != nil {
		return nil, fmt.Errorf("bench pipeline: %w", err)
	}
	clk := clock.Real{}
	pl := &alerts.Pipeline{
		Store:    db,
		Matcher:  ix,
		Clock:    clk,
		Observer: b.count,
		Cadence:  &digest.Policy{Settings: db, Location: time.UTC},
	}
	if !opt.NoClusters {
		set, err := alerts.LoadClusters(db, clusters.Config{}, clk.Now())
		if err != nil {
			return nil, fmt.Errorf("bench pipeline: %w", err)
		}
		pl.Clusters = set
		db.SetClusterPolicy(set.Policy(0)) // as the daemon wires it
	}
	b.Sched, err = sources.NewScheduler(sources.SchedulerConfig{
		Sources:           opt.sourcesFor(u.Port()),
		DefaultSchedule:   "@every 10m",
		Fetcher:           sources.NewFetcher(LoopbackClient(u.Host), sources.UserAgent("bench"), clk),
		Store:             db,
		Handle:            pl.Handle,
		Clock:             clk,
		Logger:            slog.New(slog.DiscardHandler),
		MaxConcurrent:     opt.MaxConcurrent,
		PerHostConcurrent: opt.PerHost,
		SummaryMax:        config.Default().Bot.SummaryMaxChars,
		Seed:              uint64(opt.Seed),
	})
	if err != nil {
		return nil, fmt.Errorf("bench pipeline: %w", err)
	}
	ok = true
	return b, nil
}

// indexWorkload stores n workload subscriptions and indexes them from
// bbolt, as start-up does.
func indexWorkload(db *storage.DB, n int, seed int64) (*subscriptions.Index, error) {
	subs := workload.New(seed).Subscriptions(n)
	const batch = 50_000
	for lo := 0; lo < len(subs); lo += batch {
		ptrs := make([]*subscriptions.Subscription, 0, batch)
		for i := lo; i < min(lo+batch, len(subs)); i++ {
			ptrs = append(ptrs, &subs[i])
		}
		if err := db.AddSubscriptions(ptrs); err != nil {
			return nil, fmt.Errorf("bench pipeline: store subscriptions: %w", err)
		}
	}
	ix := subscriptions.NewIndex()
	err := db.ForEachSubscription(func(s *subscriptions.Subscription) error { return ix.Add(*s) })
	if err != nil {
		return nil, fmt.Errorf("bench pipeline: index subscriptions: %w", err)
	}
	return ix, nil
}

// Close stops the server and closes the database.
func (b *Bench) Close() {
	if b.http != nil {
		b.http.Close()
	}
	if b.feeds != nil {
		b.feeds.Close()
	}
	if b.DB != nil {
		b.DB.Close()
	}
}

// Cycle polls every feed once (Scheduler.PollAll) and measures it. Any
// failed poll fails the cycle.
func (b *Bench) Cycle(ctx context.Context, name string) (Cycle, error) {
	req0, nm0, scpu0, err := b.feeds.Requests()
	if err != nil {
		return Cycle{}, fmt.Errorf("bench pipeline: cycle %s: %w", name, err)
	}
	c0 := b.count.snapshot()
	cpu0, t0 := cpuSeconds(), time.Now()
	err = b.Sched.PollAll(ctx)
	wall, cpu := time.Since(t0).Seconds(), cpuSeconds()-cpu0
	if err != nil {
		return Cycle{}, fmt.Errorf("bench pipeline: cycle %s: %w", name, err)
	}
	req1, nm1, scpu1, err := b.feeds.Requests()
	if err != nil {
		return Cycle{}, fmt.Errorf("bench pipeline: cycle %s: %w", name, err)
	}
	c1 := b.count.snapshot()
	c := Cycle{
		Name: name, WallSeconds: wall, CPUSeconds: cpu, ServerCPUSeconds: scpu1 - scpu0,
		Requests: req1 - req0, NotModified: nm1 - nm0,
		NewStories: c1[0] - c0[0], Matches: c1[1] - c0[1], Queued: c1[2] - c0[2],
		HeapMB: heapMB(),
	}
	if wall > 0 {
		c.StoriesPerSec = float64(c.NewStories) / wall
	}
	if cpu > 0 {
		c.StoriesPerCPUSec = float64(c.NewStories) / cpu
	}
	return c, nil
}

// profiled runs f with the CPU profiled into the file path (none when
// path is empty).
func profiled(path string, f func() error) error {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench pipeline: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return fmt.Errorf("bench pipeline: cpu profile: %w", err)
	}
	err = f()
	pprof.StopCPUProfile()
	if cerr := out.Close(); err == nil && cerr != nil {
		return fmt.Errorf("bench pipeline: cpu profile: %w", cerr)
	}
	return err
}

// Run measures the cycles of one configuration and writes the figures to
// w: a first cycle (every story is new to the database, marked seen, no
// alerts, as for a newly added source), a cycle in which every feed has
// Items new stories, matched and enqueued, and NotModifiedCycles cycles in
// which every feed answers 304.
func Run(ctx context.Context, opt Options, w io.Writer) (*Result, error) {
	opt = opt.defaults()
	res := &Result{Feeds: opt.Feeds, Items: opt.Items, Subs: opt.Subs, Seed: opt.Seed,
		MaxConcurrent: opt.MaxConcurrent, PerHost: opt.PerHost, Sync: !opt.NoSync, Clusters: !opt.NoClusters,
		ServerProcess: len(opt.ServerCommand) > 0,
		GOMAXPROCS:    runtime.GOMAXPROCS(0), LoadAverage: loadAverage()}
	if res.MaxConcurrent == 0 {
		res.MaxConcurrent = 8
	}
	if res.PerHost == 0 {
		res.PerHost = 2
	}
	t0 := time.Now()
	b, err := NewBench(opt)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	res.IndexSeconds = time.Since(t0).Seconds()
	res.FeedBytes = b.feeds.GenerationBytes()
	run := func(name string) error {
		runtime.GC()
		c, err := b.Cycle(ctx, name)
		if err != nil {
			return err
		}
		res.Cycles = append(res.Cycles, c)
		return nil
	}
	if err := run("first poll (all seen, no alerts)"); err != nil {
		return nil, err
	}
	if err := b.feeds.Advance(); err != nil {
		return nil, fmt.Errorf("bench pipeline: %w", err)
	}
	if err := profiled(opt.CPUProfile, func() error { return run("new content") }); err != nil {
		return nil, err
	}
	res.NewStoriesPerSec = res.Cycles[len(res.Cycles)-1].StoriesPerSec
	for i := range opt.NotModifiedCycles {
		if err := run(fmt.Sprintf("all 304 #%d", i+1)); err != nil {
			return nil, err
		}
		c := res.Cycles[len(res.Cycles)-1]
		if i == 0 || c.WallSeconds < res.BestNotModWall {
			res.BestNotModWall = c.WallSeconds
		}
		if i == 0 || c.CPUSeconds < res.BestNotModCPU {
			res.BestNotModCPU = c.CPUSeconds
		}
	}
	if fi, err := os.Stat(filepath.Join(opt.Dir, "frontwire.db")); err == nil {
		res.DBBytes = fi.Size()
	}
	if opt.JSON {
		if err := json.NewEncoder(w).Encode(res); err != nil {
			return nil, fmt.Errorf("bench pipeline: %w", err)
		}
		return res, nil
	}
	return res, writeTable(w, res)
}

func writeTable(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pipeline benchmark: %d feeds × %d items (%.1f MB per generation), %d subscriptions, seed %d\n",
		r.Feeds, r.Items, float64(r.FeedBytes)/(1<<20), r.Subs, r.Seed)
	fmt.Fprintf(&b, "GOMAXPROCS %d, load average before %s, fsync %v, clusters %v, max concurrent %d, per host %d, setup %.1f s\n",
		r.GOMAXPROCS, r.LoadAverage, r.Sync, r.Clusters, r.MaxConcurrent, r.PerHost, r.IndexSeconds)
	if r.ServerProcess {
		b.WriteString("feed server in its own process: CPU s is the bot's alone, server s the server's\n")
	} else {
		b.WriteString("feed server in this process: CPU s includes it\n")
	}
	fmt.Fprintf(&b, "%-34s %8s %8s %8s %6s %6s %8s %9s %9s %10s %10s %8s\n",
		"cycle", "wall s", "CPU s", "server s", "reqs", "304s", "new", "matches", "queued", "stories/s", "per CPU-s", "heap MB")
	for _, c := range r.Cycles {
		fmt.Fprintf(&b, "%-34s %8.3f %8.3f %8.3f %6d %6d %8d %9d %9d %10.0f %10.0f %8.1f\n",
			c.Name, c.WallSeconds, c.CPUSeconds, c.ServerCPUSeconds, c.Requests, c.NotModified, c.NewStories, c.Matches, c.Queued,
			c.StoriesPerSec, c.StoriesPerCPUSec, c.HeapMB)
	}
	fmt.Fprintf(&b, "bbolt file %.1f MB\n", float64(r.DBBytes)/(1<<20))
	_, err := io.WriteString(w, b.String())
	return err
}
