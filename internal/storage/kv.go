package storage

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var errEmptyKey = errors.New("empty key")

// Get returns a copy of the value stored under key in the adapters'
// key-value area. ErrNotFound if none.
func (db *DB) Get(key string) ([]byte, error) {
	var out []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if key == "" {
			return errEmptyKey
		}
		v := bucket(tx, bucketKV).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		// bbolt's slice is only valid inside the transaction.
		out = append(make([]byte, 0, len(v)), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	return out, nil
}

// Put stores value under key (not empty) in the adapters' key-value area.
func (db *DB) Put(key string, value []byte) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if key == "" {
			return errEmptyKey
		}
		if value == nil {
			// bbolt reads a nil value back as absent; store it as empty.
			value = []byte{}
		}
		return bucket(tx, bucketKV).Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}
