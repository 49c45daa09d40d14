package daemon

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// DefaultMemoryLimit is the soft memory limit `bot run` gives the Go
// runtime when GOMEMLIMIT is not set: the floor of MemoryLimit.
//
// Without a limit the collector lets the heap grow to twice what is live
// and returns freed pages to the system slowly: on the pipeline
// benchmark's `bot run` (1,000 sources, 1,000 subscriptions) that is
// about 100 MB anonymous for about 45 MB live. At 80 MiB it is about
// 72 MB, for about 13% more CPU; at 64 MiB the collector ran nearly
// without pause and the CPU doubled (docs/PERFORMANCE.md).
const DefaultMemoryLimit = 80 << 20

// memoryHeadroom is what the limit leaves above the live heap (×1.5) for
// stacks, the runtime's own structures and a burst of polls.
const memoryHeadroom = 16 << 20

// memoryInterval is how often the limit follows the live heap.
const memoryInterval = 30 * time.Second

// releaseMap drops the database file's pages from the process's memory
// map every memoryInterval (storage.DB.ReleaseMap), as the scheduler's
// Idle hook does at the end of every poll cycle: bbolt reads through a map
// of the whole file, and without this every page a busy cycle (or the
// dispatcher, or a command) touched stays in the resident set, though the
// kernel keeps it cached either way. A failure is logged and tried again
// at the next interval.
func (d *Daemon) releaseMap(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.clk.After(memoryInterval):
		}
		if err := d.DB.ReleaseMap(); err != nil {
			d.log.Warn("release database map", slog.Any("err", err))
		}
	}
}

// freeInterval is how often cycleDone may return freed heap to the
// system: each time costs a full collection.
const freeInterval = 30 * time.Second

// cycleDone is the scheduler's Idle hook: at the end of a poll cycle it
// gives back what the cycle used. The database pages it mapped are
// released at once (cheap: the kernel keeps them cached), and, at most
// every freeInterval, the heap the cycle freed is returned to the system
// (debug.FreeOSMemory): otherwise the runtime keeps up to twice the live
// heap resident between cycles (GOGC=100) and returns the rest slowly.
// On the pipeline benchmark's `bot run` (1,000 sources) it took the
// anonymous memory between cycles from 37.6–38.4 MB to 22.0–22.8 MB
// (docs/PERFORMANCE.md, "Resident memory between cycles").
func (d *Daemon) cycleDone() {
	if err := d.DB.ReleaseMap(); err != nil {
		d.log.Warn("release database map", slog.Any("err", err))
	}
	now := d.clk.Now().UnixNano()
	last := d.lastFree.Load()
	if now-last < int64(freeInterval) || !d.lastFree.CompareAndSwap(last, now) {
		return
	}
	debug.FreeOSMemory()
}

// MemoryLimit is the soft limit for a live heap of live bytes: floor, or
// more once the live heap outgrows it (1.5 times the live heap plus
// 16 MiB), so that a large instance (many subscriptions, a long
// clustering window) is never held to a limit its live data alone nearly
// fills, where the collector would run without pause.
func MemoryLimit(live, floor int64) int64 {
	return max(floor, live+live/2+memoryHeadroom)
}

// liveHeap is the heap the last collection found live.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// keepMemoryLimit sets the runtime's soft memory limit to
// MemoryLimit(live heap, floor) now and every memoryInterval until ctx
// is done, then puts back the limit it found. It runs only when
// Options.MemoryLimit is set.
func (d *Daemon) keepMemoryLimit(ctx context.Context) error {
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	logged := int64(0)
	for {
		limit := MemoryLimit(liveHeap(), d.memoryFloor)
		debug.SetMemoryLimit(limit)
		// Logged when first set and when it has moved by an eighth.
		if limit > logged+logged/8 || limit < logged-logged/8 {
			d.log.Info("memory limit", slog.Int64("bytes", limit))
			logged = limit
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.clk.After(memoryInterval):
		}
	}
}
