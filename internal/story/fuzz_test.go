package story

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Seeds beyond these live in testdata/fuzz/<target>.

func FuzzHTMLToText(f *testing.F) {
	f.Add(`<b>x</b> &amp; </a><a href="http://evil">`)
	f.Add("&amp;lt;b&amp;gt;")
	f.Add("<script/>a</script><figure>b<figcaption>c</figcaption></figure>d")
	f.Add("a\u202e\u200b\xff\x00b")
	f.Fuzz(func(t *testing.T, in string) {
		out := HTMLToText(in)
		checkText(t, in, out)
		// Decoding can grow text (an invalid byte becomes a 3-byte U+FFFD),
		// but only by a bounded factor of what was read.
		if len(out) > 3*min(len(in), MaxHTMLInput)+8 {
			t.Fatalf("HTMLToText grew %d bytes into %d", len(in), len(out))
		}
	})
}

func FuzzSummarize(f *testing.F) {
	f.Add("Mr. Smith met U.S. envoy Steve Witkoff. Read more: x", "Witkoff", 40)
	f.Add("俄罗斯周日表示愿意谈判。乌克兰尚未回应。", "", 6)
	f.Add("Про це повідомляє Укрінформ. Дрони збито.", "Дрони", 100)
	f.Fuzz(func(t *testing.T, text, title string, max int) {
		max %= 2000 // any sign, but no huge allocations to check
		out := Summarize(text, title, max)
		if max < 1 && out != "" {
			t.Fatalf("Summarize with max %d = %q", max, out)
		}
		checkSummary(t, text, title, max, out)
		if strings.ContainsRune(out, '\n') {
			t.Fatalf("Summarize(%q) = %q: more than one line", text, out)
		}
	})
}

func FuzzCanonicalLink(f *testing.F) {
	f.Add("HTTPS://Example.COM:443/a?utm_source=x&b=2&a=1#frag")
	f.Add("javascript:alert(1)")
	f.Add("http://[::1]:80/?fbclid=1")
	f.Add("https://пример.рф/путь?q=%zz")
	f.Fuzz(func(t *testing.T, in string) {
		out := CanonicalLink(in)
		checkLink(t, in, out)
		if out != "" && !strings.HasPrefix(out, "http://") && !strings.HasPrefix(out, "https://") {
			t.Fatalf("CanonicalLink(%q) = %q", in, out)
		}
	})
}

func FuzzFromItem(f *testing.F) {
	f.Add("g", "https://example.com/a?utm_source=x", "<b>Title</b>", "<p>Lead. More.</p>", "", "News", 100)
	f.Add("", "javascript:x", "", "", "<p>Only content.</p>", "", 0)
	f.Add("", "", "Title only", "", "", "a\xff", 20)
	f.Fuzz(func(t *testing.T, guid, link, title, desc, content, category string, max int) {
		max %= 2000
		st := FromItem(Item{
			GUID: guid, Link: link, Title: title, Description: desc, Content: content,
			Categories: []string{category, category, strings.ToUpper(category)},
		}, "src", max, time.Unix(0, 0))
		if !strings.HasPrefix(st.ID, IDPrefixGUID) && !strings.HasPrefix(st.ID, IDPrefixLink) &&
			!strings.HasPrefix(st.ID, IDPrefixHash) {
			t.Fatalf("ID %q has no known prefix", st.ID)
		}
		if !utf8.ValidString(st.ID) {
			t.Fatalf("ID %q is not valid UTF-8", st.ID)
		}
		checkText(t, title, st.Title)
		if strings.ContainsRune(st.Title, '\n') || utf8.RuneCountInString(st.Title) > MaxTitleRunes {
			t.Fatalf("Title %q", st.Title)
		}
		checkText(t, desc+content, st.Text)
		if utf8.RuneCountInString(st.Text) > MaxTextRunes {
			t.Fatalf("Text has %d runes", utf8.RuneCountInString(st.Text))
		}
		if st.Summary != Summarize(st.Text, st.Title, max) {
			t.Fatalf("Summary %q is not the summary of Text", st.Summary)
		}
		checkLink(t, link, st.Link)
		// The same category twice must collapse; the upper-cased copy may
		// stay apart, since uppercasing can change what an entity decodes to.
		if len(st.Categories) > 2 {
			t.Fatalf("categories not deduplicated: %q", st.Categories)
		}
		for _, c := range st.Categories {
			if c == "" || strings.ContainsRune(c, '\n') || !utf8.ValidString(c) {
				t.Fatalf("category %q", c)
			}
		}
	})
}
