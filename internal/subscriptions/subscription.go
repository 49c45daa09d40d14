// Package subscriptions holds what people subscribe to: the Subscription
// record, the query language (parse, evaluate), the index that finds the
// subscriptions a story matches, and the platform-neutral chat commands.
package subscriptions

import (
	"time"

	"frontwire/internal/chat"
)

// Subscription is one query a chat follows.
type Subscription struct {
	ID    uint64       `json:"id"` // global, assigned by storage
	Chat  chat.Address `json:"chat"`
	Query string       `json:"query"`
	// Paused subscriptions match nothing. PausedBy says who paused it:
	// PausedByUser (only the chat resumes it) or PausedByPlatform (the chat
	// became unreachable; it resumes when the chat comes back).
	Paused    bool      `json:"paused,omitempty"`
	PausedBy  string    `json:"paused_by,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
}

// Who paused a subscription.
const (
	PausedByUser     = "user"
	PausedByPlatform = "platform"
)
