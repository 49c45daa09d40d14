package subscriptions_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/digest"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// TestCadenceCommands runs /set, /quiet and /timezone against a real
// bbolt file, in a group where only administrators may change settings.
func TestCadenceCommands(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	db, err := storage.Open(filepath.Join(t.TempDir(), "f.db"), storage.Options{NoSync: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := subscriptions.NewService(subscriptions.ServiceConfig{
		Store: db, Index: subscriptions.NewIndex(), Clock: clk, Cadence: db, Location: time.UTC,
		NotFound:          func(err error) bool { return errors.Is(err, storage.ErrNotFound) },
		CommandsPerMinute: 1000,
	})
	group := chat.Address{Platform: "telegram", Chat: "-100"}
	other := chat.Address{Platform: "telegram", Chat: "-200"}
	run := func(from chat.Address, admin bool, line string) string {
		name, args, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
		return svc.Handle(context.Background(), chat.Command{From: from, User: "5", Kind: chat.Group, Name: name, Args: args, CanManage: admin}).Text
	}
	run(group, true, "/subscribe Witkoff") // #1
	run(other, true, "/subscribe Kushner") // #2, another chat's

	cases := []struct {
		name  string
		from  chat.Address
		admin bool
		line  string
		want  string // in the reply
	}{
		{"set daily", group, true, "/set 1 digest daily 08:00", "one digest a day at 08:00 (UTC, the bot's time zone)"},
		{"set hourly with #", group, true, "/set #1 digest hourly", "one digest an hour"},
		{"set by a member", group, false, "/set 1 digest instant", "Only this chat's administrators"},
		{"set 25:00", group, true, "/set 1 digest daily 25:00", "HH:MM on a 24-hour clock"},
		{"set weekly", group, true, "/set 1 digest weekly", "say instant, hourly, or daily HH:MM"},
		{"set another chat's", group, true, "/set 2 digest hourly", "This chat has no subscription #2"},
		{"set missing word", group, true, "/set 1 hourly", "Usage: /set ID digest"},
		{"set not a number", group, true, "/set one digest hourly", "is not a subscription ID"},
		{"quiet shown to members", group, false, "/quiet", "no quiet hours"},
		{"quiet by a member", group, false, "/quiet 23:00-07:00", "Only this chat's administrators"},
		{"quiet equal ends", group, true, "/quiet 23:00-23:00", "make them different"},
		{"quiet 25:00", group, true, "/quiet 25:00-07:00", "HH:MM on a 24-hour clock"},
		{"quiet set", group, true, "/quiet 23:00-07:00", "Quiet hours 23:00-07:00"},
		{"quiet shown", group, false, "/quiet", "Quiet hours: 23:00-07:00"},
		{"timezone unknown", group, true, "/timezone Mars/Olympus", "not a time zone I know"},
		{"timezone by a member", group, false, "/timezone Europe/Kyiv", "Only this chat's administrators"},
		{"timezone set", group, true, "/timezone Europe/Kyiv", "now Europe/Kyiv"},
		{"timezone shown", group, false, "/timezone", "Europe/Kyiv"},
		{"quiet off", group, true, "/quiet off", "Quiet hours are off"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.from, tc.admin, tc.line); !strings.Contains(got, tc.want) {
				t.Errorf("%s → %q, want it to contain %q", tc.line, got, tc.want)
			}
		})
	}
	// What the commands left in storage: the refused and bad commands
	// changed nothing.
	if c, _ := db.SubscriptionCadence(1); c != (digest.Cadence{Mode: digest.Hourly}) {
		t.Errorf("cadence of #1 = %+v, want hourly", c)
	}
	if c, _ := db.SubscriptionCadence(2); !c.IsInstant() {
		t.Errorf("another chat's subscription changed: %+v", c)
	}
	cs, _ := db.ChatSettings(group.Key())
	if cs.Timezone != "Europe/Kyiv" || cs.Quiet != nil {
		t.Errorf("chat settings %+v, want Kyiv without quiet hours", cs)
	}
	if !strings.Contains(run(group, false, "/help"), "/quiet 23:00-07:00") {
		t.Error("help does not list /quiet")
	}
}
