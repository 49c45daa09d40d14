package story

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"pgregory.net/rapid"
)

func TestAppendTokens(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"ascii lower case", "peace plan", []string{"peace", "plan"}},
		{"ascii upper case", "Ukraine PEACE Talks", []string{"ukraine", "peace", "talks"}},
		{"punctuation breaks words", "war, warning; (Stewart)!", []string{"war", "warning", "stewart"}},
		{"possessive", "Witkoff's plan", []string{"witkoff", "s", "plan"}},
		{"curly possessive", "Witkoff’s plan", []string{"witkoff", "s", "plan"}},
		{"hyphen", "peace-plan", []string{"peace", "plan"}},
		{"em dash and curly quotes", "“peace”—plan", []string{"peace", "plan"}},
		{"accents removed", "Zélenskyy Café naïve Ångström", []string{"zelenskyy", "cafe", "naive", "angstrom"}},
		{"decomposed accent", "Cafe\u0301", []string{"cafe"}},
		{"full case folding", "Straße STRASSE", []string{"strasse", "strasse"}},
		{"NFKC ligature and width", "ﬁnal ＵＫＲＡＩＮＥ", []string{"final", "ukraine"}},
		{"cyrillic", "Москва МОСКВА Київ", []string{"москва", "москва", "киів"}},
		{"greek final sigma", "Οδυσσεύς ΟΔΥΣΣΕΥΣ", []string{"οδυσσευσ", "οδυσσευσ"}},
		{"arabic", "السلام عليكم", []string{"السلام", "عليكم"}},
		{"arabic harakat removed", "سَلَام", []string{"سلام"}},
		{"han one token per ideograph", "東京2020", []string{"東", "京", "2020"}},
		{"kana", "トランプ氏", []string{"ト", "ラ", "ン", "フ", "氏"}},
		{"hangul per syllable", "서울에서", []string{"서", "울", "에", "서"}},
		{"zero width joins", "Wit\u200bkoff Wit\u200dkoff", []string{"witkoff", "witkoff"}},
		{"bidi controls dropped", "\u202eWitkoff\u202c", []string{"witkoff"}},
		{"soft hyphen joins", "nego\u00adtiations", []string{"negotiations"}},
		{"nul and controls separate", "a\x00b\tc", []string{"a", "b", "c"}},
		{"invalid utf8 separates", "ab\xffcd", []string{"ab", "cd"}},
		{"digits", "G7 2026", []string{"g7", "2026"}},
		{"empty", "", nil},
		{"only punctuation", "—!?…", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendTokens(nil, tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("AppendTokens(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendTokensKeepsDst(t *testing.T) {
	got := AppendTokens([]string{"x"}, "A b")
	if !slices.Equal(got, []string{"x", "a", "b"}) {
		t.Fatalf("got %q", got)
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Witkoff", "witkoff"},
		{"Witkoff's", "witkoff s"},
		{"peace-plan", "peace plan"},
		{"  Zélenskyy  ", "zelenskyy"},
		{"東京", "東 京"},
		{"!!", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Fold(tt.in); got != tt.want {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Fold(Fold(tt.in)); again != Fold(tt.in) {
				t.Errorf("Fold is not idempotent on %q: %q then %q", tt.in, Fold(tt.in), again)
			}
		})
	}
}

// slowTokens folds s with the per-rune fast path turned off.
func slowTokens(s string) []string {
	t := Tokenizer{noFast: true}
	t.Add(s)
	folded := t.String()
	var out []string
	for i := range t.Len() {
		a, b := t.Span(i)
		out = append(out, folded[a:b])
	}
	return out
}

func fastTokens(s string) []string {
	var t Tokenizer
	t.Add(s)
	folded := t.String()
	var out []string
	for i := range t.Len() {
		a, b := t.Span(i)
		out = append(out, folded[a:b])
	}
	return out
}

// TestFastFoldMatchesSlow checks every rune of the first three planes, alone
// and between ASCII letters: the per-rune fast path must give exactly what
// the full NFKC + case folding + mark removal path gives.
func TestFastFoldMatchesSlow(t *testing.T) {
	bad := 0
	for r := rune(0x80); r < 0x30000; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		for _, s := range []string{string(r), "a" + string(r) + "B", string(r) + string(r)} {
			f, sl := fastTokens(s), slowTokens(s)
			if !slices.Equal(f, sl) {
				bad++
				if bad < 10 {
					t.Errorf("%U in %q: fast %q, slow %q", r, s, f, sl)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d mismatches", bad)
	}
}

func FuzzAppendTokens(f *testing.F) {
	for _, s := range []string{"Witkoff’s peace-plan", "Zélenskyy", "東京2020 서울", "Wit\u200bkoff", "ǅemal İstanbul ﬁ", "\xff\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := AppendTokens(nil, s)
		if sl := slowTokens(s); !slices.Equal(toks, sl) {
			t.Fatalf("fast %q != slow %q", toks, sl)
		}
		for _, tok := range toks {
			if tok == "" || !utf8.ValidString(tok) || strings.ContainsAny(tok, " -'’") {
				t.Fatalf("bad token %q from %q", tok, s)
			}
		}
		// Folding is idempotent: tokens of the joined tokens are the tokens.
		if again := AppendTokens(nil, strings.Join(toks, " ")); !slices.Equal(again, toks) {
			t.Fatalf("refolding %q gives %q", toks, again)
		}
	})
}

// TestFoldTableWords folds random words made of table runes (letters,
// marks, format characters and separators below tableEnd, plus ASCII) rune
// by rune and whole, so that runes are checked in every neighbourhood the
// exhaustive test does not try.
func TestFoldTableWords(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rs := rapid.SliceOfN(rapid.RuneFrom(nil, &unicode.RangeTable{R16: []unicode.Range16{{Lo: 0x20, Hi: tableEnd - 1, Stride: 1}}}), 1, 12).Draw(t, "runes")
		s := string(rs)
		if f, sl := fastTokens(s), slowTokens(s); !slices.Equal(f, sl) {
			t.Fatalf("%q: fast %q, slow %q", s, f, sl)
		}
	})
}

func TestFoldTableCoversScripts(t *testing.T) {
	tab := foldTable()
	for _, r := range []rune{'é', 'Ł', 'ß', 'Ж', 'ї', 'Ω', 'ά', 'ς'} {
		if tab[r-utf8.RuneSelf].n == 0 {
			t.Errorf("%q is not folded by the table", r)
		}
	}
	if e := tab['\u00ad'-utf8.RuneSelf]; e.n != skipRune {
		t.Errorf("soft hyphen entry %+v, want skipped", e)
	}
	if e := tab['\u0301'-utf8.RuneSelf]; e.n != 0 {
		t.Errorf("combining acute entry %+v, want the slow path", e)
	}
}

// TestFoldCherokee checks that both cases of Cherokee fold to one form
// (the capitals, as Unicode's case folding has it) and that folding is
// idempotent for them: x/text's caser swaps the two cases.
func TestFoldCherokee(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ꮔ", "Ꮔ"},
		{"Ꮔ", "Ꮔ"},
		{"ᏼ", "Ᏼ"},
		{"Ᏼ", "Ᏼ"},
		{"ꮳꮃꭹ", "ᏣᎳᎩ"},
		{"ᏣᎳᎩ", "ᏣᎳᎩ"},
		{"Ꮔa ꮔB", "Ꮔa Ꮔb"},
	} {
		got := Fold(tc.in)
		if got != tc.want {
			t.Errorf("Fold(%q) = %q %U, want %q %U", tc.in, got, []rune(got), tc.want, []rune(tc.want))
		}
		if again := Fold(got); again != got {
			t.Errorf("Fold(Fold(%q)) = %q, want %q", tc.in, again, got)
		}
	}
}

// TestRuneClassFastPaths checks the range shortcuts of isWordRune and
// isFormatRune against the Unicode tables for every rune of the Basic
// Multilingual Plane.
func TestRuneClassFastPaths(t *testing.T) {
	for r := rune(0); r <= 0xFFFF; r++ {
		if want := r < utf8.RuneSelf && isASCIIWord(byte(r)) || r >= utf8.RuneSelf && unicode.In(r, unicode.L, unicode.N, unicode.M); isWordRune(r) != want {
			t.Errorf("isWordRune(%U) = %v, want %v", r, !want, want)
		}
		if want := unicode.Is(unicode.Cf, r); isFormatRune(r) != want {
			t.Errorf("isFormatRune(%U) = %v, want %v", r, !want, want)
		}
	}
}
