package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// goodFeeds serves many well-behaved feeds, one per path /good/N, each
// with a new item on every request, and counts requests per feed.
type goodFeeds struct {
	mu       sync.Mutex
	requests map[int]int
	changed  chan struct{}
}

func (g *goodFeeds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/good/"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	g.mu.Lock()
	g.requests[n]++
	k := g.requests[n]
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	var items []string
	for i := max(0, k-20); i < k; i++ {
		items = append(items, feedtest.Item(fmt.Sprintf("g%d-%d", n, i), fmt.Sprintf("Feed %d report %d on harbour works", n, i), "Routine council news.", at.Add(time.Duration(i)*time.Minute)))
	}
	writeFeed(w, validFeed(items...))
}

// waitAll waits until every feed 0…n-1 has been asked at least once.
func (g *goodFeeds) waitAll(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		g.mu.Lock()
		got, ch := len(g.requests), g.changed
		g.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d of %d good feeds polled within %s", got, n, timeout)
		}
	}
}

func (g *goodFeeds) snapshot() map[int]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int]int, len(g.requests))
	for k, v := range g.requests {
		out[k] = v
	}
	return out
}

// TestSoakThousandSources (behind -long) runs the bot with 1,000 sources:
// 320 hostile ones (every kind of TestHostileFeeds, one loopback address
// per kind) and 680 good ones spread over 20 loopback addresses, all on a
// one-minute schedule. It measures the bot's peak RSS (target < 200 MB) and
// checks that every good source keeps its schedule throughout.
func TestSoakThousandSources(t *testing.T) {
	if !*long {
		t.Skip("the 1,000-source soak runs with -long")
	}
	const (
		period    = time.Minute
		window    = 3 * time.Minute
		goodHosts = 20
		targetMB  = 200
	)
	kinds := hostileKinds()
	var srcs []source
	for i, k := range kinds {
		hc := &hitCounter{changed: make(chan struct{})}
		srv := listenOn(t, 10+i, hc.wrap(k.handler(0)))
		base := srv.URL
		if k.scheme == "https" {
			base = "https" + strings.TrimPrefix(base, "http")
		}
		n := 20
		if k.name == "stall-after-headers" || k.name == "trickle-1-byte-per-second" {
			n = 10
		}
		for j := range n {
			srcs = append(srcs, source{Name: fmt.Sprintf("%s-%02d", k.name, j), URL: fmt.Sprintf("%s/feed/%d", base, j)})
		}
	}
	hostile := len(srcs)
	good := &goodFeeds{requests: map[int]int{}, changed: make(chan struct{})}
	var hosts []string
	for h := range goodHosts {
		hosts = append(hosts, listenOn(t, 100+h, good).URL)
	}
	nGood := 1000 - hostile
	for n := range nGood {
		srcs = append(srcs, source{Name: fmt.Sprintf("Good %03d", n), URL: fmt.Sprintf("%s/good/%d", hosts[n%goodHosts], n)})
	}
	dir := t.TempDir()
	cfgPath := botConfig{
		DataDir: filepath.Join(dir, "data"), PollSchedule: fmt.Sprintf("@every %s", period),
		AllowPrivate: true, Sources: srcs,
	}.write(t, dir)
	p := startBot(t, nil, "run", "-config", cfgPath)
	t.Cleanup(func() {
		if t.Failed() {
			select {
			case <-p.done:
			default:
				// A goroutine dump shows where a stuck bot waits.
				_ = p.cmd.Process.Signal(syscall.SIGQUIT)
				<-p.done
			}
			if path := os.Getenv("FRONTWIRE_SOAK_OUTPUT"); path != "" {
				_ = os.WriteFile(path, []byte(p.out.String()), 0o600)
			}
			out := strings.Split(p.out.String(), "\n")
			t.Logf("last lines of the bot's output:\n%s", strings.Join(out[max(0, len(out)-60):], "\n"))
		}
	})
	good.waitAll(t, nGood, 3*period)
	before := good.snapshot()
	start := time.Now()
	// The soak's length is the experiment.
	select {
	case <-time.After(window):
	case <-p.done:
		t.Fatalf("bot exited during the soak: %v\n%s", p.err, p.out.String())
	}
	after := good.snapshot()
	rss := p.peakRSSKiB(t)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 60*time.Second); err != nil || p.exitCode() != 0 {
		t.Errorf("exit after SIGTERM: %v\n%s", err, lastLine(p.out.String()))
	}
	if strings.Contains(p.out.String(), "panic") {
		t.Errorf("panic in output")
	}
	polls := make([]int, 0, nGood)
	for n := range nGood {
		polls = append(polls, after[n]-before[n])
	}
	slices.Sort(polls)
	expected := int(window / period)
	late := 0
	for _, c := range polls {
		if c < expected-1 {
			late++
		}
	}
	var goodErrors, hostileErrors int
	withDB(t, filepath.Join(dir, "data", "frontwire.db"), func(db *storage.DB) {
		states, err := db.SourceStates()
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range states {
			switch {
			case strings.HasPrefix(st.Name, "Good ") && st.LastError != "":
				goodErrors++
			case !strings.HasPrefix(st.Name, "Good ") && st.LastError != "":
				hostileErrors++
			}
		}
	})
	if late > 0 {
		t.Errorf("%d of %d good sources polled fewer than %d times in %s", late, nGood, expected-1, window)
	}
	if goodErrors > 0 {
		t.Errorf("%d good sources carry a last_error", goodErrors)
	}
	if rss*1024 > targetMB*1000*1000 {
		t.Errorf("peak RSS %.1f MiB over the %d MB target", float64(rss)/1024, targetMB)
	}
	t.Logf("FIGURE soak: sources=%d (hostile=%d of %d kinds, good=%d on %d hosts) schedule=%s window=%s peak_rss=%.1f MiB good polls per source in window min=%d median=%d max=%d (expected %d) late=%d good_errors=%d hostile_with_error=%d",
		len(srcs), hostile, len(kinds), nGood, goodHosts, period, time.Since(start).Round(time.Second), float64(rss)/1024, polls[0], polls[len(polls)/2], polls[len(polls)-1], expected, late, goodErrors, hostileErrors)
}
