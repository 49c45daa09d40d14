package storage

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommitSharesTransactions holds one transaction open until more
// callers have queued: they must all commit in one further transaction,
// and a caller whose function fails must fail alone, its writes undone
// and the others' kept.
func TestGroupCommitSharesTransactions(t *testing.T) {
	db, _ := openTemp(t)
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.update(func(tx *bolt.Tx) error {
			<-release
			return putSource(tx, SourceState{Name: "first"})
		})
	}()
	// Wait until the first caller leads (its transaction is open).
	waitFor(t, func() bool {
		db.commits.mu.Lock()
		defer db.commits.mu.Unlock()
		return db.commits.busy && len(db.commits.queue) == 0
	})

	const n = 10
	errBad := errors.New("bad poll")
	var (
		mu  sync.Mutex
		txs = map[*bolt.Tx]bool{}
		wg  sync.WaitGroup
	)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.update(func(tx *bolt.Tx) error {
				mu.Lock()
				txs[tx] = true
				mu.Unlock()
				if err := putSource(tx, SourceState{Name: fmt.Sprint("s", i)}); err != nil {
					return err
				}
				if i == 3 {
					return errBad
				}
				return nil
			})
		}()
	}
	waitFor(t, func() bool {
		db.commits.mu.Lock()
		defer db.commits.mu.Unlock()
		return len(db.commits.queue) == n
	})
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}
	wg.Wait()

	for i, err := range errs {
		if i == 3 {
			if !errors.Is(err, errBad) {
				t.Errorf("caller 3: err = %v, want errBad", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	// One shared transaction (failed), then each function alone: n+1.
	if len(txs) != n+1 {
		t.Errorf("%d transactions for %d queued callers with one failure, want %d", len(txs), n, n+1)
	}
	for i := range n {
		_, err := db.SourceState(fmt.Sprint("s", i))
		if i == 3 {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("failed caller's write kept: %v", err)
			}
		} else if err != nil {
			t.Errorf("s%d: %v", i, err)
		}
	}
	if _, err := db.SourceState("first"); err != nil {
		t.Errorf("first: %v", err)
	}
}

// TestGroupCommitOneTransactionForQueued: callers queued behind a running
// transaction and all succeeding commit together, in one transaction.
func TestGroupCommitOneTransactionForQueued(t *testing.T) {
	db, _ := openTemp(t)
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.update(func(tx *bolt.Tx) error { <-release; return nil })
	}()
	waitFor(t, func() bool {
		db.commits.mu.Lock()
		defer db.commits.mu.Unlock()
		return db.commits.busy
	})
	const n = 20
	var (
		mu  sync.Mutex
		txs = map[*bolt.Tx]bool{}
		wg  sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := SourceState{Name: fmt.Sprint("s", i), ItemsSeen: i}
			if _, err := db.CommitPoll(st, nil); err != nil {
				t.Errorf("commit %d: %v", i, err)
			}
		}()
	}
	waitFor(t, func() bool {
		db.commits.mu.Lock()
		defer db.commits.mu.Unlock()
		return len(db.commits.queue) == n
	})
	// Count the transactions by wrapping the queued functions.
	db.commits.mu.Lock()
	for _, r := range db.commits.queue {
		fn := r.fn
		r.fn = func(tx *bolt.Tx) error {
			mu.Lock()
			txs[tx] = true
			mu.Unlock()
			return fn(tx)
		}
	}
	db.commits.mu.Unlock()
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(txs) != 1 {
		t.Errorf("%d transactions for %d queued polls, want 1", len(txs), n)
	}
	for i := range n {
		st, err := db.SourceState(fmt.Sprint("s", i))
		if err != nil || st.ItemsSeen != i {
			t.Errorf("s%d: %+v, %v", i, st, err)
		}
	}
}

// waitFor polls cond, yielding between tries, until it holds: the
// condition is another goroutine reaching a lock-protected state, for
// which there is no channel to wait on.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10_000_000 {
		if cond() {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("condition never held")
}
