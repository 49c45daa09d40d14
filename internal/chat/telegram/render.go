package telegram

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"frontwire/internal/chat"
)

// MaxTextUnits is Telegram's limit on a message's text after entity
// parsing, counted in UTF-16 code units as Telegram counts it.
const MaxTextUnits = 4096

// Caps on the parts of an alert other than the summary, in UTF-16 units.
// They keep a hostile feed from crowding out the summary; the summary gets
// whatever room is left.
const (
	maxSourceUnits  = 128
	maxTitleUnits   = 512
	maxMatchedUnits = 512
	maxMetaUnits    = 512
)

// RenderAlert renders an alert as Telegram HTML: the title in bold, linked to
// the story when the link is http(s); the source, the link's host and the
// time; the summary; and the matched terms. Every string from the feed is
// escaped, and the visible text never exceeds MaxTextUnits: the summary is
// cut first, and the link is never cut.
//
// preview says whether Telegram will show a link preview under the message.
// Without one the reader cannot see where the title's link leads, so the
// link's host is shown next to the source; with one, the preview card shows
// it and the host is left out.
func RenderAlert(a chat.Alert, preview bool) string {
	title := truncUnits(oneLine(a.Title), maxTitleUnits)
	link, host := safeLink(a.Link)
	if title == "" {
		title = "Untitled story"
		if host != "" {
			title = "Story on " + host
		}
	}
	var meta []string
	if s := truncUnits(oneLine(a.Source), maxSourceUnits); s != "" {
		meta = append(meta, s)
	}
	if host != "" && !preview {
		meta = append(meta, host)
	}
	if !a.Published.IsZero() {
		meta = append(meta, a.Published.UTC().Format("2 Jan 2006 15:04 UTC"))
	}
	terms := make([]string, 0, len(a.Matched))
	for _, m := range a.Matched {
		if m = oneLine(m); m != "" {
			terms = append(terms, m)
		}
	}
	matched := strings.Join(terms, ", ")
	if matched == "" {
		matched = oneLine(a.Query)
	}
	if matched != "" {
		matched = truncUnits("Matched: "+matched, maxMatchedUnits)
	}
	metaLine := truncUnits(strings.Join(meta, " · "), maxMetaUnits)
	alsoHTML, alsoUnits := renderAlso(a.Also)
	footer := ""
	if a.Number != 0 {
		footer = fmt.Sprintf("/why %d · /mute %d", a.Number, a.Number)
	}

	// The visible text is the plain pieces joined by newlines; markup and
	// entities do not count towards the limit.
	fixed := units(title)
	var tail []string // pieces after the summary
	if metaLine != "" {
		fixed += 1 + units(metaLine)
	}
	if matched != "" {
		tail = append(tail, matched)
		fixed += 2 + units(matched)
	}
	if alsoHTML != "" {
		fixed += 2 + alsoUnits
	}
	if footer != "" {
		fixed += 2 + units(footer)
	}
	summary := cleanText(a.Summary)
	if summary != "" {
		summary = truncUnits(summary, MaxTextUnits-fixed-2)
	}

	var b strings.Builder
	b.WriteString("<b>")
	if link != "" {
		b.WriteString(`<a href="`)
		b.WriteString(escapeHTML(link))
		b.WriteString(`">`)
		b.WriteString(escapeHTML(title))
		b.WriteString("</a>")
	} else {
		b.WriteString(escapeHTML(title))
	}
	b.WriteString("</b>")
	if metaLine != "" {
		b.WriteString("\n")
		b.WriteString(escapeHTML(metaLine))
	}
	if summary != "" {
		b.WriteString("\n\n")
		b.WriteString(escapeHTML(summary))
	}
	for _, t := range tail {
		b.WriteString("\n\n")
		b.WriteString(escapeHTML(t))
	}
	if alsoHTML != "" {
		b.WriteString("\n\n")
		b.WriteString(alsoHTML)
	}
	if footer != "" {
		b.WriteString("\n\n")
		b.WriteString(escapeHTML(footer))
	}
	return b.String()
}

// Caps on the "Also reported by" line: outlets named, and units per name.
const (
	maxAlsoShown      = 5
	maxAlsoNameUnits  = 64
	alsoReportedLabel = "Also reported by: "
)

// renderAlso renders the other outlets of a story's cluster as one line,
// "Also reported by: AP, BBC (3 more)", each name linked to its story when
// the link is http(s). It returns the HTML and its visible length in
// UTF-16 units, which is at most about 400 whatever the feeds say.
func renderAlso(also []chat.Outlet) (html string, visible int) {
	var b strings.Builder
	shown, more := 0, 0
	for _, o := range also {
		name := truncUnits(oneLine(o.Source), maxAlsoNameUnits)
		if name == "" {
			name = truncUnits(oneLine(o.Title), maxAlsoNameUnits)
		}
		if name == "" {
			continue
		}
		if shown == maxAlsoShown {
			more++
			continue
		}
		if shown == 0 {
			b.WriteString(escapeHTML(alsoReportedLabel))
			visible += units(alsoReportedLabel)
		} else {
			b.WriteString(", ")
			visible += 2
		}
		if link, _ := safeLink(o.Link); link != "" {
			b.WriteString(`<a href="`)
			b.WriteString(escapeHTML(link))
			b.WriteString(`">`)
			b.WriteString(escapeHTML(name))
			b.WriteString("</a>")
		} else {
			b.WriteString(escapeHTML(name))
		}
		visible += units(name)
		shown++
	}
	if more > 0 {
		m := fmt.Sprintf(" (%d more)", more)
		b.WriteString(m)
		visible += units(m)
	}
	return b.String(), visible
}

// escapeHTML escapes text for Telegram's HTML parse mode: the three
// characters that start markup or entities, and the double quote so the
// result is also safe inside an attribute value.
func escapeHTML(s string) string {
	if !strings.ContainsAny(s, `&<>"`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safeLink returns the link and its host when it is an absolute http(s)
// URL, and empty strings otherwise, so no feed can plant a javascript: or
// tg:// link.
func safeLink(raw string) (link, host string) {
	raw = strings.TrimSpace(raw)
	if raw == "" || !utf8.ValidString(raw) || strings.ContainsFunc(raw, unicode.IsControl) {
		return "", ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", ""
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return "", ""
	}
	return raw, u.Hostname()
}

// cleanText makes feed text safe to count and send: valid UTF-8, no control
// characters except newlines, no leading or trailing space.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// oneLine is cleanText with every run of whitespace made one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(cleanText(s)), " ")
}

// units counts s in UTF-16 code units, as Telegram does.
func units(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncUnits cuts s to at most max UTF-16 units, on a rune boundary, ending
// with "…" when anything was cut.
func truncUnits(s string, max int) string {
	if units(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	n := 0
	for i, r := range s {
		if n+utf16.RuneLen(r) > max-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + "…"
		}
		n += utf16.RuneLen(r)
	}
	return s
}

// ErrBadHTML is wrapped by ValidateHTML's errors.
var ErrBadHTML = errors.New("not valid Telegram HTML")

// ValidateHTML checks that s is well-formed Telegram HTML of the subset
// Frontwire produces: only <b> and <a href="http(s)://…"> tags, balanced and
// not nested in themselves; only the &lt; &gt; &amp; &quot; entities; no raw
// '<', '>' or '&' in text; valid UTF-8. It returns the visible text, as
// Telegram shows it after entity parsing, and the links.
func ValidateHTML(s string) (visible string, links []string, err error) {
	if !utf8.ValidString(s) {
		return "", nil, fmt.Errorf("%w: invalid UTF-8", ErrBadHTML)
	}
	var text strings.Builder
	var stack []string
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return "", nil, fmt.Errorf("%w: unterminated tag at byte %d", ErrBadHTML, i)
			}
			tag := s[i+1 : i+end]
			i += end + 1
			switch {
			case tag == "b" || tag == "a" || strings.HasPrefix(tag, "a "):
				name := tag[:1]
				if name == "a" {
					href, ok := strings.CutPrefix(tag, `a href="`)
					if !ok || !strings.HasSuffix(href, `"`) {
						return "", nil, fmt.Errorf("%w: tag <%s> is not <a href=\"…\">", ErrBadHTML, tag)
					}
					href = href[:len(href)-1]
					if strings.ContainsAny(href, `"<>`) {
						return "", nil, fmt.Errorf("%w: unescaped character in href", ErrBadHTML)
					}
					dec, err := decodeEntities(href)
					if err != nil {
						return "", nil, err
					}
					if l, _ := safeLink(dec); l == "" {
						return "", nil, fmt.Errorf("%w: href %q is not an http(s) URL", ErrBadHTML, dec)
					}
					links = append(links, dec)
				}
				for _, open := range stack {
					if open == name {
						return "", nil, fmt.Errorf("%w: <%s> nested in itself", ErrBadHTML, name)
					}
				}
				stack = append(stack, name)
			case tag == "/b" || tag == "/a":
				if len(stack) == 0 || stack[len(stack)-1] != tag[1:] {
					return "", nil, fmt.Errorf("%w: unbalanced <%s>", ErrBadHTML, tag)
				}
				stack = stack[:len(stack)-1]
			default:
				return "", nil, fmt.Errorf("%w: tag <%s> not allowed", ErrBadHTML, tag)
			}
		case '>':
			return "", nil, fmt.Errorf("%w: raw '>' at byte %d", ErrBadHTML, i)
		case '&':
			end := strings.IndexByte(s[i:], ';')
			if end < 0 {
				return "", nil, fmt.Errorf("%w: raw '&' at byte %d", ErrBadHTML, i)
			}
			dec, err := decodeEntities(s[i : i+end+1])
			if err != nil {
				return "", nil, err
			}
			text.WriteString(dec)
			i += end + 1
		default:
			text.WriteByte(c)
			i++
		}
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("%w: <%s> not closed", ErrBadHTML, stack[len(stack)-1])
	}
	return text.String(), links, nil
}

// decodeEntities decodes the four entities Frontwire writes and rejects any
// other use of '&'.
func decodeEntities(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		var dec string
		switch {
		case strings.HasPrefix(s, "&lt;"):
			dec = "<"
		case strings.HasPrefix(s, "&gt;"):
			dec = ">"
		case strings.HasPrefix(s, "&amp;"):
			dec = "&"
		case strings.HasPrefix(s, "&quot;"):
			dec = `"`
		default:
			return "", fmt.Errorf("%w: unknown entity or raw '&' in %.12q", ErrBadHTML, s)
		}
		b.WriteString(dec)
		s = s[strings.IndexByte(s, ';')+1:]
	}
}
