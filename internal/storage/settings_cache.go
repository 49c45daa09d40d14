package storage

import (
	"bytes"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// settingsCache holds the records of the digest_cadence and chat_settings
// buckets in memory. The pipeline's digest policy asks for the cadence of
// every alert's subscription and the settings of every alert's chat: with
// a read transaction each, that was two million transactions for the
// million alerts of the pipeline benchmark's new-content cycle, 7% of its
// CPU. The records are few and small (one per digest subscription and per
// chat with a time zone or quiet hours), and this package is the only
// writer of the file (bbolt's lock), so a copy kept in step with the
// writes answers the same.
//
// The raw JSON is kept and decoded on each read, as from the bucket, so
// that no caller shares a decoded value (ChatSettings holds a pointer).
type settingsCache struct {
	// write is held across every write transaction that changes either
	// bucket and the cache update after its commit, so that the cache
	// changes in the order the commits happened.
	write sync.Mutex

	mu      sync.RWMutex
	cadence map[uint64][]byte
	chats   map[string][]byte
}

// load fills the cache from the buckets.
func (c *settingsCache) load(tx *bolt.Tx) error {
	cadence := map[uint64][]byte{}
	chats := map[string][]byte{}
	err := bucket(tx, bucketCadence).ForEach(func(k, v []byte) error {
		if len(k) == 8 {
			cadence[be64(k)] = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = bucket(tx, bucketChatSettings).ForEach(func(k, v []byte) error {
		chats[string(k)] = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.cadence, c.chats = cadence, chats
	c.mu.Unlock()
	return nil
}

func (c *settingsCache) getCadence(id uint64) []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cadence[id]
}

func (c *settingsCache) getChat(key string) []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.chats[key]
}

// setCadence records a committed write; v nil is a removal.
func (c *settingsCache) setCadence(id uint64, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v == nil {
		delete(c.cadence, id)
	} else {
		c.cadence[id] = v
	}
}

// setChat records a committed write; v nil is a removal.
func (c *settingsCache) setChat(key string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v == nil {
		delete(c.chats, key)
	} else {
		c.chats[key] = v
	}
}
