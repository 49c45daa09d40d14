package sources

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"frontwire/internal/config"
	"frontwire/internal/storage"
)

// publicRedirector is the guarded client of NewHTTPClient(false), except
// that the host public.example, which the test cannot resolve, answers in
// process with a redirect to target. Every other request, the redirected
// one included, goes through the guarded dialer.
func publicRedirector(target string) *http.Client {
	guarded := NewHTTPClient(false)
	inner := guarded.Transport
	guarded.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Hostname() != "public.example" {
			return inner.RoundTrip(r)
		}
		rec := httptest.NewRecorder()
		http.Redirect(rec, r, target, http.StatusFound)
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	})
	return guarded
}

func TestRuntimeAddRefusals(t *testing.T) {
	feed := serveBody(t, "application/rss+xml", rss2)
	page := serveBody(t, "text/html", "<!doctype html><html><body>Not a feed</body></html>")
	cases := []struct {
		name    string
		url     string
		client  *http.Client
		private bool
		wantIs  error // nil: only a *RefusedError is wanted
		says    string
	}{
		{"loopback literal", feed.URL + "/", NewHTTPClient(false), false, ErrPrivateAddress, "loopback or private"},
		{"cloud metadata address", "http://169.254.169.254/latest/meta-data/", NewHTTPClient(false), false, ErrPrivateAddress, "loopback or private"},
		{"localhost name", "http://localhost:9/feed", NewHTTPClient(false), false, ErrPrivateAddress, ""},
		{"redirect to loopback, refused by the dialer", "http://public.example/feed.xml", publicRedirector(feed.URL), false, ErrPrivateAddress, "first fetch failed"},
		{"redirect to metadata, refused by the dialer", "http://public.example/feed.xml", publicRedirector("http://169.254.169.254/latest/"), false, ErrPrivateAddress, "first fetch failed"},
		{"a file path", "/etc/passwd", NewHTTPClient(false), false, nil, "http:// or https://"},
		{"a file URL", "file:///etc/passwd", NewHTTPClient(false), true, nil, "http:// or https://"},
		{"ftp", "ftp://example.org/feed", NewHTTPClient(false), true, nil, "http:// or https://"},
		{"an HTML page", page.URL, &http.Client{Timeout: 5 * time.Second}, true, ErrNotFeed, "HTML"},
		{"a 404", feed.URL + "/missing", &http.Client{Timeout: 5 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			rec := httptest.NewRecorder()
			http.NotFound(rec, r)
			return rec.Result(), nil
		})}, true, nil, "HTTP 404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, filepath.Join(t.TempDir(), "frontwire.db"))
			rt := &Runtime{Store: db, Fetcher: NewFetcher(tc.client, "test", nil), AllowPrivate: tc.private}
			_, err := rt.Add(context.Background(), AddRequest{URL: tc.url, Name: "X", By: "telegram:1"})
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Add(%s) = %v, want a *RefusedError", tc.url, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Add(%s) = %v, want it to wrap %v", tc.url, err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Add(%s) = %q, want it to say %q", tc.url, err, tc.says)
			}
			if added, _ := db.AddedSources(); len(added) != 0 {
				t.Errorf("a refused source was stored: %+v", added)
			}
		})
	}
}

func openDB(t *testing.T, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestRuntimeAddPollsRemovesAndPersists(t *testing.T) {
	feed := serveBody(t, "application/rss+xml", rss2)
	other := serveBody(t, "application/rss+xml", rss2)
	configured := []config.Source{{Name: "Configured Wire", URL: other.URL + "/configured"}}
	h := newHarness(t, nil, configured)
	rt := &Runtime{
		Scheduler:    h.sched,
		Store:        h.db,
		Fetcher:      NewFetcher(&http.Client{Timeout: 5 * time.Second}, "test", h.clk),
		Configured:   configured,
		AllowPrivate: true, // the test's feeds are on loopback
	}
	ctx := context.Background()

	added, err := rt.Add(ctx, AddRequest{URL: feed.URL, By: "telegram:7"})
	if err != nil {
		t.Fatal(err)
	}
	// No name given: the feed's own title.
	if added.Source.Name != "Frontline Wire" || added.Items != 2 {
		t.Errorf("Add = %+v, want the feed title as name and 2 items", added)
	}
	// Validated once, then polled at once; the first poll marks seen.
	if feed.count() != 2 {
		t.Errorf("feed fetched %d times, want 2 (validation, first poll)", feed.count())
	}
	if p := h.lastPoll(); p.Source.Name != "Frontline Wire" || !p.First {
		t.Errorf("first poll = %+v, want First for the added source", p)
	}
	names := func() []string {
		var out []string
		for _, s := range h.sched.Sources() {
			out = append(out, s.Name)
		}
		return out
	}
	if got := strings.Join(names(), ","); got != "Configured Wire,Frontline Wire" {
		t.Errorf("scheduled %s", got)
	}

	t.Run("clashes are refused", func(t *testing.T) {
		for _, req := range []AddRequest{
			{URL: feed.URL + "/?other", Name: "configured wire"},
			{URL: feed.URL + "/?other", Name: "FRONTLINE WIRE"},
			{URL: feed.URL, Name: "Same address"},
			{URL: other.URL + "/configured", Name: "Same as config"},
		} {
			if _, err := rt.Add(ctx, req); !errors.Is(err, ErrDuplicateSource) {
				t.Errorf("Add(%+v) = %v, want ErrDuplicateSource", req, err)
			}
		}
	})
	t.Run("hostile names are refused", func(t *testing.T) {
		for _, name := range []string{"Wire\u202egnp.exe", "zero\u200bwidth", strings.Repeat("n", 81)} {
			var re *RefusedError
			if _, err := rt.Add(ctx, AddRequest{URL: feed.URL + "/?n", Name: name}); !errors.As(err, &re) {
				t.Errorf("Add(name %q) = %v, want a refusal", name, err)
			}
		}
	})
	t.Run("configured sources cannot be removed from chat", func(t *testing.T) {
		_, err := rt.Remove(ctx, "Configured Wire")
		var re *RefusedError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "config.toml") {
			t.Errorf("Remove(configured) = %v", err)
		}
		if _, err := rt.Remove(ctx, "nothing"); !errors.Is(err, ErrUnknownSource) {
			t.Errorf("Remove(unknown) = %v, want ErrUnknownSource", err)
		}
	})

	t.Run("kept across a restart", func(t *testing.T) {
		stored, err := h.db.AddedSources()
		if err != nil {
			t.Fatal(err)
		}
		merged := MergeSources(configured, stored, nil)
		if len(merged) != 2 || merged[1].Name != "Frontline Wire" || merged[1].URL != feed.URL {
			t.Fatalf("merged after restart = %+v", merged)
		}
		// The configuration wins a clash.
		merged = MergeSources([]config.Source{{Name: "frontline wire", URL: "https://x.example/"}}, stored, nil)
		if len(merged) != 1 || merged[0].URL != "https://x.example/" {
			t.Errorf("clash merged = %+v, want the configured source only", merged)
		}
		s2, err := NewScheduler(SchedulerConfig{Sources: MergeSources(configured, stored, nil), DefaultSchedule: "@every 5m",
			Fetcher: rt.Fetcher, Store: h.db, Handle: h.handle, Clock: h.clk})
		if err != nil {
			t.Fatal(err)
		}
		// Its state survived too: the next poll is not a first poll.
		if err := s2.PollNow(ctx, "Frontline Wire"); err != nil {
			t.Fatal(err)
		}
		if p := h.lastPoll(); p.First {
			t.Error("poll after restart counted as first")
		}
	})

	t.Run("remove stops polling and forgets the state", func(t *testing.T) {
		removed, err := rt.Remove(ctx, "frontline wire")
		if err != nil || removed.Name != "Frontline Wire" {
			t.Fatalf("Remove = %+v, %v", removed, err)
		}
		if err := h.sched.PollNow(ctx, "Frontline Wire"); !errors.Is(err, ErrUnknownSource) {
			t.Errorf("PollNow after removal = %v, want ErrUnknownSource", err)
		}
		if _, err := h.db.SourceState("Frontline Wire"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("state after removal: %v", err)
		}
		if got := strings.Join(names(), ","); got != "Configured Wire" {
			t.Errorf("scheduled after removal: %s", got)
		}
	})
}

func TestRuntimeAddNoFetch(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "frontwire.db"))
	rt := &Runtime{Store: db} // no scheduler, no fetcher: the offline import
	added, err := rt.Add(context.Background(), AddRequest{URL: "https://feeds.example/world.xml", NoFetch: true, By: "cli"})
	if err != nil || added.Source.Name != "feeds.example" {
		t.Fatalf("Add = %+v, %v; want the host as the name", added, err)
	}
	if _, err := rt.Add(context.Background(), AddRequest{URL: "http://10.0.0.8/feed", NoFetch: true}); !errors.Is(err, ErrPrivateAddress) {
		t.Errorf("private address without fetch: %v, want ErrPrivateAddress", err)
	}
	if _, err := rt.Add(context.Background(), AddRequest{URL: "https://feeds.example/other.xml"}); err == nil {
		t.Error("a fetch without a fetcher succeeded")
	}
}

// TestAddSourceWhileRunning adds a source to a running scheduler: its cron
// entry fires without a restart.
func TestAddSourceWhileRunning(t *testing.T) {
	start := serveBody(t, "application/rss+xml", rss2)
	added := serveBody(t, "application/rss+xml", rss2)
	h := newHarness(t, nil, []config.Source{{Name: "Start", URL: start.URL, Schedule: "0 0 1 1 *"}})
	polled, stop := h.runObserved(16)
	// Run has set up cron before it runs the start-up polls.
	if p := <-polled; p.Source.Name != "Start" {
		t.Fatalf("start-up poll of %q", p.Source.Name)
	}
	if err := h.sched.AddSource(config.Source{Name: "Added", URL: added.URL, Schedule: "@every 1s"}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-polled:
		if p.Source.Name != "Added" {
			t.Errorf("cron polled %q, want Added", p.Source.Name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the added source's cron entry never fired")
	}
	if err := h.sched.RemoveSource("Added"); err != nil {
		t.Fatal(err)
	}
	n := added.count()
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if added.count() != n {
		t.Errorf("removed source fetched after removal")
	}
}
