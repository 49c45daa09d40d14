package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"

	"frontwire/internal/chat"
)

// drawClusterRecord draws a compact-able record under key, unresolved (no
// story fields), as decodeClusterRecord returns it.
func drawClusterRecord(t *rapid.T) ([]byte, clusterRecord) {
	chatKey := rapid.StringMatching(`[a-z]+:-?[0-9]+`).Draw(t, "chat key")
	keyID := rapid.String().Draw(t, "key's cluster")
	r := clusterRecord{ref: shortRef(rapid.SliceOfN(rapid.Byte(), 8, 80).Draw(t, "recent key"))}
	r.To = chat.Address{Platform: rapid.String().Draw(t, "platform"), Chat: rapid.String().Draw(t, "chat"), Thread: rapid.String().Draw(t, "thread")}
	r.ClusterID = keyID
	if rapid.Bool().Draw(t, "merged") { // filed under an older cluster's key
		r.ClusterID = rapid.String().Draw(t, "cluster")
	}
	r.AlertSeq = rapid.Uint64().Draw(t, "seq")
	r.PendingEdit = rapid.Uint64().Draw(t, "pending")
	r.Muted = rapid.Bool().Draw(t, "muted")
	switch rapid.IntRange(0, 2).Draw(t, "time") {
	case 1: // any time: seconds and nanoseconds
		sec := rapid.Int64Range(-62135596800, 253402300799).Draw(t, "sec")
		r.At = time.Unix(sec, rapid.Int64Range(0, 999999999).Draw(t, "nsec")).UTC()
	case 2: // near the story's first-seen time: a difference
		first := t0.Add(time.Duration(rapid.Int64Range(0, 1<<50).Draw(t, "first")))
		r.ref = append(u64(timeKey(first)), r.ref[8:]...)
		r.At = first.Add(time.Duration(rapid.Int64Range(-1<<40, 1<<40).Draw(t, "delta"))).UTC()
	}
	a := &r.Alert
	a.SubscriptionID = rapid.Uint64().Draw(t, "sub")
	a.Query = rapid.String().Draw(t, "query")
	a.Matched = rapid.SliceOfN(rapid.String(), 0, 5).Draw(t, "matched")
	if len(a.Matched) == 0 {
		a.Matched = nil
	}
	n := rapid.IntRange(0, 4).Draw(t, "outlets")
	for range n {
		a.Also = append(a.Also, chat.Outlet{Source: rapid.String().Draw(t, "source"), Title: rapid.String().Draw(t, "title"), Link: rapid.String().Draw(t, "link")})
	}
	a.Number, a.ClusterID = r.AlertSeq, r.ClusterID
	return clusterKey(chatKey, keyID), r
}

func TestClusterRecordRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		key, r := drawClusterRecord(t)
		v, err := encodeClusterRecord(nil, key, &r)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if v[0] != markClusterRef {
			t.Fatalf("stored as %q, want compact", v)
		}
		got, err := decodeClusterRecord(key, v)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
		at, muted, err := clusterHead(v)
		if err != nil || !at.Equal(r.At) || at.IsZero() != r.At.IsZero() || muted != r.Muted {
			t.Fatalf("head: %v %v %v, want %v %v", at, muted, err, r.At, r.Muted)
		}
		if !bytes.Equal(clusterRef(v), r.ref) {
			t.Fatalf("clusterRef %x, want %x", clusterRef(v), r.ref)
		}
	})
}

// A record that cannot name its story, or whose alert is not the one
// placeAlert makes, is stored whole as JSON; a compact one read and not
// resolved cannot be, since it lacks the story.
func TestClusterRecordFallsBackToJSON(t *testing.T) {
	key := clusterKey("telegram:1", "c1")
	whole := clusterRecord{ClusterAlert: ClusterAlert{
		To: addr("telegram", "1"), ClusterID: "c1", AlertSeq: 3, At: t0,
		Alert: chat.Alert{StoryID: "s", Title: "T", ClusterID: "c1", Number: 3},
	}, resolved: true}
	for name, change := range map[string]func(r *clusterRecord){
		"no story":      func(r *clusterRecord) {},
		"other number":  func(r *clusterRecord) { r.ref, r.Alert.Number = make([]byte, 16), 4 },
		"other cluster": func(r *clusterRecord) { r.ref, r.Alert.ClusterID = make([]byte, 16), "c2" },
	} {
		r := whole
		change(&r)
		v, err := encodeClusterRecord(nil, key, &r)
		if err != nil || v[0] != '{' {
			t.Errorf("%s: stored as %q, %v; want JSON", name, v, err)
			continue
		}
		got, err := decodeClusterRecord(key, v)
		if err != nil || !reflect.DeepEqual(got.ClusterAlert, r.ClusterAlert) {
			t.Errorf("%s: read back %+v, %v", name, got, err)
		}
	}
	r := whole
	r.ref, r.resolved, r.Alert.Number = make([]byte, 16), false, 4
	if v, err := encodeClusterRecord(nil, key, &r); err == nil {
		t.Errorf("unresolved record stored whole as %q", v)
	}
}

// A damaged compact record is an error, never a panic or a record made
// up of the damage.
func TestClusterRecordDamaged(t *testing.T) {
	key := clusterKey("telegram:42", "c1")
	r := clusterRecord{ref: shortRef(recentKey(t0, "g1")), ClusterAlert: ClusterAlert{
		To: addr("telegram", "42"), ClusterID: "c1", AlertSeq: 9, PendingEdit: 11, At: t0.Add(time.Second),
		Alert: chat.Alert{SubscriptionID: 7, Query: "witkoff", Matched: []string{"witkoff", "gaza"}, ClusterID: "c1", Number: 9,
			Also: []chat.Outlet{{Source: "ap", Title: "Talks", Link: "https://ap.example/1"}}},
	}}
	v, err := encodeClusterRecord(nil, key, &r)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(v) {
		if _, err := decodeClusterRecord(key, v[:n]); err == nil {
			t.Errorf("record cut to %d of %d bytes decoded", n, len(v))
		}
		if n < clusterHeadLen+1 { // the head ends with At's first byte
			if _, _, err := clusterHead(v[:n]); err == nil {
				t.Errorf("head of a record cut to %d bytes decoded", n)
			}
		}
	}
	if _, err := decodeClusterRecord(key, append(bytes.Clone(v), 0)); err == nil {
		t.Error("record with a trailing byte decoded")
	}
	for name, damage := range map[string]func(b []byte){
		"unknown flag":       func(b []byte) { b[1] |= 0x80 },
		"no time and a diff": func(b []byte) { b[1] |= clusterNoAt },
		"huge matched count": func(b []byte) { b[bytes.Index(b, []byte("witkoff"))+len("witkoff")] = 0x7f },
	} {
		b := bytes.Clone(v)
		damage(b)
		if got, err := decodeClusterRecord(key, b); err == nil {
			t.Errorf("%s: decoded as %+v", name, got)
		}
	}
	if _, _, err := clusterHead(append([]byte{markClusterRef, 0x80}, make([]byte, 20)...)); err == nil {
		t.Error("head with an unknown flag decoded")
	}
	// An outlet not listed takes the whole record to tell.
	for n := 1; n < len(v); n++ {
		if _, err := clusterOutletKnown(v[:n], "bbc"); err == nil {
			t.Errorf("outlet check of a record cut to %d of %d bytes passed", n, len(v))
		}
	}
	if known, err := clusterOutletKnown(v, "ap"); err != nil || !known {
		t.Errorf("clusterOutletKnown(ap) = %v, %v; want listed", known, err)
	}
	if _, err := decodeClusterRecord(key, []byte("{not json")); err == nil {
		t.Error("damaged JSON record decoded")
	}
}

func FuzzDecodeClusterRecord(f *testing.F) {
	key := clusterKey("discord:1", "c1")
	r := clusterRecord{ref: shortRef(recentKey(t0, "g")), ClusterAlert: ClusterAlert{
		To: addr("discord", "1"), ClusterID: "c1", AlertSeq: 2, At: t0,
		Alert: chat.Alert{Query: "q", Matched: []string{"a"}, ClusterID: "c1", Number: 2, Also: []chat.Outlet{{Source: "x"}}},
	}}
	v, err := encodeClusterRecord(nil, key, &r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v)
	r.ClusterID, r.Alert.ClusterID, r.Muted = "c0", "c0", true
	if v, err = encodeClusterRecord(nil, key, &r); err != nil {
		f.Fatal(err)
	}
	f.Add(v)
	f.Add([]byte{markClusterRef})
	f.Add([]byte(`{"to":{"platform":"discord","chat":"1"},"cluster_id":"c1","alert_seq":2,"at":"2025-03-01T12:00:00Z"}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodeClusterRecord(key, v)
		at, muted, herr := clusterHead(v)
		if err != nil {
			return
		}
		if herr != nil || !at.Equal(got.At) || muted != got.Muted {
			t.Errorf("record %+v decoded, head %v %v %v", got, at, muted, herr)
		}
		if !isClusterCompact(v) {
			return
		}
		// The outlet check without decoding agrees with the decoded
		// record.
		sources := []string{"x", ""}
		if len(got.Alert.Also) > 0 {
			sources = append(sources, got.Alert.Also[len(got.Alert.Also)-1].Source)
		}
		for _, src := range sources {
			want := len(got.Alert.Also) >= maxOutlets || listed(got.Alert.Also, src)
			if known, err := clusterOutletKnown(v, src); err != nil || known != want {
				t.Errorf("clusterOutletKnown(%q) = %v, %v; decoded record says %v", src, known, err, want)
			}
		}
		// What decodes survives a round trip unchanged.
		enc, err := encodeClusterRecord(nil, key, &got)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", got, err)
		}
		again, err := decodeClusterRecord(key, enc)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("decoded %+v, after a round trip %+v, %v", got, again, err)
		}
	})
}

// rawClusterRecords returns the stored cluster records by key.
func rawClusterRecords(t *testing.T, db *DB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketClusterAlerts).ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A chat's first alert of a cluster is remembered compact, stays compact
// through an edit, a mute and a move, and reads back whole: story fields
// from the story, the rest from the record.
func TestClusterRecordsStoredCompact(t *testing.T) {
	db, _ := openTemp(t)
	a, moved := addr("telegram", "-1"), addr("telegram", "-1001")
	s1 := outletStory("s1", "reuters")
	s1.Summary = "Talks ended late."
	m := clusteredAlert(a, s1, "c1", t0)
	m.Alert.Summary, m.Alert.Query, m.Alert.Matched = s1.Summary, "talks", []string{"talks"}
	first := commitOne(t, db, s1, m)[0]
	key := string(clusterKey(a.Key(), "c1"))
	compact := func(when string, key string) {
		t.Helper()
		v := rawClusterRecords(t, db)[key]
		if !isClusterCompact(v) {
			t.Fatalf("%s: record %q, want compact", when, v)
		}
	}
	compact("first alert", key)
	if v := rawClusterRecords(t, db)[key]; len(v) > 64 {
		t.Errorf("compact record of %d bytes: %x", len(v), v)
	}
	s2 := outletStory("s2", "ap")
	m2 := clusteredAlert(a, s2, "c1", t0.Add(time.Minute))
	m2.Alert.Matched = []string{"deal"}
	if q := commitOne(t, db, s2, m2); len(q) != 1 || q[0].Kind != chat.KindEdit {
		t.Fatalf("second outlet queued %+v", q)
	}
	compact("after an edit", key)

	db, _ = reopen(t, db)
	want := chat.Alert{
		StoryID: "s1", Source: "reuters", Title: s1.Title, Link: s1.Link, Published: s1.Published, Summary: s1.Summary,
		SubscriptionID: 1, Query: "talks", Matched: []string{"talks", "deal"}, ClusterID: "c1", Number: first.Seq,
		Also: []chat.Outlet{{Source: "ap", Title: s2.Title, Link: s2.Link}},
	}
	rec, err := db.ClusterAlert(a.Key(), first.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.At.Equal(t0) || rec.AlertSeq != first.Seq || rec.To != a || rec.ClusterID != "c1" || rec.Muted || rec.PendingEdit == 0 {
		t.Errorf("record %+v", rec)
	}
	if !reflect.DeepEqual(rec.Alert, want) {
		t.Errorf("alert read back\n %+v\nwant %+v", rec.Alert, want)
	}
	got, err := db.MuteAlert(a.Key(), first.Seq)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("MuteAlert = %+v, %v; want %+v", got, err, want)
	}
	compact("after a mute", key)
	if _, err := db.MoveChat(a, moved); err != nil {
		t.Fatal(err)
	}
	compact("after a move", string(clusterKey(moved.Key(), "c1")))
	if rec, err := db.ClusterAlert(moved.Key(), first.Seq); err != nil || !rec.Muted || rec.To != moved || rec.Alert.Title != s1.Title {
		t.Errorf("after the move: %+v, %v", rec, err)
	}
}

// Records written as JSON before schema v5 are read, edited, muted and
// pruned as they were, and stay JSON.
func TestClusterRecordsReadJSON(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("telegram", "1")
	old := ClusterAlert{To: a, ClusterID: "c1", AlertSeq: 1, At: t0, Alert: chat.Alert{
		StoryID: "old", Source: "bbc", Title: "Old", Link: "https://bbc.example/old", Published: t0, Summary: "Old news.",
		SubscriptionID: 4, Query: "old", Matched: []string{"old"}, ClusterID: "c1", Number: 1,
	}}
	key := clusterKey(a.Key(), "c1")
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		seq, err := bucket(tx, bucketOutbox).NextSequence() // the alert, sent since
		if err != nil {
			return err
		}
		// Written as schema v4 wrote it.
		v, err := json.Marshal(old)
		if err != nil {
			return err
		}
		if err := bucket(tx, bucketClusterAlerts).Put(key, v); err != nil {
			return err
		}
		return bucket(tx, bucketClusterSeqs).Put(u64(seq), key)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.AlertInfo(a.Key(), 1); err != nil || !reflect.DeepEqual(got, old.Alert) {
		t.Fatalf("AlertInfo = %+v, %v; want %+v", got, err, old.Alert)
	}
	s2 := outletStory("s2", "ap")
	q := commitOne(t, db, s2, clusteredAlert(a, s2, "c1", t0.Add(time.Minute)))
	if len(q) != 1 || q[0].Kind != chat.KindEdit || q[0].EditOf != 1 || q[0].Alert.Title != "Old" || len(q[0].Alert.Also) != 1 {
		t.Fatalf("new outlet of the old alert queued %+v", q)
	}
	if v := rawClusterRecords(t, db)[string(key)]; v[0] != '{' {
		t.Errorf("edited JSON record now %q", v)
	}
	if got, err := db.MuteAlert(a.Key(), 1); err != nil || got.Title != "Old" || len(got.Also) != 1 {
		t.Errorf("MuteAlert = %+v, %v", got, err)
	}
	if n, err := db.PruneClusterAlerts(t0.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneClusterAlerts = %d, %v; want 1", n, err)
	}
}

// Prune keeps a story while a compact cluster record refers to it, so an
// old alert's /why still shows its title, and forgets it once the record
// is pruned too.
func TestPruneKeepsStoriesOfClusterRecords(t *testing.T) {
	db, clk := openTemp(t)
	a := addr("telegram", "1")
	s1 := outletStory("s1", "reuters")
	s1.FirstSeen = t0
	first := commitOne(t, db, s1, clusteredAlert(a, s1, "c1", t0))[0]
	s2 := outletStory("s2", "ap") // no cluster record refers to it
	s2.FirstSeen = t0
	commitOne(t, db, s2)
	// Sent: no outbox record refers to s1 any more.
	if err := db.Ack(first.Seq, chat.Sent{MessageID: "m"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(72 * time.Hour))
	cut := t0.Add(48 * time.Hour)
	if _, err := db.Prune(cut); err != nil {
		t.Fatal(err)
	}
	recent, err := db.RecentStories(time.Time{})
	if err != nil || len(recent) != 1 || recent[0].ID != "s1" {
		t.Fatalf("after prune, recent = %+v, %v; want s1 only", recent, err)
	}
	if got, err := db.AlertInfo(a.Key(), first.Seq); err != nil || got.Title != s1.Title {
		t.Errorf("/why of the old alert: %+v, %v", got, err)
	}
	if n, err := db.PruneClusterAlerts(cut); err != nil || n != 1 {
		t.Fatalf("PruneClusterAlerts = %d, %v; want 1", n, err)
	}
	if _, err := db.Prune(cut); err != nil {
		t.Fatal(err)
	}
	if recent, _ := db.RecentStories(time.Time{}); len(recent) != 0 {
		t.Errorf("after the record went, recent = %+v; want none", recent)
	}
}

// Should a compact record's story be gone all the same (a damaged file),
// /why fails with ErrNotFound, /mute still mutes, and a later outlet of
// the cluster becomes a new alert instead of failing the poll.
func TestClusterRecordWithoutItsStory(t *testing.T) {
	for _, mute := range []bool{false, true} {
		db, _ := openTemp(t)
		a := addr("telegram", "1")
		s1 := outletStory("s1", "reuters")
		first := commitOne(t, db, s1, clusteredAlert(a, s1, "c1", t0))[0]
		if err := db.Ack(first.Seq, chat.Sent{MessageID: "m"}); err != nil {
			t.Fatal(err)
		}
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			return bucket(tx, bucketRecent).Delete(recentKey(t0, "s1"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AlertInfo(a.Key(), first.Seq); !errors.Is(err, ErrNotFound) {
			t.Errorf("AlertInfo without the story: %v, want ErrNotFound", err)
		}
		s2 := outletStory("s2", "ap")
		if mute {
			got, err := db.MuteAlert(a.Key(), first.Seq)
			if err != nil || got.Number != first.Seq || got.ClusterID != "c1" || got.Title != "" {
				t.Errorf("MuteAlert without the story = %+v, %v", got, err)
			}
			if q := commitOne(t, db, s2, clusteredAlert(a, s2, "c1", t0.Add(time.Minute))); len(q) != 0 {
				t.Errorf("muted cluster queued %+v", q)
			}
			continue
		}
		q := commitOne(t, db, s2, clusteredAlert(a, s2, "c1", t0.Add(time.Minute)))
		if len(q) != 1 || q[0].Kind != chat.KindAlert || q[0].Alert.StoryID != "s2" {
			t.Fatalf("outlet of an alert without its story queued %+v, want a new alert", q)
		}
		if got, err := db.AlertInfo(a.Key(), q[0].Seq); err != nil || got.StoryID != "s2" {
			t.Errorf("the new alert reads %+v, %v", got, err)
		}
	}
}

// Edits of alerts whose first stories differ, queued in one transaction,
// each show their own first story: the stories read for edits are kept
// by shortRef, never mixed up.
func TestEditsInOneCommitShowTheirOwnStories(t *testing.T) {
	db, _ := openTemp(t)
	a, b := addr("telegram", "1"), addr("telegram", "2")
	s1, s2 := outletStory("s1", "reuters"), outletStory("s2", "afp")
	s1.Title, s2.Title = "Talks end", "Storm nears"
	q, err := db.CommitPoll(SourceState{}, []NewStory{
		{Story: s1, Messages: []chat.Message{clusteredAlert(a, s1, "c1", t0), clusteredAlert(b, s1, "c1", t0)}},
		{Story: s2, Messages: []chat.Message{clusteredAlert(a, s2, "c2", t0)}},
	})
	if err != nil || len(q) != 3 {
		t.Fatalf("first poll queued %+v, %v", q, err)
	}
	s3, s4 := outletStory("s3", "ap"), outletStory("s4", "ap")
	q, err = db.CommitPoll(SourceState{}, []NewStory{
		{Story: s3, Messages: []chat.Message{clusteredAlert(a, s3, "c1", t0.Add(time.Minute)), clusteredAlert(b, s3, "c1", t0.Add(time.Minute))}},
		{Story: s4, Messages: []chat.Message{clusteredAlert(a, s4, "c2", t0.Add(time.Minute))}},
	})
	if err != nil || len(q) != 3 {
		t.Fatalf("second poll queued %+v, %v", q, err)
	}
	for i, want := range []string{"Talks end", "Talks end", "Storm nears"} {
		if q[i].Kind != chat.KindEdit || q[i].Alert.Title != want || len(q[i].Alert.Also) != 1 {
			t.Errorf("edit %d: %s %q also %+v, want an edit of %q", i, q[i].Kind, q[i].Alert.Title, q[i].Alert.Also, want)
		}
	}
}
