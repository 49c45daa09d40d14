// Package clock gives code that waits or stamps times an injectable source of
// time, so that tests drive time instead of sleeping.
package clock

import "time"

// Clock is the time source. Real wraps the time package; Fake is moved by
// tests.
type Clock interface {
	Now() time.Time
	// After sends the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// After is time.After.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }
