// Package chat holds the platform-neutral vocabulary shared by Frontwire's
// core and its chat adapters: where a message goes (Address), what a person
// typed (Command), what the core answers (Reply), what the core asks a
// platform to deliver (Message, Alert) and the errors a platform reports.
//
// Adapters (telegram, discord, console) translate between these types and a
// platform's API; nothing in here knows any platform.
package chat

import (
	"errors"
	"fmt"
	"time"
)

// Address names a conversation on one platform: a private chat, a group, a
// channel or a Discord text channel. Thread optionally names a forum topic or
// thread inside it.
type Address struct {
	Platform string `json:"platform"`
	Chat     string `json:"chat"`
	Thread   string `json:"thread,omitempty"`
}

// Key identifies the chat (not the thread): subscriptions are owned per chat,
// and delivery order and rate limits are kept per chat.
func (a Address) Key() string { return a.Platform + ":" + a.Chat }

func (a Address) String() string {
	if a.Thread != "" {
		return a.Key() + "/" + a.Thread
	}
	return a.Key()
}

// Kind says what sort of conversation a command came from.
type Kind string

// The kinds of conversation.
const (
	Private Kind = "private"
	Group   Kind = "group"
	Channel Kind = "channel"
)

// Command is one chat command, already parsed by an adapter.
type Command struct {
	From     Address `json:"from"`      // where it was typed; the reply goes there
	User     string  `json:"user"`      // platform user id ("" for anonymous channel posts)
	UserName string  `json:"user_name"` // for logs and messages only
	Kind     Kind    `json:"kind"`
	Name     string  `json:"name"` // lower case, without "/" and "@BotName"
	Args     string  `json:"args"` // the rest of the message, trimmed
	// CanManage is the adapter's verdict on whether User may change the
	// subscriptions of From (always true in private chats; administrators
	// only in groups and channels).
	CanManage bool `json:"can_manage"`
}

// Reply is the core's answer to a Command.
type Reply struct {
	Text    string   `json:"text"`              // plain text: adapters escape it for their format
	Actions []Action `json:"actions,omitempty"` // buttons, one row each, where the platform has them
	// Public marks replies the whole chat should see (a successful
	// subscribe); others may be shown only to the person who asked.
	Public bool `json:"public,omitempty"`
}

// Action is a button that runs a command in the same chat when pressed.
type Action struct {
	Label   string `json:"label"`
	Command string `json:"command"`
	Args    string `json:"args"`
}

// MessageKind says what a Message carries.
type MessageKind string

// The kinds of outgoing message.
const (
	KindAlert  MessageKind = "alert"  // a story alert: Alert is set
	KindText   MessageKind = "text"   // plain text: Text is set
	KindEdit   MessageKind = "edit"   // a new version of an alert already sent: Alert is set, EditOf names the original
	KindDigest MessageKind = "digest" // a digest of clusters: Digest is set
)

// Message is what the core asks a platform to deliver. Every Message passes
// through the outbox in storage before it is sent.
type Message struct {
	Seq    uint64      `json:"seq"` // outbox sequence, assigned by storage
	To     Address     `json:"to"`
	Kind   MessageKind `json:"kind"`
	Text   string      `json:"text,omitempty"`
	Alert  *Alert      `json:"alert,omitempty"`
	Digest *Digest     `json:"digest,omitempty"`
	// EditOf is the outbox sequence of the message a KindEdit replaces;
	// its delivery record holds the platform's message id.
	EditOf  uint64    `json:"edit_of,omitempty"`
	Created time.Time `json:"created"`
}

// Alert is a story that matched a subscription, in neutral form. Every
// string in it that came from a feed is untrusted: adapters must escape it.
type Alert struct {
	StoryID        string    `json:"story_id"`
	Source         string    `json:"source"`
	Title          string    `json:"title"`
	Link           string    `json:"link"` // canonical; http(s) only or empty
	Published      time.Time `json:"published"`
	Summary        string    `json:"summary,omitempty"`
	SubscriptionID uint64    `json:"subscription_id"`
	Query          string    `json:"query"`
	Matched        []string  `json:"matched,omitempty"`
	// ClusterID names the event the story reports; Also lists other
	// outlets' reports of it that arrived after the first.
	ClusterID string   `json:"cluster_id,omitempty"`
	Also      []Outlet `json:"also,omitempty"`
	// Number is the short handle shown on the alert for /why and /mute:
	// the outbox sequence of the chat's first alert of the cluster, set
	// by storage when it queues the alert (0: none).
	Number uint64 `json:"number,omitempty"`
}

// Outlet is another outlet's report of the same event.
type Outlet struct {
	Source string `json:"source"`
	Title  string `json:"title,omitempty"`
	Link   string `json:"link,omitempty"`
}

// Digest lists the events since the previous digest of a subscription (or
// of a chat's quiet hours), most-reported first.
type Digest struct {
	Title string       `json:"title"` // e.g. "Daily digest: Witkoff"
	Items []DigestItem `json:"items"`
}

// DigestItem is one event in a digest.
type DigestItem struct {
	Title   string `json:"title"`
	Link    string `json:"link,omitempty"`
	Source  string `json:"source"`
	Outlets int    `json:"outlets"` // how many outlets reported it
}

// Sent is what a platform returns for a delivered message, kept so that the
// message can be edited later.
type Sent struct {
	MessageID string `json:"message_id"`
}

// ErrChatGone means the chat can no longer be reached (bot blocked, kicked,
// chat deleted): the core pauses the chat's subscriptions instead of
// retrying, and keeps them.
var ErrChatGone = errors.New("chat is gone or the bot was removed")

// ErrRejected means the platform refused this one message for good (for
// example a malformed request): retrying it cannot succeed.
var ErrRejected = errors.New("message rejected by the platform")

// RetryAfterError is a rate limit: the send may be tried again after After.
// Global means the whole platform connection must wait, not only this chat.
type RetryAfterError struct {
	After  time.Duration
	Global bool
	Err    error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s: %v", e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }
