package discord_test

// End-to-end tests: Frontwire started exactly as `bot run` starts it
// (daemon.New + Run) with Discord enabled, pointed at the fake Discord
// server, a feed served over HTTP by the test, and a real bbolt file. People
// talk to the bot by interactions dispatched on the fake gateway; what
// Discord would show them is what the fake recorded.
//
// They run on the real clock: the adapter's global request cap is a token
// bucket on the injected clock, so on a fake clock that never advances the
// second REST call would wait forever.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"frontwire/internal/chat/discord"
	"frontwire/internal/chat/discord/discordtest"
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

// e2eToken is the bot token the fake accepts.
const e2eToken = "e2e-token-SECRET-456"

// manager holds the permissions that allow changing a channel's
// subscriptions (Manage Channels); member holds a plain member's, which do
// not.
const (
	manager = discordgo.PermissionManageChannels | discordgo.PermissionSendMessages | discordgo.PermissionViewChannel
	member  = discordgo.PermissionSendMessages | discordgo.PermissionViewChannel
)

// feedTime anchors the feed's publication dates.
var feedTime = time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)

// rssItem is one <item> whose desc goes in CDATA; title is inserted as XML
// as given (the caller escapes it). Later minutes publish later, so a test
// can order items.
func rssItem(guid, title, desc string, minute int) string {
	return feedtest.HTMLItem(guid, title, desc, feedTime.Add(time.Duration(minute)*time.Minute))
}

// tWriter sends the daemon's log to the test's log, shown when it fails.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// statusWatch is the platform HTTP client's transport: it passes every
// request on and signals each response status seen for channel messages,
// so a test can wait for a refused delivery attempt without sleeping.
type statusWatch struct {
	base   http.RoundTripper
	status chan int
}

func (s *statusWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.Contains(req.URL.Path, "/channels/") {
		select {
		case s.status <- resp.StatusCode:
		default: // nobody is watching this many; never block a send
		}
	}
	return resp, err
}

// e2e is one Frontwire instance with its fake Discord and its feed.
type e2e struct {
	t     *testing.T
	dc    *discordtest.Server
	site  *feedtest.Site
	feed  *httptest.Server
	dir   string
	cfg   config.Config
	watch *statusWatch

	d    *daemon.Daemon
	stop func()
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	e := &e2e{t: t, site: &feedtest.Site{}, dir: t.TempDir(),
		watch: &statusWatch{base: http.DefaultTransport, status: make(chan int, 64)}}
	e.dc = discordtest.New(discordtest.Options{Token: e2eToken})
	t.Cleanup(e.dc.Close)
	e.feed = httptest.NewServer(e.site)
	t.Cleanup(e.feed.Close)

	cfg := config.Default()
	cfg.Bot.DataDir = e.dir
	// Only the test's PollAll calls poll: an hour never passes in a test.
	cfg.Bot.PollSchedule = "@every 1h"
	cfg.Sources = []config.Source{{Name: "Test Wire", URL: e.feed.URL}}
	cfg.Bot.AllowPrivateSources = true // the test's feed is on loopback
	cfg.Discord.Enabled = true
	cfg.Discord.Token = e2eToken
	cfg.Discord.APIURL = e.dc.URL()
	e.cfg = cfg
	return e
}

// start builds Frontwire as `bot run` does, polls the feed once (a new
// source's first poll only marks what is there as seen), runs it and waits
// until its commands are registered and its gateway session is ready.
func (e *e2e) start() {
	e.t.Helper()
	e.startWithLog(tWriter{e.t})
}

// startWithLog is start with the daemon's log written to logs.
func (e *e2e) startWithLog(logs io.Writer) {
	e.t.Helper()
	ctx := context.Background()
	regs := len(e.dc.Registrations())
	idents, resumes := e.dc.Sessions()
	d, err := daemon.New(ctx, daemon.Options{
		Config:         e.cfg,
		Version:        "test",
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
		Clock:          clock.Real{},
		DBOptions:      storage.Options{NoSync: true, Timeout: time.Second},
		PlatformClient: &http.Client{Timeout: e2eWait, Transport: e.watch},
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
	wctx, wcancel := context.WithTimeout(ctx, e2eWait)
	defer wcancel()
	if _, err := e.dc.WaitRegistrations(wctx, regs+1); err != nil {
		e.t.Fatalf("commands never registered: %v", err)
	}
	if err := e.dc.WaitSessions(wctx, idents+resumes+1); err != nil {
		e.t.Fatalf("no gateway session: %v", err)
	}
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

// interact dispatches an interaction and returns the bot's callback to it.
func (e *e2e) interact(inv discordtest.Invocation) discordtest.Callback {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	id, _, err := e.dc.Interact(ctx, inv)
	if err != nil {
		e.t.Fatalf("interact: %v", err)
	}
	cb, err := e.dc.WaitCallback(ctx, id)
	if err != nil {
		e.t.Fatalf("no callback to /%s: %v", inv.Name, err)
	}
	return cb
}

// subscribe runs /subscribe query:q in a guild channel as a manager and
// checks it succeeded.
func (e *e2e) subscribe(guild, channel, q string) {
	e.t.Helper()
	cb := e.interact(discordtest.Invocation{GuildID: guild, ChannelID: channel, UserID: "41", Permissions: manager,
		Name: "subscribe", Options: map[string]string{"query": q}})
	if d := cb.Response.Data; d == nil || !strings.HasPrefix(d.Content, "Subscribed #") {
		e.t.Fatalf("/subscribe in %s answered %s", channel, cb.Raw)
	}
}

// waitMessages waits for n created messages in all and returns them all.
func (e *e2e) waitMessages(n int) []discordtest.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	msgs, err := e.dc.WaitMessages(ctx, n)
	if err != nil {
		e.t.Fatalf("%v: %s", err, describe(msgs))
	}
	return msgs
}

// waitStatus waits until a channel message request was answered with code.
func (e *e2e) waitStatus(code int) {
	e.t.Helper()
	deadline := time.After(e2eWait)
	for {
		select {
		case got := <-e.watch.status:
			if got == code {
				return
			}
		case <-deadline:
			e.t.Fatalf("no message request answered %d", code)
		}
	}
}

// subs returns the subscriptions stored for a Discord channel.
func (e *e2e) subs(channel string) []*subscriptions.Subscription {
	e.t.Helper()
	subs, err := e.d.DB.ChatSubscriptions("discord:" + channel)
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

func describe(msgs []discordtest.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		title := ""
		if len(m.Send.Embeds) > 0 {
			title = m.Send.Embeds[0].Title
		}
		fmt.Fprintf(&b, "\n  channel %s: %.80q %.80q", m.ChannelID, title, m.Send.Content)
	}
	return b.String()
}

// inert checks that a message forbids every mention with an empty,
// non-null parse list, as sent on the wire, and passes the adapter's
// validation of every Discord limit.
func inert(t *testing.T, m discordtest.Message) {
	t.Helper()
	var raw struct {
		AllowedMentions *struct {
			Parse *[]string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	if err := json.Unmarshal(m.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.AllowedMentions == nil || raw.AllowedMentions.Parse == nil || len(*raw.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions is not an empty parse list: %s", m.Raw)
	}
	if err := discord.ValidateMessage(&m.Send); err != nil {
		t.Errorf("invalid message: %v\n%s", err, m.Raw)
	}
}

// TestE2EGuildSubscribeAndAlert: a member with Manage Channels subscribes
// a guild channel; the reply is public, and a matching story arrives in
// that channel as one message with one embed linked to the story.
func TestE2EGuildSubscribeAndAlert(t *testing.T) {
	e := newE2E(t)
	e.site.Set(rssItem("old-1", "Witkoff met officials last week", "Background.", 1))
	e.start()

	cb := e.interact(discordtest.Invocation{GuildID: "g1", ChannelID: "c1", UserID: "41", Permissions: manager,
		Name: "subscribe", Options: map[string]string{"query": "Witkoff"}})
	if cb.Response.Type != discordgo.InteractionResponseChannelMessageWithSource || cb.Response.Data == nil {
		t.Fatalf("/subscribe callback = %s", cb.Raw)
	}
	if d := cb.Response.Data; d.Flags&discordgo.MessageFlagsEphemeral != 0 || !strings.HasPrefix(d.Content, "Subscribed #") {
		t.Errorf("/subscribe reply = %q (flags %d), want a public confirmation", d.Content, d.Flags)
	}
	subs := e.subs("c1")
	if len(subs) != 1 || subs[0].Query != "Witkoff" || subs[0].CreatedBy != "41" {
		t.Fatalf("channel subscriptions = %+v", subs)
	}

	e.publish(
		rssItem("old-1", "Witkoff met officials last week", "Background.", 1),
		rssItem("n-1", "Witkoff arrives in Moscow", "<p>The envoy <b>arrived</b> on Thursday.</p>", 2),
		rssItem("n-2", "Grain exports rise", "Odesa ports.", 3),
	)
	e.waitMessages(1)
	e.idle()
	msgs := e.dc.Messages()
	if len(msgs) != 1 {
		t.Fatalf("want exactly one alert, got:%s", describe(msgs))
	}
	m := msgs[0]
	if m.ChannelID != "c1" {
		t.Errorf("alert went to channel %s, want c1", m.ChannelID)
	}
	if len(m.Send.Embeds) != 1 {
		t.Fatalf("alert has %d embeds, want 1: %s", len(m.Send.Embeds), m.Raw)
	}
	em := m.Send.Embeds[0]
	if em.Title != "Witkoff arrives in Moscow" || em.URL != "https://news.example/n-1" {
		t.Errorf("embed title %q url %q", em.Title, em.URL)
	}
	if !strings.Contains(em.Description, "The envoy arrived on Thursday.") {
		t.Errorf("embed description = %q", em.Description)
	}
	if !strings.Contains(string(m.Raw), `"allowed_mentions":{"parse":[]`) {
		t.Errorf("alert's allowed_mentions is not an empty parse list: %s", m.Raw)
	}
	inert(t, m)
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after delivery", n)
	}
}

// TestE2EMemberWithoutPermissionRefused: in a guild channel, a member
// without Manage Channels gets an ephemeral refusal and nothing is stored.
func TestE2EMemberWithoutPermissionRefused(t *testing.T) {
	e := newE2E(t)
	e.start()
	cb := e.interact(discordtest.Invocation{GuildID: "g2", ChannelID: "c2", UserID: "42", Permissions: member,
		Name: "subscribe", Options: map[string]string{"query": "Witkoff"}})
	d := cb.Response.Data
	if d == nil {
		t.Fatalf("/subscribe callback without data: %s", cb.Raw)
	}
	if d.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Errorf("refusal is public (flags %d); only the member should see it", d.Flags)
	}
	if !strings.Contains(d.Content, "administrators") || strings.HasPrefix(d.Content, "Subscribed") {
		t.Errorf("member's /subscribe answered %q, want a refusal", d.Content)
	}
	if !strings.Contains(string(cb.Raw), `"allowed_mentions":{"parse":[]`) {
		t.Errorf("refusal without empty allowed mentions: %s", cb.Raw)
	}
	if subs := e.subs("c2"); len(subs) != 0 {
		t.Fatalf("a member without the permission subscribed the channel: %+v", *subs[0])
	}
	// The story it would have matched alerts nobody.
	e.publish(rssItem("p-1", "Witkoff arrives in Moscow", "News.", 4))
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d alerts after a refused /subscribe", n)
	}
	e.idle()
	if msgs := e.dc.Messages(); len(msgs) != 0 {
		t.Errorf("messages after a refused /subscribe:%s", describe(msgs))
	}
}

// TestE2EHostileTitleIsInert: mentions and markdown in a feed title reach
// Discord with an empty allowed-mentions parse list and escaped, so
// nobody is pinged and no markup or masked link works.
func TestE2EHostileTitleIsInert(t *testing.T) {
	const hostile = "@everyone <@&123> **bold** [x](http://evil)"
	e := newE2E(t)
	e.start()
	e.subscribe("g3", "c3", "Witkoff")

	xmlEscape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	// The story normaliser reads titles as HTML, hence the two layers.
	e.publish(rssItem("h-1", xmlEscape(xmlEscape("Witkoff "+hostile)), "Summary with @here and __under__ text.", 5))
	stories, err := e.d.DB.RecentStories(time.Time{})
	if err != nil || len(stories) != 1 {
		t.Fatalf("stored stories: %d, %v", len(stories), err)
	}
	if want := "Witkoff " + hostile; stories[0].Title != want {
		t.Fatalf("the normaliser made the title %q, want %q: the feed encoding needs updating", stories[0].Title, want)
	}
	msgs := e.waitMessages(1)
	m := msgs[0]
	inert(t, m)
	if len(m.Send.Embeds) != 1 {
		t.Fatalf("alert has %d embeds: %s", len(m.Send.Embeds), m.Raw)
	}
	em := m.Send.Embeds[0]
	if em.URL != "https://news.example/h-1" {
		t.Errorf("embed url = %q, want the story's link", em.URL)
	}
	// A mention, bold or masked link is live when its opening characters
	// are not escaped by a backslash.
	for name, s := range map[string]string{"title": em.Title, "description": em.Description, "content": m.Send.Content} {
		for _, live := range []string{"@everyone", "@here", "<@&123>", "**bold", "[x](", "__under"} {
			for i := 0; ; {
				j := strings.Index(s[i:], live)
				if j < 0 {
					break
				}
				if at := i + j; at == 0 || s[at-1] != '\\' {
					t.Errorf("live %q in the %s: %q", live, name, s)
				}
				i += j + 1
			}
		}
	}
	if !strings.Contains(em.Title, "bold") || !strings.Contains(em.Title, "evil") {
		t.Errorf("title lost the feed's text instead of escaping it: %q", em.Title)
	}
	if strings.Contains(string(m.Raw), `"url":"http://evil"`) {
		t.Errorf("the feed's link became the embed's: %s", m.Raw)
	}
}

// TestE2EForbiddenChannelPausesAndResumes: a 403 for the channel pauses
// its subscriptions and keeps the alert in the outbox; when the bot can
// reach the channel again and the guild becomes available (GUILD_CREATE),
// the subscriptions resume and the alert arrives once.
func TestE2EForbiddenChannelPausesAndResumes(t *testing.T) {
	e := newE2E(t)
	e.start()
	e.subscribe("g4", "c4", "Witkoff")

	e.dc.FailChannel("c4", discordtest.Failure{Status: http.StatusForbidden, Code: 50001, Message: "Missing Access"})
	e.publish(rssItem("f-1", "Witkoff arrives in Moscow", "News.", 6))
	e.waitStatus(http.StatusForbidden)
	e.idle()
	subs := e.subs("c4")
	if len(subs) != 1 || !subs[0].Paused || subs[0].PausedBy != subscriptions.PausedByPlatform {
		t.Fatalf("after 403 subscriptions = %+v, want one paused by the platform", subs)
	}
	if n := e.outboxLen(); n != 1 {
		t.Fatalf("outbox holds %d, want the undelivered alert kept", n)
	}
	// While paused, new stories alert nobody.
	e.publish(
		rssItem("f-1", "Witkoff arrives in Moscow", "News.", 6),
		rssItem("f-2", "Witkoff leaves Moscow", "News.", 7),
	)
	if n := e.outboxLen(); n != 1 {
		t.Fatalf("outbox holds %d, want 1: a paused subscription matched", n)
	}
	if msgs := e.dc.Messages(); len(msgs) != 0 {
		t.Fatalf("messages while the channel was forbidden:%s", describe(msgs))
	}

	// The bot's access is restored and the guild announced again.
	e.dc.ClearChannel("c4")
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if err := e.dc.GuildCreate(ctx, "g4", discordtest.Channel{ID: "c4", Name: "news"}); err != nil {
		t.Fatal(err)
	}
	e.waitMessages(1)
	e.idle()
	msgs := e.dc.Messages()
	if len(msgs) != 1 || msgs[0].ChannelID != "c4" || len(msgs[0].Send.Embeds) != 1 ||
		msgs[0].Send.Embeds[0].Title != "Witkoff arrives in Moscow" {
		t.Fatalf("want the queued alert delivered once to c4, got:%s", describe(msgs))
	}
	inert(t, msgs[0])
	if subs := e.subs("c4"); len(subs) != 1 || subs[0].Paused {
		t.Errorf("subscriptions after GUILD_CREATE = %+v, want active", subs)
	}
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after delivery", n)
	}
}

// TestE2ERestartWithQueuedAlerts stops Frontwire while one channel's
// alerts are held back by a transient server error (500, retried after a
// backoff) and another channel's were delivered, then starts it again on
// the same data directory with the channel healthy: every alert arrives
// exactly once, in order in each channel.
func TestE2ERestartWithQueuedAlerts(t *testing.T) {
	e := newE2E(t)
	e.start()
	const failing, healthy = "c5a", "c5b"
	e.subscribe("g5", failing, "Witkoff")
	e.subscribe("g5", healthy, "Witkoff")

	e.dc.FailChannel(failing, discordtest.Failure{Status: http.StatusInternalServerError, Message: "500: Internal Server Error"})
	// Three different events: stories of one event would be filed under
	// it, and their later alerts become edits of the first.
	stories := [][2]string{
		{"Witkoff arrives in Moscow", "The envoy landed at Vnukovo on Thursday."},
		{"Ankara shipping insurers wait for Witkoff", "Turkish mediators reported no progress on corridor premiums."},
		{"Witkoff tours Kyiv grain terminals", "Ukrainian exporters showed silos and rail sidings to visiting officials."},
	}
	n := len(stories)
	var items, want []string
	for i, st := range stories {
		items = append(items, rssItem(fmt.Sprintf("q-%d", i), st[0], st[1], 20+i))
		want = append(want, st[0])
	}
	e.publish(items...)
	// The healthy channel gets its alerts; the failing one's first attempt
	// is refused and waits for a backoff of about a second. Stop now.
	e.waitMessages(n)
	e.waitStatus(http.StatusInternalServerError)
	e.stop()
	before := e.dc.Messages()
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
	if len(before) != n || left != n {
		t.Fatalf("after stop: %d delivered, %d queued; want %d of each:%s", len(before), left, n, describe(before))
	}

	e.dc.ClearChannel(failing)
	e.start()
	e.waitMessages(2 * n)
	e.idle()
	msgs := e.dc.Messages()
	byChannel := map[string][]string{}
	for _, m := range msgs {
		inert(t, m)
		if len(m.Send.Embeds) != 1 {
			t.Fatalf("message without one embed: %s", m.Raw)
		}
		byChannel[m.ChannelID] = append(byChannel[m.ChannelID], m.Send.Embeds[0].Title)
	}
	for _, c := range []string{failing, healthy} {
		if got := fmt.Sprint(byChannel[c]); got != fmt.Sprint(want) {
			t.Errorf("channel %s got %s, want each alert once in order: %s", c, got, want)
		}
	}
	if len(msgs) != 2*n {
		t.Errorf("%d messages, want %d:%s", len(msgs), 2*n, describe(msgs))
	}
	if k := e.outboxLen(); k != 0 {
		t.Errorf("outbox holds %d after the restart drained it", k)
	}
}
