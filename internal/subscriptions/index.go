package subscriptions

import (
	"sync"

	"frontwire/internal/chat"
)

// Hit is one subscription a story matched.
type Hit struct {
	ID    uint64
	Chat  chat.Address
	Query string
	Terms []string
}

// Index finds the subscriptions a story matches. It is safe for concurrent
// Match while Add and Remove run.
type Index struct {
	mu   sync.RWMutex
	subs map[uint64]CompiledSub
}

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{subs: map[uint64]CompiledSub{}} }

// Add compiles s.Query and indexes it, replacing any subscription with the
// same ID.
func (ix *Index) Add(s Subscription) error {
	c, err := Compile(s)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.subs[s.ID] = c
	ix.mu.Unlock()
	return nil
}

// Remove drops subscription id; removing an unknown id does nothing.
func (ix *Index) Remove(id uint64) {
	ix.mu.Lock()
	delete(ix.subs, id)
	ix.mu.Unlock()
}

// Len returns the number of indexed subscriptions.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.subs)
}

// Match returns every indexed subscription that d matches.
func (ix *Index) Match(d *Doc) []Hit {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var hits []Hit
	for _, c := range ix.subs {
		if ok, terms := c.Q.Match(d); ok {
			hits = append(hits, Hit{ID: c.ID, Chat: c.Chat, Query: c.Text, Terms: terms})
		}
	}
	return hits
}
