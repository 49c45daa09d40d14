package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, noEnv, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestPreviewJSON(t *testing.T) {
	out, _, err := runCmd(t, "preview", "--feed", "testdata/preview.xml", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got []previewLine
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var p previewLine
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, p)
	}
	if len(got) != 6 {
		t.Fatalf("got %d stories, want 6", len(got))
	}
	want := []previewLine{
		{ID: "guid:pw-2001", Source: "Preview Wire", Title: "Witkoff’s talks in Moscow end without a breakthrough",
			Link: "https://preview-wire.example/news/witkoff-talks", Published: "2026-11-26T06:05:00Z",
			// Attribution boilerplate, the photo credit and "Read more" are dropped.
			Summary: "U.S. envoy Steve Witkoff left the Kremlin after five hours of talks on a peace plan for Ukraine. No date was set for the next round, and Kyiv said it had not seen the latest draft."},
		// Two copies of one link under different tracking parameters share
		// one identity, so only the first would ever alert.
		{ID: "link:https://preview-wire.example/news/exchange", Link: "https://preview-wire.example/news/exchange",
			Summary: "One hundred and fifty Ukrainian soldiers came home in an exchange mediated by the UAE."},
		{ID: "link:https://preview-wire.example/news/exchange", Link: "https://preview-wire.example/news/exchange"},
		// A title-only item gets no invented summary.
		{ID: "guid:pw-2003", Summary: ""},
		{ID: "guid:pw-2004", Summary: "Делегации договорились продолжить переговоры о мирном плане."},
		{Title: "peace-plan draft leaked"},
	}
	for i, w := range want {
		g := got[i]
		check := func(field, got, want string) {
			if want != "" && got != want {
				t.Errorf("story %d %s = %q, want %q", i, field, got, want)
			}
		}
		check("id", g.ID, w.ID)
		check("source", g.Source, w.Source)
		check("title", g.Title, w.Title)
		check("link", g.Link, w.Link)
		check("published", g.Published, w.Published)
		check("summary", g.Summary, w.Summary)
	}
	if got[3].Summary != "" {
		t.Errorf("title-only story has summary %q", got[3].Summary)
	}
	if !strings.HasPrefix(got[5].ID, "hash:") {
		t.Errorf("story without guid or link has id %q, want a hash identity", got[5].ID)
	}
}

func TestPreviewQueryMatches(t *testing.T) {
	cases := []struct {
		query string
		want  []string // ids, in feed order
	}{
		{`"peace plan"`, []string{"guid:pw-2001", "hash:"}}, // the hyphenated peace-plan counts
		{`Witkoff`, []string{"guid:pw-2001"}},               // Witkoff’s matches
		{`war`, nil},                                        // not Warning, Stewart or warplanes
		{`"prisoner exchange" -gclid`, []string{"link:https://preview-wire.example/news/exchange", "link:https://preview-wire.example/news/exchange"}},
		{`мирном плане`, []string{"guid:pw-2004"}},
		{`title:Witkoff OR title:stewart`, []string{"guid:pw-2001", "guid:pw-2003"}},
		{`source:wire peace -Moscow`, []string{"hash:"}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			out, _, err := runCmd(t, "preview", "--feed", "testdata/preview.xml", "--json", "--query", c.query)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue
				}
				var p previewLine
				if err := json.Unmarshal([]byte(line), &p); err != nil {
					t.Fatal(err)
				}
				if len(p.Matched) == 0 {
					t.Errorf("story %s printed with no matched terms", p.ID)
				}
				ids = append(ids, p.ID)
			}
			if len(ids) != len(c.want) {
				t.Fatalf("matched %v, want %v", ids, c.want)
			}
			for i := range ids {
				if !strings.HasPrefix(ids[i], c.want[i]) {
					t.Errorf("match %d = %s, want %s", i, ids[i], c.want[i])
				}
			}
		})
	}
}

func TestPreviewQueryErrorExits2(t *testing.T) {
	_, _, err := runCmd(t, "preview", "--feed", "testdata/preview.xml", "--query", "(Witkoff")
	if exitCode(err) != 2 {
		t.Fatalf("exit code %d (%v), want 2", exitCode(err), err)
	}
	if !strings.Contains(err.Error(), ")") {
		t.Errorf("error %q does not say what to fix", err)
	}
}

func TestCheckConfig(t *testing.T) {
	out, _, err := runCmd(t, "check-config", "-config", "../../config.example.toml")
	if err != nil {
		t.Fatalf("config.example.toml: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[bot]\npol_schedule = \"@every 5m\"\npoll_schedule = \"every five\"\n[telegram]\nenabled = true\n[[sources]]\nname = \"x\"\nurl = \"ftp://x\"\n"), 0o600)
	out, _, err = runCmd(t, "check-config", "-config", bad)
	if exitCode(err) != 1 {
		t.Fatalf("bad config: exit %d, want 1", exitCode(err))
	}
	for _, key := range []string{"bot.pol_schedule"} {
		if !strings.Contains(out, key) {
			t.Errorf("output does not name %s:\n%s", key, out)
		}
	}
}

func TestDemoShowsAlertsSafely(t *testing.T) {
	out, _, err := runCmd(t, "demo", "-step", "1ms")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"subscription #2: Witkoff",
		"UPDATED ALERT", // another outlet's report edits the first alert
		"Also reported by: Balkan Observer",
		"Witkoff’s Gaza ceasefire mission resumes in Cairo",
		"Обмен пленными состоялся",                         // windows-1251 feed decoded
		"Breaking & @everyone: Ukraine peace talks resume", // HTML in a title arrives as text
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The edited headline and the re-published link do not alert again.
	for _, never := range []string{"five-hour Kremlin talks", "UAE mediates another"} {
		if strings.Contains(out, "│ "+never) {
			t.Errorf("demo alerted a known story again: %q", never)
		}
	}
	if strings.Contains(out, "<a href") || strings.Contains(out, "<b>") {
		t.Error("demo output contains HTML from a feed")
	}
}

func TestUnknownCommandAndVersion(t *testing.T) {
	if _, _, err := runCmd(t, "frobnicate"); exitCode(err) != 2 {
		t.Errorf("unknown command: exit %d, want 2", exitCode(err))
	}
	out, _, err := runCmd(t, "version")
	if err != nil || !strings.HasPrefix(out, "frontwire ") {
		t.Errorf("version printed %q, %v", out, err)
	}
}

func TestBenchMatchSmall(t *testing.T) {
	out, _, err := runCmd(t, "bench", "match", "-subs", "300", "-stories", "40", "-seed", "7", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Subs       int     `json:"subs"`
		Stories    int     `json:"stories"`
		Indexed    float64 `json:"indexed_stories_per_sec"`
		Mismatches int     `json:"mismatches"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if res.Subs != 300 || res.Stories != 40 || res.Indexed <= 0 || res.Mismatches != 0 {
		t.Errorf("result = %+v", res)
	}
}
