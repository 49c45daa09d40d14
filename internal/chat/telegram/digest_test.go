package telegram

import (
	"fmt"
	"strings"
	"testing"

	"frontwire/internal/chat"
	"frontwire/internal/digest"
)

func digestOf(n int, title, link string) chat.Digest {
	d := chat.Digest{Title: "Daily digest: Witkoff"}
	for i := range n {
		d.Items = append(d.Items, chat.DigestItem{
			Title:   fmt.Sprintf("%s %d", title, i),
			Link:    link,
			Source:  "Reuters <wire> & co",
			Outlets: i%5 + 1,
		})
	}
	return d
}

func TestRenderDigestStaysWithinLimits(t *testing.T) {
	long := strings.Repeat("Кремль <b>talks</b> & 🇺🇦 ", 200)
	cases := []struct {
		name string
		d    chat.Digest
	}{
		{"one item", digestOf(1, "Witkoff meets Putin", "https://example.com/a")},
		{"200 items", digestOf(200, "Witkoff meets Putin in the Kremlin for five hours", "https://example.com/a?x=1&y=2")},
		{"200 huge titles", digestOf(200, long, "https://example.com/"+strings.Repeat("p", 1500))},
		{"hostile link", digestOf(3, "x", "javascript:alert(1)")},
		{"empty titles", digestOf(3, "", "")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			html := RenderDigest(tc.d)
			visible, links, err := ValidateHTML(html)
			if err != nil {
				t.Fatalf("invalid HTML: %v\n%s", err, html)
			}
			if n := units(visible); n > MaxTextUnits {
				t.Fatalf("visible text is %d units, limit %d", n, MaxTextUnits)
			}
			for _, l := range links {
				if !strings.HasPrefix(l, "https://") {
					t.Errorf("unsafe link %q", l)
				}
			}
			if !strings.Contains(visible, "1. ") {
				t.Errorf("first item missing:\n%s", visible)
			}
			fits := DigestFits(tc.d)
			hasMore := strings.Contains(visible, "more")
			if fits == hasMore {
				t.Errorf("DigestFits = %v but the render cut items: %v", fits, hasMore)
			}
		})
	}
}

// TestDigestSplitsIntoFittingParts splits a 200-item digest with DigestFits
// the way the scheduler does: every part renders whole, within the limit,
// and together they list every item once.
func TestDigestSplitsIntoFittingParts(t *testing.T) {
	d := digestOf(200, "Witkoff meets Putin in the Kremlin for five hours of talks", "https://example.com/a")
	parts := digest.Split(d, DigestFits, 0)
	if len(parts) < 2 {
		t.Fatalf("200 items in %d part(s), want several", len(parts))
	}
	total := 0
	for i, p := range parts {
		visible, _, err := ValidateHTML(RenderDigest(p))
		if err != nil {
			t.Fatal(err)
		}
		if units(visible) > MaxTextUnits || strings.Contains(visible, "more") {
			t.Errorf("part %d does not fit whole (%d units)", i, units(visible))
		}
		if !strings.Contains(visible, fmt.Sprintf("(%d/%d)", i+1, len(parts))) {
			t.Errorf("part %d title lacks its number: %q", i, p.Title)
		}
		total += len(p.Items)
	}
	if total != 200 {
		t.Errorf("parts hold %d items, want 200", total)
	}
}

func FuzzRenderDigest(f *testing.F) {
	f.Add("Witkoff & Putin <talks>", "https://example.com/x", "Reuters", 3, 200)
	f.Add("", "", "", 0, 1)
	f.Fuzz(func(t *testing.T, title, link, source string, outlets, n int) {
		n = min(max(n, 0), 300)
		d := chat.Digest{Title: title}
		for range n {
			d.Items = append(d.Items, chat.DigestItem{Title: title, Link: link, Source: source, Outlets: outlets})
		}
		visible, _, err := ValidateHTML(RenderDigest(d))
		if err != nil {
			t.Fatal(err)
		}
		if units(visible) > MaxTextUnits {
			t.Fatalf("%d units", units(visible))
		}
	})
}
