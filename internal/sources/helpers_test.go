package sources

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/storage"
)

// t0 is the fake clock's start: a fixed instant so that cron's next times
// and backoffs are reproducible.
var t0 = time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC)

// harness is a scheduler over a real bbolt file, with a handler that
// stores each poll's state (as the alert pipeline does) and records the
// poll.
type harness struct {
	t     *testing.T
	db    *storage.DB
	clk   *clock.Fake
	sched *Scheduler

	mu        sync.Mutex
	polls     []Poll
	handleErr error
}

type harnessOpt func(*SchedulerConfig)

// runObserved starts the scheduler's Run. Every poll, once handled, is
// also sent to polled (buffered for buffer polls). stop cancels Run and
// returns its error, failing the test if Run does not return within 10 s.
func (h *harness) runObserved(buffer int) (polled <-chan Poll, stop func() error) {
	ch := make(chan Poll, buffer)
	inner := h.sched.handle
	h.sched.handle = func(ctx context.Context, p Poll) error {
		err := inner(ctx, p)
		ch <- p
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- h.sched.Run(ctx) }()
	return ch, func() error {
		cancel()
		select {
		case err := <-stopped:
			return err
		case <-time.After(10 * time.Second):
			h.t.Fatal("Run did not return after cancel")
			return nil
		}
	}
}

func newHarness(t *testing.T, client *http.Client, srcs []config.Source, opts ...harnessOpt) *harness {
	t.Helper()
	clk := clock.NewFake(t0)
	db, err := storage.Open(filepath.Join(t.TempDir(), "frontwire.db"), storage.Options{NoSync: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	h := &harness{t: t, db: db, clk: clk}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	cfg := SchedulerConfig{
		Sources:         srcs,
		DefaultSchedule: "@every 5m",
		Fetcher:         NewFetcher(client, UserAgent("test"), clk),
		Store:           db,
		Handle:          h.handle,
		Clock:           clk,
		SummaryMax:      200,
		Seed:            1,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.sched, err = NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) handle(ctx context.Context, p Poll) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handleErr != nil {
		return h.handleErr
	}
	if err := h.db.PutSourceState(p.State); err != nil {
		return err
	}
	h.polls = append(h.polls, p)
	return nil
}

func (h *harness) lastPoll() Poll {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.polls) == 0 {
		h.t.Fatal("no poll reached the handler")
	}
	return h.polls[len(h.polls)-1]
}

func (h *harness) pollCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.polls)
}

func (h *harness) state(name string) storage.SourceState {
	h.t.Helper()
	st, err := h.db.SourceState(name)
	if err != nil {
		h.t.Fatalf("state of %q: %v", name, err)
	}
	return st
}

func (h *harness) mustPoll(name string) Poll {
	h.t.Helper()
	n := h.pollCount()
	if err := h.sched.PollNow(context.Background(), name); err != nil {
		h.t.Fatalf("PollNow(%q): %v", name, err)
	}
	if h.pollCount() != n+1 {
		h.t.Fatal("successful poll did not reach the handler")
	}
	return h.lastPoll()
}

// feedServer serves one body with a content type and counts requests.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
}

func serve(t testing.TB, h http.HandlerFunc) *feedServer {
	t.Helper()
	fs := &feedServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.requests = append(fs.requests, r.Clone(context.Background()))
		fs.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func serveBody(t testing.TB, contentType, body string) *feedServer {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(body))
	})
}

func (fs *feedServer) count() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.requests)
}

func (fs *feedServer) last() *http.Request {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests[len(fs.requests)-1]
}

func fetchOnce(t *testing.T, f *Fetcher, url string) (FetchResult, error) {
	t.Helper()
	return f.Fetch(context.Background(), config.Source{Name: "Test", URL: url}, storage.SourceState{}, 200)
}

func wantErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func stateFor(name, url, etag string) storage.SourceState {
	return storage.SourceState{Name: name, URL: url, ETag: etag}
}
