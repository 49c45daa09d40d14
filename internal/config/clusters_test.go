package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestClustersSection(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[clusters]\nthreshold = 0.3\nwindow = \"12h\"\nedit_window = \"2h\"\nmax_merged = 8\n"), 0o600)
	cfg, err := Load(good, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Clusters.Threshold != 0.3 || cfg.Clusters.Window.Duration != 12*time.Hour || cfg.Clusters.EditWindow.Duration != 2*time.Hour || cfg.Clusters.MaxMerged != 8 {
		t.Errorf("clusters = %+v", cfg.Clusters)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[clusters]\nthreshold = 1.5\nmerge_threshold = -1\nedit_window = \"-1h\"\nmax_merged = -1\n"), 0o600)
	_, err = Load(bad, func(string) string { return "" })
	cerr, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v, want *Error", err)
	}
	keys := map[string]bool{}
	for _, p := range cerr.Problems {
		keys[p.Key] = true
	}
	for _, k := range []string{"clusters.threshold", "clusters.merge_threshold", "clusters.edit_window", "clusters.max_merged"} {
		if !keys[k] {
			t.Errorf("no problem reported for %s: %v", k, cerr.Problems)
		}
	}
}
