package story

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits FromItem applies to what a feed sends.
const (
	// MaxTitleRunes caps a title; longer ones are cut at a word and end in
	// Ellipsis.
	MaxTitleRunes = 512
	// MaxTextRunes caps Story.Text; longer text is cut at a word.
	MaxTextRunes = 64 << 10
	// MaxCategories caps Story.Categories; later ones are dropped.
	MaxCategories = 32
	// MaxCategoryRunes caps one category; longer ones are cut at a word.
	MaxCategoryRunes = 128
)

// FromItem normalises a feed item into a Story; it is the one place where
// raw feed text becomes the plain text every later step reads.
//
//   - Title is HTMLToText of the item's title on one line, capped at
//     MaxTitleRunes.
//   - Link is CanonicalLink of the item's link; when that gives nothing
//     (no link, or one that is not http/https) the GUID is used if it is
//     itself an http(s) link.
//   - Text is the longer of HTMLToText(Content) and HTMLToText(Description),
//     Content winning ties, capped at MaxTextRunes. Feeds send either an
//     excerpt and the full article (WordPress: the excerpt ends in "[…]"),
//     or the same text twice, or one of them only; joining both would repeat
//     the lead, and the summary, which reads the lead, would repeat too.
//   - Summary is Summarize(Text, Title, summaryMax).
//   - Categories are HTMLToText'd on one line, empty ones dropped, deduplicated
//     without regard to case (the first spelling wins), at most MaxCategories.
//   - Published is the item's published time, else its updated time, else
//     zero; FirstSeen is now.
//   - ID is Identity(GUID, Link, Title, Published); Source is source.
func FromItem(it Item, source string, summaryMax int, now time.Time) Story {
	st := Story{
		Source:    source,
		Title:     capRunes(singleLine(HTMLToText(it.Title)), MaxTitleRunes, true),
		Link:      CanonicalLink(it.Link),
		FirstSeen: now,
	}
	if st.Link == "" {
		st.Link = CanonicalLink(it.GUID)
	}

	content := HTMLToText(it.Content)
	desc := HTMLToText(it.Description)
	text := content
	if len(desc) > len(content) {
		text = desc
	}
	st.Text = capRunes(text, MaxTextRunes, false)
	st.Summary = Summarize(st.Text, st.Title, summaryMax)
	st.Categories = cleanCategories(it.Categories)

	switch {
	case !it.Published.IsZero():
		st.Published = it.Published
	case !it.Updated.IsZero():
		st.Published = it.Updated
	}
	st.ID = Identity(it.GUID, st.Link, st.Title, st.Published)
	return st
}

// cleanCategories turns feed categories into plain, distinct, non-empty
// labels.
func cleanCategories(raw []string) []string {
	if len(raw) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(raw), MaxCategories))
	seen := make(map[string]struct{}, len(out))
	for _, c := range raw {
		if len(out) == MaxCategories {
			break
		}
		c = capRunes(singleLine(HTMLToText(c)), MaxCategoryRunes, false)
		if c == "" {
			continue
		}
		// Upper then lower, so letters with more than one lowercase form
		// ("ς" and "σ") still meet.
		key := strings.ToLower(strings.ToUpper(c))
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = struct{}{}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// capRunes returns s if it has at most max runes; otherwise it cuts s at the
// last word boundary that fits (with Ellipsis counted in when ellipsis is
// set), or, for a single giant word, at a rune boundary, so that a cap never
// empties a field that had text.
func capRunes(s string, max int, ellipsis bool) string {
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	if ellipsis {
		if out := cutWords(s, max); out != "" {
			return out
		}
		return hardCut(s, max-1) + Ellipsis
	}
	// cutWords leaves room for an ellipsis; without one, cut at max+1 so the
	// result still has at most max runes once the ellipsis is taken off.
	if out := cutWords(s, max+1); out != "" {
		return strings.TrimSuffix(out, Ellipsis)
	}
	return hardCut(s, max)
}

// hardCut returns the first n runes of s.
func hardCut(s string, n int) string {
	i := 0
	for count := 0; i < len(s) && count < n; count++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}
