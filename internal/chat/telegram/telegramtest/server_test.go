package telegramtest_test

import (
	"errors"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/clock"
)

func newClient(t *testing.T, s *telegramtest.Server) *tgbotapi.BotAPI {
	t.Helper()
	api, err := tgbotapi.NewBotAPIWithClient(s.Token(), s.URL()+"/bot%s/%s", s.Client())
	if err != nil {
		t.Fatalf("NewBotAPIWithClient: %v", err)
	}
	return api
}

// send sends one message with the real client and returns the API error
// code (0 on success) and retry_after.
func send(t *testing.T, api *tgbotapi.BotAPI, chatID int64) (code, retry int) {
	t.Helper()
	_, err := api.Send(tgbotapi.NewMessage(chatID, "hi"))
	var te *tgbotapi.Error
	switch {
	case err == nil:
		return 0, 0
	case errors.As(err, &te):
		return te.Code, te.RetryAfter
	}
	t.Fatalf("send: %v", err)
	return 0, 0
}

func TestRateLimits(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		limits telegramtest.Limits
		chats  []int64 // one send to each, in order, at the same instant
		codes  []int
		retry  int // retry_after of the last send
	}{
		{"per chat per second", telegramtest.Limits{ChatPerSecond: 2}, []int64{1, 1, 1, 2}, []int{0, 0, 429, 0}, 0},
		{"global per second", telegramtest.Limits{GlobalPerSecond: 3}, []int64{1, 2, 3, 4}, []int{0, 0, 0, 429}, 1},
		{"per group per minute", telegramtest.Limits{GroupPerMinute: 2}, []int64{-5, -5, -5}, []int{0, 0, 429}, 60},
		{"group limit does not apply to private chats", telegramtest.Limits{GroupPerMinute: 1}, []int64{5, 5, 5}, []int{0, 0, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := clock.NewFake(start)
			s := telegramtest.NewServer(t, telegramtest.Options{Clock: fake, Limits: tt.limits})
			api := newClient(t, s)
			var retry, n429 int
			for i, c := range tt.chats {
				code, r := send(t, api, c)
				if code != tt.codes[i] {
					t.Errorf("send %d to %d: code %d, want %d", i, c, code, tt.codes[i])
				}
				retry = r
				if code == 429 {
					n429++
				}
			}
			if retry != tt.retry {
				t.Errorf("retry_after %d, want %d", retry, tt.retry)
			}
			if s.Count429() != n429 {
				t.Errorf("Count429 = %d, want %d", s.Count429(), n429)
			}
			// Once the window has passed, the send goes through.
			fake.Advance(time.Minute)
			if code, _ := send(t, api, tt.chats[len(tt.chats)-1]); code != 0 {
				t.Errorf("after the window: code %d", code)
			}
		})
	}
}

func TestGetUpdatesHonoursOffset(t *testing.T) {
	s := telegramtest.NewServer(t, telegramtest.Options{})
	api := newClient(t, s)
	a := s.PushUpdate(tgbotapi.Update{Message: &tgbotapi.Message{MessageID: 1, Text: "a", Chat: &tgbotapi.Chat{ID: 1, Type: "private"}}})
	b := s.PushUpdate(`{"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"private"},"text":"b"}}`)
	got, err := api.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(got) != 2 || got[0].UpdateID != a || got[1].Message.Text != "b" {
		t.Fatalf("first poll: %+v, %v", got, err)
	}
	got, err = api.GetUpdates(tgbotapi.UpdateConfig{Offset: b})
	if err != nil || len(got) != 1 || got[0].UpdateID != b {
		t.Fatalf("poll from offset %d: %+v, %v", b, got, err)
	}
	// Confirmed updates are gone, as in Telegram.
	got, err = api.GetUpdates(tgbotapi.UpdateConfig{Offset: b + 1})
	if err != nil || len(got) != 0 || s.Offset() != b+1 {
		t.Fatalf("poll after confirming: %+v, %v", got, err)
	}
	got, err = api.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(got) != 0 {
		t.Fatalf("confirmed updates returned again: %+v, %v", got, err)
	}
}

func TestLongPollWakesOnPush(t *testing.T) {
	s := telegramtest.NewServer(t, telegramtest.Options{})
	api := newClient(t, s)
	done := make(chan []tgbotapi.Update, 1)
	go func() {
		u, _ := api.GetUpdates(tgbotapi.UpdateConfig{Timeout: 60})
		done <- u
	}()
	if err := s.WaitPolling(5 * time.Second); err != nil {
		t.Fatal("poll did not block")
	}
	id := s.PushUpdate(`{"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"x"}}`)
	select {
	case u := <-done:
		if len(u) != 1 || u[0].UpdateID != id {
			t.Errorf("poll returned %+v", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("poll not woken by the push")
	}
}

func TestFailures(t *testing.T) {
	s := telegramtest.NewServer(t, telegramtest.Options{})
	api := newClient(t, s)
	s.FailChat(9, 403, "Forbidden: bot was blocked by the user", 0)
	if code, _ := send(t, api, 9); code != 403 {
		t.Errorf("FailChat: code %d", code)
	}
	s.ClearChat(9)
	if code, _ := send(t, api, 9); code != 0 {
		t.Errorf("after ClearChat: code %d", code)
	}
	s.FailNext("sendMessage", 1, telegramtest.Failure{Status: 502, Body: "<html>Bad Gateway</html>"})
	_, err := api.Send(tgbotapi.NewMessage(9, "x"))
	if err == nil {
		t.Fatal("FailNext: no error")
	}
	if te := (*tgbotapi.Error)(nil); errors.As(err, &te) {
		t.Errorf("an HTML page decoded as an API error: %v", err)
	}
	if code, _ := send(t, api, 9); code != 0 {
		t.Errorf("FailNext lasted too long: code %d", code)
	}
	if got := s.Sent(); len(got) != 2 || s.Calls("sendMessage") != 4 {
		t.Errorf("sent %d, calls %d", len(got), s.Calls("sendMessage"))
	}
	if _, err := api.Request(tgbotapi.NewCallback("q1", "done")); err != nil {
		t.Fatal(err)
	}
	if a := s.CallbackAnswers(); len(a) != 1 || a[0].ID != "q1" || a[0].Text != "done" {
		t.Errorf("answers %+v", a)
	}
}
