package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SourceState is what Frontwire remembers about one news source between
// polls and restarts.
type SourceState struct {
	Name, URL          string
	ETag, LastModified string
	// Initialized is set once the first poll is done: that poll marks what
	// the feed already lists as seen and alerts nothing.
	Initialized                        bool
	LastAttempt, LastSuccess, NextPoll time.Time
	LastError                          string
	Failures                           int // consecutive
	ItemsSeen                          int // total new items ever seen
}

var errNoName = errors.New("source state without a name")

// putSource writes s; callers outside the noted states' flush call
// forgetNote(s.Name) as well (notes.go).
func putSource(tx *bolt.Tx, s SourceState) error {
	if s.Name == "" {
		return errNoName
	}
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode source %q: %w", s.Name, err)
	}
	return bucket(tx, bucketSources).Put([]byte(s.Name), v)
}

// SourceState returns the state of the source called name, a noted one
// (NoteSourceState) included. ErrNotFound if none was stored.
func (db *DB) SourceState(name string) (SourceState, error) {
	if s, ok := db.notedState(name); ok {
		return s, nil
	}
	var s SourceState
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if name == "" {
			return ErrNotFound
		}
		v := bucket(tx, bucketSources).Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &s)
	})
	if err != nil {
		return SourceState{}, fmt.Errorf("state of source %q: %w", name, err)
	}
	return s, nil
}

// SourceStates returns the state of every source, ordered by name, noted
// ones (NoteSourceState) included.
func (db *DB) SourceStates() ([]SourceState, error) {
	var out []SourceState
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketSources).ForEach(func(k, v []byte) error {
			var s SourceState
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decode source %q: %w", k, err)
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read source states: %w", err)
	}
	return db.withNotes(out), nil
}

// PutSourceState stores s under s.Name, which must not be empty.
func (db *DB) PutSourceState(s SourceState) error {
	// Shares a transaction with concurrent polls' writes (groupcommit.go).
	err := db.update(func(tx *bolt.Tx) error {
		db.forgetNote(s.Name)
		return putSource(tx, s)
	})
	if err != nil {
		return fmt.Errorf("store state of source %q: %w", s.Name, err)
	}
	return nil
}
