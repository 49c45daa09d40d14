package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"frontwire/internal/chat"
)

// maxResponse bounds how much of an answer is read: a proxy or a hostile
// server must not make the bot read without end.
const maxResponse = 16 << 20

// call makes one Bot API call as tgbotapi does (a form-encoded POST to the
// same endpoint) but under ctx, bounded by timeout. A Telegram error comes
// back as a wrapped *tgbotapi.Error; an answer that is not the API's JSON (a
// proxy's error page) as a plain error naming the HTTP status. The token
// never appears in an error.
func (b *Bot) call(ctx context.Context, method string, p tgbotapi.Params, timeout time.Duration) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	endpoint := fmt.Sprintf(b.endpoint, b.cfg.Token, method)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("telegram %s: %w", method, b.redact(err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("telegram %s: %w", method, b.redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("telegram %s: reading answer (HTTP %d): %w", method, resp.StatusCode, b.redact(err))
	}
	var ar tgbotapi.APIResponse
	if err := json.Unmarshal(body, &ar); err != nil {
		return nil, fmt.Errorf("telegram %s: HTTP %d with an answer that is not Bot API JSON (%.60q): %w", method, resp.StatusCode, bytes.TrimSpace(body), err)
	}
	if !ar.Ok {
		te := &tgbotapi.Error{Code: ar.ErrorCode, Message: ar.Description}
		if te.Code == 0 {
			te.Code = resp.StatusCode
		}
		if ar.Parameters != nil {
			te.ResponseParameters = *ar.Parameters
		}
		return nil, fmt.Errorf("telegram %s: %d %w", method, te.Code, te)
	}
	return ar.Result, nil
}

// redact removes the token from an error: tgbotapi and net/http put it in
// the URL, and *url.Error prints the URL.
func (b *Bot) redact(err error) error {
	if err == nil || b.cfg.Token == "" || !strings.Contains(err.Error(), b.cfg.Token) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) && !strings.Contains(ue.Err.Error(), b.cfg.Token) && err == error(ue) {
		return &url.Error{Op: ue.Op, URL: strings.ReplaceAll(ue.URL, b.cfg.Token, "<token>"), Err: ue.Err}
	}
	// Anything else: keep the words, lose the chain rather than the secret.
	return errors.New(strings.ReplaceAll(err.Error(), b.cfg.Token, "<token>"))
}

// timeoutClient bounds the calls tgbotapi makes, which carry no context.
type timeoutClient struct {
	c *http.Client
	d time.Duration
}

func (t timeoutClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.d)
	resp, err := t.c.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// goneMessage reports whether a 400 description means the bot cannot reach
// the chat any more. Telegram gives no code for these; its descriptions are
// the only signal.
func goneMessage(desc string) bool {
	desc = strings.ToLower(desc)
	for _, g := range []string{
		"chat not found",
		"bot was kicked",
		"group chat was upgraded",
		"bot is not a member",
		"user is deactivated",
		"peer_id_invalid",
		"need administrator rights in the channel chat",
		"not enough rights to send text messages",
	} {
		if strings.Contains(desc, g) {
			return true
		}
	}
	return false
}

// mapError turns a failed send or edit into the chat package's vocabulary:
// *chat.RetryAfterError for 429, chat.ErrChatGone when the chat cannot be
// reached, chat.ErrRejected for any other 400, and
// the error itself (transient) for the rest. The dispatcher that gets
// ErrChatGone pauses the chat; the adapter only forgets that the chat was
// live, so that the chat's next message reports it back. A group upgraded to
// a supergroup is reported to Membership.ChatMoved here, since only this
// answer carries the new id.
func (b *Bot) mapError(ctx context.Context, chatID int64, err error) error {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		return err
	}
	switch {
	case te.Code == http.StatusTooManyRequests:
		after := time.Duration(max(te.RetryAfter, 1)) * time.Second
		return &chat.RetryAfterError{After: after, Err: err}
	case te.MigrateToChatID != 0:
		b.moved(ctx, chatID, te.MigrateToChatID)
		return fmt.Errorf("%w (moved to %d): %w", chat.ErrChatGone, te.MigrateToChatID, err)
	case te.Code == http.StatusForbidden:
		b.forget(chatID)
		return fmt.Errorf("%w: %w", chat.ErrChatGone, err)
	case te.Code == http.StatusBadRequest && goneMessage(te.Message):
		b.forget(chatID)
		return fmt.Errorf("%w: %w", chat.ErrChatGone, err)
	case te.Code == http.StatusBadRequest:
		return fmt.Errorf("%w: %w", chat.ErrRejected, err)
	}
	return err
}

func parseAddress(a chat.Address) (chatID int64, thread string, err error) {
	if a.Platform != Platform {
		return 0, "", fmt.Errorf("telegram: %w: address %s is not a Telegram chat", chat.ErrRejected, a)
	}
	chatID, err = strconv.ParseInt(a.Chat, 10, 64)
	if err != nil || chatID == 0 {
		return 0, "", fmt.Errorf("telegram: %w: bad chat id %q", chat.ErrRejected, a.Chat)
	}
	if a.Thread != "" {
		if _, err := strconv.ParseInt(a.Thread, 10, 64); err != nil {
			return 0, "", fmt.Errorf("telegram: %w: bad thread id %q", chat.ErrRejected, a.Thread)
		}
	}
	return chatID, a.Thread, nil
}

// render returns the text and parse mode of a message.
func (b *Bot) render(m chat.Message) (text, parseMode string, err error) {
	switch m.Kind {
	case chat.KindAlert:
		if m.Alert == nil {
			return "", "", fmt.Errorf("telegram: %w: alert message without an alert", chat.ErrRejected)
		}
		return RenderAlert(*m.Alert, b.cfg.LinkPreviews), "HTML", nil
	case chat.KindDigest:
		if m.Digest == nil || len(m.Digest.Items) == 0 {
			return "", "", fmt.Errorf("telegram: %w: digest message without items", chat.ErrRejected)
		}
		return RenderDigest(*m.Digest), "HTML", nil
	case chat.KindText:
		t := truncUnits(cleanText(m.Text), MaxTextUnits)
		if t == "" {
			return "", "", fmt.Errorf("telegram: %w: empty text", chat.ErrRejected)
		}
		return t, "", nil
	}
	return "", "", fmt.Errorf("telegram: %w: unknown message kind %q", chat.ErrRejected, m.Kind)
}

// Send delivers one message: an alert in HTML, or text as plain text. It
// makes one HTTP call and never sleeps; pacing and retries are the
// dispatcher's. Errors: *chat.RetryAfterError, chat.ErrChatGone,
// chat.ErrRejected, or another (transient) error.
func (b *Bot) Send(ctx context.Context, m chat.Message) (chat.Sent, error) {
	chatID, thread, err := parseAddress(m.To)
	if err != nil {
		return chat.Sent{}, err
	}
	text, mode, err := b.render(m)
	if err != nil {
		return chat.Sent{}, err
	}
	p := tgbotapi.Params{
		"chat_id":                  strconv.FormatInt(chatID, 10),
		"text":                     text,
		"disable_web_page_preview": strconv.FormatBool(!b.cfg.LinkPreviews),
	}
	if mode != "" {
		p["parse_mode"] = mode
	}
	if thread != "" {
		p["message_thread_id"] = thread
	}
	res, err := b.call(ctx, "sendMessage", p, b.cfg.RequestTimeout)
	if err != nil {
		return chat.Sent{}, b.mapError(ctx, chatID, err)
	}
	var sent tgbotapi.Message
	if err := json.Unmarshal(res, &sent); err != nil {
		// Telegram took the message; only its id is lost. Reporting an
		// error would make the dispatcher send it twice.
		b.log.Warn("telegram sendMessage answer undecodable", "chat", m.To.String(), "err", err)
		return chat.Sent{}, nil
	}
	return chat.Sent{MessageID: strconv.Itoa(sent.MessageID)}, nil
}

// Edit replaces the text of a message sent earlier. Editing to the same
// text is not an error. Errors are mapped as in Send.
func (b *Bot) Edit(ctx context.Context, to chat.Address, messageID string, m chat.Message) error {
	chatID, _, err := parseAddress(to)
	if err != nil {
		return err
	}
	if _, err := strconv.Atoi(messageID); err != nil {
		return fmt.Errorf("telegram: %w: bad message id %q", chat.ErrRejected, messageID)
	}
	text, mode, err := b.render(m)
	if err != nil {
		return err
	}
	p := tgbotapi.Params{
		"chat_id":                  strconv.FormatInt(chatID, 10),
		"message_id":               messageID,
		"text":                     text,
		"disable_web_page_preview": strconv.FormatBool(!b.cfg.LinkPreviews),
	}
	if mode != "" {
		p["parse_mode"] = mode
	}
	if _, err := b.call(ctx, "editMessageText", p, b.cfg.RequestTimeout); err != nil {
		var te *tgbotapi.Error
		if errors.As(err, &te) && te.Code == http.StatusBadRequest && strings.Contains(strings.ToLower(te.Message), "message is not modified") {
			return nil
		}
		return b.mapError(ctx, chatID, err)
	}
	return nil
}

// reply sends a command's answer as plain text, split at line ends when it
// is longer than a message, with its actions as an inline keyboard under
// the last part.
func (b *Bot) reply(ctx context.Context, to chat.Address, replyTo int, r chat.Reply) error {
	chatID, thread, err := parseAddress(to)
	if err != nil {
		return err
	}
	parts := splitText(cleanText(r.Text), MaxTextUnits)
	if len(parts) == 0 {
		if len(r.Actions) == 0 {
			return nil
		}
		parts = []string{"…"}
	}
	keyboard := b.keyboard(r.Actions)
	for i, part := range parts {
		p := tgbotapi.Params{
			"chat_id":                  strconv.FormatInt(chatID, 10),
			"text":                     part,
			"disable_web_page_preview": "true",
		}
		if thread != "" {
			p["message_thread_id"] = thread
		}
		if replyTo != 0 && i == 0 {
			p["reply_to_message_id"] = strconv.Itoa(replyTo)
			p["allow_sending_without_reply"] = "true"
		}
		if i == len(parts)-1 && keyboard != "" {
			p["reply_markup"] = keyboard
		}
		if err := b.sendReplyPart(ctx, chatID, p); err != nil {
			return err
		}
	}
	return nil
}

// maxReplyWait is the longest 429 a command's reply waits out. Replies do
// not go through the outbox, so a dropped one is lost; but someone is
// waiting for the answer, and a longer wait (a group's per-minute limit)
// would hold up every later update behind it.
const maxReplyWait = 30 * time.Second

// sendReplyPart sends one part of a reply. A 429 is waited out once, when
// Telegram asks for at most maxReplyWait and ctx allows, and the part sent
// again; any other failure, or a second 429, is returned.
func (b *Bot) sendReplyPart(ctx context.Context, chatID int64, p tgbotapi.Params) error {
	_, err := b.call(ctx, "sendMessage", p, b.cfg.RequestTimeout)
	var te *tgbotapi.Error
	if err != nil && errors.As(err, &te) && te.Code == http.StatusTooManyRequests {
		after := time.Duration(max(te.RetryAfter, 1)) * time.Second
		if after <= maxReplyWait {
			b.log.Info("telegram reply rate limited; waiting", "chat_id", chatID, "retry_in", after)
			select {
			case <-ctx.Done():
				return fmt.Errorf("telegram reply: waiting out 429: %w", ctx.Err())
			case <-b.clock.After(after):
			}
			_, err = b.call(ctx, "sendMessage", p, b.cfg.RequestTimeout)
		}
	}
	if err != nil {
		return b.mapError(ctx, chatID, err)
	}
	return nil
}

// keyboard renders actions as an inline keyboard, one button a row. An
// action whose command does not fit Telegram's 64-byte callback data is left
// out (and logged) rather than having Telegram refuse the whole reply.
func (b *Bot) keyboard(actions []chat.Action) string {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, a := range actions {
		data, ok := encodeCallback(a.Command, strings.TrimSpace(a.Args))
		if !ok {
			b.log.Warn("telegram button left out: command too long for callback data", "command", a.Command)
			continue
		}
		label := truncUnits(oneLine(a.Label), 64)
		if label == "" {
			label = a.Command
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(label, data)))
	}
	if len(rows) == 0 {
		return ""
	}
	out, err := json.Marshal(tgbotapi.NewInlineKeyboardMarkup(rows...))
	if err != nil {
		return ""
	}
	return string(out)
}

// splitText cuts s into pieces of at most max UTF-16 units, at line ends
// where it can.
func splitText(s string, max int) []string {
	var out []string
	for s != "" {
		if units(s) <= max {
			out = append(out, s)
			break
		}
		n, cut, lastNL := 0, len(s), -1
		for i, r := range s {
			if n+units(string(r)) > max {
				cut = i
				break
			}
			n += units(string(r))
			if r == '\n' {
				lastNL = i
			}
		}
		if lastNL > 0 {
			cut = lastNL
		}
		out = append(out, strings.TrimSpace(s[:cut]))
		s = strings.TrimSpace(s[cut:])
	}
	return out
}
