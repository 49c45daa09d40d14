package sources

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/storage"
)

const rss2 = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
  <title>Frontline Wire</title>
  <link>https://wire.example/</link>
  <item>
    <title>Envoy arrives in Kyiv for &lt;b&gt;peace&lt;/b&gt; talks</title>
    <link>https://wire.example/news/envoy-kyiv?utm_source=rss</link>
    <guid isPermaLink="false">wire-1001</guid>
    <description><![CDATA[<p>The envoy met officials on Tuesday.</p><p>Talks continue.</p>]]></description>
    <category>Ukraine</category>
    <pubDate>Fri, 14 Mar 2025 08:00:00 GMT</pubDate>
  </item>
  <item>
    <title>Relative link story</title>
    <link>/news/relative</link>
  </item>
</channel>
</rss>`

const atom1 = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom Desk</title>
  <link href="https://atom.example/"/>
  <updated>2025-03-14T08:00:00Z</updated>
  <id>urn:atom-desk</id>
  <entry>
    <title type="html">Ceasefire &amp;amp; prisoner swap agreed</title>
    <link rel="alternate" href="https://atom.example/2025/ceasefire"/>
    <id>urn:atom-desk:42</id>
    <updated>2025-03-14T07:30:00Z</updated>
    <summary>Both sides agreed to a prisoner swap.</summary>
    <content type="html">&lt;p&gt;Both sides agreed to a prisoner swap on Friday.&lt;/p&gt;</content>
  </entry>
</feed>`

const jsonFeed = `{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "JSON Bureau",
  "home_page_url": "https://json.example/",
  "items": [
    {"id": "jb-7", "url": "https://json.example/7", "title": "Drone strike reported near Odesa",
     "content_html": "<p>Officials reported a drone strike overnight.</p>",
     "date_published": "2025-03-14T06:00:00Z", "tags": ["Odesa"]}
  ]
}`

const rss1 = `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/">
    <title>RDF Monitor</title>
    <link>https://rdf.example/</link>
    <description>Monitor</description>
  </channel>
  <item rdf:about="https://rdf.example/item/9">
    <title>Grain corridor reopens</title>
    <link>https://rdf.example/item/9</link>
    <description>Ships left port at dawn.</description>
    <dc:date>2025-03-14T05:00:00Z</dc:date>
  </item>
</rdf:RDF>`

const rss091 = `<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91">
<channel>
  <title>Old Wire</title>
  <link>http://old.example/</link>
  <description>Since 1999</description>
  <language>en</language>
  <item>
    <title>Talks&nbsp;resume &mdash; day two</title>
    <link>http://old.example/1</link>
    <description>Delegations met &hellip; again.</description>
  </item>
</channel>
</rss>`

func TestFetchFormats(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		feedTitle               string
		titles                  []string
		links                   []string
		published               time.Time
		text                    string
	}{
		{
			name: "rss 2.0", contentType: "application/rss+xml", body: rss2,
			feedTitle: "Frontline Wire",
			titles:    []string{"Envoy arrives in Kyiv for peace talks", "Relative link story"},
			links:     []string{"https://wire.example/news/envoy-kyiv", "https://wire.example/news/relative"},
			published: time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC),
			text:      "The envoy met officials on Tuesday.",
		},
		{
			name: "atom", contentType: "application/atom+xml", body: atom1,
			feedTitle: "Atom Desk",
			titles:    []string{"Ceasefire & prisoner swap agreed"},
			links:     []string{"https://atom.example/2025/ceasefire"},
			published: time.Date(2025, 3, 14, 7, 30, 0, 0, time.UTC),
			text:      "prisoner swap on Friday",
		},
		{
			name: "json feed", contentType: "application/feed+json", body: jsonFeed,
			feedTitle: "JSON Bureau",
			titles:    []string{"Drone strike reported near Odesa"},
			links:     []string{"https://json.example/7"},
			published: time.Date(2025, 3, 14, 6, 0, 0, 0, time.UTC),
			text:      "drone strike overnight",
		},
		{
			name: "rss 0.91 with doctype and html entities", contentType: "text/xml", body: rss091,
			feedTitle: "Old Wire",
			titles:    []string{"Talks resume — day two"},
			links:     []string{"http://old.example/1"},
			text:      "Delegations met … again.",
		},
		{
			name: "rss served as text/html", contentType: "text/html; charset=utf-8", body: rss2,
			feedTitle: "Frontline Wire",
			titles:    []string{"Envoy arrives in Kyiv for peace talks", "Relative link story"},
			links:     []string{"https://wire.example/news/envoy-kyiv", "https://wire.example/news/relative"},
			published: time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC),
			text:      "The envoy met officials on Tuesday.",
		},
		{
			name: "rss 1.0", contentType: "application/rdf+xml", body: rss1,
			feedTitle: "RDF Monitor",
			titles:    []string{"Grain corridor reopens"},
			links:     []string{"https://rdf.example/item/9"},
			published: time.Date(2025, 3, 14, 5, 0, 0, 0, time.UTC),
			text:      "Ships left port at dawn.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveBody(t, tt.contentType, tt.body)
			f := NewFetcher(srv.Client(), UserAgent("1.2.3"), clock.NewFake(t0))
			res, err := fetchOnce(t, f, srv.URL+"/feed")
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if res.FeedTitle != tt.feedTitle {
				t.Errorf("FeedTitle = %q, want %q", res.FeedTitle, tt.feedTitle)
			}
			if len(res.Stories) != len(tt.titles) || res.Items != len(tt.titles) {
				t.Fatalf("%d stories (%d items), want %d", len(res.Stories), res.Items, len(tt.titles))
			}
			for i, st := range res.Stories {
				if st.Title != tt.titles[i] {
					t.Errorf("story %d title = %q, want %q", i, st.Title, tt.titles[i])
				}
				if st.Link != tt.links[i] {
					t.Errorf("story %d link = %q, want %q", i, st.Link, tt.links[i])
				}
				if st.Source != "Test" || st.ID == "" || !st.FirstSeen.Equal(t0) {
					t.Errorf("story %d: source %q, id %q, first seen %v", i, st.Source, st.ID, st.FirstSeen)
				}
			}
			first := res.Stories[0]
			if !first.Published.Equal(tt.published) {
				t.Errorf("published = %v, want %v", first.Published, tt.published)
			}
			if !strings.Contains(first.Text, tt.text) {
				t.Errorf("text %q lacks %q", first.Text, tt.text)
			}
			if ua := srv.last().Header.Get("User-Agent"); !strings.HasPrefix(ua, "Frontwire/1.2.3 ") {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func TestFetchRSSKeepsGUIDAndCategories(t *testing.T) {
	srv := serveBody(t, "application/rss+xml", rss2)
	res, err := fetchOnce(t, NewFetcher(srv.Client(), "", clock.NewFake(t0)), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stories[0]
	if !strings.Contains(st.ID, "wire-1001") {
		t.Errorf("ID = %q, want it built from the GUID", st.ID)
	}
	if len(st.Categories) != 1 || st.Categories[0] != "Ukraine" {
		t.Errorf("categories = %q", st.Categories)
	}
}

func TestFetchCharsets(t *testing.T) {
	const title = "Переговори у Женеві"
	const ru = "Переговоры в Женеве"
	const latin = "Négociations à Genève: accord signé"
	enc := func(e *charmap.Charmap, s string) string {
		b, err := e.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	feed := func(prolog, title string) string {
		return prolog + "<rss version=\"2.0\"><channel><title>t</title><item><title>" + title +
			"</title><guid>g1</guid><description>" + title + "</description></item></channel></rss>"
	}
	tests := []struct {
		name, contentType, body, want string
	}{
		{"windows-1251 in prolog", "application/xml",
			feed(`<?xml version="1.0" encoding="windows-1251"?>`, enc(charmap.Windows1251, title)), title},
		{"windows-1251 prolog beats a blanket utf-8 header", "text/xml; charset=utf-8",
			feed(`<?xml version="1.0" encoding="windows-1251"?>`, enc(charmap.Windows1251, title)), title},
		{"koi8-r in prolog", "application/rss+xml",
			feed(`<?xml version='1.0' encoding='KOI8-R'?>`, enc(charmap.KOI8R, ru)), ru},
		{"koi8-r in content type only", "application/rss+xml; charset=koi8-r",
			feed(`<?xml version="1.0"?>`, enc(charmap.KOI8R, ru)), ru},
		{"latin-1 in prolog", "application/xml",
			feed(`<?xml version="1.0" encoding="ISO-8859-1"?>`, enc(charmap.ISO8859_1, latin)), latin},
		{"latin-1 spelled latin-1 in header", "text/xml; charset=latin-1",
			feed("", enc(charmap.ISO8859_1, latin)), latin},
		{"utf-8 with BOM", "application/xml",
			"\xEF\xBB\xBF" + feed(`<?xml version="1.0" encoding="UTF-8"?>`, title), title},
		{"invalid utf-8 and control bytes repaired", "application/xml",
			feed(`<?xml version="1.0" encoding="UTF-8"?>`, "Peace\x01 talks \xff resume"), "Peace talks \uFFFD resume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveBody(t, tt.contentType, tt.body)
			res, err := fetchOnce(t, NewFetcher(srv.Client(), "", clock.NewFake(t0)), srv.URL)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if len(res.Stories) != 1 {
				t.Fatalf("%d stories", len(res.Stories))
			}
			if got := res.Stories[0].Title; got != tt.want {
				t.Errorf("title = %q, want %q", got, tt.want)
			}
			if got := res.Stories[0].Text; got != tt.want {
				t.Errorf("text = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFetchGzip(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte(rss2))
	_ = zw.Close()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	})
	t.Run("transport decodes", func(t *testing.T) {
		res, err := fetchOnce(t, NewFetcher(srv.Client(), "", clock.NewFake(t0)), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Stories) != 2 {
			t.Errorf("%d stories, want 2", len(res.Stories))
		}
	})
	t.Run("transport without compression", func(t *testing.T) {
		// A caller's transport that does not decode: the fetcher does.
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.DisableCompression = true
		f := NewFetcher(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r.Header.Set("Accept-Encoding", "gzip")
			return tr.RoundTrip(r)
		})}, "", clock.NewFake(t0))
		res, err := fetchOnce(t, f, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Stories) != 2 {
			t.Errorf("%d stories, want 2", len(res.Stories))
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFetchSizeCap(t *testing.T) {
	// A gzip bomb: about 40 KiB on the wire, 40 MiB decoded.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write([]byte("<rss version=\"2.0\"><channel><title>"))
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for range 40 {
		_, _ = zw.Write(chunk)
	}
	_ = zw.Close()
	if bomb.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", bomb.Len())
	}
	big := bytes.Repeat([]byte(" "), 11<<20)

	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"11 MiB body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			_, _ = w.Write(big)
		}},
		{"gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb.Bytes())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			_, err := fetchOnce(t, NewFetcher(srv.Client(), "", clock.NewFake(t0)), srv.URL)
			wantErrIs(t, err, ErrTooLarge)
			if err.Error() != "feed larger than 10 MiB" {
				t.Errorf("error text %q", err)
			}
		})
	}
	t.Run("file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "big.xml")
		if err := os.WriteFile(p, big, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := fetchOnce(t, NewFetcher(nil, "", clock.NewFake(t0)), p)
		wantErrIs(t, err, ErrTooLarge)
	})
}

func TestFetchNotAFeed(t *testing.T) {
	tests := []struct {
		name, contentType, body, msg string
	}{
		{"html page", "text/html; charset=utf-8", "<!DOCTYPE html><html><head><title>News</title></head><body>Hi</body></html>", "HTML web page"},
		{"html with wrong type", "application/rss+xml", "\n  <html lang=\"en\"><body>Hi</body></html>", "HTML web page"},
		{"plain json", "application/json", `{"status":"ok"}`, "JSON Feed"},
		{"empty", "application/xml", "   ", "empty"},
		{"other xml", "application/xml", `<?xml version="1.0"?><sitemap/>`, "unrecognised"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveBody(t, tt.contentType, tt.body)
			_, err := fetchOnce(t, NewFetcher(srv.Client(), "", clock.NewFake(t0)), srv.URL)
			wantErrIs(t, err, ErrNotFeed)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestFetchHTTPErrors(t *testing.T) {
	clk := clock.NewFake(t0)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantAfter  time.Duration // 0: want *HTTPError
	}{
		{"500", 500, "", 0},
		{"404", 404, "", 0},
		{"429 seconds", 429, "120", 2 * time.Minute},
		{"503 http date", 503, t0.Add(90 * time.Minute).Format(http.TimeFormat), 90 * time.Minute},
		{"429 date in the past", 429, t0.Add(-time.Hour).Format(http.TimeFormat), 0 - 1},
		{"429 without retry-after", 429, "", 0},
		{"429 garbage retry-after", 429, "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			})
			_, err := fetchOnce(t, NewFetcher(srv.Client(), "", clk), srv.URL)
			var ra *RetryAfterError
			var he *HTTPError
			switch {
			case tt.wantAfter == -1:
				if !errors.As(err, &ra) || ra.After != 0 {
					t.Fatalf("err = %v, want RetryAfterError with 0", err)
				}
			case tt.wantAfter > 0:
				if !errors.As(err, &ra) || ra.After != tt.wantAfter || ra.Status != tt.status {
					t.Fatalf("err = %#v, want RetryAfterError{%d, %v}", err, tt.status, tt.wantAfter)
				}
			default:
				if !errors.As(err, &he) || he.Status != tt.status {
					t.Fatalf("err = %v, want HTTPError %d", err, tt.status)
				}
			}
		})
	}
}

func TestFetchRedirects(t *testing.T) {
	t.Run("loop stops after 10", func(t *testing.T) {
		var srv *feedServer
		srv = serve(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, srv.URL+"/loop", http.StatusFound)
		})
		f := NewFetcher(&http.Client{Transport: srv.Client().Transport}, "", clock.NewFake(t0))
		_, err := fetchOnce(t, f, srv.URL)
		wantErrIs(t, err, ErrTooManyRedirects)
		if n := srv.count(); n != MaxRedirects+1 {
			t.Errorf("%d requests, want %d", n, MaxRedirects+1)
		}
	})
	t.Run("a few redirects are followed", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/3" {
				next := map[string]string{"/": "/1", "/1": "/2", "/2": "/3"}[r.URL.Path]
				http.Redirect(w, r, next, http.StatusMovedPermanently)
				return
			}
			_, _ = w.Write([]byte(rss2))
		})
		res, err := fetchOnce(t, NewFetcher(&http.Client{}, "", clock.NewFake(t0)), srv.URL+"/")
		if err != nil || len(res.Stories) != 2 {
			t.Fatalf("res = %+v, err = %v", res, err)
		}
	})
}

func TestFetchSlowResponse(t *testing.T) {
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`<rss version="2.0"><channel>`))
		w.(http.Flusher).Flush()
		// Stall mid-body until the client gives up.
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)

	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		f := NewFetcher(srv.Client(), "", clock.NewFake(t0))
		_, err := f.Fetch(ctx, config.Source{Name: "Slow", URL: srv.URL}, storage.SourceState{}, 100)
		wantErrIs(t, err, context.DeadlineExceeded)
	})
	t.Run("client timeout", func(t *testing.T) {
		f := NewFetcher(&http.Client{Timeout: 100 * time.Millisecond}, "", clock.NewFake(t0))
		_, err := fetchOnce(t, f, srv.URL)
		if err == nil || !strings.Contains(err.Error(), "Client.Timeout") {
			t.Fatalf("err = %v, want a client timeout", err)
		}
	})
}

func TestFetchGuardsPrivateAddresses(t *testing.T) {
	srv := serveBody(t, "application/rss+xml", rss2)
	_, err := fetchOnce(t, NewFetcher(NewHTTPClient(false), "", clock.NewFake(t0)), srv.URL)
	wantErrIs(t, err, ErrPrivateAddress)
	if srv.count() != 0 {
		t.Error("the guarded client reached the loopback server")
	}
	res, err := fetchOnce(t, NewFetcher(NewHTTPClient(true), "", clock.NewFake(t0)), srv.URL)
	if err != nil || len(res.Stories) != 2 {
		t.Fatalf("allowed: res = %+v, err = %v", res, err)
	}
}

func TestFetchFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "feed.xml")
	if err := os.WriteFile(p, []byte(atom1), 0o600); err != nil {
		t.Fatal(err)
	}
	f := NewFetcher(nil, "", clock.NewFake(t0))
	for _, u := range []string{p, "file://" + filepath.ToSlash(p)} {
		t.Run(u, func(t *testing.T) {
			res, err := fetchOnce(t, f, u)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Stories) != 1 || res.Stories[0].Title != "Ceasefire & prisoner swap agreed" {
				t.Fatalf("stories = %+v", res.Stories)
			}
			// Unchanged file: not modified.
			again, err := f.Fetch(context.Background(), config.Source{Name: "F", URL: u},
				storage.SourceState{URL: u, LastModified: res.LastModified}, 100)
			if err != nil || !again.NotModified || len(again.Stories) != 0 {
				t.Fatalf("second read: %+v, %v", again, err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := fetchOnce(t, f, filepath.Join(dir, "nope.xml"))
		wantErrIs(t, err, os.ErrNotExist)
	})
	t.Run("directory", func(t *testing.T) {
		_, err := fetchOnce(t, f, dir)
		if err == nil {
			t.Fatal("read a directory as a feed")
		}
	})
}

func TestFetchErrorsHideURLSecrets(t *testing.T) {
	srv := serveBody(t, "text/plain", "")
	addr := srv.Listener.Addr().String()
	srv.Close() // connection refused from now on
	u := fmt.Sprintf("http://reader:hunter2@%s/feed?api_key=SECRETKEY", addr)
	_, err := fetchOnce(t, NewFetcher(&http.Client{}, "", clock.NewFake(t0)), u)
	if err == nil {
		t.Fatal("fetch from a closed server succeeded")
	}
	for _, secret := range []string{"hunter2", "SECRETKEY"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"30", 30 * time.Second, true},
		{" 3600 ", time.Hour, true},
		{"99999999999999", maxRetryAfter, true},
		{"-5", 0, false},
		{"", 0, false},
		{"1.5", 0, false},
		{t0.Add(10 * time.Minute).Format(http.TimeFormat), 10 * time.Minute, true},
		{t0.Add(-10 * time.Minute).Format(http.TimeFormat), 0, true},
		{t0.Add(1000 * time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, t0)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %t; want %v, %t", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseFeed(f *testing.F) {
	for _, seed := range []string{rss2, atom1, jsonFeed, rss1,
		`<?xml version="1.0" encoding="koi8-r"?><rss><channel><item><title>\xf0\xc5</title></item></channel></rss>`,
		"<html><body>x</body></html>", `{"version":"https://jsonfeed.org/version/1","items":[{}]}`,
		"\xFE\xFF\x00<\x00r\x00s\x00s", "", "<rss><channel><item><link>::</link></item>"} {
		f.Add([]byte(seed), "application/xml")
	}
	f.Add([]byte(rss2), "text/xml; charset=windows-1251")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		feed, err := parseFeed(body, contentType)
		if err == nil && feed == nil {
			t.Fatal("nil feed without error")
		}
		if err != nil {
			return
		}
		// The conversion to stories must not panic either.
		for _, it := range feed.Items {
			if it != nil {
				_ = toItem(it, feedBase(feed.Link, nil))
			}
		}
	})
}
