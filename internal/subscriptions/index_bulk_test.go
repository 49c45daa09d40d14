package subscriptions_test

import (
	"errors"
	"testing"

	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

// TestBulkEqualsNaive loads generated subscriptions, a few of them invalid,
// through Bulk on several workers and checks the index against the full
// scan, its size, and the errors reported.
func TestBulkEqualsNaive(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run("", func(t *testing.T) {
			g := workload.New(7)
			subs := g.Subscriptions(5000)
			invalid := 0
			for i := range subs {
				if i%997 == 0 {
					subs[i].Query = `"unclosed`
					invalid++
				}
			}
			compiled := compileAll(subs)
			ix := subscriptions.NewIndex()
			ix.Grow(len(subs))
			b := ix.NewBulk(workers)
			for _, s := range subs {
				b.Add(s)
			}
			added, err := b.Close()
			if added != len(subs)-invalid || ix.Len() != added {
				t.Fatalf("added %d, Len %d, want %d", added, ix.Len(), len(subs)-invalid)
			}
			var qe *subscriptions.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("Close error = %v, want the invalid queries' *QueryError", err)
			}
			matchesNaive(t, ix, compiled, g.Stories(200))
		})
	}
}

// TestBulkRenumberKeepsAddRemove loads a bulk into an index that already
// holds subscriptions and free slots: Close renumbers every slot, so
// removing, replacing and adding subscriptions afterwards must still act
// on the right ones.
func TestBulkRenumberKeepsAddRemove(t *testing.T) {
	g := workload.New(11)
	subs := g.Subscriptions(5000)
	ix := subscriptions.NewIndex()
	live := map[uint64]subscriptions.Subscription{}
	for _, s := range subs[:1000] {
		if err := ix.Add(s); err != nil {
			t.Fatal(err)
		}
		live[s.ID] = s
	}
	for _, s := range subs[:100] {
		ix.Remove(s.ID) // free slots before the bulk
		delete(live, s.ID)
	}
	b := ix.NewBulk(2)
	for _, s := range subs[1000:] {
		b.Add(s)
		live[s.ID] = s
	}
	if _, err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs[100:] {
		switch i % 7 {
		case 0:
			ix.Remove(s.ID)
			delete(live, s.ID)
		case 1:
			s.Query = g.Query() // a replacement under the same ID
			if err := ix.Add(s); err != nil {
				t.Fatal(err)
			}
			live[s.ID] = s
		}
	}
	for _, s := range g.Subscriptions(300) {
		s.ID += 10000 // new IDs, into the freed slots and past them
		if err := ix.Add(s); err != nil {
			t.Fatal(err)
		}
		live[s.ID] = s
	}
	if ix.Len() != len(live) {
		t.Fatalf("Len %d, want %d", ix.Len(), len(live))
	}
	var all []subscriptions.Subscription
	for _, s := range live {
		all = append(all, s)
	}
	matchesNaive(t, ix, compileAll(all), g.Stories(200))
}

// matchesNaive fails t unless ix matches every story exactly as the naive
// evaluator does over compiled, and some story matches something.
func matchesNaive(t *testing.T, ix *subscriptions.Index, compiled []subscriptions.CompiledSub, stories []story.Story) {
	t.Helper()
	total := 0
	for _, st := range stories {
		d := subscriptions.NewDoc(&st)
		want := subscriptions.NaiveMatch(compiled, d)
		total += len(want)
		if got := ix.Match(d); !sameHits(got, want) {
			t.Fatalf("story %s: index %v, naive %v", st.ID, ids(got), ids(want))
		}
	}
	if total == 0 {
		t.Fatal("no story matched anything: the test proves nothing")
	}
}
