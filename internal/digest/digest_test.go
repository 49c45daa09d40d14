package digest

import (
	"errors"
	"testing"
	"time"

	"frontwire/internal/chat"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseCadence(t *testing.T) {
	cases := []struct {
		in   string
		want Cadence
		err  error
	}{
		{"instant", Cadence{Mode: Instant}, nil},
		{"HOURLY", Cadence{Mode: Hourly}, nil},
		{"daily 08:00", Cadence{Mode: Daily, At: 480}, nil},
		{"daily 7:05", Cadence{Mode: Daily, At: 425}, nil},
		{"daily", Cadence{Mode: Daily, At: 480}, nil},
		{"daily 25:00", Cadence{}, ErrBadClock},
		{"daily 08:60", Cadence{}, ErrBadClock},
		{"daily 8", Cadence{}, ErrBadClock},
		{"daily -1:00", Cadence{}, ErrBadClock},
		{"daily +8:00", Cadence{}, ErrBadClock},
		{"weekly", Cadence{}, ErrBadCadence},
		{"hourly 08:00", Cadence{}, ErrBadCadence},
		{"", Cadence{}, ErrBadCadence},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCadence(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("ParseCadence(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
			}
			if err == nil {
				if again, _ := ParseCadence(got.String()); again != got {
					t.Errorf("String %q does not parse back to %+v", got.String(), got)
				}
			}
		})
	}
}

func TestParseQuiet(t *testing.T) {
	cases := []struct {
		in   string
		want Quiet
		err  error
	}{
		{"23:00-07:00", Quiet{Start: 1380, End: 420}, nil},
		{"13:30 - 14:00", Quiet{Start: 810, End: 840}, nil},
		{"23:00-23:00", Quiet{}, ErrBadQuiet},
		{"25:00-07:00", Quiet{}, ErrBadClock},
		{"23:00", Quiet{}, ErrBadQuiet},
		{"night", Quiet{}, ErrBadQuiet},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseQuiet(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("ParseQuiet(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestLoadZone(t *testing.T) {
	for _, bad := range []string{"", "Local", "Mars/Olympus", "../../etc/passwd"} {
		if _, err := LoadZone(bad); !errors.Is(err, ErrBadZone) {
			t.Errorf("LoadZone(%q) = %v, want ErrBadZone", bad, err)
		}
	}
	if loc := mustZone(t, "Europe/Kyiv"); loc.String() != "Europe/Kyiv" {
		t.Errorf("zone %s", loc)
	}
}

func TestQuietContains(t *testing.T) {
	q := Quiet{Start: 23 * 60, End: 7 * 60}
	day := Quiet{Start: 13 * 60, End: 14 * 60}
	at := func(h, m int) time.Time { return time.Date(2026, 1, 15, h, m, 0, 0, time.UTC) }
	cases := []struct {
		q    Quiet
		t    time.Time
		want bool
	}{
		{q, at(22, 59), false},
		{q, at(23, 0), true},
		{q, at(3, 0), true},
		{q, at(6, 59), true},
		{q, at(7, 0), false},
		{day, at(13, 0), true},
		{day, at(14, 0), false},
		{day, at(12, 59), false},
	}
	for _, tc := range cases {
		t.Run(tc.q.String()+"@"+tc.t.Format("15:04"), func(t *testing.T) {
			if got := tc.q.Contains(tc.t, time.UTC); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDueAt(t *testing.T) {
	kyiv := mustZone(t, "Europe/Kyiv")
	utc := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	quiet := &Quiet{Start: 23 * 60, End: 7 * 60}
	cases := []struct {
		name   string
		c      Cadence
		cs     ChatSettings
		oldest time.Time
		want   time.Time
		def    *time.Location // the bot's zone; nil is UTC
	}{
		{"hourly: next hour", Cadence{Mode: Hourly}, ChatSettings{}, utc(1, 15, 10, 20), utc(1, 15, 11, 0), nil},
		{"hourly: on the hour waits a whole hour", Cadence{Mode: Hourly}, ChatSettings{}, utc(1, 15, 10, 0), utc(1, 15, 11, 0), nil},
		{"daily 08:00 Kyiv in winter is 06:00 UTC", Cadence{Mode: Daily, At: 480}, ChatSettings{Timezone: "Europe/Kyiv"}, utc(1, 15, 20, 0), utc(1, 16, 6, 0), nil},
		{"daily 08:00 Kyiv in summer is 05:00 UTC", Cadence{Mode: Daily, At: 480}, ChatSettings{Timezone: "Europe/Kyiv"}, utc(7, 15, 20, 0), utc(7, 16, 5, 0), nil},
		{"daily in the bot's zone", Cadence{Mode: Daily, At: 480}, ChatSettings{}, utc(1, 15, 9, 0), utc(1, 16, 6, 0), kyiv},
		{"instant without quiet hours: at once", Cadence{}, ChatSettings{}, utc(1, 15, 9, 0), utc(1, 15, 9, 0), nil},
		{"instant held by quiet hours: their end", Cadence{}, ChatSettings{Quiet: quiet}, utc(1, 15, 23, 30), utc(1, 16, 7, 0), nil},
		{"hourly inside quiet hours: their end", Cadence{Mode: Hourly}, ChatSettings{Quiet: quiet}, utc(1, 16, 1, 10), utc(1, 16, 7, 0), nil},
		{"daily after quiet hours keeps its time", Cadence{Mode: Daily, At: 480}, ChatSettings{Quiet: quiet}, utc(1, 15, 23, 30), utc(1, 16, 8, 0), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := tc.def
			if def == nil {
				def = time.UTC
			}
			got := DueAt(tc.c, tc.cs, tc.oldest, def)
			if !got.Equal(tc.want) {
				t.Errorf("DueAt = %s, want %s", got.UTC(), tc.want)
			}
		})
	}
}

func held(story, cluster, source string, at time.Time, also ...string) chat.Message {
	a := &chat.Alert{StoryID: story, ClusterID: cluster, Source: source, Title: "title of " + story, Link: "https://example.com/" + story, SubscriptionID: 1, Query: "Witkoff"}
	for _, s := range also {
		a.Also = append(a.Also, chat.Outlet{Source: s})
	}
	return chat.Message{To: chat.Address{Platform: "telegram", Chat: "1"}, Kind: chat.KindAlert, Alert: a, Created: at}
}

func TestBuildGroupsByClusterMostReportedFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	msgs := []chat.Message{
		held("a", "", "Reuters", t0),
		held("b1", "kremlin", "AP", t0.Add(time.Minute)),
		held("b2", "kremlin", "BBC", t0.Add(2*time.Minute), "Kyiv Independent"),
		held("b3", "kremlin", "bbc", t0.Add(3*time.Minute)), // same outlet, other case
		held("c", "", "Meduza", t0.Add(4*time.Minute), "Reuters"),
	}
	d := Build("Hourly digest: Witkoff", msgs)
	if len(d.Items) != 3 {
		t.Fatalf("%d items, want 3: %+v", len(d.Items), d.Items)
	}
	want := []struct {
		title   string
		outlets int
	}{{"title of b1", 3}, {"title of c", 2}, {"title of a", 1}}
	for i, w := range want {
		if d.Items[i].Title != w.title || d.Items[i].Outlets != w.outlets {
			t.Errorf("item %d = %+v, want %s with %d outlets", i, d.Items[i], w.title, w.outlets)
		}
	}
	if d.Items[0].Link != "https://example.com/b1" || d.Items[0].Source != "AP" {
		t.Errorf("cluster item not from its first report: %+v", d.Items[0])
	}
}

func TestSplit(t *testing.T) {
	d := chat.Digest{Title: "T"}
	for range 45 {
		d.Items = append(d.Items, chat.DigestItem{Title: "x"})
	}
	parts := Split(d, nil, 20)
	if len(parts) != 3 || len(parts[0].Items) != 20 || len(parts[2].Items) != 5 {
		t.Fatalf("parts %d: %d..%d items", len(parts), len(parts[0].Items), len(parts[len(parts)-1].Items))
	}
	if parts[1].Title != "T (2/3)" {
		t.Errorf("title %q", parts[1].Title)
	}
	// A platform where nothing fits still gets every item, one a part.
	parts = Split(chat.Digest{Title: "T", Items: d.Items[:3]}, func(chat.Digest) bool { return false }, 0)
	if len(parts) != 3 {
		t.Errorf("%d parts, want 3", len(parts))
	}
	if one := Split(chat.Digest{Title: "T", Items: d.Items[:2]}, nil, 20); len(one) != 1 || one[0].Title != "T" {
		t.Errorf("a small digest was split or renamed: %+v", one)
	}
}
