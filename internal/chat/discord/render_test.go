package discord

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"frontwire/internal/chat"
)

// mention matches what Discord would turn into a mention or a ping.
var mention = regexp.MustCompile(`@(everyone|here)|<(@[!&]?|#)\d+>`)

// hostile is feed text that tries every trick at once.
const hostile = "@everyone <@&123> **bold** [x](http://evil)"

func TestEscapeNeutralisesMarkdownAndMentions(t *testing.T) {
	tests := []struct {
		name, in string
		absent   []string // substrings that must not survive
		want     string   // exact result, when given
	}{
		{name: "everyone", in: "@everyone and @here", absent: []string{"@everyone", "@here"}},
		{name: "role mention", in: "<@&123>", want: "\\<@\u200b&123\\>"},
		{name: "user mention", in: "<@!42> hi", want: "\\<@\u200b!42\\> hi"},
		{name: "channel mention", in: "<#99>", want: "\\<#99\\>"},
		{name: "bold", in: "**bold**", want: "\\*\\*bold\\*\\*"},
		{name: "masked link", in: "[x](http://evil)", want: "\\[x\\]\\(http://evil\\)"},
		{name: "code and spoiler", in: "`x` ||y||", want: "\\`x\\` \\|\\|y\\|\\|"},
		{name: "quote", in: "> quoted", want: "\\> quoted"},
		{name: "heading at line start", in: "# Big\n  - item\nnot # heading", want: "\\# Big\n  \\- item\nnot # heading"},
		{name: "backslash", in: `a\*b`, want: `a\\\*b`},
		{name: "plain words untouched", in: "Ukraine peace talks", want: "Ukraine peace talks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := escape(tc.in, 1000)
			if tc.want != "" && got != tc.want {
				t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("escape(%q) = %q still contains %q", tc.in, got, a)
				}
			}
			if mention.MatchString(got) {
				t.Errorf("escape(%q) = %q still holds a mention", tc.in, got)
			}
		})
	}
}

func TestEscapeCutNeverSplitsAnEscape(t *testing.T) {
	in := strings.Repeat("*", 100)
	for max := 2; max < 40; max++ {
		got := escape(in, max)
		if n := length(got); n > max {
			t.Fatalf("max %d: length %d", max, n)
		}
		body := strings.TrimSuffix(got, ellipsis)
		if strings.Count(body, "\\")*2 != len(body) || strings.HasSuffix(body, "\\") && !strings.HasSuffix(body, "\\*") {
			t.Fatalf("max %d: cut inside an escape: %q", max, got)
		}
	}
}

func TestRenderAlert(t *testing.T) {
	published := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	base := chat.Alert{
		StoryID: "s1", Source: "Example News", Title: "Talks resume", Link: "https://example.com/a?b=1",
		Published: published, Summary: "Negotiators met again.", SubscriptionID: 7,
		Query: "Ukraine peace", Matched: []string{"ukraine", "peace"},
	}
	t.Run("fields", func(t *testing.T) {
		m := RenderAlert(base)
		if err := ValidateMessage(m); err != nil {
			t.Fatal(err)
		}
		if len(m.Embeds) != 1 {
			t.Fatalf("got %d embeds, want 1", len(m.Embeds))
		}
		e := m.Embeds[0]
		if e.Title != "Talks resume" || e.URL != base.Link || e.Description != base.Summary {
			t.Errorf("title/url/description = %q %q %q", e.Title, e.URL, e.Description)
		}
		if e.Footer == nil || e.Footer.Text != "Example News" {
			t.Errorf("footer = %+v", e.Footer)
		}
		if e.Timestamp != "2025-03-01T12:30:00Z" {
			t.Errorf("timestamp = %q", e.Timestamp)
		}
		if len(e.Fields) != 1 || e.Fields[0].Name != "Matched" || e.Fields[0].Value != "ukraine, peace" {
			t.Errorf("fields = %+v", e.Fields)
		}
		if e.Color != Colour(7) || e.Color == Colour(8) {
			t.Errorf("colour %x not derived from the subscription (8 gives %x)", e.Color, Colour(8))
		}
	})
	t.Run("allowed mentions serialise as an empty list", func(t *testing.T) {
		raw, err := json.Marshal(RenderAlert(base))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"allowed_mentions":{"parse":[]`) {
			t.Errorf("JSON lacks an empty parse list: %s", raw)
		}
	})
	t.Run("non-http link is dropped", func(t *testing.T) {
		a := base
		a.Link = "javascript:alert(1)"
		if u := RenderAlert(a).Embeds[0].URL; u != "" {
			t.Errorf("url = %q, want none", u)
		}
	})
	t.Run("huge summary is cut, link kept", func(t *testing.T) {
		a := base
		a.Summary = strings.Repeat("word* ", 1500) // 9000 characters, all needing escapes
		a.Title = strings.Repeat("T", 400)
		m := RenderAlert(a)
		if err := ValidateMessage(m); err != nil {
			t.Fatal(err)
		}
		e := m.Embeds[0]
		if e.URL != base.Link {
			t.Errorf("link lost: %q", e.URL)
		}
		if !strings.HasSuffix(e.Description, ellipsis) || length(e.Description) < 4000 {
			t.Errorf("description not cut to the limit: %d characters", length(e.Description))
		}
		if !strings.HasSuffix(e.Title, ellipsis) || length(e.Title) > maxTitle {
			t.Errorf("title %d characters", length(e.Title))
		}
	})
	t.Run("total limit shared with long fields", func(t *testing.T) {
		a := base
		a.Source = strings.Repeat("S", 3000)
		a.Matched = []string{strings.Repeat("m", 2000)}
		a.Summary = strings.Repeat("x", 9000)
		m := RenderAlert(a)
		if err := ValidateMessage(m); err != nil {
			t.Fatal(err)
		}
		if n := embedLength(m.Embeds[0]); n > maxEmbedTotal {
			t.Errorf("total %d", n)
		}
	})
	t.Run("empty title gets a placeholder", func(t *testing.T) {
		a := base
		a.Title = "  "
		if got := RenderAlert(a).Embeds[0].Title; got == "" {
			t.Error("empty title")
		}
	})
}

func TestValidateMessageRejects(t *testing.T) {
	good := func() *discordgo.MessageSend { return RenderAlert(chat.Alert{Title: "t", Summary: "s", Source: "x"}) }
	tests := []struct {
		name string
		mod  func(m *discordgo.MessageSend)
	}{
		{"nil parse", func(m *discordgo.MessageSend) { m.AllowedMentions = &discordgo.MessageAllowedMentions{} }},
		{"no allowed mentions", func(m *discordgo.MessageSend) { m.AllowedMentions = nil }},
		{"everyone allowed", func(m *discordgo.MessageSend) {
			m.AllowedMentions.Parse = []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeEveryone}
		}},
		{"long content", func(m *discordgo.MessageSend) { m.Content = strings.Repeat("a", 2001) }},
		{"long title", func(m *discordgo.MessageSend) { m.Embeds[0].Title = strings.Repeat("a", 257) }},
		{"long description", func(m *discordgo.MessageSend) { m.Embeds[0].Description = strings.Repeat("a", 4097) }},
		{"total", func(m *discordgo.MessageSend) {
			m.Embeds[0].Description = strings.Repeat("a", 4000)
			m.Embeds[0].Footer.Text = strings.Repeat("a", 2001)
		}},
		{"bad url", func(m *discordgo.MessageSend) { m.Embeds[0].URL = "ftp://x" }},
		{"empty", func(m *discordgo.MessageSend) { m.Embeds = nil }},
		{"astral characters count double", func(m *discordgo.MessageSend) { m.Embeds[0].Title = strings.Repeat("😀", 129) }},
	}
	if err := ValidateMessage(good()); err != nil {
		t.Fatalf("good message rejected: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.mod(m)
			if err := ValidateMessage(m); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("ValidateMessage = %v, want ErrInvalidMessage", err)
			}
		})
	}
}

func TestCustomIDRoundTrip(t *testing.T) {
	id, ok := encodeCustomID(chat.Action{Label: "Stop", Command: "unsubscribe", Args: "42"})
	if !ok {
		t.Fatal("not encoded")
	}
	cmd, args, ok := decodeCustomID(id)
	if !ok || cmd != "unsubscribe" || args != "42" {
		t.Errorf("decode(%q) = %q %q %v", id, cmd, args, ok)
	}
	if _, ok := encodeCustomID(chat.Action{Command: "x", Args: strings.Repeat("a", 200)}); ok {
		t.Error("over-long custom_id accepted")
	}
	for _, bad := range []string{"", "other", "fw|", "fw||x"} {
		if _, _, ok := decodeCustomID(bad); ok {
			t.Errorf("decode(%q) accepted", bad)
		}
	}
}

func FuzzRenderAlert(f *testing.F) {
	f.Add(hostile, "summary", "https://example.com/x", "Source", "term", uint64(1))
	f.Add(strings.Repeat("*_", 300), strings.Repeat("[a](b) ", 2000), "http://x", strings.Repeat("s", 3000), strings.Repeat("m", 2000), uint64(0))
	f.Add("", "", "javascript:alert(1)", "", "", uint64(1<<63))
	f.Add("\xff\xfe bad utf8 😀", "\u200b@here", "https://[::1]:80/", "\n", "# x", uint64(99))
	f.Fuzz(func(t *testing.T, title, summary, link, source, matched string, sub uint64) {
		m := RenderAlert(chat.Alert{Title: title, Summary: summary, Link: link, Source: source,
			Matched: []string{matched}, SubscriptionID: sub, Published: time.Unix(1700000000, 0)})
		if err := ValidateMessage(m); err != nil {
			t.Fatalf("invalid message: %v", err)
		}
		e := m.Embeds[0]
		for _, s := range []string{e.Title, e.Description} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q", s)
			}
			if mention.MatchString(s) {
				t.Fatalf("mention survived: %q", s)
			}
		}
	})
}
