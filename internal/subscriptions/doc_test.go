package subscriptions

import (
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"frontwire/internal/story"
)

// TestPhraseTermEqualsScan checks the position-chain phrase search against
// a plain scan of each field's tokens, on texts from a tiny vocabulary so
// that words repeat and phrases overlap ("a a b").
func TestPhraseTermEqualsScan(t *testing.T) {
	words := []string{"a", "b", "c", "Ab", "b-a", "A’s"}
	text := func(t *rapid.T, label string) string {
		return strings.Join(rapid.SliceOfN(rapid.SampledFrom(words), 0, 12).Draw(t, label), " ")
	}
	rapid.Check(t, func(t *rapid.T) {
		st := &story.Story{Title: text(t, "title"), Text: text(t, "text"), Source: text(t, "source"),
			Categories: []string{text(t, "cat1"), text(t, "cat2")}}
		d := NewDoc(st)
		phrase := story.AppendTokens(nil, text(t, "phrase"))
		if len(phrase) == 0 || len(phrase) > MaxPhraseWords {
			return
		}
		fld := rapid.SampledFrom([]uint8{fTitle, fSource, fAny}).Draw(t, "field")
		var segs []string
		switch fld {
		case fTitle:
			segs = []string{st.Title}
		case fSource:
			segs = []string{st.Source}
		default:
			segs = append([]string{st.Title, st.Text}, st.Categories...)
		}
		want := false
		for _, s := range segs {
			toks := story.AppendTokens(nil, s)
			for i := 0; i+len(phrase) <= len(toks); i++ {
				if slices.Equal(toks[i:i+len(phrase)], phrase) {
					want = true
				}
			}
		}
		// The phrase as a query term, checked as the evaluator checks it.
		text := `"` + strings.Join(phrase, " ") + `"`
		switch fld {
		case fTitle:
			text = "title:" + text
		case fSource:
			text = "source:" + text
		}
		q, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		if n := q.node(0); n.op != opTerm || int(n.ntok) != len(phrase) || n.fld != fld {
			t.Fatalf("Parse(%q) = %q, not the phrase term", text, q.String())
		}
		if got := q.termIn(d, q.node(0)); got != want {
			t.Fatalf("%s in %+v = %v, want %v", text, st, got, want)
		}
	})
}

// TestHasPrefixEqualsScan checks hasPrefix, whose filter of token starts
// rejects most prefixes early, against a plain scan of the tokens, with
// words that share their first three or four bytes and non-ASCII ones.
func TestHasPrefixEqualsScan(t *testing.T) {
	words := []string{"negotiate", "negotiations", "nego", "neg", "negative", "kyiv", "kyivan", "київ", "київський", "straße", "été", "北京市"}
	rapid.Check(t, func(t *rapid.T) {
		pick := rapid.SliceOfN(rapid.SampledFrom(words), 0, 8)
		st := story.Story{
			Title:  strings.Join(pick.Draw(t, "title"), " "),
			Text:   strings.Join(pick.Draw(t, "text"), " "),
			Source: "Wire",
		}
		d := NewDoc(&st)
		w := rapid.SampledFrom(words).Draw(t, "word")
		r := []rune(story.Fold(w))
		n := rapid.IntRange(min(MinPrefix, len(r)), len(r)).Draw(t, "runes")
		pre := string(r[:n])
		fld := rapid.SampledFrom([]uint8{fTitle, fBody, fAny}).Draw(t, "field")
		want := false
		for _, u := range d.uniq {
			if u.mask&fld != 0 && strings.HasPrefix(u.tok, pre) {
				want = true
			}
		}
		if got := d.hasPrefix(pre, fld); got != want {
			t.Fatalf("hasPrefix(%q, %d) = %v, want %v; title %q, text %q", pre, fld, got, want, st.Title, st.Text)
		}
	})
}
