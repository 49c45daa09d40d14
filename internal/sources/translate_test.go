package sources

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// TestRSSTranslatorMatchesDefault: every item field Frontwire reads is what
// gofeed's default translator gives, and the image lookup is skipped.
func TestRSSTranslatorMatchesDefault(t *testing.T) {
	const head = `<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>T</title><link>https://example.org/</link>`
	tests := []struct {
		name      string
		items     string
		wantImage bool // the default translator finds an image
	}{
		{"description with an image", `<item><title>A</title><link>https://example.org/a</link><guid>a</guid><pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate><category>x</category><description><![CDATA[<p><img src="https://example.org/i.jpg"> Peace talks</p>]]></description></item>`, true},
		{"content and description", `<item><title>B</title><link>https://example.org/b</link><description>Short</description><content:encoded><![CDATA[<p>Long <b>body</b><img src="/j.png"></p>]]></content:encoded></item>`, true},
		{"dublin core description only", `<item><title>C</title><dc:description>From DC</dc:description></item>`, false},
		{"itunes summary only", `<item><title>D</title><itunes:summary>From iTunes</itunes:summary></item>`, false},
		{"no text at all", `<item><title>E</title></item>`, false},
		{"several items", `<item><title>F1</title><description>one</description></item><item><title>F2</title><content:encoded>two</content:encoded></item><item><title>F3</title><description>&lt;img src="k.gif"&gt;three</description></item>`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := head + tc.items + `</channel></rss>`
			want, err := gofeed.NewParser().ParseString(doc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseFeed([]byte(doc), "application/rss+xml")
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Items) != len(want.Items) || len(got.Items) == 0 {
				t.Fatalf("%d items, want %d", len(got.Items), len(want.Items))
			}
			images := false
			for i, w := range want.Items {
				g := got.Items[i]
				if g.Image != nil {
					t.Errorf("item %d: image %v looked up", i, g.Image)
				}
				images = images || w.Image != nil
				w.Image = nil
				if !reflect.DeepEqual(g, w) {
					t.Errorf("item %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
			if images != tc.wantImage {
				t.Errorf("default translator found images: %v, want %v (the case does not test what it says)", images, tc.wantImage)
			}
			if got.Title != want.Title || !strings.HasPrefix(got.Link, "https://example.org") {
				t.Errorf("feed: %q %q", got.Title, got.Link)
			}
		})
	}
}
