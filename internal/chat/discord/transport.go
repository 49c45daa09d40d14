package discord

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"frontwire/internal/clock"
)

// tokenBucket caps the rate of REST requests over the whole connection,
// below Discord's global limit. A request takes a token at once and, when
// the bucket is in debt, waits until its token would have been earned: that
// reservation keeps callers roughly in arrival order and never wakes them
// all at once.
type tokenBucket struct {
	clock clock.Clock
	rate  float64 // tokens per second
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newTokenBucket(c clock.Clock, rate, burst float64) *tokenBucket {
	if burst < 1 {
		burst = 1
	}
	return &tokenBucket{clock: c, rate: rate, burst: burst, tokens: burst, last: c.Now()}
}

// reserve takes a token and says how long the caller must wait before
// using it.
func (b *tokenBucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if el := now.Sub(b.last); el > 0 {
		b.tokens += el.Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// cancel gives back a token whose wait was abandoned.
func (b *tokenBucket) cancel() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens++
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
}

// Wait blocks until the caller may make one request, or ctx ends.
func (b *tokenBucket) Wait(ctx context.Context) error {
	d := b.reserve()
	if d <= 0 {
		return nil
	}
	select {
	case <-b.clock.After(d):
		return nil
	case <-ctx.Done():
		b.cancel()
		return ctx.Err()
	}
}

// transport is the RoundTripper on the session's HTTP client: it applies
// the global cap and, when an API URL is configured, sends every request
// there instead of discord.com. discordgo computes its endpoint URLs at
// package init, so rewriting the request is the only way to redirect it
// without touching the library.
type transport struct {
	base    http.RoundTripper
	limit   *tokenBucket // nil: no cap
	rewrite *url.URL     // nil: no rewrite
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.limit != nil && counted(req.URL.Path) {
		if err := t.limit.Wait(req.Context()); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, fmt.Errorf("discord: waiting for the global rate limit: %w", err)
		}
	}
	if t.rewrite != nil {
		// RoundTrippers must not modify the caller's request.
		req = req.Clone(req.Context())
		req.URL.Scheme = t.rewrite.Scheme
		req.URL.Host = t.rewrite.Host
		if p := strings.TrimSuffix(t.rewrite.Path, "/"); p != "" {
			req.URL.Path = p + req.URL.Path
			req.URL.RawPath = ""
		}
		req.Host = t.rewrite.Host
	}
	return t.base.RoundTrip(req)
}

// counted says whether a request counts against the global limit: Discord
// exempts interaction endpoints from it, and holding an interaction answer
// behind a queue of alerts could miss the 3-second deadline.
func counted(path string) bool {
	return !strings.Contains(path, "/interactions/") && !strings.Contains(path, "/webhooks/")
}
