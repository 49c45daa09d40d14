package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/storage"
)

// TestTelegramPermissionsThroughBinary drives the real binary: a group
// administrator subscribes the group; a plain member, a stranger in a
// private chat using the group's subscription ID, and a forged button
// press all fail to remove it; the subscription is still stored after.
func TestTelegramPermissionsThroughBinary(t *testing.T) {
	const group, admin, member, stranger = -1001234, 10, 11, 12
	tg := telegramtest.NewServer(t, telegramtest.Options{})
	tg.SetRole(group, admin, "administrator")
	tg.SetRole(group, member, "member")
	dir := t.TempDir()
	cfgPath := botConfig{DataDir: filepath.Join(dir, "data"), Telegram: true, TelegramURL: tg.URL(), Token: tg.Token()}.write(t, dir)
	p := startBot(t, nil, "run", "-config", cfgPath)

	replies := 0
	say := func(chatID, user int64, typ, text string) string {
		t.Helper()
		tg.PushUpdate(command(chatID, user, typ, text))
		replies++
		sent, err := tg.WaitSent(replies, 30*time.Second)
		if err != nil {
			t.Fatalf("%q: %v\n%s", text, err, p.out.String())
		}
		return sent[len(sent)-1].Text
	}
	if r := say(group, admin, "supergroup", "/subscribe Witkoff"); !strings.Contains(r, "Subscribed #1") {
		t.Fatalf("admin subscribe: %q", r)
	}
	tried := 0
	cases := []struct {
		name, typ, text string
		chatID, user    int64
	}{
		{"group member unsubscribes", "supergroup", "/unsubscribe 1", group, member},
		{"group member subscribes", "supergroup", "/subscribe Ukraine", group, member},
		{"group member pauses", "supergroup", "/pause", group, member},
		{"stranger uses the group's ID in a private chat", "private", "/unsubscribe 1", stranger, stranger},
	}
	for _, tc := range cases {
		r := say(tc.chatID, tc.user, tc.typ, tc.text)
		tried++
		if !refused(r) {
			t.Errorf("%s: allowed: %q", tc.name, r)
		}
		t.Logf("%s -> %q", tc.name, r)
	}
	// Forged button presses: a member in the group, and a stranger whose
	// own private chat carries the group's subscription ID.
	forged := []struct {
		name         string
		chatID, user int64
		typ          string
	}{
		{"member presses unsubscribe in the group", group, member, "supergroup"},
		{"stranger forges the press in a private chat", stranger, stranger, "private"},
	}
	for i, f := range forged {
		tg.PushUpdate(fmt.Sprintf(`{"callback_query":{"id":"cb%d","from":{"id":%d,"is_bot":false,"first_name":"x"},"data":"unsubscribe 1","chat_instance":"1","message":{"message_id":5,"date":1,"chat":{"id":%d,"type":%q},"text":"list"}}}`, i, f.user, f.chatID, f.typ))
		answers, err := tg.WaitCallbackAnswers(i+1, 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		a := answers[len(answers)-1].Text
		tried++
		if !refused(a) {
			t.Errorf("%s: allowed: %q", f.name, a)
		}
		t.Logf("%s -> %q", f.name, a)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Errorf("exit: %v", err)
	}
	withDB(t, filepath.Join(dir, "data", "frontwire.db"), func(db *storage.DB) {
		subs, err := db.ChatSubscriptions(fmt.Sprintf("telegram:%d", group))
		if err != nil {
			t.Fatal(err)
		}
		if len(subs) != 1 || subs[0].ID != 1 || subs[0].Paused {
			t.Errorf("group's subscriptions after the attempts: %+v", subs)
		}
	})
	t.Logf("FIGURE permissions: refused attempts through the binary=%d", tried)
}

// refused reports whether a reply is one of the refusals: not an
// administrator, or no such subscription in this chat.
func refused(reply string) bool {
	return strings.Contains(reply, "Only this chat's administrators") || strings.Contains(reply, "no subscription #1")
}
