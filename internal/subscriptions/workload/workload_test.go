package workload_test

import (
	"reflect"
	"strings"
	"testing"

	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

func TestDeterministic(t *testing.T) {
	a, b := workload.New(42), workload.New(42)
	if !reflect.DeepEqual(a.Subscriptions(500), b.Subscriptions(500)) || !reflect.DeepEqual(a.Stories(50), b.Stories(50)) {
		t.Fatal("the same seed gave different workloads")
	}
	if reflect.DeepEqual(workload.New(1).Subscriptions(50), workload.New(2).Subscriptions(50)) {
		t.Fatal("different seeds gave the same subscriptions")
	}
}

func TestSubscriptionsShape(t *testing.T) {
	subs := workload.New(3).Subscriptions(5000)
	var or, excl, phrase, prefix, title int
	for i, s := range subs {
		if s.ID != uint64(i+1) || s.Chat.Platform == "" || s.Chat.Chat == "" {
			t.Fatalf("subscription %d: %+v", i, s)
		}
		if _, err := subscriptions.Parse(s.Query); err != nil {
			t.Fatalf("generated query %q does not parse: %v", s.Query, err)
		}
		q := s.Query
		if strings.Contains(q, " OR ") {
			or++
		}
		if strings.Contains(q, " -") {
			excl++
		}
		if strings.Contains(q, `"`) {
			phrase++
		}
		if strings.Contains(q, "*") {
			prefix++
		}
		if strings.Contains(q, "title:") {
			title++
		}
	}
	n := float64(len(subs))
	checks := []struct {
		name     string
		got      int
		min, max float64
	}{
		{"OR", or, 0.28, 0.40},
		{"exclusion", excl, 0.20, 0.30},
		{"phrase", phrase, 0.2, 0.7},
		{"prefix", prefix, 0.05, 0.3},
		{"title", title, 0.05, 0.4},
	}
	for _, c := range checks {
		if f := float64(c.got) / n; f < c.min || f > c.max {
			t.Errorf("%s in %.2f of queries, want %.2f..%.2f", c.name, f, c.min, c.max)
		}
	}
}

func TestStoriesShape(t *testing.T) {
	stories := workload.New(4).Stories(300)
	var words int
	var curly, cyrillic, cjk, hyphen bool
	for _, st := range stories {
		words += len(story.AppendTokens(nil, st.Text))
		curly = curly || strings.ContainsAny(st.Text, "“”’")
		cyrillic = cyrillic || strings.ContainsAny(st.Text, "аеио")
		cjk = cjk || strings.ContainsAny(st.Text, "东京")
		hyphen = hyphen || strings.Contains(st.Text, "-")
		if st.Title == "" || st.Source == "" || len(st.Categories) == 0 {
			t.Fatalf("incomplete story %+v", st)
		}
	}
	if avg := words / len(stories); avg < 70 || avg > 100 {
		t.Errorf("stories average %d words, want about 80", avg)
	}
	if !curly || !cyrillic || !cjk || !hyphen {
		t.Errorf("curly %v cyrillic %v cjk %v hyphen %v: want all", curly, cyrillic, cjk, hyphen)
	}
}
