package discord_test

// More end-to-end tests through the fake Discord, in the pattern of
// e2e_test.go: the real daemon on the real clock, a real bbolt file, the
// feed polled by the test before Run, and waits on the fake's (or the
// log's) signals, never sleeps.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"frontwire/internal/chat/discord"
	"frontwire/internal/chat/discord/discordtest"
	"frontwire/internal/subscriptions"
)

// logWatch is the daemon's log for tests that must wait for an effect
// only the log announces (a gateway event handled in the background): it
// passes every line to the test's log and wakes waiters on each one.
type logWatch struct {
	t       *testing.T
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func newLogWatch(t *testing.T) *logWatch { return &logWatch{t: t, changed: make(chan struct{})} }

func (w *logWatch) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	w.t.Log(line)
	w.mu.Lock()
	w.lines = append(w.lines, line)
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	return len(p), nil
}

// count says how many log lines contain s.
func (w *logWatch) count(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// waitFor re-checks cond after every log line until it holds; what tells
// a test is bounded by e2eWait, so a missing effect fails instead of
// hanging.
func (w *logWatch) waitFor(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.After(e2eWait)
	for {
		w.mu.Lock()
		ch := w.changed
		w.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			w.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// startLogged is e2e.start with the daemon's log going to a logWatch.
func (e *e2e) startLogged() *logWatch {
	e.t.Helper()
	lw := newLogWatch(e.t)
	e.startWithLog(lw)
	return lw
}

// titles lists the embed titles of the messages sent to channel, in order.
func titles(msgs []discordtest.Message, channel string) []string {
	var out []string
	for _, m := range msgs {
		if m.ChannelID != channel {
			continue
		}
		if len(m.Send.Embeds) == 0 {
			out = append(out, "(no embed)")
			continue
		}
		out = append(out, m.Send.Embeds[0].Title)
	}
	return out
}

// TestE2EAutocompleteListsChannelSubscriptions: autocomplete for
// /unsubscribe offers the channel's own subscriptions (by query, valued
// by id), filtered by what is typed, and never another channel's; the
// value chosen really unsubscribes.
func TestE2EAutocompleteListsChannelSubscriptions(t *testing.T) {
	e := newE2E(t)
	e.start()
	e.subscribe("g8", "c8", "Ukraine peace")
	e.subscribe("g8", "c8", "Witkoff")
	e.subscribe("g8", "c8other", "Witkoff grain exports")
	own := map[string]string{} // id → query of c8's subscriptions
	for _, s := range e.subs("c8") {
		own[fmt.Sprint(s.ID)] = s.Query
	}
	if len(own) != 2 {
		t.Fatalf("c8 has %d subscriptions, want 2", len(own))
	}

	complete := func(typed string) []*discordgo.ApplicationCommandOptionChoice {
		t.Helper()
		cb := e.interact(discordtest.Invocation{Type: discordgo.InteractionApplicationCommandAutocomplete,
			GuildID: "g8", ChannelID: "c8", UserID: "41", Permissions: manager,
			Name: "unsubscribe", Options: map[string]string{"id": typed}, Focused: "id"})
		if cb.Response.Type != discordgo.InteractionApplicationCommandAutocompleteResult || cb.Response.Data == nil {
			t.Fatalf("autocomplete answered %s, want type 8 with choices", cb.Raw)
		}
		return cb.Response.Data.Choices
	}
	for _, tc := range []struct {
		name, typed string
		want        []string // queries offered, in order
	}{
		{"everything", "", []string{"Ukraine peace", "Witkoff"}},
		{"by query text", "witk", []string{"Witkoff"}},
		{"nothing matches", "grain", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			choices := complete(tc.typed)
			var got []string
			for _, c := range choices {
				id, _ := c.Value.(string)
				q, ok := own[id]
				if !ok {
					t.Fatalf("choice %q (value %v) is not a subscription of c8", c.Name, c.Value)
				}
				if !strings.Contains(c.Name, q) {
					t.Errorf("choice %q does not show its query %q", c.Name, q)
				}
				got = append(got, q)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("typed %q: offered %q, want %q", tc.typed, got, tc.want)
			}
		})
	}

	// Choosing the offered value unsubscribes exactly that subscription.
	choices := complete("witk")
	if len(choices) != 1 {
		t.Fatalf("want one choice for witk, got %d", len(choices))
	}
	id, _ := choices[0].Value.(string)
	cb := e.interact(discordtest.Invocation{GuildID: "g8", ChannelID: "c8", UserID: "41", Permissions: manager,
		Name: "unsubscribe", Options: map[string]string{"id": id}})
	if d := cb.Response.Data; d == nil || !strings.HasPrefix(d.Content, "Unsubscribed #"+id) {
		t.Fatalf("/unsubscribe id:%s answered %s", id, cb.Raw)
	}
	if subs := e.subs("c8"); len(subs) != 1 || subs[0].Query != "Ukraine peace" {
		t.Errorf("c8 after unsubscribing %s: %+v", id, subs)
	}
	if subs := e.subs("c8other"); len(subs) != 1 {
		t.Errorf("the other channel's subscription was touched: %+v", subs)
	}
}

// TestE2EPreviewDefersAndEdits: /preview acknowledges at once with a
// deferred answer (type 5, shown only to the asker), then edits
// @original with the stored stories that match, and only those.
func TestE2EPreviewDefersAndEdits(t *testing.T) {
	e := newE2E(t)
	e.start()
	e.publish(
		rssItem("pv-1", "Witkoff arrives in Moscow", "The envoy arrived.", 1),
		rssItem("pv-2", "Grain exports rise", "Odesa ports.", 2),
		rssItem("pv-3", "Witkoff leaves without a deal", "Talks ended.", 3),
	)
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	id, token, err := e.dc.Interact(ctx, discordtest.Invocation{GuildID: "g9", ChannelID: "c9", UserID: "42",
		Permissions: member, Name: "preview", Options: map[string]string{"query": "Witkoff"}})
	if err != nil {
		t.Fatal(err)
	}
	edit, err := e.dc.WaitWebhookEdit(ctx, token)
	if err != nil {
		t.Fatalf("no edit of the deferred answer: %v", err)
	}
	// The adapter answers the callback before it edits, so the callback
	// is recorded by now.
	var cbs []discordtest.Callback
	for _, c := range e.dc.Callbacks() {
		if c.InteractionID == id {
			cbs = append(cbs, c)
		}
	}
	if len(cbs) != 1 {
		t.Fatalf("%d callbacks to /preview, want exactly one", len(cbs))
	}
	cb := cbs[0]
	if cb.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Errorf("/preview callback type %d, want 5 (deferred): %s", cb.Response.Type, cb.Raw)
	}
	if cb.Response.Data == nil || cb.Response.Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Errorf("deferred answer is not ephemeral: %s", cb.Raw)
	}
	if edit.MessageID != "@original" || edit.AppID != e.dc.AppID() {
		t.Errorf("edited %s/%s, want the original response of app %s", edit.AppID, edit.MessageID, e.dc.AppID())
	}
	if edit.Edit.Content == nil {
		t.Fatalf("edit without content: %s", edit.Raw)
	}
	content := *edit.Edit.Content
	for _, want := range []string{"Witkoff arrives in Moscow", "Witkoff leaves without a deal", "2 of 3 stories"} {
		if !strings.Contains(content, want) {
			t.Errorf("preview lacks %q: %q", want, content)
		}
	}
	if strings.Contains(content, "Grain") {
		t.Errorf("preview lists a story that does not match: %q", content)
	}
	if !strings.Contains(string(edit.Raw), `"allowed_mentions":{"parse":[]`) {
		t.Errorf("edit without an empty allowed-mentions parse list: %s", edit.Raw)
	}
	if fu := e.dc.Followups(); len(fu) != 0 {
		t.Errorf("a private preview was also posted publicly: %s", fu[0].Raw)
	}
}

// TestE2ERateLimitedAlertArrivesOnce: the fake answers the channel's
// first two message requests with 429; the alert is sent again only after
// retry_after, arrives exactly once, and another channel's alert is not
// held up meanwhile.
func TestE2ERateLimitedAlertArrivesOnce(t *testing.T) {
	const retryAfter = 1500 * time.Millisecond
	e := newE2E(t)
	e.start()
	e.subscribe("g10", "c10", "Witkoff")
	e.subscribe("g10", "c10free", "Witkoff")

	e.dc.RateLimitNext("c10", 2, retryAfter)
	e.publish(rssItem("rl-1", "Witkoff arrives in Moscow", "News.", 1))
	e.waitMessages(2)
	e.idle()
	msgs := e.dc.Messages()
	if got := titles(msgs, "c10"); len(got) != 1 || got[0] != "Witkoff arrives in Moscow" {
		t.Errorf("c10 got %q, want the alert exactly once", got)
	}
	if got := titles(msgs, "c10free"); len(got) != 1 {
		t.Errorf("c10free got %q, want the alert once", got)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2:%s", len(msgs), describe(msgs))
	}
	if n := e.dc.TooManyRequests(); n != 2 {
		t.Errorf("the fake answered %d 429s, want the 2 it was told to", n)
	}
	var limited, free discordtest.Message
	for _, m := range msgs {
		if m.ChannelID == "c10" {
			limited = m
		} else {
			free = m
		}
	}
	inert(t, limited)
	// Two waits of retry_after each: the retry honoured the answer.
	if !free.Received.Before(limited.Received) {
		t.Errorf("the free channel's alert (%v) waited for the rate-limited one (%v)", free.Received, limited.Received)
	}
	if gap := limited.Received.Sub(free.Received); gap < 2*retryAfter-200*time.Millisecond {
		t.Errorf("rate-limited alert arrived %v after the free one; retry_after %v was not waited out twice", gap, retryAfter)
	}
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after delivery", n)
	}
}

// TestE2ELongSummaryValidEmbed: a story whose summary is 9,000
// characters is delivered as one valid embed: the description is cut to
// Discord's limits and the title and link are intact.
func TestE2ELongSummaryValidEmbed(t *testing.T) {
	e := newE2E(t)
	e.cfg.Bot.SummaryMaxChars = 20000 // let the summariser keep it all
	e.start()
	e.subscribe("g11", "c11", "Witkoff")

	var b strings.Builder
	for i := 0; b.Len() < 9000; i++ {
		fmt.Fprintf(&b, "Sentence %d about the envoy's talks in Moscow and Kyiv. ", i)
	}
	long := strings.TrimSpace(b.String())[:9000]
	e.publish(rssItem("ls-1", "Witkoff talks run long", long, 1))
	stories, err := e.d.DB.RecentStories(time.Time{})
	if err != nil || len(stories) != 1 {
		t.Fatalf("stored stories: %d, %v", len(stories), err)
	}
	if n := utf8.RuneCountInString(stories[0].Summary); n < 9000-100 {
		t.Fatalf("the stored summary has %d characters; the test needs about 9,000", n)
	}
	msgs := e.waitMessages(1)
	m := msgs[0]
	inert(t, m) // includes discord.ValidateMessage
	if len(m.Send.Embeds) != 1 {
		t.Fatalf("alert has %d embeds: %s", len(m.Send.Embeds), m.Raw)
	}
	em := m.Send.Embeds[0]
	if em.Title != "Witkoff talks run long" || em.URL != "https://news.example/ls-1" {
		t.Errorf("title %q url %q: the title or link was cut", em.Title, em.URL)
	}
	n := utf8.RuneCountInString(em.Description)
	if n > 4096 || n < 1000 {
		t.Errorf("description has %d characters, want the summary cut to at most 4096 (and not emptied)", n)
	}
	if !strings.HasPrefix(em.Description, "Sentence 0 about") {
		t.Errorf("description does not start with the summary: %.80q", em.Description)
	}
	if err := discord.ValidateMessage(&m.Send); err != nil {
		t.Errorf("ValidateMessage: %v", err)
	}
}

// TestE2EGuildRemovedAndRejoined: the bot is removed from a guild with
// two subscribed channels. One channel's alert was already refused (403:
// Discord refuses a guild's channels once the bot is out) and waits in
// the outbox; GUILD_DELETE pauses both channels, another guild is
// untouched, and stories published meanwhile alert nobody there. When
// the bot is added back (GUILD_CREATE) both resume and the queued alert
// arrives exactly once.
func TestE2EGuildRemovedAndRejoined(t *testing.T) {
	// Stories of different events: similar ones would be filed under one
	// event and its later alerts become edits of the first.
	const gd1Title, gd3Title = "Witkoff arrives in Moscow", "Witkoff tours Kyiv grain terminals"
	gd1 := rssItem("gd-1", gd1Title, "The envoy landed at Vnukovo on Thursday.", 1)
	gd2 := rssItem("gd-2", "Ankara shipping insurers wait for Witkoff", "Turkish mediators reported no progress on corridor premiums.", 2)
	gd3 := rssItem("gd-3", gd3Title, "Ukrainian exporters showed silos and rail sidings to visiting officials.", 3)
	e := newE2E(t)
	lw := e.startLogged()
	e.subscribe("g12", "c12a", "Witkoff")
	e.subscribe("g12", "c12b", "Witkoff")
	e.subscribe("g13", "c13", "Witkoff")

	// Removal: Discord refuses the guild's channels at once.
	missing := discordtest.Failure{Status: http.StatusForbidden, Code: 50001, Message: "Missing Access"}
	e.dc.FailChannel("c12a", missing)
	e.dc.FailChannel("c12b", missing)
	// c12b's subscription is paused first (by the user) so that the story
	// is queued for c12a alone, then resumed after the 403.
	e.publishOnlyTo(t, "c12b", gd1)
	e.waitStatus(http.StatusForbidden)
	e.waitMessages(1) // c13's copy
	e.idle()

	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if err := e.dc.GuildDelete(ctx, "g12", false); err != nil {
		t.Fatal(err)
	}
	pausedByPlatform := func(ch string) bool {
		subs := e.subs(ch)
		return len(subs) == 1 && subs[0].Paused && subs[0].PausedBy == subscriptions.PausedByPlatform
	}
	lw.waitFor("GUILD_DELETE to pause c12b", func() bool { return pausedByPlatform("c12a") && pausedByPlatform("c12b") })
	if subs := e.subs("c13"); len(subs) != 1 || subs[0].Paused {
		t.Errorf("another guild's channel was paused: %+v", subs)
	}
	if n := e.outboxLen(); n != 1 {
		t.Fatalf("outbox holds %d, want c12a's refused alert kept", n)
	}

	// While removed, new stories alert only the other guild.
	e.publish(
		gd1,
		gd2,
	)
	e.waitMessages(2)
	e.idle()
	if n := e.outboxLen(); n != 1 {
		t.Fatalf("outbox holds %d, want 1: a removed guild's channel was alerted", n)
	}

	// Added back: access restored, GUILD_CREATE announces the guild.
	e.dc.ClearChannel("c12a")
	e.dc.ClearChannel("c12b")
	if err := e.dc.GuildCreate(ctx, "g12", discordtest.Channel{ID: "c12a", Name: "news"}, discordtest.Channel{ID: "c12b", Name: "wire"}); err != nil {
		t.Fatal(err)
	}
	e.waitMessages(3)
	lw.waitFor("GUILD_CREATE to resume g12", func() bool { return lw.count("discord guild joined again") > 0 })
	e.idle()
	for _, ch := range []string{"c12a", "c12b"} {
		if subs := e.subs(ch); len(subs) != 1 || subs[0].Paused {
			t.Errorf("%s after GUILD_CREATE: %+v, want active", ch, subs)
		}
	}
	msgs := e.dc.Messages()
	if got := titles(msgs, "c12a"); fmt.Sprint(got) != "["+gd1Title+"]" {
		t.Errorf("c12a got %q, want the queued alert exactly once", got)
	}
	if got := titles(msgs, "c12b"); len(got) != 0 {
		t.Errorf("c12b got %q while its subscription was paused", got)
	}
	if n := e.outboxLen(); n != 0 {
		t.Errorf("outbox holds %d after the guild came back", n)
	}
	// The removal was logged once for the guild, not per channel or alert.
	if n := lw.count("discord channel unreachable"); n != 1 {
		t.Errorf("the lost channel was logged %d times, want once", n)
	}

	// Both channels really alert again.
	e.publish(
		gd1,
		gd2,
		gd3,
	)
	e.waitMessages(6)
	e.idle()
	msgs = e.dc.Messages()
	for _, ch := range []string{"c12a", "c12b", "c13"} {
		if got := titles(msgs, ch); len(got) == 0 || got[len(got)-1] != gd3Title {
			t.Errorf("%s got %q, want the new story last", ch, got)
		}
	}
	if len(msgs) != 6 {
		t.Errorf("%d messages, want 6:%s", len(msgs), describe(msgs))
	}
}

// publishOnlyTo publishes items while channel's subscriptions are paused
// by the user, then resumes them, so the items alert every subscriber but
// that channel.
func (e *e2e) publishOnlyTo(t *testing.T, except string, items ...string) {
	t.Helper()
	for _, name := range []string{"pause", "resume"} {
		cb := e.interact(discordtest.Invocation{GuildID: "g12", ChannelID: except, UserID: "41", Permissions: manager, Name: name})
		if d := cb.Response.Data; d == nil || !strings.Contains(d.Content, "1 subscription") {
			t.Fatalf("/%s in %s answered %s", name, except, cb.Raw)
		}
		if name == "pause" {
			e.publish(items...)
		}
	}
}

// TestE2EGatewayDropDeliversQueued: alerts are held back (the channel
// answers 500, retried after a backoff) when the gateway connection
// drops; the session comes back by itself, the queued alerts arrive in
// order and exactly once, and interactions work on the new session.
func TestE2EGatewayDropDeliversQueued(t *testing.T) {
	e := newE2E(t)
	e.start()
	e.subscribe("g14", "c14", "Witkoff")

	e.dc.FailChannel("c14", discordtest.Failure{Status: http.StatusInternalServerError, Message: "500: Internal Server Error"})
	// Three different events, so that each is an alert of its own.
	stories := [][2]string{
		{"Witkoff arrives in Moscow", "The envoy landed at Vnukovo on Thursday."},
		{"Ankara shipping insurers wait for Witkoff", "Turkish mediators reported no progress on corridor premiums."},
		{"Witkoff tours Kyiv grain terminals", "Ukrainian exporters showed silos and rail sidings to visiting officials."},
	}
	n := len(stories)
	var items, want []string
	for i, st := range stories {
		items = append(items, rssItem(fmt.Sprintf("gw-%d", i), st[0], st[1], 30+i))
		want = append(want, st[0])
	}
	e.publish(items...)
	e.waitStatus(http.StatusInternalServerError)
	if got := e.outboxLen(); got != n {
		t.Fatalf("outbox holds %d, want %d queued", got, n)
	}

	idents, resumes := e.dc.Sessions()
	e.dc.DropGateway()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if err := e.dc.WaitSessions(ctx, idents+resumes+1); err != nil {
		t.Fatalf("the gateway session did not come back: %v", err)
	}
	if len(e.dc.Messages()) != 0 {
		t.Fatal("alerts went out while the channel was failing")
	}
	e.dc.ClearChannel("c14")
	e.waitMessages(n)
	e.idle()
	msgs := e.dc.Messages()
	if got := titles(msgs, "c14"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("c14 got %q, want each queued alert once in order %q", got, want)
	}
	for _, m := range msgs {
		inert(t, m)
	}
	if k := e.outboxLen(); k != 0 {
		t.Errorf("outbox holds %d after the reconnect", k)
	}
	// The new session carries interactions.
	cb := e.interact(discordtest.Invocation{GuildID: "g14", ChannelID: "c14", UserID: "42", Permissions: member, Name: "list"})
	if d := cb.Response.Data; d == nil || !strings.Contains(d.Content, "Witkoff") {
		t.Errorf("/list after the reconnect answered %s", cb.Raw)
	}
}
