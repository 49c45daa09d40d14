package storage

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
)

// walkOutbox counts the outbox's keys, as OutboxLen once did.
func walkOutbox(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketOutbox).ForEach(func(k, v []byte) error {
			n++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOutboxLenFollowsEveryChange checks the kept count against a walk of
// the outbox after each way a message enters or leaves it: alerts, an edit
// replacing the waiting edit, an edit after the waiting one was sent, a
// mute removing the waiting edit, replies, delivery, a dead letter, a
// moved chat, a transaction that fails, and a reopened file.
func TestOutboxLenFollowsEveryChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontwire.db")
	db, _ := openAt(t, path)
	check := func(step string, want int) {
		t.Helper()
		got, err := db.OutboxLen()
		if err != nil {
			t.Fatal(err)
		}
		if walked := walkOutbox(t, db); got != walked || got != want {
			t.Fatalf("%s: OutboxLen %d, walk %d, want %d", step, got, walked, want)
		}
	}
	a, b := addr("telegram", "1"), addr("telegram", "2")
	s1, s2, s3 := outletStory("s1", "reuters"), outletStory("s2", "ap"), outletStory("s3", "bbc")
	check("empty", 0)

	first := commitOne(t, db, s1, clusteredAlert(a, s1, "c1", t0), clusteredAlert(b, s1, "c1", t0))
	check("two alerts", 2)
	edit := commitOne(t, db, s2, clusteredAlert(a, s2, "c1", t0.Add(time.Minute)))[0]
	check("an edit", 3)
	commitOne(t, db, s3, clusteredAlert(a, s3, "c1", t0.Add(2*time.Minute)))
	check("the edit replaced", 3)

	// b's edit is sent before the next outlet: that outlet's edit has no
	// waiting edit left to replace.
	s4, s5 := outletStory("s4", "dw"), outletStory("s5", "afp")
	bEdit := commitOne(t, db, s4, clusteredAlert(b, s4, "c1", t0.Add(time.Minute)))[0]
	check("b's edit", 4)
	if err := db.Ack(bEdit.Seq, chat.Sent{}); err != nil {
		t.Fatal(err)
	}
	check("b's edit sent", 3)
	if q := commitOne(t, db, s5, clusteredAlert(b, s5, "c1", t0.Add(2*time.Minute))); len(q) != 1 || q[0].Kind != chat.KindEdit {
		t.Fatalf("b's next outlet queued %+v, want one edit", q)
	}
	check("b's next edit", 4)

	if _, err := db.MuteAlert(a.Key(), first[0].Alert.Number); err != nil {
		t.Fatal(err)
	}
	check("a muted: its waiting edit removed", 3)
	if ok, _ := db.Queued(edit.Seq); ok {
		t.Fatalf("edit %d still queued", edit.Seq)
	}

	if _, err := db.Enqueue([]chat.Message{textMsg(a, "one"), textMsg(a, "two")}); err != nil {
		t.Fatal(err)
	}
	check("two replies", 5)
	if err := db.Ack(first[0].Seq, chat.Sent{}); err != nil {
		t.Fatal(err)
	}
	check("an alert sent", 4)
	if err := db.Ack(first[0].Seq, chat.Sent{}); err == nil {
		t.Fatal("a second Ack of one message succeeded")
	}
	check("a second Ack refused", 4)
	if err := db.Drop(first[1].Seq, "rejected"); err != nil {
		t.Fatal(err)
	}
	check("a dead letter", 3)
	if _, err := db.MoveChat(a, addr("telegram", "9")); err != nil {
		t.Fatal(err)
	}
	check("a moved chat", 3)

	// A write that fails after queueing one message and taking another
	// commits nothing and counts nothing.
	replies, err := db.Enqueue([]chat.Message{textMsg(a, "kept")})
	if err != nil {
		t.Fatal(err)
	}
	check("a reply to take", 4)
	if err := db.update(func(tx *bolt.Tx) error {
		if _, err := enqueue(bucket(tx, bucketOutbox), textMsg(a, "lost"), t0); err != nil {
			return err
		}
		if _, err := db.take(tx, replies[0].Seq); err != nil {
			return err
		}
		return errEmptyKey
	}); err == nil {
		t.Fatal("the failing write succeeded")
	}
	check("a failed write", 4)

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, _ = openAt(t, path)
	check("reopened", 4)
	if _, err := db.Enqueue([]chat.Message{textMsg(a, "three")}); err != nil {
		t.Fatal(err)
	}
	check("a reply after reopening", 5)
}
