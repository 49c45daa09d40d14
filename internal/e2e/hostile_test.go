package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// hostileKind is one way a feed server can misbehave.
type hostileKind struct {
	name string
	// handler serves the misbehaviour; hits counts requests.
	handler func(hits int) http.Handler
	// outcome is what the source's state must show after the run:
	// "error" (a last_error), "ok" (no error, a success), "any" (either,
	// as long as the bot stayed up) or "backoff" (an error and a next poll
	// at least half the scheduler's one-minute base backoff away; with
	// -long the run waits for the retry and wants "ok").
	outcome string
	// scheme, when "https", points the source at the plain server over TLS.
	scheme string
}

func validFeed(items ...string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Odd Wire</title><link>https://odd.example/</link>` + strings.Join(items, "") + `</channel></rss>`)
}

func writeFeed(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/rss+xml")
	_, _ = w.Write(body)
}

func hostileKinds() []hostileKind {
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	// Built once: the bodies are large and every poll gets the same bytes.
	var many strings.Builder
	for i := range 10000 {
		many.WriteString(feedtest.Item(fmt.Sprintf("m%05d", i), fmt.Sprintf("Routine item %d", i), "Nothing.", at))
	}
	manyItems := validFeed(many.String())
	hugeTitle := validFeed(feedtest.Item("huge", strings.Repeat("Long title word ", 1<<16), "x", at))
	badUTF8 := validFeed(feedtest.Item("utf", "Bad \xff\xfe bytes \xc3\x28 here", "\xed\xa0\x80 surrogate", at))
	control := validFeed(feedtest.Item("ctl", "Control \x01\x02\x1b[31m chars", "nul\x00byte", at))
	nested := []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>Deep</title><item><title>` +
		strings.Repeat("<b>", 100000) + "deep" + strings.Repeat("</b>", 100000) + `</title></item></channel></rss>`)
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`
	prev := "lol"
	for i := 1; i <= 9; i++ {
		laughs += fmt.Sprintf(`<!ENTITY lol%d "%s">`, i, strings.Repeat("&"+prev+";", 10))
		prev = fmt.Sprintf("lol%d", i)
	}
	laughs += `]><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><guid>x</guid></item></channel></rss>`
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>`))
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range 100 { // 100 MiB decoded, ten times the cap
		_, _ = zw.Write(chunk)
	}
	_ = zw.Close()
	gzipBomb := bomb.Bytes()

	static := func(status int, header map[string]string, body []byte) func(int) http.Handler {
		return func(int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(status)
				_, _ = w.Write(body)
			})
		}
	}
	return []hostileKind{
		{name: "http-500", outcome: "error", handler: static(500, nil, []byte("oops"))},
		{name: "http-429-retry-after", outcome: "error", handler: static(429, map[string]string{"Retry-After": "3600"}, nil)},
		{name: "redirect-loop", outcome: "error", handler: func(int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, r.URL.Path, http.StatusFound)
			})
		}},
		{name: "redirect-chain-5", outcome: "ok", handler: func(int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var n int
				fmt.Sscanf(r.URL.Query().Get("hop"), "%d", &n)
				if n < 5 {
					http.Redirect(w, r, fmt.Sprintf("%s?hop=%d", r.URL.Path, n+1), http.StatusMovedPermanently)
					return
				}
				writeFeed(w, validFeed(feedtest.Item("r1", "Redirected", "x", at)))
			})
		}},
		{name: "404-then-recover", outcome: "backoff", handler: func(int) http.Handler {
			var mu sync.Mutex
			seen := map[string]bool{}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				first := !seen[r.URL.Path]
				seen[r.URL.Path] = true
				mu.Unlock()
				if first {
					http.NotFound(w, r)
					return
				}
				writeFeed(w, validFeed(feedtest.Item("back", "Back again", "x", at)))
			})
		}},
		{name: "stall-after-headers", outcome: "error", handler: func(int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				w.WriteHeader(200)
				_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel>`))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})
		}},
		{name: "trickle-1-byte-per-second", outcome: "error", handler: func(int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				w.WriteHeader(200)
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					if _, err := w.Write([]byte("<")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-tick.C:
					}
				}
			})
		}},
		{name: "endless-body", outcome: "error", handler: func(int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				chunk := bytes.Repeat([]byte("a"), 64<<10)
				for written := 0; written < 1<<30; written += len(chunk) { // up to 1 GiB
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			})
		}},
		{name: "gzip-bomb", outcome: "error", handler: static(200, map[string]string{"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}, gzipBomb)},
		{name: "html-not-feed", outcome: "error", handler: static(200, map[string]string{"Content-Type": "text/html"}, []byte("<!doctype html><html><head><title>Welcome</title></head><body><p>Hello</p></body></html>"))},
		{name: "billion-laughs", outcome: "any", handler: static(200, map[string]string{"Content-Type": "application/rss+xml"}, []byte(laughs))},
		{name: "deep-nesting", outcome: "any", handler: static(200, map[string]string{"Content-Type": "application/rss+xml"}, nested)},
		{name: "10000-items", outcome: "any", handler: static(200, map[string]string{"Content-Type": "application/rss+xml"}, manyItems)},
		{name: "1MB-title", outcome: "any", handler: static(200, map[string]string{"Content-Type": "application/rss+xml"}, hugeTitle)},
		{name: "invalid-utf8", outcome: "any", handler: static(200, map[string]string{"Content-Type": "application/rss+xml"}, badUTF8)},
		{name: "control-chars", outcome: "any", handler: static(200, map[string]string{"Content-Type": "application/rss+xml"}, control)},
		{name: "tls-to-plain-http", outcome: "error", scheme: "https", handler: static(200, nil, validFeed())},
	}
}

// hitCounter counts requests and cancelled requests of one server.
type hitCounter struct {
	mu        sync.Mutex
	hits      int
	cancelled int
	changed   chan struct{}
}

func (h *hitCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.bump(func() { h.hits++ })
		next.ServeHTTP(w, r)
		if r.Context().Err() != nil {
			h.bump(func() { h.cancelled++ })
		}
	})
}

func (h *hitCounter) bump(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
	close(h.changed)
	h.changed = make(chan struct{})
}

// waitUntil waits until cond (called with h.mu held) holds.
func (h *hitCounter) waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		ok, ch := cond(), h.changed
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// listenOn starts handler on its own loopback address 127.0.0.n, so that
// each kind of misbehaviour is a separate host for the scheduler's
// per-host politeness, as it would be on the Internet.
func listenOn(t *testing.T, n int, handler http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", n))
	if err != nil {
		t.Fatalf("listen on 127.0.0.%d: %v", n, err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestHostileFeeds runs the bot with about a hundred misbehaving sources
// and one good one. The bot must stay up, the good source must keep its
// schedule and deliver, each bad source must carry a clear last_error, and
// the process's peak RSS is reported.
func TestHostileFeeds(t *testing.T) {
	perKind := 6
	if *long {
		perKind = 60
	}
	kinds := hostileKinds()
	tg := telegramtest.NewServer(t, telegramtest.Options{})
	good := &feedtest.Site{}
	goodSrv := listenOn(t, 250, good)

	var srcs []source
	counters := map[string]*hitCounter{}
	kindOf := map[string]hostileKind{}
	for i, k := range kinds {
		hc := &hitCounter{changed: make(chan struct{})}
		counters[k.name] = hc
		srv := listenOn(t, 10+i, hc.wrap(k.handler(0)))
		base := srv.URL
		if k.scheme == "https" {
			base = "https" + strings.TrimPrefix(base, "http")
		}
		n := perKind
		if k.name == "stall-after-headers" || k.name == "trickle-1-byte-per-second" {
			// Two per host poll at once: two sources are abandoned in
			// one 20 s fetch timeout, more would stretch the run.
			n = 2
		}
		for j := range n {
			name := fmt.Sprintf("%s-%02d", k.name, j)
			kindOf[name] = k
			srcs = append(srcs, source{Name: name, URL: fmt.Sprintf("%s/feed/%d", base, j)})
		}
	}
	srcs = append(srcs, source{Name: "Good Wire", URL: goodSrv.URL, Schedule: "@every 1s"})
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "frontwire.db")
	cfgPath := botConfig{
		DataDir: filepath.Join(dir, "data"), PollSchedule: "@every 2s",
		Telegram: true, TelegramURL: tg.URL(), Token: tg.Token(), MessagesPerSecond: 30,
		AllowPrivate: true, Sources: srcs,
	}.write(t, dir)

	p := startBot(t, nil, "run", "-config", cfgPath)
	tg.PushUpdate(command(1, 1, "private", "/subscribe Witkoff"))
	if _, err := tg.WaitSent(1, 30*time.Second); err != nil {
		t.Fatalf("subscribe: %v\n%s", err, p.out.String())
	}
	good.WaitRequests(t, 1, 30*time.Second)
	// Every misbehaving server has been asked, and the stalling ones were
	// given up on (the fetch timeout is 20 s).
	for name, hc := range counters {
		if name == "tls-to-plain-http" {
			continue // the handshake fails before any request reaches the handler
		}
		hc.waitUntil(t, name+" to be fetched", 60*time.Second, func() bool { return hc.hits > 0 })
	}
	for _, name := range []string{"stall-after-headers", "trickle-1-byte-per-second"} {
		hc := counters[name]
		hc.waitUntil(t, name+" to be abandoned", 60*time.Second, func() bool { return hc.cancelled > 0 })
	}
	if *long {
		// The 404 sources come back after their one-minute backoff.
		hc := counters["404-then-recover"]
		hc.waitUntil(t, "404 sources to be retried", 3*time.Minute, func() bool { return hc.hits >= 2*perKind })
		for name, k := range kindOf {
			if k.outcome == "backoff" {
				kindOf[name] = hostileKind{name: k.name, outcome: "ok"}
			}
		}
	}
	// Under all that, the good source still delivers promptly.
	pollsBefore := good.Requests()
	published := time.Now()
	good.Set(feedtest.Item("g1", "Witkoff story 01", "Talks.", time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)))
	sent, err := tg.WaitSent(2, 30*time.Second)
	if err != nil {
		t.Fatalf("good source's alert: %v\n%s", err, p.out.String())
	}
	latency := sent[1].At.Sub(published)
	good.WaitRequests(t, pollsBefore+5, 30*time.Second)
	goodPollSpan := time.Since(published)

	select {
	case <-p.done:
		t.Fatalf("bot exited: %v\n%s", p.err, p.out.String())
	default:
	}
	rss := p.peakRSSKiB(t)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 30*time.Second); err != nil || p.exitCode() != 0 {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.out.String())
	}
	if strings.Contains(p.out.String(), "panic") {
		t.Errorf("panic in output")
	}

	perKindResult := map[string][]string{}
	withDB(t, dbPath, func(db *storage.DB) {
		states, err := db.SourceStates()
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]storage.SourceState{}
		for _, s := range states {
			byName[s.Name] = s
		}
		for _, src := range srcs {
			k, hostile := kindOf[src.Name]
			st := byName[src.Name]
			if strings.Contains(st.LastError, "signal") {
				t.Errorf("%s: the shutdown was recorded as its failure: %q", src.Name, st.LastError)
			}
			if !hostile {
				if st.LastError != "" || st.Failures != 0 {
					t.Errorf("good source failing: %q", st.LastError)
				}
				continue
			}
			switch {
			case k.outcome == "error" && st.LastError == "":
				t.Errorf("%s: no last_error (state %+v)", src.Name, st)
			case k.outcome == "backoff" && (st.LastError == "" || st.NextPoll.Sub(st.LastAttempt) < 30*time.Second):
				t.Errorf("%s: no backoff: last_error %q, next poll %s after the attempt", src.Name, st.LastError, st.NextPoll.Sub(st.LastAttempt))
			case k.outcome == "ok" && (st.LastError != "" || st.LastSuccess.IsZero()):
				t.Errorf("%s: not recovered: last_error %q", src.Name, st.LastError)
			}
			res := "ok"
			if st.LastError != "" {
				res = "error: " + st.LastError
			} else if st.LastSuccess.IsZero() {
				res = "never polled"
				t.Errorf("%s: never polled", src.Name)
			}
			if k.outcome == "backoff" {
				res += fmt.Sprintf(" (next poll in %s)", st.NextPoll.Sub(st.LastAttempt).Round(time.Second))
			}
			perKindResult[k.name] = append(perKindResult[k.name], res)
		}
	})
	names := make([]string, 0, len(perKindResult))
	for n := range perKindResult {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("KIND %-26s %s", n, perKindResult[n][0])
	}
	t.Logf("FIGURE hostile: sources=%d (kinds=%d, %d of most + 1 good) peak_rss=%.1f MiB good_alert_latency=%s good_polls=5 in %s",
		len(srcs), len(kinds), perKind, float64(rss)/1024, latency.Round(time.Millisecond), goodPollSpan.Round(time.Millisecond))
}
