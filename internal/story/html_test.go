package story

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return string(b)
}

// checkText asserts the promises HTMLToText makes about every output,
// whatever the input: valid UTF-8, no control or format characters, no
// whitespace but single spaces and ParagraphBreak, nothing at the ends.
func checkText(t testing.TB, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("HTMLToText(%q) = %q: invalid UTF-8", in, out)
	}
	if out != strings.TrimSpace(out) {
		t.Fatalf("HTMLToText(%q) = %q: whitespace at an end", in, out)
	}
	if strings.Contains(out, "  ") || strings.Contains(out, "\n\n\n") ||
		strings.Contains(out, " \n") || strings.Contains(out, "\n ") {
		t.Fatalf("HTMLToText(%q) = %q: whitespace not collapsed", in, out)
	}
	for i, r := range out {
		switch {
		case r == '\n':
			// Only as half of a ParagraphBreak.
			if !strings.HasPrefix(out[i:], ParagraphBreak) && !strings.HasSuffix(out[:i+1], ParagraphBreak) {
				t.Fatalf("HTMLToText(%q) = %q: lone line break at %d", in, out, i)
			}
		case r != ' ' && unicode.IsSpace(r):
			t.Fatalf("HTMLToText(%q) = %q: whitespace %U kept", in, out, r)
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			t.Fatalf("HTMLToText(%q) = %q: invisible %U kept", in, out, r)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain text", "Ukraine peace talks resume", "Ukraine peace talks resume"},
		{"inline tags do not split words", "Wit<b>koff</b> and <a href=\"x\">Umerov</a>", "Witkoff and Umerov"},
		{"hostile title", `<b>x</b> &amp; </a><a href="http://evil">`, "x &"},
		{"named and numeric entities", "&quot;Peace&quot; &#8212; &eacute;lan &#x41;&#65; &lt;3", "\"Peace\" — élan AA <3"},
		{"entity without semicolon", "AT&T &copy 2025", "AT&T © 2025"},
		{"double escaped tag is literal text", "&amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt;", "<b>bold</b>"},
		{"double escaped entity", "Moscow&amp;#8217;s &amp;quot;plan&amp;quot;", "Moscow’s \"plan\""},
		{"whole body escaped twice", "&lt;p&gt;One.&lt;/p&gt;&lt;p&gt;Two &amp;amp; three.&lt;/p&gt;", "One.\n\nTwo & three."},
		{"escaped tag in plain title stays text", "Why &lt;div&gt; soup is bad", "Why <div> soup is bad"},
		{"script dropped with content", "a<script>alert('x')</script>b", "a b"},
		{"self-closing script still hides its raw text", "a<script/>alert(1)</script>b", "a b"},
		{"style noscript iframe dropped", "<style>p{color:red}</style><noscript>enable js</noscript>x<iframe src=y>frame text</iframe>", "x"},
		{"unclosed script hides the rest", "News<script>var a = '<p>fake</p>';", "News"},
		{"figure and caption dropped", "<figure><img src=a><figcaption>Photo: AP</figcaption></figure><p>Lead.</p>", "Lead."},
		{"svg text dropped", "Map<svg><title>icon</title><text>Kyiv</text></svg> shows", "Map shows"},
		{"paragraphs", "<p>One.</p><p>Two.</p>", "One.\n\nTwo."},
		{"br and div", "One<br>Two<br/><div>Three</div>Four", "One\n\nTwo\n\nThree\n\nFour"},
		{"headings and list items", "<h2>Title</h2><ul><li>a</li><li>b</li></ul>", "Title\n\na\n\nb"},
		{"table cells get spaces", "<table><tr><td>a</td><td>b</td></tr></table>", "a b"},
		{"image separates words", "one<img src=x>two", "one two"},
		{"whitespace collapsed", "  a \t\r\n b\u00a0\u00a0c\u3000d \u2028e  ", "a b c d e"},
		{"comments dropped", "a<!-- hidden <p> -->b", "ab"},
		{"doctype dropped", "<!DOCTYPE html><html><body><p>x</p></body></html>", "x"},
		{"invalid UTF-8 replaced", "caf\xe9 \xff\xfe ok", "caf\uFFFD \uFFFD\uFFFD ok"},
		{"truncated UTF-8 at end", "Kyiv \xd0", "Kyiv \uFFFD"},
		{"zero-width characters removed", "Wit\u200bkoff\u200c \u200dpeace\u2060\ufeff", "Witkoff peace"},
		{"bidi overrides removed", "\u202egnp.exe\u202c \u2066a\u2069\u200e\u200f\u202a\u202b\u202db\u2067\u2068", "gnp.exe ab"},
		{"soft hyphen removed", "Zelen\u00adsky", "Zelensky"},
		{"C0 and C1 controls removed", "a\x00b\x07c\x1b[31md\x7fe\u0090f", "abc[31mdef"},
		{"NEL is whitespace", "a\u0085b", "a b"},
		{"unfinished tag at end", "Hello <b", "Hello"},
		{"attributes never leak", `<a href="javascript:alert(1)" title="t">link</a>`, "link"},
		{"nested skipped elements", "<figure><figure>x</figure>y</figure>z", "z"},
		{"stray end tag of skipped element", "a</script>b", "a b"},
		{"plaintext shows markup as text", "a<plaintext><b>x</b>", "a<b>x</b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HTMLToText(tt.in)
			if got != tt.want {
				t.Errorf("HTMLToText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkText(t, tt.in, got)
		})
	}
}

func TestHTMLToTextWordPressContent(t *testing.T) {
	got := HTMLToText(readFixture(t, "wordpress_content.html"))
	checkText(t, "wordpress_content.html", got)
	for _, want := range []string{
		"GENEVA — Negotiators from Kyiv and Washington agreed on Sunday to a revised framework for a Ukraine peace deal",
		"called “the most productive yet”.",
		"Moscow’s demands",
		"\n\nWhat comes next\n\n",
		"Security guarantees remain open\n\nSanctions relief is not in the draft",
		"appeared first on Example News.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{
		"Getty", "Delegations meet", // figure caption
		"_wpemojiSettings", "injected", // script
		"pixel", "ads.example", "<", ">", "&#", "&nbsp;",
	} {
		if strings.Contains(got, bad) {
			t.Errorf("text keeps %q:\n%s", bad, got)
		}
	}
	if !strings.HasPrefix(got, "GENEVA") {
		t.Errorf("text does not start with the lead: %q", got[:min(len(got), 80)])
	}
}

func TestHTMLToTextHostileSizes(t *testing.T) {
	t.Run("deep nesting", func(t *testing.T) {
		const depth = 40_000 // stays under MaxHTMLInput
		in := strings.Repeat("<div><span>", depth) + "deep" + strings.Repeat("</span></div>", depth)
		if got := HTMLToText(in); got != "deep" {
			t.Errorf("got %q, want %q", got, "deep")
		}
	})
	t.Run("deep unclosed inline nesting", func(t *testing.T) {
		in := strings.Repeat("<b><i>", 100_000) + "x"
		if got := HTMLToText(in); got != "x" {
			t.Errorf("got %q, want %q", got, "x")
		}
	})
	t.Run("input past the cap is ignored", func(t *testing.T) {
		in := strings.Repeat("word ", MaxHTMLInput/5) + "TAIL_MARKER"
		got := HTMLToText(in)
		if strings.Contains(got, "TAIL_MARKER") {
			t.Error("text past MaxHTMLInput was read")
		}
		if len(got) > MaxHTMLInput {
			t.Errorf("output is %d bytes, more than the input cap", len(got))
		}
		if !strings.HasPrefix(got, "word word") {
			t.Errorf("output lost its start: %q", got[:20])
		}
	})
	t.Run("cap never splits a rune", func(t *testing.T) {
		in := "a" + strings.Repeat("ж", MaxHTMLInput)
		got := HTMLToText(in)
		if strings.ContainsRune(got, utf8.RuneError) {
			t.Error("cutting at the cap produced U+FFFD")
		}
	})
}

func TestSingleLine(t *testing.T) {
	if got := singleLine(HTMLToText("<p>a</p><p>b</p>")); got != "a b" {
		t.Errorf("singleLine = %q, want %q", got, "a b")
	}
}
