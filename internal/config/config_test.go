package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "time/tzdata" // so timezone checks do not depend on the host's zoneinfo
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func problemKeys(err error) []string {
	var ce *Error
	if !errors.As(err, &ce) {
		return nil
	}
	var keys []string
	for _, p := range ce.Problems {
		keys = append(keys, p.Key)
	}
	return keys
}

func TestDefault(t *testing.T) {
	d := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"data_dir", d.Bot.DataDir, "./data"},
		{"poll_schedule", d.Bot.PollSchedule, "@every 5m"},
		{"summary_max_chars", d.Bot.SummaryMaxChars, 280},
		{"retention", d.Bot.Retention.Duration, 720 * time.Hour},
		{"max_subscriptions_per_chat", d.Bot.MaxSubscriptionsPerChat, 50},
		{"log_format", d.Bot.LogFormat, "text"},
		{"commands_per_minute", d.Bot.CommandsPerMinute, 20},
		{"timezone", d.Bot.Timezone, "UTC"},
		{"telegram.messages_per_second", d.Telegram.MessagesPerSecond, 30.0},
		{"telegram.chat_messages_per_second", d.Telegram.ChatMessagesPerSecond, 1.0},
		{"telegram.group_messages_per_minute", d.Telegram.GroupMessagesPerMinute, 20.0},
		{"discord.requests_per_second", d.Discord.RequestsPerSecond, 50.0},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	if ps := d.Validate(); len(ps) != 0 {
		t.Errorf("defaults do not validate: %v", ps)
	}
}

func TestLoadFileOverDefaults(t *testing.T) {
	p := writeFile(t, `
[bot]
poll_schedule = "*/10 * * * *"
retention = "48h"
admins = ["telegram:42", "discord:123456789012345678"]
admin_chat = "telegram:-1001234567890"
timezone = "Europe/Kyiv"
[telegram]
enabled = true
token = "123:abc"
[[sources]]
name = "Kyiv Independent"
url = "https://kyivindependent.com/feed/"
backfill = 3
[[sources]]
name = "Local"
url = "testdata/feed.xml"
schedule = "@hourly"
`)
	cfg, err := Load(p, env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.Bot.PollSchedule != "*/10 * * * *" || cfg.Bot.Retention.Duration != 48*time.Hour {
		t.Errorf("bot = %+v", cfg.Bot)
	}
	if cfg.Bot.SummaryMaxChars != 280 || cfg.Bot.DataDir != "./data" {
		t.Errorf("defaults lost: %+v", cfg.Bot)
	}
	if len(cfg.Bot.Admins) != 2 || cfg.Bot.AdminChat != "telegram:-1001234567890" {
		t.Errorf("admins = %v, admin_chat = %q", cfg.Bot.Admins, cfg.Bot.AdminChat)
	}
	want := []Source{
		{Name: "Kyiv Independent", URL: "https://kyivindependent.com/feed/", Backfill: 3},
		{Name: "Local", URL: "testdata/feed.xml", Schedule: "@hourly"},
	}
	if !reflect.DeepEqual(cfg.Sources, want) {
		t.Errorf("sources = %+v", cfg.Sources)
	}
	if !cfg.Telegram.Enabled || cfg.Telegram.Token != "123:abc" || cfg.Telegram.MessagesPerSecond != 30 {
		t.Errorf("telegram = %+v", cfg.Telegram)
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	p := writeFile(t, `
[bot]
pol_schedule = "@every 1m"
[telegram]
tokn = "x"
[[sources]]
name = "A"
url = "https://example.org/feed"
nmae = "oops"
[extra]
x = 1
`)
	_, err := Load(p, env(nil))
	if err == nil {
		t.Fatal("Load accepted unknown keys")
	}
	keys := strings.Join(problemKeys(err), ",")
	for _, want := range []string{"bot.pol_schedule", "telegram.tokn", "sources.nmae", "extra"} {
		if !strings.Contains(keys, want) {
			t.Errorf("problem keys %q lack %q", keys, want)
		}
	}
	if !strings.Contains(err.Error(), "bot.pol_schedule: unknown key") {
		t.Errorf("error %q does not name the key", err)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	p := writeFile(t, `
[bot]
poll_schedule = "every five minutes"
summary_max_chars = 0
log_format = "xml"
typo = 1
[telegram]
enabled = true
[[sources]]
name = "A"
url = "ftp://example.org/feed"
[[sources]]
name = "a"
url = "https://example.org/feed"
schedule = "61 * * * *"
`)
	_, err := Load(p, env(nil))
	got := problemKeys(err)
	want := []string{"bot.typo", "bot.poll_schedule", "bot.summary_max_chars", "bot.log_format",
		"telegram.token", "sources[0].url", "sources[1].name", "sources[1].schedule"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problem keys\n got %q\nwant %q", got, want)
	}
}

func TestLoadSyntaxAndTypeErrors(t *testing.T) {
	tests := []struct {
		name, body, key, msg string
	}{
		{"syntax", "[bot]\ndata_dir = \n", "", "line 2"},
		{"type", "[bot]\nsummary_max_chars = \"many\"\n", "", "summary_max_chars"},
		{"duration", "[bot]\nretention = \"30 days\"\n", "bot.retention", "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.body), env(nil))
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("err = %v, want *Error", err)
			}
			p := ce.Problems[0]
			if tt.key != "" && p.Key != tt.key {
				t.Errorf("key = %q, want %q", p.Key, tt.key)
			}
			if !strings.Contains(p.String(), tt.msg) {
				t.Errorf("problem %q lacks %q", p, tt.msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), env(nil))
	if !errors.Is(err, ErrNoFile) {
		t.Errorf("err = %v, want ErrNoFile", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	p := writeFile(t, "[telegram]\ntoken = \"file-token\"\n[http]\nlisten = \":1\"\n")
	cfg, err := Load(p, env(map[string]string{
		"FRONTWIRE_TELEGRAM_TOKEN":   "env-tg",
		"FRONTWIRE_DISCORD_TOKEN":    "env-dc",
		"FRONTWIRE_DATA_DIR":         "/var/lib/frontwire",
		"FRONTWIRE_HTTP_LISTEN":      ":8080",
		"FRONTWIRE_TELEGRAM_ENABLED": "true",
		"FRONTWIRE_DISCORD_ENABLED":  "1",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.Telegram.Token != "env-tg" || cfg.Discord.Token != "env-dc" || cfg.Bot.DataDir != "/var/lib/frontwire" ||
		cfg.HTTP.Listen != ":8080" || !cfg.Telegram.Enabled || !cfg.Discord.Enabled {
		t.Errorf("overrides not applied: %+v", cfg)
	}

	_, err = Load(p, env(map[string]string{"FRONTWIRE_DISCORD_ENABLED": "yes please"}))
	if keys := problemKeys(err); !reflect.DeepEqual(keys, []string{"env FRONTWIRE_DISCORD_ENABLED"}) {
		t.Errorf("bad bool: keys = %q", keys)
	}
}

func TestFromEnv(t *testing.T) {
	cfg, err := FromEnv(env(map[string]string{
		"FRONTWIRE_DISCORD_ENABLED": "true",
		"FRONTWIRE_DISCORD_TOKEN":   "secret-dc",
		"FRONTWIRE_SOURCES":         "Kyiv Independent=https://kyivindependent.com/feed/; BBC World=http://feeds.bbci.co.uk/news/world/rss.xml\n",
	}))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	if !cfg.Discord.Enabled || cfg.Discord.Token != "secret-dc" || cfg.Bot.SummaryMaxChars != 280 {
		t.Errorf("cfg = %+v", cfg)
	}
	want := []Source{
		{Name: "Kyiv Independent", URL: "https://kyivindependent.com/feed/"},
		{Name: "BBC World", URL: "http://feeds.bbci.co.uk/news/world/rss.xml"},
	}
	if !reflect.DeepEqual(cfg.Sources, want) {
		t.Errorf("sources = %+v", cfg.Sources)
	}

	_, err = FromEnv(env(map[string]string{"FRONTWIRE_TELEGRAM_ENABLED": "true"}))
	if keys := problemKeys(err); !reflect.DeepEqual(keys, []string{"telegram.token"}) {
		t.Errorf("missing token: keys = %q", keys)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"cron 5 fields", func(c *Config) { c.Bot.PollSchedule = "*/15 * * * *" }, ""},
		{"descriptor hourly", func(c *Config) { c.Bot.PollSchedule = "@hourly" }, ""},
		{"six fields", func(c *Config) { c.Bot.PollSchedule = "0 */15 * * * *" }, "bot.poll_schedule"},
		{"empty schedule", func(c *Config) { c.Bot.PollSchedule = "" }, "bot.poll_schedule"},
		{"every without unit", func(c *Config) { c.Bot.PollSchedule = "@every 5" }, "bot.poll_schedule"},
		{"empty data dir", func(c *Config) { c.Bot.DataDir = " " }, "bot.data_dir"},
		{"negative summary", func(c *Config) { c.Bot.SummaryMaxChars = -1 }, "bot.summary_max_chars"},
		{"zero retention", func(c *Config) { c.Bot.Retention = Duration{} }, "bot.retention"},
		{"zero max subs", func(c *Config) { c.Bot.MaxSubscriptionsPerChat = 0 }, "bot.max_subscriptions_per_chat"},
		{"json logs", func(c *Config) { c.Bot.LogFormat = "json" }, ""},
		{"bad log format", func(c *Config) { c.Bot.LogFormat = "JSON" }, "bot.log_format"},
		{"zero command rate", func(c *Config) { c.Bot.CommandsPerMinute = 0 }, "bot.commands_per_minute"},
		{"admin chat telegram group", func(c *Config) { c.Bot.AdminChat = "telegram:-100123" }, ""},
		{"admin chat discord", func(c *Config) { c.Bot.AdminChat = "discord:456" }, ""},
		{"admin chat no platform", func(c *Config) { c.Bot.AdminChat = "123" }, "bot.admin_chat"},
		{"admin chat unknown platform", func(c *Config) { c.Bot.AdminChat = "slack:123" }, "bot.admin_chat"},
		{"admin chat not numeric", func(c *Config) { c.Bot.AdminChat = "discord:general" }, "bot.admin_chat"},
		{"admin user negative", func(c *Config) { c.Bot.Admins = []string{"telegram:1", "telegram:-5"} }, "bot.admins[1]"},
		{"timezone", func(c *Config) { c.Bot.Timezone = "Europe/Kyiv" }, ""},
		{"bad timezone", func(c *Config) { c.Bot.Timezone = "Mars/Olympus" }, "bot.timezone"},
		{"telegram enabled no token", func(c *Config) { c.Telegram.Enabled = true }, "telegram.token"},
		{"telegram disabled no token", func(c *Config) { c.Telegram.Enabled = false }, ""},
		{"telegram api url", func(c *Config) { c.Telegram.APIURL = "http://127.0.0.1:8081" }, ""},
		{"telegram bad api url", func(c *Config) { c.Telegram.APIURL = "api.telegram.org" }, "telegram.api_url"},
		{"telegram zero rate", func(c *Config) { c.Telegram.ChatMessagesPerSecond = 0 }, "telegram.chat_messages_per_second"},
		{"telegram negative group rate", func(c *Config) { c.Telegram.GroupMessagesPerMinute = -1 }, "telegram.group_messages_per_minute"},
		{"telegram zero global rate", func(c *Config) { c.Telegram.MessagesPerSecond = 0 }, "telegram.messages_per_second"},
		{"discord enabled no token", func(c *Config) { c.Discord.Enabled = true }, "discord.token"},
		{"discord bad guild", func(c *Config) { c.Discord.GuildID = "my-guild" }, "discord.guild_id"},
		{"discord bad api url", func(c *Config) { c.Discord.APIURL = "ftp://x" }, "discord.api_url"},
		{"discord zero rate", func(c *Config) { c.Discord.RequestsPerSecond = 0 }, "discord.requests_per_second"},
		{"listen", func(c *Config) { c.HTTP.Listen = ":8080" }, ""},
		{"bad listen", func(c *Config) { c.HTTP.Listen = "8080" }, "http.listen"},
		{"source https", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "https://example.org/rss"}} }, ""},
		{"source file url", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "file:///srv/feed.xml"}} }, ""},
		{"source relative path", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "feeds/a.xml"}} }, ""},
		{"source empty url", func(c *Config) { c.Sources = []Source{{Name: "A"}} }, "sources[0].url"},
		{"source ftp", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "ftp://example.org/rss"}} }, "sources[0].url"},
		{"source javascript", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "javascript:alert(1)"}} }, "sources[0].url"},
		{"source no host", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "https:///rss"}} }, "sources[0].url"},
		{"source loopback", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "http://127.0.0.1:8080/rss"}} }, "sources[0].url"},
		{"source private v6", func(c *Config) { c.Sources = []Source{{Name: "A", URL: "http://[fd00::1]/rss"}} }, "sources[0].url"},
		{"source localhost allowed", func(c *Config) {
			c.Bot.AllowPrivateSources = true
			c.Sources = []Source{{Name: "A", URL: "http://localhost:8080/rss"}}
		}, ""},
		{"source empty name", func(c *Config) { c.Sources = []Source{{Name: " ", URL: "https://a.example/rss"}} }, "sources[0].name"},
		{"source duplicate name", func(c *Config) {
			c.Sources = []Source{{Name: "BBC", URL: "https://a.example/rss"}, {Name: "bbc", URL: "https://b.example/rss"}}
		}, "sources[1].name"},
		{"source bad schedule", func(c *Config) {
			c.Sources = []Source{{Name: "A", URL: "https://a.example/rss", Schedule: "@weekly-ish"}}
		}, "sources[0].schedule"},
		{"source negative backfill", func(c *Config) {
			c.Sources = []Source{{Name: "A", URL: "https://a.example/rss", Backfill: -1}}
		}, "sources[0].backfill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			ps := c.Validate()
			if tt.key == "" {
				if len(ps) != 0 {
					t.Errorf("unexpected problems: %v", ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Key != tt.key {
				t.Fatalf("problems = %v, want one for %q", ps, tt.key)
			}
			if ps[0].Msg == "" {
				t.Error("problem without a message")
			}
		})
	}
}

func TestTokensNeverPrinted(t *testing.T) {
	const tg, dc = "123456:TELEGRAM-SECRET", "DISCORD-SECRET.xyz"
	c := Default()
	c.Telegram = Telegram{Enabled: true, Token: tg, MessagesPerSecond: 30, ChatMessagesPerSecond: 1, GroupMessagesPerMinute: 20}
	c.Discord = Discord{Enabled: true, Token: dc, RequestsPerSecond: 50}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", c, "telegram", c.Telegram, "discord", c.Discord)
	outputs := map[string]string{
		"%v config":   fmt.Sprintf("%v", c),
		"%+v config":  fmt.Sprintf("%+v", c),
		"%#v config":  fmt.Sprintf("%#v", c),
		"%v telegram": fmt.Sprintf("%v", c.Telegram),
		"%#v discord": fmt.Sprintf("%#v", c.Discord),
		"slog":        logged.String(),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, tg) || strings.Contains(out, dc) {
				t.Errorf("token printed: %s", out)
			}
			if !strings.Contains(out, "[redacted]") {
				t.Errorf("no redaction marker in %s", out)
			}
		})
	}

	// A malformed token line must not echo the token in the error.
	p := writeFile(t, "[telegram]\ntoken = \"123456:TELEGRAM-SECRET\n")
	_, err := Load(p, env(nil))
	if err == nil || strings.Contains(err.Error(), "TELEGRAM-SECRET") {
		t.Errorf("err = %v", err)
	}
}

func TestExampleConfigValidates(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "config.example.toml"), env(nil))
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	if cfg.Telegram.Enabled || cfg.Discord.Enabled {
		t.Error("the example must ship with the platforms disabled")
	}
	if len(cfg.Sources) < 5 {
		t.Errorf("example lists %d sources, want a handful", len(cfg.Sources))
	}
	for _, s := range cfg.Sources {
		if !strings.HasPrefix(s.URL, "http") {
			t.Errorf("source %q: %q is not a real feed URL", s.Name, s.URL)
		}
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("90m")); err != nil || d.Duration != 90*time.Minute {
		t.Fatalf("d = %v, err = %v", d, err)
	}
	b, _ := d.MarshalText()
	if string(b) != "1h30m0s" {
		t.Errorf("MarshalText = %q", b)
	}
	if err := d.UnmarshalText([]byte("a month")); err == nil {
		t.Error("accepted a month")
	}
}

func TestCheckSourceURL(t *testing.T) {
	tests := []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://kyivindependent.com/feed/", false, true},
		{"HTTP://Example.org/rss", false, true},
		{"/srv/feeds/a.xml", false, true},
		{`C:\feeds\a.xml`, false, true},
		{"file:///srv/a.xml", false, true},
		{"file://", false, false},
		{"http://10.0.0.5/rss", false, false},
		{"http://10.0.0.5/rss", true, true},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://100.64.1.1/rss", false, false},
		{"http://[::1]:80/rss", false, false},
		{"http://[::ffff:127.0.0.1]/rss", false, false},
		{"http://0.0.0.0/rss", false, false},
		{"gopher://x/1", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			msg := CheckSourceURL(tt.url, tt.allowPrivate)
			if (msg == "") != tt.ok {
				t.Errorf("CheckSourceURL(%q, %t) = %q, want ok=%t", tt.url, tt.allowPrivate, msg, tt.ok)
			}
		})
	}
}
