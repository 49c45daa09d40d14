package storage

import (
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit runs the write transactions of concurrent callers together.
// bbolt runs one writer at a time and each commit pays an fsync, so 1,000
// polls answered 304 at once paid 1,000 fsyncs in a row, the largest part
// of a cycle's CPU and nearly all of its wall time. Here, while one
// transaction commits, the callers that arrive queue up, and the next
// transaction runs all of their functions and commits once. Unlike
// bolt.DB.Batch it adds no delay: a caller alone commits at once.
//
// Every function passed in must be safe to run more than once (it may be
// retried alone after a shared transaction failed), and must leave any
// result it returns through its closure in a state that a rerun resets.
type groupCommit struct {
	mu    sync.Mutex
	queue []*commitReq
	busy  bool // a leader is running transactions
}

type commitReq struct {
	fn   func(*bolt.Tx) error
	err  error
	done bool          // set before wake when the function has committed or failed
	wake chan struct{} // signalled once: done, or this caller leads next
}

// update runs fn in a write transaction, possibly shared with other
// callers', and returns once that transaction has committed (fn's changes
// are durable) or failed. fn's error, or the commit's, is returned.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	g := &db.commits
	r := &commitReq{fn: guarded(fn), wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if g.busy {
		g.mu.Unlock()
		<-r.wake
		if r.done {
			return r.err
		}
		// Woken to lead: r is still first in the queue.
	} else {
		g.busy = true
		g.mu.Unlock()
	}

	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()

	db.runBatch(batch)

	// Hand the lead to the first caller that queued meanwhile, rather than
	// serving it from this goroutine, so no caller waits for more than
	// the transaction after the one running when it came.
	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		g.mu.Unlock()
		next.wake <- struct{}{}
	} else {
		g.busy = false
		g.mu.Unlock()
	}
	return r.err
}

// runBatch runs the functions of batch in one transaction and records each
// outcome. When the shared transaction fails, nothing of it was written,
// and each function runs again in its own transaction, so that one
// caller's error is not another's.
func (db *DB) runBatch(batch []*commitReq) {
	var err error
	if len(batch) == 1 {
		err = db.bolt.Update(batch[0].fn)
		batch[0].err = err
	} else {
		err = db.bolt.Update(func(tx *bolt.Tx) error {
			for _, r := range batch {
				if err := r.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		for _, r := range batch {
			r.err = err
			if err != nil {
				r.err = db.bolt.Update(r.fn)
			}
		}
	}
	for _, r := range batch {
		r.done = true
		r.wake <- struct{}{}
	}
}

// guarded turns a panic in fn into fn's error. A panic would otherwise
// unwind the goroutine leading a shared transaction and leave every caller
// queued behind it waiting for ever.
func guarded(fn func(*bolt.Tx) error) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("storage: write failed: panic: %v", p)
			}
		}()
		return fn(tx)
	}
}
