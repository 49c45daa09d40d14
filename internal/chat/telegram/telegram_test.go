package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/chat/telegram"
	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/clock"
)

// wait bounds how long a test waits for something that should happen at
// once; it is a failure bound, never a synchronisation sleep.
const wait = 5 * time.Second

// recorder is the test's Handler: it records commands and answers with
// reply(cmd).
type recorder struct {
	cmds  chan chat.Command
	reply func(chat.Command) chat.Reply
}

func newRecorder() *recorder {
	return &recorder{cmds: make(chan chat.Command, 100), reply: func(c chat.Command) chat.Reply {
		return chat.Reply{Text: "ok " + c.Name}
	}}
}

func (r *recorder) Handle(_ context.Context, c chat.Command) chat.Reply {
	r.cmds <- c
	return r.reply(c)
}

func (r *recorder) next(t *testing.T) chat.Command {
	t.Helper()
	select {
	case c := <-r.cmds:
		return c
	case <-time.After(wait):
		t.Fatal("no command reached the handler")
		return chat.Command{}
	}
}

// members records membership events as strings.
type members struct{ events chan string }

func newMembers() *members { return &members{events: make(chan string, 100)} }

func (m *members) ChatGone(_ context.Context, a chat.Address, reason string) error {
	m.events <- "gone " + a.String()
	return nil
}
func (m *members) ChatBack(_ context.Context, a chat.Address) error {
	m.events <- "back " + a.String()
	return nil
}
func (m *members) ChatMoved(_ context.Context, from, to chat.Address) error {
	m.events <- "moved " + from.String() + " " + to.String()
	return nil
}

func (m *members) next(t *testing.T) string {
	t.Helper()
	select {
	case e := <-m.events:
		return e
	case <-time.After(wait):
		t.Fatal("no membership event")
		return ""
	}
}

// memKV is an in-memory KV; like storage, Get fails for a missing key.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKV) Get(key string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	if !ok {
		return nil, fmt.Errorf("get %s: not found", key)
	}
	return v, nil
}

func (k *memKV) Put(key string, v []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string][]byte{}
	}
	k.m[key] = v
	return nil
}

type env struct {
	srv *telegramtest.Server
	h   *recorder
	m   *members
	kv  *memKV
	cfg telegram.Config
}

func newEnv(t *testing.T, opts telegramtest.Options) *env {
	srv := telegramtest.NewServer(t, opts)
	return &env{
		srv: srv,
		h:   newRecorder(),
		m:   newMembers(),
		kv:  &memKV{},
		cfg: telegram.Config{Token: srv.Token(), APIURL: srv.URL(), HTTPClient: srv.Client(), PollTimeout: 10 * time.Second},
	}
}

func (e *env) newBot(t *testing.T) *telegram.Bot {
	t.Helper()
	b, err := telegram.New(context.Background(), e.cfg, e.h, e.m, e.kv)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// run starts b.Run and returns a stop function that cancels it and waits
// for it to return.
func run(t *testing.T, b *telegram.Bot) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(wait):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (e *env) start(t *testing.T) *telegram.Bot {
	b := e.newBot(t)
	run(t, b)
	return b
}

// Update JSON builders, in the Bot API's shapes.

type obj = map[string]any

func user(id int64) obj {
	return obj{"id": id, "is_bot": false, "first_name": "U", "username": fmt.Sprintf("u%d", id)}
}

func chatObj(id int64, typ string) obj { return obj{"id": id, "type": typ, "title": "T"} }

func message(chatID int64, typ string, from int64, text string) obj {
	m := obj{"message_id": 77, "date": 1700000000, "chat": chatObj(chatID, typ), "text": text}
	if from != 0 {
		m["from"] = user(from)
	}
	return m
}

func update(kind string, body obj) string {
	out, _ := json.Marshal(obj{kind: body})
	return string(out)
}

func TestNewRegistersCommands(t *testing.T) {
	e := newEnv(t, telegramtest.Options{BotUserName: "NewsBot"})
	b := e.newBot(t)
	if b.UserName() != "NewsBot" || e.srv.Calls("getMe") != 1 {
		t.Errorf("getMe: user %q, calls %d", b.UserName(), e.srv.Calls("getMe"))
	}
	var names []string
	for _, c := range e.srv.Commands() {
		names = append(names, c.Command)
	}
	got := strings.Join(names, " ")
	for _, want := range []string{"start", "help", "subscribe", "unsubscribe", "list", "pause", "resume", "preview", "sources"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("setMyCommands lacks %q: %s", want, got)
		}
	}
}

func TestNewRefusesBadToken(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	e.cfg.Token = "999:wrong-secret"
	_, err := telegram.New(context.Background(), e.cfg, e.h, e.m, e.kv)
	if !errors.Is(err, telegram.ErrBadToken) {
		t.Fatalf("New with a wrong token: %v, want ErrBadToken", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("token in error: %v", err)
	}
}

func TestCommands(t *testing.T) {
	const group, admin, creator, member = -1001, 10, 11, 12
	anon := message(group, "supergroup", 1087968824, "/pause")
	anon["sender_chat"] = chatObj(group, "supergroup")
	foreign := message(group, "supergroup", 136817688, "/pause")
	foreign["sender_chat"] = chatObj(-100999, "channel")
	topic := message(group, "supergroup", admin, "/list")
	topic["message_thread_id"] = 5
	topic["is_topic_message"] = true
	reply := message(group, "supergroup", admin, "/list")
	reply["message_thread_id"] = 6 // a reply thread, not a forum topic
	tests := []struct {
		name   string
		update string
		want   *chat.Command // nil: must be ignored
	}{
		{"private subscribe", update("message", message(42, "private", 42, "/subscribe  Ukraine peace ")),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "42"}, User: "42", UserName: "u42", Kind: chat.Private, Name: "subscribe", Args: "Ukraine peace", CanManage: true}},
		{"addressed to another bot", update("message", message(42, "private", 42, "/subscribe@OtherBot x")), nil},
		{"addressed to this bot", update("message", message(42, "private", 42, "/Subscribe@FrontwireBot x")),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "42"}, User: "42", UserName: "u42", Kind: chat.Private, Name: "subscribe", Args: "x", CanManage: true}},
		{"not a command", update("message", message(42, "private", 42, "hello /subscribe")), nil},
		{"group member may not manage", update("message", message(group, "supergroup", member, "/subscribe x")),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1001"}, User: "12", UserName: "u12", Kind: chat.Group, Name: "subscribe", Args: "x"}},
		{"group administrator", update("message", message(group, "supergroup", admin, "/subscribe@frontwirebot x")),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1001"}, User: "10", UserName: "u10", Kind: chat.Group, Name: "subscribe", Args: "x", CanManage: true}},
		{"group creator", update("message", message(group, "group", creator, "/list")),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1001"}, User: "11", UserName: "u11", Kind: chat.Group, Name: "list", CanManage: true}},
		{"anonymous group administrator", update("message", anon),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1001"}, User: "1087968824", UserName: "u1087968824", Kind: chat.Group, Name: "pause", CanManage: true}},
		{"post on behalf of another channel", update("message", foreign),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1001"}, User: "136817688", UserName: "u136817688", Kind: chat.Group, Name: "pause"}},
		{"forum topic", update("message", topic),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1001", Thread: "5"}, User: "10", UserName: "u10", Kind: chat.Group, Name: "list", CanManage: true}},
		{"reply thread is not a topic", update("message", reply),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1001"}, User: "10", UserName: "u10", Kind: chat.Group, Name: "list", CanManage: true}},
		{"channel post", update("channel_post", message(-1002, "channel", 0, "/subscribe Witkoff")),
			&chat.Command{From: chat.Address{Platform: "telegram", Chat: "-1002"}, Kind: chat.Channel, Name: "subscribe", Args: "Witkoff", CanManage: true}},
	}
	e := newEnv(t, telegramtest.Options{})
	e.srv.SetRole(group, admin, "administrator")
	e.srv.SetRole(group, creator, "creator")
	e.start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.srv.PushUpdate(tt.update)
			// A marker after the update shows whether the update itself
			// reached the handler: updates are handled in order.
			e.srv.PushUpdate(update("message", message(7, "private", 7, "/marker")))
			got := e.h.next(t)
			if tt.want == nil {
				if got.Name != "marker" {
					t.Fatalf("handled %+v, want it ignored", got)
				}
				return
			}
			if got != *tt.want {
				t.Errorf("command\n got %+v\nwant %+v", got, *tt.want)
			}
			if m := e.h.next(t); m.Name != "marker" {
				t.Fatalf("after the command: %+v", m)
			}
		})
	}
	// Every handled command was answered in its chat; group answers quote
	// the command and topics are kept.
	sent, err := e.srv.WaitSent(2*(len(tests)-2), wait)
	if err != nil {
		t.Fatal(err)
	}
	var sawTopic bool
	for _, m := range sent {
		if m.ParseMode != "" {
			t.Errorf("reply sent with parse mode %q; replies are plain text", m.ParseMode)
		}
		if strings.HasPrefix(m.ChatID, "-") && m.ChatID == "-1001" && m.ReplyTo != "77" {
			t.Errorf("group reply does not quote the command: %+v", m)
		}
		sawTopic = sawTopic || m.ThreadID == "5"
	}
	if !sawTopic {
		t.Error("no reply went to the forum topic")
	}
}

func TestAdminAnswerCachedByClock(t *testing.T) {
	const group, u = -1005, 50
	fake := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, telegramtest.Options{})
	e.cfg.Clock = fake
	e.cfg.AdminCacheTTL = time.Minute
	e.start(t)
	e.srv.PushUpdate(update("message", message(group, "supergroup", u, "/pause")))
	e.srv.PushUpdate(update("message", message(group, "supergroup", u, "/pause")))
	for range 2 {
		if c := e.h.next(t); c.CanManage {
			t.Fatal("member allowed to manage")
		}
	}
	if n := e.srv.Calls("getChatMember"); n != 1 {
		t.Errorf("getChatMember called %d times within the cache time, want 1", n)
	}
	e.srv.SetRole(group, u, "administrator")
	fake.Advance(time.Minute)
	e.srv.PushUpdate(update("message", message(group, "supergroup", u, "/pause")))
	if c := e.h.next(t); !c.CanManage {
		t.Error("promoted administrator still refused after the cache expired")
	}
	if n := e.srv.Calls("getChatMember"); n != 2 {
		t.Errorf("getChatMember called %d times, want 2", n)
	}
}

func TestButtonRoundTrip(t *testing.T) {
	const group, admin, member = -1009, 1, 2
	e := newEnv(t, telegramtest.Options{})
	e.srv.SetRole(group, admin, "administrator")
	e.h.reply = func(c chat.Command) chat.Reply {
		if c.Name == "list" {
			return chat.Reply{Text: "#7 Witkoff", Actions: []chat.Action{
				{Label: "Unsubscribe #7", Command: "unsubscribe", Args: "7"},
				{Label: "Pause #7", Command: "pause", Args: "7"},
				{Label: "too long", Command: "unsubscribe", Args: strings.Repeat("9", 60)},
			}}
		}
		if !c.CanManage {
			return chat.Reply{Text: "Only administrators can do that."}
		}
		return chat.Reply{Text: "Unsubscribed #" + c.Args}
	}
	e.start(t)
	for _, chatID := range []int64{42, group} {
		e.srv.PushUpdate(update("message", message(chatID, map[bool]string{true: "private", false: "supergroup"}[chatID > 0], admin, "/list")))
		e.h.next(t)
	}
	sent, err := e.srv.WaitSent(2, wait)
	if err != nil {
		t.Fatal(err)
	}
	kb := sent[0].Keyboard
	if kb == nil || len(kb.InlineKeyboard) != 2 || len(kb.InlineKeyboard[0]) != 1 {
		t.Fatalf("keyboard = %s, want two rows of one button (the too-long one left out)", sent[0].ReplyMarkup)
	}
	data := *kb.InlineKeyboard[0][0].CallbackData
	if data != "unsubscribe 7" || kb.InlineKeyboard[0][0].Text != "Unsubscribe #7" {
		t.Fatalf("button = %+v data %q", kb.InlineKeyboard[0][0], data)
	}

	tests := []struct {
		name      string
		chatID    int64
		chatType  string
		presser   int64
		data      string
		want      string // answer text
		canManage bool
		handled   bool
	}{
		{"private press", 42, "private", 42, data, "Unsubscribed #7", true, true},
		{"group admin press", group, "supergroup", admin, data, "Unsubscribed #7", true, true},
		{"group member press", group, "supergroup", member, data, "Only administrators can do that.", false, true},
		{"forged data", 42, "private", 42, "../x 7", "This button no longer works.", false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("cb%d", i)
			msg := message(tt.chatID, tt.chatType, 0, "#7 Witkoff")
			e.srv.PushUpdate(update("callback_query", obj{"id": id, "from": user(tt.presser), "message": msg, "chat_instance": "x", "data": tt.data}))
			if tt.handled {
				c := e.h.next(t)
				if c.Name != "unsubscribe" || c.Args != "7" || c.CanManage != tt.canManage || c.From.Chat != fmt.Sprint(tt.chatID) || c.User != fmt.Sprint(tt.presser) {
					t.Errorf("command from button = %+v", c)
				}
			}
			answers, err := e.srv.WaitCallbackAnswers(i+1, wait)
			if err != nil {
				t.Fatal("callback not answered:", err)
			}
			if a := answers[len(answers)-1]; a.ID != id || a.Text != tt.want {
				t.Errorf("answer = %+v, want %q", a, tt.want)
			}
		})
	}
}

func TestOffsetSurvivesRestart(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	stop := run(t, e.newBot(t))
	var last int
	for i := range 3 {
		last = e.srv.PushUpdate(update("message", message(42, "private", 42, fmt.Sprintf("/a%d", i))))
	}
	for range 3 {
		e.h.next(t)
	}
	// The next poll confirms the batch, which the bot stored first.
	if err := e.srv.WaitOffset(last+1, wait); err != nil {
		t.Fatal("batch not confirmed")
	}
	stop()
	// Sent while the bot is down: must not be lost.
	for i := range 2 {
		last = e.srv.PushUpdate(update("message", message(42, "private", 42, fmt.Sprintf("/b%d", i))))
	}
	run(t, e.newBot(t))
	for i := range 2 {
		if c := e.h.next(t); c.Name != fmt.Sprintf("b%d", i) {
			t.Fatalf("after restart got %q, want b%d (a replay or a loss)", c.Name, i)
		}
	}
	if err := e.srv.WaitOffset(last+1, wait); err != nil {
		t.Fatal("second batch not confirmed")
	}
	if err := e.srv.WaitPolling(wait); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-e.h.cmds:
		t.Fatalf("update handled twice: %+v", c)
	default:
	}
}

func TestRunReturnsPromptlyOnCancel(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	e.cfg.PollTimeout = 10 * time.Minute
	b := e.newBot(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if err := e.srv.WaitPolling(wait); err != nil {
		t.Fatal("no getUpdates in flight")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("Run still blocked in getUpdates after cancel")
	}
}

func TestRunStopsOnRevokedToken(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	b := e.newBot(t)
	e.srv.FailNext("getUpdates", 1, telegramtest.Failure{Status: 401, ContentType: "application/json", Body: `{"ok":false,"error_code":401,"description":"Unauthorized"}`})
	err := b.Run(context.Background())
	if !errors.Is(err, telegram.ErrBadToken) {
		t.Fatalf("Run = %v, want ErrBadToken", err)
	}
}

func TestRunRetriesPollErrors(t *testing.T) {
	fake := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, telegramtest.Options{})
	e.cfg.Clock = fake
	e.srv.FailNext("getUpdates", 1, telegramtest.Failure{Status: 502, Body: "<html>Bad Gateway</html>"})
	e.start(t)
	e.srv.PushUpdate(update("message", message(42, "private", 42, "/list")))
	fake.WaitForWaiters(1) // the bot waits out its backoff on the clock
	fake.Advance(time.Second)
	if c := e.h.next(t); c.Name != "list" {
		t.Fatalf("got %+v", c)
	}
}

func alertMsg(to chat.Address, a chat.Alert) chat.Message {
	return chat.Message{To: to, Kind: chat.KindAlert, Alert: &a}
}

func TestSendAlert(t *testing.T) {
	hostile := `<b>x</b> &amp; </a><a href="http://evil">`
	alert := chat.Alert{Source: "Wire", Title: hostile, Link: "https://news.example/1", Summary: strings.Repeat("long summary ", 800), Matched: []string{"x"}}
	tests := []struct {
		name     string
		previews bool
		to       chat.Address
	}{
		{"private, previews off by default", false, chat.Address{Platform: "telegram", Chat: "42"}},
		{"forum topic with previews on", true, chat.Address{Platform: "telegram", Chat: "-1001", Thread: "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, telegramtest.Options{})
			e.cfg.LinkPreviews = tt.previews
			b := e.newBot(t)
			s, err := b.Send(context.Background(), alertMsg(tt.to, alert))
			if err != nil {
				t.Fatal(err)
			}
			got := e.srv.Sent()
			if len(got) != 1 {
				t.Fatalf("sent %d messages", len(got))
			}
			m := got[0]
			if s.MessageID != fmt.Sprint(m.MessageID) || m.ChatID != tt.to.Chat || m.ThreadID != tt.to.Thread {
				t.Errorf("sent %+v, returned %+v", m, s)
			}
			if m.ParseMode != "HTML" || m.DisableWebPagePreview == tt.previews {
				t.Errorf("parse mode %q, previews disabled %v", m.ParseMode, m.DisableWebPagePreview)
			}
			visible, links, err := telegram.ValidateHTML(m.Text)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(visible, hostile+"\n") || len(links) != 1 || links[0] != alert.Link {
				t.Errorf("hostile title not literal: visible %.80q links %q", visible, links)
			}
			if n := len(utf16Units(visible)); n > telegram.MaxTextUnits {
				t.Errorf("visible text %d units", n)
			}
		})
	}
}

func utf16Units(s string) []uint16 {
	var out []uint16
	for _, r := range s {
		if r >= 0x10000 {
			out = append(out, 0, 0)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

func TestSendText(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	b := e.newBot(t)
	if _, err := b.Send(context.Background(), chat.Message{To: chat.Address{Platform: "telegram", Chat: "42"}, Kind: chat.KindText, Text: "<b>not bold</b> & fine"}); err != nil {
		t.Fatal(err)
	}
	m := e.srv.Sent()[0]
	if m.ParseMode != "" || m.Text != "<b>not bold</b> & fine" {
		t.Errorf("text sent as %q with parse mode %q", m.Text, m.ParseMode)
	}
	for _, bad := range []chat.Message{
		{To: chat.Address{Platform: "discord", Chat: "42"}, Kind: chat.KindText, Text: "x"},
		{To: chat.Address{Platform: "telegram", Chat: "abc"}, Kind: chat.KindText, Text: "x"},
		{To: chat.Address{Platform: "telegram", Chat: "42"}, Kind: chat.KindAlert},
		{To: chat.Address{Platform: "telegram", Chat: "42"}, Kind: chat.KindText},
	} {
		if _, err := b.Send(context.Background(), bad); !errors.Is(err, chat.ErrRejected) {
			t.Errorf("Send(%+v) = %v, want ErrRejected", bad, err)
		}
	}
}

func TestSendErrors(t *testing.T) {
	to := chat.Address{Platform: "telegram", Chat: "-300"}
	jsonFail := func(status int, body string) telegramtest.Failure {
		return telegramtest.Failure{Status: status, ContentType: "application/json", Body: body}
	}
	tests := []struct {
		name    string
		prepare func(s *telegramtest.Server)
		check   func(t *testing.T, err error)
		event   string // membership event expected, if any
	}{
		{"429 carries retry_after", func(s *telegramtest.Server) {
			s.FailNext("sendMessage", 1, jsonFail(429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`))
		}, func(t *testing.T, err error) {
			var ra *chat.RetryAfterError
			if !errors.As(err, &ra) || ra.After != 7*time.Second {
				t.Errorf("err = %v, want RetryAfterError of 7s", err)
			}
		}, ""},
		{"403 blocked", func(s *telegramtest.Server) { s.FailChat(-300, 403, "Forbidden: bot was blocked by the user", 0) },
			wantIs(chat.ErrChatGone), ""},
		{"400 chat not found", func(s *telegramtest.Server) { s.FailChat(-300, 400, "Bad Request: chat not found", 0) },
			wantIs(chat.ErrChatGone), ""},
		{"400 bot was kicked", func(s *telegramtest.Server) {
			s.FailChat(-300, 400, "Bad Request: bot was kicked from the supergroup chat", 0)
		}, wantIs(chat.ErrChatGone), ""},
		{"400 upgraded to supergroup", func(s *telegramtest.Server) {
			s.FailChat(-300, 400, "Bad Request: group chat was upgraded to a supergroup chat", -100300)
		}, wantIs(chat.ErrChatGone), "moved telegram:-300 telegram:-100300"},
		{"other 400", func(s *telegramtest.Server) { s.FailChat(-300, 400, "Bad Request: can't parse entities", 0) },
			wantIs(chat.ErrRejected), ""},
		{"500", func(s *telegramtest.Server) {
			s.FailNext("sendMessage", 1, jsonFail(500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`))
		}, wantTransient, ""},
		{"502 HTML page from a proxy", func(s *telegramtest.Server) {
			s.FailNext("sendMessage", 1, telegramtest.Failure{Status: 502, Body: "<html><body>502 Bad Gateway</body></html>"})
		}, wantTransient, ""},
		{"200 with a non-JSON body", func(s *telegramtest.Server) {
			s.FailNext("sendMessage", 1, telegramtest.Failure{Status: 200, Body: "captive portal"})
		}, wantTransient, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, telegramtest.Options{})
			b := e.newBot(t)
			tt.prepare(e.srv)
			_, err := b.Send(context.Background(), chat.Message{To: to, Kind: chat.KindText, Text: "hello"})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			tt.check(t, err)
			if strings.Contains(err.Error(), e.srv.Token()) {
				t.Errorf("token in error: %v", err)
			}
			if tt.event != "" {
				if got := e.m.next(t); got != tt.event {
					t.Errorf("membership event %q, want %q", got, tt.event)
				}
			}
		})
	}
}

func wantIs(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("err = %v, want %v", err, target)
		}
	}
}

func wantTransient(t *testing.T, err error) {
	t.Helper()
	var ra *chat.RetryAfterError
	if errors.Is(err, chat.ErrChatGone) || errors.Is(err, chat.ErrRejected) || errors.As(err, &ra) {
		t.Errorf("err = %v, want a plain transient error", err)
	}
}

func TestSendNetworkErrorHidesToken(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	b := e.newBot(t)
	// A client whose transport fails every request as an unreachable
	// network would, after the bot was built.
	e.srv.Client().Transport.(*http.Transport).CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Send(ctx, chat.Message{To: chat.Address{Platform: "telegram", Chat: "42"}, Kind: chat.KindText, Text: "x"})
	if err == nil {
		t.Fatal("Send with a cancelled context succeeded")
	}
	if strings.Contains(err.Error(), e.srv.Token()) || !strings.Contains(err.Error(), "<token>") {
		t.Errorf("error does not redact the token: %v", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error lost its cause: %v", err)
	}
	wantTransient(t, err)
}

func TestRateLimitedSendWaitsOut(t *testing.T) {
	fake := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, telegramtest.Options{Clock: fake, Limits: telegramtest.Limits{ChatPerSecond: 1, GroupPerMinute: 20, GlobalPerSecond: 30}})
	b := e.newBot(t)
	to := chat.Address{Platform: "telegram", Chat: "42"}
	if _, err := b.Send(context.Background(), chat.Message{To: to, Kind: chat.KindText, Text: "1"}); err != nil {
		t.Fatal(err)
	}
	_, err := b.Send(context.Background(), chat.Message{To: to, Kind: chat.KindText, Text: "2"})
	var ra *chat.RetryAfterError
	if !errors.As(err, &ra) || ra.After != time.Second {
		t.Fatalf("second send in the same second: %v, want retry after 1s", err)
	}
	fake.Advance(ra.After)
	if _, err := b.Send(context.Background(), chat.Message{To: to, Kind: chat.KindText, Text: "2"}); err != nil {
		t.Fatalf("send after waiting: %v", err)
	}
	if got := e.srv.Sent(); len(got) != 2 || got[1].Text != "2" || e.srv.Count429() != 1 {
		t.Errorf("sent %d, 429s %d", len(got), e.srv.Count429())
	}
}

func TestEdit(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	b := e.newBot(t)
	to := chat.Address{Platform: "telegram", Chat: "42"}
	a := chat.Alert{Title: "Old", Link: "https://n.example/1"}
	s, err := b.Send(context.Background(), alertMsg(to, a))
	if err != nil {
		t.Fatal(err)
	}
	a.Title = "New & updated"
	if err := b.Edit(context.Background(), to, s.MessageID, alertMsg(to, a)); err != nil {
		t.Fatal(err)
	}
	edits := e.srv.Edits()
	if len(edits) != 1 || fmt.Sprint(edits[0].MessageID) != s.MessageID || !strings.Contains(edits[0].Text, "New &amp; updated") || edits[0].ParseMode != "HTML" {
		t.Errorf("edits = %+v", edits)
	}
	e.srv.FailNext("editMessageText", 1, telegramtest.Failure{Status: 400, ContentType: "application/json",
		Body: `{"ok":false,"error_code":400,"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same"}`})
	if err := b.Edit(context.Background(), to, s.MessageID, alertMsg(to, a)); err != nil {
		t.Errorf("edit to the same text: %v, want nil", err)
	}
}

func TestMembership(t *testing.T) {
	e := newEnv(t, telegramtest.Options{})
	b := e.newBot(t)
	run(t, b)
	memberUpdate := func(chatID int64, typ, status string) string {
		return update("my_chat_member", obj{"chat": chatObj(chatID, typ), "from": user(1), "date": 1,
			"old_chat_member": obj{"user": user(123456), "status": "member"},
			"new_chat_member": obj{"user": user(123456), "status": status}})
	}
	steps := []struct {
		name   string
		update string
		want   string
	}{
		{"user writes", update("message", message(42, "private", 42, "hi")), "back telegram:42"},
		{"user blocks the bot", memberUpdate(42, "private", "kicked"), "gone telegram:42"},
		{"user unblocks the bot", memberUpdate(42, "private", "member"), "back telegram:42"},
		{"bot removed from group", memberUpdate(-500, "group", "left"), "gone telegram:-500"},
		{"bot added back as admin", memberUpdate(-500, "supergroup", "administrator"), "back telegram:-500"},
		{"group becomes a supergroup", update("message", obj{"message_id": 1, "date": 1, "chat": chatObj(-500, "group"), "migrate_to_chat_id": -100500}), "moved telegram:-500 telegram:-100500"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.srv.PushUpdate(s.update)
			if got := e.m.next(t); got != s.want {
				t.Errorf("event %q, want %q", got, s.want)
			}
		})
	}
	t.Run("a chat found gone on send comes back when it writes", func(t *testing.T) {
		e.srv.FailChat(42, 403, "Forbidden: bot was blocked by the user", 0)
		if _, err := b.Send(context.Background(), chat.Message{To: chat.Address{Platform: "telegram", Chat: "42"}, Kind: chat.KindText, Text: "x"}); !errors.Is(err, chat.ErrChatGone) {
			t.Fatalf("send to blocked chat: %v", err)
		}
		e.srv.ClearChat(42)
		e.srv.PushUpdate(update("message", message(42, "private", 42, "/start")))
		if got := e.m.next(t); got != "back telegram:42" {
			t.Errorf("event %q", got)
		}
	})
	t.Run("a known chat writing again is not reported each time", func(t *testing.T) {
		e.srv.PushUpdate(update("message", message(42, "private", 42, "/list")))
		e.h.next(t) // the /start of the previous step
		e.h.next(t)
		select {
		case ev := <-e.m.events:
			t.Errorf("unexpected event %q", ev)
		default:
		}
	})
}

func TestChatLimits(t *testing.T) {
	cfg := telegram.Config{}
	tests := []struct {
		chat            string
		perSec, perMin  float64
		scaled, scaledM float64
	}{
		{"42", 1, 0, 20, 0},
		{"-1001", 1, 20, 20, 400},
	}
	for _, tt := range tests {
		t.Run(tt.chat, func(t *testing.T) {
			ps, pm := telegram.ChatLimits(chat.Address{Platform: "telegram", Chat: tt.chat}, cfg)
			if ps != tt.perSec || pm != tt.perMin {
				t.Errorf("defaults: %v/s %v/min", ps, pm)
			}
			ps, pm = telegram.ChatLimits(chat.Address{Platform: "telegram", Chat: tt.chat}, telegram.Config{ChatMessagesPerSecond: 20, GroupMessagesPerMinute: 400})
			if ps != tt.scaled || pm != tt.scaledM {
				t.Errorf("scaled: %v/s %v/min", ps, pm)
			}
		})
	}
	if g := telegram.GlobalLimit(cfg); g != 30 {
		t.Errorf("global limit %v, want 30", g)
	}
}

// BenchmarkSend measures one alert through Send, the real HTTP client and
// the fake server (no limits): the adapter's own cost per message.
func BenchmarkSend(b *testing.B) {
	srv := telegramtest.NewServer(b, telegramtest.Options{})
	cfg := telegram.Config{Token: srv.Token(), APIURL: srv.URL(), HTTPClient: srv.Client()}
	bot, err := telegram.New(context.Background(), cfg, newRecorder(), nil, &memKV{})
	if err != nil {
		b.Fatal(err)
	}
	a := chat.Alert{Source: "Wire", Title: "Talks <resume>", Link: "https://news.example/1", Summary: strings.Repeat("word ", 80), Matched: []string{"talks"}}
	m := alertMsg(chat.Address{Platform: "telegram", Chat: "42"}, a)
	for b.Loop() {
		if _, err := bot.Send(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderAlert(b *testing.B) {
	a := chat.Alert{Source: "Wire", Title: "Talks <resume> & more", Link: "https://news.example/1?a=1&b=2", Summary: strings.Repeat("word & <tag> ", 800), Matched: []string{"talks"}}
	for b.Loop() {
		_ = telegram.RenderAlert(a, false)
	}
}
