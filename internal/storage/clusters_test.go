package storage

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/story"
)

// clusteredAlert is the message the pipeline makes for story s of cluster
// cid in chat a. It carries the story's fields, so its cluster record is
// stored compact (cluster_codec.go).
func clusteredAlert(a chat.Address, s story.Story, cid string, at time.Time) chat.Message {
	m := storyAlert(a, s, 1)
	m.Alert.ClusterID = cid
	m.Created = at
	return m
}

func outletStory(id, source string) story.Story {
	s := mkStory(id, "https://"+source+".example/"+id, "Talks end without deal ("+source+")")
	s.Source = source
	return s
}

func commitOne(t *testing.T, db *DB, s story.Story, msgs ...chat.Message) []chat.Message {
	t.Helper()
	q, err := db.CommitPoll(SourceState{}, []NewStory{{Story: s, Messages: msgs}})
	if err != nil {
		t.Fatalf("CommitPoll: %v", err)
	}
	return q
}

func TestClusteredAlertsBecomeOneAlertAndOneReplacedEdit(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("telegram", "1")
	other := addr("telegram", "2")

	s1 := outletStory("s1", "reuters")
	q := commitOne(t, db, s1, clusteredAlert(a, s1, "c1", t0), clusteredAlert(other, s1, "c1", t0))
	if len(q) != 2 || q[0].Kind != chat.KindAlert || q[0].Alert.Number != q[0].Seq {
		t.Fatalf("first story: got %+v, want two numbered alerts", q)
	}
	first := q[0]

	s2 := outletStory("s2", "ap")
	q = commitOne(t, db, s2, clusteredAlert(a, s2, "c1", t0.Add(time.Minute)))
	if len(q) != 1 || q[0].Kind != chat.KindEdit || q[0].EditOf != first.Seq {
		t.Fatalf("second outlet: got %+v, want one edit of %d", q, first.Seq)
	}
	if got := q[0].Alert.Also; len(got) != 1 || got[0].Source != "ap" || q[0].Alert.Number != first.Seq {
		t.Fatalf("edit's alert: Also %+v number %d", got, q[0].Alert.Number)
	}
	edit1 := q[0].Seq

	// A third outlet while the edit still waits: the waiting edit is
	// replaced, not joined by a second one.
	s3 := outletStory("s3", "bbc")
	q = commitOne(t, db, s3, clusteredAlert(a, s3, "c1", t0.Add(2*time.Minute)))
	if len(q) != 1 || q[0].Kind != chat.KindEdit || len(q[0].Alert.Also) != 2 {
		t.Fatalf("third outlet: got %+v", q)
	}
	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	edits := 0
	for _, m := range pending {
		if m.Kind == chat.KindEdit {
			edits++
			if m.Seq == edit1 {
				t.Errorf("replaced edit %d still in the outbox", edit1)
			}
		}
	}
	if edits != 1 {
		t.Errorf("outbox holds %d edits, want 1", edits)
	}
	if ok, _ := db.Queued(edit1); ok {
		t.Errorf("Queued(%d) = true after replacement", edit1)
	}

	// The same outlet again adds nothing.
	s4 := outletStory("s4", "bbc")
	if q = commitOne(t, db, s4, clusteredAlert(a, s4, "c1", t0.Add(3*time.Minute))); len(q) != 0 {
		t.Errorf("repeated outlet queued %+v", q)
	}

	// After the edit window a story of the cluster is a new alert.
	s5 := outletStory("s5", "dw")
	q = commitOne(t, db, s5, clusteredAlert(a, s5, "c1", t0.Add(DefaultEditWindow+time.Minute)))
	if len(q) != 1 || q[0].Kind != chat.KindAlert {
		t.Fatalf("after window: got %+v, want a new alert", q)
	}

	// /why reads the first alert by its number, only from its own chat.
	info, err := db.AlertInfo(a.Key(), first.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if info.Source != "dw" {
		t.Errorf("AlertInfo = %+v", info)
	}
	if _, err := db.AlertInfo("telegram:999", first.Seq); !errors.Is(err, ErrNotFound) {
		t.Errorf("AlertInfo from another chat: err %v, want ErrNotFound", err)
	}
}

func TestMuteAlertStopsEditsAndRemovesTheWaitingOne(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("discord", "42")
	s1, s2, s3 := outletStory("s1", "reuters"), outletStory("s2", "ap"), outletStory("s3", "bbc")
	first := commitOne(t, db, s1, clusteredAlert(a, s1, "c9", t0))[0]
	edit := commitOne(t, db, s2, clusteredAlert(a, s2, "c9", t0.Add(time.Minute)))[0]

	got, err := db.MuteAlert(a.Key(), first.Alert.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.StoryID != "s1" {
		t.Errorf("MuteAlert returned %+v", got)
	}
	if ok, _ := db.Queued(edit.Seq); ok {
		t.Errorf("edit %d still queued after mute", edit.Seq)
	}
	if q := commitOne(t, db, s3, clusteredAlert(a, s3, "c9", t0.Add(2*time.Minute))); len(q) != 0 {
		t.Errorf("muted cluster queued %+v", q)
	}
	if _, err := db.MuteAlert("discord:43", first.Alert.Number); !errors.Is(err, ErrNotFound) {
		t.Errorf("mute from another chat: %v, want ErrNotFound", err)
	}
}

func TestClusterRecordsSurviveReopenAndPrune(t *testing.T) {
	db, _ := openTemp(t)
	a := addr("telegram", "7")
	s1, s2 := outletStory("s1", "reuters"), outletStory("s2", "ap")
	first := commitOne(t, db, s1, clusteredAlert(a, s1, "c1", t0))[0]

	db, _ = reopen(t, db)
	q := commitOne(t, db, s2, clusteredAlert(a, s2, "c1", t0.Add(time.Minute)))
	if len(q) != 1 || q[0].Kind != chat.KindEdit || q[0].EditOf != first.Seq {
		t.Fatalf("after reopen: got %+v, want an edit of %d", q, first.Seq)
	}
	n, err := db.PruneClusterAlerts(t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneClusterAlerts = %d, %v; want 1", n, err)
	}
	if _, err := db.AlertInfo(a.Key(), first.Seq); !errors.Is(err, ErrNotFound) {
		t.Errorf("after prune: %v, want ErrNotFound", err)
	}
}

// TestMergedClusterFindsAlertUnderOldID: a chat got its alert of an event
// under a cluster ID that was later merged into an older cluster. A story
// filed under the older (canonical) ID edits that alert, and a mute of it
// holds, when the policy lists merged IDs through Merged.
func TestMergedClusterFindsAlertUnderOldID(t *testing.T) {
	// The merge of "young" into "root", listed from the root.
	merged := func(root string) []string {
		if root == "root" {
			return []string{"young", "root"}
		}
		return nil
	}
	tests := []struct {
		name   string
		policy ClusterPolicy
		mute   bool
		want   chat.MessageKind // of the one message queued; "" for none
	}{
		{"without Merged a second alert", ClusterPolicy{}, false, chat.KindAlert},
		{"edit, found through Merged", ClusterPolicy{Merged: merged}, false, chat.KindEdit},
		{"muted, found through Merged", ClusterPolicy{Merged: merged}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTemp(t)
			db.SetClusterPolicy(tt.policy)
			a := addr("telegram", "1")
			s1 := outletStory("s1", "reuters")
			q := commitOne(t, db, s1, clusteredAlert(a, s1, "young", t0))
			if len(q) != 1 || q[0].Kind != chat.KindAlert {
				t.Fatalf("first story: %+v", q)
			}
			first := q[0]
			if tt.mute {
				if _, err := db.MuteAlert(a.Key(), first.Alert.Number); err != nil {
					t.Fatal(err)
				}
			}
			s2 := outletStory("s2", "ap")
			q = commitOne(t, db, s2, clusteredAlert(a, s2, "root", t0.Add(time.Minute)))
			if tt.want == "" {
				if len(q) != 0 {
					t.Fatalf("muted event queued %+v", q)
				}
				return
			}
			if len(q) != 1 || q[0].Kind != tt.want {
				t.Fatalf("second story queued %+v, want one %v", q, tt.want)
			}
			if tt.want == chat.KindEdit {
				if q[0].EditOf != first.Seq || len(q[0].Alert.Also) != 1 || q[0].Alert.Also[0].Source != "ap" {
					t.Errorf("edit %+v, want an edit of %d listing ap", q[0], first.Seq)
				}
				// A third story edits the same alert again: the record
				// found under the old ID was kept there.
				s3 := outletStory("s3", "bbc")
				q = commitOne(t, db, s3, clusteredAlert(a, s3, "root", t0.Add(2*time.Minute)))
				if len(q) != 1 || q[0].Kind != chat.KindEdit || q[0].EditOf != first.Seq || len(q[0].Alert.Also) != 2 {
					t.Errorf("third story queued %+v, want an edit of %d listing two outlets", q, first.Seq)
				}
			}
		})
	}
}

// TestMigrateV5ClusterKeys: a v5 file's cluster records, keyed chat
// first, are re-keyed cluster first on open (migrateV5toV6), and the chats'
// alerts still answer /why, get edited and stay muted.
func TestMigrateV5ClusterKeys(t *testing.T) {
	db, _ := openTemp(t)
	a, b := addr("telegram", "1"), addr("discord", "2")
	s1 := outletStory("s1", "reuters")
	q := commitOne(t, db, s1, clusteredAlert(a, s1, "c1", t0), clusteredAlert(b, s1, "c1", t0))
	if len(q) != 2 {
		t.Fatalf("first story queued %+v", q)
	}
	if _, err := db.MuteAlert(b.Key(), q[1].Alert.Number); err != nil {
		t.Fatal(err)
	}
	// Turn the file into v5's layout: records under "cluster_alerts"
	// keyed chat, 0, cluster, and alert numbers naming those keys.
	v5key := func(k []byte) []byte {
		id, chatKey, _ := splitClusterKey(k)
		return append(append(append([]byte(nil), chatKey...), 0), id...)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		old, err := tx.CreateBucket([]byte("cluster_alerts"))
		if err != nil {
			return err
		}
		if err := bucket(tx, bucketClusterAlerts).ForEach(func(k, v []byte) error { return old.Put(v5key(k), v) }); err != nil {
			return err
		}
		nums := bucket(tx, bucketClusterSeqs)
		var renumber [][2][]byte
		if err := nums.ForEach(func(k, v []byte) error {
			renumber = append(renumber, [2][]byte{append([]byte(nil), k...), v5key(v)})
			return nil
		}); err != nil {
			return err
		}
		for _, r := range renumber {
			if err := nums.Put(r[0], r[1]); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket([]byte(bucketClusterAlerts)); err != nil {
			return err
		}
		return bucket(tx, bucketMeta).Put([]byte(keySchemaVersion), u64(5))
	})
	if err != nil {
		t.Fatal(err)
	}
	db, _ = reopen(t, db)
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("cluster_alerts")) != nil {
			t.Error("the v5 bucket is still there")
		}
		if n := bucket(tx, bucketClusterAlerts).Stats().KeyN; n != 2 {
			t.Errorf("%d cluster records after the migration, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := db.AlertInfo(a.Key(), q[0].Alert.Number); err != nil || info.Title != s1.Title {
		t.Fatalf("AlertInfo after the migration = %+v, %v", info, err)
	}
	s2 := outletStory("s2", "ap")
	q2 := commitOne(t, db, s2, clusteredAlert(a, s2, "c1", t0.Add(time.Minute)), clusteredAlert(b, s2, "c1", t0.Add(time.Minute)))
	if len(q2) != 1 || q2[0].Kind != chat.KindEdit || q2[0].EditOf != q[0].Seq || q2[0].To != a {
		t.Fatalf("second story queued %+v; want one edit of chat a's alert %d (chat b muted it)", q2, q[0].Seq)
	}
}
