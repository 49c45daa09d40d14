package discord

import (
	"strings"
	"testing"

	"frontwire/internal/chat"
)

func TestRenderAlertAlsoReportedBy(t *testing.T) {
	mk := func(names ...string) []chat.Outlet {
		out := make([]chat.Outlet, len(names))
		for i, n := range names {
			out[i] = chat.Outlet{Source: n, Link: "https://" + strings.ToLower(n) + ".example/s"}
		}
		return out
	}
	tests := []struct {
		name string
		also []chat.Outlet
		want string // the field's value; "" for no field
	}{
		{"none", nil, ""},
		{"two", mk("AP", "BBC"), "[AP](https://ap.example/s), [BBC](https://bbc.example/s)"},
		{"seven", mk("AP", "BBC", "DW", "NPR", "CNN", "RFE", "Meduza"),
			"[AP](https://ap.example/s), [BBC](https://bbc.example/s), [DW](https://dw.example/s), [NPR](https://npr.example/s), [CNN](https://cnn.example/s) (2 more)"},
		{"hostile", []chat.Outlet{{Source: "@everyone [x](y)", Link: "https://e.example/a)b"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := RenderAlert(chat.Alert{Title: "Talks end", Source: "Reuters", Link: "https://r.example/", Also: tc.also, Number: 12})
			if err := ValidateMessage(m); err != nil {
				t.Fatal(err)
			}
			e := m.Embeds[0]
			var got string
			for _, f := range e.Fields {
				if f.Name == "Also reported by" {
					got = f.Value
				}
			}
			switch {
			case tc.name == "hostile":
				if mention.MatchString(got) || strings.Contains(got, "(y)") && !strings.Contains(got, `\[x\]`) || strings.Contains(got, "a)b") {
					t.Errorf("hostile outlet rendered live: %q", got)
				}
			case got != tc.want:
				t.Errorf("Also field = %q, want %q", got, tc.want)
			}
			if e.Footer == nil || !strings.HasSuffix(e.Footer.Text, "/why 12 · /mute 12") {
				t.Errorf("footer %+v lacks the alert's commands", e.Footer)
			}
		})
	}
}

// FuzzRenderAlertAlso: whatever the outlets are, the message is valid and
// carries no live mention.
func FuzzRenderAlertAlso(f *testing.F) {
	f.Add("@everyone", "https://x.example/(a)", 7, strings.Repeat("s", 3000))
	f.Add(strings.Repeat("*_[", 200), "javascript:alert(1)", 300, "")
	f.Add("\xff\xfe😀", "https://[::1]:80/", 1, "<@123>")
	f.Fuzz(func(t *testing.T, outlet, link string, n int, summary string) {
		n = max(0, min(n, 300))
		also := make([]chat.Outlet, n)
		for i := range also {
			also[i] = chat.Outlet{Source: outlet, Link: link}
		}
		m := RenderAlert(chat.Alert{Title: outlet, Source: outlet, Summary: summary, Link: link, Also: also, Number: uint64(n)})
		if err := ValidateMessage(m); err != nil {
			t.Fatalf("invalid message: %v", err)
		}
		for _, f := range m.Embeds[0].Fields {
			if mention.MatchString(f.Value) {
				t.Fatalf("mention survived: %q", f.Value)
			}
		}
	})
}
