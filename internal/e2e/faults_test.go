package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// chatFault is one way the Telegram Bot API (or a proxy in front of it)
// can fail a sendMessage call.
type chatFault int

const (
	faultNone chatFault = iota
	// faultHold keeps the request open without answering, longer than the
	// bot's 30 s request timeout, and never passes it on: the message was
	// not delivered, and the bot cannot know that.
	faultHold
	// fault5xx answers Bot API JSON errors 500 and 503 in turn.
	fault5xx
	// faultHTML answers a proxy's HTML page, with 200 and 502 in turn.
	faultHTML
	// fault429 answers 429 with retry_after, as Telegram does when flooded.
	fault429
)

func (f chatFault) String() string {
	return [...]string{"none", "timeout", "5xx", "html-page", "429"}[f]
}

// faultyAPI is a reverse proxy in front of the fake Telegram server that
// fails sendMessage with the fault currently set and passes everything else
// through. It is the test's stand-in for Telegram having a bad hour.
type faultyAPI struct {
	srv     *httptest.Server
	proxy   *httputil.ReverseProxy
	release chan struct{} // closed when the test ends, freeing held requests

	mu        sync.Mutex
	fault     chatFault
	faulted   int // sendMessage calls answered with a fault
	abandoned int // held calls the bot gave up on
	changed   chan struct{}
}

func newFaultyAPI(t *testing.T, upstream string) *faultyAPI {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyAPI{proxy: httputil.NewSingleHostReverseProxy(u), release: make(chan struct{}), changed: make(chan struct{})}
	f.srv = httptest.NewServer(f)
	// Cleanups run last-in first-out: free the held requests, then close.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.release) })
	return f
}

func (f *faultyAPI) set(fault chatFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
}

func (f *faultyAPI) bumpLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// counts returns the faulted and abandoned counters.
func (f *faultyAPI) counts() (faulted, abandoned int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faulted, f.abandoned
}

// waitUntil waits until cond, called with the counters, holds.
func (f *faultyAPI) waitUntil(t *testing.T, what string, timeout time.Duration, cond func(faulted, abandoned int) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		f.mu.Lock()
		ok, ch := cond(f.faulted, f.abandoned), f.changed
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			faulted, abandoned := f.counts()
			t.Fatalf("timed out waiting for %s (faulted=%d abandoned=%d)", what, faulted, abandoned)
		}
	}
}

func (f *faultyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/sendMessage") {
		f.proxy.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	fault := f.fault
	n := f.faulted
	if fault != faultNone {
		f.faulted++
		f.bumpLocked()
	}
	f.mu.Unlock()
	switch fault {
	case faultNone:
		f.proxy.ServeHTTP(w, r)
	case faultHold:
		// The server notices the client hanging up only once the body
		// has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			f.mu.Lock()
			f.abandoned++
			f.bumpLocked()
			f.mu.Unlock()
		case <-f.release:
		}
	case fault5xx:
		code, desc := 500, "Internal Server Error"
		if n%2 == 1 {
			code, desc = 503, "Service Unavailable"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":%q}`, code, desc)
	case faultHTML:
		code := 200
		if n%2 == 1 {
			code = 502
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>nginx</p></body></html>`)
	case fault429:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}}`)
	}
}

// distinctItems returns feed items for stories first…last, each matching
// "Witkoff" and numbered so tally can count them. Their other words are
// unique to each story so that the bot's clustering never takes two of
// them for one event (which would rightly send one alert, not two).
func distinctItems(first, last int) []string {
	base := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	var items []string
	for i := first; i <= last; i++ {
		var words []string
		for w := range 6 {
			words = append(words, fmt.Sprintf("%c%c%03dq", 'a'+w, 'k'+i%13, i))
		}
		items = append(items, feedtest.Item(fmt.Sprintf("s%03d", i), fmt.Sprintf("Witkoff story %02d %s", i, strings.Join(words, " ")),
			fmt.Sprintf("Envoy item %d: %s.", i, strings.Join(words, " ")), base.Add(time.Duration(i)*time.Minute)))
	}
	return items
}

// TestChatAPIFaults runs the bot against a Telegram that, while stories
// arrive, times out, answers 5xx, answers an HTML page or rate-limits for a
// long time. Nothing may be delivered while the fault lasts (the alerts
// wait in the outbox), and once it clears every chat must get every alert
// exactly once, leaving the outbox empty.
func TestChatAPIFaults(t *testing.T) {
	const chats, stories = 10, 3
	cases := []struct {
		fault chatFault
		// The fault lasts at least this long and until every chat's send
		// was faulted minFaults times (the timeout: until every chat's
		// send was abandoned by the bot).
		last      time.Duration
		minFaults int
	}{
		{faultHold, 0, 1},
		{fault5xx, 8 * time.Second, 3},
		{faultHTML, 5 * time.Second, 2},
		{fault429, 15 * time.Second, 4},
	}
	for _, tc := range cases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			tg := telegramtest.NewServer(t, telegramtest.Options{})
			api := newFaultyAPI(t, tg.URL())
			site := &feedtest.Site{}
			feed := httptest.NewServer(site)
			defer feed.Close()
			dir := t.TempDir()
			cfgPath := botConfig{
				DataDir: filepath.Join(dir, "data"), Telegram: true, TelegramURL: api.srv.URL, Token: tg.Token(),
				MessagesPerSecond: 30, AllowPrivate: true,
				Sources: []source{{Name: "Test Wire", URL: feed.URL}},
			}.write(t, dir)
			p := startBot(t, nil, "run", "-config", cfgPath)
			for u := int64(1); u <= chats; u++ {
				tg.PushUpdate(command(u, u, "private", "/subscribe Witkoff"))
			}
			if _, err := tg.WaitSent(chats, 30*time.Second); err != nil {
				t.Fatalf("subscribing: %v\n%s", err, p.out.String())
			}
			site.WaitRequests(t, 1, 30*time.Second)

			api.set(tc.fault)
			faultStart := time.Now()
			site.Set(distinctItems(1, stories)...)
			if tc.fault == faultHold {
				api.waitUntil(t, "every chat's send to time out", 60*time.Second, func(_, abandoned int) bool { return abandoned >= chats })
			} else {
				api.waitUntil(t, "the fault to be hit", 60*time.Second, func(faulted, _ int) bool { return faulted >= tc.minFaults*chats })
				// How long the fault lasts is the experiment, not a wait
				// for something to happen.
				if rest := tc.last - time.Since(faultStart); rest > 0 {
					select {
					case <-time.After(rest):
					case <-p.done:
						t.Fatalf("bot exited during the fault: %v\n%s", p.err, p.out.String())
					}
				}
			}
			during := tally(tg.Sent()).unique
			api.set(faultNone)
			faultLasted := time.Since(faultStart)
			faulted, abandoned := api.counts()

			want := chats * stories
			for {
				sent := tg.Sent()
				if tally(sent).unique >= want {
					break
				}
				if _, err := tg.WaitSent(len(sent)+1, 20*time.Second); err != nil {
					// Stop it and show where the missing alerts are.
					_ = p.cmd.Process.Signal(syscall.SIGTERM)
					<-p.done
					withDB(t, filepath.Join(dir, "data", "frontwire.db"), func(db *storage.DB) {
						n, _ := db.OutboxLen()
						dl, _ := db.DeadLetters()
						t.Logf("stalled: outbox=%d dead_letters=%d edits=%d", n, len(dl), len(tg.Edits()))
					})
					t.Fatalf("after the fault: %d of %d alerts: %v\n%s", tally(tg.Sent()).unique, want, err, p.out.String())
				}
			}
			drained := time.Since(faultStart) - faultLasted
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.wait(t, 15*time.Second); err != nil || p.exitCode() != 0 {
				t.Errorf("exit after SIGTERM: %v\n%s", err, p.out.String())
			}
			var left int
			withDB(t, filepath.Join(dir, "data", "frontwire.db"), func(db *storage.DB) {
				var err error
				if left, err = db.OutboxLen(); err != nil {
					t.Fatal(err)
				}
			})
			d := tally(tg.Sent())
			perChatOK := 0
			for c := int64(1); c <= chats; c++ {
				if got := len(d.perChat[fmt.Sprint(c)]); got == stories {
					perChatOK++
				} else {
					t.Errorf("chat %d got %d alerts, want %d: %v", c, got, stories, d.perChat[fmt.Sprint(c)])
				}
			}
			if during != 0 {
				t.Errorf("%d alerts counted as delivered while every send failed", during)
			}
			if d.dupes != 0 {
				t.Errorf("%d duplicates", d.dupes)
			}
			if left != 0 {
				t.Errorf("%d messages left in the outbox", left)
			}
			if strings.Contains(p.out.String(), "panic") {
				t.Errorf("panic in output:\n%s", p.out.String())
			}
			if !strings.Contains(p.out.String(), "send failed; will retry") && !strings.Contains(p.out.String(), "rate limited") {
				t.Errorf("the fault was not logged:\n%s", p.out.String())
			}
			t.Logf("FIGURE chat-fault %s: fault lasted %s, sendMessage faulted=%d (abandoned by the bot's timeout=%d), delivered during fault=%d, alerts=%d delivered=%d duplicates=%d chats with all %d=%d/%d outbox_left=%d drained %s after the fault cleared",
				tc.fault, faultLasted.Round(100*time.Millisecond), faulted, abandoned, during, want, d.unique, d.dupes, stories, perChatOK, chats, left, drained.Round(100*time.Millisecond))
		})
	}
}
