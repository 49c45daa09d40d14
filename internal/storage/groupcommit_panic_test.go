package storage

import (
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestUpdatePanicBecomesError: a write whose function panics fails with an
// error, writes nothing, and leaves the commit queue usable.
func TestUpdatePanicBecomesError(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "frontwire.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.update(func(tx *bolt.Tx) error {
		if err := bucket(tx, bucketKV).Put([]byte("half"), []byte("written")); err != nil {
			return err
		}
		panic("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
	if _, err := db.Get("half"); err == nil {
		t.Error("the panicking write was committed")
	}
	if err := db.Put("after", []byte("ok")); err != nil {
		t.Fatalf("write after the panic: %v", err)
	}
	if v, err := db.Get("after"); err != nil || string(v) != "ok" {
		t.Errorf("after = %q, %v", v, err)
	}
}
