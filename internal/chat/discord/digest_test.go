package discord

import (
	"fmt"
	"strings"
	"testing"

	"frontwire/internal/chat"
	"frontwire/internal/digest"
)

func digestOf(n int, title, link string) chat.Digest {
	d := chat.Digest{Title: "Hourly digest: Witkoff"}
	for i := range n {
		d.Items = append(d.Items, chat.DigestItem{
			Title:   fmt.Sprintf("%s %d", title, i),
			Link:    link,
			Source:  "@everyone *AP*",
			Outlets: i%4 + 1,
		})
	}
	return d
}

func TestRenderDigestStaysWithinLimits(t *testing.T) {
	long := strings.Repeat("Witkoff [talks](x) @here ** ", 100)
	cases := []struct {
		name string
		d    chat.Digest
	}{
		{"one item", digestOf(1, "Witkoff meets Putin", "https://example.com/a")},
		{"200 items", digestOf(200, "Witkoff meets Putin in the Kremlin", "https://example.com/a_(b)")},
		{"200 huge titles and links", digestOf(200, long, "https://example.com/"+strings.Repeat("p", 2000))},
		{"hostile link", digestOf(3, "x", "javascript:alert(1)")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := RenderDigest(tc.d)
			if err := ValidateMessage(m); err != nil {
				t.Fatal(err)
			}
			desc := m.Embeds[0].Description
			if strings.Contains(desc, "@everyone") || strings.Contains(desc, "javascript:") {
				t.Errorf("description not inert:\n%s", desc)
			}
			if !strings.HasPrefix(desc, "1. ") {
				t.Errorf("first item missing:\n%.200s", desc)
			}
			fits := DigestFits(tc.d)
			if cut := strings.Contains(desc, "more"); fits == cut {
				t.Errorf("DigestFits = %v but the render cut items: %v", fits, cut)
			}
		})
	}
}

func TestRenderDigestLinksSurviveParentheses(t *testing.T) {
	m := RenderDigest(digestOf(1, "Talks", "https://en.wikipedia.org/wiki/Talks_(2025)"))
	want := "[Talks 0](https://en.wikipedia.org/wiki/Talks_%282025%29)"
	if d := m.Embeds[0].Description; !strings.Contains(d, want) {
		t.Errorf("description %q lacks %q", d, want)
	}
}

// TestDigestSplitsIntoFittingParts splits a 200-item digest with
// DigestFits, as the scheduler does: every part passes ValidateMessage
// whole, and together they list every item once.
func TestDigestSplitsIntoFittingParts(t *testing.T) {
	d := digestOf(200, "Witkoff meets Putin in the Kremlin for five hours of talks", "https://example.com/a")
	parts := digest.Split(d, DigestFits, 0)
	if len(parts) < 2 {
		t.Fatalf("200 items in %d part(s), want several", len(parts))
	}
	total := 0
	for i, p := range parts {
		m := RenderDigest(p)
		if err := ValidateMessage(m); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if strings.Contains(m.Embeds[0].Description, "more") {
			t.Errorf("part %d was cut", i)
		}
		total += len(p.Items)
	}
	if total != 200 {
		t.Errorf("parts hold %d items, want 200", total)
	}
}
