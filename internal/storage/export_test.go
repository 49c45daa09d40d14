package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
)

// filled opens a temp database holding 3 subscriptions, 2 outbox messages
// and 1 source state.
func filled(t *testing.T) *DB {
	t.Helper()
	db, _ := openTemp(t)
	for _, q := range []string{"Witkoff", "Ukraine peace", "Kushner"} {
		if err := db.AddSubscription(sub(addr("telegram", "1"), q)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Enqueue([]chat.Message{textMsg(addr("telegram", "1"), "a"), textMsg(addr("discord", "2"), "b")}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutSourceState(SourceState{Name: "Wire", URL: "https://wire.example/rss", ItemsSeen: 4}); err != nil {
		t.Fatal(err)
	}
	return db
}

var want321 = Counts{Subscriptions: 3, Outbox: 2, Sources: 1}

func TestCounts(t *testing.T) {
	db := filled(t)
	got, err := db.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if got != want321 {
		t.Fatalf("Counts = %+v, want %+v", got, want321)
	}
}

func TestSnapshotAnnouncesSizeAndOpens(t *testing.T) {
	db := filled(t)
	var buf bytes.Buffer
	var announced int64 = -1
	n, err := db.Snapshot(&buf, func(size int64) error { announced = size; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if announced != n || int64(buf.Len()) != n {
		t.Fatalf("announced %d, wrote %d, buffer %d: want all equal", announced, n, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if info.Counts != want321 || info.Schema != SchemaVersion || info.Size != n {
		t.Fatalf("Inspect(copy) = %+v", info)
	}

	t.Run("begin's error stops it before any byte", func(t *testing.T) {
		var out bytes.Buffer
		stop := errors.New("no room")
		if _, err := db.Snapshot(&out, func(int64) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("Snapshot: %v, want %v", err, stop)
		}
		if out.Len() != 0 {
			t.Fatalf("%d bytes written after begin failed", out.Len())
		}
	})
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	setRaw(t, newer, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		return b.Put([]byte(keySchemaVersion), u64(SchemaVersion+1))
	})
	foreign := filepath.Join(dir, "foreign.db")
	setRaw(t, foreign, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("junk"), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       error
	}{
		{"newer schema", newer, ErrSchemaTooNew},
		{"bbolt without a schema version", foreign, ErrNotDatabase},
		{"not bbolt", junk, ErrNotDatabase},
		{"a directory", dir, ErrNotDatabase},
		{"missing", filepath.Join(dir, "none.db"), os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Inspect(tc.path, 100*time.Millisecond); !errors.Is(err, tc.want) {
				t.Fatalf("Inspect: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("locked by a writer", func(t *testing.T) {
		db := filled(t)
		if _, err := Inspect(db.Path(), 100*time.Millisecond); !errors.Is(err, ErrLocked) {
			t.Fatalf("Inspect of an open database: %v, want ErrLocked", err)
		}
	})
}

func TestReplace(t *testing.T) {
	// The backup: a database with 3 subscriptions, closed.
	src := filled(t)
	backup := src.Path()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("keeps the current file and installs a copy", func(t *testing.T) {
		cur, _ := openTemp(t)
		if err := cur.AddSubscription(sub(addr("discord", "9"), "only here")); err != nil {
			t.Fatal(err)
		}
		path := cur.Path()
		if err := cur.Close(); err != nil {
			t.Fatal(err)
		}
		bak, err := Replace(path, backup, "20250301T120000Z", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if bak != path+".bak-20250301T120000Z" {
			t.Fatalf("bak = %q", bak)
		}
		if info, err := Inspect(path, time.Second); err != nil || info.Counts != want321 {
			t.Fatalf("restored file: %+v, %v; want %+v", info, err, want321)
		}
		if info, err := Inspect(bak, time.Second); err != nil || info.Subscriptions != 1 {
			t.Fatalf("kept file: %+v, %v; want its 1 subscription", info, err)
		}
		if _, err := os.Stat(backup); err != nil {
			t.Fatalf("the backup itself is gone: %v", err)
		}
		if _, err := os.Stat(path + ".restore"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("temporary copy left behind: %v", err)
		}
		if _, err := Replace(path, backup, "20250301T120000Z", time.Second); err == nil {
			t.Fatal("a second restore with the same stamp overwrote the kept file")
		}
	})
	t.Run("no current database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "new", "frontwire.db")
		bak, err := Replace(path, backup, "x", time.Second)
		if err != nil || bak != "" {
			t.Fatalf("Replace = %q, %v; want no kept file and no error", bak, err)
		}
		db, _ := openAt(t, path)
		if c, _ := db.Counts(); c != want321 {
			t.Fatalf("restored counts %+v", c)
		}
	})
	t.Run("refused while the database is open", func(t *testing.T) {
		cur, _ := openTemp(t)
		_, err := Replace(cur.Path(), backup, "x", 100*time.Millisecond)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("Replace of an open database: %v, want ErrLocked", err)
		}
		if c, _ := cur.Counts(); c != (Counts{}) {
			t.Fatalf("the open database changed: %+v", c)
		}
	})
	t.Run("refuses a file that is not a database", func(t *testing.T) {
		cur, _ := openTemp(t)
		path := cur.Path()
		cur.Close()
		junk := filepath.Join(t.TempDir(), "junk")
		os.WriteFile(junk, []byte("hello"), 0o600)
		if _, err := Replace(path, junk, "x", time.Second); !errors.Is(err, ErrNotDatabase) {
			t.Fatalf("Replace from junk: %v, want ErrNotDatabase", err)
		}
		if _, err := Inspect(path, time.Second); err != nil {
			t.Fatalf("current database damaged: %v", err)
		}
	})
}

func TestReplaceMovesADamagedDatabaseAside(t *testing.T) {
	src := filled(t)
	backup := src.Path()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "frontwire.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("damaged "), 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	bak, err := Replace(path, backup, "x", time.Second)
	if err != nil {
		t.Fatalf("Replace over a damaged file: %v", err)
	}
	if b, err := os.ReadFile(bak); err != nil || !bytes.HasPrefix(b, []byte("damaged ")) {
		t.Fatalf("damaged file not kept at %s: %v", bak, err)
	}
	if info, err := Inspect(path, time.Second); err != nil || info.Counts != want321 {
		t.Fatalf("restored: %+v, %v", info, err)
	}
}
