package benchpipeline

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"frontwire/internal/subscriptions/workload"
)

// FeedServer serves Feeds RSS documents of Items items each, generated
// deterministically from a seed, with ETag and Last-Modified validators. Its
// content changes only when Advance is called: until then every
// conditional request is answered 304 Not Modified, as a well-behaved news
// site answers a poll between two publications.
//
// Feed n is served at /feeds/n.xml. Every body of the current generation is
// rendered by Advance, before any poll, so that a measured cycle does not
// pay for generating the server's content.
type FeedServer struct {
	feeds, items int
	seed         int64

	mu     sync.RWMutex
	gen    int
	bodies [][]byte
	etags  []string
	mod    string // Last-Modified of the current generation

	requests    atomic.Int64
	notModified atomic.Int64
	// hold, when set, is called before answering a request for feed n;
	// the slow-host test blocks in it.
	hold func(n int)
}

// epoch is the Last-Modified of generation 0; each generation is an hour
// later.
var epoch = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

// NewFeedServer returns a server of feeds feeds with items items each,
// holding generation 0.
func NewFeedServer(feeds, items int, seed int64) *FeedServer {
	s := &FeedServer{feeds: feeds, items: items, seed: seed, gen: -1}
	s.Advance()
	return s
}

// Advance publishes a new generation: every feed's items are replaced by
// Items new stories (new GUIDs and links), and the validators change.
func (s *FeedServer) Advance() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	// One generator per generation, so that a generation's content does not
	// depend on how many were rendered before it.
	g := workload.New(s.seed + int64(s.gen)*7919)
	stories := g.Stories(s.feeds * s.items)
	mod := epoch.Add(time.Duration(s.gen) * time.Hour)
	s.mod = mod.Format(http.TimeFormat)
	s.bodies = make([][]byte, s.feeds)
	s.etags = make([]string, s.feeds)
	var b strings.Builder
	for f := range s.feeds {
		b.Reset()
		host := FeedHost(f)
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>Bench Wire %d</title>
<link>https://%s/</link>
<description>Deterministic benchmark feed %d</description>
<language>en</language>
<lastBuildDate>%s</lastBuildDate>
`, f, host, f, mod.Format(time.RFC1123Z))
		for k := range s.items {
			st := stories[f*s.items+k]
			slug := slugOf(st.Title)
			link := fmt.Sprintf("https://%s/news/2026/03/%02d/%s-g%dk%d", host, 1+s.gen%28, slug, s.gen, k)
			pub := mod.Add(-time.Duration(k) * 7 * time.Minute)
			fmt.Fprintf(&b, `<item>
<title>%s</title>
<link>%s?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">bench-%d-g%d-k%d</guid>
<pubDate>%s</pubDate>
<category>%s</category>
<description><![CDATA[%s]]></description>
</item>
`, html.EscapeString(st.Title), link, f, s.gen, k, pub.Format(time.RFC1123Z),
				html.EscapeString(strings.Join(st.Categories, ", ")), descriptionHTML(st.Text, link, slug))
		}
		b.WriteString("</channel>\n</rss>\n")
		s.bodies[f] = []byte(b.String())
		s.etags[f] = fmt.Sprintf(`"bw-%d-%d"`, f, s.gen)
	}
}

// descriptionHTML dresses a story's plain text as a news site's feed does
// (about 1.5 KB): a figure with a long image URL and a caption, paragraphs,
// a bold lead, a link around a few words and the odd entity.
func descriptionHTML(text, link, slug string) string {
	words := strings.Fields(text)
	var b strings.Builder
	b.Grow(1600)
	fmt.Fprintf(&b, `<figure class="wp-block-image size-large"><img loading="lazy" decoding="async" width="1024" height="576" src="https://cdn.bench.test/wp-content/uploads/2026/03/%s-1024x576.jpg" alt="%s" class="wp-image-48213" srcset="https://cdn.bench.test/wp-content/uploads/2026/03/%s-1024x576.jpg 1024w, https://cdn.bench.test/wp-content/uploads/2026/03/%s-300x169.jpg 300w" sizes="(max-width: 1024px) 100vw, 1024px" /><figcaption>Photo: Bench Wire &#8211; file image</figcaption></figure>`,
		slug, html.EscapeString(strings.Join(words[:min(6, len(words))], " ")), slug, slug)
	b.WriteString(`<p><strong>`)
	for i, w := range words {
		switch {
		case i == 3:
			b.WriteString(`</strong> `)
		case i > 0 && i%30 == 0:
			b.WriteString("</p>\n<p>")
		case i > 0:
			b.WriteByte(' ')
		}
		if i == 12 {
			fmt.Fprintf(&b, `<a href="%s?utm_source=rss&amp;utm_campaign=related" rel="noopener">`, link)
		}
		b.WriteString(html.EscapeString(w))
		if i == 15 {
			b.WriteString(`</a>`)
		}
	}
	if len(words) <= 3 {
		b.WriteString(`</strong>`)
	}
	if len(words) > 12 && len(words) <= 15 {
		b.WriteString(`</a>`)
	}
	fmt.Fprintf(&b, `</p>
<p>The post <a rel="nofollow" href="%s">%s</a> appeared first on <a rel="nofollow" href="https://bench.test">Bench Wire</a>&nbsp;&#8212; read more at bench.test.</p>`, link, html.EscapeString(slug))
	return b.String()
}

// slugOf makes a URL slug of the first words of a title (ASCII letters and
// digits only, so that the URL needs no escaping).
func slugOf(title string) string {
	var parts []string
	for _, w := range strings.Fields(strings.ToLower(title)) {
		var b strings.Builder
		for _, r := range w {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				b.WriteRune(r)
			}
		}
		if b.Len() > 0 {
			parts = append(parts, b.String())
		}
		if len(parts) == 6 {
			break
		}
	}
	if len(parts) == 0 {
		return "story"
	}
	return strings.Join(parts, "-")
}

// FeedHost is the host name of feed n: every feed has its own, so that the
// scheduler's per-host limit applies per feed as it would for 1,000 sites.
func FeedHost(n int) string { return "feed" + strconv.Itoa(n) + ".bench.test" }

// FeedURL is the address of feed n on a server listening on port.
func FeedURL(n int, port string) string {
	return "http://" + FeedHost(n) + ":" + port + "/feeds/" + strconv.Itoa(n) + ".xml"
}

// GenerationBytes is the size of the current generation's feeds.
func (s *FeedServer) GenerationBytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, b := range s.bodies {
		n += int64(len(b))
	}
	return n
}

// Requests returns how many feed requests were answered, and how many of
// them with 304.
func (s *FeedServer) Requests() (total, notModified int64) {
	return s.requests.Load(), s.notModified.Load()
}

// ServeHTTP answers GET /feeds/n.xml, with 304 when the request's
// If-None-Match (or, without one, If-Modified-Since) matches the current
// generation.
func (s *FeedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/feeds/")
	name, ok2 := strings.CutSuffix(name, ".xml")
	n, err := strconv.Atoi(name)
	if !ok || !ok2 || err != nil || n < 0 || n >= s.feeds {
		http.NotFound(w, r)
		return
	}
	if s.hold != nil {
		s.hold(n)
	}
	s.mu.RLock()
	body, etag, mod := s.bodies[n], s.etags[n], s.mod
	s.mu.RUnlock()
	s.requests.Add(1)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", mod)
	h.Set("Cache-Control", "max-age=300")
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if inm == etag {
			s.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims == mod {
		s.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/rss+xml; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// LoopbackClient returns an HTTP client that connects to addr (the feed
// server's loopback listener) whatever host a URL names, so that each feed
// keeps its own host name, and with it its own per-host limit and its own
// connections, as 1,000 distinct sites would. Otherwise it is configured
// like the client `bot run` builds (sources.NewHTTPClient): same timeouts,
// same idle-connection pool.
func LoopbackClient(addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}
	tr.ResponseHeaderTimeout = 20 * time.Second
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}
