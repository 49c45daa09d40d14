package sources

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"frontwire/internal/config"
)

// TestRunQueuesDueSources: sources due at once wait in the queue for
// slots: a stalled host never has more than its per-host limit of polls
// running, no more than MaxConcurrent run in all, every source of the
// other host is polled while the stalled one holds its slots, and the
// stalled host's queued sources are polled once it answers.
func TestRunQueuesDueSources(t *testing.T) {
	const slowN, fastN = 6, 10
	release := make(chan struct{})
	var slowIn, slowMax, allIn, allMax atomic.Int32
	peak := func(cur, hi *atomic.Int32) func() {
		n := cur.Add(1)
		for {
			m := hi.Load()
			if n <= m || hi.CompareAndSwap(m, n) {
				break
			}
		}
		return func() { cur.Add(-1) }
	}
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		defer peak(&slowIn, &slowMax)()
		defer peak(&allIn, &allMax)()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte(rss2))
	})
	fast := serve(t, func(w http.ResponseWriter, r *http.Request) {
		defer peak(&allIn, &allMax)()
		_, _ = w.Write([]byte(atom1))
	})
	fastURL := strings.Replace(fast.URL, "127.0.0.1", "localhost", 1)
	var srcs []config.Source
	for i := range slowN {
		srcs = append(srcs, config.Source{Name: fmt.Sprintf("slow-%d", i), URL: fmt.Sprintf("%s/%d", slow.URL, i), Schedule: "@every 1h"})
	}
	for i := range fastN {
		srcs = append(srcs, config.Source{Name: fmt.Sprintf("fast-%d", i), URL: fmt.Sprintf("%s/%d", fastURL, i), Schedule: "@every 1h"})
	}
	h := newHarness(t, nil, srcs, func(c *SchedulerConfig) { c.MaxConcurrent = 3; c.PerHostConcurrent = 2 })
	polled, stop := h.runObserved(slowN + fastN)
	timeout := time.After(30 * time.Second)
	for range fastN {
		select {
		case p := <-polled:
			if strings.HasPrefix(p.Source.Name, "slow") {
				t.Fatalf("%s polled while its host was stalled", p.Source.Name)
			}
		case <-timeout:
			t.Fatal("the fast host's sources waited for the stalled host")
		}
	}
	if n := slow.count(); n != 2 {
		t.Errorf("stalled host got %d requests, want its per-host limit of 2", n)
	}
	close(release)
	for range slowN {
		select {
		case <-polled:
		case <-timeout:
			t.Fatal("the stalled host's queued sources were not polled once it answered")
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if m := slowMax.Load(); m > 2 {
		t.Errorf("stalled host had %d requests at once, want at most 2", m)
	}
	if m := allMax.Load(); m > 3 {
		t.Errorf("%d requests at once, want at most MaxConcurrent 3", m)
	}
	if n := slow.count(); n != slowN {
		t.Errorf("stalled host asked %d times in all, want %d", n, slowN)
	}
}

// TestIdleAfterLastPoll: the Idle hook runs once the last queued poll of
// a cycle has finished, not while a poll still runs or waits.
func TestIdleAfterLastPoll(t *testing.T) {
	const n = 5
	release, arrived := make(chan struct{}), make(chan struct{}, n)
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte(rss2))
	})
	var srcs []config.Source
	for i := range n {
		srcs = append(srcs, config.Source{Name: fmt.Sprintf("s-%d", i), URL: fmt.Sprintf("%s/%d", slow.URL, i), Schedule: "@every 1h"})
	}
	var idles atomic.Int32
	idle := make(chan struct{}, n)
	h := newHarness(t, nil, srcs, func(c *SchedulerConfig) {
		c.MaxConcurrent = 2
		c.PerHostConcurrent = 2
		c.Idle = func() {
			idles.Add(1)
			idle <- struct{}{}
		}
	})
	polled, stop := h.runObserved(n)
	timeout := time.After(30 * time.Second)
	// Two polls hold the host; the other three wait in the queue.
	for range 2 {
		select {
		case <-arrived:
		case <-idle:
			t.Fatal("Idle while polls were running")
		case <-timeout:
			t.Fatal("the first polls never reached the server")
		}
	}
	select {
	case <-idle:
		t.Fatal("Idle while polls were running")
	default:
	}
	close(release)
	for range n {
		select {
		case <-polled:
		case <-timeout:
			t.Fatal("not every source was polled")
		}
	}
	select {
	case <-idle:
	case <-timeout:
		t.Fatal("Idle was not called after the last poll")
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if got := idles.Load(); got != 1 {
		t.Errorf("Idle called %d times in one cycle, want 1", got)
	}
}
