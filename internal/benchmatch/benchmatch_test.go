package benchmatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// memLoader keeps subscriptions in memory, assigning IDs like storage.
type memLoader struct{ subs []subscriptions.Subscription }

func (m *memLoader) AddSubscriptions(subs []*subscriptions.Subscription) error {
	for _, s := range subs {
		c := *s
		c.ID = uint64(len(m.subs) + 1)
		m.subs = append(m.subs, c)
	}
	return nil
}

func (m *memLoader) ForEachSubscription(fn func(*subscriptions.Subscription) error) error {
	for i := range m.subs {
		if err := fn(&m.subs[i]); err != nil {
			return err
		}
	}
	return nil
}

func TestRunJSON(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "bench.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loaders := map[string]Loader{"memory": &memLoader{}, "bbolt": db}
	for name, load := range loaders {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			opt := Options{Subs: 2000, Stories: 200, Seed: 7, NaiveSample: 50, JSON: true}
			if err := Run(context.Background(), opt, load, &out); err != nil {
				t.Fatal(err)
			}
			var got map[string]float64
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("output %q: %v", out.String(), err)
			}
			for _, k := range []string{"subs", "stories", "indexed_stories_per_sec", "naive_stories_per_sec", "speedup",
				"candidates_per_story", "matches_per_story", "allocs_per_story", "index_bytes_per_sub",
				"load_and_index_seconds", "add_remove_micros"} {
				if _, ok := got[k]; !ok {
					t.Errorf("missing key %q in %s", k, out.String())
				}
			}
			if got["subs"] != 2000 || got["stories"] != 200 || got["naive_sample"] != 50 || got["mismatches"] != 0 {
				t.Errorf("counts: %s", out.String())
			}
			if got["matches_per_story"] <= 0 || got["candidates_per_story"] < got["matches_per_story"] {
				t.Errorf("candidates %v must be at least matches %v > 0", got["candidates_per_story"], got["matches_per_story"])
			}
			if got["matches_per_story"] != got["naive_matches_per_story"] && got["naive_matches_per_story"] == 0 {
				t.Errorf("naive scan found nothing")
			}
			if got["indexed_stories_per_sec"] <= 0 || got["naive_stories_per_sec"] <= 0 {
				t.Errorf("rates: %s", out.String())
			}
		})
	}
}

func TestRunTable(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), Options{Subs: 500, Stories: 20, Seed: 1}, &memLoader{}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"500 subscriptions, 20 stories", "speedup", "index bytes per subscription", "index/naive disagreements    0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		opt  Options
		load Loader
		want error
	}{
		{"cancelled", ctx, Options{Subs: 10, Stories: 10}, &memLoader{}, context.Canceled},
		{"no loader", context.Background(), Options{Subs: 10, Stories: 10}, nil, nil},
		{"no subs", context.Background(), Options{Subs: 0, Stories: 10}, &memLoader{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(tt.ctx, tt.opt, tt.load, &bytes.Buffer{})
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Run = %v, want %v", err, tt.want)
			}
		})
	}
}
