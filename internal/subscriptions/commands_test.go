package subscriptions_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/storage"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

type fixture struct {
	db  *storage.DB
	ix  *subscriptions.Index
	svc *subscriptions.Service
	clk *clock.Fake
}

func newFixture(t *testing.T, maxPerChat int) *fixture {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "frontwire.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFake(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	ix := subscriptions.NewIndex()
	svc := subscriptions.NewService(subscriptions.ServiceConfig{
		Store: db, Index: ix, Stories: db, Clock: clk, MaxPerChat: maxPerChat, CommandsPerMinute: 20,
		NotFound: func(err error) bool { return errors.Is(err, storage.ErrNotFound) },
	})
	return &fixture{db: db, ix: ix, svc: svc, clk: clk}
}

var (
	groupA = chat.Address{Platform: "telegram", Chat: "-100"}
	groupB = chat.Address{Platform: "telegram", Chat: "-200"}
)

func (f *fixture) do(from chat.Address, user string, admin bool, line string) chat.Reply {
	name, args, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
	return f.svc.Handle(context.Background(), chat.Command{From: from, User: user, Kind: chat.Group, Name: name, Args: args, CanManage: admin})
}

func matches(f *fixture, title string) []uint64 {
	st := story.Story{ID: "x", Source: "Test", Title: title}
	var ids []uint64
	for _, h := range f.ix.Match(subscriptions.NewDoc(&st)) {
		ids = append(ids, h.ID)
	}
	return ids
}

func TestCommands(t *testing.T) {
	f := newFixture(t, 3)
	steps := []struct {
		from  chat.Address
		user  string
		admin bool
		line  string
		want  string // substring of the reply
	}{
		{groupA, "1", false, "/subscribe Witkoff", "Only this chat's administrators"},
		{groupA, "2", true, "/subscribe Witkoff", "Subscribed #1: Witkoff"},
		{groupA, "2", true, "/subscribe witkoff", "already follows that query as #1"},
		{groupA, "2", true, "/subscribe", "Tell me what to follow"},
		{groupA, "2", true, "/subscribe -Gaza", "That query does not work"},
		{groupA, "2", true, `/subscribe "peace plan`, "That query does not work"},
		{groupA, "2", true, "/subscribe Ukraine peace", "Subscribed #2"},
		{groupA, "2", true, "/subscribe Kushner", "Subscribed #3"},
		{groupA, "2", true, "/subscribe Zelensky", "limit of 3 subscriptions"},
		{groupA, "1", false, "/list", "#1 Witkoff\n#2 Ukraine peace\n#3 Kushner"},
		{groupB, "9", true, "/unsubscribe 1", "This chat has no subscription #1"}, // another chat's ID
		{groupB, "9", true, "/pause 2", "This chat has no subscription #2"},
		{groupA, "2", true, "/unsubscribe abc", `"abc" is not a subscription ID`},
		{groupA, "2", true, "/pause #3", "Paused #3: Kushner"},
		{groupA, "1", false, "/resume 3", "Only this chat's administrators"},
		{groupA, "2", true, "/unsubscribe 2", "Unsubscribed #2: Ukraine peace"},
		{groupA, "1", false, "/frobnicate", "Unknown command /frobnicate"},
		{groupA, "1", false, "/sources", "No sources are configured"},
		{groupA, "1", false, "/preview (Witkoff", "That query does not work"},
	}
	for i, s := range steps {
		r := f.do(s.from, s.user, s.admin, s.line)
		if !strings.Contains(r.Text, s.want) {
			t.Errorf("step %d %s: reply %q, want it to contain %q", i, s.line, r.Text, s.want)
		}
	}
	// The index follows the commands: #1 active, #2 removed, #3 paused.
	if got := matches(f, "Witkoff, Kushner and Ukraine peace"); fmt.Sprint(got) != "[1]" {
		t.Errorf("index matches %v, want [1]", got)
	}
	subs, _ := f.db.ChatSubscriptions(groupA.Key())
	if len(subs) != 2 || !subs[1].Paused || subs[1].PausedBy != subscriptions.PausedByUser {
		t.Errorf("stored subscriptions = %+v", subs)
	}
}

func TestListOffersButtonsThatAreCheckedAgainstTheChat(t *testing.T) {
	f := newFixture(t, 50)
	f.do(groupA, "2", true, "/subscribe Witkoff")
	r := f.do(groupA, "2", true, "/list")
	if len(r.Actions) != 2 || r.Actions[0].Command != "unsubscribe" || r.Actions[0].Args != "1" || r.Actions[1].Command != "pause" {
		t.Fatalf("actions = %+v", r.Actions)
	}
	// A forged button press from another chat carrying #1 is refused.
	forged := f.svc.Handle(context.Background(), chat.Command{From: groupB, User: "9", Name: r.Actions[0].Command, Args: r.Actions[0].Args, CanManage: true})
	if !strings.Contains(forged.Text, "no subscription #1") {
		t.Errorf("forged press: %q", forged.Text)
	}
	if got := matches(f, "Witkoff"); len(got) != 1 {
		t.Errorf("forged press changed the index: %v", got)
	}
}

func TestChatGoneAndBackKeepUserPauses(t *testing.T) {
	f := newFixture(t, 50)
	ctx := context.Background()
	f.do(groupA, "2", true, "/subscribe Witkoff")
	f.do(groupA, "2", true, "/subscribe Kushner")
	f.do(groupA, "2", true, "/pause 2")
	if err := f.svc.ChatGone(ctx, groupA, "bot was kicked"); err != nil {
		t.Fatal(err)
	}
	if got := matches(f, "Witkoff Kushner"); len(got) != 0 {
		t.Errorf("gone chat still matches %v", got)
	}
	n, err := f.svc.ChatBack(ctx, groupA)
	if err != nil || n != 1 {
		t.Fatalf("ChatBack resumed %d (%v), want 1", n, err)
	}
	if got := matches(f, "Witkoff Kushner"); fmt.Sprint(got) != "[1]" {
		t.Errorf("after return matches %v, want [1] (the user's pause of #2 stays)", got)
	}
}

func TestChatMovedRehomesSubscriptions(t *testing.T) {
	f := newFixture(t, 50)
	f.do(groupA, "2", true, "/subscribe Witkoff")
	moved := chat.Address{Platform: "telegram", Chat: "-1009999"}
	if err := f.svc.ChatMoved(context.Background(), groupA, moved); err != nil {
		t.Fatal(err)
	}
	st := story.Story{ID: "x", Title: "Witkoff"}
	hits := f.ix.Match(subscriptions.NewDoc(&st))
	if len(hits) != 1 || hits[0].Chat != moved {
		t.Errorf("hits after move = %+v", hits)
	}
}

func TestCommandRateLimitPerUser(t *testing.T) {
	f := newFixture(t, 50)
	for i := range 20 {
		if r := f.do(groupA, "5", false, "/list"); strings.Contains(r.Text, "Slow down") {
			t.Fatalf("command %d refused", i)
		}
	}
	if r := f.do(groupA, "5", false, "/list"); !strings.Contains(r.Text, "Slow down") {
		t.Errorf("21st command in a minute: %q", r.Text)
	}
	if r := f.do(groupA, "6", false, "/list"); strings.Contains(r.Text, "Slow down") {
		t.Error("another user was limited too")
	}
	f.clk.Advance(61 * time.Second)
	if r := f.do(groupA, "5", false, "/list"); strings.Contains(r.Text, "Slow down") {
		t.Error("still limited after a minute")
	}
}

func TestHostileCommandInput(t *testing.T) {
	f := newFixture(t, 50)
	inputs := []string{
		strings.Repeat("(", 10000) + "x",
		strings.Repeat("a ", 5000),
		"Witkoff\x00",
		"\u202effoktiW",
		"Wit\u200bkoff",
		string([]byte{0xff, 0xfe, 'x'}),
		strings.Repeat("\"", 501),
		"OR OR OR",
	}
	for _, in := range inputs {
		r := f.do(groupA, "2", true, "/subscribe "+in)
		if r.Text == "" {
			t.Errorf("no reply to /subscribe %q", in)
		}
		r = f.do(groupA, "2", true, "/preview "+in)
		if r.Text == "" {
			t.Errorf("no reply to /preview %q", in)
		}
		f.clk.Advance(time.Minute) // stay under the rate limit
	}
}

func TestPreviewSearchesRecentStories(t *testing.T) {
	f := newFixture(t, 50)
	_, err := f.db.CommitPoll(storage.SourceState{Name: "Wire"}, []storage.NewStory{
		{Story: story.Story{ID: "a", Source: "Wire", Title: "Witkoff in Moscow", Link: "https://n.example/a", FirstSeen: f.clk.Now()}},
		{Story: story.Story{ID: "b", Source: "Wire", Title: "Grain exports", FirstSeen: f.clk.Now()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.do(groupA, "1", false, "/preview witkoff")
	if !strings.Contains(r.Text, "1 of 2 stories") || !strings.Contains(r.Text, "Witkoff in Moscow") || !strings.Contains(r.Text, "https://n.example/a") {
		t.Errorf("preview: %q", r.Text)
	}
	r = f.do(groupA, "1", false, "/preview Kushner")
	if !strings.Contains(r.Text, "Nothing in the last 24h") {
		t.Errorf("preview without matches: %q", r.Text)
	}
}
