package storage

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
)

// TestMigrateV1FileToV2 writes a file the way schema v1 laid it out (no
// sources_added bucket), with a source state in it, and opens it with this
// build: the file is upgraded in place and keeps its data.
func TestMigrateV1FileToV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v1 := []string{bucketMeta, bucketSubs, bucketSubsByChat, bucketSeenIDs, bucketSeenLinks,
		bucketRecent, bucketOutbox, bucketDelivered, bucketDead, bucketSources, bucketKV}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range v1 {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte(bucketSources)).Put([]byte("Wire"), []byte(`{"Name":"Wire","URL":"https://wire.example/feed","Initialized":true}`)); err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(keySchemaVersion), u64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	db, _ := openAt(t, path)
	var v uint64
	var hasBucket bool
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		hasBucket = tx.Bucket([]byte(bucketSourcesAdded)) != nil
		v, err = readVersion(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion || !hasBucket {
		t.Fatalf("after open: schema v%d, sources_added bucket %t; want v%d and the bucket", v, hasBucket, SchemaVersion)
	}
	st, err := db.SourceState("Wire")
	if err != nil || !st.Initialized || st.URL != "https://wire.example/feed" {
		t.Fatalf("v1 source state after migration = %+v, %v", st, err)
	}
	if err := db.AddSource(AddedSource{Name: "Added", URL: "https://added.example/rss"}); err != nil {
		t.Fatalf("AddSource on a migrated file: %v", err)
	}
	// And the migrated file opens read-only, as a v2 file should.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("read-only open of the migrated file: %v", err)
	}
	defer ro.Close()
	added, err := ro.AddedSources()
	if err != nil || len(added) != 1 || added[0].Name != "Added" {
		t.Fatalf("AddedSources = %+v, %v", added, err)
	}
}

func TestAddedSources(t *testing.T) {
	db, clk := openTemp(t)
	if err := db.AddSource(AddedSource{Name: "Meduza", URL: "https://meduza.io/rss/en", By: "telegram:7"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSource(AddedSource{Name: "Axios", URL: "https://axios.example/feed"}); err != nil {
		t.Fatal(err)
	}
	t.Run("a clash ignoring case is refused", func(t *testing.T) {
		err := db.AddSource(AddedSource{Name: "MEDUZA", URL: "https://other.example/"})
		if !errors.Is(err, ErrSourceExists) {
			t.Fatalf("AddSource(MEDUZA) = %v, want ErrSourceExists", err)
		}
	})
	t.Run("an empty name is refused", func(t *testing.T) {
		if err := db.AddSource(AddedSource{Name: " ", URL: "https://x.example/"}); err == nil {
			t.Fatal("AddSource with a blank name succeeded")
		}
	})
	db, _ = reopen(t, db) // with the test's t: the reopened file outlives the subtests
	t.Run("kept across a restart, ordered by name, stamped", func(t *testing.T) {
		got, err := db.AddedSources()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "Axios" || got[1].Name != "Meduza" || got[1].By != "telegram:7" || !got[1].At.Equal(clk.Now()) {
			t.Fatalf("AddedSources = %+v", got)
		}
	})
	t.Run("remove deletes the record and its poll state", func(t *testing.T) {
		if err := db.PutSourceState(SourceState{Name: "Meduza", URL: "https://meduza.io/rss/en", Initialized: true}); err != nil {
			t.Fatal(err)
		}
		removed, err := db.RemoveAddedSource("meduza")
		if err != nil || removed.URL != "https://meduza.io/rss/en" {
			t.Fatalf("RemoveAddedSource = %+v, %v", removed, err)
		}
		if _, err := db.SourceState("Meduza"); !errors.Is(err, ErrNotFound) {
			t.Errorf("state after removal: %v, want ErrNotFound", err)
		}
		if _, err := db.RemoveAddedSource("Meduza"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second removal: %v, want ErrNotFound", err)
		}
		got, _ := db.AddedSources()
		if len(got) != 1 || got[0].Name != "Axios" {
			t.Errorf("left %+v, want only Axios", got)
		}
	})
}

func TestEnqueueAndPut(t *testing.T) {
	db, _ := openTemp(t)
	to := chat.Address{Platform: "telegram", Chat: "-100"}
	got, err := db.EnqueueAndPut([]chat.Message{{To: to, Kind: chat.KindText, Text: "source down"}}, "k", []byte("v"))
	if err != nil || len(got) != 1 || got[0].Seq == 0 {
		t.Fatalf("EnqueueAndPut = %+v, %v", got, err)
	}
	if v, err := db.Get("k"); err != nil || string(v) != "v" {
		t.Errorf("Get(k) = %q, %v", v, err)
	}
	pending, _ := db.Pending()
	if len(pending) != 1 || pending[0].Text != "source down" {
		t.Errorf("outbox = %+v", pending)
	}
	if _, err := db.EnqueueAndPut([]chat.Message{{To: to, Kind: chat.KindText, Text: "x"}}, "", nil); err == nil {
		t.Error("an empty key was accepted")
	}
	if pending, _ := db.Pending(); len(pending) != 1 {
		t.Errorf("a failed EnqueueAndPut left %d messages, want the 1 from before", len(pending))
	}
	if err := db.DeleteKey("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after DeleteKey: %v", err)
	}
}
