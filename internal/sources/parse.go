package sources

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"

	"frontwire/internal/story"
)

// parseFeed turns a raw feed document into a gofeed.Feed. The body is first
// converted to valid UTF-8 (see toUTF8) so that every encoding reaches
// gofeed the same way. It never panics: a parser failure on hostile input
// is returned as an error.
func parseFeed(body []byte, contentType string) (feed *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			feed, err = nil, fmt.Errorf("parse feed: the parser failed on malformed input: %w", ErrNotFeed)
		}
	}()
	body = toUTF8(body, contentType)
	switch gofeed.DetectFeedType(bytes.NewReader(body)) {
	case gofeed.FeedTypeUnknown:
		if looksLikeHTML(body, contentType) {
			return nil, fmt.Errorf("the address serves an HTML web page, not a feed (look for the site's RSS or Atom link): %w", ErrNotFeed)
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, fmt.Errorf("empty document: %w", ErrNotFeed)
		}
		return nil, fmt.Errorf("unrecognised document: %w", ErrNotFeed)
	case gofeed.FeedTypeJSON:
		// Any JSON object is detected as JSON; only a JSON Feed declares
		// its version URL.
		if !bytes.Contains(body, []byte("jsonfeed.org/version")) {
			return nil, fmt.Errorf("JSON document without a JSON Feed version: %w", ErrNotFeed)
		}
	}
	p := gofeed.NewParser()
	p.RSSTranslator = &rssTranslator{}
	feed, err = p.Parse(bytes.NewReader(body))
	if err != nil {
		if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
			return nil, fmt.Errorf("parse feed: %w", ErrNotFeed)
		}
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	return feed, nil
}

var (
	xmlDeclRE  = regexp.MustCompile(`^\s*<\?xml[^>]*\?>`)
	encodingRE = regexp.MustCompile(`(encoding\s*=\s*)(["'])([^"']*)(["'])`)
)

// toUTF8 returns body as valid UTF-8 with an XML declaration, if any, that
// says so. The encoding is taken from a byte order mark, else the XML
// declaration, else the Content-Type charset, else UTF-8. The declaration
// wins over the header because servers commonly add a blanket
// "charset=utf-8" to files written in windows-1251 or koi8-r, while the
// declaration travels with the file. Characters XML forbids (most C0
// controls) are dropped and invalid UTF-8 is replaced, since one stray
// byte would otherwise make the whole feed unreadable.
func toUTF8(body []byte, contentType string) []byte {
	var label string
	switch {
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		body = body[3:]
		label = "utf-8"
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}), bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		dec := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
		if out, err := dec.Bytes(body); err == nil {
			body = out
		}
		label = "utf-8"
	default:
		label = declaredEncoding(body)
		if label == "" {
			label = contentCharset(contentType)
		}
	}
	if enc := lookupEncoding(label); enc != nil {
		if out, err := enc.NewDecoder().Bytes(body); err == nil {
			body = out
		}
	}
	body = markUTF8(body)
	return cleanXMLText(body)
}

// lookupEncoding finds a non-UTF-8 encoding by its label, also accepting
// common variants such as "latin-1" or "cp_1251". It returns nil for UTF-8
// and for labels it does not know: the body is then read as UTF-8 and
// repaired, which keeps at least the ASCII part legible.
func lookupEncoding(label string) encoding.Encoding {
	label = strings.ToLower(strings.TrimSpace(label))
	if label == "" {
		return nil
	}
	for _, l := range []string{label, strings.NewReplacer("-", "", "_", "").Replace(label), strings.ReplaceAll(label, "_", "-")} {
		enc, name := charset.Lookup(l)
		if enc == nil {
			continue
		}
		if name == "utf-8" {
			return nil
		}
		return enc
	}
	return nil
}

// declaredEncoding returns the encoding named by the XML declaration.
func declaredEncoding(body []byte) string {
	decl := xmlDeclRE.Find(body[:min(len(body), 512)])
	if decl == nil {
		return ""
	}
	m := encodingRE.FindSubmatch(decl)
	if m == nil {
		return ""
	}
	return string(m[3])
}

// markUTF8 rewrites the XML declaration's encoding to UTF-8, so that the XML
// decoder does not convert the already converted text a second time.
func markUTF8(body []byte) []byte {
	loc := xmlDeclRE.FindIndex(body[:min(len(body), 512)])
	if loc == nil {
		return body
	}
	decl := body[loc[0]:loc[1]]
	if !encodingRE.Match(decl) {
		return body
	}
	fixed := encodingRE.ReplaceAll(decl, []byte(`${1}${2}UTF-8${4}`))
	out := make([]byte, 0, len(body)-len(decl)+len(fixed))
	out = append(out, body[:loc[0]]...)
	out = append(out, fixed...)
	return append(out, body[loc[1]:]...)
}

// cleanXMLText replaces invalid UTF-8 with U+FFFD and drops the characters
// XML 1.0 does not allow (C0 controls other than tab, newline and carriage
// return; U+FFFE and U+FFFF).
func cleanXMLText(body []byte) []byte {
	clean := true
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if (r == utf8.RuneError && n == 1) || !xmlChar(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return body
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			out = utf8.AppendRune(out, utf8.RuneError)
		case xmlChar(r):
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// looksLikeHTML reports whether a document that is not a feed is a web
// page, so that the error can say so.
func looksLikeHTML(body []byte, contentType string) bool {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "text/html") {
		return true
	}
	head := bytes.ToLower(body[:min(len(body), 4096)])
	return bytes.Contains(head, []byte("<!doctype html")) || bytes.Contains(head, []byte("<html"))
}

// toItem hands a parsed item to the story package, resolving a relative
// link against base.
func toItem(it *gofeed.Item, base *url.URL) story.Item {
	link := strings.TrimSpace(it.Link)
	if link == "" {
		for _, l := range it.Links {
			if l = strings.TrimSpace(l); l != "" {
				link = l
				break
			}
		}
	}
	if link != "" && base != nil {
		if u, err := url.Parse(link); err == nil && !u.IsAbs() {
			link = base.ResolveReference(u).String()
		}
	}
	si := story.Item{
		GUID:        strings.TrimSpace(it.GUID),
		Link:        link,
		Title:       it.Title,
		Description: it.Description,
		Content:     it.Content,
		Categories:  it.Categories,
	}
	if it.PublishedParsed != nil {
		si.Published = *it.PublishedParsed
	}
	if it.UpdatedParsed != nil {
		si.Updated = *it.UpdatedParsed
	}
	return si
}

// feedBase picks the base for relative item links: the feed's own site
// link when it is absolute http(s), else the address the feed came from.
func feedBase(feedLink string, src *url.URL) *url.URL {
	if u, err := url.Parse(strings.TrimSpace(feedLink)); err == nil && u.IsAbs() && (u.Scheme == "http" || u.Scheme == "https") {
		return u
	}
	return src
}
