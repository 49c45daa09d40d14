package storage

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"frontwire/internal/story"
)

// TestRecentRecord: a recent story comes back as it went in, except for a
// text past the cap, which is cut on a rune boundary; a summary that is
// the text's prefix is not stored twice; records written before the
// compact form still decode.
func TestRecentRecord(t *testing.T) {
	at := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	lead := "Witkoff met Putin in Moscow. Talks lasted five hours."
	// 2-byte runes after one ASCII byte: the cap falls inside a rune.
	long := "x" + strings.Repeat("Віткофф ", 400)
	cases := []struct {
		name        string
		in          story.Story
		wantText    string
		wantSummary string
	}{
		{"summary is the text's prefix",
			story.Story{ID: "a", Title: "T", Text: lead + " More follows.", Summary: lead, Published: at, FirstSeen: at, Categories: []string{"world"}},
			lead + " More follows.", lead},
		{"summary differs from the text",
			story.Story{ID: "b", Title: "T", Text: "Body text.", Summary: "Another summary…", FirstSeen: at},
			"Body text.", "Another summary…"},
		{"no summary",
			story.Story{ID: "c", Title: "T", Text: "Body text.", FirstSeen: at},
			"Body text.", ""},
		{"long text capped on a rune boundary, summary kept",
			story.Story{ID: "d", Title: "T", Text: long, Summary: long[:100], FirstSeen: at},
			long[:maxRecentText-1], long[:100]},
	}
	var z deflater
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := encodeRecent(&z, &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) == 0 || v[0] != markDeflated {
				t.Fatalf("record not deflated: %q", v)
			}
			got, err := decodeRecent(&z, v)
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tc.wantText || got.Summary != tc.wantSummary {
				t.Errorf("text %q…, summary %q; want %q…, %q", trim(got.Text), got.Summary, trim(tc.wantText), tc.wantSummary)
			}
			if !utf8.ValidString(got.Text) {
				t.Error("text cut inside a rune")
			}
			if got.ID != tc.in.ID || got.Title != tc.in.Title || !got.FirstSeen.Equal(tc.in.FirstSeen) || !got.Published.Equal(tc.in.Published) || len(got.Categories) != len(tc.in.Categories) {
				t.Errorf("fields lost: %+v", got)
			}
			js, err := z.inflate(v)
			if err != nil {
				t.Fatal(err)
			}
			if tc.in.Summary != "" && strings.HasPrefix(tc.in.Text, tc.in.Summary) && strings.Contains(string(js), `"summary":`) {
				t.Errorf("summary stored twice: %s", js)
			}
		})
	}
	t.Run("record of the earlier form", func(t *testing.T) {
		in := story.Story{ID: "e", Title: "T", Text: lead, Summary: lead, FirstSeen: at}
		v, err := json.Marshal(&in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecent(&z, v)
		if err != nil || got.Summary != lead || got.Text != lead {
			t.Errorf("decode = %+v, %v", got, err)
		}
	})
	t.Run("hostile prefix length", func(t *testing.T) {
		got, err := decodeRecent(&z, []byte(`{"id":"f","text":"short","summary_prefix":99}`))
		if err != nil || got.Summary != "" || got.Text != "short" {
			t.Errorf("decode = %+v, %v", got, err)
		}
	})
}

func trim(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// TestDeflater: records come back byte for byte through reused writers
// and readers, a long repetitive record shrinks, plain JSON passes
// through, and a record that would inflate past the bound or is not
// DEFLATE is an error, not a panic or a huge allocation.
func TestDeflater(t *testing.T) {
	var z deflater
	inputs := [][]byte{
		[]byte(`{"id":"a"}`),
		[]byte(strings.Repeat(`{"text":"Witkoff met Putin in Moscow."}`, 50)),
		{},
	}
	for round := range 3 {
		for i, in := range inputs {
			v, err := z.deflate(in)
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 && len(v) > len(in)/4 {
				t.Errorf("repetitive %d bytes deflated to %d", len(in), len(v))
			}
			out, err := z.inflate(v)
			if err != nil || string(out) != string(in) {
				t.Fatalf("round %d, input %d: %q, %v", round, i, out, err)
			}
		}
	}
	plain := []byte(`{"id":"plain"}`)
	if out, err := z.inflate(plain); err != nil || string(out) != string(plain) {
		t.Errorf("plain record: %q, %v", out, err)
	}
	bomb, err := z.deflate(make([]byte, maxInflated+1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.inflate(bomb); !errors.Is(err, errInflatedTooLarge) {
		t.Errorf("inflating past the bound: %v", err)
	}
	if _, err := z.inflate([]byte{markDeflated, 0xff, 0xff, 0xff}); err == nil {
		t.Error("garbage after the marker inflated without error")
	}
	if _, err := decodeRecent(&z, []byte{markDeflated, 0xff}); err == nil {
		t.Error("a damaged recent record decoded without error")
	}
}
