package storage

import (
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// outboxCount keeps the number of messages in the outbox without walking
// it. Every message enters under the next value of the outbox bucket's
// sequence (enqueueOf, placeAlert), so the messages queued since Open are
// the sequence's growth; the ones that left are counted as their
// transactions commit. The metrics gauge used to walk the outbox every
// 30 s: after a platform outage that is a million keys, and every page of
// the outbox mapped into the process again (docs/PERFORMANCE.md, "Idle
// costs with a million subscriptions").
type outboxCount struct {
	base     int64        // messages at Open, less the sequence then
	removed  atomic.Int64 // messages removed by transactions committed since Open
	onRemove func()       // removed.Add(1), made once: OnCommit then allocates nothing
}

// load counts the outbox once, at Open.
func (c *outboxCount) load(tx *bolt.Tx) error {
	out := bucket(tx, bucketOutbox)
	n := int64(0)
	cur := out.Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		n++
	}
	c.base = n - int64(out.Sequence())
	c.onRemove = func() { c.removed.Add(1) }
	return nil
}

// len is the outbox's length given its bucket's sequence now. While a
// transaction that removes messages commits, it may be off by those.
func (c *outboxCount) len(seq uint64) int {
	return int(c.base + int64(seq) - c.removed.Load())
}

// remove deletes message key k from out, counting it once tx commits. A
// key that is not there (an edit already sent) is not counted.
func (c *outboxCount) remove(tx *bolt.Tx, out *bolt.Bucket, k []byte) error {
	if out.Get(k) == nil {
		return nil
	}
	if err := out.Delete(k); err != nil {
		return err
	}
	c.countRemoved(tx)
	return nil
}

// countRemoved counts one message deleted from the outbox by tx, once tx
// commits (a rolled-back transaction removed nothing).
func (c *outboxCount) countRemoved(tx *bolt.Tx) {
	tx.OnCommit(c.onRemove)
}
