package subscriptions_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

func TestParseNormalises(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ukraine peace", "ukraine peace"},
		{`"peace plan"`, `"peace plan"`},
		{"Witkoff OR Kushner", "witkoff OR kushner"},
		{"a b OR c", "a b OR c"},
		{"(a b) OR c", "(a b) OR c"},
		{"a (b c)", "a b c"},
		{"((a))", "a"},
		{"(a OR b) OR c", "a OR b OR c"},
		{"Ukraine AND peace", "ukraine peace"},
		{"war or peace", "war or peace"},
		{"-rumour Witkoff", "-rumour witkoff"},
		{`Witkoff -"op ed"`, `witkoff -"op ed"`},
		{"Witkoff -(Kushner OR Trump)", "witkoff -(kushner OR trump)"},
		{"Witkoff -(a b)", "witkoff -(a b)"},
		{"negotiat*", "negotiat*"},
		{"Title:Witkoff", "title:witkoff"},
		{`title:"Peace Plan"`, `title:"peace plan"`},
		{"title:negotiat*", "title:negotiat*"},
		{"source:Reuters", "source:reuters"},
		{"peace-plan", `"peace plan"`},
		{"Witkoff's", `"witkoff s"`},
		{`"Witkoff"`, "witkoff"},
		{"Zélenskyy", "zelenskyy"},
		{"東京", `"東 京"`},
		{"Breaking: news", "breaking news"},
		{"Ukraine & Russia", "ukraine russia"},
		{"Wit\u200bkoff", "witkoff"},
		{"\u202eWitkoff\u202c", "witkoff"},
		{"Witkoff\x00Kushner", "witkoff kushner"},
		{"“peace plan”", `"peace plan"`},
		{"x -(-a)", "x -(-a)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := subscriptions.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again, err := subscriptions.Parse(q.String())
			if err != nil || again.String() != q.String() {
				t.Errorf("re-parse of %q: %v, %v", q.String(), again, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, msg string
		pos           int
	}{
		{"empty", "", "the query is empty: type the words to look for, e.g. Ukraine peace", 0},
		{"blank", "   \t", "the query is empty: type the words to look for, e.g. Ukraine peace", 0},
		{"no words", "& ! —", "the query has no words: type the words to look for, e.g. Ukraine peace", 0},
		{"only exclusions", "-rumour -gossip", "add at least one word to look for: a query cannot be only exclusions", 0},
		{"excluded group only", "-(a b)", "add at least one word to look for: a query cannot be only exclusions", 0},
		{"unclosed quote", `Witkoff "peace plan`, `unbalanced quote: add the closing " after the phrase, or remove the opening one`, 8},
		{"unclosed paren", "(a OR b", "missing ): close the group opened here, or remove the (", 0},
		{"stray paren", "a OR b)", "unexpected ): remove it or add a matching (", 6},
		{"too long", strings.Repeat("a", 513), "the query is too long (513 characters): keep it to 512", 512},
		{"too many terms", strings.Repeat("w ", 33), "too many terms: a query may have at most 32 words, phrases and prefixes", 64},
		{"empty phrase", `a ""`, "empty phrase: put words between the quotes or remove them", 2},
		{"punctuation phrase", `a "!!"`, "empty phrase: put words between the quotes or remove them", 2},
		{"dangling OR at end", "a OR", "OR needs a word, phrase or group on both sides", 2},
		{"dangling OR at start", "OR a", "OR needs a word, phrase or group on both sides", 0},
		{"double OR", "a OR OR b", "OR needs a word, phrase or group on both sides", 2},
		{"OR before paren", "(a OR) b", "OR needs a word, phrase or group on both sides", 3},
		{"bare minus", "a - b", "a - must be followed by a word, phrase or group to exclude, e.g. -rumour", 2},
		{"minus at end", "a -", "a - must be followed by a word, phrase or group to exclude, e.g. -rumour", 2},
		{"double minus", "a --b", "a - must be followed by a word, phrase or group to exclude, e.g. -rumour", 2},
		{"minus punctuation", "a -&", "a - must be followed by a word, phrase or group to exclude, e.g. -rumour", 2},
		{"short prefix", "ne*", "a prefix needs at least 3 letters before the *, e.g. negotiat*", 0},
		{"bare star", "a *", "a prefix needs at least 3 letters before the *, e.g. negotiat*", 2},
		{"multiword prefix", "peace-pl*", `a prefix must be one word: "peace-pl*" has several; quote the words before it instead`, 0},
		{"unknown field", "foo:bar", `unknown field "foo:": use title: or source:, or put the text in quotes`, 0},
		{"field without term", "title: Witkoff", "title: needs a word or a quoted phrase right after it, e.g. title:Witkoff", 0},
		{"field at end", "a source:", "source: needs a word or a quoted phrase right after it, e.g. source:Witkoff", 2},
		{"field on group", "title:(a OR b)", "title: applies to one word or a quoted phrase, not a group: write title:a OR title:b", 0},
		{"exclusion in OR", "a OR -b", "each side of OR needs a word to look for: move exclusions such as -word outside the OR", 5},
		{"exclusion group in OR", "(-b) OR a", "each side of OR needs a word to look for: move exclusions such as -word outside the OR", 0},
		{"empty group", "a ()", "empty parentheses: put words inside or remove them", 2},
		{"deep nesting", strings.Repeat("(", 9) + "a" + strings.Repeat(")", 9), "too many nested parentheses: use at most 8 levels", 8},
		{"pathological nesting", strings.Repeat("(", 10000), "the query is too long (10000 characters): keep it to 512", 512},
		{"nesting under the length limit", strings.Repeat("(", 500), "too many nested parentheses: use at most 8 levels", 8},
		{"long phrase", `"` + strings.Repeat("a ", 17) + `"`, "a phrase may have at most 16 words: shorten it or split it into several terms", 0},
		{"position counts characters", `Zélenskyy "x`, `unbalanced quote: add the closing " after the phrase, or remove the opening one`, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := subscriptions.Parse(tt.in)
			var qe *subscriptions.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) = %v, %v; want a *QueryError", tt.in, q, err)
			}
			if qe.Msg != tt.msg || qe.Pos != tt.pos {
				t.Errorf("Parse(%q) error = %q at %d, want %q at %d", tt.in, qe.Msg, qe.Pos, tt.msg, tt.pos)
			}
		})
	}
}

func TestQueryMatch(t *testing.T) {
	st := &story.Story{
		Source:     "Reuters World",
		Title:      "Witkoff’s peace-plan talks resume in Moscow",
		Text:       "Negotiations over the Ukraine peace plan resumed on Tuesday, the envoy said. Warnings were issued. Stewart declined to comment. Москва подтвердила переговоры. 東京でも会談。Zelenskyy welcomed it.",
		Categories: []string{"World News", "Diplomacy"},
	}
	d := subscriptions.NewDoc(st)
	tests := []struct {
		q     string
		ok    bool
		terms []string
	}{
		{"Ukraine peace", true, []string{"ukraine", "peace"}},
		{"ukraine WAR", false, nil},
		{"war", false, nil}, // not inside "warnings" or "Stewart"
		{"Witkoff", true, []string{"witkoff"}},
		{"WITKOFF'S", true, []string{`"witkoff s"`}},
		{`"peace plan"`, true, []string{`"peace plan"`}},
		{`"plan peace"`, false, nil},
		{"peace-plan", true, []string{`"peace plan"`}},
		{`"resume negotiations"`, false, nil}, // title then text: no phrase across fields
		{`"news diplomacy"`, false, nil},      // across two categories
		{`"world news"`, true, []string{`"world news"`}},
		{"diplomacy", true, []string{"diplomacy"}},
		{"negotiat*", true, []string{"negotiat*"}},
		{"title:negotiat*", false, nil},
		{"title:Witkoff", true, []string{"title:witkoff"}},
		{`title:"peace plan"`, true, []string{`title:"peace plan"`}},
		{"title:Tuesday", false, nil},
		{"source:reuters", true, []string{"source:reuters"}},
		{"reuters", false, nil},
		{"Witkoff OR Kushner", true, []string{"witkoff"}},
		{"Kushner OR Trump", false, nil},
		{"Witkoff -Tuesday", false, nil},
		{"Witkoff -Kushner", true, []string{"witkoff"}},
		{`Witkoff -"peace plan"`, false, nil},
		{"Witkoff -(Kushner OR Tuesday)", false, nil},
		{"Witkoff -(Kushner Tuesday)", true, []string{"witkoff"}},
		{"Zélenskyy", true, []string{"zelenskyy"}},
		{"ZELENSKYY", true, []string{"zelenskyy"}},
		{"МОСКВА", true, []string{"москва"}},
		{"東京", true, []string{`"東 京"`}},
		{"京東", false, nil},
		{"moscow (envoy OR kushner) -(trump)", true, []string{"moscow", "envoy"}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			ok, terms := subscriptions.MustParse(tt.q).Match(d)
			if ok != tt.ok || !slices.Equal(terms, tt.terms) {
				t.Errorf("%q: Match = %v %q, want %v %q", tt.q, ok, terms, tt.ok, tt.terms)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Ukraine peace", `"peace plan" -rumour`, "a b OR c", "(a OR (b -c)) d", "title:negotiat*",
		`source:"reuters world"`, "東京 -서울", "((((((((a))))))))", `"`, "a OR", "-", "foo:bar", "Wit\u200bkoff\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := subscriptions.Parse(s)
		if err != nil {
			var qe *subscriptions.QueryError
			if !errors.As(err, &qe) || qe.Msg == "" || qe.Pos < 0 {
				t.Fatalf("Parse(%q): bad error %#v", s, err)
			}
			return
		}
		text := q.String()
		again, err := subscriptions.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not re-parse: %v", s, text, err)
		}
		if again.String() != text {
			t.Fatalf("Parse(%q) = %q, re-parsed as %q", s, text, again.String())
		}
		// Matching never panics, even against the query's own text.
		d := subscriptions.NewDoc(&story.Story{Title: s, Text: text, Source: s, Categories: []string{s}})
		q.Match(d)
	})
}
