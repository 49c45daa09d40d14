package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"frontwire/internal/benchpipeline"
)

// benchPipeline is `bot bench pipeline`: feeds on a local server through
// the real scheduler, pipeline and bbolt outbox, with a cycle of new
// content and cycles of 304s; with -rss it runs this executable as a child
// `bot run` and reports its resident memory instead.
func benchPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	feeds := fs.Int("feeds", 1000, "feeds on the local server")
	items := fs.Int("items", 50, "items per feed")
	subs := fs.Int("subs", -1, "subscriptions indexed (default 100000; 1000 with -rss)")
	seed := fs.Int64("seed", 1, "workload seed")
	cycles304 := fs.Int("cycles-304", 3, "cycles in which every feed answers 304")
	maxConc := fs.Int("max-concurrent", 0, "polls at once (default: the scheduler's 8)")
	perHost := fs.Int("per-host", 0, "polls of one host at once (default: the scheduler's 2)")
	noSync := fs.Bool("nosync", false, "skip fsync on commit (bot run syncs)")
	noClusters := fs.Bool("no-clusters", false, "leave the story clusterer out of the pipeline (bot run has it)")
	rss := fs.Bool("rss", false, "measure the resident memory of a child `bot run` instead")
	interval := fs.Duration("interval", 20*time.Second, "with -rss: the sources' poll interval")
	cycles := fs.Int("cycles", 4, "with -rss: poll cycles to wait for")
	asJSON := fs.Bool("json", false, "print one JSON object")
	serverProcess := fs.Bool("server-process", false, "run the feed server in a child process, so that CPU s is the bot's alone (the server's is reported apart)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the new-content cycle to this file")
	serveFeeds := fs.Bool("serve-feeds", false, "be that child: serve the feeds, driven through standard input and output")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if *serveFeeds {
		return benchpipeline.ServeFeeds(ctx, *feeds, *items, *seed, os.Stdin, stdout)
	}
	dir, err := os.MkdirTemp("", "frontwire-bench-pipeline-*")
	if err != nil {
		return fmt.Errorf("bench pipeline: %w", err)
	}
	defer os.RemoveAll(dir)
	if *rss {
		bot, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench pipeline: %w", err)
		}
		n := *subs
		if n < 0 {
			n = 1000
		}
		_, err = benchpipeline.RunRSS(ctx, benchpipeline.RSSOptions{
			Bot: bot, Dir: dir, Feeds: *feeds, Items: *items, Subs: n, Seed: *seed,
			Interval: *interval, Cycles: *cycles, JSON: *asJSON,
		}, stdout)
		return err
	}
	n := *subs
	if n < 0 {
		n = 100000
	}
	var server []string
	if *serverProcess {
		bot, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench pipeline: %w", err)
		}
		server = []string{bot, "bench", "pipeline", "-serve-feeds", "-feeds", strconv.Itoa(*feeds),
			"-items", strconv.Itoa(*items), "-seed", strconv.FormatInt(*seed, 10)}
	}
	_, err = benchpipeline.Run(ctx, benchpipeline.Options{
		Feeds: *feeds, Items: *items, Subs: n, Seed: *seed, NotModifiedCycles: *cycles304,
		MaxConcurrent: *maxConc, PerHost: *perHost, NoSync: *noSync, NoClusters: *noClusters, Dir: dir, JSON: *asJSON,
		ServerCommand: server, CPUProfile: *cpuProfile,
	}, stdout)
	return err
}
