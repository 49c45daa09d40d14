package story

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// MaxHTMLInput is the most bytes of one HTML string that HTMLToText reads.
// Feed descriptions are a few kilobytes; anything past a mebibyte is either a
// mistake or an attack, and reading it would only cost time.
const MaxHTMLInput = 1 << 20

// ParagraphBreak is what HTMLToText writes where a block element (p, div, br,
// li, h1–h6, …) ended a run of text. It is the only line break HTMLToText
// ever writes: the summariser needs it to know where a sentence ended even
// when the sentence had no full stop (a heading, a "Read more" line), and a
// caller that wants one line replaces it with a space.
const ParagraphBreak = "\n\n"

// skipIndex numbers the elements whose content is not the story's own
// prose, or gives -1. script/style/noscript/iframe/template/svg/head/title
// are never visible text. figure (and so figcaption) is dropped on purpose:
// in news HTML it holds photo captions, credits, pull quotes and embedded
// posts, which would otherwise become the "lead sentence" of the summary and
// add words that subscriptions would match although the story is not about
// them. textarea, xmp, noembed, noframes, object and select are raw or
// interactive elements a feed has no business sending.
func skipIndex(a atom.Atom) int {
	switch a {
	case atom.Script:
		return 0
	case atom.Style:
		return 1
	case atom.Noscript:
		return 2
	case atom.Iframe:
		return 3
	case atom.Noembed:
		return 4
	case atom.Noframes:
		return 5
	case atom.Template:
		return 6
	case atom.Svg:
		return 7
	case atom.Math:
		return 8
	case atom.Head:
		return 9
	case atom.Title:
		return 10
	case atom.Figure:
		return 11
	case atom.Figcaption:
		return 12
	case atom.Textarea:
		return 13
	case atom.Xmp:
		return 14
	case atom.Object:
		return 15
	case atom.Select:
		return 16
	}
	return -1
}

// numSkipped is one more than the largest index skipIndex gives.
const numSkipped = 17

// rawSkipped are skipped elements that the tokenizer reads as raw text: for
// them a self-closing tag (<script/>) still starts raw text up to the end
// tag, so it must count as a start tag or the raw text would leak through.
func rawSkipped(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Noscript, atom.Iframe, atom.Noembed,
		atom.Noframes, atom.Title, atom.Textarea, atom.Xmp:
		return true
	}
	return false
}

// blockSep says what an element's start or end tag does to the text around
// it: 2 for a paragraph break, 1 for a space, 0 for nothing (inline markup
// such as <b> must not split "Wit<b>koff</b>").
func blockSep(a atom.Atom) int {
	switch a {
	case atom.P, atom.Br, atom.Div, atom.Li, atom.Ul, atom.Ol, atom.Dl, atom.Dt,
		atom.Dd, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Blockquote, atom.Pre, atom.Hr, atom.Table, atom.Tr, atom.Section,
		atom.Article, atom.Header, atom.Footer, atom.Aside, atom.Nav, atom.Main,
		atom.Address, atom.Center, atom.Details, atom.Summary, atom.Form,
		atom.Fieldset, atom.Caption, atom.Body, atom.Html:
		return 2
	case atom.Td, atom.Th, atom.Img, atom.Input, atom.Button, atom.Video,
		atom.Audio, atom.Picture, atom.Embed, atom.Label:
		return 1
	}
	return 0
}

// HTMLToText turns an HTML fragment from a feed into plain text: tags are
// dropped (script, style, iframe, figure captions and similar are dropped
// with their content), entities are decoded, block elements become
// ParagraphBreak, every other run of whitespace becomes one space, invalid
// UTF-8 becomes U+FFFD, and control and format characters (zero-width
// spaces, bidi overrides, soft hyphens, BOM) are removed. The result has no
// leading or trailing whitespace and no line breaks other than
// ParagraphBreak.
//
// Text that was HTML-escaped twice is decoded twice, so "&amp;lt;b&amp;gt;"
// gives the literal text "<b>" and never markup. Input past MaxHTMLInput
// bytes is ignored. The work is one pass of x/net/html's tokenizer with no
// tree and no recursion, so deep nesting costs nothing extra.
func HTMLToText(s string) string {
	if len(s) > MaxHTMLInput {
		s = truncateBytes(s, MaxHTMLInput)
	}
	if looksDoubleEscaped(s) {
		s = html.UnescapeString(s)
	}
	if !strings.ContainsAny(s, "<&") {
		// Plain text: no tokenizer needed, only cleaning.
		var w textWriter
		w.b.Grow(len(s))
		w.writeText(s)
		return w.b.String()
	}

	var w textWriter
	w.b.Grow(len(s) / 2)
	var skipDepth [numSkipped]int
	skipping := 0 // sum of skipDepth, so the check per token is one compare
	z := nethtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case nethtml.ErrorToken:
			// io.EOF or a read error from strings.Reader, which has none
			// other: either way the text so far is all there is.
			return w.b.String()
		case nethtml.TextToken:
			if skipping > 0 {
				continue
			}
			text := z.Text()
			if containsByte(text, '&') {
				// The tokenizer decoded one level of entities; a second
				// level means the feed escaped twice ("&amp;quot;").
				w.writeText(html.UnescapeString(string(text)))
			} else {
				w.writeBytes(text)
			}
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken, nethtml.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == 0 {
				continue
			}
			if i := skipIndex(a); i >= 0 {
				switch {
				case tt == nethtml.StartTagToken || (tt == nethtml.SelfClosingTagToken && rawSkipped(a)):
					skipDepth[i]++
					skipping++
				case tt == nethtml.EndTagToken && skipDepth[i] > 0:
					skipDepth[i]--
					skipping--
				}
				// What was dropped stood between the words around it.
				w.separate(1)
				continue
			}
			if skipping > 0 {
				continue
			}
			w.separate(blockSep(a))
		}
	}
}

// looksDoubleEscaped reports whether s is a whole HTML body that was escaped
// once more than it should have been: it has no tags, yet escaped closing
// tags or paragraph tags. A plain title that merely mentions "&lt;div&gt;"
// has no escaped closing tag and is left alone.
func looksDoubleEscaped(s string) bool {
	if strings.IndexByte(s, '<') >= 0 {
		return false
	}
	i := strings.Index(s, "&lt;")
	if i < 0 {
		return false
	}
	rest := s[i:]
	return strings.Contains(rest, "&lt;/") || strings.Contains(rest, "&lt;p&gt;") ||
		strings.Contains(rest, "&lt;br") || strings.Contains(rest, "&lt;img ")
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// truncateBytes cuts s to at most n bytes without splitting a UTF-8
// sequence.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// textWriter collects cleaned text, holding back separators until the next
// visible character so that output never starts or ends with whitespace and
// runs of separators collapse to the strongest one.
type textWriter struct {
	b   strings.Builder
	sep int // pending separator: 0 none, 1 space, 2 paragraph break
}

func (w *textWriter) separate(level int) {
	if level > w.sep {
		w.sep = level
	}
}

func (w *textWriter) flushSep() {
	if w.b.Len() > 0 {
		switch w.sep {
		case 1:
			w.b.WriteByte(' ')
		case 2:
			w.b.WriteString(ParagraphBreak)
		}
	}
	w.sep = 0
}

func (w *textWriter) writeBytes(p []byte) {
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			w.writeASCII(c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		w.writeRune(r, size)
		i += size
	}
}

func (w *textWriter) writeText(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			w.writeASCII(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		w.writeRune(r, size)
		i += size
	}
}

func (w *textWriter) writeASCII(c byte) {
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		w.separate(1)
	case c < 0x20 || c == 0x7f:
		// C0 controls and DEL: invisible, and unsafe in chat messages.
	default:
		if w.sep != 0 {
			w.flushSep()
		}
		w.b.WriteByte(c)
	}
}

func (w *textWriter) writeRune(r rune, size int) {
	switch {
	case r == utf8.RuneError && size == 1:
		// Invalid UTF-8: mark the loss instead of gluing words together.
		w.flushSep()
		w.b.WriteRune(utf8.RuneError)
	case unicode.IsSpace(r):
		// NBSP, ideographic space, U+2028/U+2029 and the like.
		w.separate(1)
	case dropRune(r):
	default:
		w.flushSep()
		w.b.WriteRune(r)
	}
}

// dropRune reports whether r is invisible and must go: C1 controls, and all
// format characters (Cf), which include zero-width spaces and joiners
// (U+200B–U+200F), bidi embeddings and overrides (U+202A–U+202E,
// U+2066–U+2069), the BOM (U+FEFF) and the soft hyphen. They hide words from
// keyword matching and let a title display differently from what it says.
func dropRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
		r == 0xFFFE || r == 0xFFFF
}

// singleLine replaces HTMLToText's paragraph breaks with spaces, for titles
// and categories.
func singleLine(s string) string {
	if strings.IndexByte(s, '\n') < 0 {
		return s
	}
	return strings.ReplaceAll(s, ParagraphBreak, " ")
}
