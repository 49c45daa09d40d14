package sources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"frontwire/internal/config"
)

func TestFirstPollAndConditionalGET(t *testing.T) {
	const lastMod = "Fri, 14 Mar 2025 08:00:00 GMT"
	tests := []struct {
		name      string
		validator func(w http.ResponseWriter, r *http.Request) bool // true: answered 304
		header    string                                            // request header the second poll must carry
		want      string
	}{
		{"etag", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return true
			}
			w.Header().Set("ETag", `"v1"`)
			return false
		}, "If-None-Match", `"v1"`},
		{"last-modified", func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("If-Modified-Since") == lastMod {
				w.WriteHeader(http.StatusNotModified)
				return true
			}
			w.Header().Set("Last-Modified", lastMod)
			return false
		}, "If-Modified-Since", lastMod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.validator(w, r) {
					return
				}
				w.Header().Set("Content-Type", "application/rss+xml")
				_, _ = w.Write([]byte(rss2))
			})
			h := newHarness(t, srv.Client(), []config.Source{{Name: "Wire", URL: srv.URL, Backfill: 1}})

			p := h.mustPoll("Wire")
			if !p.First || p.NotModified || len(p.Stories) != 2 || p.Source.Backfill != 1 || p.FeedTitle != "Frontline Wire" {
				t.Fatalf("first poll = %+v", p)
			}
			st := h.state("Wire")
			if !st.Initialized || !st.LastSuccess.Equal(t0) || !st.NextPoll.Equal(t0.Add(5*time.Minute)) || st.URL != srv.URL {
				t.Errorf("state after first poll = %+v", st)
			}
			if srv.last().Header.Get(tt.header) != "" {
				t.Errorf("first request carried %s", tt.header)
			}

			h.clk.Advance(5 * time.Minute)
			p = h.mustPoll("Wire")
			if p.First || !p.NotModified || len(p.Stories) != 0 {
				t.Fatalf("second poll = %+v", p)
			}
			if got := srv.last().Header.Get(tt.header); got != tt.want {
				t.Errorf("second request %s = %q, want %q", tt.header, got, tt.want)
			}
			st2 := h.state("Wire")
			if st2.ETag != st.ETag || st2.LastModified != st.LastModified || !st2.LastSuccess.Equal(t0.Add(5*time.Minute)) {
				t.Errorf("state after 304 = %+v, before %+v", st2, st)
			}
		})
	}
}

func TestValidatorsDroppedWhenURLChanges(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"x"`)
		_, _ = w.Write([]byte(rss2))
	})
	h := newHarness(t, srv.Client(), []config.Source{{Name: "Wire", URL: srv.URL + "/new"}})
	if err := h.db.PutSourceState(stateFor("Wire", srv.URL+"/old", `"x"`)); err != nil {
		t.Fatal(err)
	}
	p := h.mustPoll("Wire")
	if srv.last().Header.Get("If-None-Match") != "" {
		t.Error("sent the old address's ETag to the new address")
	}
	if len(p.Stories) != 2 || p.State.URL != srv.URL+"/new" {
		t.Errorf("poll = %+v", p)
	}
}

func TestRetryAfterBacksOff(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func(now time.Time) string
		after      time.Duration
	}{
		{"seconds", func(time.Time) string { return "7200" }, 2 * time.Hour},
		{"http date", func(now time.Time) string { return now.Add(3 * time.Hour).Format(http.TimeFormat) }, 3 * time.Hour},
		{"short", func(time.Time) string { return "5" }, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var limited atomic.Bool
			limited.Store(true)
			var h *harness
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if limited.Load() {
					w.Header().Set("Retry-After", tt.retryAfter(h.clk.Now()))
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				_, _ = w.Write([]byte(rss2))
			})
			h = newHarness(t, srv.Client(), []config.Source{{Name: "Busy", URL: srv.URL}})

			err := h.sched.PollNow(context.Background(), "Busy")
			var ra *RetryAfterError
			if !errors.As(err, &ra) || ra.After != tt.after {
				t.Fatalf("err = %v, want RetryAfterError after %v", err, tt.after)
			}
			st := h.state("Busy")
			wait := st.NextPoll.Sub(t0)
			if wait < tt.after || wait < time.Duration(0.8*float64(time.Minute)) || wait > 6*time.Hour {
				t.Errorf("backoff %v, want at least %v", wait, tt.after)
			}
			if st.Failures != 1 || !strings.Contains(st.LastError, "429") || !st.LastAttempt.Equal(t0) {
				t.Errorf("state = %+v", st)
			}

			// Ticks before NextPoll fetch nothing.
			limited.Store(false)
			h.clk.Set(st.NextPoll.Add(-time.Second))
			err = h.sched.PollNow(context.Background(), "Busy")
			var be *BackoffError
			if !errors.Is(err, ErrBackingOff) || !errors.As(err, &be) || !be.Until.Equal(st.NextPoll) {
				t.Fatalf("poll while backing off: %v", err)
			}
			if srv.count() != 1 {
				t.Errorf("%d requests while backing off, want 1", srv.count())
			}

			// Recovery resets the failure count and error.
			h.clk.Set(st.NextPoll)
			p := h.mustPoll("Busy")
			if !p.First || p.State.Failures != 0 || p.State.LastError != "" || !p.State.LastSuccess.Equal(st.NextPoll) {
				t.Errorf("recovered state = %+v", p.State)
			}
		})
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("ETag", `"ok"`)
		_, _ = w.Write([]byte(atom1))
	})
	h := newHarness(t, srv.Client(), []config.Source{{Name: "Flaky", URL: srv.URL}})

	var waits []time.Duration
	for i := 1; i <= 12; i++ {
		err := h.sched.PollNow(context.Background(), "Flaky")
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != 500 {
			t.Fatalf("poll %d: err = %v", i, err)
		}
		st := h.state("Flaky")
		if st.Failures != i || st.LastError != "HTTP 500 Internal Server Error" {
			t.Fatalf("poll %d: failures %d, last error %q", i, st.Failures, st.LastError)
		}
		wait := st.NextPoll.Sub(h.clk.Now())
		want := min(6*time.Hour, time.Minute<<(i-1))
		lo, hi := time.Duration(0.8*float64(want)), min(6*time.Hour, time.Duration(1.2*float64(want)))
		if wait < lo || wait > hi {
			t.Errorf("failure %d: backoff %v, want within [%v, %v]", i, wait, lo, hi)
		}
		waits = append(waits, wait)
		h.clk.Set(st.NextPoll)
	}
	if waits[9] < 4*time.Hour || waits[11] > 6*time.Hour {
		t.Errorf("backoffs do not reach and keep the 6h cap: %v", waits)
	}

	failing.Store(false)
	now := h.clk.Now()
	p := h.mustPoll("Flaky")
	if p.State.Failures != 0 || p.State.LastError != "" || !p.State.LastSuccess.Equal(now) || p.State.ETag != `"ok"` || !p.First {
		t.Errorf("after recovery: %+v", p.State)
	}
	// robfig/cron's @every counts whole seconds.
	if want := now.Add(5 * time.Minute).Truncate(time.Second); !p.State.NextPoll.Equal(want) {
		t.Errorf("NextPoll = %v, want the next cron time %v", p.State.NextPoll, want)
	}
}

func TestBackoffFunction(t *testing.T) {
	h := newHarness(t, nil, nil)
	for _, ra := range []time.Duration{0, 30 * time.Second, 10 * time.Minute, 5 * time.Hour, 24 * time.Hour} {
		for _, failures := range []int{1, 2, 3, 9, 10, 64, 1000, 1 << 30} {
			t.Run(fmt.Sprintf("retry-after %v failures %d", ra, failures), func(t *testing.T) {
				for range 50 {
					d := h.sched.backoff(failures, ra)
					if d > 6*time.Hour || d < min(ra, 6*time.Hour) || d < 48*time.Second {
						t.Fatalf("backoff(%d, %v) = %v", failures, ra, d)
					}
				}
			})
		}
	}
}

func TestHandlerErrorKeepsValidators(t *testing.T) {
	var version atomic.Int32
	version.Store(1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		etag := fmt.Sprintf(`"v%d"`, version.Load())
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		_, _ = w.Write([]byte(rss2))
	})
	h := newHarness(t, srv.Client(), []config.Source{{Name: "Wire", URL: srv.URL}})
	h.mustPoll("Wire")

	version.Store(2)
	h.handleErr = errors.New("disk full")
	h.clk.Advance(5 * time.Minute)
	err := h.sched.PollNow(context.Background(), "Wire")
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	st := h.state("Wire")
	if st.ETag != `"v1"` || st.Failures != 1 || !strings.Contains(st.LastError, "disk full") {
		t.Fatalf("state after handler failure = %+v", st)
	}
	// A local failure keeps the schedule: no backoff.
	if got := st.NextPoll.Sub(st.LastAttempt); got != 5*time.Minute {
		t.Errorf("next poll %s after a handler failure, want the schedule's 5m", got)
	}

	// Once the handler works again the same stories come back.
	h.handleErr = nil
	h.clk.Set(st.NextPoll)
	p := h.mustPoll("Wire")
	if p.NotModified || len(p.Stories) != 2 || p.State.ETag != `"v2"` || p.First {
		t.Errorf("poll after recovery = %+v", p)
	}
}

func TestPoliteConcurrency(t *testing.T) {
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	var inFlight, maxInFlight atomic.Int32
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte(rss2))
	})
	fast := serveBody(t, "application/rss+xml", atom1)
	fastURL := strings.Replace(fast.URL, "127.0.0.1", "localhost", 1)
	h := newHarness(t, nil, []config.Source{
		{Name: "Slow 1", URL: slow.URL + "/1"},
		{Name: "Slow 2", URL: slow.URL + "/2"},
		{Name: "Fast", URL: fastURL},
	}, func(c *SchedulerConfig) { c.MaxConcurrent = 2; c.PerHostConcurrent = 1 })

	done := make(chan error, 2)
	go func() { done <- h.sched.PollNow(context.Background(), "Slow 1") }()
	<-entered

	if err := h.sched.PollNow(context.Background(), "Slow 1"); !errors.Is(err, ErrBusy) {
		t.Errorf("second poll of a running source: %v, want ErrBusy", err)
	}
	go func() { done <- h.sched.PollNow(context.Background(), "Slow 2") }()

	// The fast host must not wait for the slow one.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.sched.PollNow(ctx, "Fast"); err != nil {
		t.Fatalf("fast source delayed by the slow host: %v", err)
	}
	if slow.count() != 1 {
		t.Errorf("slow host got %d requests at once, want 1", slow.count())
	}

	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("slow poll: %v", err)
		}
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("slow host saw %d concurrent requests, want 1", m)
	}
	if slow.count() != 2 {
		t.Errorf("slow host got %d requests in all, want 2", slow.count())
	}
}

func TestPollAll(t *testing.T) {
	ok1 := serveBody(t, "application/rss+xml", rss2)
	ok2 := serveBody(t, "application/atom+xml", atom1)
	bad := serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	h := newHarness(t, nil, []config.Source{
		{Name: "One", URL: ok1.URL}, {Name: "Two", URL: ok2.URL}, {Name: "Bad", URL: bad.URL},
	})
	err := h.sched.PollAll(context.Background())
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadGateway || !strings.Contains(err.Error(), `"Bad"`) {
		t.Fatalf("PollAll err = %v", err)
	}
	if h.pollCount() != 2 {
		t.Errorf("%d polls handled, want 2", h.pollCount())
	}
	// The failing source now backs off (at least 48 s): a second round
	// skips it quietly.
	h.clk.Advance(30 * time.Second)
	if err := h.sched.PollAll(context.Background()); err != nil {
		t.Errorf("second PollAll: %v", err)
	}
	if bad.count() != 1 || h.pollCount() != 4 {
		t.Errorf("bad source asked %d times, %d polls handled", bad.count(), h.pollCount())
	}
}

func TestRunPollsDueSourcesAndStops(t *testing.T) {
	srv := serveBody(t, "application/rss+xml", rss2)
	notYet := serveBody(t, "application/rss+xml", rss2)
	h := newHarness(t, nil, []config.Source{
		{Name: "Due", URL: srv.URL, Schedule: "@every 1h"},
		{Name: "Later", URL: notYet.URL, Schedule: "0 0 1 1 *"},
	})
	st := stateFor("Later", notYet.URL, "")
	st.Initialized, st.NextPoll = true, t0.Add(time.Hour)
	if err := h.db.PutSourceState(st); err != nil {
		t.Fatal(err)
	}
	polled, stop := h.runObserved(4)
	p := <-polled
	if p.Source.Name != "Due" || !p.First {
		t.Errorf("start-up poll = %+v", p)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if notYet.count() != 0 {
		t.Error("a source not yet due was polled at start")
	}
}

func TestNewSchedulerChecks(t *testing.T) {
	h := newHarness(t, nil, nil)
	base := SchedulerConfig{DefaultSchedule: "@every 5m", Fetcher: NewFetcher(nil, "", nil), Store: h.db, Handle: h.handle}
	tests := []struct {
		name string
		mut  func(*SchedulerConfig)
		want string // "" means accepted
	}{
		{"ok", func(c *SchedulerConfig) { c.Sources = []config.Source{{Name: "A", URL: "https://a.example/"}} }, ""},
		{"no handler", func(c *SchedulerConfig) { c.Handle = nil }, "required"},
		{"duplicate", func(c *SchedulerConfig) {
			c.Sources = []config.Source{{Name: "A", URL: "https://a.example/"}, {Name: "A", URL: "https://b.example/"}}
		}, "duplicate"},
		{"empty name", func(c *SchedulerConfig) { c.Sources = []config.Source{{URL: "https://a.example/"}} }, "empty name"},
		{"bad schedule", func(c *SchedulerConfig) {
			c.Sources = []config.Source{{Name: "A", URL: "https://a.example/", Schedule: "every so often"}}
		}, "invalid schedule"},
		{"bad default", func(c *SchedulerConfig) {
			c.DefaultSchedule = ""
			c.Sources = []config.Source{{Name: "A", URL: "https://a.example/"}}
		}, "invalid schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mut(&cfg)
			s, err := NewScheduler(cfg)
			if tt.want == "" {
				if err != nil || len(s.Sources()) != len(cfg.Sources) {
					t.Fatalf("NewScheduler: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if err := h.sched.PollNow(context.Background(), "nope"); !errors.Is(err, ErrUnknownSource) {
		t.Errorf("unknown source: %v", err)
	}
}

func TestFailureTextHidesSecrets(t *testing.T) {
	srv := serveBody(t, "text/plain", "")
	addr := srv.Listener.Addr().String()
	srv.Close()
	u := "http://" + addr + "/feed?token=S3CRET-T0KEN"
	h := newHarness(t, nil, []config.Source{{Name: "Keyed", URL: u}})
	if err := h.sched.PollNow(context.Background(), "Keyed"); err == nil {
		t.Fatal("poll of a closed server succeeded")
	}
	st := h.state("Keyed")
	if st.LastError == "" || strings.Contains(st.LastError, "S3CRET") {
		t.Errorf("LastError = %q", st.LastError)
	}
}
