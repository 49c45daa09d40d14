// Package demo holds `bot demo`: sample feeds written for Frontwire, served
// from loopback as they would be published over a morning, and the script
// that subscribes a console chat and shows the alerts arrive.
package demo

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"golang.org/x/text/encoding/charmap"
)

//go:embed timeline.json
var timelineJSON []byte

// Timeline is the sample news: feeds, and items that appear at steps.
type Timeline struct {
	Feeds []Feed            `json:"feeds"`
	Notes map[string]string `json:"notes"` // what to point out at a step, by step number
	Items []Item            `json:"items"`
}

// Feed is one sample feed.
type Feed struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Format   string `json:"format"`   // rss, atom or json
	Encoding string `json:"encoding"` // utf-8 or windows-1251
	Title    string `json:"title"`
}

// Item is one story of a sample feed. An item with the GUID of an earlier
// one replaces it from its step on (an edited story).
type Item struct {
	Feed        string    `json:"feed"`
	Step        int       `json:"step"`
	GUID        string    `json:"guid"`
	Link        string    `json:"link"`
	Published   time.Time `json:"published"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
}

// LoadTimeline parses the embedded sample news.
func LoadTimeline() (Timeline, error) {
	var t Timeline
	if err := json.Unmarshal(timelineJSON, &t); err != nil {
		return t, fmt.Errorf("demo timeline: %w", err)
	}
	return t, nil
}

// Steps returns the number of publishing steps in the timeline.
func (t Timeline) Steps() int {
	n := 0
	for _, it := range t.Items {
		n = max(n, it.Step+1)
	}
	return n
}

// Server serves the timeline's feeds as published up to the current step,
// with ETag and Last-Modified so Frontwire's conditional GETs get 304s.
type Server struct {
	tl   Timeline
	srv  *httptest.Server
	mu   sync.Mutex
	step int
}

// NewServer starts serving on a loopback port.
func NewServer(tl Timeline) *Server {
	s := &Server{tl: tl}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL returns the address of a feed.
func (s *Server) URL(f Feed) string { return s.srv.URL + f.Path }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetStep publishes the items of steps up to n.
func (s *Server) SetStep(n int) {
	s.mu.Lock()
	s.step = n
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	step := s.step
	s.mu.Unlock()
	for _, f := range s.tl.Feeds {
		if f.Path != r.URL.Path {
			continue
		}
		body, ctype, modified, err := s.tl.Render(f, step)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(body)
		return
	}
	http.NotFound(w, r)
}

// visible returns a feed's items as published at step, newest first, with
// edited items replacing their earlier versions.
func (t Timeline) visible(feed string, step int) []Item {
	var out []Item
	index := map[string]int{}
	for _, it := range t.Items {
		if it.Feed != feed || it.Step > step {
			continue
		}
		if i, ok := index[it.GUID]; ok && it.GUID != "" {
			out[i] = it
			continue
		}
		index[it.GUID] = len(out)
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Published.After(out[j].Published) })
	return out
}

// Render produces a feed's document at a step in its own format and
// character encoding.
func (t Timeline) Render(f Feed, step int) (body []byte, contentType string, modified time.Time, err error) {
	items := t.visible(f.Name, step)
	for _, it := range items {
		if it.Published.After(modified) {
			modified = it.Published
		}
	}
	switch f.Format {
	case "json":
		body, err = renderJSON(f, items)
		contentType = "application/feed+json"
	case "atom":
		body, err = renderAtom(f, items, modified)
		contentType = "application/atom+xml; charset=utf-8"
	default:
		body, err = renderRSS(f, items)
		contentType = "application/rss+xml; charset=" + f.Encoding
	}
	if err == nil && f.Encoding == "windows-1251" {
		body, err = charmap.Windows1251.NewEncoder().Bytes(body)
	}
	return body, contentType, modified, err
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func renderRSS(f Feed, items []Item) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"%s\"?>\n<rss version=\"2.0\"><channel><title>%s</title><link>https://example.invalid/</link><description>Frontwire demo feed</description>\n", f.Encoding, esc(f.Title))
	for _, it := range items {
		b.WriteString("<item>")
		fmt.Fprintf(&b, "<title>%s</title><link>%s</link>", esc(it.Title), esc(it.Link))
		if it.GUID != "" {
			fmt.Fprintf(&b, "<guid isPermaLink=\"false\">%s</guid>", esc(it.GUID))
		}
		fmt.Fprintf(&b, "<pubDate>%s</pubDate><description>%s</description></item>\n", it.Published.Format(time.RFC1123Z), esc(it.Description))
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes(), nil
}

func renderAtom(f Feed, items []Item, updated time.Time) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>%s</title><id>urn:frontwire:demo:%s</id><updated>%s</updated>\n", esc(f.Title), esc(f.Path), updated.Format(time.RFC3339))
	for _, it := range items {
		fmt.Fprintf(&b, "<entry><title type=\"html\">%s</title><id>%s</id><link href=\"%s\"/><updated>%s</updated><content type=\"html\">%s</content></entry>\n",
			esc(it.Title), esc(it.GUID), esc(it.Link), it.Published.Format(time.RFC3339), esc(it.Description))
	}
	b.WriteString("</feed>\n")
	return b.Bytes(), nil
}

func renderJSON(f Feed, items []Item) ([]byte, error) {
	type jsonItem struct {
		ID            string `json:"id"`
		URL           string `json:"url"`
		Title         string `json:"title"`
		ContentHTML   string `json:"content_html"`
		DatePublished string `json:"date_published"`
	}
	doc := struct {
		Version string     `json:"version"`
		Title   string     `json:"title"`
		Items   []jsonItem `json:"items"`
	}{Version: "https://jsonfeed.org/version/1.1", Title: f.Title}
	for _, it := range items {
		doc.Items = append(doc.Items, jsonItem{ID: it.GUID, URL: it.Link, Title: it.Title, ContentHTML: it.Description, DatePublished: it.Published.Format(time.RFC3339)})
	}
	return json.MarshalIndent(doc, "", "  ")
}
