package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"

	"frontwire/internal/chat"
	"frontwire/internal/story"
)

func TestCompactAlertRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := compactAlert{
			To: chat.Address{
				Platform: rapid.String().Draw(t, "platform"),
				Chat:     rapid.String().Draw(t, "chat"),
				Thread:   rapid.String().Draw(t, "thread"),
			},
			Ref:            rapid.SliceOfN(rapid.Byte(), 8, 600).Draw(t, "ref"),
			Short:          rapid.Bool().Draw(t, "short"),
			SubscriptionID: rapid.Uint64().Draw(t, "sub"),
			Query:          rapid.String().Draw(t, "query"),
			Matched:        rapid.SliceOfN(rapid.String(), 0, 5).Draw(t, "matched"),
			ClusterID:      rapid.String().Draw(t, "cluster"),
			Number:         rapid.Uint64().Draw(t, "number"),
		}
		if len(c.Matched) == 0 {
			c.Matched = nil
		}
		if c.Short {
			c.Ref = shortRef(c.Ref)
		}
		switch rapid.IntRange(0, 2).Draw(t, "time") {
		case 1: // any time: seconds and nanoseconds
			sec := rapid.Int64Range(-62135596800, 253402300799).Draw(t, "sec")
			c.Created = time.Unix(sec, rapid.Int64Range(0, 999999999).Draw(t, "nsec")).UTC()
		case 2: // near the story's first-seen time: a difference
			first := t0.Add(time.Duration(rapid.Int64Range(0, 1<<50).Draw(t, "first")))
			c.Ref = append(u64(timeKey(first)), c.Ref[8:]...)
			c.Created = first.Add(time.Duration(rapid.Int64Range(-1<<40, 1<<40).Draw(t, "delta"))).UTC()
		}
		v := encodeCompact(nil, &c)
		if _, isDelta := createdDelta(&c); isDelta != (v[1]&compactCreatedDelta != 0) {
			t.Fatalf("difference flag %v for %+v", !isDelta, c)
		}
		got, err := decodeCompact(v)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
	})
}

// A damaged compact record is an error, never a panic or a message made
// up of the damage.
func TestCompactAlertDamaged(t *testing.T) {
	c := compactAlert{
		To: addr("telegram", "42"), Created: t0, Ref: recentKey(t0, "g1"), SubscriptionID: 7,
		Query: "witkoff", Matched: []string{"witkoff", "gaza"}, ClusterID: "c1", Number: 9,
	}
	v := encodeCompact(nil, &c)
	for n := range len(v) {
		if _, err := decodeCompact(v[:n]); err == nil {
			t.Errorf("record cut to %d of %d bytes decoded", n, len(v))
		}
	}
	if _, err := decodeCompact(append(bytes.Clone(v), 0)); err == nil {
		t.Error("record with a trailing byte decoded")
	}
	huge := bytes.Clone(v)
	huge[2] = 0xff // the platform's length, now past the end
	if _, err := decodeCompact(huge); err == nil {
		t.Error("record with a length past its end decoded")
	}
}

func FuzzDecodeCompact(f *testing.F) {
	c := compactAlert{To: addr("discord", "1"), Created: t0, Ref: recentKey(t0, "g"), Query: "q", Matched: []string{"a"}}
	f.Add(encodeCompact(nil, &c))
	f.Add([]byte{markCompactAlert})
	c.Short, c.Ref = true, shortRef(c.Ref)
	f.Add(encodeCompact(nil, &c))
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodeCompact(v)
		if err != nil {
			return
		}
		// What decodes survives a round trip unchanged.
		again, err := decodeCompact(encodeCompact(nil, &got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("decoded %+v, after a round trip %+v, %v", got, again, err)
		}
	})
}

// storyAlert is an alert carrying story s as the pipeline makes it.
func storyAlert(a chat.Address, s story.Story, subID uint64) chat.Message {
	m := alertMsg(a, s, subID)
	m.Alert.Published, m.Alert.Summary = s.Published, s.Summary
	return m
}

// rawOutbox returns the stored records of the outbox by seq.
func rawOutbox(t *testing.T, db *DB) map[uint64][]byte {
	t.Helper()
	out := map[uint64][]byte{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketOutbox).ForEach(func(k, v []byte) error {
			out[be64(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An alert committed with its story is stored compact and read back as
// the message it was; messages that are not alerts of the story stay JSON.
func TestCommitPollStoresAlertsCompact(t *testing.T) {
	db, _ := openTemp(t)
	a, b := addr("telegram", "1"), chat.Address{Platform: "discord", Chat: "2", Thread: "t"}
	s := mkStory("g1", "https://example.com/1", "One")
	s.Summary = "The first story, in brief."
	s.Text = s.Summary + " And then the rest of it."
	full := storyAlert(a, s, 1)
	full.Alert.Summary, full.Alert.Query, full.Alert.Matched = s.Summary, "one OR two", []string{"one"}
	other := storyAlert(b, s, 2)
	other.Alert.Summary = s.Summary
	other.Alert.ClusterID = "" // not clustered here: queued as it is
	foreign := storyAlert(a, s, 3)
	foreign.Alert.Title = "Not the story's title"
	text := textMsg(b, "hello")
	queued, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: []chat.Message{full, other, foreign, text}}})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawOutbox(t, db)
	for seq, wantCompact := range map[uint64]bool{1: true, 2: true, 3: false, 4: false} {
		if got := raw[seq][0] == markShortRef; got != wantCompact {
			t.Errorf("message %d stored compact: %v, want %v (%q)", seq, got, wantCompact, raw[seq])
		}
	}
	js, _ := json.Marshal(queued[0])
	if len(raw[1])*4 > len(js) {
		t.Errorf("compact record %d bytes, JSON %d: expected under a quarter", len(raw[1]), len(js))
	}
	db, _ = reopen(t, db)
	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != len(queued) {
		t.Fatalf("Pending has %d, want %d", len(pending), len(queued))
	}
	for i := range queued {
		want, got := queued[i], pending[i]
		// Times are compared as instants: stored ones come back in UTC.
		if !got.Created.Equal(want.Created) {
			t.Errorf("message %d Created %v, want %v", want.Seq, got.Created, want.Created)
		}
		got.Created, want.Created = time.Time{}, time.Time{}
		if got.Alert != nil && want.Alert != nil {
			if !got.Alert.Published.Equal(want.Alert.Published) {
				t.Errorf("message %d Published %v, want %v", want.Seq, got.Alert.Published, want.Alert.Published)
			}
			ga, wa := *got.Alert, *want.Alert
			ga.Published, wa.Published = time.Time{}, time.Time{}
			got.Alert, want.Alert = &ga, &wa
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Pending[%d] = %+v / %+v, want %+v / %+v", i, got, got.Alert, want, want.Alert)
		}
	}
	// Delivery and dead letters read the resolved message.
	if err := db.Ack(1, chat.Sent{MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	if d, err := db.Delivered(1); err != nil || d.StoryID != "g1" || d.To != a {
		t.Errorf("Delivered(1) = %+v, %v", d, err)
	}
	if err := db.Drop(2, "refused"); err != nil {
		t.Fatal(err)
	}
	dead, err := db.DeadLetters()
	if err != nil || len(dead) != 1 || dead[0].Message.Alert == nil || dead[0].Message.Alert.Title != "One" ||
		dead[0].Message.Alert.Summary != s.Summary || dead[0].Message.To != b {
		t.Errorf("DeadLetters = %+v, %v", dead, err)
	}
}

// Records written as JSON before schema v4 are read as they were, beside
// compact ones.
func TestOutboxReadsJSONRecords(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("telegram", "1")
	old := chat.Message{To: a, Kind: chat.KindAlert, Created: t0, Alert: &chat.Alert{
		StoryID: "old", Source: "bbc", Title: "Old", Link: "https://example.com/old", Published: t0,
		Summary: "An old story.", SubscriptionID: 4, Query: "old", Matched: []string{"old"},
	}}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		out := bucket(tx, bucketOutbox)
		seq, err := out.NextSequence()
		if err != nil {
			return err
		}
		// Written as schema v3 wrote it.
		v, err := json.Marshal(old)
		if err != nil {
			return err
		}
		return out.Put(u64(seq), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	s := mkStory("new", "https://example.com/new", "New")
	if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: []chat.Message{storyAlert(a, s, 5)}}}); err != nil {
		t.Fatal(err)
	}
	pending, err := db.Pending()
	if err != nil || len(pending) != 2 {
		t.Fatalf("Pending = %+v, %v", pending, err)
	}
	if got := pending[0]; got.Seq != 1 || got.Alert == nil || got.Alert.Title != "Old" || got.Alert.Summary != "An old story." ||
		!reflect.DeepEqual(got.Alert.Matched, []string{"old"}) {
		t.Errorf("old record read as %+v / %+v", got, got.Alert)
	}
	if got := pending[1]; got.Seq != 2 || got.Alert == nil || got.Alert.Title != "New" || got.Alert.StoryID != "new" {
		t.Errorf("new record read as %+v / %+v", got, got.Alert)
	}
}

// A damaged compact record, or one whose story is gone, fails the read
// with an error.
func TestOutboxDamagedCompactRecord(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
		want   error
	}{
		{"truncated", func(tx *bolt.Tx) error {
			out := bucket(tx, bucketOutbox)
			v := bytes.Clone(out.Get(u64(1)))
			return out.Put(u64(1), v[:len(v)/2])
		}, errShortRecord},
		{"story gone", func(tx *bolt.Tx) error {
			return bucket(tx, bucketRecent).Delete(recentKey(t0, "g1"))
		}, ErrNotFound},
		{"story damaged", func(tx *bolt.Tx) error {
			return bucket(tx, bucketRecent).Put(recentKey(t0, "g1"), []byte{markDeflated, 0xff, 0x00})
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTemp(t)
			s := mkStory("g1", "https://example.com/1", "One")
			if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: []chat.Message{storyAlert(addr("telegram", "1"), s, 1)}}}); err != nil {
				t.Fatal(err)
			}
			if err := db.bolt.Update(tc.damage); err != nil {
				t.Fatal(err)
			}
			_, err := db.Pending()
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Pending: %v, want an error (%v)", err, tc.want)
			}
			if err := db.Ack(1, chat.Sent{}); err == nil {
				t.Error("Ack of a damaged record succeeded")
			}
		})
	}
}

// Prune keeps a story's record while an alert in the outbox refers to it,
// and forgets it once the alert is gone.
func TestPruneKeepsStoriesOfQueuedAlerts(t *testing.T) {
	db, clk := openTemp(t)
	a := addr("telegram", "1")
	var queued []chat.Message
	for i, id := range []string{"d0", "d1"} {
		s := mkStory(id, "https://example.com/"+id, strings.ToUpper(id))
		s.FirstSeen = t0.Add(time.Duration(i) * time.Hour)
		clk.Set(s.FirstSeen)
		msgs, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: []chat.Message{storyAlert(a, s, 1)}}})
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, msgs...)
	}
	if err := db.Ack(queued[0].Seq, chat.Sent{MessageID: "m"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(72 * time.Hour))
	if _, err := db.Prune(t0.Add(48 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	recent, err := db.RecentStories(time.Time{})
	if err != nil || len(recent) != 1 || recent[0].ID != "d1" {
		t.Fatalf("after prune, recent = %+v, %v; want d1 only", recent, err)
	}
	pending, err := db.Pending()
	if err != nil || len(pending) != 1 || pending[0].Alert.Title != "D1" {
		t.Fatalf("Pending after prune = %+v, %v", pending, err)
	}
	if err := db.Ack(queued[1].Seq, chat.Sent{MessageID: "m2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Prune(t0.Add(48 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if recent, _ := db.RecentStories(time.Time{}); len(recent) != 0 {
		t.Errorf("after the alert left, recent = %+v; want none", recent)
	}
}

// MoveChat re-addresses a compact record and keeps it compact.
func TestMoveChatKeepsCompactRecords(t *testing.T) {
	db, _ := openTemp(t)
	from, to, other := addr("telegram", "-100"), addr("telegram", "-100200"), addr("telegram", "7")
	s := mkStory("g1", "https://example.com/1", "One")
	if _, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: []chat.Message{storyAlert(from, s, 1), storyAlert(other, s, 2)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MoveChat(from, to); err != nil {
		t.Fatal(err)
	}
	raw := rawOutbox(t, db)
	if raw[1][0] != markShortRef || raw[2][0] != markShortRef {
		t.Errorf("records after move: %q, %q; want both compact", raw[1], raw[2])
	}
	pending, err := db.Pending()
	if err != nil || len(pending) != 2 || pending[0].To != to || pending[1].To != other || pending[0].Alert.Title != "One" {
		t.Errorf("Pending after move = %+v, %v", pending, err)
	}
}

// A story whose alert cannot name it as it is (a title changed on the way)
// is not resolved from the story: compactable refuses it.
func TestCompactable(t *testing.T) {
	s := story.Story{ID: "g", Source: "bbc", Title: "T", Link: "https://x", Summary: "S", Published: t0}
	base := chat.Message{Kind: chat.KindAlert, Alert: &chat.Alert{StoryID: "g", Source: "bbc", Title: "T", Link: "https://x", Summary: "S", Published: t0}}
	if !compactable(&base, &s) {
		t.Fatal("an alert of the story is not compactable")
	}
	for name, change := range map[string]func(m *chat.Message){
		"edit":      func(m *chat.Message) { m.Kind, m.EditOf = chat.KindEdit, 3 },
		"title":     func(m *chat.Message) { m.Alert.Title = "U" },
		"summary":   func(m *chat.Message) { m.Alert.Summary = "" },
		"published": func(m *chat.Message) { m.Alert.Published = t0.Add(time.Second) },
		"also":      func(m *chat.Message) { m.Alert.Also = []chat.Outlet{{Source: "cnn"}} },
		"other id":  func(m *chat.Message) { m.Alert.StoryID = "h" },
	} {
		m := base
		a := *base.Alert
		m.Alert = &a
		change(&m)
		if compactable(&m, &s) {
			t.Errorf("%s: compactable", name)
		}
	}
}

// Buffers cut from the arena never share bytes, also across chunks: bbolt
// holds every value by reference until the commit.
func TestValueArenaBuffersAreDisjoint(t *testing.T) {
	var a valueArena
	var bufs [][]byte
	for i := range 3000 {
		b := a.take(40)
		if len(b) != 0 || cap(b) != 40 {
			t.Fatalf("take(40) gave len %d cap %d", len(b), cap(b))
		}
		bufs = append(bufs, append(b, bytes.Repeat([]byte{byte(i)}, 40)...))
	}
	for i, b := range bufs {
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, 40)) {
			t.Fatalf("buffer %d overwritten: %v", i, b[:4])
		}
	}
	if b := (*valueArena)(nil).take(5); cap(b) != 5 {
		t.Errorf("nil arena: cap %d", cap(b))
	}
}

// Records of the first compact form (whole recent key, 0x02) are read
// beside short-keyed ones, and Prune keeps the stories both refer to;
// stories first seen in one poll, which share a time, are told apart.
func TestCompactRecordsOfBothForms(t *testing.T) {
	db, clk := openTemp(t)
	a := addr("telegram", "1")
	var items []NewStory
	for _, id := range []string{"s1", "s2", "s3", "s4"} {
		s := mkStory(id, "https://example.com/"+id, strings.ToUpper(id))
		items = append(items, NewStory{Story: s, Messages: []chat.Message{storyAlert(a, s, 1)}})
	}
	if _, err := db.CommitPoll(SourceState{}, items); err != nil {
		t.Fatal(err)
	}
	// Message 2 rewritten as 0bc7074 wrote it.
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		out := bucket(tx, bucketOutbox)
		c, err := decodeCompact(out.Get(u64(2)))
		if err != nil {
			return err
		}
		c.Short, c.Ref = false, recentKey(t0, "s2")
		return out.Put(u64(2), encodeCompact(nil, &c))
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawOutbox(t, db)
	if raw[1][0] != markShortRef || raw[2][0] != markCompactAlert {
		t.Fatalf("record forms %x, %x", raw[1][0], raw[2][0])
	}
	check := func(when string, want ...string) {
		t.Helper()
		pending, err := db.Pending()
		if err != nil {
			t.Fatalf("%s: Pending: %v", when, err)
		}
		var got []string
		for _, m := range pending {
			got = append(got, m.Alert.StoryID+"="+m.Alert.Title)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: Pending = %q, want %q", when, got, want)
		}
	}
	check("as queued", "s1=S1", "s2=S2", "s3=S3", "s4=S4")
	for _, seq := range []uint64{1, 4} {
		if err := db.Ack(seq, chat.Sent{MessageID: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(t0.Add(72 * time.Hour))
	if _, err := db.Prune(t0.Add(48 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("after prune", "s2=S2", "s3=S3")
	recent, err := db.RecentStories(time.Time{})
	if err != nil || len(recent) != 2 {
		t.Errorf("after prune, recent = %+v, %v; want s2 and s3", recent, err)
	}
}
