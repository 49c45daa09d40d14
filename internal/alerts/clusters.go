package alerts

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"frontwire/internal/clusters"
	"frontwire/internal/storage"
	"frontwire/internal/story"
)

// Clusters gives each new story the cluster of the event it reports.
// *clusters.Clusterer satisfies it.
type Clusters interface {
	Assign(st *story.Story) (clusterID string, isNew bool)
}

// RecentStories is the part of storage a Clusterer is rebuilt from.
type RecentStories interface {
	RecentStories(since time.Time) ([]story.Story, error)
}

// ClusterSet is the pipeline's clusterer: it stamps each poll's stories
// with a first-seen time later than any before and assigns them under one
// lock, so that the order of assignment is the order of (first seen, ID)
// in which LoadClusters replays them after a restart, however polls of
// several sources interleave. A cluster's ID comes from its first story,
// so the same order gives the same IDs.
type ClusterSet struct {
	c    *clusters.Clusterer
	mu   sync.Mutex
	last time.Time
}

// Assign files one story; the pipeline uses assignClusters.
func (s *ClusterSet) Assign(st *story.Story) (string, bool) { return s.c.Assign(st) }

// Merged lists the IDs of the clusters merged into the cluster root
// (clusters.Clusterer.Merged), the inverse of the clusterer's Canonical.
func (s *ClusterSet) Merged(root string) []string { return s.c.Merged(root) }

// Config is the clusterer's configuration, with defaults filled in.
func (s *ClusterSet) Config() clusters.Config { return s.c.Config() }

// Policy is the storage.ClusterPolicy that goes with the set: edits within
// editWindow (zero: storage's default), and a chat's records of merged
// clusters looked up by Merged. `bot run` and the pipeline benchmark both
// wire it, so the benchmark measures the daemon's path. (Storage used to
// take Canonical and map every cluster record of the alert's chat
// through it, per alert: at 100 feeds of the pipeline benchmark that cut
// the new-content cycle from about 2,400 to 150 stories/s, and the
// 1,000-feed cycle did not end in minutes.)
func (s *ClusterSet) Policy(editWindow time.Duration) storage.ClusterPolicy {
	return storage.ClusterPolicy{EditWindow: editWindow, Merged: s.Merged}
}

// LoadClusters returns a ClusterSet holding the stories stored within the
// clustering window before now, assigned in the order the pipeline
// assigns them (first seen, then ID), so that clusters, and the IDs the
// chats' alerts were filed under, survive a restart.
func LoadClusters(store RecentStories, cfg clusters.Config, now time.Time) (*ClusterSet, error) {
	c := clusters.New(cfg)
	set := &ClusterSet{c: c}
	stories, err := store.RecentStories(now.Add(-c.Config().Window))
	if err != nil {
		return nil, fmt.Errorf("load clusters: %w", err)
	}
	sortForClustering(stories)
	for i := range stories {
		c.Assign(&stories[i])
		if stories[i].FirstSeen.After(set.last) {
			set.last = stories[i].FirstSeen
		}
	}
	return set, nil
}

// sortForClustering orders stories as storage lists recent stories:
// first seen, then ID. Assigning in one fixed order makes a cluster's
// first story, and so its ID, the same live and after a rebuild.
func sortForClustering(stories []story.Story) {
	sort.SliceStable(stories, func(i, j int) bool {
		a, b := &stories[i], &stories[j]
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.ID < b.ID
	})
}

// assignClusters gives every story of a poll its cluster and returns the
// IDs by index. Stories without FirstSeen get now, as storage would stamp
// them, so that the rebuild after a restart sees the same times.
//
// With a *ClusterSet, every story of the poll is stamped with one time
// later than any earlier poll's, under the set's lock (see ClusterSet).
func assignClusters(c Clusters, stories []story.Story, now time.Time) []string {
	if set, ok := c.(*ClusterSet); ok {
		set.mu.Lock()
		defer set.mu.Unlock()
		if !now.After(set.last) {
			now = set.last.Add(time.Nanosecond)
		}
		set.last = now
		for i := range stories {
			stories[i].FirstSeen = now
		}
	}
	order := make([]int, len(stories))
	for i := range stories {
		if stories[i].FirstSeen.IsZero() {
			stories[i].FirstSeen = now
		}
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		a, b := &stories[order[x]], &stories[order[y]]
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.ID < b.ID
	})
	ids := make([]string, len(stories))
	for _, i := range order {
		ids[i], _ = c.Assign(&stories[i])
	}
	return ids
}
