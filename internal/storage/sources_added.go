package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
)

// bucketSourcesAdded holds the sources added at run time (from chat or
// `bot sources import`), keyed by lower-cased name so that names differing
// only in case clash, as they do in the configuration.
const bucketSourcesAdded = "sources_added"

// ErrSourceExists means a source of that name is already stored.
var ErrSourceExists = errors.New("a source of that name already exists")

// AddedSource is a news source added at run time rather than in the
// configuration file.
type AddedSource struct {
	Name string    `json:"name"`
	URL  string    `json:"url"`
	By   string    `json:"by,omitempty"` // "platform:user" of the admin, or "cli"
	At   time.Time `json:"at"`
}

// migrateV1toV2 creates the bucket of runtime-added sources.
func migrateV1toV2(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists([]byte(bucketSourcesAdded)); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketSourcesAdded, err)
	}
	return nil
}

func addedKey(name string) []byte { return []byte(strings.ToLower(strings.TrimSpace(name))) }

// AddSource stores a runtime-added source. ErrSourceExists when a source
// of that name (ignoring case) is already stored.
func (db *DB) AddSource(s AddedSource) error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("add source: %w", errNoName)
	}
	if s.At.IsZero() {
		s.At = db.now()
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketSourcesAdded)
		k := addedKey(s.Name)
		if b.Get(k) != nil {
			return ErrSourceExists
		}
		v, err := json.Marshal(s)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("add source %q: %w", s.Name, err)
	}
	return nil
}

// RemoveAddedSource deletes a runtime-added source and its poll state in
// one transaction, so that a source later added under the same name starts
// afresh (its first poll marks what is there as seen). It returns the
// removed record; ErrNotFound when no added source has that name.
func (db *DB) RemoveAddedSource(name string) (AddedSource, error) {
	var s AddedSource
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketSourcesAdded)
		k := addedKey(name)
		v := b.Get(k)
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		db.forgetNote(s.Name)
		return bucket(tx, bucketSources).Delete([]byte(s.Name))
	})
	if err != nil {
		return AddedSource{}, fmt.Errorf("remove source %q: %w", name, err)
	}
	return s, nil
}

// AddedSources returns the runtime-added sources ordered by name.
func (db *DB) AddedSources() ([]AddedSource, error) {
	var out []AddedSource
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketSourcesAdded).ForEach(func(k, v []byte) error {
			var s AddedSource
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decode source %q: %w", k, err)
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read added sources: %w", err)
	}
	return out, nil
}

// EnqueueAndPut appends msgs to the outbox and stores value under key in
// the key-value area in one transaction: a notice and the record that it
// was sent are kept together, so a crash can neither lose the notice nor
// send it twice after a restart.
func (db *DB) EnqueueAndPut(msgs []chat.Message, key string, value []byte) ([]chat.Message, error) {
	var enqueued []chat.Message
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if key == "" {
			return errEmptyKey
		}
		enqueued = enqueued[:0]
		out := bucket(tx, bucketOutbox)
		now := db.now()
		for _, m := range msgs {
			m, err := enqueue(out, m, now)
			if err != nil {
				return err
			}
			enqueued = append(enqueued, m)
		}
		if value == nil {
			value = []byte{}
		}
		return bucket(tx, bucketKV).Put([]byte(key), value)
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue %d messages and put %q: %w", len(msgs), key, err)
	}
	return enqueued, nil
}

// DeleteKey removes key from the key-value area; a missing key is not an
// error.
func (db *DB) DeleteKey(key string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if key == "" {
			return errEmptyKey
		}
		return bucket(tx, bucketKV).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
