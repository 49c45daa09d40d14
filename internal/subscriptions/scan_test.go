package subscriptions_test

import (
	"slices"
	"testing"

	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

// TestContainsScanCases pins down the Contains loop's needles on the cases
// where joining tokens with spaces could go wrong: word boundaries, a
// phrase across two fields, prefixes, field restrictions and exclusions.
func TestContainsScanCases(t *testing.T) {
	st := story.Story{
		Title:      "Witkoff’s peace-plan talks",
		Text:       "Negotiations in Moscow ended. Talks resume",
		Categories: []string{"Ukraine war"},
		Source:     "Reuters World",
	}
	cases := []struct {
		query string
		want  bool
	}{
		{"witkoff", true},
		{"witk", false},                 // not a whole word
		{"koff", false},                 // nor the end of one
		{`"peace plan"`, true},          // hyphenated words are a phrase
		{`"talks negotiations"`, false}, // title then text: two fields
		{`"resume ukraine"`, false},     // text then a category
		{`"ukraine war"`, true},
		{"negotiat*", true},
		{"egotiat*", false},
		{"title:moscow", false},
		{"title:talks", true},
		{"source:reuters", true},
		{"reuters", false}, // the source is only for source:
		{"moscow -war", false},
		{"moscow -kyiv", true},
		{"kyiv OR moscow", true},
		{"(kyiv OR odesa) moscow", false},
	}
	var subs []subscriptions.CompiledSub
	for i, c := range cases {
		cs, err := subscriptions.Compile(subscriptions.Subscription{ID: uint64(i + 1), Query: c.query})
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		subs = append(subs, cs)
	}
	d := subscriptions.NewDoc(&st)
	got := subscriptions.NewContainsScan(subs).Match(d)
	naive := ids(subscriptions.NaiveMatch(subs, d))
	for i, c := range cases {
		id := uint64(i + 1)
		if slices.Contains(got, id) != c.want {
			t.Errorf("%q: Contains scan matched = %v, want %v", c.query, !c.want, c.want)
		}
		if slices.Contains(naive, id) != c.want {
			t.Errorf("%q: NaiveMatch matched = %v, want %v", c.query, !c.want, c.want)
		}
	}
}
