package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
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

// filledDB opens a database holding n subscriptions.
func filledDB(t *testing.T, clk clock.Clock, n int) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "frontwire.db"), storage.Options{NoSync: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	subs := make([]*subscriptions.Subscription, n)
	for i := range subs {
		subs[i] = &subscriptions.Subscription{Chat: chat.Address{Platform: "telegram", Chat: fmt.Sprint(i)},
			Query: fmt.Sprintf("Witkoff peace plan %d", i)}
	}
	if err := db.AddSubscriptions(subs); err != nil {
		t.Fatal(err)
	}
	return db
}

// mapResident reads db's resident map size, after reading every
// subscription through the map when read is set.
func mapResident(t *testing.T, db *storage.DB, read bool, n int) int64 {
	t.Helper()
	if read {
		c := 0
		if err := db.ForEachSubscription(func(*subscriptions.Subscription) error { c++; return nil }); err != nil {
			t.Fatal(err)
		}
		if c != n {
			t.Fatalf("%d subscriptions read, want %d", c, n)
		}
	}
	b, err := db.MapResident()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReleaseMap: every interval the daemon drops the database file's
// pages from its map, and the data reads back the same.
func TestReleaseMap(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	const n = 20_000
	db := filledDB(t, clk, n)
	d := &Daemon{DB: db, log: slog.New(slog.DiscardHandler), clk: clk}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.releaseMap(ctx) }()
	clk.WaitForWaiters(1)
	before := mapResident(t, db, true, n)
	if before < 1<<20 {
		t.Fatalf("only %d bytes of the database resident after reading it: the test proves nothing", before)
	}
	clk.Advance(memoryInterval)
	clk.WaitForWaiters(1) // released, waiting for the next interval
	if after := mapResident(t, db, false, n); after > before/4 {
		t.Fatalf("resident map %d bytes before the interval, %d after", before, after)
	}
	mapResident(t, db, true, n) // everything reads back after the release
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// forcedGCs is how many collections the program forced so far
// (debug.FreeOSMemory forces one).
func forcedGCs() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestCycleDone: the end of a poll cycle releases the database map every
// time, and returns freed memory to the system at most every
// freeInterval.
func TestCycleDone(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	const n = 20_000
	db := filledDB(t, clk, n)
	d := &Daemon{DB: db, log: slog.New(slog.DiscardHandler), clk: clk}
	for i, step := range []struct {
		advance time.Duration
		free    bool
	}{{0, true}, {time.Second, false}, {freeInterval, true}, {0, false}} {
		clk.Advance(step.advance)
		before := mapResident(t, db, true, n)
		if before < 1<<20 {
			t.Fatalf("step %d: only %d bytes of the database resident after reading it: the test proves nothing", i, before)
		}
		gcs := forcedGCs()
		d.cycleDone()
		if after := mapResident(t, db, false, n); after > before/4 {
			t.Errorf("step %d: resident map %d bytes before cycleDone, %d after", i, before, after)
		}
		if freed := forcedGCs() > gcs; freed != step.free {
			t.Errorf("step %d (%v later): memory returned = %v, want %v", i, step.advance, freed, step.free)
		}
	}
}
