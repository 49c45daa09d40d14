package clusters

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"frontwire/internal/story"
)

// pair is one labelled example of testdata/pairs.json.
type pair struct {
	Kind  string    `json:"kind"`
	Same  bool      `json:"same"`
	Hours float64   `json:"hours"` // b is first seen this long after a
	A     pairStory `json:"a"`
	B     pairStory `json:"b"`
}

type pairStory struct {
	Title string `json:"title"`
	Lead  string `json:"lead"`
	Link  string `json:"link"`
}

func loadPairs(t testing.TB) []pair {
	t.Helper()
	b, err := os.ReadFile("testdata/pairs.json")
	if err != nil {
		t.Fatal(err)
	}
	var ps []pair
	if err := json.Unmarshal(b, &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

var t0 = time.Date(2025, 6, 10, 9, 0, 0, 0, time.UTC)

// sameCluster runs one pair through a fresh Clusterer, as two outlets'
// stories arriving one after the other.
func sameCluster(cfg Config, i int, p pair, background []*story.Story) bool {
	c := New(cfg)
	for _, s := range background {
		c.addBackground(s)
	}
	a := &story.Story{ID: fmt.Sprintf("a%d", i), Source: "a", Title: p.A.Title, Text: p.A.Lead, Link: p.A.Link, FirstSeen: t0}
	b := &story.Story{ID: fmt.Sprintf("b%d", i), Source: "b", Title: p.B.Title, Text: p.B.Lead, Link: p.B.Link,
		FirstSeen: t0.Add(time.Duration(p.Hours * float64(time.Hour)))}
	ida, _ := c.Assign(a)
	idb, _ := c.Assign(b)
	return ida == idb
}

type counts struct{ tp, fp, fn, tn int }

func (c counts) precision() float64 {
	if c.tp+c.fp == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.tp+c.fp)
}

func (c counts) recall() float64 {
	if c.tp+c.fn == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.tp+c.fn)
}

func (c counts) f1() float64 {
	p, r := c.precision(), c.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// backgroundOf is every story of the labelled set: the word frequencies a
// live window would supply.
func backgroundOf(ps []pair) []*story.Story {
	var out []*story.Story
	for _, p := range ps {
		for _, s := range []pairStory{p.A, p.B} {
			out = append(out, &story.Story{Title: s.Title, Text: s.Lead})
		}
	}
	return out
}

func evaluate(cfg Config, ps []pair, onMiss func(pair, bool)) counts {
	var c counts
	bg := backgroundOf(ps)
	for i, p := range ps {
		got := sameCluster(cfg, i, p, bg)
		switch {
		case got && p.Same:
			c.tp++
		case got && !p.Same:
			c.fp++
		case !got && p.Same:
			c.fn++
		default:
			c.tn++
		}
		if got != p.Same && onMiss != nil {
			onMiss(p, got)
		}
	}
	return c
}

// TestLabelled measures precision and recall of "same event" on the
// labelled pairs at several thresholds, and holds the default to the
// figures documented in docs/CLUSTERING.md.
func TestLabelled(t *testing.T) {
	ps := loadPairs(t)
	if len(ps) < 100 {
		t.Fatalf("labelled set has %d pairs, want at least 100", len(ps))
	}
	t.Logf("%d pairs; threshold  precision  recall  F1  (tp fp fn tn)", len(ps))
	for _, th := range []float64{0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.60} {
		c := evaluate(Config{Threshold: th}, ps, nil)
		t.Logf("%.2f  %.3f  %.3f  %.3f  (%d %d %d %d)", th, c.precision(), c.recall(), c.f1(), c.tp, c.fp, c.fn, c.tn)
	}
	c := evaluate(Config{}, ps, func(p pair, got bool) {
		t.Logf("miss at default (%s, want same=%v, got %v): %q | %q", p.Kind, p.Same, got, p.A.Title, p.B.Title)
	})
	t.Logf("default %.2f: precision %.3f recall %.3f F1 %.3f", DefaultThreshold, c.precision(), c.recall(), c.f1())
	// The goal was precision ≥ 0.9 and recall ≥ 0.7; the default reaches
	// about 0.9 and 0.5 on this set (see docs/CLUSTERING.md), so these
	// floors guard the figures measured, not the goal.
	if c.precision() < 0.85 {
		t.Errorf("precision at default threshold = %.3f, want ≥ 0.85", c.precision())
	}
	if c.recall() < 0.45 {
		t.Errorf("recall at default threshold = %.3f, want ≥ 0.45", c.recall())
	}
}
