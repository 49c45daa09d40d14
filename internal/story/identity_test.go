package story

import (
	"strings"
	"testing"
	"time"
)

func TestIdentity(t *testing.T) {
	date := time.Date(2025, 11, 23, 18, 30, 0, 0, time.UTC)
	titleDateHash := Identity("", "", "Ukraine peace talks", date)
	tests := []struct {
		name                string
		guid, link, title   string
		published           time.Time
		want                string
		wantPrefix, notWant string
	}{
		{name: "guid first", guid: "tag:example.com,2025:123", link: "https://example.com/a", title: "t", want: "guid:tag:example.com,2025:123"},
		{name: "guid trimmed", guid: "  abc-123\n", link: "https://example.com/a", want: "guid:abc-123"},
		{name: "guid that is a url stays a guid", guid: "https://example.com/?p=123", link: "https://example.com/a", want: "guid:https://example.com/?p=123"},
		{name: "blank guid falls back to link", guid: " \t", link: "https://example.com/a", want: "link:https://example.com/a"},
		{name: "link when no guid", link: "https://example.com/a", title: "t", want: "link:https://example.com/a"},
		{name: "hash of title and date", title: "Ukraine peace talks", published: date, wantPrefix: "hash:"},
		{name: "title case and spacing do not matter", title: "  UKRAINE   peace\ttalks ", published: date, want: titleDateHash},
		{name: "same instant in another zone", title: "Ukraine peace talks", published: date.In(time.FixedZone("EET", 2*3600)), want: titleDateHash},
		{name: "other date differs", title: "Ukraine peace talks", published: date.Add(time.Hour), notWant: titleDateHash},
		{name: "other title differs", title: "Ukraine war talks", published: date, notWant: titleDateHash},
		{name: "long guid hashed", guid: strings.Repeat("g", maxGUIDLength+1), wantPrefix: "guid:sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Identity(tt.guid, tt.link, tt.title, tt.published)
			if tt.want != "" && got != tt.want {
				t.Errorf("Identity = %q, want %q", got, tt.want)
			}
			if tt.wantPrefix != "" && !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("Identity = %q, want prefix %q", got, tt.wantPrefix)
			}
			if tt.notWant != "" && got == tt.notWant {
				t.Errorf("Identity = %q, want anything else", got)
			}
		})
	}
}

func TestIdentityHashShape(t *testing.T) {
	id := Identity("", "", "Witkoff meets Umerov", time.Time{})
	hexPart := strings.TrimPrefix(id, IDPrefixHash)
	if len(hexPart) != 32 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		t.Errorf("hash identity %q: want %q and 32 lowercase hex digits", id, IDPrefixHash)
	}
	if again := Identity("", "", "Witkoff meets Umerov", time.Time{}); again != id {
		t.Errorf("hash identity not stable: %q then %q", id, again)
	}
	long := Identity(strings.Repeat("x", 1000), "", "", time.Time{})
	if len(long) != len("guid:sha256:")+32 {
		t.Errorf("long GUID identity %q has length %d", long, len(long))
	}
}
