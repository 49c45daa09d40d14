package subscriptions_test

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"frontwire/internal/chat"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
	"frontwire/internal/subscriptions/workload"
)

func sortedHits(h []subscriptions.Hit) []subscriptions.Hit {
	h = slices.Clone(h)
	slices.SortFunc(h, func(a, b subscriptions.Hit) int { return cmp.Compare(a.ID, b.ID) })
	return h
}

func sameHits(a, b []subscriptions.Hit) bool {
	a, b = sortedHits(a), sortedHits(b)
	return slices.EqualFunc(a, b, func(x, y subscriptions.Hit) bool {
		return x.ID == y.ID && x.Chat == y.Chat && x.Query == y.Query && slices.Equal(x.Terms, y.Terms)
	})
}

func ids(h []subscriptions.Hit) []uint64 {
	out := make([]uint64, len(h))
	for i, x := range h {
		out[i] = x.ID
	}
	slices.Sort(out)
	return out
}

// sameAsScan reports whether the Contains scan's IDs are the hits' IDs.
func sameAsScan(scan []uint64, h []subscriptions.Hit) bool {
	scan = slices.Clone(scan)
	slices.Sort(scan)
	return slices.Equal(scan, ids(h))
}

func TestIndexMatchesSubscriptions(t *testing.T) {
	ix := subscriptions.NewIndex()
	subs := []subscriptions.Subscription{
		{ID: 1, Chat: chat.Address{Platform: "telegram", Chat: "1"}, Query: "Witkoff"},
		{ID: 2, Chat: chat.Address{Platform: "telegram", Chat: "1"}, Query: `"peace plan" -rumour`},
		{ID: 3, Chat: chat.Address{Platform: "discord", Chat: "9"}, Query: "Kushner OR negotiat*"},
		{ID: 4, Chat: chat.Address{Platform: "discord", Chat: "9"}, Query: "title:moscow"},
		{ID: 5, Chat: chat.Address{Platform: "discord", Chat: "9"}, Query: "source:reuters ukraine"},
		{ID: 6, Chat: chat.Address{Platform: "discord", Chat: "9"}, Query: "the"},
	}
	for _, s := range subs {
		if err := ix.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	d := subscriptions.NewDoc(&story.Story{Source: "Reuters", Title: "Talks in Moscow",
		Text: "Witkoff’s peace-plan: negotiations over Ukraine continue."})
	tests := []struct {
		name string
		do   func()
		want []uint64
	}{
		{"all that match", func() {}, []uint64{1, 2, 3, 4, 5}},
		{"remove", func() { ix.Remove(1) }, []uint64{2, 3, 4, 5}},
		{"remove unknown", func() { ix.Remove(99) }, []uint64{2, 3, 4, 5}},
		{"replace by ID", func() {
			if err := ix.Add(subscriptions.Subscription{ID: 3, Query: "Trump"}); err != nil {
				t.Fatal(err)
			}
		}, []uint64{2, 4, 5}},
		{"re-add", func() {
			if err := ix.Add(subs[0]); err != nil {
				t.Fatal(err)
			}
		}, []uint64{1, 2, 4, 5}},
		{"invalid query changes nothing", func() {
			if err := ix.Add(subscriptions.Subscription{ID: 4, Query: "-x"}); err == nil {
				t.Fatal("Add accepted an invalid query")
			}
		}, []uint64{1, 2, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			if got := ids(ix.Match(d)); !slices.Equal(got, tt.want) {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
	if ix.Len() != 6 {
		t.Errorf("Len = %d, want 6", ix.Len())
	}
	hits := sortedHits(ix.Match(d))
	if hits[0].ID != 1 || hits[0].Chat != subs[0].Chat || hits[0].Query != "Witkoff" || !slices.Equal(hits[0].Terms, []string{"witkoff"}) {
		t.Errorf("first hit = %+v", hits[0])
	}
}

func TestIndexAddRejectsInvalid(t *testing.T) {
	err := subscriptions.NewIndex().Add(subscriptions.Subscription{ID: 7, Query: `"open`})
	var qe *subscriptions.QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("Add: %v, want a *QueryError", err)
	}
}

// compileAll compiles subs, skipping any invalid ones.
func compileAll(subs []subscriptions.Subscription) []subscriptions.CompiledSub {
	var out []subscriptions.CompiledSub
	for _, s := range subs {
		if c, err := subscriptions.Compile(s); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func TestIndexEqualsNaiveOnWorkload(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := workload.New(seed)
			subs := g.Subscriptions(3000)
			compiled := compileAll(subs)
			if len(compiled) != len(subs) {
				t.Fatalf("%d of %d generated queries are invalid", len(subs)-len(compiled), len(subs))
			}
			ix := subscriptions.NewIndex()
			for _, c := range compiled {
				ix.AddCompiled(c)
			}
			scan := subscriptions.NewContainsScan(compiled)
			total := 0
			for _, st := range g.Stories(300) {
				d := subscriptions.NewDoc(&st)
				want := subscriptions.NaiveMatch(compiled, d)
				got := ix.Match(d)
				total += len(want)
				if !sameHits(got, want) {
					t.Fatalf("story %s: index %v, naive %v", st.ID, ids(got), ids(want))
				}
				if c := scan.Match(d); !sameAsScan(c, want) {
					t.Fatalf("story %s: Contains scan %v, naive %v", st.ID, c, ids(want))
				}
			}
			if total == 0 {
				t.Fatal("no story matched anything: the test proves nothing")
			}
		})
	}
}

// The vocabulary of the random differential test is small so that random
// queries and random stories overlap.
var testWords = []string{"peace", "plan", "Witkoff", "kushner", "negotiations", "war", "warning", "Zélenskyy", "zelenskyy",
	"москва", "東京", "the", "talks", "peace-plan", "Witkoff's"}

func genTerm(t *rapid.T) string {
	w := rapid.SampledFrom(testWords).Draw(t, "word")
	switch rapid.IntRange(0, 9).Draw(t, "kind") {
	case 0:
		return `"` + w + " " + rapid.SampledFrom(testWords).Draw(t, "word2") + `"`
	case 1:
		if r := []rune(story.Fold(w)); len(r) >= 4 && !strings.Contains(string(r), " ") {
			return string(r[:3+rapid.IntRange(0, len(r)-3).Draw(t, "cut")]) + "*"
		}
	case 2:
		return "title:" + w
	case 3:
		return "source:" + w
	}
	return w
}

func genQuery(t *rapid.T, depth int) string {
	n := rapid.IntRange(1, 3).Draw(t, "clauses")
	parts := make([]string, n)
	for i := range parts {
		c := genTerm(t)
		if depth < 2 && rapid.IntRange(0, 3).Draw(t, "group") == 0 {
			c = "(" + genQuery(t, depth+1) + ")"
		}
		if rapid.IntRange(0, 3).Draw(t, "or") == 0 {
			c += " OR " + genTerm(t)
		}
		if i > 0 && rapid.IntRange(0, 3).Draw(t, "neg") == 0 {
			c = "-" + genTerm(t)
		}
		parts[i] = c
	}
	return strings.Join(parts, " ")
}

func genText(t *rapid.T, label string) string {
	return strings.Join(rapid.SliceOfN(rapid.SampledFrom(append(testWords, "and", "of", "’s", "-", "“", "”")), 0, 20).Draw(t, label), " ")
}

// TestIndexEqualsNaiveRandom drives an index through random adds, removes
// and replacements and checks every match against the full scan.
func TestIndexEqualsNaiveRandom(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ix := subscriptions.NewIndex()
		live := map[uint64]subscriptions.CompiledSub{}
		var reused subscriptions.Doc
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for range steps {
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0, 1, 2:
				s := subscriptions.Subscription{ID: rapid.Uint64Range(1, 12).Draw(t, "id"), Query: genQuery(t, 0)}
				c, err := subscriptions.Compile(s)
				if err != nil {
					continue
				}
				if err := ix.Add(s); err != nil {
					t.Fatalf("Add(%q): %v", s.Query, err)
				}
				live[s.ID] = c
			case 3:
				id := rapid.Uint64Range(1, 12).Draw(t, "id")
				ix.Remove(id)
				delete(live, id)
			case 4:
				st := story.Story{Title: genText(t, "title"), Text: genText(t, "text"), Source: genText(t, "source"),
					Categories: []string{genText(t, "cat")}}
				d := subscriptions.NewDoc(&st)
				var all []subscriptions.CompiledSub
				for _, c := range live {
					all = append(all, c)
				}
				got, want := ix.Match(d), subscriptions.NaiveMatch(all, d)
				if !sameHits(got, want) {
					t.Fatalf("story %+v: index %+v, naive %+v", st, got, want)
				}
				// The same story in a Doc reused across the run's stories.
				reused.Reset(&st)
				if got := ix.Match(&reused); !sameHits(got, want) {
					t.Fatalf("story %+v: index on a reused Doc %+v, naive %+v", st, got, want)
				}
				if c := subscriptions.NewContainsScan(all).Match(d); !sameAsScan(c, want) {
					t.Fatalf("story %+v: Contains scan %v, naive %+v", st, c, want)
				}
			}
		}
		if ix.Len() != len(live) {
			t.Fatalf("Len = %d, want %d", ix.Len(), len(live))
		}
	})
}

func FuzzIndexEqualsNaive(f *testing.F) {
	f.Add("Witkoff OR kushner", `"peace plan" -war`, "title:talks negotiat*", "Witkoff’s peace-plan talks", "negotiations in Moscow", "Reuters")
	f.Add("東京", "zelenskyy", "source:reuters", "東京で", "Zélenskyy", "Reuters World")
	f.Fuzz(func(t *testing.T, q1, q2, q3, title, text, source string) {
		ix := subscriptions.NewIndex()
		var all []subscriptions.CompiledSub
		for i, q := range []string{q1, q2, q3} {
			s := subscriptions.Subscription{ID: uint64(i + 1), Query: q}
			c, err := subscriptions.Compile(s)
			if err != nil {
				continue
			}
			all = append(all, c)
			if err := ix.Add(s); err != nil {
				t.Fatal(err)
			}
		}
		d := subscriptions.NewDoc(&story.Story{Title: title, Text: text, Source: source, Categories: []string{text}})
		got, want := ix.Match(d), subscriptions.NaiveMatch(all, d)
		if !sameHits(got, want) {
			t.Fatalf("index %+v, naive %+v", got, want)
		}
		if c := subscriptions.NewContainsScan(all).Match(d); !sameAsScan(c, want) {
			t.Fatalf("Contains scan %v, naive %+v", c, want)
		}
	})
}

// TestIndexConcurrent matches stories while subscriptions are added and
// removed; run with -race. Subscriptions that are never touched must match
// every time.
func TestIndexConcurrent(t *testing.T) {
	g := workload.New(5)
	ix := subscriptions.NewIndex()
	stable := subscriptions.Subscription{ID: 1 << 40, Query: "witkoff"}
	if err := ix.Add(stable); err != nil {
		t.Fatal(err)
	}
	churn := g.Subscriptions(2000)
	stories := g.Stories(50)
	for i := range stories {
		stories[i].Text += " Witkoff"
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, s := range churn {
			if err := ix.Add(s); err != nil {
				t.Error(err)
				return
			}
			if s.ID%2 == 0 {
				ix.Remove(s.ID)
			}
		}
	}()
	for round := 0; round < 20; round++ {
		for i := range stories {
			hits := ix.Match(subscriptions.NewDoc(&stories[i]))
			if !slices.ContainsFunc(hits, func(h subscriptions.Hit) bool { return h.ID == stable.ID }) {
				t.Fatalf("round %d story %d: the stable subscription did not match", round, i)
			}
		}
	}
	wg.Wait()
	if ix.Len() != 1+len(churn)/2 {
		t.Errorf("Len = %d, want %d", ix.Len(), 1+len(churn)/2)
	}
}

// TestDocReset checks that a Doc reused with Reset, story after story of
// different sizes, holds what NewDoc would, and that hits taken before a
// Reset keep their terms (they must not point into the reused memory).
func TestDocReset(t *testing.T) {
	g := workload.New(4)
	compiled := compileAll(g.Subscriptions(3000))
	ix := subscriptions.NewIndex()
	for _, c := range compiled {
		ix.AddCompiled(c)
	}
	stories := g.Stories(200)
	// A long story then short and empty ones: a reused table and buffer
	// larger than the story must hold nothing of the one before.
	long := stories[0]
	long.Text = strings.Repeat(long.Text+" ", 20)
	// A token where the next story has a field break: the break must not
	// keep the token's ID, or "peace talks" would match across the title
	// and the text.
	stories = append([]story.Story{long, {Title: "Peace"}, {}, {Title: "x y z"}, {Title: "peace", Text: "talks"}}, stories...)

	phrase, err := subscriptions.Parse(`"peace talks"`)
	if err != nil {
		t.Fatal(err)
	}
	var reused subscriptions.Doc
	var kept, wantHits [][]subscriptions.Hit
	total := 0
	for i := range stories {
		st := &stories[i]
		fresh := subscriptions.NewDoc(st)
		reused.Reset(st)
		if got, w := reused.Tokens(), fresh.Tokens(); !slices.Equal(got, w) {
			t.Fatalf("story %d: reused Doc has tokens %q, NewDoc %q", i, got, w)
		}
		got, _ := phrase.Match(&reused)
		want, _ := phrase.Match(fresh)
		if got != want {
			t.Fatalf("story %d: %q matches the reused Doc %v, NewDoc's %v", i, phrase.String(), got, want)
		}
		w := ix.Match(fresh)
		hits := ix.Match(&reused)
		if !sameHits(hits, w) {
			t.Fatalf("story %d: reused Doc matched %v, NewDoc %v", i, ids(hits), ids(w))
		}
		// Deep copies of what the hits should say, for after later Resets.
		wc := make([]subscriptions.Hit, len(w))
		for j, h := range w {
			h.Terms = slices.Clone(h.Terms)
			for k := range h.Terms {
				h.Terms[k] = strings.Clone(h.Terms[k])
			}
			wc[j] = h
		}
		kept, wantHits = append(kept, hits), append(wantHits, wc)
		total += len(w)
	}
	if total == 0 {
		t.Fatal("no story matched anything: the test proves nothing")
	}
	for i := range kept {
		if !sameHits(kept[i], wantHits[i]) {
			t.Fatalf("story %d: hits changed after later Resets", i)
		}
	}
}

// TestIndexPlatforms checks the per-platform counts the metrics gauge reads
// through adds, a replacement that moves a subscription to another
// platform, removals, and a bulk load.
func TestIndexPlatforms(t *testing.T) {
	sub := func(id uint64, platform string) subscriptions.Subscription {
		return subscriptions.Subscription{ID: id, Chat: chat.Address{Platform: platform, Chat: "1"}, Query: "Witkoff"}
	}
	ix := subscriptions.NewIndex()
	for _, s := range []subscriptions.Subscription{sub(1, "telegram"), sub(2, "telegram"), sub(3, "discord")} {
		if err := ix.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, want map[string]int) {
		t.Helper()
		if got := ix.Platforms(); !maps.Equal(got, want) {
			t.Errorf("%s: Platforms() = %v, want %v", step, got, want)
		}
	}
	check("added", map[string]int{"telegram": 2, "discord": 1})
	if err := ix.Add(sub(2, "discord")); err != nil { // same ID: replaces
		t.Fatal(err)
	}
	check("replaced", map[string]int{"telegram": 1, "discord": 2})
	ix.Remove(1)
	ix.Remove(1) // unknown by now: changes nothing
	check("removed", map[string]int{"telegram": 0, "discord": 2})

	b := ix.NewBulk(2)
	for id := uint64(10); id < 5010; id++ {
		b.Add(sub(id, "telegram"))
	}
	if _, err := b.Close(); err != nil {
		t.Fatal(err)
	}
	check("bulk", map[string]int{"telegram": 5000, "discord": 2})
}
