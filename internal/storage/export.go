package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// What operators do with whole database files: count what one holds, stream
// a snapshot of a database in use, check a file before trusting it, and put
// a backup in place of the live file.

// ErrNotDatabase means a file is not a Frontwire database (not bbolt at
// all, or bbolt without Frontwire's schema version).
var ErrNotDatabase = errors.New("not a Frontwire database")

// Counts is how many records of each kind a database holds.
type Counts struct {
	Subscriptions int `json:"subscriptions"`
	Outbox        int `json:"outbox"`
	Sources       int `json:"sources"`
}

// countsIn counts within one transaction, so the three numbers agree with
// each other. A bucket an older schema lacks counts as empty.
func countsIn(tx *bolt.Tx) Counts {
	count := func(name string, keyLen int) int {
		b := bucket(tx, name)
		if b == nil {
			return 0
		}
		n := 0
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if keyLen == 0 || len(k) == keyLen {
				n++
			}
		}
		return n
	}
	// Subscription keys are 8-byte IDs; ForEachSubscription skips any
	// other key, so the count does too.
	return Counts{Subscriptions: count(bucketSubs, 8), Outbox: count(bucketOutbox, 0), Sources: count(bucketSources, 0)}
}

// Counts returns how many subscriptions, outbox messages and source states
// the database holds, read in one transaction.
func (db *DB) Counts() (Counts, error) {
	var c Counts
	if err := db.bolt.View(func(tx *bolt.Tx) error { c = countsIn(tx); return nil }); err != nil {
		return Counts{}, fmt.Errorf("count records: %w", err)
	}
	return c, nil
}

// Snapshot writes a consistent copy of the whole file to w, like Backup,
// but first calls begin with the exact number of bytes that will follow, so
// a receiver at the other end of a stream can tell a complete copy from a
// cut one. An error from begin stops the snapshot before any byte of it.
func (db *DB) Snapshot(w io.Writer, begin func(size int64) error) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if err := begin(tx.Size()); err != nil {
			return err
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("snapshot database %s: %w", db.path, err)
	}
	return n, nil
}

// FileInfo describes a database file checked by Inspect.
type FileInfo struct {
	Schema uint64 // the file's schema version
	Size   int64  // bytes
	Counts
}

// Inspect opens the file at path read-only and reports its schema version
// and counts. It fails with ErrNotDatabase when the file is not a Frontwire
// database, ErrSchemaTooNew when a newer Frontwire wrote it, and ErrLocked
// when a running Frontwire holds it past timeout. An older schema is not an
// error: Open migrates it.
func Inspect(path string, timeout time.Duration) (FileInfo, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	st, err := os.Stat(path)
	if err != nil {
		return FileInfo{}, fmt.Errorf("inspect %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return FileInfo{}, fmt.Errorf("inspect %s: not a regular file: %w", path, ErrNotDatabase)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return FileInfo{}, fmt.Errorf("inspect %s: gave up after %s: %w", path, timeout, ErrLocked)
		}
		// bbolt reports a foreign or damaged file as invalid or with a
		// checksum or version mismatch; any open failure here means the
		// file cannot be used as a database.
		return FileInfo{}, fmt.Errorf("inspect %s: %w: %w", path, ErrNotDatabase, err)
	}
	defer bdb.Close()
	info := FileInfo{Size: st.Size()}
	err = bdb.View(func(tx *bolt.Tx) error {
		v, err := readVersion(tx)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNotDatabase, err)
		}
		if v == 0 {
			return fmt.Errorf("%w: no schema version", ErrNotDatabase)
		}
		if v > SchemaVersion {
			return tooNew(v)
		}
		info.Schema = v
		info.Counts = countsIn(tx)
		return nil
	})
	if err != nil {
		return FileInfo{}, fmt.Errorf("inspect %s: %w", path, err)
	}
	return info, nil
}

// Replace puts a copy of the database file from in place of the database at
// path, keeping the file it replaces as path+".bak-"+stamp (returned; ""
// when there was none). from is checked with Inspect first. The current file
// stays locked throughout, so a Frontwire that holds it makes Replace fail
// with ErrLocked after timeout and one that starts meanwhile waits. from is
// copied, not moved, so the backup stays where it was.
func Replace(path, from, stamp string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if _, err := Inspect(from, timeout); err != nil {
		return "", fmt.Errorf("restore from %s: %w", from, err)
	}
	bak := ""
	if _, err := os.Stat(path); err == nil {
		// Opening read-write takes the exclusive lock a running Frontwire
		// holds; nothing is written to a file that already exists.
		cur, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return "", fmt.Errorf("restore to %s: gave up after %s: %w", path, timeout, ErrLocked)
		case err != nil:
			// bbolt takes the lock before it reads the file, so a file it
			// rejects is held by nobody: a damaged database is moved
			// aside like any other.
		default:
			// Closed after the renames: the lock stays on the old file's
			// inode until the new one is in place.
			defer cur.Close()
		}
		bak = path + ".bak-" + stamp
		if _, err := os.Stat(bak); err == nil {
			return "", fmt.Errorf("restore to %s: %s already exists", path, bak)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("restore to %s: %w", path, err)
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("restore to %s: %w", path, explain(err))
	}
	tmp := path + ".restore"
	// A leftover of an interrupted restore; the lock is ours.
	_ = os.Remove(tmp)
	if err := copyFile(tmp, from); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("restore to %s: %w", path, err)
	}
	if bak != "" {
		if err := os.Rename(path, bak); err != nil {
			_ = os.Remove(tmp)
			return "", fmt.Errorf("restore to %s: keep current database: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		if bak != "" {
			// Put the old file back rather than leave no database.
			_ = os.Rename(bak, path)
		}
		_ = os.Remove(tmp)
		return "", fmt.Errorf("restore to %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return bak, nil
}

// copyFile copies from into a new file dst (mode 0600) and syncs it.
func copyFile(dst, from string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return explain(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, explain(err))
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("sync %s: %w", dst, explain(err))
	}
	return out.Close()
}

// syncDir makes renames in dir durable; where directories cannot be synced
// the renames still happened, so failure is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
