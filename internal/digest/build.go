package digest

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"frontwire/internal/chat"
)

// Build lists held alerts as one digest: alerts reporting the same event
// (the same Alert.ClusterID, else the same story) become one item, titled
// and linked after the first report held; items are ordered most-reported
// first, then by when they were first held.
func Build(title string, held []chat.Message) chat.Digest {
	type event struct {
		item    chat.DigestItem
		first   time.Time
		outlets map[string]bool
	}
	var order []*event
	byKey := map[string]*event{}
	for _, m := range held {
		a := m.Alert
		if a == nil {
			continue
		}
		key := "s:" + a.StoryID
		if a.ClusterID != "" {
			key = "c:" + a.ClusterID
		}
		ev := byKey[key]
		if ev == nil {
			ev = &event{item: chat.DigestItem{Title: a.Title, Link: a.Link, Source: a.Source}, first: m.Created, outlets: map[string]bool{}}
			byKey[key] = ev
			order = append(order, ev)
		} else if m.Created.Before(ev.first) {
			ev.item = chat.DigestItem{Title: a.Title, Link: a.Link, Source: a.Source}
			ev.first = m.Created
		}
		addOutlet(ev.outlets, a.Source)
		for _, o := range a.Also {
			addOutlet(ev.outlets, o.Source)
		}
	}
	// Stable, so that equal events keep the order they were held in.
	slices.SortStableFunc(order, func(x, y *event) int {
		if c := cmp.Compare(len(y.outlets), len(x.outlets)); c != 0 {
			return c
		}
		return x.first.Compare(y.first)
	})
	d := chat.Digest{Title: title, Items: make([]chat.DigestItem, 0, len(order))}
	for _, ev := range order {
		ev.item.Outlets = max(1, len(ev.outlets))
		d.Items = append(d.Items, ev.item)
	}
	return d
}

func addOutlet(set map[string]bool, source string) {
	if s := strings.ToLower(strings.TrimSpace(source)); s != "" {
		set[s] = true
	}
}

// partMark is the longest part suffix Split adds to titles ("(12/12)" and
// shorter), used when checking whether a part fits.
const partMark = " (999/999)"

// Split cuts d into parts that each fit (fits reports whether a digest
// renders within a platform's limits) and hold at most maxItems items
// (no item cap when maxItems <= 0), keeping the order. An item too big to
// fit even alone gets a part of its own; the renderer shortens it. With
// several parts, each title gains " (i/n)".
func Split(d chat.Digest, fits func(chat.Digest) bool, maxItems int) []chat.Digest {
	var parts []chat.Digest
	cur := chat.Digest{Title: d.Title}
	for _, it := range d.Items {
		try := chat.Digest{Title: d.Title + partMark, Items: append(slices.Clip(cur.Items), it)}
		tooMany := maxItems > 0 && len(try.Items) > maxItems
		if len(cur.Items) > 0 && (tooMany || (fits != nil && !fits(try))) {
			parts = append(parts, cur)
			cur = chat.Digest{Title: d.Title, Items: []chat.DigestItem{it}}
			continue
		}
		cur.Items = try.Items
	}
	if len(cur.Items) > 0 || len(parts) == 0 {
		parts = append(parts, cur)
	}
	if len(parts) > 1 {
		for i := range parts {
			parts[i].Title = d.Title + " (" + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(parts)) + ")"
		}
	}
	return parts
}
