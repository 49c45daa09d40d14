package daemon

import (
	"context"
	"net/http"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/chat"
	"frontwire/internal/chat/discord"
	"frontwire/internal/chat/telegram"
)

// margin keeps pacing a little below each published limit, so that clock
// skew between Frontwire and the platform never tips a window over.
const margin = 0.95

// startPlatforms connects the chat platforms the configuration enables and
// adds them to platforms. Each connection checks its token at once, so a
// bad token stops start-up with a clear error.
func (d *Daemon) startPlatforms(ctx context.Context, opt Options, platforms map[string]alerts.Platform) error {
	cfg := d.Config
	if cfg.Telegram.Enabled {
		tcfg := telegram.Config{
			Token:                  cfg.Telegram.Token,
			APIURL:                 cfg.Telegram.APIURL,
			LinkPreviews:           cfg.Telegram.LinkPreviews,
			HTTPClient:             opt.PlatformClient,
			Logger:                 d.log, // the adapter adds platform=telegram itself
			Clock:                  d.clk,
			MessagesPerSecond:      cfg.Telegram.MessagesPerSecond,
			ChatMessagesPerSecond:  cfg.Telegram.ChatMessagesPerSecond,
			GroupMessagesPerMinute: cfg.Telegram.GroupMessagesPerMinute,
			PollTimeout:            opt.TelegramPollTimeout,
		}
		bot, err := telegram.New(ctx, tcfg, d.Service, d, d.DB)
		if err != nil {
			return err // the adapter names itself
		}
		platforms["telegram"] = alerts.Platform{
			Sender: bot,
			Global: []alerts.Rate{{PerSecond: telegram.GlobalLimit(tcfg) * margin, Burst: 1}},
			PerChat: func(a chat.Address) []alerts.Rate {
				perSecond, perMinute := telegram.ChatLimits(a, tcfg)
				rates := []alerts.Rate{{PerSecond: perSecond * margin, Burst: 1}}
				if perMinute > 0 {
					rates = append(rates, alerts.Per(perMinute*margin, time.Minute))
				}
				return rates
			},
		}
		d.runners = append(d.runners, bot.Run)
		d.log.Info("telegram connected", "bot", bot.UserName())
	}
	if cfg.Discord.Enabled {
		dcfg := discord.Config{
			Token:             cfg.Discord.Token,
			GuildID:           cfg.Discord.GuildID,
			APIURL:            cfg.Discord.APIURL,
			RequestsPerSecond: cfg.Discord.RequestsPerSecond,
			HTTPClient:        opt.PlatformClient,
			Logger:            d.log.With("platform", "discord"),
			Clock:             d.clk,
		}
		bot, err := discord.New(ctx, dcfg, d.Service, d.Service, d)
		if err != nil {
			return err // the adapter names itself
		}
		// discordgo paces REST calls per route bucket and the adapter caps
		// the global request rate; a per-channel bucket here keeps one busy
		// channel from queueing ahead of the others inside discordgo.
		rates := discordChannelRates(opt.DiscordChannelLimit, opt.DiscordChannelWindow)
		platforms["discord"] = alerts.Platform{
			Sender:  bot,
			PerChat: func(chat.Address) []alerts.Rate { return rates },
		}
		d.runners = append(d.runners, bot.Run)
	}
	return nil
}

// Discord's per-channel message limit: 5 messages per 5 seconds.
const (
	discordChannelLimit  = 5
	discordChannelWindow = 5 * time.Second
)

// discordChannelRates paces one Discord channel below a limit of n
// messages per window (zero values: Discord's own). Discord counts a
// channel's messages in windows that start with a request, so a token
// bucket that allows a burst of b at rate r can put b + r·window messages
// into one window: with a burst of 5 at about 1/s that is 9 where 5 are
// allowed. A burst of one at n/window (less the margin) puts at most n in
// any window and still reaches 95 % of the allowed rate.
func discordChannelRates(n int, window time.Duration) []alerts.Rate {
	if n <= 0 || window <= 0 {
		n, window = discordChannelLimit, discordChannelWindow
	}
	return []alerts.Rate{alerts.Per(float64(n)*margin, window)}
}

// defaultPlatformClient is the HTTP client for chat platforms when the
// caller gives none.
func defaultPlatformClient() *http.Client { return &http.Client{Timeout: 90 * time.Second} }

// digestFits tells the digest scheduler whether a digest fits one message
// of the platform, so that long digests are split before they are queued.
// Platforms without a limit (the console) rely on the item cap alone.
func digestFits(platform string, d chat.Digest) bool {
	switch platform {
	case telegram.Platform:
		return telegram.DigestFits(d)
	case discord.Platform:
		return discord.DigestFits(d)
	}
	return true
}
