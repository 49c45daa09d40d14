package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/storage"
	"frontwire/internal/story"
)

// Backoff bounds for a failing source.
const (
	baseBackoff = time.Minute
	maxBackoff  = 6 * time.Hour
	// jitter spreads retries by ±20% so that sources failing together (one
	// network outage) do not retry together.
	jitter = 0.2
)

// Sentinel errors of the scheduler.
var (
	// ErrUnknownSource means no source has the name asked for.
	ErrUnknownSource = errors.New("unknown source")
	// ErrBackingOff means the source failed recently and its next attempt
	// is not due yet; nothing was fetched. See BackoffError.
	ErrBackingOff = errors.New("source is backing off after failures")
	// ErrBusy means a poll of the source is already running.
	ErrBusy = errors.New("a poll of this source is already running")
)

// BackoffError says until when a failing source rests. It matches
// ErrBackingOff with errors.Is.
type BackoffError struct {
	Until    time.Time
	Failures int
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("%v: %d consecutive failures, next attempt at %s", ErrBackingOff, e.Failures, e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrBackingOff) true.
func (e *BackoffError) Is(target error) bool { return target == ErrBackingOff }

// StateStore keeps each source's state between polls. *storage.DB
// satisfies it. SourceState returns an error wrapping storage.ErrNotFound
// for a source never polled.
type StateStore interface {
	SourceState(name string) (storage.SourceState, error)
	PutSourceState(storage.SourceState) error
}

// Poll is the outcome of one successful poll, handed to the Handler.
type Poll struct {
	Source config.Source
	// State is the source's state after this poll (validators, last
	// success, next poll, Initialized). The handler stores it together with
	// the stories, in one transaction.
	State   storage.SourceState
	Stories []story.Story
	// First is set on the first successful poll of this source: the
	// pipeline marks its stories seen and alerts only the newest
	// Source.Backfill of them.
	First bool
	// NotModified is set when the source answered 304 (Stories is empty).
	NotModified bool
	// FeedTitle is the feed's own title.
	FeedTitle string
}

// Handler consumes a successful poll: the alert pipeline. It must persist
// p.State together with the stories; if it returns an error the poll
// counts as failed and the previous validators are kept, so the same
// stories are fetched again next time.
type Handler func(ctx context.Context, p Poll) error

// SchedulerConfig configures NewScheduler.
type SchedulerConfig struct {
	Sources []config.Source
	// DefaultSchedule applies to sources without a Schedule.
	DefaultSchedule string
	Fetcher         *Fetcher
	Store           StateStore
	Handle          Handler
	Clock           clock.Clock  // default: the system clock
	Logger          *slog.Logger // default: discard
	// MaxConcurrent bounds polls running at once (default 8).
	MaxConcurrent int
	// PerHostConcurrent bounds polls of one host running at once (default 2).
	PerHostConcurrent int
	// SummaryMax is passed to story.FromItem.
	SummaryMax int
	// Rand draws the backoff jitter; default seeded from Seed.
	Rand *rand.Rand
	// Seed seeds the jitter when Rand is nil; zero picks a random seed.
	Seed uint64
	// Location is the time zone cron expressions are read in (default UTC).
	Location *time.Location
	// Observer, when set, is told the outcome and duration of every poll
	// that fetched (metrics).
	Observer PollObserver
	// Idle, when set, is called when the last poll started by the
	// schedule finishes and no due source waits: at the end of a cycle,
	// when the bot can give back what the cycle used. It runs on the
	// finishing poll's goroutine and must not block for long.
	Idle func()
}

// PollObserver receives one call per poll that reached the source:
// outcome is "ok", "not_modified" or "error".
type PollObserver interface {
	PollDone(source, outcome string, d time.Duration)
}

// entry is one scheduled source.
type entry struct {
	src      config.Source
	spec     string
	schedule cron.Schedule
	host     string
	busy     sync.Mutex // held while a poll of this source runs
}

// Scheduler polls every source on its schedule, with bounded concurrency
// overall and per host, and backs off from failing sources.
type Scheduler struct {
	entries  []*entry
	byName   map[string]*entry
	fetcher  *Fetcher
	store    StateStore
	handle   Handler
	clock    clock.Clock
	log      *slog.Logger
	summary  int
	loc      *time.Location
	observer PollObserver
	idle     func()

	global chan struct{}
	hosts  map[string]chan struct{}
	// due holds the sources whose cron tick came, waiting for slots
	// (due.go).
	due dueQueue

	randMu sync.Mutex
	rand   *rand.Rand

	// Sources can be added and removed while Run runs (runtime.go): mu
	// guards entries, byName, hosts and the fields below.
	mu          sync.RWMutex
	defaultSpec string
	perHost     int
	cron        *cron.Cron
	runCtx      context.Context
	cronIDs     map[string]cron.EntryID
}

// NewScheduler checks the configuration (schedules parse, names are unique
// and non-empty) and returns a Scheduler ready to Run.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Fetcher == nil || cfg.Store == nil || cfg.Handle == nil {
		return nil, errors.New("new scheduler: Fetcher, Store and Handle are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 8
	}
	if cfg.PerHostConcurrent <= 0 {
		cfg.PerHostConcurrent = 2
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Rand == nil {
		seed := cfg.Seed
		if seed == 0 {
			seed = rand.Uint64()
		}
		cfg.Rand = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	s := &Scheduler{
		byName:   map[string]*entry{},
		fetcher:  cfg.Fetcher,
		store:    cfg.Store,
		handle:   cfg.Handle,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		summary:  cfg.SummaryMax,
		loc:      cfg.Location,
		observer: cfg.Observer,
		idle:     cfg.Idle,
		global:   make(chan struct{}, cfg.MaxConcurrent),
		hosts:    map[string]chan struct{}{},
		rand:     cfg.Rand,

		defaultSpec: cfg.DefaultSchedule,
		perHost:     cfg.PerHostConcurrent,
		cronIDs:     map[string]cron.EntryID{},
	}
	var problems []error
	for i, src := range cfg.Sources {
		if strings.TrimSpace(src.Name) == "" {
			problems = append(problems, fmt.Errorf("sources[%d]: empty name", i))
			continue
		}
		if _, dup := s.byName[src.Name]; dup {
			problems = append(problems, fmt.Errorf("sources[%d]: duplicate name %q", i, src.Name))
			continue
		}
		spec := src.Schedule
		if spec == "" {
			spec = cfg.DefaultSchedule
		}
		sched, err := config.ParseSchedule(spec)
		if err != nil {
			problems = append(problems, fmt.Errorf("source %q: %w", src.Name, err))
			continue
		}
		e := &entry{src: src, spec: strings.TrimSpace(spec), schedule: sched, host: hostKey(src.URL)}
		s.entries = append(s.entries, e)
		s.byName[src.Name] = e
		if _, ok := s.hosts[e.host]; !ok {
			s.hosts[e.host] = make(chan struct{}, cfg.PerHostConcurrent)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("new scheduler: %w", errors.Join(problems...))
	}
	return s, nil
}

// hostKey groups sources for per-host politeness; local files share one
// key.
func hostKey(raw string) string {
	loc, err := locate(raw)
	if err != nil || loc.url == nil {
		return "file:"
	}
	return strings.ToLower(loc.url.Hostname())
}

// Sources returns the scheduled sources in configuration order.
func (s *Scheduler) Sources() []config.Source {
	entries := s.snapshot()
	out := make([]config.Source, len(entries))
	for i, e := range entries {
		out[i] = e.src
	}
	return out
}

// Run schedules every source with cron and polls each one whenever it is
// due, until ctx is done; then it waits for polls in flight (which see ctx
// cancelled) and returns nil. Sources whose stored NextPoll has passed (or
// that were never polled) are polled once at start, so a restart does not
// wait a whole period. Cron runs on the system clock; the backoff checks
// read the injected clock.
func (s *Scheduler) Run(ctx context.Context) error {
	c := cron.New(
		cron.WithLocation(s.loc),
		cron.WithParser(cron.NewParser(cron.Minute|cron.Hour|cron.Dom|cron.Month|cron.Dow|cron.Descriptor)),
		cron.WithLogger(cronLogger{s.log}),
		cron.WithChain(cron.Recover(cronLogger{s.log}), cron.SkipIfStillRunning(cronLogger{s.log})),
	)
	s.mu.Lock()
	for _, e := range s.entries {
		name := e.src.Name
		id, err := c.AddFunc(e.spec, func() { s.scheduled(ctx, name) })
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("schedule source %q: %w", name, err)
		}
		s.cronIDs[name] = id
	}
	s.cron, s.runCtx = c, ctx
	entries := append([]*entry(nil), s.entries...)
	s.mu.Unlock()
	c.Start()

	now := s.clock.Now()
	for _, e := range entries {
		st, err := s.state(e)
		if err != nil {
			s.log.Warn("read source state", "source", e.src.Name, "error", err)
		}
		if err == nil && !st.NextPoll.IsZero() && now.Before(st.NextPoll) {
			continue
		}
		s.scheduled(ctx, e.src.Name)
	}

	<-ctx.Done()
	s.mu.Lock()
	s.cron, s.runCtx = nil, nil
	s.mu.Unlock()
	stopped := c.Stop()
	<-stopped.Done()
	s.pump(ctx) // drops what still waits
	s.due.polls.Wait()
	return nil
}

// scheduled is one cron tick: the source joins the queue of due sources
// (due.go) and is polled when its host and the global limit allow.
func (s *Scheduler) scheduled(ctx context.Context, name string) {
	if ctx.Err() != nil {
		return
	}
	e, ok := s.lookup(name)
	if !ok {
		return
	}
	s.enqueue(ctx, name, e.host)
}

// PollAll polls every source once, concurrently within the concurrency
// bounds, and returns the failures joined. Sources that are backing off or
// already being polled are skipped without error.
func (s *Scheduler) PollAll(ctx context.Context) error {
	entries := s.snapshot()
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Go(func() {
			err := s.PollNow(ctx, e.src.Name)
			if errors.Is(err, ErrBackingOff) || errors.Is(err, ErrBusy) {
				err = nil
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// PollNow polls the source called name once: fetch, then Handle; on
// failure it records the failure and the backoff in the store. While the
// source is backing off from earlier failures it fetches nothing and
// returns a *BackoffError; if a poll of it is already running it returns
// ErrBusy.
func (s *Scheduler) PollNow(ctx context.Context, name string) error {
	return s.poll(ctx, name, nil)
}

// poll is PollNow; held, when not nil, releases slots already taken for
// this poll (a poll started from the due queue), which poll releases
// whatever happens.
func (s *Scheduler) poll(ctx context.Context, name string, held func()) error {
	if held != nil {
		defer held()
	}
	e, ok := s.lookup(name)
	if !ok {
		return fmt.Errorf("poll %q: %w", name, ErrUnknownSource)
	}
	if !e.busy.TryLock() {
		return fmt.Errorf("poll %q: %w", name, ErrBusy)
	}
	defer e.busy.Unlock()

	prev, err := s.state(e)
	if err != nil {
		return fmt.Errorf("poll %q: %w", name, err)
	}
	if prev.Failures > 0 && s.clock.Now().Before(prev.NextPoll) {
		return fmt.Errorf("poll %q: %w", name, &BackoffError{Until: prev.NextPoll, Failures: prev.Failures})
	}

	if held == nil {
		// Per host first, then global: a poll waiting on a slow host
		// holds no global slot, so other hosts keep going.
		release, err := s.acquire(ctx, e.host)
		if err != nil {
			return fmt.Errorf("poll %q: %w", name, err)
		}
		defer release()
	}

	start := s.clock.Now()
	res, err := s.fetcher.Fetch(ctx, e.src, prev, s.summary)
	if s.observer != nil && ctx.Err() == nil {
		outcome := "ok"
		switch {
		case err != nil:
			outcome = "error"
		case res.NotModified:
			outcome = "not_modified"
		}
		s.observer.PollDone(name, outcome, s.clock.Now().Sub(start))
	}
	if err != nil {
		if ctx.Err() != nil {
			// Frontwire is stopping, the source did nothing wrong:
			// recording this would show a false last_error and make the
			// source back off after the restart.
			return fmt.Errorf("poll %q: %w", name, err)
		}
		return s.fail(e, prev, start, err, false)
	}

	next := prev
	next.Name, next.URL = e.src.Name, e.src.URL
	next.LastAttempt = start
	next.LastSuccess = start
	next.Failures = 0
	next.LastError = ""
	next.ETag, next.LastModified = res.ETag, res.LastModified
	next.Initialized = true
	next.NextPoll = e.schedule.Next(start.In(s.loc))
	p := Poll{
		Source:      e.src,
		State:       next,
		Stories:     res.Stories,
		First:       !prev.Initialized,
		NotModified: res.NotModified,
		FeedTitle:   res.FeedTitle,
	}
	if err := s.handle(ctx, p); err != nil {
		// The feed answered; keeping its stories failed here (a full
		// disk). Recorded, but not backed off: the source did nothing
		// wrong, and a backoff grown over a long outage would hold its
		// stories back for hours after the disk is fixed.
		return s.fail(e, prev, start, fmt.Errorf("handle stories: %w", err), true)
	}
	s.log.Debug("polled", "source", name, "stories", len(res.Stories), "not_modified", res.NotModified, "first", p.First)
	return nil
}

// fail records a failed poll: one more consecutive failure, the error text
// and the time of the next attempt. The validators of the last success are
// kept. A local failure (the stories could not be handled) keeps the
// source's schedule instead of backing off.
func (s *Scheduler) fail(e *entry, prev storage.SourceState, start time.Time, cause error, local bool) error {
	st := prev
	st.Name = e.src.Name
	if st.URL != e.src.URL {
		// The validators belonged to another address.
		st.URL, st.ETag, st.LastModified = e.src.URL, "", ""
	}
	st.LastAttempt = start
	st.Failures++
	st.LastError = redactError(cause.Error(), e.src.URL)
	var ra *RetryAfterError
	var retryAfter time.Duration
	if errors.As(cause, &ra) {
		retryAfter = ra.After
	}
	st.NextPoll = start.Add(s.backoff(st.Failures, retryAfter))
	if local {
		st.NextPoll = e.schedule.Next(start.In(s.loc))
	}
	if err := s.store.PutSourceState(st); err != nil {
		// Log the poll's own failure too: nothing else reports it.
		s.log.Error("store source state", "source", e.src.Name, "error", err, "poll_error", st.LastError)
		return fmt.Errorf("poll %q: %w (and storing the failure failed: %w)", e.src.Name, cause, err)
	}
	s.log.Warn("poll failed", "source", e.src.Name, "error", st.LastError, "failures", st.Failures, "next_poll", st.NextPoll)
	return fmt.Errorf("poll %q: %w", e.src.Name, cause)
}

// Backoff returns how long a source rests after its failures-th
// consecutive failure: base·2^(failures-1) capped at 6 h, ±20% jitter,
// where base is one minute or the server's Retry-After if longer. The
// result is never below retryAfter (up to the cap) nor above 6 h.
func (s *Scheduler) backoff(failures int, retryAfter time.Duration) time.Duration {
	base := baseBackoff
	if retryAfter > base {
		base = retryAfter
	}
	d := base
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	s.randMu.Lock()
	f := 1 - jitter + 2*jitter*s.rand.Float64()
	s.randMu.Unlock()
	d = time.Duration(float64(d) * f)
	d = min(d, maxBackoff)
	return max(d, min(retryAfter, maxBackoff))
}

// state loads a source's stored state; a source never polled starts empty.
func (s *Scheduler) state(e *entry) (storage.SourceState, error) {
	st, err := s.store.SourceState(e.src.Name)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.SourceState{Name: e.src.Name, URL: e.src.URL}, nil
	}
	if err != nil {
		return storage.SourceState{}, fmt.Errorf("load state: %w", err)
	}
	return st, nil
}

func (s *Scheduler) acquire(ctx context.Context, host string) (func(), error) {
	s.mu.RLock()
	hs := s.hosts[host]
	s.mu.RUnlock()
	select {
	case hs <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case s.global <- struct{}{}:
	case <-ctx.Done():
		<-hs
		return nil, ctx.Err()
	}
	return s.releaser(hs), nil
}

// releaser frees a slot of hs and a global slot, then starts what waits
// in the due queue for them.
func (s *Scheduler) releaser(hs chan struct{}) func() {
	return func() {
		<-s.global
		<-hs
		s.mu.RLock()
		ctx := s.runCtx
		s.mu.RUnlock()
		if ctx != nil {
			s.pump(ctx)
		}
	}
}

// redactError removes the source URL's credentials and query from an error
// text, in case a lower layer quoted the URL.
func redactError(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.User == nil && u.RawQuery == "") {
		return msg
	}
	safe := *u
	safe.User = nil
	safe.RawQuery = ""
	msg = strings.ReplaceAll(msg, raw, safe.String())
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "[redacted]")
		}
	}
	if u.RawQuery != "" {
		msg = strings.ReplaceAll(msg, u.RawQuery, "[redacted]")
	}
	return msg
}

// cronLogger sends robfig/cron's messages to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append([]any{"error", err}, kv...)...)
}
