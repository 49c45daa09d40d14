package opml

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseNestedOutlines(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Kyiv Independent" type="rss" xmlUrl="https://kyivindependent.com/feed/"/>
    <outline text="Wires">
      <outline title="Reuters World" text="ignored when title is set" xmlUrl=" https://example.org/reuters.xml "/>
      <outline text="Deeper">
        <outline text="  Meduza
          English " xmlUrl="https://meduza.io/rss/en"/>
      </outline>
    </outline>
    <outline text="A link, not a feed" htmlUrl="https://example.org/"/>
    <outline xmlUrl="https://untitled.example/feed"/>
  </body>
</opml>`
	got, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Feed{
		{Title: "Kyiv Independent", URL: "https://kyivindependent.com/feed/"},
		{Title: "Reuters World", URL: "https://example.org/reuters.xml", Category: "Wires"},
		{Title: "Meduza English", URL: "https://meduza.io/rss/en", Category: "Wires/Deeper"},
		{Title: "", URL: "https://untitled.example/feed"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d feeds %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("feed %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	deep := "<opml><body>" + strings.Repeat("<outline>", maxDepth+5) + strings.Repeat("</outline>", maxDepth+5) + "</body></opml>"
	cases := []struct {
		name, doc string
		want      error
		text      string
	}{
		{"empty", "", ErrNotOPML, ""},
		{"html page", "<!DOCTYPE html><html><body>hi</body></html>", ErrNotOPML, ""},
		{"unclosed", `<opml version="2.0"><body><outline text="a" xmlUrl="x">`, ErrNotOPML, "line 1"},
		{"an RSS feed", `<rss version="2.0"><channel></channel></rss>`, ErrNotOPML, ""},
		{"no body", `<opml version="2.0"><head/></opml>`, ErrNotOPML, "no <body>"},
		{"billion laughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><opml><body><outline text="&lol2;" xmlUrl="https://a.example/"/></body></opml>`, ErrNotOPML, "entity"},
		{"too deep", deep, ErrNotOPML, "nested"},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><opml><body/></opml>`, ErrNotOPML, "UTF-8"},
		{"too large", "<opml><body>" + strings.Repeat(" ", MaxBytes) + "</body></opml>", ErrTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			feeds, err := Parse(strings.NewReader(tc.doc))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want %v", feeds, err, tc.want)
			}
			if tc.text != "" && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
		})
	}
}

func TestWriteParseRoundTrip(t *testing.T) {
	feeds := []Feed{
		{Title: "Kyiv Independent", URL: "https://kyivindependent.com/feed/"},
		{Title: `Quotes "&" <angles>`, URL: "https://example.org/feed?a=1&b=2", Category: "Wires"},
		{Title: "Новая газета", URL: "https://example.org/ru.xml", Category: "Русский"},
		{Title: "Second wire", URL: "https://example.org/w2.xml", Category: "Wires"},
		{Title: "", URL: "https://untitled.example/feed"},
	}
	var buf bytes.Buffer
	if err := Write(&buf, "Frontwire sources", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), feeds); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<opml version="2.0">`) || !strings.Contains(buf.String(), "<title>Frontwire sources</title>") {
		t.Errorf("missing version or title:\n%s", buf.String())
	}
	got, err := Parse(&buf)
	if err != nil {
		t.Fatalf("parse what Write wrote: %v", err)
	}
	// Write groups by category in first-appearance order.
	want := []Feed{feeds[0], feeds[1], feeds[3], feeds[2], feeds[4]}
	if len(got) != len(want) {
		t.Fatalf("got %d feeds %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("feed %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`<opml version="2.0"><body><outline text="a" xmlUrl="https://a.example/"><outline text="b"/></outline></body></opml>`)
	f.Add(`<opml><body><outline text="&amp;&lt;" xmlUrl=""/></body></opml>`)
	f.Add(`<?xml version="1.0" encoding="koi8-r"?><opml/>`)
	f.Fuzz(func(t *testing.T, doc string) {
		feeds, err := Parse(strings.NewReader(doc))
		if err != nil {
			return
		}
		// Whatever parsed must survive a round trip unchanged.
		var buf bytes.Buffer
		if err := Write(&buf, "t", time.Time{}, feeds); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(&buf)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if len(again) != len(feeds) {
			t.Fatalf("round trip kept %d of %d feeds", len(again), len(feeds))
		}
	})
}
