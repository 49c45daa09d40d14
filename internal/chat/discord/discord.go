// Package discord is Frontwire's Discord adapter, a thin layer over
// discordgo: it registers the slash commands, turns interactions into
// chat.Commands for the core and renders the core's replies, sends alerts as
// embeds that can never ping anyone, maps Discord's errors to the core's
// sentinels and tells the core when the bot leaves or rejoins a guild.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
)

// Platform is the chat.Address platform name of this adapter.
const Platform = "discord"

// DefaultRequestsPerSecond is Discord's global REST limit for a bot.
const DefaultRequestsPerSecond = 50

// Handler runs a chat command and says what to answer.
type Handler interface {
	Handle(ctx context.Context, cmd chat.Command) chat.Reply
}

// Completer offers autocomplete choices: the chat's subscriptions whose
// query text matches prefix, Label being the query and Args the id.
type Completer interface {
	Complete(ctx context.Context, from chat.Address, prefix string) []chat.Action
}

// Membership is told when chats become unreachable because the bot was
// removed from their guild, and when they come back.
type Membership interface {
	ChatGone(ctx context.Context, a chat.Address, reason string) error
	ChatBack(ctx context.Context, a chat.Address) error
}

// Config configures a Bot.
type Config struct {
	Token   string // bot token, with or without the "Bot " prefix
	GuildID string // register commands in this guild only; empty: globally
	// APIURL, when set, receives every REST request (scheme and host are
	// rewritten) and so also gateway discovery: tests and proxies.
	APIURL            string
	RequestsPerSecond float64 // global REST cap; 0 means DefaultRequestsPerSecond
	HTTPClient        *http.Client
	Logger            *slog.Logger
	Clock             clock.Clock
}

// Bot is a Discord connection: Run keeps the gateway session; Send and Edit
// deliver the core's messages.
type Bot struct {
	s       *discordgo.Session
	cfg     Config
	token   string // bare token, for redaction
	log     *slog.Logger
	clock   clock.Clock
	handler Handler
	comp    Completer
	member  Membership

	mu        sync.Mutex
	runCtx    context.Context
	appID     string
	guildOf   map[string]string // channel id → guild id
	reported  map[string]bool   // guilds (or channels) whose loss was logged
	guildGone map[string]bool   // guilds the bot was removed from
}

// ErrNoToken is returned by New when no token was configured.
var ErrNoToken = errors.New("discord: no bot token configured")

// New prepares a Bot; it does not connect (Run does). h must not be nil; c
// and m may be.
func New(ctx context.Context, cfg Config, h Handler, c Completer, m Membership) (*Bot, error) {
	_ = ctx // construction needs no I/O; ctx is for symmetry with the other adapters
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot "))
	if token == "" {
		return nil, ErrNoToken
	}
	if h == nil {
		return nil, errors.New("discord: a command handler is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = DefaultRequestsPerSecond
	}
	hc := &http.Client{Timeout: 20 * time.Second}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient // never modify the caller's client
		hc = &copied
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &transport{base: base, limit: newTokenBucket(cfg.Clock, cfg.RequestsPerSecond, 1)}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("discord: api_url %q must be an absolute http(s) URL", cfg.APIURL)
		}
		tr.rewrite = u
	}
	hc.Transport = tr

	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, fmt.Errorf("discord: new session: %w", err)
	}
	s.Client = hc
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 30 * time.Second}
	s.ShouldReconnectOnError = true
	s.ShouldRetryOnRateLimit = true // discordgo's per-route buckets and 429 handling stay on
	s.StateEnabled = false          // nothing here reads the cache
	s.Identify.Intents = discordgo.IntentsGuilds
	s.LogLevel = discordgo.LogError

	b := &Bot{
		s: s, cfg: cfg, token: token, log: cfg.Logger, clock: cfg.Clock,
		handler: h, comp: c, member: m,
		guildOf:   map[string]string{},
		reported:  map[string]bool{},
		guildGone: map[string]bool{},
	}
	s.AddHandler(b.onInteraction)
	s.AddHandler(b.onGuildCreate)
	s.AddHandler(b.onGuildDelete)
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		b.log.Warn("discord gateway disconnected; reconnecting")
	})
	return b, nil
}

// Run opens the gateway, registers the slash commands and keeps the session
// (discordgo reconnects by itself) until ctx is cancelled; it returns once
// the session is closed.
func (b *Bot) Run(ctx context.Context) error {
	b.mu.Lock()
	b.runCtx = ctx
	b.mu.Unlock()
	if err := b.s.Open(); err != nil {
		return fmt.Errorf("discord: open gateway: %w", b.redact(err))
	}
	defer func() {
		if err := b.s.Close(); err != nil {
			b.log.Warn("discord: closing gateway", "err", b.redact(err))
		}
	}()
	appID, err := b.applicationID(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // shut down while starting: not a failure
		}
		return err
	}
	b.mu.Lock()
	b.appID = appID
	b.mu.Unlock()
	if err := b.register(ctx, appID); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	b.log.Info("discord connected", "application_id", appID, "guild_id", b.cfg.GuildID)
	<-ctx.Done()
	return nil
}

// applicationID comes from READY; GET /users/@me is the fallback, since a
// bot user's id is its application's id.
func (b *Bot) applicationID(ctx context.Context) (string, error) {
	b.s.State.RLock()
	app := b.s.State.Application
	b.s.State.RUnlock()
	if app != nil && app.ID != "" {
		return app.ID, nil
	}
	u, err := b.s.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("discord: get application id: %w", b.redact(err))
	}
	return u.ID, nil
}

// register overwrites the bot's commands in one request: guild commands when
// a guild is configured (visible at once), else global ones.
func (b *Bot) register(ctx context.Context, appID string) error {
	cmds := Commands()
	if _, err := b.s.ApplicationCommandBulkOverwrite(appID, b.cfg.GuildID, cmds, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("discord: register commands: %w", b.redact(err))
	}
	return nil
}

func (b *Bot) ctx() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runCtx == nil {
		return context.Background()
	}
	return b.runCtx
}

// Send delivers m. Alerts become one embed; text becomes escaped content.
// A 403 or 404 for the channel returns an error wrapping chat.ErrChatGone,
// other refusals chat.ErrRejected; anything else is transient.
func (b *Bot) Send(ctx context.Context, m chat.Message) (chat.Sent, error) {
	msg, err := render(m)
	if err != nil {
		return chat.Sent{}, err
	}
	channel := target(m.To)
	got, err := b.s.ChannelMessageSendComplex(channel, msg, discordgo.WithContext(ctx))
	if err != nil {
		return chat.Sent{}, b.sendError("send", m.To, err)
	}
	if got == nil {
		return chat.Sent{}, fmt.Errorf("discord: send to %s: empty answer", m.To)
	}
	return chat.Sent{MessageID: got.ID}, nil
}

// Edit replaces the message messageID in to with a new rendering of m.
func (b *Bot) Edit(ctx context.Context, to chat.Address, messageID string, m chat.Message) error {
	msg, err := render(m)
	if err != nil {
		return err
	}
	content := msg.Content
	edit := &discordgo.MessageEdit{
		ID:              messageID,
		Channel:         target(to),
		Content:         &content,
		Embeds:          &msg.Embeds,
		AllowedMentions: msg.AllowedMentions,
	}
	if _, err := b.s.ChannelMessageEditComplex(edit, discordgo.WithContext(ctx)); err != nil {
		return b.sendError("edit", to, err)
	}
	return nil
}

// target is the channel a message goes to: a thread is a channel of its own
// on Discord.
func target(a chat.Address) string {
	if a.Thread != "" {
		return a.Thread
	}
	return a.Chat
}

func render(m chat.Message) (*discordgo.MessageSend, error) {
	if m.To.Platform != "" && m.To.Platform != Platform {
		return nil, fmt.Errorf("discord: message for platform %q: %w", m.To.Platform, chat.ErrRejected)
	}
	if target(m.To) == "" {
		return nil, fmt.Errorf("discord: message without a channel: %w", chat.ErrRejected)
	}
	var msg *discordgo.MessageSend
	switch {
	case m.Kind == chat.KindAlert && m.Alert != nil:
		msg = RenderAlert(*m.Alert)
	case m.Kind == chat.KindDigest && m.Digest != nil && len(m.Digest.Items) > 0:
		msg = RenderDigest(*m.Digest)
	case m.Kind == chat.KindText || (m.Kind == "" && m.Text != ""):
		if strings.TrimSpace(m.Text) == "" {
			return nil, fmt.Errorf("discord: empty text message: %w", chat.ErrRejected)
		}
		msg = renderText(m.Text)
	default:
		return nil, fmt.Errorf("discord: message of kind %q without its content: %w", m.Kind, chat.ErrRejected)
	}
	if err := ValidateMessage(msg); err != nil {
		// A bug here, not a platform problem; retrying cannot help.
		return nil, fmt.Errorf("discord: render: %w: %w", chat.ErrRejected, err)
	}
	return msg, nil
}

// Discord JSON error codes that decide between a gone channel and a bad
// request.
const (
	codeUnknownChannel    = 10003
	codeUnknownMessage    = 10008
	codeMissingAccess     = 50001
	codeMissingPermission = 50013
)

// sendError maps a REST failure to the core's error vocabulary, logs a lost
// channel once per guild, and keeps tokens out of the message.
func (b *Bot) sendError(op string, to chat.Address, err error) error {
	err = b.redact(err)
	var re *discordgo.RESTError
	var rl *discordgo.RateLimitError
	switch {
	case errors.As(err, &rl) && rl.RateLimit != nil && rl.TooManyRequests != nil:
		return &chat.RetryAfterError{After: rl.RetryAfter, Err: fmt.Errorf("discord: %s to %s: %w", op, to, err)}
	case errors.As(err, &re) && re.Response != nil:
		status := re.Response.StatusCode
		code := 0
		if re.Message != nil {
			code = re.Message.Code
		}
		switch {
		case status == http.StatusNotFound && code == codeUnknownMessage:
			return fmt.Errorf("discord: %s to %s: message gone: %w: %w", op, to, chat.ErrRejected, err)
		case status == http.StatusForbidden || status == http.StatusNotFound:
			b.reportGone(to, status, code)
			return fmt.Errorf("discord: %s to %s: %w: %w", op, to, chat.ErrChatGone, err)
		case status == http.StatusUnauthorized:
			// A revoked token is not this message's fault: keep it queued
			// until an operator fixes the configuration.
			return fmt.Errorf("discord: %s to %s: bot token rejected: %w", op, to, err)
		case status >= 400 && status < 500:
			return fmt.Errorf("discord: %s to %s: %w: %w", op, to, chat.ErrRejected, err)
		}
	}
	return fmt.Errorf("discord: %s to %s: %w", op, to, err)
}

// reportGone logs a lost channel once per guild (once per channel when the
// guild is not known), so a guild that removed the bot's access is not
// spammed into the log with every alert.
func (b *Bot) reportGone(to chat.Address, status, code int) {
	b.mu.Lock()
	guild := b.guildOf[to.Chat]
	key := "guild:" + guild
	if guild == "" {
		key = "channel:" + to.Chat
	}
	first := !b.reported[key]
	b.reported[key] = true
	b.mu.Unlock()
	if first {
		b.log.Warn("discord channel unreachable; pausing its subscriptions",
			"channel_id", to.Chat, "guild_id", guild, "status", status, "discord_code", code)
	}
}

// redact removes the bot token from an error's text (interaction tokens are
// handled where they are used), keeping the chain for errors.Is/As.
func (b *Bot) redact(err error) error {
	return redact(err, b.token)
}

type redacted struct {
	err     error
	secrets []string
}

func (r *redacted) Error() string {
	s := r.err.Error()
	for _, sec := range r.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func (r *redacted) Unwrap() error { return r.err }

func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			return &redacted{err: err, secrets: secrets}
		}
	}
	return err
}

func (b *Bot) onGuildCreate(_ *discordgo.Session, g *discordgo.GuildCreate) {
	if g == nil || g.Guild == nil || g.ID == "" || g.Unavailable {
		return
	}
	b.mu.Lock()
	for _, c := range g.Channels {
		if c != nil && c.ID != "" && isText(c.Type) {
			b.guildOf[c.ID] = g.ID
		}
	}
	channels := b.channelsOfLocked(g.ID)
	wasGone := b.guildGone[g.ID]
	delete(b.guildGone, g.ID)
	delete(b.reported, "guild:"+g.ID)
	b.mu.Unlock()
	if b.member == nil {
		return
	}
	ctx := b.ctx()
	for _, ch := range channels {
		if err := b.member.ChatBack(ctx, chat.Address{Platform: Platform, Chat: ch}); err != nil {
			b.log.Error("discord: resume channel", "channel_id", ch, "guild_id", g.ID, "err", err)
		}
	}
	if wasGone {
		b.log.Info("discord guild joined again; channels resumed", "guild_id", g.ID, "channels", len(channels))
	}
}

func (b *Bot) onGuildDelete(_ *discordgo.Session, g *discordgo.GuildDelete) {
	// Unavailable means an outage on Discord's side, not a removal: the
	// guild will come back with GUILD_CREATE and nothing needs pausing.
	if g == nil || g.Guild == nil || g.ID == "" || g.Unavailable {
		return
	}
	b.mu.Lock()
	channels := b.channelsOfLocked(g.ID)
	b.guildGone[g.ID] = true
	b.mu.Unlock()
	b.log.Warn("discord bot removed from guild; pausing its channels", "guild_id", g.ID, "channels", len(channels))
	if b.member == nil {
		return
	}
	ctx := b.ctx()
	for _, ch := range channels {
		if err := b.member.ChatGone(ctx, chat.Address{Platform: Platform, Chat: ch}, "removed from Discord guild "+g.ID); err != nil {
			b.log.Error("discord: pause channel", "channel_id", ch, "guild_id", g.ID, "err", err)
		}
	}
}

func (b *Bot) channelsOfLocked(guild string) []string {
	var out []string
	for ch, g := range b.guildOf {
		if g == guild {
			out = append(out, ch)
		}
	}
	return out
}

func isText(t discordgo.ChannelType) bool {
	switch t {
	case discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews,
		discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread,
		discordgo.ChannelTypeGuildNewsThread:
		return true
	}
	return false
}
