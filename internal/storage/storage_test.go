package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// openAt opens a database at path with a fake clock, closing it at the end
// of the test unless the test closed it already.
func openAt(t testing.TB, path string) (*DB, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	db, err := Open(path, Options{NoSync: true, Clock: clk, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, clk
}

func openTemp(t testing.TB) (*DB, *clock.Fake) {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "frontwire.db"))
}

func reopen(t testing.TB, db *DB) (*DB, *clock.Fake) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openAt(t, db.Path())
}

func addr(platform, id string) chat.Address { return chat.Address{Platform: platform, Chat: id} }

func sub(a chat.Address, q string) *subscriptions.Subscription {
	return &subscriptions.Subscription{Chat: a, Query: q, CreatedBy: "u1", Created: t0}
}

func textMsg(a chat.Address, text string) chat.Message {
	return chat.Message{To: a, Kind: chat.KindText, Text: text}
}

func alertMsg(a chat.Address, s story.Story, subID uint64) chat.Message {
	return chat.Message{To: a, Kind: chat.KindAlert, Alert: &chat.Alert{
		StoryID: s.ID, Source: s.Source, Title: s.Title, Link: s.Link, SubscriptionID: subID,
	}}
}

func mkStory(id, link, title string) story.Story {
	return story.Story{ID: id, Source: "bbc", Title: title, Link: link, Published: t0}
}

func seqs(msgs []chat.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func subIDs(subs []*subscriptions.Subscription) []uint64 {
	out := make([]uint64, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "deep", "frontwire.db")
	db, _ := openAt(t, path)
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode %o, want 600", got)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o700 {
		t.Errorf("dir mode %o, want 700", got)
	}
}

// TestPing checks the health probe's answer: nil while the file is open,
// an error naming the file once it is closed.
func TestPing(t *testing.T) {
	db, _ := openTemp(t)
	if err := db.Ping(); err != nil {
		t.Fatalf("open: Ping() = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := db.Ping()
	if err == nil || !strings.Contains(err.Error(), db.Path()) {
		t.Fatalf("closed: Ping() = %v, want an error naming %s", err, db.Path())
	}
}

func TestOpenSecondTimeIsLocked(t *testing.T) {
	db, _ := openTemp(t)
	// bbolt locks with flock, which belongs to the open file description:
	// a second Open, even in this process, must wait and then give up.
	start := time.Now()
	db2, err := Open(db.Path(), Options{Timeout: 100 * time.Millisecond})
	if err == nil {
		_ = db2.Close()
		t.Fatal("second Open succeeded while the first holds the file")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), db.Path()) {
		t.Errorf("error %q does not name the path", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("gave up after %s, want about the 100ms timeout", waited)
	}
	// A read-only open takes a shared lock, which the writer's excludes too.
	if ro, err := Open(db.Path(), Options{ReadOnly: true, Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		if err == nil {
			_ = ro.Close()
		}
		t.Fatalf("read-only Open beside a writer: %v, want ErrLocked", err)
	}
	// Once the first closes, the file opens again.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db3, err := Open(db.Path(), Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	_ = db3.Close()
}

func TestOpenUnwritablePlace(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("parent is a file", func(t *testing.T) {
		path := filepath.Join(blocker, "sub", "frontwire.db")
		_, err := Open(path, Options{Timeout: 100 * time.Millisecond})
		if err == nil {
			t.Fatal("Open under a file succeeded")
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("error %q should name the path and say a parent is not a directory", err)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes into read-only directories; covered by the parent-is-a-file case")
		}
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(ro, "frontwire.db")
		_, err := Open(path, Options{Timeout: 100 * time.Millisecond})
		if !errors.Is(err, os.ErrPermission) {
			t.Fatalf("Open in read-only dir: %v, want a permission error", err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the path", err)
		}
	})
	t.Run("empty path", func(t *testing.T) {
		if _, err := Open("", Options{}); err == nil {
			t.Fatal("Open(\"\") succeeded")
		}
	})
}

// setRaw opens the file with bbolt directly to plant what another program
// or version would have written.
func setRaw(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesForeignOrNewerFiles(t *testing.T) {
	t.Run("schema too new", func(t *testing.T) {
		db, _ := openTemp(t)
		path := db.Path()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		setRaw(t, path, func(tx *bolt.Tx) error {
			return bucket(tx, bucketMeta).Put([]byte(keySchemaVersion), u64(SchemaVersion+1))
		})
		for _, ro := range []bool{false, true} {
			_, err := Open(path, Options{ReadOnly: ro, Timeout: 100 * time.Millisecond})
			if !errors.Is(err, ErrSchemaTooNew) {
				t.Fatalf("Open(ReadOnly=%t): %v, want ErrSchemaTooNew", ro, err)
			}
			want := fmt.Sprintf("database schema v%d is newer than this Frontwire (v%d); upgrade Frontwire", SchemaVersion+1, SchemaVersion)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
	t.Run("other program's bbolt file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		setRaw(t, path, func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("widgets"))
			return err
		})
		if _, err := Open(path, Options{Timeout: 100 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "not a Frontwire database") {
			t.Fatalf("Open of a foreign file: %v, want not a Frontwire database", err)
		}
	})
	t.Run("not bbolt at all", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "junk.db")
		if err := os.WriteFile(path, bytes.Repeat([]byte("junk"), 2048), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, Options{Timeout: 100 * time.Millisecond}); err == nil {
			t.Fatal("Open of a junk file succeeded")
		}
	})
}

func TestReadOnly(t *testing.T) {
	db, _ := openTemp(t)
	if err := db.Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open read-only: %v", err)
	}
	defer ro.Close()
	if v, err := ro.Get("k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if err := ro.Put("k", []byte("w")); err == nil {
		t.Fatal("Put on a read-only database succeeded")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.db"), Options{ReadOnly: true, Timeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("read-only Open of a missing file succeeded")
	}
}

func TestSubscriptionCRUD(t *testing.T) {
	db, _ := openTemp(t)
	a, b := addr("telegram", "1"), addr("telegram", "12")
	s1, s2, s3 := sub(a, "Ukraine peace"), sub(b, "Witkoff"), sub(a, "tariffs")
	for _, s := range []*subscriptions.Subscription{s1, s2, s3} {
		if err := db.AddSubscription(s); err != nil {
			t.Fatal(err)
		}
	}
	if !equalU64([]uint64{s1.ID, s2.ID, s3.ID}, []uint64{1, 2, 3}) {
		t.Fatalf("IDs %d %d %d, want 1 2 3", s1.ID, s2.ID, s3.ID)
	}
	got, err := db.Subscription(s2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Query != "Witkoff" || got.Chat != b || got.CreatedBy != "u1" || !got.Created.Equal(t0) {
		t.Errorf("Subscription(2) = %+v", got)
	}
	// "telegram:1" must not pick up "telegram:12".
	if subs, _ := db.ChatSubscriptions(a.Key()); !equalU64(subIDs(subs), []uint64{1, 3}) {
		t.Errorf("ChatSubscriptions(%s) = %v, want [1 3]", a.Key(), subIDs(subs))
	}

	// Update moves it to another chat and keeps the index right.
	s1.Chat = b
	s1.Query = "Ukraine ceasefire"
	if err := db.UpdateSubscription(s1); err != nil {
		t.Fatal(err)
	}
	if subs, _ := db.ChatSubscriptions(a.Key()); !equalU64(subIDs(subs), []uint64{3}) {
		t.Errorf("after move, %s has %v, want [3]", a.Key(), subIDs(subs))
	}
	if subs, _ := db.ChatSubscriptions(b.Key()); !equalU64(subIDs(subs), []uint64{1, 2}) || subs[0].Query != "Ukraine ceasefire" {
		t.Errorf("after move, %s has %v", b.Key(), subIDs(subs))
	}

	if err := db.DeleteSubscription(s2.ID); err != nil {
		t.Fatal(err)
	}
	if subs, _ := db.ChatSubscriptions(b.Key()); !equalU64(subIDs(subs), []uint64{1}) {
		t.Errorf("after delete, %s has %v, want [1]", b.Key(), subIDs(subs))
	}

	missing := []struct {
		name string
		err  error
	}{
		{"get", func() error { _, err := db.Subscription(2); return err }()},
		{"update", db.UpdateSubscription(&subscriptions.Subscription{ID: 99, Chat: a})},
		{"delete", db.DeleteSubscription(2)},
	}
	for _, m := range missing {
		t.Run(m.name+" missing", func(t *testing.T) {
			if !errors.Is(m.err, ErrNotFound) {
				t.Errorf("%s of a missing subscription: %v, want ErrNotFound", m.name, m.err)
			}
		})
	}
	if err := db.AddSubscription(nil); err == nil {
		t.Error("AddSubscription(nil) succeeded")
	}
	if subs, err := db.ChatSubscriptions("discord:none"); err != nil || len(subs) != 0 {
		t.Errorf("ChatSubscriptions of an unknown chat = %v, %v", subs, err)
	}
	// IDs are never reused after a delete.
	s4 := sub(a, "new")
	if err := db.AddSubscription(s4); err != nil || s4.ID != 4 {
		t.Errorf("next ID = %d, %v; want 4", s4.ID, err)
	}
}

func TestAddSubscriptionsAndForEach(t *testing.T) {
	db, _ := openTemp(t)
	first := sub(addr("console", "x"), "first")
	if err := db.AddSubscription(first); err != nil {
		t.Fatal(err)
	}
	// More than one ForEach batch, so the batch seams are crossed.
	n := forEachBatch*2 + 17
	subs := make([]*subscriptions.Subscription, n)
	for i := range subs {
		subs[i] = sub(addr("discord", fmt.Sprint(i%50)), fmt.Sprintf("q%d", i))
		subs[i].Paused = i%7 == 0
		if subs[i].Paused {
			subs[i].PausedBy = subscriptions.PausedByUser
		}
	}
	if err := db.AddSubscriptions(subs); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		if s.ID != uint64(i+2) {
			t.Fatalf("subs[%d].ID = %d, want %d", i, s.ID, i+2)
		}
	}
	var seen []*subscriptions.Subscription
	if err := db.ForEachSubscription(func(s *subscriptions.Subscription) error {
		seen = append(seen, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n+1 {
		t.Fatalf("ForEach saw %d, want %d", len(seen), n+1)
	}
	for i, s := range seen {
		if s.ID != uint64(i+1) {
			t.Fatalf("ForEach item %d has ID %d: not in ID order", i, s.ID)
		}
		if i > 0 {
			w := subs[i-1]
			if s.Query != w.Query || s.Chat != w.Chat || s.Paused != w.Paused || s.PausedBy != w.PausedBy {
				t.Fatalf("ForEach item %d = %+v, want %+v", i, s, w)
			}
		}
	}
	chatSubs, err := db.ChatSubscriptions(addr("discord", "3").Key())
	if err != nil || len(chatSubs) != (n+46)/50 {
		t.Errorf("ChatSubscriptions(discord:3) has %d, %v; want %d", len(chatSubs), err, (n+46)/50)
	}

	// fn's error stops the walk and comes back unchanged.
	stop := errors.New("stop")
	calls := 0
	err = db.ForEachSubscription(func(*subscriptions.Subscription) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("ForEach with failing fn: err %v after %d calls, want stop after 3", err, calls)
	}
	// fn may write: it runs outside the read transaction.
	err = db.ForEachSubscription(func(s *subscriptions.Subscription) error {
		if s.ID == 1 {
			return db.Put("touched", []byte("yes"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ForEach with writing fn: %v", err)
	}
	if err := db.AddSubscriptions([]*subscriptions.Subscription{sub(addr("a", "b"), "x"), nil}); err == nil {
		t.Error("AddSubscriptions with a nil item succeeded")
	}
}

func TestSetChatPaused(t *testing.T) {
	db, _ := openTemp(t)
	a, other := addr("telegram", "-100"), addr("telegram", "-200")
	active := sub(a, "one")
	mine := sub(a, "two")
	mine.Paused, mine.PausedBy = true, subscriptions.PausedByUser
	elsewhere := sub(other, "three")
	if err := db.AddSubscriptions([]*subscriptions.Subscription{active, mine, elsewhere}); err != nil {
		t.Fatal(err)
	}

	changed, err := db.SetChatPaused(a.Key(), true, subscriptions.PausedByPlatform)
	if err != nil {
		t.Fatal(err)
	}
	if !equalU64(subIDs(changed), []uint64{active.ID}) || !changed[0].Paused || changed[0].PausedBy != subscriptions.PausedByPlatform {
		t.Fatalf("pause changed %+v, want only %d paused by platform", changed, active.ID)
	}
	if got, _ := db.Subscription(mine.ID); got.PausedBy != subscriptions.PausedByUser {
		t.Errorf("user-paused sub now paused by %q", got.PausedBy)
	}
	if got, _ := db.Subscription(elsewhere.ID); got.Paused {
		t.Error("another chat's subscription was paused")
	}

	changed, err = db.SetChatPaused(a.Key(), false, subscriptions.PausedByPlatform)
	if err != nil {
		t.Fatal(err)
	}
	if !equalU64(subIDs(changed), []uint64{active.ID}) || changed[0].Paused || changed[0].PausedBy != "" {
		t.Fatalf("resume changed %+v, want only %d active", changed, active.ID)
	}
	if got, _ := db.Subscription(active.ID); got.Paused {
		t.Error("resumed subscription still paused in storage")
	}
	if got, _ := db.Subscription(mine.ID); !got.Paused || got.PausedBy != subscriptions.PausedByUser {
		t.Errorf("user's own pause was lifted: %+v", got)
	}
	// The user resumes their own.
	changed, err = db.SetChatPaused(a.Key(), false, subscriptions.PausedByUser)
	if err != nil || !equalU64(subIDs(changed), []uint64{mine.ID}) {
		t.Errorf("user resume changed %v, %v; want [%d]", subIDs(changed), err, mine.ID)
	}
	if changed, err := db.SetChatPaused("telegram:nobody", true, "user"); err != nil || len(changed) != 0 {
		t.Errorf("pausing an unknown chat = %v, %v", changed, err)
	}
}

func TestMoveChat(t *testing.T) {
	db, _ := openTemp(t)
	from := chat.Address{Platform: "telegram", Chat: "-42"}
	to := chat.Address{Platform: "telegram", Chat: "-10042"}
	bystander := addr("telegram", "-43")
	s1, s2, s3 := sub(from, "a"), sub(bystander, "b"), sub(chat.Address{Platform: "telegram", Chat: "-42", Thread: "7"}, "c")
	if err := db.AddSubscriptions([]*subscriptions.Subscription{s1, s2, s3}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Enqueue([]chat.Message{textMsg(from, "hello"), textMsg(bystander, "hi"), textMsg(s3.Chat, "topic")}); err != nil {
		t.Fatal(err)
	}
	n, err := db.MoveChat(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("MoveChat moved %d subscriptions, want 2", n)
	}
	if subs, _ := db.ChatSubscriptions(from.Key()); len(subs) != 0 {
		t.Errorf("old chat still has %v", subIDs(subs))
	}
	subs, _ := db.ChatSubscriptions(to.Key())
	if !equalU64(subIDs(subs), []uint64{s1.ID, s3.ID}) {
		t.Fatalf("new chat has %v, want [%d %d]", subIDs(subs), s1.ID, s3.ID)
	}
	if subs[1].Chat.Thread != "7" {
		t.Errorf("thread lost in the move: %+v", subs[1].Chat)
	}
	pending, _ := db.Pending()
	wantTo := []string{to.Key(), bystander.Key(), to.Key()}
	for i, m := range pending {
		if m.To.Key() != wantTo[i] {
			t.Errorf("pending[%d] goes to %s, want %s", i, m.To.Key(), wantTo[i])
		}
	}
	if n, err := db.MoveChat(from, from); err != nil || n != 0 {
		t.Errorf("MoveChat to itself = %d, %v", n, err)
	}
}

func TestCommitPollDedupe(t *testing.T) {
	a := addr("console", "demo")
	base := mkStory("guid-1", "https://example.com/a", "Peace talks")
	cases := []struct {
		name   string
		second story.Story
		want   int // messages the second commit enqueues
	}{
		{"same story again", base, 0},
		{"edited title, same id", mkStory("guid-1", "https://example.com/a", "Peace talks collapse"), 0},
		{"new id, same canonical link", mkStory("guid-2", "https://example.com/a", "Peace talks"), 0},
		{"same id, new link", mkStory("guid-1", "https://example.com/b", "Peace talks"), 0},
		{"new id, no link", mkStory("guid-3", "", "Other"), 1},
		{"new id, new link", mkStory("guid-4", "https://example.com/c", "Other"), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTemp(t)
			st := SourceState{Name: "bbc", URL: "https://bbc.example/rss", Initialized: true}
			got, err := db.CommitPoll(st, []NewStory{{Story: base, Messages: []chat.Message{alertMsg(a, base, 1)}}})
			if err != nil || len(got) != 1 || got[0].Seq != 1 {
				t.Fatalf("first CommitPoll = %v, %v; want one message with Seq 1", got, err)
			}
			if unseen, _ := db.FilterUnseen([]story.Story{tc.second}); len(unseen) != tc.want {
				t.Errorf("FilterUnseen kept %d, want %d", len(unseen), tc.want)
			}
			got, err = db.CommitPoll(st, []NewStory{{Story: tc.second, Messages: []chat.Message{alertMsg(a, tc.second, 1)}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Errorf("second CommitPoll enqueued %d, want %d", len(got), tc.want)
			}
			if n, _ := db.OutboxLen(); n != 1+tc.want {
				t.Errorf("OutboxLen = %d, want %d", n, 1+tc.want)
			}
		})
	}
}

func TestCommitPollRecordsEverything(t *testing.T) {
	db, clk := openTemp(t)
	a, b := addr("telegram", "1"), addr("discord", "2")
	s1 := mkStory("g1", "https://example.com/1", "One")
	s2 := mkStory("g2", "https://example.com/2", "Two")
	dup := mkStory("g1-copy", "https://example.com/1", "One again") // same link as s1, same batch
	noID := mkStory("", "https://example.com/x", "No identity")
	st := SourceState{Name: "bbc", URL: "https://bbc.example/rss", ETag: `"v1"`, Initialized: true,
		LastAttempt: t0, LastSuccess: t0, NextPoll: t0.Add(5 * time.Minute), ItemsSeen: 2}
	msgs, err := db.CommitPoll(st, []NewStory{
		{Story: s1, Messages: []chat.Message{alertMsg(a, s1, 1), alertMsg(b, s1, 2)}},
		{Story: dup, Messages: []chat.Message{alertMsg(a, dup, 1)}},
		{Story: noID, Messages: []chat.Message{alertMsg(a, noID, 1)}},
		{Story: s2, Messages: []chat.Message{alertMsg(b, s2, 2)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !equalU64(seqs(msgs), []uint64{1, 2, 3}) {
		t.Fatalf("enqueued seqs %v, want [1 2 3]", seqs(msgs))
	}
	if msgs[2].Alert.StoryID != "g2" || !msgs[0].Created.Equal(t0) {
		t.Errorf("enqueued %+v", msgs)
	}
	gotState, err := db.SourceState("bbc")
	if err != nil || gotState.ETag != `"v1"` || !gotState.NextPoll.Equal(st.NextPoll) || gotState.ItemsSeen != 2 {
		t.Errorf("SourceState = %+v, %v", gotState, err)
	}
	recent, err := db.RecentStories(t0)
	if err != nil || len(recent) != 2 || recent[0].ID != "g1" || !recent[0].FirstSeen.Equal(t0) {
		t.Errorf("RecentStories = %+v, %v", recent, err)
	}
	// An empty source name stores no state but still commits the stories.
	clk.Advance(time.Minute)
	s3 := mkStory("g3", "", "Three")
	if msgs, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s3, Messages: []chat.Message{textMsg(a, "x")}}}); err != nil || len(msgs) != 1 {
		t.Errorf("CommitPoll without source = %v, %v", msgs, err)
	}
	if states, _ := db.SourceStates(); len(states) != 1 {
		t.Errorf("SourceStates has %d, want 1", len(states))
	}
}

// A message whose time cannot be encoded fails the commit; the story must
// then not be marked seen either, or it would be lost for good.
func TestCommitPollIsAtomic(t *testing.T) {
	db, _ := openTemp(t)
	s := mkStory("g1", "https://example.com/1", "One")
	bad := textMsg(addr("console", "x"), "bad")
	bad.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // JSON cannot hold year 10000
	_, err := db.CommitPoll(SourceState{Name: "bbc", ETag: "new"}, []NewStory{{Story: s, Messages: []chat.Message{textMsg(addr("console", "x"), "good"), bad}}})
	if err == nil {
		t.Fatal("CommitPoll with an unencodable message succeeded")
	}
	if unseen, _ := db.FilterUnseen([]story.Story{s}); len(unseen) != 1 {
		t.Error("story marked seen although its messages were not enqueued")
	}
	if n, _ := db.OutboxLen(); n != 0 {
		t.Errorf("outbox holds %d after a failed commit", n)
	}
	if _, err := db.SourceState("bbc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("source state stored by a failed commit: %v", err)
	}
}

func TestFilterUnseen(t *testing.T) {
	db, _ := openTemp(t)
	old := mkStory("old", "https://example.com/old", "Old")
	if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: old}}); err != nil {
		t.Fatal(err)
	}
	long := "https://example.com/" + strings.Repeat("x", 40000) // over bbolt's key limit
	in := []story.Story{
		mkStory("n1", "https://example.com/n1", "New"),
		mkStory("old", "https://example.com/moved", "Old, new link"),
		mkStory("n2", "https://example.com/old", "Old link"),
		mkStory("n1", "https://example.com/n1b", "Dup id in batch"),
		mkStory("n3", "https://example.com/n1", "Dup link in batch"),
		mkStory("", "https://example.com/none", "No id"),
		mkStory("n4", long, "Long link"),
		mkStory(strings.Repeat("i", 40000), "", "Long id"),
	}
	got, err := db.FilterUnseen(in)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.Title)
	}
	want := []string{"New", "Long link", "Long id"}
	if strings.Join(ids, "|") != strings.Join(want, "|") {
		t.Fatalf("FilterUnseen kept %q, want %q", ids, want)
	}
	// Huge keys are stored (as digests) and recognised afterwards.
	if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: got[1]}, {Story: got[2]}}); err != nil {
		t.Fatalf("CommitPoll of long keys: %v", err)
	}
	again, _ := db.FilterUnseen([]story.Story{mkStory("n5", long, "same long link"), got[2]})
	if len(again) != 0 {
		t.Errorf("long-keyed stories not recognised as seen: %d kept", len(again))
	}
}

func TestOutboxOrderAckDrop(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("telegram", "1")
	s := mkStory("g1", "https://example.com/1", "One")
	if _, err := db.Enqueue([]chat.Message{textMsg(a, "m1"), textMsg(a, "m2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: []chat.Message{alertMsg(a, s, 1)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Enqueue([]chat.Message{textMsg(a, "m4")}); err != nil {
		t.Fatal(err)
	}
	db, clk := reopen(t, db)
	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if !equalU64(seqs(pending), []uint64{1, 2, 3, 4}) || pending[0].Text != "m1" || pending[2].Alert == nil || pending[3].Text != "m4" {
		t.Fatalf("Pending after reopen = %+v", pending)
	}
	// Sequence numbers keep growing across reopen.
	more, err := db.Enqueue([]chat.Message{textMsg(a, "m5")})
	if err != nil || more[0].Seq != 5 {
		t.Fatalf("Enqueue after reopen = %v, %v; want Seq 5", seqs(more), err)
	}

	clk.Advance(time.Hour)
	if err := db.Ack(3, chat.Sent{MessageID: "777"}); err != nil {
		t.Fatal(err)
	}
	d, err := db.Delivered(3)
	if err != nil || d.MessageID != "777" || d.StoryID != "g1" || d.To != a || !d.At.Equal(t0.Add(time.Hour)) {
		t.Errorf("Delivered(3) = %+v, %v", d, err)
	}
	if err := db.Drop(1, "400 Bad Request: chat not found"); err != nil {
		t.Fatal(err)
	}
	dead, err := db.DeadLetters()
	if err != nil || len(dead) != 1 || dead[0].Message.Text != "m1" || dead[0].Reason != "400 Bad Request: chat not found" || dead[0].Message.Seq != 1 {
		t.Errorf("DeadLetters = %+v, %v", dead, err)
	}
	pending, _ = db.Pending()
	if !equalU64(seqs(pending), []uint64{2, 4, 5}) {
		t.Errorf("Pending after ack and drop = %v, want [2 4 5]", seqs(pending))
	}
	if n, _ := db.OutboxLen(); n != 3 {
		t.Errorf("OutboxLen = %d, want 3", n)
	}
	for name, err := range map[string]error{
		"ack twice":  db.Ack(3, chat.Sent{}),
		"drop acked": db.Drop(3, "x"),
		"ack never":  db.Ack(99, chat.Sent{}),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if err := db.Ack(4, chat.Sent{MessageID: "778"}); err != nil {
		t.Fatal(err)
	}
	if ds, err := db.Deliveries("g1"); err != nil || len(ds) != 1 || ds[0].Seq != 3 {
		t.Errorf("Deliveries(g1) = %+v, %v; want the one for seq 3", ds, err)
	}
	if ds, err := db.Deliveries(""); err != nil || len(ds) != 0 {
		t.Errorf("Deliveries(\"\") = %+v, %v; want none", ds, err)
	}
	if _, err := db.Delivered(2); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delivered of an unsent message: %v, want ErrNotFound", err)
	}
}

func TestRecentAndPrune(t *testing.T) {
	db, clk := openTemp(t)
	a := addr("console", "x")
	var all []story.Story
	for day := range 5 {
		s := mkStory(fmt.Sprintf("d%d", day), fmt.Sprintf("https://example.com/%d", day), "story")
		s.FirstSeen = t0.Add(time.Duration(day) * 24 * time.Hour)
		all = append(all, s)
		clk.Set(s.FirstSeen)
		msgs, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: []chat.Message{alertMsg(a, s, 1)}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ack(msgs[0].Seq, chat.Sent{MessageID: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	recent, err := db.RecentStories(t0.Add(3 * 24 * time.Hour))
	if err != nil || len(recent) != 2 || recent[0].ID != "d3" || recent[1].ID != "d4" {
		t.Fatalf("RecentStories(day 3) = %+v, %v", recent, err)
	}
	if recent, _ := db.RecentStories(time.Time{}); len(recent) != 5 {
		t.Errorf("RecentStories(zero) has %d, want 5", len(recent))
	}

	// Days 0 and 1 go: per story an id, a link, a recent entry, a delivery.
	n, err := db.Prune(t0.Add(2 * 24 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("Prune removed %d, want 8", n)
	}
	unseen, _ := db.FilterUnseen(all)
	if len(unseen) != 2 || unseen[0].ID != "d0" || unseen[1].ID != "d1" {
		t.Errorf("after prune, unseen = %v, want d0 d1", unseen)
	}
	if recent, _ := db.RecentStories(time.Time{}); len(recent) != 3 {
		t.Errorf("after prune, %d recent stories, want 3", len(recent))
	}
	if _, err := db.Delivered(1); !errors.Is(err, ErrNotFound) {
		t.Errorf("old delivery kept: %v", err)
	}
	if _, err := db.Delivered(3); err != nil {
		t.Errorf("new delivery lost: %v", err)
	}
	if n, err := db.Prune(t0.Add(2 * 24 * time.Hour)); err != nil || n != 0 {
		t.Errorf("second Prune = %d, %v; want 0", n, err)
	}
}

func TestPruneManyAcrossBatches(t *testing.T) {
	db, _ := openTemp(t)
	items := make([]NewStory, pruneBatch*2+5)
	for i := range items {
		items[i].Story = mkStory(fmt.Sprintf("s%06d", i), "", "x")
	}
	if _, err := db.CommitPoll(SourceState{}, items); err != nil {
		t.Fatal(err)
	}
	n, err := db.Prune(t0.Add(time.Second))
	if err != nil || n != 2*len(items) { // seen id + recent entry each
		t.Fatalf("Prune = %d, %v; want %d", n, err, 2*len(items))
	}
}

func TestSourceStates(t *testing.T) {
	db, _ := openTemp(t)
	if _, err := db.SourceState("bbc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SourceState of unknown: %v, want ErrNotFound", err)
	}
	for _, name := range []string{"reuters", "bbc"} {
		if err := db.PutSourceState(SourceState{Name: name, Failures: 3, LastError: "timeout", LastAttempt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutSourceState(SourceState{Name: "bbc", Failures: 0, LastSuccess: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := db.SourceState("bbc")
	if err != nil || got.Failures != 0 || !got.LastSuccess.Equal(t0) || got.LastError != "" {
		t.Errorf("SourceState(bbc) = %+v, %v", got, err)
	}
	all, err := db.SourceStates()
	if err != nil || len(all) != 2 || all[0].Name != "bbc" || all[1].Name != "reuters" || all[1].Failures != 3 {
		t.Errorf("SourceStates = %+v, %v", all, err)
	}
	if err := db.PutSourceState(SourceState{}); err == nil {
		t.Error("PutSourceState without a name succeeded")
	}
}

func TestKeyValue(t *testing.T) {
	db, _ := openTemp(t)
	if _, err := db.Get("telegram.offset"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of unknown: %v, want ErrNotFound", err)
	}
	cases := []struct {
		key string
		val []byte
	}{
		{"telegram.offset", []byte("12345")},
		{"empty", nil},
		{"binary", []byte{0, 1, 2, 255}},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			if err := db.Put(c.key, c.val); err != nil {
				t.Fatal(err)
			}
			got, err := db.Get(c.key)
			if err != nil || !bytes.Equal(got, c.val) {
				t.Errorf("Get = %v, %v; want %v", got, err, c.val)
			}
		})
	}
	if err := db.Put("", []byte("x")); err == nil {
		t.Error("Put with an empty key succeeded")
	}
}

func TestReopenKeepsEverythingAndBackup(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("telegram", "1")
	s := sub(a, "Witkoff")
	if err := db.AddSubscription(s); err != nil {
		t.Fatal(err)
	}
	st := mkStory("g1", "https://example.com/1", "One")
	if _, err := db.CommitPoll(SourceState{Name: "bbc", ETag: "e"}, []NewStory{{Story: st, Messages: []chat.Message{alertMsg(a, st, s.ID), textMsg(a, "second")}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Ack(1, chat.Sent{MessageID: "55"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Put("offset", []byte("9")); err != nil {
		t.Fatal(err)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Backup(f)
	if err != nil || n == 0 {
		t.Fatalf("Backup = %d, %v", n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, _ := reopen(t, db)
	copyDB, _ := openAt(t, backup)

	for name, d := range map[string]*DB{"reopened": reopened, "backup": copyDB} {
		t.Run(name, func(t *testing.T) {
			got, err := d.Subscription(s.ID)
			if err != nil || got.Query != "Witkoff" {
				t.Errorf("Subscription = %+v, %v", got, err)
			}
			if unseen, _ := d.FilterUnseen([]story.Story{st}); len(unseen) != 0 {
				t.Error("story forgotten")
			}
			pending, _ := d.Pending()
			if !equalU64(seqs(pending), []uint64{2}) || pending[0].Text != "second" {
				t.Errorf("Pending = %+v", pending)
			}
			if del, err := d.Delivered(1); err != nil || del.MessageID != "55" {
				t.Errorf("Delivered(1) = %+v, %v", del, err)
			}
			if src, err := d.SourceState("bbc"); err != nil || src.ETag != "e" {
				t.Errorf("SourceState = %+v, %v", src, err)
			}
			if v, err := d.Get("offset"); err != nil || string(v) != "9" {
				t.Errorf("Get = %q, %v", v, err)
			}
			if recent, _ := d.RecentStories(time.Time{}); len(recent) != 1 {
				t.Errorf("RecentStories has %d, want 1", len(recent))
			}
			next := sub(a, "more")
			if err := d.AddSubscription(next); err != nil || next.ID != 2 {
				t.Errorf("next ID after reopen = %d, %v; want 2", next.ID, err)
			}
		})
	}
}

// Writers from several goroutines (poller, dispatcher, commands) share one
// DB: every message gets its own Seq and the outbox stays in Seq order.
func TestConcurrentWriters(t *testing.T) {
	db, _ := openTemp(t)
	const workers, each = 4, 25
	errs := make(chan error, workers*2)
	for w := range workers {
		go func() {
			for i := range each {
				s := mkStory(fmt.Sprintf("w%d-%d", w, i), "", "x")
				if _, err := db.CommitPoll(SourceState{Name: fmt.Sprint("src", w)}, []NewStory{{Story: s, Messages: []chat.Message{textMsg(addr("console", "c"), s.ID)}}}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		go func() {
			for i := range each {
				if err := db.AddSubscription(sub(addr("console", fmt.Sprint(w)), fmt.Sprint(i))); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers * 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != workers*each {
		t.Fatalf("outbox holds %d, want %d", len(pending), workers*each)
	}
	for i, m := range pending {
		if m.Seq != uint64(i+1) {
			t.Fatalf("pending[%d].Seq = %d: gaps or disorder", i, m.Seq)
		}
	}
	count := 0
	if err := db.ForEachSubscription(func(*subscriptions.Subscription) error { count++; return nil }); err != nil || count != workers*each {
		t.Errorf("ForEach counted %d, %v; want %d", count, err, workers*each)
	}
}

// TestPruneDeadLetters: dead letters older than the cut go, newer ones
// stay, and an unreadable one is kept.
func TestPruneDeadLetters(t *testing.T) {
	db, clk := openTemp(t)
	a := addr("telegram", "1")
	var seqs []uint64
	for day := range 3 {
		clk.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		msgs, err := db.Enqueue([]chat.Message{textMsg(a, fmt.Sprint("m", day))})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Drop(msgs[0].Seq, "chat not found"); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, msgs[0].Seq)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketDead).Put(u64(999), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	n, err := db.Prune(t0.Add(36 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Prune removed %d records, want 2 (the dead letters of days 0 and 1)", n)
	}
	var kept []uint64
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketDead).ForEach(func(k, v []byte) error {
			kept = append(kept, be64(k))
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if want := []uint64{seqs[2], 999}; !slices.Equal(kept, want) {
		t.Errorf("dead letters kept %v, want %v", kept, want)
	}
}
