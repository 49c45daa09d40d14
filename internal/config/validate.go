package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleParser accepts what the scheduler accepts: 5-field cron
// expressions and descriptors (@every 5m, @hourly, ...).
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a source schedule the way Validate and the
// scheduler do: a 5-field cron expression or a descriptor.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := scheduleParser.Parse(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: use 5 cron fields (\"*/10 * * * *\") or a descriptor (\"@every 5m\", \"@hourly\"): %w", spec, err)
	}
	return s, nil
}

// Validate checks the values of the configuration and returns every problem
// it finds, each naming its key. It does not know about unknown keys: Load
// reports those.
func (c Config) Validate() []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	cl := c.Clusters
	if cl.Threshold < 0 || cl.Threshold > 1 {
		add("clusters.threshold", "must be between 0 and 1 (0 means the default)")
	}
	if cl.MergeThreshold < 0 || cl.MergeThreshold > 1 {
		add("clusters.merge_threshold", "must be between 0 and 1 (0 means the default)")
	}
	if cl.Window.Duration < 0 {
		add("clusters.window", "must not be negative")
	}
	if cl.EditWindow.Duration < 0 {
		add("clusters.edit_window", "must not be negative")
	}
	if cl.MaxMerged < 0 {
		add("clusters.max_merged", "must not be negative (0 means the default)")
	}

	b := c.Bot
	if strings.TrimSpace(b.DataDir) == "" {
		add("bot.data_dir", "must not be empty")
	}
	if err := checkSchedule(b.PollSchedule); err != "" {
		add("bot.poll_schedule", "%s", err)
	}
	if b.SummaryMaxChars <= 0 {
		add("bot.summary_max_chars", "must be positive, got %d", b.SummaryMaxChars)
	}
	if b.Retention.Duration <= 0 {
		add("bot.retention", "must be a positive duration such as \"720h\"")
	}
	if b.MaxSubscriptionsPerChat <= 0 {
		add("bot.max_subscriptions_per_chat", "must be positive, got %d", b.MaxSubscriptionsPerChat)
	}
	if b.LogFormat != "text" && b.LogFormat != "json" {
		add("bot.log_format", "must be \"text\" or \"json\", got %q", b.LogFormat)
	}
	if b.CommandsPerMinute <= 0 {
		add("bot.commands_per_minute", "must be positive, got %d", b.CommandsPerMinute)
	}
	if b.AdminChat != "" {
		if msg := checkPlatformID(b.AdminChat, true); msg != "" {
			add("bot.admin_chat", "%s", msg)
		}
	}
	for i, a := range b.Admins {
		if msg := checkPlatformID(a, false); msg != "" {
			add(fmt.Sprintf("bot.admins[%d]", i), "%s", msg)
		}
	}
	if b.Timezone == "" {
		add("bot.timezone", "must not be empty (use \"UTC\" or an IANA name such as \"Europe/Kyiv\")")
	} else if _, err := time.LoadLocation(b.Timezone); err != nil {
		add("bot.timezone", "unknown time zone %q: use an IANA name such as \"Europe/Kyiv\" or \"UTC\"", b.Timezone)
	}

	t := c.Telegram
	if t.Enabled && strings.TrimSpace(t.Token) == "" {
		add("telegram.token", "is required when telegram.enabled is true (or set FRONTWIRE_TELEGRAM_TOKEN)")
	}
	if t.APIURL != "" {
		if msg := checkBaseURL(t.APIURL); msg != "" {
			add("telegram.api_url", "%s", msg)
		}
	}
	if t.MessagesPerSecond <= 0 {
		add("telegram.messages_per_second", "must be positive, got %g", t.MessagesPerSecond)
	}
	if t.ChatMessagesPerSecond <= 0 {
		add("telegram.chat_messages_per_second", "must be positive, got %g", t.ChatMessagesPerSecond)
	}
	if t.GroupMessagesPerMinute <= 0 {
		add("telegram.group_messages_per_minute", "must be positive, got %g", t.GroupMessagesPerMinute)
	}

	d := c.Discord
	if d.Enabled && strings.TrimSpace(d.Token) == "" {
		add("discord.token", "is required when discord.enabled is true (or set FRONTWIRE_DISCORD_TOKEN)")
	}
	if d.GuildID != "" && !isDigits(d.GuildID) {
		add("discord.guild_id", "must be a numeric guild id, got %q", d.GuildID)
	}
	if d.APIURL != "" {
		if msg := checkBaseURL(d.APIURL); msg != "" {
			add("discord.api_url", "%s", msg)
		}
	}
	if d.RequestsPerSecond <= 0 {
		add("discord.requests_per_second", "must be positive, got %g", d.RequestsPerSecond)
	}

	if c.HTTP.Listen != "" {
		if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil || port == "" {
			add("http.listen", "must be an address such as \":8080\" or \"127.0.0.1:8080\", got %q", c.HTTP.Listen)
		}
	}

	names := map[string]int{}
	for i, s := range c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		name := strings.TrimSpace(s.Name)
		if name == "" {
			add(key+".name", "must not be empty")
		} else if j, dup := names[strings.ToLower(name)]; dup {
			add(key+".name", "duplicate source name %q (also sources[%d])", name, j)
		} else {
			names[strings.ToLower(name)] = i
		}
		if msg := CheckSourceURL(s.URL, b.AllowPrivateSources); msg != "" {
			add(key+".url", "%s", msg)
		}
		if s.Schedule != "" {
			if err := checkSchedule(s.Schedule); err != "" {
				add(key+".schedule", "%s", err)
			}
		}
		if s.Backfill < 0 {
			add(key+".backfill", "must be zero or positive, got %d", s.Backfill)
		}
	}
	return ps
}

func checkSchedule(spec string) string {
	if strings.TrimSpace(spec) == "" {
		return "must not be empty: use 5 cron fields (\"*/10 * * * *\") or a descriptor (\"@every 5m\", \"@hourly\")"
	}
	if _, err := ParseSchedule(spec); err != nil {
		return err.Error()
	}
	return ""
}

// CheckSourceURL says what is wrong with a source address, or returns "" if
// it is usable: an http(s) URL with a host, a file:// URL, or a local file
// path. Unless allowPrivate, an http(s) URL whose host is literally a
// loopback, private or link-local address (or "localhost") is refused; the
// fetcher's dialer guards the addresses that names resolve to.
func CheckSourceURL(raw string, allowPrivate bool) string {
	const want = "must be an http(s) URL or a file path"
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return want
	}
	u, err := url.Parse(raw)
	// A one-letter scheme is a Windows drive ("C:\feeds\x.xml"): a path.
	if err != nil || len(u.Scheme) <= 1 {
		if strings.ContainsAny(raw, "\x00") {
			return want
		}
		if err != nil && strings.Contains(raw, "://") {
			return want
		}
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" || u.Hostname() == "" {
			return want + " (the URL has no host)"
		}
		if !allowPrivate && IsPrivateHost(u.Hostname()) {
			return "points at a loopback or private address; set bot.allow_private_sources = true to allow it"
		}
		return ""
	case "file":
		if u.Path == "" && u.Opaque == "" {
			return want + " (the file:// URL has no path)"
		}
		return ""
	default:
		return want + fmt.Sprintf(" (scheme %q is not supported)", u.Scheme)
	}
}

// IsPrivateHost reports whether host is "localhost" or a literal IP address
// that is loopback, private, link-local or unspecified.
func IsPrivateHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	addr, err := netip.ParseAddr(strings.Trim(h, "[]"))
	if err != nil {
		return false
	}
	return IsPrivateAddr(addr)
}

// IsPrivateAddr reports whether addr is loopback, private (RFC 1918, RFC
// 4193), link-local, CGNAT shared space or unspecified.
func IsPrivateAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsUnspecified() || addr.IsInterfaceLocalMulticast() {
		return true
	}
	return cgnat.Contains(addr)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func checkBaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("must be an http(s) base URL such as \"https://api.example.org\", got %q", raw)
	}
	return ""
}

// checkPlatformID checks "telegram:ID" or "discord:ID". Telegram chat ids
// may be negative (groups and channels); user ids and Discord snowflakes
// are positive.
func checkPlatformID(s string, chat bool) string {
	what := "user"
	if chat {
		what = "chat"
	}
	want := fmt.Sprintf("must be \"telegram:%s_ID\" or \"discord:%s_ID\" with a numeric id, got %q", strings.ToUpper(what), strings.ToUpper(what), s)
	platform, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return want
	}
	switch platform {
	case "telegram":
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n == 0 || (!chat && n < 0) {
			return want
		}
	case "discord":
		if !isDigits(id) {
			return want
		}
	default:
		return want
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
