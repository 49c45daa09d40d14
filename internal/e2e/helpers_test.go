package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// feedSite serves one RSS feed whose items the test sets, and counts the
// requests so a test can wait for the bot's next poll.
type feedSite struct {
	mu       sync.Mutex
	items    []string
	requests int
	changed  chan struct{} // closed and replaced on every request
}

func newFeedSite() *feedSite { return &feedSite{changed: make(chan struct{})} }

func (f *feedSite) set(items ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = items
}

func (f *feedSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	body := fmt.Sprintf(`<?xml version="1.0"?><rss version="2.0"><channel><title>Test Wire</title><link>https://news.example/</link>%s</channel></rss>`, strings.Join(f.items, ""))
	f.requests++
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	_, _ = w.Write([]byte(body))
}

// waitRequests waits until the feed has been fetched at least n times.
func (f *feedSite) waitRequests(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		f.mu.Lock()
		got, ch := f.requests, f.changed
		f.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("feed fetched %d times, want %d", got, n)
		}
	}
}

// rssItem is one <item> with a unique guid and link.
func rssItem(guid, title, desc string, published time.Time) string {
	return fmt.Sprintf(`<item><guid>%s</guid><title>%s</title><link>https://news.example/%s</link><description>%s</description><pubDate>%s</pubDate></item>`,
		guid, title, guid, desc, published.UTC().Format(time.RFC1123Z))
}

// source is one [[sources]] table.
type source struct {
	Name, URL, Schedule string
}

// botConfig is what the tests vary in the bot's TOML configuration.
type botConfig struct {
	DataDir      string
	PollSchedule string
	Telegram     bool
	TelegramURL  string
	Token        string
	// MessagesPerSecond paces the whole Telegram output; per-chat limits
	// are raised out of the way.
	MessagesPerSecond float64
	AllowPrivate      bool
	Sources           []source
}

// write writes the configuration as TOML into dir and returns its path.
func (c botConfig) write(t *testing.T, dir string) string {
	t.Helper()
	if c.PollSchedule == "" {
		c.PollSchedule = "@every 1s"
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = 30
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[bot]\ndata_dir = %q\npoll_schedule = %q\nallow_private_sources = %t\nlog_format = \"text\"\n", c.DataDir, c.PollSchedule, c.AllowPrivate)
	fmt.Fprintf(&b, "\n[telegram]\nenabled = %t\ntoken = %q\napi_url = %q\nmessages_per_second = %g\nchat_messages_per_second = 100\ngroup_messages_per_minute = 6000\n",
		c.Telegram, c.Token, c.TelegramURL, c.MessagesPerSecond)
	for _, s := range c.Sources {
		fmt.Fprintf(&b, "\n[[sources]]\nname = %q\nurl = %q\n", s.Name, s.URL)
		if s.Schedule != "" {
			fmt.Fprintf(&b, "schedule = %q\n", s.Schedule)
		}
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// command is a Telegram update carrying text typed by user in chatID.
func command(chatID, userID int64, chatType, text string) tgbotapi.Update {
	return tgbotapi.Update{Message: &tgbotapi.Message{
		MessageID: int(userID),
		From:      &tgbotapi.User{ID: userID, FirstName: fmt.Sprintf("user%d", userID)},
		Chat:      &tgbotapi.Chat{ID: chatID, Type: chatType},
		Date:      int(time.Now().Unix()),
		Text:      text,
	}}
}
