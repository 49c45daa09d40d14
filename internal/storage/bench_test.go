package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// benchClusterPoll is one poll of 50 new stories, each alerting 21 chats
// of nchats as the pipeline benchmark's stories do, each story its own
// cluster: a chat's first alert of each, so every alert writes a cluster
// record. Chats are drawn with a skew (chat i about 1/(i+1) as often), as
// the workload's, where a few chats get most alerts.
func benchClusterPoll(rng *rand.Rand, poll, nchats int) []NewStory {
	items := make([]NewStory, 50)
	for i := range items {
		id := fmt.Sprintf("p%d-s%d", poll, i)
		s := mkStory(id, "https://example.com/"+id, "Story "+id)
		cid := fmt.Sprintf("%016x", rng.Uint64())
		for range 21 {
			c := int(float64(nchats) * math.Pow(rng.Float64(), 3))
			items[i].Messages = append(items[i].Messages, clusteredAlert(chat.Address{Platform: "telegram", Chat: fmt.Sprint(-1000000 - c)}, s, cid, time.Time{}))
		}
		items[i].Story = s
	}
	return items
}

// BenchmarkCommitPollClustered commits polls of clustered alerts into a
// file already holding records=N cluster records, with each cluster
// policy: none and Merged (listing no IDs).
// Reported per alert. Run one case at a time, e.g. -bench
// 'CommitPollClustered/records=100000/policy=none$' -benchtime 20x.
func BenchmarkCommitPollClustered(b *testing.B) {
	none := func(string) []string { return nil }
	for _, records := range []int{100_000, 1_000_000} {
		for _, pc := range []struct {
			name   string
			policy ClusterPolicy
		}{{"none", ClusterPolicy{}}, {"merged", ClusterPolicy{Merged: none}}} {
			b.Run(fmt.Sprintf("records=%d/policy=%s", records, pc.name), func(b *testing.B) {
				db, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				rng := rand.New(rand.NewPCG(1, 2))
				const nchats = 700
				poll := 0
				for ; poll*50*21 < records; poll++ {
					if _, err := db.CommitPoll(SourceState{}, benchClusterPoll(rng, poll, nchats)); err != nil {
						b.Fatal(err)
					}
				}
				db.SetClusterPolicy(pc.policy)
				b.ReportAllocs()
				var cpu time.Duration
				alerts := 0
				for b.Loop() {
					b.StopTimer()
					items := benchClusterPoll(rng, poll, nchats)
					poll++
					b.StartTimer()
					c := cputime.Process()
					q, err := db.CommitPoll(SourceState{}, items)
					if err != nil {
						b.Fatal(err)
					}
					cpu += cputime.Process() - c
					alerts += len(q)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(alerts, 1)), "ns/alert")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
