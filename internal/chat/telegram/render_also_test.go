package telegram

import (
	"strings"
	"testing"

	"frontwire/internal/chat"
)

func outlets(names ...string) []chat.Outlet {
	out := make([]chat.Outlet, len(names))
	for i, n := range names {
		out[i] = chat.Outlet{Source: n, Title: "t " + n, Link: "https://" + strings.ToLower(n) + ".example/s"}
	}
	return out
}

func TestRenderAlertAlsoReportedBy(t *testing.T) {
	tests := []struct {
		name      string
		also      []chat.Outlet
		wantLine  string
		wantLinks int // links besides the title's
	}{
		{"none", nil, "", 0},
		{"two", outlets("AP", "BBC"), "Also reported by: AP, BBC", 2},
		{"eight", outlets("AP", "BBC", "DW", "NPR", "CNN", "Kyiv Independent", "Meduza", "RFE"), "Also reported by: AP, BBC, DW, NPR, CNN (3 more)", 5},
		{"hostile", []chat.Outlet{{Source: `<b>Evil</b> & "co"`, Link: "javascript:alert(1)"}}, `Also reported by: <b>Evil</b> & "co"`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := chat.Alert{Title: "Talks end", Link: "https://reuters.example/a", Source: "Reuters", Also: tc.also, Number: 42}
			out := RenderAlert(a, false)
			visible, links, err := ValidateHTML(out)
			if err != nil {
				t.Fatalf("invalid HTML %q: %v", out, err)
			}
			if tc.wantLine != "" && !strings.Contains(visible, tc.wantLine) {
				t.Errorf("visible text %q lacks %q", visible, tc.wantLine)
			}
			if tc.wantLine == "" && strings.Contains(visible, "Also reported") {
				t.Errorf("visible text %q names other outlets", visible)
			}
			if len(links) != 1+tc.wantLinks {
				t.Errorf("links %q, want %d", links, 1+tc.wantLinks)
			}
			if !strings.HasSuffix(visible, "/why 42 · /mute 42") {
				t.Errorf("visible text %q does not end with the alert's commands", visible)
			}
		})
	}
}

// FuzzRenderAlertAlso: whatever the outlets say, the HTML is valid, within
// the limit, and every link in it is one of the safe links given.
func FuzzRenderAlertAlso(f *testing.F) {
	f.Add("Reuters", "https://reuters.example/a", strings.Repeat("x", 5000), "AP", "https://ap.example/b", 9)
	f.Add("<a href=\"x\">", "javascript:alert(1)", "&amp;", "</a><b>", "tg://resolve", 200)
	f.Add(strings.Repeat("😀", 300), "https://[::1]/", strings.Repeat("😀", 3000), strings.Repeat("&", 500), "http://e.example/?a=\"b\"", 1)
	f.Fuzz(func(t *testing.T, source, link, summary, outlet, outletLink string, n int) {
		n = max(0, min(n, 300))
		also := make([]chat.Outlet, n)
		for i := range also {
			also[i] = chat.Outlet{Source: outlet + strings.Repeat("!", i%3), Link: outletLink, Title: outlet}
		}
		a := chat.Alert{Title: source, Source: source, Link: link, Summary: summary, Also: also, Number: uint64(n)}
		out := RenderAlert(a, false)
		visible, links, err := ValidateHTML(out)
		if err != nil {
			t.Fatalf("invalid HTML %q: %v", out, err)
		}
		if u := units(visible); u > MaxTextUnits {
			t.Fatalf("visible text %d UTF-16 units", u)
		}
		safeTitle, _ := safeLink(link)
		safeOutlet, _ := safeLink(outletLink)
		for _, l := range links {
			if l != safeTitle && l != safeOutlet {
				t.Fatalf("link %q is neither %q nor %q", l, safeTitle, safeOutlet)
			}
		}
		if len(links) > 1+maxAlsoShown {
			t.Fatalf("%d links", len(links))
		}
	})
}
