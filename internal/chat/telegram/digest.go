package telegram

import (
	"fmt"
	"strconv"
	"strings"

	"frontwire/internal/chat"
)

// Caps on one digest item's parts, in UTF-16 units, so that one hostile
// title cannot crowd out the rest of a digest.
const (
	maxDigestTitleUnits  = 256
	maxDigestItemUnits   = 300
	maxDigestSourceUnits = 100
)

// digestPieces renders a digest's header and items as Telegram HTML, each
// with its visible length.
func digestPieces(d chat.Digest) (head string, headUnits int, items []string, itemUnits []int) {
	title := truncUnits(oneLine(d.Title), maxDigestTitleUnits)
	if title == "" {
		title = "Digest"
	}
	head = "<b>" + escapeHTML(title) + "</b>"
	headUnits = units(title)
	for i, it := range d.Items {
		t := truncUnits(oneLine(it.Title), maxDigestItemUnits)
		link, host := safeLink(it.Link)
		if t == "" {
			t = "Untitled story"
			if host != "" {
				t = "Story on " + host
			}
		}
		num := strconv.Itoa(i+1) + ". "
		meta := truncUnits(oneLine(it.Source), maxDigestSourceUnits)
		if it.Outlets > 1 {
			if meta != "" {
				meta += " · "
			}
			meta += fmt.Sprintf("%d outlets", it.Outlets)
		}
		var b strings.Builder
		b.WriteString(num)
		if link != "" {
			b.WriteString(`<a href="` + escapeHTML(link) + `">` + escapeHTML(t) + "</a>")
		} else {
			b.WriteString(escapeHTML(t))
		}
		n := units(num) + units(t)
		if meta != "" {
			b.WriteString("\n" + escapeHTML(meta))
			n += 1 + units(meta)
		}
		items = append(items, b.String())
		itemUnits = append(itemUnits, n)
	}
	return head, headUnits, items, itemUnits
}

// DigestFits reports whether the whole digest renders within
// MaxTextUnits, so that the digest scheduler can split it before it is
// queued rather than have RenderDigest leave items out.
func DigestFits(d chat.Digest) bool {
	_, n, _, item := digestPieces(d)
	for _, u := range item {
		n += 2 + u
	}
	return n <= MaxTextUnits
}

// RenderDigest renders a digest as Telegram HTML: the title in bold, then
// one numbered entry per event, its title linked to the story, with its
// source and the number of outlets that reported it. Every string from a
// feed is escaped, and the visible text never exceeds MaxTextUnits: items
// that would not fit are left out and counted in a last line (the
// scheduler splits digests with DigestFits so that this does not happen).
func RenderDigest(d chat.Digest) string {
	head, n, items, itemUnits := digestPieces(d)
	var b strings.Builder
	b.WriteString(head)
	for i, it := range items {
		rest := len(items) - i - 1
		// Room for this item, and for the "more" line if any follow.
		need := 2 + itemUnits[i]
		if rest > 0 {
			need += 2 + units(moreLine(rest))
		}
		if n+need > MaxTextUnits {
			more := moreLine(len(items) - i)
			b.WriteString("\n\n" + escapeHTML(more))
			return b.String()
		}
		b.WriteString("\n\n" + it)
		n += 2 + itemUnits[i]
	}
	return b.String()
}

func moreLine(n int) string { return fmt.Sprintf("… and %d more", n) }
