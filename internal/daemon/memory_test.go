package daemon

import (
	"context"
	"log/slog"
	"runtime/debug"
	"testing"
	"time"

	"frontwire/internal/clock"
)

func TestMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name        string
		live, floor int64
		want        int64
	}{
		{"small live heap: the floor", 20 * mib, 80 * mib, 80 * mib},
		{"at the crossing", 128 * mib / 3, 80 * mib, 80 * mib},
		{"live heap past the floor: 1.5 times it plus headroom", 100 * mib, 80 * mib, 166 * mib},
		{"large instance", 1000 * mib, 80 * mib, 1516 * mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MemoryLimit(tc.live, tc.floor); got != tc.want {
				t.Errorf("MemoryLimit(%d MiB, %d MiB) = %.1f MiB, want %d MiB", tc.live/mib, tc.floor/mib, float64(got)/mib, tc.want/mib)
			}
		})
	}
}

// TestKeepMemoryLimit: the keeper sets the runtime's limit from the live
// heap at once, and puts back the limit it found when it stops.
func TestKeepMemoryLimit(t *testing.T) {
	const floor = 1 << 40 // far above any live heap of this test
	before := debug.SetMemoryLimit(-1)
	clk := clock.NewFake(time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	d := &Daemon{log: slog.New(slog.DiscardHandler), clk: clk, memoryFloor: floor}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.keepMemoryLimit(ctx) }()
	clk.WaitForWaiters(1) // set once, waiting for the next interval
	if got := debug.SetMemoryLimit(-1); got != floor {
		t.Errorf("limit while running = %d, want the floor %d", got, floor)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after stopping = %d, want %d as before", got, before)
	}
}
