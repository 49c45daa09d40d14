package benchpipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"frontwire/internal/config"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
)

func TestFeedServerConditionalGET(t *testing.T) {
	fs := NewFeedServer(3, 5, 1)
	srv := httptest.NewServer(fs)
	defer srv.Close()
	get := func(t *testing.T, path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	first := get(t, "/feeds/1.xml", nil)
	etag, mod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	if first.StatusCode != 200 || etag == "" || mod == "" {
		t.Fatalf("first GET: %d, ETag %q, Last-Modified %q", first.StatusCode, etag, mod)
	}
	tests := []struct {
		name string
		path string
		hdr  map[string]string
		want int
	}{
		{"matching ETag", "/feeds/1.xml", map[string]string{"If-None-Match": etag}, 304},
		{"matching date", "/feeds/1.xml", map[string]string{"If-Modified-Since": mod}, 304},
		{"stale ETag wins over a matching date", "/feeds/1.xml", map[string]string{"If-None-Match": `"old"`, "If-Modified-Since": mod}, 200},
		{"another feed's ETag", "/feeds/2.xml", map[string]string{"If-None-Match": etag}, 200},
		{"unknown feed", "/feeds/3.xml", nil, 404},
		{"not a feed path", "/feeds/x.xml", nil, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(t, tc.path, tc.hdr).StatusCode; got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	fs.Advance()
	if got := get(t, "/feeds/1.xml", map[string]string{"If-None-Match": etag}).StatusCode; got != 200 {
		t.Errorf("after Advance the old ETag got %d, want 200", got)
	}
}

// TestFeedsParse checks that the generated feeds are what the benchmark
// claims: Items items each, with HTML descriptions of about 1.5 KB, and
// new stories after Advance.
func TestFeedsParse(t *testing.T) {
	fs := NewFeedServer(4, 50, 1)
	srv := httptest.NewServer(fs)
	defer srv.Close()
	f := sources.NewFetcher(srv.Client(), "", nil)
	src := config.Source{Name: "wire", URL: srv.URL + "/feeds/2.xml"}
	res, err := f.Fetch(context.Background(), src, storage.SourceState{}, 280)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stories) != 50 || res.ETag == "" || res.LastModified == "" {
		t.Fatalf("%d stories, ETag %q, Last-Modified %q", len(res.Stories), res.ETag, res.LastModified)
	}
	body := fs.bodies[2]
	if n := bytes.Count(body, []byte("<description><![CDATA[")); n != 50 {
		t.Fatalf("%d descriptions", n)
	}
	perItem := len(body) / 50
	descr := 0
	for _, part := range bytes.Split(body, []byte("<description><![CDATA["))[1:] {
		end := bytes.Index(part, []byte("]]>"))
		descr += end
	}
	if avg := descr / 50; avg < 1200 || avg > 2000 {
		t.Errorf("descriptions average %d bytes, want about 1,500 (item %d bytes)", avg, perItem)
	}
	ids := map[string]bool{}
	for _, s := range res.Stories {
		if s.ID == "" || s.Text == "" || strings.Contains(s.Text, "<") {
			t.Fatalf("story not normalised: %+v", s)
		}
		ids[s.ID] = true
	}
	fs.Advance()
	res2, err := f.Fetch(context.Background(), src, storage.SourceState{}, 280)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res2.Stories {
		if ids[s.ID] {
			t.Fatalf("story %s is in both generations", s.ID)
		}
	}
}

// TestSlowHostDoesNotDelayOthers polls three sources of one host that
// stalls until released, and twenty sources of other hosts, with at most
// four polls at once and two per host: every other source is polled and
// handled while the slow host still holds its requests, and the slow host
// never gets more than two.
func TestSlowHostDoesNotDelayOthers(t *testing.T) {
	const slow, fast = 3, 20
	fs := NewFeedServer(slow+fast, 5, 1)
	release := make(chan struct{})
	entered := make(chan int, slow)
	var inSlow, maxSlow atomic.Int32
	fs.hold = func(n int) {
		if n >= slow {
			return
		}
		cur := inSlow.Add(1)
		for {
			m := maxSlow.Load()
			if cur <= m || maxSlow.CompareAndSwap(m, cur) {
				break
			}
		}
		entered <- n
		<-release
		inSlow.Add(-1)
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var srcs []config.Source
	for i := range slow + fast {
		raw := FeedURL(i, u.Port())
		if i < slow {
			raw = fmt.Sprintf("http://slow.bench.test:%s/feeds/%d.xml", u.Port(), i)
		}
		srcs = append(srcs, config.Source{Name: fmt.Sprintf("s%02d", i), URL: raw})
	}
	db, err := storage.Open(filepath.Join(t.TempDir(), "f.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	handled := make(chan string, slow+fast)
	sched, err := sources.NewScheduler(sources.SchedulerConfig{
		Sources:         srcs,
		DefaultSchedule: "@every 10m",
		Fetcher:         sources.NewFetcher(LoopbackClient(u.Host), "", nil),
		Store:           db,
		Handle: func(_ context.Context, p sources.Poll) error {
			handled <- p.Source.Name
			return db.PutSourceState(p.State)
		},
		MaxConcurrent:     4,
		PerHostConcurrent: 2,
		Seed:              1,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sched.PollAll(context.Background()) }()
	// A guard against a hang, not a synchronisation: every step below
	// waits on a channel.
	guard := time.After(60 * time.Second)
	for range 2 {
		select {
		case <-entered:
		case <-guard:
			t.Fatal("the slow host never received two requests")
		}
	}
	got := map[string]bool{}
	for len(got) < fast {
		select {
		case name := <-handled:
			if name < fmt.Sprintf("s%02d", slow) {
				t.Fatalf("slow source %s handled before the host was released", name)
			}
			got[name] = true
		case <-guard:
			t.Fatalf("only %d of %d fast sources were polled while the slow host stalled", len(got), fast)
		}
	}
	if n := inSlow.Load(); n != 2 {
		t.Errorf("%d requests held by the slow host after the others finished, want 2 (its per-host limit)", n)
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-guard:
		t.Fatal("PollAll did not return after the slow host was released")
	}
	close(handled)
	for name := range handled {
		got[name] = true
	}
	if len(got) != slow+fast {
		t.Errorf("%d sources handled, want %d", len(got), slow+fast)
	}
	if m := maxSlow.Load(); m > 2 {
		t.Errorf("the slow host had %d requests at once, want at most 2", m)
	}
}

func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	profile := filepath.Join(t.TempDir(), "cpu.out")
	res, err := Run(context.Background(), Options{Feeds: 5, Items: 4, Subs: 3000, NotModifiedCycles: 1, NoSync: true, Dir: t.TempDir(), JSON: true, CPUProfile: profile}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Errorf("CPU profile of the new-content cycle: %v, %v", fi, err)
	}
	var decoded Result
	if err := json.Unmarshal(out.Bytes(), &decoded); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	if len(decoded.Cycles) != 3 {
		t.Fatalf("%d cycles, want 3", len(decoded.Cycles))
	}
	first, fresh, notMod := res.Cycles[0], res.Cycles[1], res.Cycles[2]
	if first.NewStories != 20 || first.Queued != 0 {
		t.Errorf("first poll: %d new, %d queued; want 20 new and nothing queued", first.NewStories, first.Queued)
	}
	if fresh.NewStories != 20 || fresh.Requests != 5 || fresh.NotModified != 0 {
		t.Errorf("new content: %+v", fresh)
	}
	if fresh.Matches == 0 || fresh.Queued == 0 {
		t.Errorf("new content matched %d and queued %d; the workload should match some", fresh.Matches, fresh.Queued)
	}
	if notMod.NotModified != 5 || notMod.NewStories != 0 || notMod.Queued != 0 {
		t.Errorf("304 cycle: %+v", notMod)
	}
	if res.NewStoriesPerSec <= 0 || res.BestNotModWall <= 0 {
		t.Errorf("rates not filled: %+v", res)
	}
}

func TestRunNeedsDir(t *testing.T) {
	if _, err := Run(context.Background(), Options{Feeds: 1}, &bytes.Buffer{}); err == nil {
		t.Fatal("Run without a directory succeeded")
	}
}

// TestRSSConfigLoads checks that the child's generated configuration is
// valid and holds every source on the feed server.
func TestRSSConfigLoads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	data := rssConfig(filepath.Join(dir, "data"), "127.0.0.1:4321", RSSOptions{Feeds: 7, Interval: 20 * time.Second})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	var cerr *config.Error
	if errors.As(err, &cerr) || err != nil {
		t.Fatalf("config: %v", err)
	}
	if len(cfg.Sources) != 7 || cfg.Bot.PollSchedule != "@every 20s" || !cfg.Bot.AllowPrivateSources {
		t.Fatalf("config: %d sources, schedule %q, private %v", len(cfg.Sources), cfg.Bot.PollSchedule, cfg.Bot.AllowPrivateSources)
	}
	if cfg.Sources[6].URL != "http://127.0.0.1:4321/feeds/6.xml" {
		t.Errorf("source 6 at %s", cfg.Sources[6].URL)
	}
}
