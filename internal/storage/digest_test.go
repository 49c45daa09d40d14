package storage

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/digest"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

// TestCommitPollHeldIffSeen: a held alert is written in the poll's
// transaction, so it exists exactly when its story is marked seen. A
// failing item rolls back the whole poll (nothing seen, nothing held), and
// a repeated poll holds nothing twice.
func TestCommitPollHeldIffSeen(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("telegram", "1")
	s := sub(a, "Witkoff")
	if err := db.AddSubscription(s); err != nil {
		t.Fatal(err)
	}
	st := story.Story{ID: "s1", Title: "Witkoff meets Putin", Link: "https://x.example/1"}
	bad := story.Story{ID: "s2", Title: "Witkoff again", Link: "https://x.example/2"}

	// The second item cannot be held (not an alert): the commit fails and
	// neither story is seen nor anything held.
	_, err := db.CommitPoll(SourceState{}, []NewStory{
		{Story: st, Held: []chat.Message{alertMsg(a, st, s.ID)}},
		{Story: bad, Held: []chat.Message{textMsg(a, "not an alert")}},
	})
	if err == nil {
		t.Fatal("CommitPoll with an unholdable message succeeded")
	}
	if unseen, _ := db.FilterUnseen([]story.Story{st, bad}); len(unseen) != 2 {
		t.Fatalf("after a failed commit %d of 2 stories unseen, want 2", len(unseen))
	}
	if h, _ := db.Held(a.Key()); len(h) != 0 {
		t.Fatalf("failed commit left %d held alerts", len(h))
	}

	for range 2 { // the second time the story is seen already
		if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: st, Held: []chat.Message{alertMsg(a, st, s.ID)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if unseen, _ := db.FilterUnseen([]story.Story{st}); len(unseen) != 0 {
		t.Fatal("story not marked seen")
	}
	h, err := db.Held(a.Key())
	if err != nil || len(h) != 1 || h[0].Alert.StoryID != "s1" || !h[0].Created.Equal(t0) {
		t.Fatalf("held = %+v, %v; want the one alert, stamped %s", h, err, t0)
	}
	if n, _ := db.OutboxLen(); n != 0 {
		t.Errorf("held alert also in the outbox (%d)", n)
	}
	// It survives a restart.
	db, _ = reopen(t, db)
	if h, _ := db.Held(a.Key()); len(h) != 1 {
		t.Errorf("after reopen %d held, want 1", len(h))
	}
}

func TestHeldGroupsAndFlush(t *testing.T) {
	db, clk := openTemp(t)
	a, b := addr("telegram", "1"), addr("discord", "9")
	s1, s2, s3 := sub(a, "Witkoff"), sub(a, "Kushner"), sub(b, "Witkoff")
	var items []NewStory
	for i, sb := range []*subscriptions.Subscription{s1, s2, s3, s1} {
		if i < 3 {
			if err := db.AddSubscription(sb); err != nil {
				t.Fatal(err)
			}
		}
		st := story.Story{ID: "s" + string(rune('a'+i)), Title: "story"}
		items = append(items, NewStory{Story: st, Held: []chat.Message{alertMsg(sb.Chat, st, sb.ID)}})
	}
	if _, err := db.CommitPoll(SourceState{}, items[:3]); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, err := db.CommitPoll(SourceState{}, items[3:]); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSubscription(s2.ID); err != nil {
		t.Fatal(err)
	}
	groups, err := db.HeldGroups()
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]digest.HeldGroup{
		s1.ID: {Chat: a.Key(), SubscriptionID: s1.ID, Oldest: t0, Count: 2},
		s2.ID: {Chat: a.Key(), SubscriptionID: s2.ID, Oldest: t0, Count: 1, Gone: true},
		s3.ID: {Chat: b.Key(), SubscriptionID: s3.ID, Oldest: t0, Count: 1},
	}
	if len(groups) != len(want) {
		t.Fatalf("groups %+v", groups)
	}
	for _, g := range groups {
		w := want[g.SubscriptionID]
		if g.Chat != w.Chat || g.Count != w.Count || g.Gone != w.Gone || !g.Oldest.Equal(w.Oldest) {
			t.Errorf("group %+v, want %+v", g, w)
		}
	}

	// Flushing s1 hands build its two alerts in held order, enqueues the
	// digest and removes them; the other chat's alerts stay.
	var got []string
	msgs, err := db.FlushHeld(a.Key(), []uint64{s1.ID}, func(held []chat.Message) []chat.Message {
		for _, m := range held {
			got = append(got, m.Alert.StoryID)
		}
		return []chat.Message{{To: a, Kind: chat.KindDigest, Digest: &chat.Digest{Title: "d", Items: []chat.DigestItem{{Title: "x"}}}}}
	})
	if err != nil || len(msgs) != 1 || msgs[0].Seq == 0 {
		t.Fatalf("FlushHeld = %+v, %v", msgs, err)
	}
	if len(got) != 2 || got[0] != "sa" || got[1] != "sd" {
		t.Errorf("build saw %v, want [sa sd]", got)
	}
	pending, _ := db.Pending()
	if len(pending) != 1 || pending[0].Kind != chat.KindDigest {
		t.Errorf("outbox %+v", pending)
	}
	// Dropping: build returns nothing.
	if _, err := db.FlushHeld(a.Key(), []uint64{s2.ID}, func([]chat.Message) []chat.Message { return nil }); err != nil {
		t.Fatal(err)
	}
	if h, _ := db.Held(a.Key()); len(h) != 0 {
		t.Errorf("chat a still holds %d", len(h))
	}
	if h, _ := db.Held(b.Key()); len(h) != 1 {
		t.Errorf("chat b holds %d, want 1", len(h))
	}
}

func TestCadenceAndChatSettings(t *testing.T) {
	db, _ := openTemp(t)
	s := sub(addr("telegram", "1"), "Witkoff")
	if err := db.AddSubscription(s); err != nil {
		t.Fatal(err)
	}
	if c, err := db.SubscriptionCadence(s.ID); err != nil || !c.IsInstant() {
		t.Fatalf("default cadence %+v, %v", c, err)
	}
	daily := digest.Cadence{Mode: digest.Daily, At: 480}
	if err := db.SetSubscriptionCadence(s.ID, daily); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.SubscriptionCadence(s.ID); c != daily {
		t.Errorf("cadence %+v, want %+v", c, daily)
	}
	if err := db.SetSubscriptionCadence(999, daily); !errors.Is(err, ErrNotFound) {
		t.Errorf("cadence of a missing subscription: %v, want ErrNotFound", err)
	}
	if err := db.SetSubscriptionCadence(s.ID, digest.Cadence{Mode: digest.Daily, At: 5000}); err == nil {
		t.Error("an invalid cadence was stored")
	}
	if err := db.SetSubscriptionCadence(s.ID, digest.Cadence{Mode: digest.Instant}); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.SubscriptionCadence(s.ID); !c.IsInstant() {
		t.Errorf("cadence after instant %+v", c)
	}

	cs := digest.ChatSettings{Timezone: "Europe/Kyiv", Quiet: &digest.Quiet{Start: 1380, End: 420}}
	if err := db.SetChatSettings("telegram:1", cs); err != nil {
		t.Fatal(err)
	}
	db, _ = reopen(t, db)
	got, err := db.ChatSettings("telegram:1")
	if err != nil || got.Timezone != "Europe/Kyiv" || got.Quiet == nil || *got.Quiet != *cs.Quiet {
		t.Fatalf("settings %+v, %v", got, err)
	}
	if other, _ := db.ChatSettings("telegram:12"); other != (digest.ChatSettings{}) {
		t.Errorf("another chat has settings %+v", other)
	}
}

// TestMigrateV2FileToV3 opens a file laid out as schema v2 (without the
// digest buckets): it is upgraded in place and opens read-only afterwards.
func TestMigrateV2FileToV3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets() {
			if name == bucketHeld || name == bucketCadence || name == bucketChatSettings {
				continue
			}
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(keySchemaVersion), u64(2))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, _ := openAt(t, path)
	if err := db.SetChatSettings("telegram:1", digest.ChatSettings{Timezone: "Europe/Kyiv"}); err != nil {
		t.Fatalf("settings on a migrated file: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("read-only open of the migrated file: %v", err)
	}
	defer ro.Close()
	if cs, err := ro.ChatSettings("telegram:1"); err != nil || cs.Timezone != "Europe/Kyiv" {
		t.Fatalf("settings %+v, %v", cs, err)
	}
}

// Cadences and chat settings are read from a copy in memory
// (settings_cache.go): it must follow every write, survive a reopen, and
// hand out values that do not share state.
func TestSettingsCopyFollowsWrites(t *testing.T) {
	db, _ := openTemp(t)
	s := sub(addr("telegram", "1"), "Witkoff")
	if err := db.AddSubscription(s); err != nil {
		t.Fatal(err)
	}
	early := digest.Cadence{Mode: digest.Daily, At: 60}
	if err := db.SetSubscriptionCadence(s.ID, early); err != nil {
		t.Fatal(err)
	}
	cs := digest.ChatSettings{Quiet: &digest.Quiet{Start: 60, End: 120}}
	if err := db.SetChatSettings("telegram:1", cs); err != nil {
		t.Fatal(err)
	}
	got, _ := db.ChatSettings("telegram:1")
	got.Quiet.Start = 999 // the caller's own copy
	if again, _ := db.ChatSettings("telegram:1"); again.Quiet == nil || again.Quiet.Start != 60 {
		t.Errorf("settings changed through a returned value: %+v", again.Quiet)
	}
	db, _ = reopen(t, db)
	if c, _ := db.SubscriptionCadence(s.ID); c != early {
		t.Errorf("cadence after reopen %+v, want %+v", c, early)
	}
	if err := db.SetChatSettings("telegram:1", digest.ChatSettings{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ChatSettings("telegram:1"); got != (digest.ChatSettings{}) {
		t.Errorf("settings after removal %+v", got)
	}
	db, _ = reopen(t, db)
	if got, _ := db.ChatSettings("telegram:1"); got != (digest.ChatSettings{}) {
		t.Errorf("settings after removal and reopen %+v", got)
	}
}
