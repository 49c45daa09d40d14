package telegram_test

import (
	"testing"

	"frontwire/internal/chat"
	"frontwire/internal/chat/telegram"
	"frontwire/internal/chat/telegram/telegramtest"
)

// TestMuteAsReplyToAlert: "/mute" (or "/why") sent as a reply to one of
// the bot's alerts reaches the handler as "/mute N", N read from the
// alert's footer as a client shows it; anything else is left alone.
func TestMuteAsReplyToAlert(t *testing.T) {
	const botID, group, admin = 123456, -1001, 10
	rendered := telegram.RenderAlert(chat.Alert{
		Number: 17, Source: "Reuters", Title: "Witkoff and Putin end talks, /mute 3 says nobody",
		Link: "https://example.com/a", Summary: "Talks ended.\n/why 5 · /mute 5", Query: "Witkoff",
	}, false)
	alertText, _, err := telegram.ValidateHTML(rendered)
	if err != nil {
		t.Fatal(err)
	}
	botUser := obj{"id": botID, "is_bot": true, "first_name": "Frontwire", "username": "FrontwireBot"}
	replyTo := func(from obj, text string) obj {
		m := obj{"message_id": 5, "date": 1700000000, "chat": chatObj(group, "supergroup"), "text": text}
		if from != nil {
			m["from"] = from
		}
		return m
	}
	tests := []struct {
		name     string
		text     string
		reply    obj
		wantName string
		wantArgs string
	}{
		{"mute as a reply to an alert", "/mute", replyTo(botUser, alertText), "mute", "17"},
		{"why as a reply to an alert", "/why@FrontwireBot", replyTo(botUser, alertText), "why", "17"},
		{"an explicit number wins", "/mute 4", replyTo(botUser, alertText), "mute", "4"},
		{"reply to someone else's message", "/mute", replyTo(user(99), alertText), "mute", ""},
		{"reply to a bot message that is not an alert", "/mute", replyTo(botUser, "Subscribed: Witkoff (#3)."), "mute", ""},
		{"footer not on the last line", "/mute", replyTo(botUser, "/why 8 · /mute 8\nmore"), "mute", ""},
		{"footer with two numbers", "/mute", replyTo(botUser, "x\n/why 8 · /mute 9"), "mute", ""},
		{"other commands are left alone", "/list", replyTo(botUser, alertText), "list", ""},
	}
	e := newEnv(t, telegramtest.Options{})
	e.srv.SetRole(group, admin, "administrator")
	e.start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message(group, "supergroup", admin, tt.text)
			m["reply_to_message"] = tt.reply
			e.srv.PushUpdate(update("message", m))
			got := e.h.next(t)
			if got.Name != tt.wantName || got.Args != tt.wantArgs {
				t.Errorf("handled /%s %q, want /%s %q", got.Name, got.Args, tt.wantName, tt.wantArgs)
			}
		})
	}
}
