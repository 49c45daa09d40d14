package alerts

import (
	"fmt"
	"sort"
	"time"

	"frontwire/internal/clusters"
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

// LoadClusters returns a Clusterer holding the stories stored within the
// clustering window before now, assigned in the order the pipeline
// assigns them (first seen, then ID), so that clusters, and the IDs the
// chats' alerts were filed under, survive a restart.
func LoadClusters(store RecentStories, cfg clusters.Config, now time.Time) (*clusters.Clusterer, error) {
	c := clusters.New(cfg)
	stories, err := store.RecentStories(now.Add(-c.Config().Window))
	if err != nil {
		return nil, fmt.Errorf("load clusters: %w", err)
	}
	sortForClustering(stories)
	for i := range stories {
		c.Assign(&stories[i])
	}
	return c, nil
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
func assignClusters(c Clusters, stories []story.Story, now time.Time) []string {
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
