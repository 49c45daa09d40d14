package storage

import (
	"fmt"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A poll answered 304 changes nothing of a source but its times (last
// attempt and success, next poll). Writing that at once cost each such
// poll a write transaction and a share of an fsync: the largest part of
// a cycle of 304s. NoteSourceState keeps such states in memory instead and
// writes them together, in one transaction, once notesMax are waiting or
// the oldest has waited notesDelay, and at Close and Backup. Every read of
// a source's state sees a noted state before it is written. A crash loses
// only the times of polls that found nothing; after the restart those
// sources look due and are polled again, and answer 304 again.

const (
	// notesMax is how many noted states wait at most: a cycle of 1,000
	// sources answering 304 costs four transactions.
	notesMax = 256
	// notesDelay bounds how long a noted state waits, checked when
	// another is noted.
	notesDelay = 5 * time.Second
)

// notes are the noted source states not yet written.
type notes struct {
	mu      sync.Mutex
	pending map[string]note
	oldest  time.Time // when the oldest pending state was noted
	seq     uint64
}

type note struct {
	state SourceState
	seq   uint64 // tells a state noted again since a flush read it
}

// NoteSourceState stores s, the state of a poll that found nothing new,
// as PutSourceState does but not at once (see above): it returns before s
// is durable. s.Name must not be empty.
func (db *DB) NoteSourceState(s SourceState) error {
	if s.Name == "" {
		return fmt.Errorf("note source state: %w", errNoName)
	}
	now := db.now()
	n := &db.notes
	n.mu.Lock()
	if n.pending == nil {
		n.pending = map[string]note{}
	}
	if len(n.pending) == 0 {
		n.oldest = now
	}
	n.seq++
	n.pending[s.Name] = note{state: s, seq: n.seq}
	due := len(n.pending) >= notesMax || now.Sub(n.oldest) >= notesDelay
	n.mu.Unlock()
	if due {
		return db.FlushSourceStates()
	}
	return nil
}

// FlushSourceStates writes every noted source state now.
func (db *DB) FlushSourceStates() error {
	n := &db.notes
	n.mu.Lock()
	batch := make(map[string]note, len(n.pending))
	for k, v := range n.pending {
		batch[k] = v
	}
	n.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := db.update(func(tx *bolt.Tx) error {
		n.mu.Lock()
		defer n.mu.Unlock()
		for name, b := range batch {
			// A state written or removed directly since the batch was
			// taken is newer than the note: leave it.
			if cur, ok := n.pending[name]; !ok || cur.seq != b.seq {
				continue
			}
			if err := putSource(tx, b.state); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write noted source states: %w", err)
	}
	n.mu.Lock()
	for name, b := range batch {
		if cur, ok := n.pending[name]; ok && cur.seq == b.seq {
			delete(n.pending, name)
		}
	}
	if len(n.pending) > 0 {
		n.oldest = db.now()
	}
	n.mu.Unlock()
	return nil
}

// forgetNote drops the noted state of name: a direct write or a removal
// of that source's state supersedes it.
func (db *DB) forgetNote(name string) {
	n := &db.notes
	n.mu.Lock()
	delete(n.pending, name)
	n.mu.Unlock()
}

// notedState returns the noted state of name, if any.
func (db *DB) notedState(name string) (SourceState, bool) {
	n := &db.notes
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.pending[name]
	return v.state, ok
}

// withNotes returns states (ordered by name) with the noted states in
// place of the stored ones, still ordered by name.
func (db *DB) withNotes(states []SourceState) []SourceState {
	n := &db.notes
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.pending) == 0 {
		return states
	}
	seen := make(map[string]bool, len(n.pending))
	for i := range states {
		if v, ok := n.pending[states[i].Name]; ok {
			states[i] = v.state
			seen[states[i].Name] = true
		}
	}
	added := false
	for name, v := range n.pending {
		if !seen[name] {
			states = append(states, v.state)
			added = true
		}
	}
	if added {
		sort.Slice(states, func(i, j int) bool { return states[i].Name < states[j].Name })
	}
	return states
}
