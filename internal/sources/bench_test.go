package sources

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/storage"
)

// benchFeed builds an RSS 2.0 feed of n items with HTML descriptions, about
// the size of a busy news site's feed.
func benchFeed(n int, encoding, lang string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="%s"?><rss version="2.0"><channel><title>Bench</title><link>https://bench.example/</link>`, encoding)
	for i := range n {
		fmt.Fprintf(&b, `<item><title>%s %d</title><link>https://bench.example/news/%d?utm_source=rss</link><guid>bench-%d</guid>`+
			`<pubDate>Fri, 14 Mar 2025 08:%02d:00 GMT</pubDate><category>World</category>`+
			`<description><![CDATA[<p>%s</p><p><img src="x.jpg"> Photo: Agency</p><p>Read more on our site.</p>]]></description></item>`,
			lang, i, i, i, i%60, strings.Repeat(lang+" talks continued on Tuesday as delegations met in Geneva. ", 8))
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

func BenchmarkFetch(b *testing.B) {
	cyr, _ := charmap.Windows1251.NewEncoder().String(benchFeed(200, "windows-1251", "Переговори"))
	cases := []struct{ name, body string }{
		{"rss200-utf8", benchFeed(200, "UTF-8", "Ceasefire")},
		{"rss200-windows1251", cyr},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := serveBody(b, "application/rss+xml", c.body)
			f := NewFetcher(srv.Client(), "", clock.Real{})
			src := config.Source{Name: "Bench", URL: srv.URL}
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := f.Fetch(context.Background(), src, storage.SourceState{}, 280)
				if err != nil || len(res.Stories) != 200 {
					b.Fatalf("%d stories, err %v", len(res.Stories), err)
				}
			}
		})
	}
}
