package sources

import (
	"context"
	"errors"
	"sync"
)

// A cron tick used to start a goroutine per source that then waited for a
// slot (per host, then global): with 1,000 sources on one schedule, 1,000
// goroutines and their stacks (about 9 KB each, some 9 MB) lived through
// every cycle. Due sources now wait in a queue instead, per host in the
// order they fell due, and a poll starts only when a slot of its host and
// a global slot are both free; each finished poll starts the next. A
// slow host still holds only its own slots, so it delays no other host.

// dueQueue is the sources due but not started.
type dueQueue struct {
	mu     sync.Mutex
	hosts  []string            // hosts with waiting sources, in order of arrival
	byHost map[string][]string // host → names waiting, in order
	queued map[string]bool     // names waiting
	polls  sync.WaitGroup      // polls started from the queue
	active int                 // polls started from the queue and not finished
}

// enqueue queues name (on host) unless it is already waiting, and starts
// what the free slots allow.
func (s *Scheduler) enqueue(ctx context.Context, name, host string) {
	q := &s.due
	q.mu.Lock()
	if q.queued == nil {
		q.queued, q.byHost = map[string]bool{}, map[string][]string{}
	}
	if !q.queued[name] {
		q.queued[name] = true
		if len(q.byHost[host]) == 0 {
			q.hosts = append(q.hosts, host)
		}
		q.byHost[host] = append(q.byHost[host], name)
	}
	q.mu.Unlock()
	s.pump(ctx)
}

// pump starts waiting polls while their host and the global limit have a
// free slot. Once ctx is done the queue is dropped.
func (s *Scheduler) pump(ctx context.Context) {
	q := &s.due
	q.mu.Lock()
	defer q.mu.Unlock()
	if ctx.Err() != nil {
		q.hosts, q.byHost, q.queued = nil, nil, nil
		return
	}
	kept := q.hosts[:0]
	full := false
	for _, host := range q.hosts {
		names := q.byHost[host]
		for !full && len(names) > 0 {
			release, ok := s.tryAcquire(host)
			if !ok {
				// Either this host is busy (try the next host) or every
				// global slot is taken (stop starting anything).
				full = len(s.global) == cap(s.global)
				break
			}
			name := names[0]
			names = names[1:]
			delete(q.queued, name)
			q.polls.Add(1)
			q.active++
			go func() {
				defer q.polls.Done()
				s.pollQueued(ctx, name, release)
				s.finished()
			}()
		}
		if len(names) > 0 {
			q.byHost[host] = names
			kept = append(kept, host)
		} else {
			delete(q.byHost, host)
		}
	}
	q.hosts = kept
}

// finished counts a queued poll done and calls the Idle hook when it was
// the last one running and nothing waits.
func (s *Scheduler) finished() {
	q := &s.due
	q.mu.Lock()
	q.active--
	idle := q.active == 0 && len(q.hosts) == 0
	q.mu.Unlock()
	if idle && s.idle != nil {
		s.idle()
	}
}

// tryAcquire takes a slot of host and a global slot if both are free.
func (s *Scheduler) tryAcquire(host string) (func(), bool) {
	s.mu.RLock()
	hs := s.hosts[host]
	s.mu.RUnlock()
	if hs == nil {
		// The source was removed while it waited.
		return func() {}, true
	}
	select {
	case hs <- struct{}{}:
	default:
		return nil, false
	}
	select {
	case s.global <- struct{}{}:
	default:
		<-hs
		return nil, false
	}
	return s.releaser(hs), true
}

// pollQueued runs a poll started from the queue, its slots already held;
// expected refusals (backing off, already running, removed, shutting
// down) are not errors worth a warning.
func (s *Scheduler) pollQueued(ctx context.Context, name string, release func()) {
	err := s.poll(ctx, name, release)
	switch {
	case err == nil:
	case errors.Is(err, ErrBackingOff), errors.Is(err, ErrBusy), errors.Is(err, ErrUnknownSource):
		s.log.Debug("poll skipped", "source", name, "reason", err)
	case ctx.Err() != nil:
	default:
		// poll already logged the failure with its details.
	}
}
