package digest

import (
	"fmt"
	"time"

	"frontwire/internal/chat"
)

// Settings reads delivery settings. storage.DB satisfies it.
type Settings interface {
	// SubscriptionCadence is the cadence of subscription id; the zero
	// Cadence (instant) when none was set.
	SubscriptionCadence(id uint64) (Cadence, error)
	// ChatSettings are the settings of the chat with key chatKey
	// (chat.Address.Key); the zero value when none were set.
	ChatSettings(chatKey string) (ChatSettings, error)
}

// Policy decides which alerts are held for a digest. The alerts pipeline
// asks it about every story's alerts before they are committed, so that a
// held alert is written in the same transaction that marks its story seen.
type Policy struct {
	Settings Settings
	// Location is the bot's time zone, used for chats that set none.
	Location *time.Location
}

// Instant reports whether subscription id delivers at once. When a story
// matches several subscriptions of one chat, the pipeline names an instant
// one in the chat's single alert, so that a daily digest subscription does
// not delay what another subscription wants at once. A read error counts as
// instant: the alert is then sent rather than lost.
func (p *Policy) Instant(id uint64) bool {
	c, err := p.Settings.SubscriptionCadence(id)
	return err != nil || c.IsInstant()
}

// Hold splits one story's messages into those to enqueue now and those to
// hold: an alert is held when its subscription has a digest cadence, or
// when now falls inside its chat's quiet hours. Messages other than alerts
// are never held.
func (p *Policy) Hold(now time.Time, msgs []chat.Message) (send, held []chat.Message, err error) {
	chats := map[string]ChatSettings{}
	for _, m := range msgs {
		if m.Kind != chat.KindAlert || m.Alert == nil {
			send = append(send, m)
			continue
		}
		c, err := p.Settings.SubscriptionCadence(m.Alert.SubscriptionID)
		if err != nil {
			return nil, nil, fmt.Errorf("cadence of subscription %d: %w", m.Alert.SubscriptionID, err)
		}
		if !c.IsInstant() {
			held = append(held, m)
			continue
		}
		key := m.To.Key()
		cs, ok := chats[key]
		if !ok {
			if cs, err = p.Settings.ChatSettings(key); err != nil {
				return nil, nil, fmt.Errorf("settings of chat %s: %w", key, err)
			}
			chats[key] = cs
		}
		if cs.Quiet != nil && cs.Quiet.Contains(now, cs.Location(p.Location)) {
			held = append(held, m)
			continue
		}
		send = append(send, m)
	}
	return send, held, nil
}

// DueAt is when alerts held since oldest fall due. For a digest cadence it
// is the cadence's next time after oldest, moved to the end of quiet hours
// when it falls inside them. For an instant subscription (its alerts were
// held by quiet hours) it is the first end of quiet hours after oldest, or
// oldest itself when the chat has no quiet hours (any more).
func DueAt(c Cadence, cs ChatSettings, oldest time.Time, def *time.Location) time.Time {
	loc := cs.Location(def)
	if c.IsInstant() {
		if cs.Quiet == nil {
			return oldest
		}
		return cs.Quiet.EndAfter(oldest, loc)
	}
	due := c.Next(oldest, loc)
	if cs.Quiet != nil && cs.Quiet.Contains(due, loc) {
		due = cs.Quiet.EndAfter(due, loc)
	}
	return due
}
