// Package config holds Frontwire's configuration: the TOML schema, its
// defaults, the environment overrides used by Docker deployments, and
// validation that names the offending key in every problem it reports.
//
// Secrets (the platform tokens) may come from the file or the environment;
// they never appear in errors, String output or log values.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration of one Frontwire instance.
type Config struct {
	Bot      Bot      `toml:"bot"`
	Telegram Telegram `toml:"telegram"`
	Discord  Discord  `toml:"discord"`
	HTTP     HTTP     `toml:"http"`
	Clusters Clusters `toml:"clusters"`
	Sources  []Source `toml:"sources"`
}

// Clusters tunes how reports of one event from several outlets are grouped
// into one alert (docs/CLUSTERING.md). Zero values mean the defaults chosen
// on the labelled set.
type Clusters struct {
	// Threshold is the similarity score (0–1) at or above which a story
	// joins an earlier story's event; lower merges more, higher less.
	Threshold float64 `toml:"threshold"`
	// MergeThreshold is the score at which a story that resembles two
	// events joins them into one; at least Threshold.
	MergeThreshold float64 `toml:"merge_threshold"`
	// Window is how far apart two reports of one event may be.
	Window Duration `toml:"window"`
	// EditWindow is how long after a chat's alert later reports edit it
	// instead of alerting anew.
	EditWindow Duration `toml:"edit_window"`
	// MaxMerged caps how many events one event may absorb through merges.
	// Each alert looks up the chat's alert under every absorbed event's
	// ID, so a catch-all event that absorbed thousands slowed every poll.
	MaxMerged int `toml:"max_merged"`
}

// Bot holds the platform-neutral settings.
type Bot struct {
	// DataDir holds the bbolt file <DataDir>/frontwire.db.
	DataDir string `toml:"data_dir"`
	// PollSchedule is the default schedule of sources: a 5-field cron
	// expression or a descriptor such as "@every 5m" or "@hourly".
	PollSchedule string `toml:"poll_schedule"`
	// SummaryMaxChars caps the length of a story summary, in characters.
	SummaryMaxChars int `toml:"summary_max_chars"`
	// Retention is how long seen stories are remembered for deduplication.
	Retention Duration `toml:"retention"`
	// MaxSubscriptionsPerChat caps the subscriptions one chat may hold.
	MaxSubscriptionsPerChat int `toml:"max_subscriptions_per_chat"`
	// LogFormat is "text" or "json".
	LogFormat string `toml:"log_format"`
	// CommandsPerMinute is the per-user chat command rate limit.
	CommandsPerMinute int `toml:"commands_per_minute"`
	// AdminChat optionally names a chat ("telegram:123" or "discord:456")
	// that receives source-health notices.
	AdminChat string `toml:"admin_chat"`
	// Admins optionally lists users ("telegram:USERID" or "discord:USERID")
	// allowed to add and remove sources from chat.
	Admins []string `toml:"admins"`
	// AllowPrivateSources turns off the guard against sources on loopback
	// and private addresses (server-side request forgery).
	AllowPrivateSources bool `toml:"allow_private_sources"`
	// Timezone is an IANA zone name used to show times to people.
	Timezone string `toml:"timezone"`
}

// Telegram holds the Telegram adapter's settings.
type Telegram struct {
	Enabled bool   `toml:"enabled"`
	Token   string `toml:"token"` // secret: never printed
	// APIURL is the optional base URL of a self-hosted Bot API server.
	APIURL string `toml:"api_url"`
	// LinkPreviews turns on Telegram's link previews under alerts.
	LinkPreviews bool `toml:"link_previews"`
	// MessagesPerSecond is the global send rate.
	MessagesPerSecond float64 `toml:"messages_per_second"`
	// ChatMessagesPerSecond is the send rate into one chat.
	ChatMessagesPerSecond float64 `toml:"chat_messages_per_second"`
	// GroupMessagesPerMinute is the send rate into one group.
	GroupMessagesPerMinute float64 `toml:"group_messages_per_minute"`
}

// Discord holds the Discord adapter's settings.
type Discord struct {
	Enabled bool   `toml:"enabled"`
	Token   string `toml:"token"` // secret: never printed
	// GuildID optionally registers the slash commands in one guild only.
	GuildID string `toml:"guild_id"`
	// APIURL is an optional base URL (tests, proxies).
	APIURL string `toml:"api_url"`
	// RequestsPerSecond is the global REST request rate.
	RequestsPerSecond float64 `toml:"requests_per_second"`
}

// HTTP holds the settings of the optional health and metrics listener.
type HTTP struct {
	// Listen is an address such as ":8080"; empty turns the listener off.
	Listen string `toml:"listen"`
}

// Source is one news feed.
type Source struct {
	Name string `toml:"name"`
	// URL is an http(s) URL, a file:// URL or a local file path.
	URL string `toml:"url"`
	// Schedule optionally overrides Bot.PollSchedule for this source.
	Schedule string `toml:"schedule"`
	// Backfill is how many of the newest stories the first poll alerts;
	// zero means the first poll only marks what it finds as seen.
	Backfill int `toml:"backfill"`
}

// Duration is a time.Duration written in TOML as a string such as "720h".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number with a unit such as \"720h\" or \"90m\"", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns a configuration with every default filled in and no
// sources.
func Default() Config {
	return Config{
		Bot: Bot{
			DataDir:                 "./data",
			PollSchedule:            "@every 5m",
			SummaryMaxChars:         280,
			Retention:               Duration{720 * time.Hour},
			MaxSubscriptionsPerChat: 50,
			LogFormat:               "text",
			CommandsPerMinute:       20,
			Timezone:                "UTC",
		},
		Telegram: Telegram{
			MessagesPerSecond:      30,
			ChatMessagesPerSecond:  1,
			GroupMessagesPerMinute: 20,
		},
		Discord: Discord{
			RequestsPerSecond: 50,
		},
	}
}

// Problem is one thing wrong with a configuration, with the key it concerns
// (for example "sources[2].url" or "bot.pol_schedule").
type Problem struct {
	Key string
	Msg string
}

// String renders the problem as "key: message".
func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// Error is returned by Load and FromEnv when the configuration cannot be
// used. It lists every problem found, not only the first.
type Error struct {
	// Path is the file that was read; empty for FromEnv.
	Path     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString("config " + e.Path + ": ")
	} else {
		b.WriteString("config: ")
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// ErrNoFile is wrapped by Load's error when the configuration file does not
// exist, so callers can suggest creating one.
var ErrNoFile = errors.New("configuration file not found")

// Load reads the TOML file at path over the defaults, then applies the
// environment overrides read through getenv, then validates. Unknown keys,
// malformed values and every problem Validate finds are returned together in
// an *Error. The decoded Config is returned even with an *Error, so that
// check-config can still show what it read.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return cfg, fmt.Errorf("config %s: %w", path, ErrNoFile)
		}
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	var problems []Problem
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		problems = append(problems, decodeProblem(err))
		// A syntax error leaves the rest unreliable: report it alone.
		return cfg, &Error{Path: path, Problems: problems}
	}
	for _, k := range md.Undecoded() {
		problems = append(problems, Problem{Key: k.String(), Msg: "unknown key"})
	}
	problems = append(problems, applyEnv(&cfg, getenv)...)
	problems = append(problems, cfg.Validate()...)
	if len(problems) > 0 {
		return cfg, &Error{Path: path, Problems: problems}
	}
	return cfg, nil
}

// FromEnv builds the whole configuration from the defaults and the
// environment only, for containers run without a configuration file.
// Besides the overrides Load applies, it reads FRONTWIRE_SOURCES: entries
// "Name=URL" separated by newlines or ";".
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Default()
	problems := applyEnv(&cfg, getenv)
	if v := strings.TrimSpace(getenv("FRONTWIRE_SOURCES")); v != "" {
		entries := strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == ';' })
		for i, e := range entries {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			name, u, ok := strings.Cut(e, "=")
			if !ok {
				problems = append(problems, Problem{
					Key: fmt.Sprintf("env FRONTWIRE_SOURCES[%d]", i),
					Msg: `must be "Name=URL"`,
				})
				continue
			}
			cfg.Sources = append(cfg.Sources, Source{Name: strings.TrimSpace(name), URL: strings.TrimSpace(u)})
		}
	}
	problems = append(problems, cfg.Validate()...)
	if len(problems) > 0 {
		return cfg, &Error{Problems: problems}
	}
	return cfg, nil
}

// applyEnv applies the FRONTWIRE_* overrides. Empty variables are ignored.
func applyEnv(cfg *Config, getenv func(string) string) []Problem {
	if getenv == nil {
		return nil
	}
	var problems []Problem
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, Problem{Key: "env " + name, Msg: "must be true or false"})
			return
		}
		*dst = b
	}
	str("FRONTWIRE_TELEGRAM_TOKEN", &cfg.Telegram.Token)
	str("FRONTWIRE_DISCORD_TOKEN", &cfg.Discord.Token)
	str("FRONTWIRE_DATA_DIR", &cfg.Bot.DataDir)
	str("FRONTWIRE_HTTP_LISTEN", &cfg.HTTP.Listen)
	str("FRONTWIRE_POLL_SCHEDULE", &cfg.Bot.PollSchedule)
	str("FRONTWIRE_LOG_FORMAT", &cfg.Bot.LogFormat)
	str("FRONTWIRE_TIMEZONE", &cfg.Bot.Timezone)
	str("FRONTWIRE_ADMIN_CHAT", &cfg.Bot.AdminChat)
	boolean("FRONTWIRE_TELEGRAM_ENABLED", &cfg.Telegram.Enabled)
	boolean("FRONTWIRE_DISCORD_ENABLED", &cfg.Discord.Enabled)
	return problems
}

// decodeProblem turns a TOML decoding error into a Problem naming the key.
// Values are never echoed for keys that hold secrets.
func decodeProblem(err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if isSecretKey(pe.LastKey) {
			msg = "invalid value (not shown: the key holds a secret)"
		}
		if pe.Position.Line > 0 {
			msg = fmt.Sprintf("line %d: %s", pe.Position.Line, msg)
		}
		return Problem{Key: pe.LastKey, Msg: msg}
	}
	// Type mismatches ("incompatible types") name types and keys only.
	return Problem{Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

func isSecretKey(key string) bool {
	return key == "token" || strings.HasSuffix(key, ".token")
}

const redacted = "[redacted]"

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String describes the Telegram settings with the token redacted.
func (t Telegram) String() string {
	return fmt.Sprintf("{Enabled:%t Token:%s APIURL:%s LinkPreviews:%t MessagesPerSecond:%g ChatMessagesPerSecond:%g GroupMessagesPerMinute:%g}",
		t.Enabled, redact(t.Token), t.APIURL, t.LinkPreviews, t.MessagesPerSecond, t.ChatMessagesPerSecond, t.GroupMessagesPerMinute)
}

// GoString keeps %#v from printing the token.
func (t Telegram) GoString() string { return "config.Telegram" + t.String() }

// LogValue logs the Telegram settings with the token redacted.
func (t Telegram) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", t.Enabled),
		slog.String("token", redact(t.Token)),
		slog.String("api_url", t.APIURL),
		slog.Bool("link_previews", t.LinkPreviews),
	)
}

// String describes the Discord settings with the token redacted.
func (d Discord) String() string {
	return fmt.Sprintf("{Enabled:%t Token:%s GuildID:%s APIURL:%s RequestsPerSecond:%g}",
		d.Enabled, redact(d.Token), d.GuildID, d.APIURL, d.RequestsPerSecond)
}

// GoString keeps %#v from printing the token.
func (d Discord) GoString() string { return "config.Discord" + d.String() }

// LogValue logs the Discord settings with the token redacted.
func (d Discord) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", d.Enabled),
		slog.String("token", redact(d.Token)),
		slog.String("guild_id", d.GuildID),
		slog.String("api_url", d.APIURL),
	)
}

// String describes the whole configuration with tokens redacted.
func (c Config) String() string {
	return fmt.Sprintf("{Bot:%+v Telegram:%s Discord:%s HTTP:%+v Sources:%+v}", c.Bot, c.Telegram, c.Discord, c.HTTP, c.Sources)
}

// GoString keeps %#v from printing tokens.
func (c Config) GoString() string { return "config.Config" + c.String() }

// LogValue logs the configuration with tokens redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("data_dir", c.Bot.DataDir),
		slog.String("poll_schedule", c.Bot.PollSchedule),
		slog.Any("telegram", c.Telegram),
		slog.Any("discord", c.Discord),
		slog.String("http_listen", c.HTTP.Listen),
		slog.Int("sources", len(c.Sources)),
	)
}
