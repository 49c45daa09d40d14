package telegram_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/clock"
)

// TestReplyWaitsOutRateLimit: a command's reply that draws a 429 is sent
// again once the retry_after has passed on the bot's clock, when Telegram
// asks for at most 30 s; a longer wait (a group's minute limit) is not
// waited for, and the next update is handled at once.
func TestReplyWaitsOutRateLimit(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		chatID   int64
		typ      string
		limits   telegramtest.Limits
		advance  time.Duration // moved on both clocks once the bot waits
		wantSent int           // messages the fake accepted in the end
	}{
		{"private chat, 1 s", 42, "private", telegramtest.Limits{ChatPerSecond: 1}, time.Second, 2},
		{"group, a minute: not waited", -1001, "group", telegramtest.Limits{GroupPerMinute: 1}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Separate clocks: the server's drives its limits and long
			// poll, the bot's the wait; the test moves both.
			srvClock, botClock := clock.NewFake(t0), clock.NewFake(t0)
			e := newEnv(t, telegramtest.Options{Clock: srvClock, Limits: tt.limits})
			e.cfg.Clock = botClock
			b := e.start(t)
			to := chat.Address{Platform: "telegram", Chat: strconv.FormatInt(tt.chatID, 10)}
			// Use up the chat's allowance, so the reply draws a 429.
			if _, err := b.Send(context.Background(), chat.Message{To: to, Kind: chat.KindText, Text: "alert"}); err != nil {
				t.Fatal(err)
			}
			e.srv.PushUpdate(update("message", message(tt.chatID, tt.typ, 42, "/list")))
			if c := e.h.next(t); c.Name != "list" {
				t.Fatalf("handled %+v", c)
			}
			if tt.advance > 0 {
				waiting := make(chan struct{})
				go func() { botClock.WaitForWaiters(1); close(waiting) }()
				select {
				case <-waiting:
				case <-time.After(wait):
					t.Fatalf("the reply is not waiting out its 429 (sent %d, 429s %d)", len(e.srv.Sent()), e.srv.Count429())
				}
				if n := e.srv.Count429(); n != 1 {
					t.Fatalf("429s before the wait = %d, want 1", n)
				}
				srvClock.Advance(tt.advance)
				botClock.Advance(tt.advance)
			} else {
				// Not waiting: the next update is handled while the
				// clocks stand still.
				e.srv.PushUpdate(update("message", message(tt.chatID, tt.typ, 42, "/help")))
				if c := e.h.next(t); c.Name != "help" {
					t.Fatalf("handled %+v", c)
				}
			}
			sent, err := e.srv.WaitSent(tt.wantSent, wait)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSent == 2 && (len(sent) != 2 || sent[1].Text != "ok list") {
				t.Errorf("sent %+v, want the alert then the reply", sent)
			}
			if tt.wantSent == 1 && len(e.srv.Sent()) != 1 {
				t.Errorf("sent %d messages, want only the alert", len(e.srv.Sent()))
			}
			if calls := e.srv.Calls("sendMessage"); tt.wantSent == 2 && calls != 3 {
				t.Errorf("sendMessage calls = %d, want 3 (alert, 429, retry)", calls)
			}
		})
	}
}
