package discord_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"frontwire/internal/chat"
	"frontwire/internal/chat/discord"
	"frontwire/internal/chat/discord/discordtest"
	"frontwire/internal/clock"
)

const token = "test-token-SECRET-123"

// core is a small stand-in for Frontwire's command handling, subscription
// completion and membership bookkeeping.
type core struct {
	mu      sync.Mutex
	cmds    chan chat.Command
	release chan struct{} // preview blocks until this is closed
	subs    []chat.Action
	prefix  []string
	gone    chan chat.Address
	back    chan chat.Address
}

func newCore() *core {
	return &core{
		cmds: make(chan chat.Command, 16), release: make(chan struct{}),
		gone: make(chan chat.Address, 16), back: make(chan chat.Address, 16),
	}
}

func (c *core) Handle(ctx context.Context, cmd chat.Command) chat.Reply {
	c.cmds <- cmd
	switch cmd.Name {
	case "preview":
		select {
		case <-c.release:
		case <-ctx.Done():
		}
		return chat.Reply{Text: "3 recent stories match " + cmd.Args}
	case "subscribe":
		if !cmd.CanManage {
			return chat.Reply{Text: "You need the Manage Channels permission to change this channel's subscriptions."}
		}
		return chat.Reply{Text: "Subscribed to " + cmd.Args, Public: true,
			Actions: []chat.Action{{Label: "Undo", Command: "unsubscribe", Args: "1"}}}
	}
	return chat.Reply{Text: "ok " + cmd.Name}
}

func (c *core) Complete(_ context.Context, from chat.Address, prefix string) []chat.Action {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prefix = append(c.prefix, from.Chat+":"+prefix)
	var out []chat.Action
	for _, s := range c.subs {
		if strings.HasPrefix(strings.ToLower(s.Label), strings.ToLower(prefix)) {
			out = append(out, s)
		}
	}
	return out
}

func (c *core) ChatGone(_ context.Context, a chat.Address, _ string) error {
	c.gone <- a
	return nil
}

func (c *core) ChatBack(_ context.Context, a chat.Address) error {
	c.back <- a
	return nil
}

type harness struct {
	srv  *discordtest.Server
	bot  *discord.Bot
	core *core
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start runs a Bot against a fresh fake and waits until its commands are
// registered.
func start(t *testing.T, guildID string, opts discordtest.Options) *harness {
	t.Helper()
	opts.Token = token
	srv := discordtest.New(opts)
	logs := &syncBuffer{}
	c := newCore()
	bot, err := discord.New(t.Context(), discord.Config{
		Token: token, GuildID: guildID, APIURL: srv.URL(),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:  clock.Real{},
	}, c, c, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	regCtx, regCancel := context.WithCancel(testCtx(t))
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = bot.Run(ctx)
		regCancel() // a Run that ends early must not leave start waiting
		close(done)
	}()
	t.Cleanup(func() {
		close(c.releaseOnce())
		cancel()
		<-done
		if runErr != nil {
			t.Errorf("Run: %v", runErr)
		}
		srv.Close()
		if strings.Contains(logs.String(), token) {
			t.Errorf("bot token in the log: %s", logs.String())
		}
		if t.Failed() {
			t.Logf("bot log:\n%s", logs.String())
		}
	})
	if _, err := srv.WaitRegistrations(regCtx, 1); err != nil {
		select {
		case <-done:
			t.Fatalf("Run ended before registering commands: %v", runErr)
		default:
			t.Fatalf("commands never registered: %v", err)
		}
	}
	return &harness{srv: srv, bot: bot, core: c, logs: logs}
}

// releaseOnce returns the release channel if still open, else a fresh one,
// so cleanup can close it whether or not a test did.
func (c *core) releaseOnce() chan struct{} {
	select {
	case <-c.release:
		return make(chan struct{})
	default:
		return c.release
	}
}

// recv takes one value from ch, failing the test if none comes in time.
func recv[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the bot")
	}
	panic("unreachable")
}

func TestCommandsRegistered(t *testing.T) {
	t.Parallel()
	for _, guild := range []string{"", "555"} {
		t.Run("guild="+guild, func(t *testing.T) {
			t.Parallel()
			h := start(t, guild, discordtest.Options{})
			regs := h.srv.Registrations()
			if len(regs) != 1 || regs[0].GuildID != guild || regs[0].AppID != h.srv.AppID() {
				t.Fatalf("registrations = %+v", regs)
			}
			var raw []map[string]any
			if err := json.Unmarshal(regs[0].Raw, &raw); err != nil {
				t.Fatal(err)
			}
			byName := map[string]map[string]any{}
			for _, c := range raw {
				byName[c["name"].(string)] = c
			}
			for _, name := range []string{"subscribe", "unsubscribe", "list", "pause", "resume", "preview", "sources", "help"} {
				if byName[name] == nil {
					t.Errorf("command %s not registered", name)
				}
			}
			for _, name := range []string{"subscribe", "unsubscribe", "pause", "resume"} {
				// Permission fields are strings in Discord's JSON.
				if got := byName[name]["default_member_permissions"]; got != "16" {
					t.Errorf("%s default_member_permissions = %#v, want \"16\"", name, got)
				}
			}
			for _, name := range []string{"list", "help", "preview", "sources"} {
				if got, ok := byName[name]["default_member_permissions"]; ok {
					t.Errorf("%s restricted to %v", name, got)
				}
			}
			opt := func(cmd string) map[string]any {
				o := byName[cmd]["options"].([]any)
				return o[0].(map[string]any)
			}
			if o := opt("subscribe"); o["name"] != "query" || o["required"] != true || o["type"] != 3.0 {
				t.Errorf("subscribe option = %v", o)
			}
			for _, cmd := range []string{"unsubscribe", "pause"} {
				if o := opt(cmd); o["name"] != "id" || o["autocomplete"] != true {
					t.Errorf("%s option = %v", cmd, o)
				}
			}
			if o := opt("pause"); o["required"] != false {
				t.Errorf("pause id should be optional: %v", o)
			}
		})
	}
}

func TestSubscribePermissions(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	tests := []struct {
		name       string
		guild      string
		perms      int64
		wantManage bool
		wantKind   chat.Kind
	}{
		{"manager", "g1", discordgo.PermissionManageChannels | discordgo.PermissionSendMessages, true, chat.Group},
		{"administrator", "g1", discordgo.PermissionAdministrator, true, chat.Group},
		{"plain member", "g1", discordgo.PermissionSendMessages | discordgo.PermissionViewChannel, false, chat.Group},
		{"dm", "", 0, true, chat.Private},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			id, _, err := h.srv.Interact(ctx, discordtest.Invocation{
				GuildID: tc.guild, ChannelID: "c-" + tc.name, UserID: "u1", Permissions: tc.perms,
				Name: "subscribe", Options: map[string]string{"query": "  Ukraine peace "},
			})
			if err != nil {
				t.Fatal(err)
			}
			cmd := recv(t, h.core.cmds)
			want := chat.Command{
				From: chat.Address{Platform: "discord", Chat: "c-" + tc.name}, User: "u1", UserName: "useru1",
				Kind: tc.wantKind, Name: "subscribe", Args: "Ukraine peace", CanManage: tc.wantManage,
			}
			if cmd != want {
				t.Errorf("command = %+v\nwant      %+v", cmd, want)
			}
			cb, err := h.srv.WaitCallback(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if cb.Response.Type != discordgo.InteractionResponseChannelMessageWithSource {
				t.Errorf("response type %d", cb.Response.Type)
			}
			ephemeral := cb.Response.Data.Flags&discordgo.MessageFlagsEphemeral != 0
			if ephemeral == tc.wantManage {
				t.Errorf("ephemeral = %v for a reply that is public=%v", ephemeral, tc.wantManage)
			}
			if !strings.Contains(string(cb.Raw), `"allowed_mentions":{"parse":[]`) {
				t.Errorf("reply without empty allowed mentions: %s", cb.Raw)
			}
			if tc.wantManage && (len(cb.Buttons) != 1 || cb.Buttons[0].CustomID != "fw|unsubscribe|1") {
				t.Errorf("buttons = %+v, want one undo button", cb.Buttons)
			}
		})
	}
}

func TestButtonPressRunsCommandWithPermissionCheck(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	_, _, err := h.srv.Interact(ctx, discordtest.Invocation{
		Type: discordgo.InteractionMessageComponent, GuildID: "g", ChannelID: "c", UserID: "u2",
		Permissions: discordgo.PermissionSendMessages, CustomID: "fw|unsubscribe|42",
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := recv(t, h.core.cmds)
	if cmd.Name != "unsubscribe" || cmd.Args != "42" || cmd.CanManage || cmd.From.Chat != "c" {
		t.Errorf("command = %+v", cmd)
	}
}

func TestAutocomplete(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	h.core.subs = []chat.Action{
		{Label: "Ukraine peace", Command: "unsubscribe", Args: "1"},
		{Label: "ukraine grain", Command: "unsubscribe", Args: "2"},
		{Label: "Witkoff", Command: "unsubscribe", Args: "3"},
	}
	ctx := testCtx(t)
	for _, name := range []string{"unsubscribe", "pause"} {
		t.Run(name, func(t *testing.T) {
			id, _, err := h.srv.Interact(ctx, discordtest.Invocation{
				Type: discordgo.InteractionApplicationCommandAutocomplete, GuildID: "g", ChannelID: "chan9",
				UserID: "u", Name: name, Options: map[string]string{"id": "ukr"}, Focused: "id",
			})
			if err != nil {
				t.Fatal(err)
			}
			cb, err := h.srv.WaitCallback(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if cb.Response.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
				t.Fatalf("response type %d, want 8", cb.Response.Type)
			}
			var got []string
			for _, c := range cb.Response.Data.Choices {
				got = append(got, c.Name+"="+c.Value.(string))
			}
			if strings.Join(got, ",") != "Ukraine peace=1,ukraine grain=2" {
				t.Errorf("choices = %v", got)
			}
		})
	}
	h.core.mu.Lock()
	defer h.core.mu.Unlock()
	if len(h.core.prefix) != 2 || h.core.prefix[0] != "chan9:ukr" {
		t.Errorf("completer called with %v", h.core.prefix)
	}
	select {
	case cmd := <-h.core.cmds:
		t.Errorf("autocomplete ran a command: %+v", cmd)
	default:
	}
}

func TestPreviewDefersThenEdits(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	id, itoken, err := h.srv.Interact(ctx, discordtest.Invocation{
		GuildID: "g", ChannelID: "c", UserID: "u", Name: "preview", Options: map[string]string{"query": "Witkoff"},
	})
	if err != nil {
		t.Fatal(err)
	}
	recv(t, h.core.cmds) // the handler is running and blocked
	cb, err := h.srv.WaitCallback(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("first response type %d, want 5 (deferred)", cb.Response.Type)
	}
	if n := len(h.srv.WebhookEdits()); n != 0 {
		t.Fatalf("%d edits before the handler finished", n)
	}
	close(h.core.release)
	e, err := h.srv.WaitWebhookEdit(ctx, itoken)
	if err != nil {
		t.Fatal(err)
	}
	if e.MessageID != "@original" || e.AppID != h.srv.AppID() {
		t.Errorf("edit of %s by app %s", e.MessageID, e.AppID)
	}
	if e.Edit.Content == nil || *e.Edit.Content != "3 recent stories match Witkoff" {
		t.Errorf("edited content = %v", e.Edit.Content)
	}
	if !strings.Contains(string(e.Raw), `"parse":[]`) {
		t.Errorf("edit without empty allowed mentions: %s", e.Raw)
	}
	if strings.Contains(h.logs.String(), itoken) {
		t.Error("interaction token in the log")
	}
}

func alertMessage(channel, title, summary string) chat.Message {
	return chat.Message{
		To: chat.Address{Platform: "discord", Chat: channel}, Kind: chat.KindAlert,
		Alert: &chat.Alert{
			StoryID: "s", Source: "Wire", Title: title, Link: "https://news.example/story?id=1",
			Published: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Summary: summary,
			SubscriptionID: 3, Query: "peace", Matched: []string{"peace"},
		},
	}
}

func TestSendAlertIsInert(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	title := "@everyone <@&123> **bold** [x](http://evil)"
	sent, err := h.bot.Send(ctx, alertMessage("chanA", title, "Summary with @here and __under__"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := h.srv.Messages()
	if len(msgs) != 1 || msgs[0].ChannelID != "chanA" || msgs[0].ID != sent.MessageID {
		t.Fatalf("messages = %+v, sent %+v", msgs, sent)
	}
	var raw struct {
		AllowedMentions *struct {
			Parse *[]string `json:"parse"`
		} `json:"allowed_mentions"`
		Embeds []struct {
			Title, Description, URL string
		} `json:"embeds"`
	}
	if err := json.Unmarshal(msgs[0].Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.AllowedMentions == nil || raw.AllowedMentions.Parse == nil || len(*raw.AllowedMentions.Parse) != 0 {
		t.Fatalf("allowed_mentions not an empty parse list: %s", msgs[0].Raw)
	}
	if len(raw.Embeds) != 1 {
		t.Fatalf("embeds = %d", len(raw.Embeds))
	}
	e := raw.Embeds[0]
	working := regexp.MustCompile(`@(everyone|here)|<@&?\d+>|(^|[^\\])\*\*|(^|[^\\])\[x\]\(|(^|[^\\])__`)
	for _, s := range []string{e.Title, e.Description} {
		if working.MatchString(s) {
			t.Errorf("live mention or markdown in %q", s)
		}
	}
	if e.URL != "https://news.example/story?id=1" {
		t.Errorf("url = %q", e.URL)
	}
	if err := discord.ValidateMessage(&msgs[0].Send); err != nil {
		t.Error(err)
	}
}

func TestSendHugeSummary(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	summary := strings.Repeat("Negotiators [met] again. ", 360) // 9000 characters
	if len(summary) != 9000 {
		t.Fatalf("summary is %d", len(summary))
	}
	if _, err := h.bot.Send(testCtx(t), alertMessage("c", "Long story", summary)); err != nil {
		t.Fatal(err)
	}
	m := h.srv.Messages()[0]
	if err := discord.ValidateMessage(&m.Send); err != nil {
		t.Fatal(err)
	}
	e := m.Send.Embeds[0]
	if e.URL == "" || !strings.HasSuffix(e.Description, "…") {
		t.Errorf("url %q, description ends %q", e.URL, e.Description[len(e.Description)-10:])
	}
}

func TestSendTextAndEdit(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	to := chat.Address{Platform: "discord", Chat: "c7"}
	sent, err := h.bot.Send(ctx, chat.Message{To: to, Kind: chat.KindText, Text: "Paused 2 subscriptions @everyone"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.srv.Messages()[0].Send.Content; got != "Paused 2 subscriptions @\u200beveryone" {
		t.Errorf("content = %q", got)
	}
	if err := h.bot.Edit(ctx, to, sent.MessageID, alertMessage("c7", "Updated", "New text")); err != nil {
		t.Fatal(err)
	}
	edits := h.srv.Edits()
	if len(edits) != 1 || edits[0].MessageID != sent.MessageID || !strings.Contains(string(edits[0].Raw), `"parse":[]`) ||
		!strings.Contains(string(edits[0].Raw), `"title":"Updated"`) {
		t.Errorf("edits = %+v", edits)
	}
	if _, err := h.bot.Send(ctx, chat.Message{To: to, Kind: chat.KindAlert}); !errors.Is(err, chat.ErrRejected) {
		t.Errorf("alert without content: %v, want ErrRejected", err)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	tests := []struct {
		name      string
		failure   discordtest.Failure
		gone      bool
		rejected  bool
		transient bool
	}{
		{"missing access", discordtest.Failure{Status: 403, Code: 50001, Message: "Missing Access"}, true, false, false},
		{"missing permissions", discordtest.Failure{Status: 403, Code: 50013, Message: "Missing Permissions"}, true, false, false},
		{"unknown channel", discordtest.Failure{Status: 404, Code: 10003, Message: "Unknown Channel"}, true, false, false},
		{"bad request", discordtest.Failure{Status: 400, Code: 50035, Message: "Invalid Form Body"}, false, true, false},
		{"server error", discordtest.Failure{Status: 500}, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := "fail-" + strings.ReplaceAll(tc.name, " ", "-")
			h.srv.FailChannel(ch, tc.failure)
			_, err := h.bot.Send(ctx, alertMessage(ch, "t", "s"))
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, chat.ErrChatGone) != tc.gone || errors.Is(err, chat.ErrRejected) != tc.rejected {
				t.Errorf("err = %v: gone %v rejected %v", err, errors.Is(err, chat.ErrChatGone), errors.Is(err, chat.ErrRejected))
			}
			var re *discordgo.RESTError
			if !errors.As(err, &re) || re.Response.StatusCode != tc.failure.Status {
				t.Errorf("REST error not kept in the chain: %v", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("token in error: %v", err)
			}
		})
	}
}

func TestForbiddenGuildLoggedOnce(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	// Let the bot learn that both channels belong to guild g9.
	if err := h.srv.GuildCreate(ctx, "g9", discordtest.Channel{ID: "x1"}, discordtest.Channel{ID: "x2"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		recv(t, h.core.back)
	}
	for _, ch := range []string{"x1", "x2", "x1"} {
		h.srv.FailChannel(ch, discordtest.Failure{Status: 403, Code: 50001, Message: "Missing Access"})
		if _, err := h.bot.Send(ctx, alertMessage(ch, "t", "s")); !errors.Is(err, chat.ErrChatGone) {
			t.Fatalf("send to %s: %v", ch, err)
		}
	}
	if n := strings.Count(h.logs.String(), "unreachable"); n != 1 {
		t.Errorf("lost guild logged %d times, want once:\n%s", n, h.logs.String())
	}
}

func TestRateLimitWaitedOut(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	h.srv.RateLimitNext("busy", 2, 30*time.Millisecond)
	if _, err := h.bot.Send(testCtx(t), alertMessage("busy", "t", "s")); err != nil {
		t.Fatal(err)
	}
	if n := h.srv.TooManyRequests(); n != 2 {
		t.Errorf("429s = %d, want 2", n)
	}
	if msgs := h.srv.Messages(); len(msgs) != 1 {
		t.Errorf("message arrived %d times, want once", len(msgs))
	}
}

func TestChannelBucketRespected(t *testing.T) {
	t.Parallel()
	// Two requests per 150 ms per channel: discordgo must read the headers
	// and wait instead of running into 429s.
	h := start(t, "", discordtest.Options{ChannelLimit: 2, ChannelWindow: 150 * time.Millisecond})
	ctx := testCtx(t)
	for i := range 5 {
		if _, err := h.bot.Send(ctx, alertMessage("b", "t", "s")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if len(h.srv.Messages()) != 5 {
		t.Errorf("messages = %d", len(h.srv.Messages()))
	}
	if n := h.srv.TooManyRequests(); n != 0 {
		t.Errorf("%d 429s; the bucket headers were ignored", n)
	}
}

func TestGatewayReconnects(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	if err := h.srv.WaitSessions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.srv.DropGateway()
	if err := h.srv.WaitSessions(ctx, 2); err != nil {
		t.Fatalf("no new session after the drop: %v", err)
	}
	identifies, resumes := h.srv.Sessions()
	if identifies+resumes < 2 {
		t.Errorf("identifies %d resumes %d", identifies, resumes)
	}
	id, _, err := h.srv.Interact(ctx, discordtest.Invocation{ChannelID: "dm1", UserID: "u", Name: "list"})
	if err != nil {
		t.Fatal(err)
	}
	if cmd := recv(t, h.core.cmds); cmd.Name != "list" || cmd.Kind != chat.Private {
		t.Errorf("command after reconnect = %+v", cmd)
	}
	if _, err := h.srv.WaitCallback(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestGuildRemovalAndReturn(t *testing.T) {
	t.Parallel()
	h := start(t, "", discordtest.Options{})
	ctx := testCtx(t)
	// The bot learns channel c1 of guild g1 from an interaction.
	if _, _, err := h.srv.Interact(ctx, discordtest.Invocation{GuildID: "g1", ChannelID: "c1", UserID: "u", Name: "help"}); err != nil {
		t.Fatal(err)
	}
	recv(t, h.core.cmds)
	// An outage is not a removal.
	if err := h.srv.GuildDelete(ctx, "g1", true); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.GuildDelete(ctx, "g1", false); err != nil {
		t.Fatal(err)
	}
	got := recv(t, h.core.gone)
	if got != (chat.Address{Platform: "discord", Chat: "c1"}) {
		t.Errorf("gone = %+v", got)
	}
	select {
	case a := <-h.core.gone:
		t.Errorf("second ChatGone for %+v (the outage must not pause)", a)
	default:
	}
	if err := h.srv.GuildCreate(ctx, "g1", discordtest.Channel{ID: "c2", Name: "news"}); err != nil {
		t.Fatal(err)
	}
	back := map[string]bool{}
	for range 2 {
		back[(recv(t, h.core.back)).Chat] = true
	}
	if !back["c1"] || !back["c2"] {
		t.Errorf("ChatBack for %v, want c1 and c2", back)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	c := newCore()
	tests := []struct {
		name string
		cfg  discord.Config
	}{
		{"no token", discord.Config{}},
		{"bad api url", discord.Config{Token: "x", APIURL: "ftp://x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := discord.New(t.Context(), tc.cfg, c, c, c); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := discord.New(t.Context(), discord.Config{}, c, c, c); !errors.Is(err, discord.ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
}
