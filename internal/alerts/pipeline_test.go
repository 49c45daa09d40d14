package alerts

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clusters"
	"frontwire/internal/config"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

func newPipeline(t *testing.T, subs ...subscriptions.Subscription) (*Pipeline, *storage.DB) {
	t.Helper()
	db := openDB(t)
	ix := subscriptions.NewIndex()
	for i, s := range subs {
		s.ID = uint64(i + 1)
		if err := ix.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return &Pipeline{Store: db, Matcher: ix}, db
}

func st(id, title string, published time.Time) story.Story {
	return story.Story{ID: id, Source: "Wire", Title: title, Link: "https://news.example/" + id, Published: published, FirstSeen: published}
}

var (
	chatA = chat.Address{Platform: "test", Chat: "a"}
	chatB = chat.Address{Platform: "test", Chat: "b"}
)

func TestPipelineOneAlertPerChatWithEveryMatchedTerm(t *testing.T) {
	p, db := newPipeline(t,
		subscriptions.Subscription{Chat: chatA, Query: "Witkoff"},
		subscriptions.Subscription{Chat: chatA, Query: "Kremlin talks"},
		subscriptions.Subscription{Chat: chatB, Query: "Kremlin"},
	)
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	poll := sources.Poll{Source: config.Source{Name: "Wire"}, State: storage.SourceState{Name: "Wire"}, Stories: []story.Story{
		st("1", "Witkoff holds Kremlin talks", t0),
		st("2", "Grain exports rise", t0),
	}}
	if err := p.Handle(context.Background(), poll); err != nil {
		t.Fatal(err)
	}
	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 {
		t.Fatalf("queued %d alerts, want one per chat (2): %+v", len(pending), pending)
	}
	a := pending[0].Alert
	if pending[0].To != chatA || a.SubscriptionID != 1 || fmt.Sprint(a.Matched) != "[witkoff kremlin talks]" {
		t.Errorf("chat a alert = %+v to %v", *a, pending[0].To)
	}
	if pending[1].To != chatB || pending[1].Alert.SubscriptionID != 3 {
		t.Errorf("chat b alert = %+v", pending[1])
	}
	state, err := db.SourceState("Wire")
	if err != nil || state.ItemsSeen != 2 {
		t.Errorf("source state = %+v, %v; want 2 items seen", state, err)
	}
	// The same poll again changes nothing: both stories are known.
	if err := p.Handle(context.Background(), poll); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.OutboxLen(); n != 2 {
		t.Errorf("outbox holds %d after a repeated poll, want 2", n)
	}
}

func TestPipelineFirstPollAlertsOnlyTheBackfill(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	stories := []story.Story{
		st("old", "Witkoff story from last week", t0.Add(-7*24*time.Hour)),
		st("new", "Witkoff story from today", t0),
		st("mid", "Witkoff story from yesterday", t0.Add(-24*time.Hour)),
	}
	for _, backfill := range []int{0, 1, 2} {
		t.Run(fmt.Sprint("backfill=", backfill), func(t *testing.T) {
			p, db := newPipeline(t, subscriptions.Subscription{Chat: chatA, Query: "Witkoff"})
			poll := sources.Poll{Source: config.Source{Name: "Wire", Backfill: backfill}, State: storage.SourceState{Name: "Wire"}, Stories: stories, First: true}
			if err := p.Handle(context.Background(), poll); err != nil {
				t.Fatal(err)
			}
			pending, _ := db.Pending()
			var titles []string
			for _, m := range pending {
				titles = append(titles, m.Alert.Title)
			}
			want := []string{"Witkoff story from today", "Witkoff story from yesterday"}[:backfill]
			if fmt.Sprint(titles) != fmt.Sprint(want) {
				t.Errorf("alerts %v, want the newest %d: %v", titles, backfill, want)
			}
			// Every story is marked seen either way: none alerts later.
			unseen, _ := db.FilterUnseen(stories)
			if len(unseen) != 0 {
				t.Errorf("%d stories still unseen after the first poll", len(unseen))
			}
		})
	}
}

// TestPipelineNotModifiedNotesState: a poll answered 304 stores the
// source's new state through the noted states (no transaction of its
// own), readable at once and in the file after Close.
func TestPipelineNotModifiedNotesState(t *testing.T) {
	p, db := newPipeline(t)
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	state := storage.SourceState{Name: "Wire", URL: "https://news.example/feed", ETag: `"v1"`, Initialized: true, LastSuccess: t0, NextPoll: t0.Add(10 * time.Minute)}
	if err := p.Handle(context.Background(), sources.Poll{Source: config.Source{Name: "Wire"}, State: state, NotModified: true}); err != nil {
		t.Fatal(err)
	}
	got, err := db.SourceState("Wire")
	if err != nil || !got.LastSuccess.Equal(t0) || got.ETag != `"v1"` {
		t.Fatalf("state after a 304: %+v, %v", got, err)
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.SourceState("Wire"); err != nil || !got.NextPoll.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("state after reopening: %+v, %v", got, err)
	}
}

// An alert's terms are the hit's own slice when it has no repeats; merging
// another hit's terms must then leave the matcher's array as it was.
func TestOwnTermsAndMerge(t *testing.T) {
	backing := []string{"gaza", "ceasefire", "kremlin"}
	first := backing[:2]
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{first, "[gaza ceasefire]"},
		{[]string{"gaza", "gaza", "talks"}, "[gaza talks]"},
		{nil, "[]"},
	} {
		if got := fmt.Sprint(ownTerms(tc.in)); got != tc.want {
			t.Errorf("ownTerms(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	merged := mergeTerms(ownTerms(first), []string{"witkoff"})
	if fmt.Sprint(merged) != "[gaza ceasefire witkoff]" || backing[2] != "kremlin" {
		t.Errorf("merge gave %q and left the matcher's array %q", merged, backing)
	}
}

// TestPipelineMergedClusterEditsTheChatsAlert: a chat alerted of one
// cluster gets an edit of that alert, not a second alert, when a story
// that merges its cluster into an older one arrives filed under the
// older one's ID, with the cluster policy the daemon wires
// (ClusterSet.Policy).
func TestPipelineMergedClusterEditsTheChatsAlert(t *testing.T) {
	for _, wired := range []bool{true, false} {
		t.Run(fmt.Sprint("policy wired ", wired), func(t *testing.T) {
			// The query leaves out the older cluster's first story, so
			// the chat's only record of the event is under the merged ID.
			p, db := newPipeline(t, subscriptions.Subscription{Chat: chatB, Query: "breakthrough -Ukraine"})
			t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
			set, err := LoadClusters(db, clusters.Config{}, t0)
			if err != nil {
				t.Fatal(err)
			}
			p.Clusters = set
			if wired {
				db.SetClusterPolicy(set.Policy(0))
			}
			// Two headlines too unlike to join, then one like both,
			// from three outlets (the titles of clusters' TestMerge).
			a := st("a", "Witkoff and Putin end Kremlin talks without breakthrough on Ukraine", t0)
			b := st("b", "Witkoff-Putin Kremlin talks end without breakthrough, Ushakov says", t0.Add(time.Minute))
			m := st("m", "Kremlin talks between Witkoff and Putin end with no breakthrough", t0.Add(2*time.Minute))
			a.Source, b.Source, m.Source = "Wire A", "Wire B", "Wire C"
			a.Link, b.Link, m.Link = "", "", "" // links' words would keep a and b apart
			for _, s := range []story.Story{a, b, m} {
				poll := sources.Poll{Source: config.Source{Name: s.Source}, State: storage.SourceState{Name: s.Source}, Stories: []story.Story{s}}
				if err := p.Handle(context.Background(), poll); err != nil {
					t.Fatal(err)
				}
			}
			pending, err := db.Pending()
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) != 2 || pending[0].Kind != chat.KindAlert || pending[0].Alert.StoryID != "b" {
				t.Fatalf("queued %+v, want b's alert first", pending)
			}
			bID := pending[0].Alert.ClusterID
			if root := set.c.Canonical(bID); root == bID || !slices.Equal(set.Merged(root), []string{bID}) {
				t.Fatalf("setup: b's cluster %s maps to %s, which lists %v as merged; want it merged into a's", bID, root, set.Merged(root))
			}
			second := pending[1]
			if wired && (second.Kind != chat.KindEdit || second.EditOf != pending[0].Seq) {
				t.Errorf("m queued as %q (edit of %d), want an edit of b's alert %d", second.Kind, second.EditOf, pending[0].Seq)
			}
			if !wired && second.Kind != chat.KindAlert {
				t.Errorf("without the policy m queued as %q; the test no longer tells the two apart", second.Kind)
			}
		})
	}
}
