package telegram

import (
	"errors"
	"strings"
	"testing"
	"time"

	"frontwire/internal/chat"
)

func sampleAlert() chat.Alert {
	return chat.Alert{
		StoryID:   "s1",
		Source:    "Example News",
		Title:     "Talks resume",
		Link:      "https://news.example.com/story?id=1&lang=en",
		Published: time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC),
		Summary:   "Envoys met again on Tuesday.",
		Query:     "Ukraine peace",
		Matched:   []string{"ukraine", "peace"},
	}
}

func TestRenderAlert(t *testing.T) {
	hostile := `<b>x</b> &amp; </a><a href="http://evil">`
	tests := []struct {
		name      string
		edit      func(a *chat.Alert)
		preview   bool
		wantLinks []string
		contains  []string // in the visible text
		absent    []string // from the visible text
	}{
		{
			name:      "plain",
			wantLinks: []string{"https://news.example.com/story?id=1&lang=en"},
			contains:  []string{"Talks resume\nExample News · news.example.com · 4 Mar 2025 05:06 UTC\n\nEnvoys met again on Tuesday.\n\nMatched: ukraine, peace"},
		},
		{
			name:      "preview on leaves the host to the preview card",
			preview:   true,
			wantLinks: []string{"https://news.example.com/story?id=1&lang=en"},
			contains:  []string{"Example News · 4 Mar 2025"},
			absent:    []string{"news.example.com"},
		},
		{
			name: "hostile title and summary arrive as literal text",
			edit: func(a *chat.Alert) {
				a.Title = hostile
				a.Summary = hostile
				a.Source = hostile
				a.Matched = []string{hostile}
			},
			wantLinks: []string{"https://news.example.com/story?id=1&lang=en"},
			contains:  []string{hostile + "\n", "\n\n" + hostile + "\n\n", "Matched: " + hostile},
		},
		{
			name:      "quotes and ampersands in the link stay inside the attribute",
			edit:      func(a *chat.Alert) { a.Link = `https://ex.com/a?"q"=1&b=<2>` },
			wantLinks: []string{`https://ex.com/a?"q"=1&b=<2>`},
		},
		{name: "javascript link dropped", edit: func(a *chat.Alert) { a.Link = "javascript:alert(1)" }, contains: []string{"Talks resume"}},
		{name: "tg link dropped", edit: func(a *chat.Alert) { a.Link = "tg://resolve?domain=evil" }},
		{name: "link without host dropped", edit: func(a *chat.Alert) { a.Link = "http:///path" }},
		{name: "empty title named", edit: func(a *chat.Alert) { a.Title = " \n " }, wantLinks: []string{"https://news.example.com/story?id=1&lang=en"}, contains: []string{"Story on news.example.com"}},
		{name: "no matched terms falls back to the query", edit: func(a *chat.Alert) { a.Matched = nil }, wantLinks: []string{"https://news.example.com/story?id=1&lang=en"}, contains: []string{"Matched: Ukraine peace"}},
		{name: "control characters removed", edit: func(a *chat.Alert) { a.Title = "a\x00b\x1bc" }, wantLinks: []string{"https://news.example.com/story?id=1&lang=en"}, contains: []string{"abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleAlert()
			if tt.edit != nil {
				tt.edit(&a)
			}
			out := RenderAlert(a, tt.preview)
			visible, links, err := ValidateHTML(out)
			if err != nil {
				t.Fatalf("ValidateHTML(%q): %v", out, err)
			}
			if strings.Join(links, "|") != strings.Join(tt.wantLinks, "|") {
				t.Errorf("links = %q, want %q\nhtml: %s", links, tt.wantLinks, out)
			}
			for _, c := range tt.contains {
				if !strings.Contains(visible, c) {
					t.Errorf("visible text lacks %q:\n%s", c, visible)
				}
			}
			for _, c := range tt.absent {
				if strings.Contains(visible, c) {
					t.Errorf("visible text has %q:\n%s", c, visible)
				}
			}
		})
	}
}

func TestRenderAlertLength(t *testing.T) {
	tests := []struct {
		name string
		edit func(a *chat.Alert)
	}{
		{"10000-character summary", func(a *chat.Alert) { a.Summary = strings.Repeat("word ", 2000) }},
		{"summary of astral characters counts two units each", func(a *chat.Alert) { a.Summary = strings.Repeat("😀", 5000) }},
		{"summary of entities that expand in HTML", func(a *chat.Alert) { a.Summary = strings.Repeat("<&>\"", 3000) }},
		{"everything long", func(a *chat.Alert) {
			a.Title = strings.Repeat("T", 10000)
			a.Source = strings.Repeat("S", 10000)
			a.Summary = strings.Repeat("s", 10000)
			a.Matched = []string{strings.Repeat("m", 10000)}
			a.Link = "https://" + strings.Repeat("h", 300) + ".example/" + strings.Repeat("p", 5000)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleAlert()
			tt.edit(&a)
			out := RenderAlert(a, false)
			visible, links, err := ValidateHTML(out)
			if err != nil {
				t.Fatal(err)
			}
			if n := units(visible); n > MaxTextUnits {
				t.Fatalf("visible text is %d UTF-16 units, limit %d", n, MaxTextUnits)
			}
			if len(links) != 1 || links[0] != a.Link {
				t.Errorf("link cut or lost: %q", links)
			}
			if !strings.Contains(visible, "…") {
				t.Errorf("a cut summary should end with an ellipsis")
			}
			if !strings.Contains(visible, "Matched: ") {
				t.Errorf("matched terms lost")
			}
		})
	}
}

func TestValidateHTMLRejects(t *testing.T) {
	for _, s := range []string{
		"<i>x</i>",
		"<b>x",
		"x</b>",
		"<b><b>x</b></b>",
		"<a href=\"javascript:x\">y</a>",
		"<a href='https://x.example'>y</a>",
		"<a>y</a>",
		"<b>x</a>",
		"a & b",
		"a > b",
		"a &nbsp; b",
		"<b",
		"\xff",
	} {
		t.Run(s, func(t *testing.T) {
			if _, _, err := ValidateHTML(s); !errors.Is(err, ErrBadHTML) {
				t.Errorf("ValidateHTML(%q) = %v, want ErrBadHTML", s, err)
			}
		})
	}
}

func TestTruncUnits(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello world", 8, "hello w…"}, {"hello world", 7, "hello…"},
		{"😀😀😀", 4, "😀…"},
		{"😀😀😀", 2, "…"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := truncUnits(tt.in, tt.max)
			if got != tt.want || units(got) > tt.max {
				t.Errorf("truncUnits(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func FuzzRenderAlert(f *testing.F) {
	f.Add("Title", "Summary", "https://example.com/a", "Source", "term")
	f.Add(`<b>x</b> &amp; </a><a href="http://evil">`, "&lt;script&gt;", "http://e.example/?a=\"b\"&c", "<src>", "</a>")
	f.Add("", strings.Repeat("😀", 3000), "javascript:alert(1)", "", "")
	f.Add("\xff\xfe", "a\x00b\nc\r\n", "https://[::1]:80/", "\t", "&")
	f.Fuzz(func(t *testing.T, title, summary, link, source, term string) {
		a := chat.Alert{Title: title, Summary: summary, Link: link, Source: source, Matched: []string{term}, Query: term}
		for _, preview := range []bool{false, true} {
			out := RenderAlert(a, preview)
			visible, links, err := ValidateHTML(out)
			if err != nil {
				t.Fatalf("RenderAlert produced invalid HTML %q: %v", out, err)
			}
			if n := units(visible); n > MaxTextUnits {
				t.Fatalf("visible text %d UTF-16 units", n)
			}
			safe, _ := safeLink(link)
			switch {
			case safe == "" && len(links) != 0:
				t.Fatalf("unsafe link %q rendered as %q", link, links)
			case safe != "" && (len(links) != 1 || links[0] != safe):
				t.Fatalf("link %q rendered as %q", safe, links)
			}
		}
	})
}
