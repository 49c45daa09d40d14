// Package storage is Frontwire's persistence: one bbolt file holding the
// subscriptions, the stories already seen, the outbox of messages waiting for
// delivery, the state of each news source and a small key-value area for
// adapters. It is the only package that imports bbolt, so the file format and
// its schema version live here and nowhere else.
//
// Every method is safe for concurrent use: bbolt serialises writers and lets
// readers run beside them.
package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"frontwire/internal/clock"
)

// SchemaVersion is the version of the bucket layout this build writes.
const SchemaVersion = 6

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is not set.
const DefaultTimeout = 2 * time.Second

// initialMmapSize is the address space mapped for the file at open; bbolt
// doubles it as the file outgrows it.
const initialMmapSize = 256 << 20

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLocked means another process (or another Open in this one) holds
	// the database file.
	ErrLocked = errors.New("database is locked by another Frontwire process")
	// ErrSchemaTooNew means the file was written by a newer Frontwire.
	ErrSchemaTooNew = errors.New("database schema is newer than this Frontwire")
)

// Bucket names. Plain words, so that `bbolt buckets` on a file is readable.
// Constants, turned into bytes at each use, so that nothing shared can be
// changed.
const (
	bucketMeta       = "meta"
	bucketSubs       = "subscriptions"
	bucketSubsByChat = "subscriptions_by_chat"
	bucketSeenIDs    = "seen_ids"
	bucketSeenLinks  = "seen_links"
	bucketRecent     = "recent"
	bucketOutbox     = "outbox"
	bucketDelivered  = "delivered"
	bucketDead       = "dead"
	bucketSources    = "sources"
	bucketKV         = "kv"
	// Story clusters (clusters.go): a chat's alert of a cluster, and the
	// alert numbers shown to users.
	bucketClusterAlerts = "cluster_records" // v6; "cluster_alerts" before (migrateV5toV6)
	bucketClusterSeqs   = "cluster_alert_numbers"
)

// allBuckets lists every bucket of the current schema.
func allBuckets() []string {
	return []string{
		bucketMeta, bucketSubs, bucketSubsByChat, bucketSeenIDs, bucketSeenLinks,
		bucketRecent, bucketOutbox, bucketDelivered, bucketDead, bucketSources, bucketKV,
		bucketClusterAlerts, bucketClusterSeqs,
		bucketSourcesAdded,
		bucketHeld, bucketCadence, bucketChatSettings,
	}
}

// bucket returns the named bucket of the current schema; Open has checked
// or created them all.
func bucket(tx *bolt.Tx, name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }

const keySchemaVersion = "schema_version"

// migration upgrades an open write transaction from one schema version to
// the next.
type migration func(tx *bolt.Tx) error

// migrations returns the upgrade steps: element i moves a database from
// version i+1 to version i+2; len(migrations())+1 must equal SchemaVersion.
// v2 adds the bucket of sources added at run time; v3 the buckets of
// digests and quiet hours (digest.go); v4 the compact outbox records
// (outbox_codec.go); v5 the compact cluster records (cluster_codec.go);
// v6 orders cluster records by cluster, then chat (clusterKey).
func migrations() []migration {
	return []migration{migrateV1toV2, migrateV2toV3, migrateV3toV4, migrateV4toV5, migrateV5toV6}
}

// Options tunes Open.
type Options struct {
	// Timeout bounds the wait for the file lock (flock); default 2s. A second
	// process on the same file fails with ErrLocked after it.
	Timeout time.Duration
	// ReadOnly opens the file shared and refuses writes. The file must exist
	// and already carry the current schema.
	ReadOnly bool
	// NoSync skips fsync on commit: for tests and benchmarks only, a crash
	// can lose or corrupt data.
	NoSync bool
	// Clock stamps FirstSeen, Created and delivery times that the caller left
	// zero; default the system clock.
	Clock clock.Clock
}

// DB is an open Frontwire database.
type DB struct {
	bolt  *bolt.DB
	path  string
	clock clock.Clock
	// clusterPolicy: see SetClusterPolicy in clusters.go.
	clusterPolicy ClusterPolicy
	// commits shares write transactions between concurrent polls
	// (groupcommit.go).
	commits groupCommit
	// deflate compresses recent stories' records (deflate.go).
	deflate deflater
	// notes are source states waiting to be written (notes.go).
	notes notes
	// settings is the in-memory copy of digest cadences and chat
	// settings (settings_cache.go).
	settings settingsCache
	// outbox counts the outbox's messages (outbox_count.go).
	outbox outboxCount
}

// Open opens (creating when needed) the database at path. The parent
// directory is created with mode 0700 and the file with 0600, as it holds
// who follows what. A file written by a newer Frontwire is refused with
// ErrSchemaTooNew; an older one is migrated.
func Open(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open database %s: create directory: %w", path, explain(err))
		}
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: opts.ReadOnly,
		NoSync:   opts.NoSync,
		// Address space only, not disk: growing the map re-copies every
		// node a write transaction holds, which made bulk loads spend a
		// third of their time remapping.
		InitialMmapSize: initialMmapSize,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open database %s: gave up after %s: %w", path, timeout, ErrLocked)
		}
		return nil, fmt.Errorf("open database %s: %w", path, explain(err))
	}
	bdb.NoSync = opts.NoSync
	db := &DB{bolt: bdb, path: path, clock: clk}
	if opts.ReadOnly {
		err = bdb.View(db.checkSchema)
	} else {
		err = bdb.Update(db.initSchema)
	}
	if err == nil {
		err = bdb.View(db.settings.load)
	}
	if err == nil {
		err = bdb.View(db.outbox.load)
	}
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// explain adds what to do to the OS errors a person can fix.
func explain(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("disk full, free some space: %w", err)
	case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("no permission to write here, choose another path or fix its permissions: %w", err)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("a parent of the path is a file, not a directory: %w", err)
	}
	return err
}

// readVersion returns the schema version stored in meta, 0 when there is none.
func readVersion(tx *bolt.Tx) (uint64, error) {
	meta := bucket(tx, bucketMeta)
	if meta == nil {
		return 0, nil
	}
	v := meta.Get([]byte(keySchemaVersion))
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("schema version is %d bytes long, want 8: not a Frontwire database", len(v))
	}
	return be64(v), nil
}

func tooNew(v uint64) error {
	return fmt.Errorf("database schema v%d is newer than this Frontwire (v%d); upgrade Frontwire: %w", v, SchemaVersion, ErrSchemaTooNew)
}

// checkSchema is Open's read-only check: every bucket the methods rely on
// must be there, at the current version.
func (db *DB) checkSchema(tx *bolt.Tx) error {
	v, err := readVersion(tx)
	if err != nil {
		return err
	}
	switch {
	case v > SchemaVersion:
		return tooNew(v)
	case v < SchemaVersion:
		return fmt.Errorf("database schema v%d needs upgrading to v%d; open it once read-write", v, SchemaVersion)
	}
	for _, name := range allBuckets() {
		if bucket(tx, name) == nil {
			return fmt.Errorf("bucket %q missing: not a complete Frontwire database", name)
		}
	}
	return nil
}

// initSchema creates a fresh layout or migrates an older one, in the same
// transaction, so that a crash leaves either the old or the new version.
func (db *DB) initSchema(tx *bolt.Tx) error {
	v, err := readVersion(tx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return tooNew(v)
	}
	if v == 0 {
		// No version: accept only an empty file, never guess at someone
		// else's bbolt database.
		hasOther := false
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			hasOther = true
			return nil
		})
		if hasOther {
			return errors.New("file holds buckets but no schema version: not a Frontwire database")
		}
		// A new file gets the current layout straight away.
		v = SchemaVersion
	} else if v, err = migrate(tx, v, SchemaVersion, migrations()); err != nil {
		return err
	}
	for _, name := range allBuckets() {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return bucket(tx, bucketMeta).Put([]byte(keySchemaVersion), u64(v))
}

// migrate runs steps[v-1], steps[v], ... until the database is at version
// target, and returns the version reached.
func migrate(tx *bolt.Tx, v, target uint64, steps []migration) (uint64, error) {
	for ; v < target; v++ {
		if v == 0 || v-1 >= uint64(len(steps)) {
			return v, fmt.Errorf("no migration from schema v%d", v)
		}
		if err := steps[v-1](tx); err != nil {
			return v, fmt.Errorf("migrate schema v%d to v%d: %w", v, v+1, err)
		}
	}
	return v, nil
}

// Ping reports whether the database answers: a read transaction that reads
// the schema version. It costs the same however much is stored, so a health
// probe may call it as often as it likes (counting the outbox instead, as
// /healthz once did, walks every queued alert).
func (db *DB) Ping() error {
	err := db.bolt.View(func(tx *bolt.Tx) error {
		_, err := readVersion(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("database %s: %w", db.path, err)
	}
	return nil
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	// Noted source states are written first; failing that (a full
	// disk), only the times of polls that found nothing are lost.
	flushErr := db.FlushSourceStates()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", db.path, err)
	}
	if flushErr != nil {
		return fmt.Errorf("close database %s: %w", db.path, flushErr)
	}
	return nil
}

// Path is the file the database was opened from.
func (db *DB) Path() string { return db.path }

// Backup writes a consistent copy of the whole file to w while the database
// stays in use, and returns the bytes written. The copy opens with Open.
func (db *DB) Backup(w io.Writer) (int64, error) {
	// The copy holds the noted source states too (notes.go).
	if err := db.FlushSourceStates(); err != nil {
		return 0, fmt.Errorf("backup database %s: %w", db.path, err)
	}
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup database %s: %w", db.path, err)
	}
	return n, nil
}

// now is the clock's time, for stamps the caller left zero.
func (db *DB) now() time.Time { return db.clock.Now() }
