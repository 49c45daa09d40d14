package alerts

import (
	"context"
	"sync"
	"time"

	"frontwire/internal/clock"
)

// Rate is a sending limit: PerSecond sends on average, with at most Burst
// sent back to back. Burst below 1 counts as 1.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Per returns the Rate of n sends per period with a burst of one.
func Per(n float64, period time.Duration) Rate {
	return Rate{PerSecond: n / period.Seconds(), Burst: 1}
}

// bucket is a token bucket that hands out reservations: each send takes the
// next free slot on an absolute schedule, so late timers do not add up and
// bursts never exceed the bucket's size. It is the scheme of
// golang.org/x/time/rate, kept small and driven by an injected clock.
type bucket struct {
	mu           sync.Mutex
	rate         float64 // tokens per second
	burst        float64
	tokens       float64
	last         time.Time
	blockedUntil time.Time
}

func newBucket(r Rate, now time.Time) *bucket {
	burst := float64(r.Burst)
	if burst < 1 {
		burst = 1
	}
	return &bucket{rate: r.PerSecond, burst: burst, tokens: burst, last: now}
}

// reserve takes one token and returns how long the caller must wait before
// using it.
func (b *bucket) reserve(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return 0
	}
	if b.last.Before(b.blockedUntil) {
		// Nothing may go out before the block ends, and the platform
		// allows one send when it ends: the bucket holds one token then.
		// This holds too for the first caller at or after the end (a
		// dispatcher that slept exactly retry_after), or the token spent
		// on the refused attempt would delay the retry past the block.
		b.last = b.blockedUntil
		b.tokens = 1
	}
	if now.After(b.last) {
		b.tokens += now.Sub(b.last).Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
	b.tokens--
	var wait time.Duration
	if b.last.After(now) {
		wait = b.last.Sub(now)
	}
	if b.tokens < 0 {
		wait += time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	return wait
}

// block keeps the bucket from handing out tokens before until (a platform
// said to wait).
func (b *bucket) block(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
}

// wait reserves a token from each bucket in turn and sleeps on the clock
// until all of them allow the send.
func wait(ctx context.Context, clk clock.Clock, buckets ...*bucket) error {
	for _, b := range buckets {
		if b == nil {
			continue
		}
		d := b.reserve(clk.Now())
		if d <= 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clk.After(d):
		}
	}
	return nil
}
