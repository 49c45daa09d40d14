package feedtest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

var pub = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func TestSiteServesTheItemsSet(t *testing.T) {
	tests := []struct {
		name      string
		items     []string
		wantTitle []string
		wantDesc  []string
	}{
		{name: "empty", items: nil},
		{
			name:      "plain and HTML descriptions",
			items:     []string{Item("a1", "Talks &amp; truce", "plain text", pub), HTMLItem("a2", "Second", "<p>an <b>HTML</b> body</p>", pub.Add(time.Minute))},
			wantTitle: []string{"Talks & truce", "Second"},
			wantDesc:  []string{"plain text", "<p>an <b>HTML</b> body</p>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site, srv := NewServer(t)
			site.Set(tt.items...)
			feed, err := gofeed.NewParser().ParseURL(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if feed.FeedType != "rss" || feed.Title != "Test Wire" {
				t.Errorf("feed type %q title %q, want rss, Test Wire", feed.FeedType, feed.Title)
			}
			if len(feed.Items) != len(tt.wantTitle) {
				t.Fatalf("got %d items, want %d", len(feed.Items), len(tt.wantTitle))
			}
			for i, it := range feed.Items {
				if it.Title != tt.wantTitle[i] || it.Description != tt.wantDesc[i] {
					t.Errorf("item %d: %q / %q, want %q / %q", i, it.Title, it.Description, tt.wantTitle[i], tt.wantDesc[i])
				}
				if !strings.HasSuffix(it.Link, "/"+it.GUID) {
					t.Errorf("item %d link %q does not end in its guid %q", i, it.Link, it.GUID)
				}
				if it.PublishedParsed == nil || !it.PublishedParsed.Equal(pub.Add(time.Duration(i)*time.Minute)) {
					t.Errorf("item %d published %v, want %v", i, it.PublishedParsed, pub.Add(time.Duration(i)*time.Minute))
				}
			}
		})
	}
}

func TestItemWritesPublishedInUTC(t *testing.T) {
	local := time.Date(2026, 11, 26, 11, 0, 0, 0, time.FixedZone("EET", 2*3600))
	got := Item("g", "t", "d", local)
	if !strings.Contains(got, "<pubDate>Thu, 26 Nov 2026 09:00:00 +0000</pubDate>") {
		t.Errorf("Item = %s, want pubDate Thu, 26 Nov 2026 09:00:00 +0000", got)
	}
}

func TestSetCopiesItems(t *testing.T) {
	var s Site
	items := []string{Item("a", "A", "", pub)}
	s.Set(items...)
	items[0] = Item("b", "B", "", pub)
	if !strings.Contains(s.Feed(), "<guid>a</guid>") {
		t.Errorf("feed changed with the caller's slice: %s", s.Feed())
	}
}

func TestWaitRequests(t *testing.T) {
	site, srv := NewServer(t)
	if n := site.Requests(); n != 0 {
		t.Fatalf("Requests before any fetch = %d", n)
	}
	waited := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		waited <- site.AwaitRequests(ctx, 2)
	}()
	for range 2 {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	site.WaitRequests(t, 2, time.Second)
	if n := site.Requests(); n != 2 {
		t.Errorf("Requests = %d, want 2", n)
	}

	// A wait for a request that never comes ends with the context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := site.AwaitRequests(ctx, 3)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("AwaitRequests after cancel = %v, want context.Canceled", err)
	}
	if err := site.AwaitRequests(ctx, 2); err != nil {
		t.Errorf("AwaitRequests for a count already reached = %v, want nil", err)
	}
}
