package subscriptions

import (
	"encoding/binary"
	"errors"
	"sync"
)

// Grow reserves room for about n more subscriptions, so that loading them
// does not rehash the ID map and the key table again and again. It leaves
// an eighth more room in the slot table for subscriptions added later: past
// it, the next Add copies the table once (tens of milliseconds at a
// million).
func (ix *Index) Grow(n int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	room := n + n/8
	if len(ix.byID) == 0 {
		ix.byID = make(map[uint64]uint32, room)
	}
	if cap(ix.entries)-len(ix.entries) < room {
		e := make([]entry, len(ix.entries), len(ix.entries)+room)
		copy(e, ix.entries)
		ix.entries = e
	}
	// Queries share key words, so there are fewer keys than
	// subscriptions (0.48 per subscription in the generated workload at
	// 100k, 0.16 at a million); the key table doubles if needed, which
	// rehashes stored hashes only.
	if ix.keys.len() == 0 && len(ix.keys.slots) < n/2 {
		ix.keys.init(n / 4)
	}
}

// bulkBatch is how many subscriptions a Bulk worker takes at a time: large
// enough that the channel and the lock cost nothing per subscription,
// small enough that memory for queued batches stays small.
const bulkBatch = 2048

// Bulk loads many subscriptions into an index at start-up, parsing their
// queries on several goroutines. Add never blocks for long and may be
// called from a storage iterator; Close waits for every added subscription
// to be indexed. The IDs given to one Bulk must be distinct (the order in
// which they are indexed is not defined). Matching may run meanwhile.
type Bulk struct {
	ix    *Index
	batch []Subscription
	work  chan []Subscription
	wg    sync.WaitGroup
	mu    sync.Mutex // guards errs and added
	errs  []error
	added int
}

// NewBulk starts workers goroutines (at least one) that parse and index
// what Add is given.
func (ix *Index) NewBulk(workers int) *Bulk {
	b := &Bulk{ix: ix, work: make(chan []Subscription, workers)}
	for range max(workers, 1) {
		b.wg.Add(1)
		go b.run()
	}
	return b
}

// Add queues s to be parsed and indexed.
func (b *Bulk) Add(s Subscription) {
	if b.batch == nil {
		b.batch = make([]Subscription, 0, bulkBatch)
	}
	b.batch = append(b.batch, s)
	if len(b.batch) == bulkBatch {
		b.work <- b.batch
		b.batch = nil
	}
}

// Close indexes what is still queued, stops the workers, and returns how
// many subscriptions were indexed and the errors of those that were not
// (each wrapping the *QueryError from Parse), joined.
func (b *Bulk) Close() (added int, err error) {
	if len(b.batch) > 0 {
		b.work <- b.batch
		b.batch = nil
	}
	close(b.work)
	b.wg.Wait()
	b.ix.mu.Lock()
	b.ix.renumber()
	b.ix.mu.Unlock()
	return b.added, errors.Join(b.errs...)
}

// renumber gives every subscription a new slot, in the order of the posting
// lists that hold them, so that the subscriptions filed under one key sit
// side by side in the entry table. A story's matches come from a few
// posting lists (at a million subscriptions, ~1,000 matches from ~100
// lists of common words), and building their hits then reads runs of
// adjacent entries instead of missing the cache (and the TLB) once per
// hit in a table of 80 MB. Slots loaded in arrival order are random with
// respect to keys. The caller holds the write lock; it rewrites the slot
// field of every posting record in place (never the compiled queries, so
// terms Match handed out stay valid) and drops free slots.
func (ix *Index) renumber() {
	old := ix.entries
	to := make([]uint32, len(old)) // old slot → new slot + 1; 0: not yet placed
	entries := make([]entry, 0, cap(old))
	for i := range ix.keys.slots {
		list := ix.keys.slots[i].list
		if list == nil {
			continue
		}
		recs := records(list)
		for o := 0; o < len(recs); {
			s, _, _, next := record(recs, o)
			from := s & slotMask
			if to[from] == 0 {
				entries = append(entries, old[from])
				to[from] = uint32(len(entries))
			}
			binary.LittleEndian.PutUint32(recs[o:], s&^slotMask|(to[from]-1))
			o = next
		}
	}
	ix.entries = entries
	ix.free = ix.free[:0]
	for slot := range entries {
		ix.byID[entries[slot].id] = uint32(slot)
	}
}

func (b *Bulk) run() {
	defer b.wg.Done()
	var ready []prepared
	var p parser // reused: a parse allocates only the compiled query
	for batch := range b.work {
		ready = ready[:0]
		var errs []error
		for i := range batch {
			c, err := p.compile(batch[i])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ready = append(ready, prepare(c))
		}
		// The parsing above runs in parallel; only the insertions share
		// the index's lock, once per batch.
		b.ix.mu.Lock()
		for i := range ready {
			b.ix.addLocked(&ready[i])
		}
		b.ix.mu.Unlock()
		clear(ready) // let the batch's strings go once indexed
		b.mu.Lock()
		b.added += len(ready)
		b.errs = append(b.errs, errs...)
		b.mu.Unlock()
	}
}
