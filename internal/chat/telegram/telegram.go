// Package telegram is Frontwire's Telegram adapter. It long-polls the Bot API
// for updates and turns them into platform-neutral chat.Commands and
// membership events, and it delivers chat.Messages (alerts in Telegram HTML,
// plain text replies) with errors mapped onto the chat package's sentinels,
// so the core never sees a Telegram type.
//
// It is built on github.com/go-telegram-bot-api/telegram-bot-api/v5 (v5.5.1):
// the library's client validates the token (getMe) and makes the calls
// answering true (setMyCommands, answerCallbackQuery) through Request, and
// its types decode what Telegram sends. getUpdates, sendMessage,
// editMessageText and getChatMember go through this package's own
// form-encoded POST (see api.go), because the library's calls take no
// context: a long poll in flight could not be abandoned on shutdown, and a
// send could not honour its caller's deadline.
package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
)

// Platform is the chat.Address platform name of this adapter.
const Platform = "telegram"

// DefaultAPIURL is Telegram's public Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// Handler runs a chat command and returns the answer. The core implements it.
type Handler interface {
	Handle(ctx context.Context, cmd chat.Command) chat.Reply
}

// Membership is told when the bot loses or regains a chat, and when a group
// becomes a supergroup with a new id. The core implements it.
type Membership interface {
	ChatGone(ctx context.Context, a chat.Address, reason string) error
	ChatBack(ctx context.Context, a chat.Address) error
	ChatMoved(ctx context.Context, from, to chat.Address) error
}

// KV keeps the update offset across restarts. *storage.DB satisfies it; any
// Get error on first start is taken to mean "no offset yet".
type KV interface {
	Get(key string) ([]byte, error)
	Put(key string, value []byte) error
}

// Config configures a Bot. Zero values get the defaults noted.
type Config struct {
	Token        string // required; never logged
	APIURL       string // default DefaultAPIURL; a self-hosted Bot API server otherwise
	LinkPreviews bool   // show link previews under alerts; off by default
	HTTPClient   *http.Client
	Logger       *slog.Logger
	Clock        clock.Clock   // default clock.Real
	PollTimeout  time.Duration // long-poll timeout of getUpdates; default 50s

	// Send limits, for ChatLimits and GlobalLimit; defaults 30, 1 and 20,
	// Telegram's published limits.
	MessagesPerSecond      float64
	ChatMessagesPerSecond  float64
	GroupMessagesPerMinute float64

	// RequestTimeout bounds every API call except the long poll (which gets
	// PollTimeout plus this). Default 30s.
	RequestTimeout time.Duration
	// AdminCacheTTL is how long a getChatMember answer is trusted. Default
	// one minute: long enough to spare Telegram on a burst of commands,
	// short enough that a demoted admin soon loses the right.
	AdminCacheTTL time.Duration
}

func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = 50 * time.Second
	}
	if c.MessagesPerSecond <= 0 {
		c.MessagesPerSecond = 30
	}
	if c.ChatMessagesPerSecond <= 0 {
		c.ChatMessagesPerSecond = 1
	}
	if c.GroupMessagesPerMinute <= 0 {
		c.GroupMessagesPerMinute = 20
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.AdminCacheTTL <= 0 {
		c.AdminCacheTTL = time.Minute
	}
	return c
}

// ChatLimits returns the send limits for one chat: messages per second, and
// messages per minute (0 when the chat has no per-minute limit). Groups,
// supergroups and channels, whose ids are negative, get the per-minute group
// limit; private chats only the per-second one.
func ChatLimits(a chat.Address, cfg Config) (perSecond float64, perMinute float64) {
	cfg = cfg.withDefaults()
	if strings.HasPrefix(a.Chat, "-") {
		return cfg.ChatMessagesPerSecond, cfg.GroupMessagesPerMinute
	}
	return cfg.ChatMessagesPerSecond, 0
}

// GlobalLimit returns the messages per second allowed over all chats.
func GlobalLimit(cfg Config) float64 {
	return cfg.withDefaults().MessagesPerSecond
}

// ErrBadToken means Telegram refused the token at start-up.
var ErrBadToken = errors.New("telegram refused the bot token")

// Bot is a running Telegram adapter. Send and Edit may be called from any
// goroutine; Run must be called once.
type Bot struct {
	cfg      Config
	log      *slog.Logger
	clock    clock.Clock
	api      *tgbotapi.BotAPI
	endpoint string // format with token and method, as tgbotapi uses it
	client   *http.Client
	h        Handler
	m        Membership
	kv       KV
	self     tgbotapi.User

	mu     sync.Mutex
	admins map[[2]int64]adminEntry
	live   map[int64]bool // chats known reachable since start
}

type adminEntry struct {
	ok bool
	at time.Time
}

// New connects to the Bot API: it checks the token with getMe and registers
// the command list with setMyCommands (a failure there is logged, not
// fatal). m may be nil, in which case membership changes are only logged.
func New(ctx context.Context, cfg Config, h Handler, m Membership, kv KV) (*Bot, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("telegram: %w: no token set", ErrBadToken)
	}
	if h == nil || kv == nil {
		return nil, errors.New("telegram: a handler and a key-value store are required")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	cfg = cfg.withDefaults()
	b := &Bot{
		cfg:    cfg,
		log:    cfg.Logger.With("platform", Platform),
		clock:  cfg.Clock,
		client: cfg.HTTPClient,
		h:      h,
		m:      m,
		kv:     kv,
		admins: map[[2]int64]adminEntry{},
		live:   map[int64]bool{},
	}
	// tgbotapi formats the endpoint with Sprintf: a '%' in the URL must not
	// be read as a verb.
	b.endpoint = strings.ReplaceAll(strings.TrimRight(cfg.APIURL, "/"), "%", "%%") + "/bot%s/%s"
	// The library's calls carry no context; the client bounds each of them.
	lib := timeoutClient{c: cfg.HTTPClient, d: cfg.RequestTimeout}
	api, err := tgbotapi.NewBotAPIWithClient(cfg.Token, b.endpoint, lib)
	if err != nil {
		err = b.redact(err)
		var te *tgbotapi.Error
		if errors.As(err, &te) && (te.Code == http.StatusUnauthorized || te.Code == http.StatusNotFound) {
			return nil, fmt.Errorf("telegram: getMe: %w: %w", ErrBadToken, err)
		}
		return nil, fmt.Errorf("telegram: getMe: %w", err)
	}
	b.api = api
	b.self = api.Self
	b.log = b.log.With("bot", api.Self.UserName)
	if _, err := api.Request(tgbotapi.NewSetMyCommands(botCommands()...)); err != nil {
		b.log.Warn("telegram setMyCommands failed; clients will not list the commands", "err", b.redact(err))
	}
	return b, nil
}

// UserName is the bot's @username, without "@".
func (b *Bot) UserName() string { return b.self.UserName }

// botCommands is the command list clients show. It mirrors the commands the
// core's handler understands.
func botCommands() []tgbotapi.BotCommand {
	return []tgbotapi.BotCommand{
		{Command: "subscribe", Description: "Follow news matching a query, e.g. /subscribe Ukraine peace"},
		{Command: "list", Description: "Show this chat's subscriptions"},
		{Command: "unsubscribe", Description: "Stop a subscription: /unsubscribe ID or all"},
		{Command: "pause", Description: "Pause one subscription or all: /pause [ID]"},
		{Command: "resume", Description: "Resume one subscription or all: /resume [ID]"},
		{Command: "preview", Description: "Show recent stories a query would match"},
		{Command: "sources", Description: "List the news sources"},
		{Command: "why", Description: "Explain an alert: /why NUMBER"},
		{Command: "mute", Description: "Stop updates to an alert's story: /mute NUMBER"},
		{Command: "set", Description: "Digest instead of instant: /set ID digest daily 08:00"},
		{Command: "quiet", Description: "Quiet hours, e.g. /quiet 23:00-07:00, or off"},
		{Command: "timezone", Description: "This chat's time zone, e.g. /timezone Europe/Kyiv"},
		{Command: "help", Description: "How to use Frontwire"},
		{Command: "start", Description: "Start talking to Frontwire"},
	}
}

func (b *Bot) offsetKey() string {
	return "telegram/update_offset/" + strconv.FormatInt(b.self.ID, 10)
}

func (b *Bot) loadOffset() int {
	raw, err := b.kv.Get(b.offsetKey())
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 {
		b.log.Warn("telegram stored update offset unreadable; starting from the pending updates", "value", string(raw))
		return 0
	}
	return n
}

// Run polls for updates and handles them until ctx is cancelled, then
// returns nil; a poll in flight is abandoned at once. It returns an error
// only when polling cannot go on (the token was revoked). The offset is
// stored after each batch, so a restart neither loses nor replays updates.
func (b *Bot) Run(ctx context.Context) error {
	offset := b.loadOffset()
	const maxBackoff = time.Minute
	backoff := time.Second
	for {
		if ctx.Err() != nil {
			return nil
		}
		raws, err := b.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait := backoff
			var te *tgbotapi.Error
			if errors.As(err, &te) {
				switch {
				case te.Code == http.StatusUnauthorized:
					return fmt.Errorf("telegram: %w: %w", ErrBadToken, err)
				case te.Code == http.StatusTooManyRequests && te.RetryAfter > 0:
					wait = time.Duration(te.RetryAfter) * time.Second
				}
			}
			b.log.Warn("telegram getUpdates failed; retrying", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return nil
			case <-b.clock.After(wait):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = time.Second
		next := offset
		for _, raw := range raws {
			if ctx.Err() != nil {
				// Unhandled updates stay unconfirmed and come again after a
				// restart.
				break
			}
			id := b.handleRaw(ctx, raw)
			if id >= next {
				next = id + 1
			}
		}
		if next != offset {
			offset = next
			if err := b.kv.Put(b.offsetKey(), []byte(strconv.Itoa(offset))); err != nil {
				b.log.Error("telegram could not store the update offset; updates may be handled again after a restart", "err", err, "offset", offset)
			}
		}
	}
}

func (b *Bot) getUpdates(ctx context.Context, offset int) ([]json.RawMessage, error) {
	p := tgbotapi.Params{
		"limit":           "100",
		"timeout":         strconv.Itoa(int(b.cfg.PollTimeout / time.Second)),
		"allowed_updates": `["message","channel_post","callback_query","my_chat_member"]`,
	}
	if offset > 0 {
		p["offset"] = strconv.Itoa(offset)
	}
	res, err := b.call(ctx, "getUpdates", p, b.cfg.PollTimeout+b.cfg.RequestTimeout)
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(res, &raws); err != nil {
		return nil, fmt.Errorf("telegram getUpdates: decoding result: %w", err)
	}
	return raws, nil
}

// threadInfo is what v5.5.1's types lack: forum topic fields, read from the
// same JSON.
type threadInfo struct {
	ThreadID int64 `json:"message_thread_id"`
	IsTopic  bool  `json:"is_topic_message"`
}

type rawUpdate struct {
	Message       *threadInfo `json:"message"`
	ChannelPost   *threadInfo `json:"channel_post"`
	CallbackQuery *struct {
		Message *threadInfo `json:"message"`
	} `json:"callback_query"`
}

// thread returns the forum topic a message is in, "" outside topics. The
// id of a reply thread in a plain supergroup is not a topic, and sending
// to it would fail, so only topic messages count.
func (t *threadInfo) thread() string {
	if t == nil || !t.IsTopic || t.ThreadID == 0 {
		return ""
	}
	return strconv.FormatInt(t.ThreadID, 10)
}

// handleRaw handles one update and returns its id; an update that cannot
// be decoded is logged and skipped, so it cannot wedge the queue.
func (b *Bot) handleRaw(ctx context.Context, raw json.RawMessage) int {
	var u tgbotapi.Update
	var extra rawUpdate
	if err := json.Unmarshal(raw, &u); err != nil {
		var id struct {
			UpdateID int `json:"update_id"`
		}
		_ = json.Unmarshal(raw, &id)
		b.log.Warn("telegram update undecodable; skipped", "update_id", id.UpdateID, "err", err)
		return id.UpdateID
	}
	_ = json.Unmarshal(raw, &extra) // same JSON: cannot fail where the above did not
	switch {
	case u.Message != nil:
		b.handleMessage(ctx, u.Message, extra.Message.thread(), false)
	case u.ChannelPost != nil:
		b.handleMessage(ctx, u.ChannelPost, extra.ChannelPost.thread(), true)
	case u.CallbackQuery != nil:
		var ti *threadInfo
		if extra.CallbackQuery != nil {
			ti = extra.CallbackQuery.Message
		}
		b.handleCallback(ctx, u.CallbackQuery, ti.thread())
	case u.MyChatMember != nil:
		b.handleMyMember(ctx, u.MyChatMember)
	}
	return u.UpdateID
}

func address(chatID int64, thread string) chat.Address {
	return chat.Address{Platform: Platform, Chat: strconv.FormatInt(chatID, 10), Thread: thread}
}

func kindOf(c *tgbotapi.Chat) chat.Kind {
	switch c.Type {
	case "private":
		return chat.Private
	case "channel":
		return chat.Channel
	default:
		return chat.Group
	}
}

func (b *Bot) handleMessage(ctx context.Context, msg *tgbotapi.Message, thread string, channelPost bool) {
	if msg.Chat == nil {
		return
	}
	if msg.MigrateToChatID != 0 {
		b.moved(ctx, msg.Chat.ID, msg.MigrateToChatID)
		return
	}
	b.markBack(ctx, msg.Chat.ID)
	name, args, ok := parseCommand(msg.Text, b.self.UserName)
	if !ok {
		return
	}
	if args == "" && (name == "mute" || name == "why") {
		// "/mute" sent as a reply to an alert names that alert.
		if n, ok := b.repliedAlert(msg); ok {
			args = strconv.FormatUint(n, 10)
		}
	}
	cmd := chat.Command{
		From: address(msg.Chat.ID, thread),
		Kind: kindOf(msg.Chat),
		Name: name,
		Args: args,
	}
	if msg.From != nil {
		cmd.User = strconv.FormatInt(msg.From.ID, 10)
		cmd.UserName = msg.From.UserName
		if cmd.UserName == "" {
			cmd.UserName = strings.TrimSpace(msg.From.FirstName + " " + msg.From.LastName)
		}
	}
	switch {
	case cmd.Kind == chat.Private:
		cmd.CanManage = true
	case channelPost || cmd.Kind == chat.Channel:
		// Only a channel's administrators can post in it.
		cmd.CanManage = channelPost
	case msg.SenderChat != nil:
		// Sent on behalf of a chat: the group itself means an anonymous
		// administrator; any other chat is a channel anyone could own.
		cmd.CanManage = msg.SenderChat.ID == msg.Chat.ID
	case msg.From != nil:
		cmd.CanManage = b.isAdmin(ctx, msg.Chat.ID, msg.From.ID)
	}
	b.log.Info("telegram command", "chat", cmd.From.String(), "user", cmd.User, "command", cmd.Name, "can_manage", cmd.CanManage)
	reply := b.h.Handle(ctx, cmd)
	replyTo := 0
	if cmd.Kind != chat.Private {
		replyTo = msg.MessageID
	}
	if err := b.reply(ctx, cmd.From, replyTo, reply); err != nil {
		b.log.Warn("telegram reply failed", "chat", cmd.From.String(), "err", err)
	}
}

// repliedAlert returns the number of the alert msg replies to, read from
// the alert's last line ("/why N · /mute N", see RenderAlert), when the
// replied-to message is the bot's own (or a channel's post, which carries
// no author). The footer must be the whole last line, with the same number
// twice, so that feed text quoted higher up in an alert cannot pass for it;
// the number is still checked against the chat's alerts by the command.
func (b *Bot) repliedAlert(msg *tgbotapi.Message) (uint64, bool) {
	r := msg.ReplyToMessage
	if r == nil || r.Text == "" {
		return 0, false
	}
	own := r.From != nil && r.From.ID == b.self.ID
	if !own && !(r.From == nil && msg.Chat.IsChannel()) {
		return 0, false
	}
	text := strings.TrimRight(r.Text, " \n")
	last := text[strings.LastIndexByte(text, '\n')+1:]
	var why, mute uint64
	if _, err := fmt.Sscanf(last, "/why %d · /mute %d", &why, &mute); err != nil || why != mute || why == 0 {
		return 0, false
	}
	if fmt.Sprintf("/why %d · /mute %d", why, mute) != last {
		return 0, false
	}
	return why, true
}

// parseCommand reads "/name@bot args". It reports false for text that is
// not a command, and for a command addressed to another bot.
func parseCommand(text, botName string) (name, args string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	head, rest, _ := strings.Cut(text[1:], " ")
	if i := strings.IndexAny(head, "\n\t"); i >= 0 {
		head, rest = head[:i], head[i+1:]+" "+rest
	}
	name, at, addressed := strings.Cut(head, "@")
	if addressed && !strings.EqualFold(at, botName) {
		return "", "", false
	}
	if !validName(name) {
		return "", "", false
	}
	return strings.ToLower(name), strings.TrimSpace(rest), true
}

// validName accepts what Telegram accepts as a command: 1 to 32 of a-z,
// 0-9 and underscore (upper case is folded by the caller).
func validName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// isAdmin asks getChatMember whether user administers chat, trusting an
// answer for AdminCacheTTL. Any failure counts as "no": a refusal is
// better than letting anyone change a group's subscriptions.
func (b *Bot) isAdmin(ctx context.Context, chatID, userID int64) bool {
	key := [2]int64{chatID, userID}
	now := b.clock.Now()
	b.mu.Lock()
	e, hit := b.admins[key]
	b.mu.Unlock()
	if hit && now.Sub(e.at) < b.cfg.AdminCacheTTL {
		return e.ok
	}
	res, err := b.call(ctx, "getChatMember", tgbotapi.Params{
		"chat_id": strconv.FormatInt(chatID, 10),
		"user_id": strconv.FormatInt(userID, 10),
	}, b.cfg.RequestTimeout)
	if err != nil {
		b.log.Warn("telegram getChatMember failed; treating the user as not an administrator", "chat", chatID, "user", userID, "err", err)
		return false
	}
	var member tgbotapi.ChatMember
	if err := json.Unmarshal(res, &member); err != nil {
		b.log.Warn("telegram getChatMember answer undecodable", "err", err)
		return false
	}
	ok := member.Status == "creator" || member.Status == "administrator"
	b.mu.Lock()
	if len(b.admins) > 10000 {
		// Keep the cache bounded: drop what has expired.
		for k, v := range b.admins {
			if now.Sub(v.at) >= b.cfg.AdminCacheTTL {
				delete(b.admins, k)
			}
		}
	}
	b.admins[key] = adminEntry{ok: ok, at: now}
	b.mu.Unlock()
	return ok
}

// markBack tells the core a chat is reachable again, once per chat per
// process run and again after every send that found it gone: a chat that
// writes to the bot is evidently there.
func (b *Bot) markBack(ctx context.Context, chatID int64) {
	b.mu.Lock()
	known := b.live[chatID]
	b.live[chatID] = true
	b.mu.Unlock()
	if known || b.m == nil {
		return
	}
	if err := b.m.ChatBack(ctx, address(chatID, "")); err != nil {
		b.log.Warn("telegram ChatBack failed", "chat", chatID, "err", err)
		b.mu.Lock()
		delete(b.live, chatID)
		b.mu.Unlock()
	}
}

// forget drops a chat from the live set, so its next message or
// re-addition calls ChatBack.
func (b *Bot) forget(chatID int64) {
	b.mu.Lock()
	delete(b.live, chatID)
	b.mu.Unlock()
}

func (b *Bot) markGone(ctx context.Context, chatID int64, reason string) {
	b.forget(chatID)
	if b.m == nil {
		b.log.Info("telegram chat gone", "chat", chatID, "reason", reason)
		return
	}
	if err := b.m.ChatGone(ctx, address(chatID, ""), reason); err != nil {
		b.log.Warn("telegram ChatGone failed", "chat", chatID, "err", err)
	}
}

func (b *Bot) moved(ctx context.Context, from, to int64) {
	b.forget(from)
	b.log.Info("telegram group became a supergroup", "chat", from, "new_chat", to)
	if b.m == nil {
		return
	}
	if err := b.m.ChatMoved(ctx, address(from, ""), address(to, "")); err != nil {
		b.log.Warn("telegram ChatMoved failed", "chat", from, "new_chat", to, "err", err)
	}
}

func (b *Bot) handleMyMember(ctx context.Context, u *tgbotapi.ChatMemberUpdated) {
	nm := u.NewChatMember
	switch {
	case nm.Status == "kicked" || nm.Status == "left" || nm.Status == "restricted" && !nm.IsMember:
		reason := "the bot was removed from the chat"
		if u.Chat.Type == "private" {
			reason = "the user blocked the bot"
		}
		b.markGone(ctx, u.Chat.ID, reason)
	case nm.Status == "member" || nm.Status == "administrator" || nm.Status == "creator" || nm.Status == "restricted":
		b.forget(u.Chat.ID) // so that markBack reports it
		b.markBack(ctx, u.Chat.ID)
	}
}

func (b *Bot) handleCallback(ctx context.Context, q *tgbotapi.CallbackQuery, thread string) {
	answer := func(text string) {
		if _, err := b.api.Request(tgbotapi.NewCallback(q.ID, truncUnits(text, 200))); err != nil {
			b.log.Warn("telegram answerCallbackQuery failed", "err", b.redact(err))
		}
	}
	name, args, ok := decodeCallback(q.Data)
	if !ok || q.Message == nil || q.Message.Chat == nil || q.From == nil {
		answer("This button no longer works.")
		return
	}
	c := q.Message.Chat
	cmd := chat.Command{
		From:     address(c.ID, thread),
		User:     strconv.FormatInt(q.From.ID, 10),
		UserName: q.From.UserName,
		Kind:     kindOf(c),
		Name:     name,
		Args:     args,
	}
	if cmd.Kind == chat.Private {
		cmd.CanManage = true
	} else {
		cmd.CanManage = b.isAdmin(ctx, c.ID, q.From.ID)
	}
	b.log.Info("telegram button", "chat", cmd.From.String(), "user", cmd.User, "command", cmd.Name, "can_manage", cmd.CanManage)
	reply := b.h.Handle(ctx, cmd)
	answer(reply.Text)
	if reply.Public || len(reply.Actions) > 0 {
		if err := b.reply(ctx, cmd.From, 0, reply); err != nil {
			b.log.Warn("telegram reply failed", "chat", cmd.From.String(), "err", err)
		}
	}
}

// encodeCallback packs a command into a button's callback_data, which
// Telegram limits to 64 bytes: "name args".
func encodeCallback(name, args string) (string, bool) {
	s := name
	if args != "" {
		s += " " + args
	}
	return s, validName(name) && len(s) <= 64
}

// decodeCallback reverses encodeCallback. The data comes from the client,
// which may send anything.
func decodeCallback(data string) (name, args string, ok bool) {
	name, args, _ = strings.Cut(data, " ")
	if !validName(name) || len(data) > 64 {
		return "", "", false
	}
	return strings.ToLower(name), strings.TrimSpace(args), true
}
