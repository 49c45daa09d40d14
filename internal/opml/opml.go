// Package opml reads and writes OPML subscription lists, the format feed
// readers use to move their list of feeds from one program to another.
// Frontwire only needs the feeds: every outline with an xmlUrl, at any
// depth, with its title.
package opml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBytes caps the size of a document Parse reads. A subscription list of
// ten thousand feeds is well under a megabyte; the cap stops a hostile file
// from exhausting memory.
const MaxBytes = 4 << 20

// maxDepth bounds outline nesting; real lists nest one or two levels.
const maxDepth = 64

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrTooLarge means the document is larger than MaxBytes.
	ErrTooLarge = errors.New("OPML document larger than 4 MiB")
	// ErrNotOPML means the document is not an OPML file.
	ErrNotOPML = errors.New("not an OPML document")
)

// Feed is one feed of a subscription list.
type Feed struct {
	// Title is the outline's title, else its text; may be empty.
	Title string
	// URL is the feed's address (the outline's xmlUrl).
	URL string
	// Category is the title of the enclosing outline(s), joined by "/".
	Category string
}

type document struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Head    head     `xml:"head"`
	Body    *body    `xml:"body"`
}

type head struct {
	Title       string `xml:"title,omitempty"`
	DateCreated string `xml:"dateCreated,omitempty"`
}

type body struct {
	Outlines []outline `xml:"outline"`
}

type outline struct {
	Text     string    `xml:"text,attr"`
	Title    string    `xml:"title,attr,omitempty"`
	Type     string    `xml:"type,attr,omitempty"`
	XMLURL   string    `xml:"xmlUrl,attr,omitempty"`
	HTMLURL  string    `xml:"htmlUrl,attr,omitempty"`
	Outlines []outline `xml:"outline"`
}

// Parse reads an OPML document and returns its feeds in document order:
// every outline carrying an xmlUrl, at any depth. Outlines without one are
// folders; their titles become the Category of the feeds inside. Entities
// other than XML's five are refused, so entity expansion cannot blow up.
func Parse(r io.Reader) ([]Feed, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read OPML: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, ErrTooLarge
	}
	if err := checkDepth(data); err != nil {
		return nil, err
	}
	var doc document
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// OPML files are nearly always UTF-8; other declared encodings are
	// read as UTF-8 only when they are ASCII-compatible labels of it.
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(strings.TrimSpace(label)) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported: save the file as UTF-8", label)
	}
	if err := dec.Decode(&doc); err != nil {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("OPML line %d: %s: %w", se.Line, se.Msg, ErrNotOPML)
		}
		return nil, fmt.Errorf("parse OPML: %v: %w", err, ErrNotOPML)
	}
	if doc.Body == nil {
		return nil, fmt.Errorf("no <body> element: %w", ErrNotOPML)
	}
	var out []Feed
	var walk func(os []outline, category string)
	walk = func(os []outline, category string) {
		for _, o := range os {
			title := clean(o.Title)
			if title == "" {
				title = clean(o.Text)
			}
			if u := strings.TrimSpace(o.XMLURL); u != "" {
				out = append(out, Feed{Title: title, URL: u, Category: category})
			}
			sub := category
			if o.XMLURL == "" && title != "" {
				if sub != "" {
					sub += "/"
				}
				sub += title
			}
			walk(o.Outlines, sub)
		}
	}
	walk(doc.Body.Outlines, "")
	return out, nil
}

// checkDepth refuses documents nested deeper than maxDepth before they are
// decoded into nested structs.
func checkDepth(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	depth := 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// The real decode reports syntax errors with more context.
			return nil
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxDepth {
				return fmt.Errorf("outlines nested more than %d deep: %w", maxDepth, ErrNotOPML)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// clean collapses white space and drops invalid UTF-8.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	return strings.Join(strings.Fields(s), " ")
}

// Write writes feeds as an OPML 2.0 document titled title. Feeds with a
// Category are grouped under one folder outline per category, in the order
// the categories first appear; the others sit at the top level.
func Write(w io.Writer, title string, created time.Time, feeds []Feed) error {
	doc := document{Version: "2.0", Head: head{Title: title}, Body: &body{}}
	if !created.IsZero() {
		doc.Head.DateCreated = created.UTC().Format(time.RFC1123Z)
	}
	folders := map[string]int{}
	for _, f := range feeds {
		o := outline{Text: f.Title, Title: f.Title, Type: "rss", XMLURL: f.URL}
		if f.Category == "" {
			doc.Body.Outlines = append(doc.Body.Outlines, o)
			continue
		}
		i, ok := folders[f.Category]
		if !ok {
			i = len(doc.Body.Outlines)
			folders[f.Category] = i
			doc.Body.Outlines = append(doc.Body.Outlines, outline{Text: f.Category, Title: f.Category})
		}
		doc.Body.Outlines[i].Outlines = append(doc.Body.Outlines[i].Outlines, o)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write OPML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write OPML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write OPML: %w", err)
	}
	return nil
}
