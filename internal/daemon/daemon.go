// Package daemon wires Frontwire together: storage, the subscription index
// and commands, the feed scheduler, the alert pipeline, the dispatcher and
// the chat platforms. `bot run`, `bot demo` and the end-to-end tests all
// start Frontwire through it, so they exercise one code path.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/clusters"
	"frontwire/internal/config"
	"frontwire/internal/digest"
	"frontwire/internal/metrics"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// Options are what the caller of New provides besides the configuration.
type Options struct {
	Config  config.Config
	Version string
	Logger  *slog.Logger
	Clock   clock.Clock
	// FeedClient fetches feeds; nil means a client with a 20 s timeout.
	FeedClient *http.Client
	// Platforms are extra chat platforms wired by the caller (the demo's
	// console), by platform name.
	Platforms map[string]alerts.Platform
	// DBOptions tune the bbolt file (tests set NoSync).
	DBOptions storage.Options
	// PlatformClient talks to Telegram and Discord; nil means a client
	// with a 90 s timeout (above Telegram's long poll).
	PlatformClient *http.Client
	// TelegramPollTimeout is getUpdates' long-poll timeout (default 50 s).
	TelegramPollTimeout time.Duration
	// DiscordChannelLimit messages per DiscordChannelWindow is the
	// per-channel limit Discord enforces, which the dispatcher paces each
	// channel below; zero means Discord's 5 per 5 s. Benchmarks against a
	// fake with scaled-up limits set them.
	DiscordChannelLimit  int
	DiscordChannelWindow time.Duration
	// MemoryLimit, when positive, is the floor of the soft memory limit
	// Run keeps on the Go runtime, raised as the live heap grows
	// (memory.go); `bot run` passes DefaultMemoryLimit unless GOMEMLIMIT
	// is set. Zero leaves the runtime's limit alone.
	MemoryLimit int64
}

// Daemon is one running Frontwire instance.
type Daemon struct {
	Config    config.Config
	DB        *storage.DB
	Index     *subscriptions.Index
	Service   *subscriptions.Service
	Scheduler *sources.Scheduler
	// Runtime adds and removes sources while running (/addsource).
	Runtime    *sources.Runtime
	Pipeline   *alerts.Pipeline
	Dispatcher *alerts.Dispatcher
	Metrics    *metrics.Metrics
	// Digests turns held alerts into digests when they fall due.
	Digests *digest.Scheduler

	log      *slog.Logger
	clk      clock.Clock
	runners  []func(context.Context) error
	closeMu  sync.Mutex
	closed   bool
	loadTime time.Duration
	// memoryFloor is Options.MemoryLimit.
	memoryFloor int64
	// lastFree is when cycleDone last returned memory to the system
	// (Unix nanoseconds).
	lastFree atomic.Int64
}

// New opens storage, loads the subscriptions into the index and builds
// every part. Nothing runs until Run.
func New(ctx context.Context, opt Options) (*Daemon, error) {
	cfg := opt.Config
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.FeedClient == nil {
		// Refuses loopback and private addresses after DNS resolution and on
		// every redirect, unless the configuration allows them.
		opt.FeedClient = sources.NewHTTPClient(cfg.Bot.AllowPrivateSources)
	}
	loc, err := time.LoadLocation(cfg.Bot.Timezone)
	if err != nil {
		return nil, fmt.Errorf("bot.timezone: %w", err)
	}
	log := opt.Logger
	dbPath := filepath.Join(cfg.Bot.DataDir, "frontwire.db")
	db, err := storage.Open(dbPath, opt.DBOptions)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Config: cfg, DB: db, log: log, clk: opt.Clock, Metrics: metrics.New(opt.Version), memoryFloor: opt.MemoryLimit}
	ok := false
	defer func() {
		if !ok {
			db.Close()
		}
	}()

	d.Index = subscriptions.NewIndex()
	d.Service = subscriptions.NewService(subscriptions.ServiceConfig{
		Store:             db,
		Index:             d.Index,
		Stories:           db,
		Sources:           d.sourceInfos,
		NotFound:          func(err error) bool { return errors.Is(err, storage.ErrNotFound) },
		Clock:             opt.Clock,
		Logger:            log,
		MaxPerChat:        cfg.Bot.MaxSubscriptionsPerChat,
		CommandsPerMinute: cfg.Bot.CommandsPerMinute,
		Admins:            cfg.Bot.Admins,
		SourceAdmin:       sourceAdmin{d},
		Cadence:           db,
		Location:          loc,
	})
	start := time.Now()
	n, err := d.Service.LoadIndex()
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	d.loadTime = time.Since(start)
	log.Info("subscriptions indexed", "count", n, "took", d.loadTime.Round(time.Millisecond))

	platforms := map[string]alerts.Platform{}
	for name, p := range opt.Platforms {
		platforms[name] = p
	}
	if opt.PlatformClient == nil {
		opt.PlatformClient = defaultPlatformClient()
	}
	if err := d.startPlatforms(ctx, opt, platforms); err != nil {
		return nil, err
	}
	d.Dispatcher = alerts.NewDispatcher(alerts.DispatcherConfig{
		Outbox:    db,
		Platforms: platforms,
		Gone:      d,
		Clock:     opt.Clock,
		Logger:    log,
		Observer:  d.Metrics,
	})
	d.Pipeline = &alerts.Pipeline{
		Store:    db,
		Matcher:  d.Index,
		Notify:   d.Dispatcher.Notify,
		Clock:    opt.Clock,
		Logger:   log,
		Observer: d.Metrics,
		Cadence:  &digest.Policy{Settings: db, Location: loc},
	}
	d.Digests = digest.NewScheduler(digest.SchedulerConfig{
		Store:    db,
		Clock:    opt.Clock,
		Logger:   log,
		Location: loc,
		Notify:   d.Dispatcher.Notify,
		Fits:     digestFits,
	})
	// Stories of the last day, clustered again, so that a restart keeps
	// each chat's alerts of one event together.
	clusterSet, err := alerts.LoadClusters(db, clusters.Config{
		Threshold:      cfg.Clusters.Threshold,
		MergeThreshold: cfg.Clusters.MergeThreshold,
		Window:         cfg.Clusters.Window.Duration,
		MaxMerged:      cfg.Clusters.MaxMerged,
	}, opt.Clock.Now())
	if err != nil {
		return nil, err
	}
	d.Pipeline.Clusters = clusterSet
	// Clusters merge when a story links two of them; storage then finds
	// a chat's alert filed under the merged cluster's ID.
	db.SetClusterPolicy(clusterSet.Policy(cfg.Clusters.EditWindow.Duration))
	// Sources added at run time join the configured ones; the
	// configuration wins a name clash.
	added, err := db.AddedSources()
	if err != nil {
		return nil, err
	}
	d.Scheduler, err = sources.NewScheduler(sources.SchedulerConfig{
		Sources:         sources.MergeSources(cfg.Sources, added, log),
		DefaultSchedule: cfg.Bot.PollSchedule,
		Fetcher:         sources.NewFetcher(opt.FeedClient, sources.UserAgent(opt.Version), opt.Clock),
		Store:           db,
		Handle:          d.Pipeline.Handle,
		Clock:           opt.Clock,
		Logger:          log,
		SummaryMax:      cfg.Bot.SummaryMaxChars,
		Location:        loc,
		Observer:        d.Metrics,
		Idle:            d.cycleDone,
	})
	if err != nil {
		return nil, err
	}
	if err := d.wireSources(opt); err != nil {
		return nil, err
	}
	ok = true
	return d, nil
}

// Run runs the scheduler, the dispatcher and every platform until ctx is
// done, then waits for them to stop. The first error of any part stops the
// others.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	parts := append([]func(context.Context) error{
		d.Dispatcher.Run,
		d.Scheduler.Run,
		d.Digests.Run,
		d.prune,
		d.refreshGauges,
		d.control,
		d.releaseMap,
	}, d.runners...)
	if d.Config.HTTP.Listen != "" {
		parts = append(parts, d.httpServer().Run)
	}
	if d.memoryFloor > 0 {
		parts = append(parts, d.keepMemoryLimit)
	}
	var wg sync.WaitGroup
	for _, run := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				cancel(err)
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// prune forgets stories older than the retention once an hour.
func (d *Daemon) prune(ctx context.Context) error {
	for {
		if n, err := d.DB.Prune(d.clk.Now().Add(-d.Config.Bot.Retention.Duration)); err != nil {
			d.log.Error("prune seen stories", "err", err)
		} else if n > 0 {
			d.log.Info("pruned old stories", "removed", n)
		}
		// Cluster records serve edits (6 h) and /why and /mute, which
		// people use on older alerts too: keep them as long as stories.
		if n, err := d.DB.PruneClusterAlerts(d.clk.Now().Add(-d.Config.Bot.Retention.Duration)); err != nil {
			d.log.Error("prune cluster records", "err", err)
		} else if n > 0 {
			d.log.Info("pruned old cluster records", "removed", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.clk.After(time.Hour):
		}
	}
}

// Close closes storage. Call it after Run has returned.
func (d *Daemon) Close() error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.DB.Close()
}

// ChatGone pauses an unreachable chat's subscriptions; the dispatcher has
// already parked its queue.
func (d *Daemon) ChatGone(ctx context.Context, a chat.Address, reason string) error {
	return d.Service.ChatGone(ctx, a, reason)
}

// ChatBack resumes a chat's subscriptions and its queued messages.
func (d *Daemon) ChatBack(ctx context.Context, a chat.Address) error {
	_, err := d.Service.ChatBack(ctx, a)
	d.Dispatcher.Resume(a)
	return err
}

// ChatMoved re-homes a chat's subscriptions and queued messages.
func (d *Daemon) ChatMoved(ctx context.Context, from, to chat.Address) error {
	if err := d.Service.ChatMoved(ctx, from, to); err != nil {
		return err
	}
	d.Dispatcher.Move(from, to)
	return nil
}

func (d *Daemon) sourceInfos() ([]subscriptions.SourceInfo, error) {
	states, err := d.DB.SourceStates()
	if err != nil {
		return nil, err
	}
	byName := map[string]storage.SourceState{}
	for _, s := range states {
		byName[s.Name] = s
	}
	var out []subscriptions.SourceInfo
	for _, src := range d.Scheduler.Sources() {
		s := byName[src.Name]
		out = append(out, subscriptions.SourceInfo{
			Name: src.Name, LastSuccess: s.LastSuccess, LastError: s.LastError,
			Failures: s.Failures, NextPoll: s.NextPoll, ItemsSeen: s.ItemsSeen,
		})
	}
	return out, nil
}
