package story

import (
	"testing"
	"time"
)

// The fixture is a realistic WordPress article body of about 3 KB: a figure
// with a caption, paragraphs full of entities, a script, an ad iframe, a
// list and the usual footer.

func BenchmarkHTMLToText(b *testing.B) {
	in := readFixture(b, "wordpress_content.html")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		HTMLToText(in)
	}
}

func BenchmarkSummarize(b *testing.B) {
	text := HTMLToText(readFixture(b, "wordpress_content.html"))
	b.ReportAllocs()
	for b.Loop() {
		Summarize(text, "Ukraine and U.S. agree revised peace framework in Geneva", 300)
	}
}

func BenchmarkCanonicalLink(b *testing.B) {
	const link = "https://Example-News.test:443/2025/11/ukraine-peace-talks-geneva/?utm_source=rss&utm_medium=rss&id=7#comments"
	b.ReportAllocs()
	for b.Loop() {
		CanonicalLink(link)
	}
}

func BenchmarkFromItem(b *testing.B) {
	it := Item{
		GUID:        "https://example-news.test/?p=88231",
		Link:        "https://example-news.test/2025/11/ukraine-peace-talks-geneva/?utm_source=rss&utm_medium=rss",
		Title:       "Ukraine and U.S. agree revised peace framework in Geneva",
		Description: readFixture(b, "wordpress_description.html"),
		Content:     readFixture(b, "wordpress_content.html"),
		Categories:  []string{"World", "Ukraine", "Peace &amp; Security"},
		Published:   time.Date(2025, 11, 23, 18, 30, 0, 0, time.UTC),
	}
	now := time.Date(2025, 11, 24, 7, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(it.Description) + len(it.Content)))
	b.ReportAllocs()
	for b.Loop() {
		FromItem(it, "example-news", 300, now)
	}
}
