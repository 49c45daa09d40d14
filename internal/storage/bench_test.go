package storage

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/cputime"
	"frontwire/internal/subscriptions"
)

func benchSubs(n int) []*subscriptions.Subscription {
	subs := make([]*subscriptions.Subscription, n)
	for i := range subs {
		subs[i] = &subscriptions.Subscription{
			Chat:      chat.Address{Platform: "telegram", Chat: fmt.Sprint(-1000000 - i%20000)},
			Query:     fmt.Sprintf("Ukraine peace %d OR Witkoff", i),
			CreatedBy: fmt.Sprint(100000 + i),
			Created:   t0,
		}
	}
	return subs
}

var benchSizes = []int{100_000, 1_000_000}

// BenchmarkAddSubscriptions loads n subscriptions into a fresh file in one
// call. Run one size at a time, e.g. -bench 'AddSubscriptions/n=100000$'.
func BenchmarkAddSubscriptions(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			subs := benchSubs(n)
			b.ReportAllocs()
			var cpu time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				db, err := Open(filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.db", i)), Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c := cputime.Process()
				if err := db.AddSubscriptions(subs); err != nil {
					b.Fatal(err)
				}
				cpu += cputime.Process() - c
				b.StopTimer()
				_ = db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkForEachSubscription reads n stored subscriptions, as start-up
// does to build the index.
func BenchmarkForEachSubscription(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.AddSubscriptions(benchSubs(n)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			c := cputime.Process()
			for b.Loop() {
				count := 0
				if err := db.ForEachSubscription(func(*subscriptions.Subscription) error {
					count++
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if count != n {
					b.Fatalf("read %d, want %d", count, n)
				}
			}
			b.ReportMetric(float64((cputime.Process()-c).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
