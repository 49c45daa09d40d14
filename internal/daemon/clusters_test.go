package daemon

import (
	"context"
	"testing"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/config"
	"frontwire/internal/storage"
)

// TestClustersConfigReachesTheClusterer checks that the [clusters] keys
// the clusterer takes are handed to the daemon's clusterer, not only
// parsed. (edit_window goes to storage's cluster policy, which keeps it
// private.)
func TestClustersConfigReachesTheClusterer(t *testing.T) {
	cfg := config.Default()
	cfg.Bot.DataDir = t.TempDir()
	cfg.Clusters = config.Clusters{
		Threshold:      0.4,
		MergeThreshold: 0.6,
		Window:         config.Duration{Duration: 7 * time.Hour},
		EditWindow:     config.Duration{Duration: 90 * time.Minute},
		MaxMerged:      5,
	}
	d, err := New(context.Background(), Options{Config: cfg, DBOptions: storage.Options{NoSync: true, Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	set, ok := d.Pipeline.Clusters.(*alerts.ClusterSet)
	if !ok {
		t.Fatalf("pipeline clusters = %T, want *alerts.ClusterSet", d.Pipeline.Clusters)
	}
	got := set.Config()
	if got.Threshold != 0.4 || got.MergeThreshold != 0.6 || got.Window != 7*time.Hour || got.MaxMerged != 5 {
		t.Errorf("clusterer config = %+v", got)
	}
}
