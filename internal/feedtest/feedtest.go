// Package feedtest is a fake news site for tests: one RSS 2.0 feed whose
// items the test sets, served over real HTTP. It is the counterpart of
// telegramtest and discordtest, a fake of a service outside Frontwire, so
// end-to-end tests drive the real fetcher and parser against it.
package feedtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Site serves one RSS 2.0 feed titled "Test Wire" whose items the test sets,
// and counts the requests it answers so a test can wait for the bot's next
// poll. The zero value is ready to use as an http.Handler.
type Site struct {
	mu       sync.Mutex
	items    []string
	requests int
	// changed is closed and replaced on every request, so waiters wake on
	// each poll without polling the counter themselves.
	changed chan struct{}
}

// NewServer starts a Site on a loopback httptest server that is closed when
// the test ends, and returns both; the feed's URL is the server's URL.
func NewServer(t testing.TB) (*Site, *httptest.Server) {
	t.Helper()
	s := &Site{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// Set replaces the feed's items, each one <item> element such as Item
// returns. Later requests serve them in the order given.
func (s *Site) Set(items ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append([]string(nil), items...)
}

// Feed is the RSS document the site serves now.
func (s *Site) Feed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.feedLocked()
}

func (s *Site) feedLocked() string {
	return `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test Wire</title><link>https://news.example/</link>` +
		strings.Join(s.items, "") + `</channel></rss>`
}

// ServeHTTP answers every request with the current feed and counts it.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body := s.feedLocked()
	s.requests++
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	_, _ = w.Write([]byte(body))
}

// Requests is how many requests the site has answered.
func (s *Site) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// watch returns the request count and a channel closed at the next request.
func (s *Site) watch() (int, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.requests, s.changed
}

// AwaitRequests blocks until the site has answered at least n requests, or
// ctx ends, in which case it returns ctx's error wrapped with the count.
func (s *Site) AwaitRequests(ctx context.Context, n int) error {
	for {
		got, ch := s.watch()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("feed fetched %d times, want %d: %w", got, n, ctx.Err())
		}
	}
}

// WaitRequests fails the test unless the site answers at least n requests
// within timeout, a failure bound rather than a sleep: it returns as soon as
// the n-th request arrives.
func (s *Site) WaitRequests(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.AwaitRequests(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// Item is one RSS <item> with guid as its guid and the last segment of its
// link. title and desc are inserted as XML as given: the caller escapes
// them. published is written in RFC 1123 form with a numeric zone, in UTC.
func Item(guid, title, desc string, published time.Time) string {
	return fmt.Sprintf(`<item><guid>%s</guid><title>%s</title><link>https://news.example/%s</link><description>%s</description><pubDate>%s</pubDate></item>`,
		guid, title, guid, desc, published.UTC().Format(time.RFC1123Z))
}

// HTMLItem is Item with desc wrapped in CDATA, as most feeds send their
// descriptions as HTML; desc must not contain "]]>".
func HTMLItem(guid, title, desc string, published time.Time) string {
	return Item(guid, title, "<![CDATA["+desc+"]]>", published)
}
