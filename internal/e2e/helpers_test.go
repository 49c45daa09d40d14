package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

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
