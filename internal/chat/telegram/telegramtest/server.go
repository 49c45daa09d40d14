// Package telegramtest is a fake Telegram Bot API server for tests. It runs on
// httptest, speaks the same form-encoded POST /bot<token>/<method> protocol as
// api.telegram.org and answers with the real JSON shapes, so the real
// telegram-bot-api client (and Frontwire's adapter) can be pointed at it.
//
// It serves getMe, getUpdates (a long poll fed by PushUpdate), sendMessage,
// editMessageText, setMyCommands, getChatMember, answerCallbackQuery and
// records what the bot did. It can enforce Telegram's rate limits against an
// injected clock, answering 429 with retry_after, and can fail chosen chats
// or the next requests on demand.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"frontwire/internal/clock"
)

// Options configures a Server. Zero values get working defaults.
type Options struct {
	Token       string      // default "123456:TEST-token"
	BotID       int64       // default 123456
	BotUserName string      // default "FrontwireBot"
	Clock       clock.Clock // drives rate limits and poll timeouts; default clock.Real
	Limits      Limits      // zero fields mean no limit
}

// Limits are the send limits the server enforces on sendMessage, each over a
// sliding window of the server's clock. Zero means unlimited.
type Limits struct {
	GlobalPerSecond int // all chats together
	ChatPerSecond   int // one chat
	GroupPerMinute  int // one group or channel (negative chat id)
}

// SentMessage is one accepted sendMessage or editMessageText call.
type SentMessage struct {
	MessageID             int
	ChatID                string
	ThreadID              string // message_thread_id as sent, "" if none
	Text                  string
	ParseMode             string
	ReplyMarkup           string // the raw JSON, "" if none
	Keyboard              *tgbotapi.InlineKeyboardMarkup
	DisableWebPagePreview bool
	ReplyTo               string // reply_to_message_id as sent
	At                    time.Time
}

// CallbackAnswer is one answerCallbackQuery call.
type CallbackAnswer struct {
	ID   string
	Text string
}

// Failure is a raw HTTP answer the server gives instead of serving a request.
type Failure struct {
	Status      int
	ContentType string // default text/html
	Body        string
}

type apiError struct {
	code        int
	description string
	migrateTo   int64
}

type stamped struct {
	id  int
	raw json.RawMessage
}

// Server is the fake Bot API. All methods are safe for concurrent use.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	opts  Options
	clock clock.Clock

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every state change
	updates   []stamped
	nextID    int
	offset    int // the last offset a getUpdates asked for
	polling   int // getUpdates calls currently blocked
	sent      []SentMessage
	edits     []SentMessage
	answers   []CallbackAnswer
	commands  []tgbotapi.BotCommand
	calls     map[string]int
	roles     map[[2]int64]string
	chatTypes map[int64]string
	failChat  map[string]apiError
	failNext  map[string][]Failure
	nextMsgID int
	count429  int

	global []time.Time
	perKey map[string][]time.Time
}

// NewServer starts a fake Bot API server; it is closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = "123456:TEST-token"
	}
	if opts.BotID == 0 {
		opts.BotID = 123456
	}
	if opts.BotUserName == "" {
		opts.BotUserName = "FrontwireBot"
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	s := &Server{
		t:         t,
		opts:      opts,
		clock:     opts.Clock,
		changed:   make(chan struct{}),
		nextID:    1000,
		nextMsgID: 1,
		calls:     map[string]int{},
		roles:     map[[2]int64]string{},
		chatTypes: map[int64]string{},
		failChat:  map[string]apiError{},
		failNext:  map[string][]Failure{},
		perKey:    map[string][]time.Time{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL to give the client (without /bot<token>).
func (s *Server) URL() string { return s.srv.URL }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// BotUserName is the bot's @username without "@".
func (s *Server) BotUserName() string { return s.opts.BotUserName }

// SetLimits replaces the enforced limits.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Limits = l
}

// SetRole sets what getChatMember answers for user in chat: "creator",
// "administrator", "member", "restricted", "left" or "kicked". The default
// is "member".
func (s *Server) SetRole(chatID, userID int64, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[[2]int64{chatID, userID}] = status
}

// SetChatType sets the chat type reported in sent messages. By default a
// positive id is "private" and a negative one "supergroup".
func (s *Server) SetChatType(chatID int64, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatTypes[chatID] = typ
}

// FailChat makes every sendMessage and editMessageText to chatID fail with
// the given Bot API error until ClearChat. migrateTo, if not zero, is
// returned as parameters.migrate_to_chat_id.
func (s *Server) FailChat(chatID int64, code int, description string, migrateTo int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failChat[strconv.FormatInt(chatID, 10)] = apiError{code: code, description: description, migrateTo: migrateTo}
}

// ClearChat undoes FailChat.
func (s *Server) ClearChat(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failChat, strconv.FormatInt(chatID, 10))
}

// FailNext makes the next n calls of method answer with f instead.
func (s *Server) FailNext(method string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext[method] = append(s.failNext[method], f)
	}
}

// PushUpdate queues an update for getUpdates and returns its update_id. u
// is a tgbotapi.Update, or its JSON as []byte, string or json.RawMessage. A
// zero or missing update_id is assigned the next id.
func (s *Server) PushUpdate(u any) int {
	var m map[string]any
	var raw []byte
	var err error
	switch v := u.(type) {
	case tgbotapi.Update:
		raw, err = json.Marshal(v)
	case *tgbotapi.Update:
		raw, err = json.Marshal(v)
	case []byte:
		raw = v
	case json.RawMessage:
		raw = v
	case string:
		raw = []byte(v)
	default:
		err = fmt.Errorf("unsupported type %T", u)
	}
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		s.t.Errorf("telegramtest: PushUpdate: %v", err)
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	if f, ok := m["update_id"].(float64); ok && f != 0 {
		id = int(f)
	}
	m["update_id"] = id
	if id >= s.nextID {
		s.nextID = id + 1
	}
	out, _ := json.Marshal(m)
	s.updates = append(s.updates, stamped{id: id, raw: out})
	s.notifyLocked()
	return id
}

// Sent returns every accepted sendMessage, in order.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Edits returns every accepted editMessageText, in order.
func (s *Server) Edits() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.edits)
}

// CallbackAnswers returns every answerCallbackQuery, in order.
func (s *Server) CallbackAnswers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.answers)
}

// Commands returns the command list last set with setMyCommands.
func (s *Server) Commands() []tgbotapi.BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// Calls returns how many requests of method the server received (including
// failed ones).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Count429 returns how many 429 answers the rate limiter gave.
func (s *Server) Count429() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count429
}

// Offset returns the offset of the most recent getUpdates.
func (s *Server) Offset() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offset
}

// WaitSent waits until at least n messages were sent and returns them all.
func (s *Server) WaitSent(n int, timeout time.Duration) ([]SentMessage, error) {
	err := s.waitFor(timeout, func() bool { return len(s.sent) >= n })
	if err != nil {
		return s.Sent(), fmt.Errorf("waiting for %d sent messages, got %d: %w", n, len(s.Sent()), err)
	}
	return s.Sent(), nil
}

// WaitCalls waits until method was called at least n times.
func (s *Server) WaitCalls(method string, n int, timeout time.Duration) error {
	return s.waitFor(timeout, func() bool { return s.calls[method] >= n })
}

// WaitEdits waits until at least n editMessageText calls were accepted
// (a call answered 429 and retried counts once, when accepted) and
// returns them all.
func (s *Server) WaitEdits(n int, timeout time.Duration) ([]SentMessage, error) {
	err := s.waitFor(timeout, func() bool { return len(s.edits) >= n })
	if err != nil {
		return s.Edits(), fmt.Errorf("waiting for %d accepted edits, got %d: %w", n, len(s.Edits()), err)
	}
	return s.Edits(), nil
}

// WaitCallbackAnswers waits until at least n answerCallbackQuery calls
// were accepted and returns them all. (WaitCalls counts a call when it
// arrives, before its answer is recorded: a test that read the answers
// right after it could find the newest one missing.)
func (s *Server) WaitCallbackAnswers(n int, timeout time.Duration) ([]CallbackAnswer, error) {
	err := s.waitFor(timeout, func() bool { return len(s.answers) >= n })
	if err != nil {
		return s.CallbackAnswers(), fmt.Errorf("waiting for %d callback answers, got %d: %w", n, len(s.CallbackAnswers()), err)
	}
	return s.CallbackAnswers(), nil
}

// WaitPolling waits until a getUpdates call is blocked in the long poll
// with no update to return.
func (s *Server) WaitPolling(timeout time.Duration) error {
	return s.waitFor(timeout, func() bool { return s.polling > 0 })
}

// WaitOffset waits until a getUpdates asked for at least offset, that is,
// until the bot confirmed every update below it.
func (s *Server) WaitOffset(offset int, timeout time.Duration) error {
	return s.waitFor(timeout, func() bool { return s.offset >= offset })
}

// ErrTimeout is returned by the Wait methods when the condition did not
// come true in time.
var ErrTimeout = fmt.Errorf("telegramtest: timed out")

// waitFor blocks until cond (called with s.mu held) holds. The timeout is a
// failure bound on the real clock, not a synchronisation sleep: the wait
// wakes on every state change.
func (s *Server) waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return ErrTimeout
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOK(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

func writeError(w http.ResponseWriter, e apiError, retryAfter int) {
	body := map[string]any{"ok": false, "error_code": e.code, "description": e.description}
	params := map[string]any{}
	if retryAfter > 0 {
		params["retry_after"] = retryAfter
	}
	if e.migrateTo != 0 {
		params["migrate_to_chat_id"] = e.migrateTo
	}
	if len(params) > 0 {
		body["parameters"] = params
	}
	writeJSON(w, e.code, body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		writeError(w, apiError{code: 404, description: "Not Found"}, 0)
		return
	}
	if token != s.opts.Token {
		writeError(w, apiError{code: 401, description: "Unauthorized"}, 0)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, apiError{code: 400, description: "Bad Request: " + err.Error()}, 0)
		return
	}
	s.mu.Lock()
	s.calls[method]++
	var fail *Failure
	if q := s.failNext[method]; len(q) > 0 {
		fail = &q[0]
		s.failNext[method] = q[1:]
	}
	s.notifyLocked()
	s.mu.Unlock()
	if fail != nil {
		ct := fail.ContentType
		if ct == "" {
			ct = "text/html"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(fail.Status)
		_, _ = w.Write([]byte(fail.Body))
		return
	}
	switch method {
	case "getMe":
		writeOK(w, tgbotapi.User{ID: s.opts.BotID, IsBot: true, FirstName: "Frontwire", UserName: s.opts.BotUserName})
	case "getUpdates":
		s.getUpdates(w, r)
	case "sendMessage":
		s.sendMessage(w, r, false)
	case "editMessageText":
		s.sendMessage(w, r, true)
	case "setMyCommands":
		var cmds []tgbotapi.BotCommand
		if err := json.Unmarshal([]byte(r.Form.Get("commands")), &cmds); err != nil {
			writeError(w, apiError{code: 400, description: "Bad Request: can't parse commands JSON object"}, 0)
			return
		}
		s.mu.Lock()
		s.commands = cmds
		s.notifyLocked()
		s.mu.Unlock()
		writeOK(w, true)
	case "getChatMember":
		chatID, err1 := strconv.ParseInt(r.Form.Get("chat_id"), 10, 64)
		userID, err2 := strconv.ParseInt(r.Form.Get("user_id"), 10, 64)
		if err1 != nil || err2 != nil {
			writeError(w, apiError{code: 400, description: "Bad Request: invalid user_id specified"}, 0)
			return
		}
		s.mu.Lock()
		role, ok := s.roles[[2]int64{chatID, userID}]
		s.mu.Unlock()
		if !ok {
			role = "member"
		}
		writeOK(w, tgbotapi.ChatMember{User: &tgbotapi.User{ID: userID, FirstName: "user"}, Status: role, IsMember: role != "left" && role != "kicked"})
	case "answerCallbackQuery":
		id := r.Form.Get("callback_query_id")
		if id == "" {
			writeError(w, apiError{code: 400, description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}, 0)
			return
		}
		s.mu.Lock()
		s.answers = append(s.answers, CallbackAnswer{ID: id, Text: r.Form.Get("text")})
		s.notifyLocked()
		s.mu.Unlock()
		writeOK(w, true)
	default:
		writeError(w, apiError{code: 404, description: "Not Found: method not found"}, 0)
	}
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.Form.Get("offset"))
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(r.Form.Get("timeout"))
	var expired <-chan time.Time
	s.mu.Lock()
	s.offset = offset
	if offset > 0 {
		// As in Telegram, asking for an offset confirms every earlier update.
		s.updates = slices.DeleteFunc(s.updates, func(u stamped) bool { return u.id < offset })
	}
	s.notifyLocked()
	blocked := false
	defer func() {
		if blocked {
			s.polling--
			s.notifyLocked()
		}
		s.mu.Unlock()
	}()
	for {
		var out []json.RawMessage
		for _, u := range s.updates {
			if u.id >= offset && len(out) < limit {
				out = append(out, u.raw)
			}
		}
		if len(out) > 0 || timeout <= 0 {
			if out == nil {
				out = []json.RawMessage{}
			}
			writeOK(w, out)
			return
		}
		if !blocked {
			blocked = true
			s.polling++
			s.notifyLocked()
			expired = s.clock.After(time.Duration(timeout) * time.Second)
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
			s.mu.Lock()
		case <-expired:
			s.mu.Lock()
			timeout = 0
		case <-r.Context().Done():
			s.mu.Lock()
			return
		}
	}
}

// limitedLocked applies the rate limits to one send into chatID and returns
// the retry_after to answer, or 0 when the send is allowed (and counted).
func (s *Server) limitedLocked(chatID string) int {
	l := s.opts.Limits
	now := s.clock.Now()
	type window struct {
		key   string
		list  []time.Time
		limit int
		span  time.Duration
	}
	prune := func(list []time.Time, span time.Duration) []time.Time {
		i := 0
		for i < len(list) && !list[i].After(now.Add(-span)) {
			i++
		}
		return list[i:]
	}
	s.global = prune(s.global, time.Second)
	ws := []window{{key: "", list: s.global, limit: l.GlobalPerSecond, span: time.Second}}
	chatKey := "c" + chatID
	s.perKey[chatKey] = prune(s.perKey[chatKey], time.Second)
	ws = append(ws, window{key: chatKey, list: s.perKey[chatKey], limit: l.ChatPerSecond, span: time.Second})
	if strings.HasPrefix(chatID, "-") {
		groupKey := "g" + chatID
		s.perKey[groupKey] = prune(s.perKey[groupKey], time.Minute)
		ws = append(ws, window{key: groupKey, list: s.perKey[groupKey], limit: l.GroupPerMinute, span: time.Minute})
	}
	retry := 0
	for _, w := range ws {
		if w.limit > 0 && len(w.list) >= w.limit {
			// The window frees a slot when its oldest counted send leaves it.
			wait := w.list[len(w.list)-w.limit].Add(w.span).Sub(now)
			retry = max(retry, int(math.Ceil(wait.Seconds())), 1)
		}
	}
	if retry > 0 {
		s.count429++
		return retry
	}
	s.global = append(s.global, now)
	for _, w := range ws[1:] {
		s.perKey[w.key] = append(s.perKey[w.key], now)
	}
	return 0
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, edit bool) {
	chatID := r.Form.Get("chat_id")
	text := r.Form.Get("text")
	if chatID == "" {
		writeError(w, apiError{code: 400, description: "Bad Request: chat_id is empty"}, 0)
		return
	}
	if text == "" {
		writeError(w, apiError{code: 400, description: "Bad Request: message text is empty"}, 0)
		return
	}
	m := SentMessage{
		ChatID:                chatID,
		ThreadID:              r.Form.Get("message_thread_id"),
		Text:                  text,
		ParseMode:             r.Form.Get("parse_mode"),
		ReplyMarkup:           r.Form.Get("reply_markup"),
		DisableWebPagePreview: r.Form.Get("disable_web_page_preview") == "true",
		ReplyTo:               r.Form.Get("reply_to_message_id"),
	}
	if m.ReplyMarkup != "" {
		var kb tgbotapi.InlineKeyboardMarkup
		if err := json.Unmarshal([]byte(m.ReplyMarkup), &kb); err != nil {
			writeError(w, apiError{code: 400, description: "Bad Request: can't parse reply keyboard markup JSON object"}, 0)
			return
		}
		for _, row := range kb.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData != nil && (len(*b.CallbackData) < 1 || len(*b.CallbackData) > 64) {
					writeError(w, apiError{code: 400, description: "Bad Request: BUTTON_DATA_INVALID"}, 0)
					return
				}
			}
		}
		m.Keyboard = &kb
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.failChat[chatID]; ok {
		writeError(w, e, 0)
		return
	}
	if !edit {
		if retry := s.limitedLocked(chatID); retry > 0 {
			s.notifyLocked()
			writeError(w, apiError{code: 429, description: fmt.Sprintf("Too Many Requests: retry after %d", retry)}, retry)
			return
		}
	}
	m.At = s.clock.Now()
	if edit {
		id, err := strconv.Atoi(r.Form.Get("message_id"))
		if err != nil {
			writeError(w, apiError{code: 400, description: "Bad Request: message to edit not found"}, 0)
			return
		}
		m.MessageID = id
		s.edits = append(s.edits, m)
	} else {
		m.MessageID = s.nextMsgID
		s.nextMsgID++
		s.sent = append(s.sent, m)
	}
	s.notifyLocked()
	id, _ := strconv.ParseInt(chatID, 10, 64)
	typ, ok := s.chatTypes[id]
	if !ok {
		typ = "private"
		if id < 0 {
			typ = "supergroup"
		}
	}
	writeOK(w, map[string]any{
		"message_id": m.MessageID,
		"date":       m.At.Unix(),
		"chat":       map[string]any{"id": id, "type": typ},
		"from":       map[string]any{"id": s.opts.BotID, "is_bot": true, "first_name": "Frontwire", "username": s.opts.BotUserName},
		"text":       text,
	})
}
