package telegram_test

// End-to-end tests: Frontwire started exactly as `bot run` starts it
// (daemon.New + Run) with Telegram enabled, pointed at the fake Bot API
// server, a feed served over HTTP by the test, and a real bbolt file. People
// talk to the bot by updates pushed to the fake; what Telegram would show
// them is what the fake recorded.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"frontwire/internal/chat/telegram"
	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// e2eWait bounds every wait for something that should happen promptly; it
// is a failure bound, never a synchronisation sleep.
const e2eWait = 10 * time.Second

// e2eStart is the fake clock's start: the feeds' stories are from an hour
// before.
var e2eStart = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// rssItem is one <item> whose desc goes in CDATA, as most feeds send HTML;
// title is inserted as XML as given (the caller escapes it). Items published
// later get a later minute, so a test can order them.
func rssItem(guid, title, desc string, minute int) string {
	return feedtest.HTMLItem(guid, title, desc, e2eStart.Add(-time.Hour+time.Duration(minute)*time.Minute))
}

// serverClock gives the fake Bot API the test's fake time for its rate
// windows, so that they agree with the dispatcher's pacing, while its long
// polls time out on the real clock and never register waiters on the fake.
type serverClock struct{ f *clock.Fake }

func (c serverClock) Now() time.Time                         { return c.f.Now() }
func (c serverClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// tWriter sends the daemon's log to the test's log, shown when it fails.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// e2e is one Frontwire instance with its fake Telegram and its feed.
type e2e struct {
	t    *testing.T
	tg   *telegramtest.Server
	site *feedtest.Site
	feed *httptest.Server
	dir  string
	clk  clock.Clock
	cfg  config.Config

	d    *daemon.Daemon
	stop func()
}

type e2eOptions struct {
	realClock bool
	limits    telegramtest.Limits
	tune      func(*config.Config)
}

func newE2E(t *testing.T, o e2eOptions) *e2e {
	t.Helper()
	e := &e2e{t: t, site: &feedtest.Site{}, dir: t.TempDir()}
	srvOpts := telegramtest.Options{Limits: o.limits}
	if o.realClock {
		e.clk = clock.Real{}
	} else {
		fake := clock.NewFake(e2eStart)
		e.clk = fake
		srvOpts.Clock = serverClock{fake}
	}
	e.tg = telegramtest.NewServer(t, srvOpts)
	e.feed = httptest.NewServer(e.site)
	t.Cleanup(e.feed.Close)

	cfg := config.Default()
	cfg.Bot.DataDir = e.dir
	// Cron runs on the real clock: an hour never passes in a test, so only
	// the test's PollAll calls poll.
	cfg.Bot.PollSchedule = "@every 1h"
	cfg.Sources = []config.Source{{Name: "Test Wire", URL: e.feed.URL}}
	cfg.Bot.AllowPrivateSources = true // the test's feed is on loopback
	cfg.Telegram.Enabled = true
	cfg.Telegram.Token = e.tg.Token()
	cfg.Telegram.APIURL = e.tg.URL()
	if o.tune != nil {
		o.tune(&cfg)
	}
	e.cfg = cfg
	return e
}

// start builds Frontwire as `bot run` does, polls the feed once (a new
// source's first poll only marks what is there as seen) and runs it. It
// polls before Run so that Run's start-up poll has nothing due.
func (e *e2e) start() {
	e.t.Helper()
	ctx := context.Background()
	d, err := daemon.New(ctx, daemon.Options{
		Config:              e.cfg,
		Version:             "test",
		Logger:              slog.New(slog.NewTextHandler(tWriter{e.t}, nil)),
		Clock:               e.clk,
		DBOptions:           storage.Options{NoSync: true, Timeout: time.Second},
		PlatformClient:      e.tg.Client(),
		TelegramPollTimeout: 5 * time.Second,
	})
	if err != nil {
		e.t.Fatalf("daemon.New: %v", err)
	}
	e.d = d
	e.poll()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run: %v", err)
				}
			case <-time.After(e2eWait):
				e.t.Error("Run did not return after cancel")
			}
			if err := d.Close(); err != nil {
				e.t.Errorf("Close: %v", err)
			}
		})
	}
	e.t.Cleanup(e.stop)
}

// poll polls the feed now, as a cron tick would.
func (e *e2e) poll() {
	e.t.Helper()
	if err := e.d.Scheduler.PollAll(context.Background()); err != nil {
		e.t.Fatalf("poll: %v", err)
	}
}

// publish replaces the feed's items and polls it.
func (e *e2e) publish(items ...string) {
	e.t.Helper()
	e.site.Set(items...)
	e.poll()
}

// idle waits until the dispatcher has nothing deliverable.
func (e *e2e) idle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if err := e.d.Dispatcher.WaitIdle(ctx); err != nil {
		e.t.Fatalf("dispatcher never idle: %v", err)
	}
}

// send pushes an update and waits until the bot has handled it (it
// confirmed it by asking getUpdates for a later offset).
func (e *e2e) send(update string) {
	e.t.Helper()
	id := e.tg.PushUpdate(update)
	if err := e.tg.WaitOffset(id+1, e2eWait); err != nil {
		e.t.Fatalf("update %d not handled: %v", id, err)
	}
}

// waitSent waits for n sent messages in all and returns them all.
func (e *e2e) waitSent(n int) []telegramtest.SentMessage {
	e.t.Helper()
	sent, err := e.tg.WaitSent(n, e2eWait)
	if err != nil {
		e.t.Fatalf("%v: %s", err, describe(sent))
	}
	return sent
}

// subs returns the subscriptions stored for a Telegram chat.
func (e *e2e) subs(chatID int64) []*subscriptions.Subscription {
	e.t.Helper()
	subs, err := e.d.DB.ChatSubscriptions(fmt.Sprintf("telegram:%d", chatID))
	if err != nil {
		e.t.Fatal(err)
	}
	return subs
}

func (e *e2e) outboxLen() int {
	e.t.Helper()
	n, err := e.d.DB.OutboxLen()
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func describe(sent []telegramtest.SentMessage) string {
	var b strings.Builder
	for _, m := range sent {
		fmt.Fprintf(&b, "\n  chat %s mode %q: %.80q", m.ChatID, m.ParseMode, m.Text)
	}
	return b.String()
}

// alertsIn keeps the alerts (HTML messages) among sent messages; command
// replies are plain text.
func alertsIn(sent []telegramtest.SentMessage) []telegramtest.SentMessage {
	var out []telegramtest.SentMessage
	for _, m := range sent {
		if m.ParseMode == "HTML" {
			out = append(out, m)
		}
	}
	return out
}

// Update JSON in the Bot API's shapes.

type tgObj = map[string]any

var nextMessageID = struct {
	sync.Mutex
	n int
}{n: 500}

func tgUser(id int64) tgObj {
	return tgObj{"id": id, "is_bot": false, "first_name": "Reader", "username": fmt.Sprintf("reader%d", id)}
}

// tgMessage is a message in chat (of type typ) from user from (0: none, as
// in channel posts).
func tgMessage(chatID int64, typ string, from int64, text string) tgObj {
	nextMessageID.Lock()
	nextMessageID.n++
	id := nextMessageID.n
	nextMessageID.Unlock()
	c := tgObj{"id": chatID, "type": typ}
	if typ == "private" {
		c["first_name"] = "Reader"
	} else {
		c["title"] = "Newsroom"
	}
	m := tgObj{"message_id": id, "date": e2eStart.Unix(), "chat": c, "text": text}
	if from != 0 {
		m["from"] = tgUser(from)
	}
	if strings.HasPrefix(text, "/") {
		name, _, _ := strings.Cut(text, " ")
		m["entities"] = []tgObj{{"type": "bot_command", "offset": 0, "length": len(utf16.Encode([]rune(name)))}}
	}
	return m
}

func tgUpdate(kind string, body tgObj) string {
	out, err := json.Marshal(tgObj{kind: body})
	if err != nil {
		panic(err) // only the test's own literals get here
	}
	return string(out)
}

func privateMsg(user int64, text string) string {
	return tgUpdate("message", tgMessage(user, "private", user, text))
}

// linksOf checks that an alert is valid Telegram HTML and returns its links
// and visible text.
func linksOf(t *testing.T, m telegramtest.SentMessage) (visible string, links []string) {
	t.Helper()
	visible, links, err := telegram.ValidateHTML(m.Text)
	if err != nil {
		t.Fatalf("alert is not valid Telegram HTML: %v\n%s", err, m.Text)
	}
	return visible, links
}

// TestE2EPrivateSubscribeAndAlert: a private user subscribes by command and
// gets one HTML alert, bold title linked to the story, for a new story.
func TestE2EPrivateSubscribeAndAlert(t *testing.T) {
	e := newE2E(t, e2eOptions{})
	e.site.Set(rssItem("old-1", "Witkoff met officials last week", "Background.", 1))
	e.start()
	if got := e.tg.Commands(); len(got) == 0 {
		t.Error("setMyCommands was not called at start-up")
	}

	const user = 1001
	e.send(privateMsg(user, "/subscribe Witkoff"))
	sent := e.waitSent(1)
	if r := sent[0]; r.ChatID != "1001" || !strings.HasPrefix(r.Text, "Subscribed #") || r.ParseMode != "" {
		t.Fatalf("reply to /subscribe = chat %s %q (mode %q)", r.ChatID, r.Text, r.ParseMode)
	}

	e.publish(
		rssItem("old-1", "Witkoff met officials last week", "Background.", 1),
		rssItem("n-1", "Witkoff arrives in Moscow", "<p>The envoy <b>arrived</b> on Thursday.</p>", 2),
		rssItem("n-2", "Grain exports rise", "Odesa ports.", 3),
	)
	e.waitSent(2)
	e.idle()
	sent = e.tg.Sent()
	alerts := alertsIn(sent)
	if len(alerts) != 1 || len(sent) != 2 {
		t.Fatalf("want exactly one alert after the reply, got:%s", describe(sent))
	}
	a := alerts[0]
	if a.ChatID != "1001" {
		t.Errorf("alert went to chat %s, want 1001", a.ChatID)
	}
	if !a.DisableWebPagePreview {
		t.Error("link previews are on; they are off by default")
	}
	const head = `<b><a href="https://news.example/n-1">Witkoff arrives in Moscow</a></b>`
	if !strings.HasPrefix(a.Text, head) {
		t.Errorf("alert does not start with the bold linked title %s:\n%s", head, a.Text)
	}
	visible, links := linksOf(t, a)
	if fmt.Sprint(links) != "[https://news.example/n-1]" {
		t.Errorf("links = %v", links)
	}
	for _, want := range []string{"Test Wire", "The envoy arrived on Thursday.", "Matched: "} {
		if !strings.Contains(visible, want) {
			t.Errorf("alert lacks %q:\n%s", want, visible)
		}
	}
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after delivery", n)
	}
}

// TestE2EGroupAdminsOnly: in a group only administrators may subscribe;
// the alert then goes to the group.
func TestE2EGroupAdminsOnly(t *testing.T) {
	e := newE2E(t, e2eOptions{})
	e.start()
	const group, member, admin = -2001, 21, 22
	e.tg.SetRole(group, admin, "administrator")

	e.send(tgUpdate("message", tgMessage(group, "group", member, "/subscribe@FrontwireBot Witkoff")))
	sent := e.waitSent(1)
	if r := sent[0]; r.ChatID != "-2001" || !strings.Contains(r.Text, "Only this chat's administrators") {
		t.Fatalf("member's /subscribe answered %q in chat %s, want a refusal", r.Text, r.ChatID)
	}
	if subs := e.subs(group); len(subs) != 0 {
		t.Fatalf("a member's command subscribed the group: %+v", subs[0])
	}

	e.send(tgUpdate("message", tgMessage(group, "group", admin, "/subscribe@FrontwireBot Witkoff")))
	sent = e.waitSent(2)
	if r := sent[1]; !strings.HasPrefix(r.Text, "Subscribed #") || r.ReplyTo == "" {
		t.Fatalf("admin's /subscribe answered %q (reply to %q)", r.Text, r.ReplyTo)
	}
	subs := e.subs(group)
	if len(subs) != 1 || subs[0].CreatedBy != "22" || subs[0].Query != "Witkoff" {
		t.Fatalf("group subscriptions = %v", subs)
	}

	e.publish(rssItem("g-1", "Witkoff lands in Riyadh", "Talks.", 5))
	sent = e.waitSent(3)
	if a := sent[2]; a.ChatID != "-2001" || a.ParseMode != "HTML" || !strings.Contains(a.Text, "Witkoff lands in Riyadh") {
		t.Errorf("alert = chat %s mode %q %q", a.ChatID, a.ParseMode, a.Text)
	}
}

// TestE2EChannelPostSubscribes: a channel admin subscribes the channel by
// posting the command in it; alerts go to the channel.
func TestE2EChannelPostSubscribes(t *testing.T) {
	e := newE2E(t, e2eOptions{})
	e.start()
	const channel = -1003001
	post := tgMessage(channel, "channel", 0, "/subscribe Kushner")
	post["sender_chat"] = tgObj{"id": channel, "type": "channel", "title": "Newsroom"}
	e.send(tgUpdate("channel_post", post))
	sent := e.waitSent(1)
	if r := sent[0]; r.ChatID != "-1003001" || !strings.HasPrefix(r.Text, "Subscribed #") {
		t.Fatalf("channel /subscribe answered %q in chat %s", r.Text, r.ChatID)
	}
	if subs := e.subs(channel); len(subs) != 1 || subs[0].Query != "Kushner" {
		t.Fatalf("channel subscriptions = %v", subs)
	}

	e.publish(rssItem("c-1", "Kushner joins the talks", "Details.", 7))
	sent = e.waitSent(2)
	if a := sent[1]; a.ChatID != "-1003001" || a.ParseMode != "HTML" || !strings.Contains(a.Text, "Kushner joins the talks") {
		t.Errorf("alert = chat %s mode %q %q", a.ChatID, a.ParseMode, a.Text)
	}
}

// TestE2EUnsubscribeButton: /list shows an inline keyboard; pressing
// "Unsubscribe" removes the subscription and answers the callback.
func TestE2EUnsubscribeButton(t *testing.T) {
	e := newE2E(t, e2eOptions{})
	e.start()
	const user = 4001
	e.send(privateMsg(user, "/subscribe Witkoff"))
	e.send(privateMsg(user, "/list"))
	sent := e.waitSent(2)
	list := sent[1]
	if list.Keyboard == nil {
		t.Fatalf("/list reply %q has no inline keyboard", list.Text)
	}
	var data string
	var labels []string
	for _, row := range list.Keyboard.InlineKeyboard {
		for _, b := range row {
			labels = append(labels, b.Text)
			if strings.HasPrefix(b.Text, "Unsubscribe") && b.CallbackData != nil {
				data = *b.CallbackData
			}
		}
	}
	if data == "" {
		t.Fatalf("no Unsubscribe button among %q", labels)
	}

	e.send(tgUpdate("callback_query", tgObj{
		"id":            "cb-4001",
		"from":          tgUser(user),
		"chat_instance": "ci-4001",
		"data":          data,
		"message": tgObj{
			"message_id": list.MessageID, "date": e2eStart.Unix(),
			"chat": tgObj{"id": user, "type": "private", "first_name": "Reader"},
			"text": list.Text,
		},
	}))
	// The update is confirmed once stored, before it is handled: wait
	// for the answer, which comes after the unsubscribe is done.
	answers, err := e.tg.WaitCallbackAnswers(1, e2eWait)
	if err != nil || len(answers) != 1 || answers[0].ID != "cb-4001" || !strings.HasPrefix(answers[0].Text, "Unsubscribed #") {
		t.Fatalf("callback answers = %+v", answers)
	}
	if subs := e.subs(user); len(subs) != 0 {
		t.Fatalf("subscription still stored after Unsubscribe: %+v", *subs[0])
	}

	// The story it would have matched alerts nobody.
	e.publish(rssItem("u-1", "Witkoff arrives in Moscow", "News.", 9))
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d alerts after unsubscribing", n)
	}
	e.idle()
	if got := alertsIn(e.tg.Sent()); len(got) != 0 {
		t.Errorf("alerts after unsubscribing:%s", describe(got))
	}
}

// TestE2ERateLimitWaitedOut: the reply to /subscribe used the chat's one
// message a second, so the fake answers the alert sent in the same second
// with 429 retry_after 1. The dispatcher waits that long and the alert
// arrives once. It runs on the real clock: Telegram's retry_after is whole
// seconds, so the test takes one, and counting the fake clock's waiters
// would tie it to every timer the daemon runs.
func TestE2ERateLimitWaitedOut(t *testing.T) {
	e := newE2E(t, e2eOptions{realClock: true, limits: telegramtest.Limits{GlobalPerSecond: 30, ChatPerSecond: 1, GroupPerMinute: 20}})
	e.start()
	const user = 5001
	e.send(privateMsg(user, "/subscribe Witkoff"))
	reply := e.waitSent(1)[0]

	e.publish(rssItem("r-1", "Witkoff arrives in Moscow", "News.", 11))
	e.waitSent(2)
	e.idle()
	sent := e.tg.Sent()
	alerts := alertsIn(sent)
	if len(alerts) != 1 || len(sent) != 2 || alerts[0].ChatID != "5001" {
		t.Fatalf("want exactly one alert after the reply, got:%s", describe(sent))
	}
	if n := e.tg.Count429(); n != 1 {
		t.Errorf("fake answered %d 429s, want 1 (the alert in the reply's second)", n)
	}
	if n := e.tg.Calls("sendMessage"); n != 3 {
		t.Errorf("%d sendMessage calls, want 3: reply, refused alert, alert", n)
	}
	// The refused attempt came after the reply, so the accepted one is at
	// least retry_after later; a backoff instead of retry_after would be
	// later still.
	if gap := alerts[0].At.Sub(reply.At); gap < time.Second || gap > 2*time.Second {
		t.Errorf("alert accepted %v after the reply, want retry_after (1s) plus the send time", gap)
	}
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after delivery", n)
	}
}

// TestE2EBlockedChatPausesAndResumes: a 403 pauses the chat's
// subscriptions and keeps its alert queued; the user writing again resumes
// them and the alert arrives.
//
// It runs on the real clock with a fast per-chat limit, because the refused
// attempt spent the chat's slot and the resumed alert waits for the next.
func TestE2EBlockedChatPausesAndResumes(t *testing.T) {
	e := newE2E(t, e2eOptions{realClock: true, tune: func(c *config.Config) { c.Telegram.ChatMessagesPerSecond = 20 }})
	e.start()
	const user = 6001
	e.send(privateMsg(user, "/subscribe Witkoff"))
	e.waitSent(1)

	e.tg.FailChat(user, http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
	e.publish(rssItem("b-1", "Witkoff arrives in Moscow", "News.", 13))
	e.idle()
	subs := e.subs(user)
	if len(subs) != 1 || !subs[0].Paused || subs[0].PausedBy != subscriptions.PausedByPlatform {
		t.Fatalf("after 403 subscriptions = %+v, want one paused by the platform", subs)
	}
	if n := e.outboxLen(); n != 1 {
		t.Fatalf("outbox holds %d, want the undelivered alert kept", n)
	}
	// While paused, new stories alert nobody.
	e.publish(
		rssItem("b-1", "Witkoff arrives in Moscow", "News.", 13),
		rssItem("b-2", "Witkoff leaves Moscow", "News.", 14),
	)
	if n := e.outboxLen(); n != 1 {
		t.Fatalf("outbox holds %d, want 1: a paused subscription matched", n)
	}

	// The user unblocks the bot and writes to it.
	e.tg.ClearChat(user)
	e.send(privateMsg(user, "/list"))
	e.idle()
	sent := e.tg.Sent()
	alerts := alertsIn(sent)
	if len(alerts) != 1 || !strings.Contains(alerts[0].Text, "Witkoff arrives in Moscow") {
		t.Fatalf("want the queued alert delivered once, got:%s", describe(sent))
	}
	var list string
	for _, m := range sent {
		if strings.HasPrefix(m.Text, "This chat's subscriptions") {
			list = m.Text
		}
	}
	if list == "" || strings.Contains(list, "paused") {
		t.Errorf("/list after coming back = %q, want the subscription active", list)
	}
	if subs := e.subs(user); len(subs) != 1 || subs[0].Paused {
		t.Errorf("subscriptions after coming back = %+v", subs)
	}
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after delivery", n)
	}
}

// TestE2ERestartMidQueue stops Frontwire while alerts for two chats (one a
// group) are still queued behind the per-chat limit, starts it again on
// the same data directory, and checks every alert arrives exactly once, in
// order in each chat. It runs on the real clock with the limits raised to
// five a second, so the queue drains in about a second.
func TestE2ERestartMidQueue(t *testing.T) {
	e := newE2E(t, e2eOptions{
		realClock: true,
		limits:    telegramtest.Limits{GlobalPerSecond: 30, ChatPerSecond: 5, GroupPerMinute: 300},
		tune: func(c *config.Config) {
			c.Telegram.ChatMessagesPerSecond = 5
			c.Telegram.GroupMessagesPerMinute = 300
		},
	})
	e.start()
	const user, group, admin = 7001, -7002, 77
	e.tg.SetRole(group, admin, "creator")
	e.send(privateMsg(user, "/subscribe Witkoff"))
	e.send(tgUpdate("message", tgMessage(group, "supergroup", admin, "/subscribe Witkoff")))
	e.waitSent(2)

	const n = 4
	var items []string
	for i := range n {
		items = append(items, rssItem(fmt.Sprintf("q-%d", i), fmt.Sprintf("Witkoff update %d", i), "News.", 20+i))
	}
	e.publish(items...)
	// The first alert of each chat goes at once; the others wait for the
	// chat's bucket (a fifth of a second each). Stop now.
	e.waitSent(2 + 2)
	e.stop()
	before := alertsIn(e.tg.Sent())
	left := 0
	{
		db, err := storage.Open(e.dir+"/frontwire.db", storage.Options{NoSync: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		left, err = db.OutboxLen()
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if left == 0 || len(before)+left != 2*n {
		t.Fatalf("after stop: %d delivered, %d queued; want some of each, %d in all", len(before), left, 2*n)
	}

	e.start()
	e.waitSent(2 + 2*n)
	e.idle()
	sent := e.tg.Sent()
	byChat := map[string][]string{}
	for _, a := range alertsIn(sent) {
		visible, _ := linksOf(t, a)
		title, _, _ := strings.Cut(visible, "\n")
		byChat[a.ChatID] = append(byChat[a.ChatID], title)
	}
	want := "[Witkoff update 0 Witkoff update 1 Witkoff update 2 Witkoff update 3]"
	for _, c := range []string{"7001", "-7002"} {
		if got := fmt.Sprint(byChat[c]); got != want {
			t.Errorf("chat %s got %s, want each alert once in order: %s", c, got, want)
		}
	}
	if len(sent) != 2+2*n {
		t.Errorf("sent %d messages, want %d:%s", len(sent), 2+2*n, describe(sent))
	}
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after the restart drained it", n)
	}
	if k := e.tg.Count429(); k != 0 {
		t.Errorf("fake answered %d 429s", k)
	}
}

// TestE2EHostileTitleIsLiteral: markup and entities in a feed title never
// become Telegram markup. The reader sees exactly the title text Frontwire
// stored for the story, and the only link is the story's.
func TestE2EHostileTitleIsLiteral(t *testing.T) {
	const hostile = `Witkoff <b>deal</b> &amp; </a><a href="http://evil">click</a>`
	htmlEscape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace
	xmlEscape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	for _, tc := range []struct {
		name     string
		xmlTitle string // the <title> element's content
		want     string // the visible title
	}{
		// The title's text is the hostile string itself. The story
		// normaliser reads titles as HTML and undoes the double escaping
		// some feeds apply, hence the three layers.
		{"text", xmlEscape(htmlEscape(htmlEscape(hostile))), hostile},
		// The title carries the hostile string as markup: the normaliser
		// keeps its text.
		{"markup", "<![CDATA[" + hostile + "]]>", "Witkoff deal & click"},
		// Characters Telegram would read as markup, in plain text.
		{"operators", xmlEscape(htmlEscape(`Witkoff: "profit" < 5 & loss > 3 <b`)), `Witkoff: "profit" < 5 & loss > 3 <b`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, e2eOptions{})
			e.start()
			const user = 8001
			e.send(privateMsg(user, "/subscribe Witkoff"))
			e.waitSent(1)

			e.publish(rssItem("h-1", tc.xmlTitle, `Text with <a href="http://evil">a link</a> &amp; <b>bold</b>.`, 30))
			stories, err := e.d.DB.RecentStories(time.Time{})
			if err != nil || len(stories) != 1 {
				t.Fatalf("stored stories: %d, %v", len(stories), err)
			}
			if stories[0].Title != tc.want {
				t.Fatalf("the normaliser made the title %q, want %q: the feed encoding needs updating", stories[0].Title, tc.want)
			}
			sent := e.waitSent(2)
			a := sent[1]
			visible, links := linksOf(t, a)
			if fmt.Sprint(links) != "[https://news.example/h-1]" {
				t.Errorf("links = %v, want only the story link\n%s", links, a.Text)
			}
			if title, _, _ := strings.Cut(visible, "\n"); title != tc.want {
				t.Errorf("visible title = %q, want %q\n%s", title, tc.want, a.Text)
			}
			if strings.Count(a.Text, "<a ") != 1 || strings.Count(a.Text, "<b>") != 1 || strings.Contains(a.Text, `href="http://evil`) {
				t.Errorf("feed text became markup:\n%s", a.Text)
			}
		})
	}
}

// TestE2ELongStoryFits: a 10,000-character story with the summary cap
// raised still yields a message within 4096 UTF-16 units, link intact.
func TestE2ELongStoryFits(t *testing.T) {
	e := newE2E(t, e2eOptions{tune: func(c *config.Config) { c.Bot.SummaryMaxChars = 20000 }})
	e.start()
	const user = 9001
	e.send(privateMsg(user, "/subscribe Witkoff"))
	e.waitSent(1)

	// Characters outside the Basic Multilingual Plane count twice in
	// UTF-16, as Telegram counts.
	var b strings.Builder
	for i := 0; b.Len() < 10000; i++ {
		fmt.Fprintf(&b, "Sentence %d about the talks 🕊 & <progress>. ", i)
	}
	desc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(b.String())
	e.publish(rssItem("l-1", "Witkoff talks run long", desc, 40))
	sent := e.waitSent(2)
	a := sent[1]
	visible, links := linksOf(t, a)
	if n := len(utf16.Encode([]rune(visible))); n > telegram.MaxTextUnits {
		t.Errorf("visible text is %d UTF-16 units, over %d", n, telegram.MaxTextUnits)
	} else if n < telegram.MaxTextUnits/2 {
		t.Errorf("visible text is only %d UTF-16 units: the summary was not long enough to test the limit", n)
	}
	if fmt.Sprint(links) != "[https://news.example/l-1]" {
		t.Errorf("links = %v", links)
	}
	if !strings.Contains(visible, "Matched: ") {
		t.Error("the matched terms were cut along with the summary")
	}
}
