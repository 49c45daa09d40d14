package story

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func testNow() time.Time       { return time.Date(2025, 11, 24, 7, 0, 0, 0, time.UTC) }
func testPublished() time.Time { return time.Date(2025, 11, 23, 18, 30, 0, 0, time.UTC) }

func TestFromItemWordPress(t *testing.T) {
	it := Item{
		GUID:        "https://example-news.test/?p=88231",
		Link:        "https://example-news.test/2025/11/ukraine-peace-talks-geneva/?utm_source=rss&utm_medium=rss&utm_campaign=ukraine-peace-talks-geneva",
		Title:       "Ukraine and U.S. agree revised peace framework in Geneva",
		Description: readFixture(t, "wordpress_description.html"),
		Content:     readFixture(t, "wordpress_content.html"),
		Categories:  []string{"World", "Ukraine", "world", " ", "Peace &amp; Security"},
		Published:   testPublished(),
	}
	st := FromItem(it, "example-news", 300, testNow())

	if st.Source != "example-news" {
		t.Errorf("Source = %q", st.Source)
	}
	if st.Link != "https://example-news.test/2025/11/ukraine-peace-talks-geneva/" {
		t.Errorf("Link = %q", st.Link)
	}
	if st.ID != "guid:https://example-news.test/?p=88231" {
		t.Errorf("ID = %q", st.ID)
	}
	if !st.Published.Equal(testPublished()) || !st.FirstSeen.Equal(testNow()) {
		t.Errorf("Published = %v, FirstSeen = %v", st.Published, st.FirstSeen)
	}
	if want := []string{"World", "Ukraine", "Peace & Security"}; !slices.Equal(st.Categories, want) {
		t.Errorf("Categories = %q, want %q", st.Categories, want)
	}
	// Content is the full article and longer than the excerpt: it wins.
	if !strings.Contains(st.Text, "Markets reacted cautiously.") || strings.Contains(st.Text, "[…]") {
		t.Errorf("Text is not the full content: %q", st.Text)
	}
	want := "GENEVA — Negotiators from Kyiv and Washington agreed on Sunday to a revised framework for a Ukraine peace deal, after two days of talks that U.S. envoy Steve Witkoff called “the most productive yet”."
	if !strings.HasPrefix(st.Summary, want) {
		t.Errorf("Summary does not start with the lead:\n got %q\nwant %q…", st.Summary, want)
	}
	if n := utf8.RuneCountInString(st.Summary); n > 300 {
		t.Errorf("Summary has %d runes, more than 300", n)
	}
	for _, bad := range []string{"Getty", "appeared first", "Read more", "Follow us"} {
		if strings.Contains(st.Summary, bad) {
			t.Errorf("Summary keeps %q: %q", bad, st.Summary)
		}
	}
}

func TestFromItem(t *testing.T) {
	tests := []struct {
		name  string
		item  Item
		check func(t *testing.T, st Story)
	}{
		{
			name: "hostile title becomes plain text",
			item: Item{Title: `<b>Witkoff</b> &amp; Umerov </a><a href="http://evil">meet` + "\u202e\u200b" + `</a><script>x()</script>`, Link: "https://example.com/a"},
			check: func(t *testing.T, st Story) {
				if st.Title != "Witkoff & Umerov meet" {
					t.Errorf("Title = %q", st.Title)
				}
			},
		},
		{
			name: "title on one line",
			item: Item{Title: "<h1>Breaking</h1><p>Talks resume</p>"},
			check: func(t *testing.T, st Story) {
				if st.Title != "Breaking Talks resume" {
					t.Errorf("Title = %q", st.Title)
				}
			},
		},
		{
			name: "long title capped at a word",
			item: Item{Title: strings.Repeat("peace ", 200)},
			check: func(t *testing.T, st Story) {
				if n := utf8.RuneCountInString(st.Title); n > MaxTitleRunes {
					t.Errorf("Title has %d runes", n)
				}
				if !strings.HasSuffix(st.Title, "peace…") {
					t.Errorf("Title does not end in a whole word and an ellipsis: %q", st.Title[len(st.Title)-20:])
				}
			},
		},
		{
			name: "long single-word title still capped",
			item: Item{Title: strings.Repeat("x", 2000)},
			check: func(t *testing.T, st Story) {
				if n := utf8.RuneCountInString(st.Title); n != MaxTitleRunes {
					t.Errorf("Title has %d runes, want %d", n, MaxTitleRunes)
				}
			},
		},
		{
			name: "link falls back to a guid that is a link",
			item: Item{GUID: " HTTPS://Example.com/story/1?utm_source=x ", Title: "t"},
			check: func(t *testing.T, st Story) {
				if st.Link != "https://example.com/story/1" {
					t.Errorf("Link = %q", st.Link)
				}
				if st.ID != "guid:HTTPS://Example.com/story/1?utm_source=x" {
					t.Errorf("ID = %q", st.ID)
				}
			},
		},
		{
			name: "javascript link dropped, guid not a link",
			item: Item{GUID: "tag:example.com,2025:1", Link: "javascript:alert(1)", Title: "t"},
			check: func(t *testing.T, st Story) {
				if st.Link != "" {
					t.Errorf("Link = %q, want none", st.Link)
				}
			},
		},
		{
			name: "identity from canonical link without guid",
			item: Item{Link: "https://Example.com/a?fbclid=1#x", Title: "t"},
			check: func(t *testing.T, st Story) {
				if st.ID != "link:https://example.com/a" {
					t.Errorf("ID = %q", st.ID)
				}
			},
		},
		{
			name: "identity from title and date without guid or link",
			item: Item{Title: "<i>Talks</i> resume", Published: testPublished()},
			check: func(t *testing.T, st Story) {
				if want := Identity("", "", "Talks resume", testPublished()); st.ID != want {
					t.Errorf("ID = %q, want %q", st.ID, want)
				}
			},
		},
		{
			name: "updated used when published missing",
			item: Item{Title: "t", Updated: testPublished()},
			check: func(t *testing.T, st Story) {
				if !st.Published.Equal(testPublished()) {
					t.Errorf("Published = %v", st.Published)
				}
			},
		},
		{
			name: "no dates gives zero",
			item: Item{Title: "t"},
			check: func(t *testing.T, st Story) {
				if !st.Published.IsZero() {
					t.Errorf("Published = %v", st.Published)
				}
			},
		},
		{
			name: "description used when content is shorter",
			item: Item{Title: "t", Description: "<p>Full description. With two sentences.</p>", Content: "<p>Short.</p>"},
			check: func(t *testing.T, st Story) {
				if st.Text != "Full description. With two sentences." {
					t.Errorf("Text = %q", st.Text)
				}
			},
		},
		{
			name: "title only gives empty text and summary",
			item: Item{Title: "Witkoff arrives in Moscow"},
			check: func(t *testing.T, st Story) {
				if st.Text != "" || st.Summary != "" {
					t.Errorf("Text = %q, Summary = %q", st.Text, st.Summary)
				}
			},
		},
		{
			name: "summary does not repeat the title",
			item: Item{Title: "Witkoff arrives in Moscow", Description: "<p>Witkoff arrives in Moscow.</p><p>He will meet officials on Tuesday.</p>"},
			check: func(t *testing.T, st Story) {
				if st.Summary != "He will meet officials on Tuesday." {
					t.Errorf("Summary = %q", st.Summary)
				}
			},
		},
		{
			name: "categories capped and cleaned",
			item: Item{Title: "t", Categories: manyCategories(50)},
			check: func(t *testing.T, st Story) {
				if len(st.Categories) != MaxCategories {
					t.Errorf("%d categories, want %d", len(st.Categories), MaxCategories)
				}
				if st.Categories[0] != "cat 0" {
					t.Errorf("first category %q", st.Categories[0])
				}
			},
		},
		{
			name: "no categories gives nil",
			item: Item{Title: "t", Categories: []string{"", "<br>", " "}},
			check: func(t *testing.T, st Story) {
				if st.Categories != nil {
					t.Errorf("Categories = %q", st.Categories)
				}
			},
		},
		{
			name: "invalid UTF-8 everywhere",
			item: Item{Title: "Kyiv\xff", Description: "Talks \xc3\x28 resume.", Categories: []string{"a\xfe"}, GUID: "g\xff"},
			check: func(t *testing.T, st Story) {
				for _, s := range append([]string{st.Title, st.Text, st.Summary}, st.Categories...) {
					if !utf8.ValidString(s) {
						t.Errorf("invalid UTF-8 in %q", s)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := FromItem(tt.item, "src", 200, testNow())
			if st.ID == "" {
				t.Error("empty ID")
			}
			tt.check(t, st)
		})
	}
}

func manyCategories(n int) []string {
	out := make([]string, 0, 2*n)
	for i := range n {
		c := fmt.Sprintf("cat %d", i)
		out = append(out, c, strings.ToUpper(c))
	}
	return out
}

func TestFromItemCapsText(t *testing.T) {
	body := strings.Repeat("Talks went on for hours. ", MaxTextRunes/10)
	st := FromItem(Item{Title: "t", Content: body}, "src", 200, testNow())
	if n := utf8.RuneCountInString(st.Text); n > MaxTextRunes || n < MaxTextRunes-40 {
		t.Errorf("Text has %d runes, want just under %d", n, MaxTextRunes)
	}
	if !strings.HasSuffix(st.Text, "hours.") && !strings.HasSuffix(st.Text, "on") &&
		!strings.HasSuffix(st.Text, "for") && !strings.HasSuffix(st.Text, "Talks") && !strings.HasSuffix(st.Text, "went") {
		t.Errorf("Text cut inside a word: …%q", st.Text[len(st.Text)-20:])
	}
}
