package digest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
)

// HeldGroup summarises the alerts held for one subscription of one chat.
type HeldGroup struct {
	Chat           string    // chat.Address.Key of the chat
	SubscriptionID uint64    //
	Oldest         time.Time // when the oldest of them was held
	Count          int
	// Gone means the subscription no longer exists: its held alerts are
	// dropped, not sent.
	Gone bool
}

// Store is what the scheduler reads and writes. storage.DB satisfies it.
type Store interface {
	Settings
	// HeldGroups lists every chat and subscription with held alerts.
	HeldGroups() ([]HeldGroup, error)
	// FlushHeld removes, in one transaction, the alerts held for the given
	// subscriptions of a chat and enqueues the messages build makes of
	// them (in held order), returning those messages with Seq set.
	FlushHeld(chatKey string, subIDs []uint64, build func(held []chat.Message) []chat.Message) ([]chat.Message, error)
}

// SchedulerConfig wires a Scheduler.
type SchedulerConfig struct {
	Store  Store
	Clock  clock.Clock
	Logger *slog.Logger
	// Location is the bot's time zone, for chats that set none.
	Location *time.Location
	// Notify is told of the digests enqueued (the dispatcher's Notify);
	// may be nil.
	Notify func([]chat.Message)
	// Fits reports whether a digest renders within the limits of a
	// platform; nil, or false for every digest of a platform it does not
	// know, leaves only MaxItems to split digests.
	Fits func(platform string, d chat.Digest) bool
	// MaxItems caps the items of one digest message (default 20), so that
	// a digest stays readable whatever the platform allows.
	MaxItems int
}

// Scheduler turns held alerts into digest messages when they fall due: on
// the hour for hourly subscriptions, at HH:MM in the chat's zone for daily
// ones, and at the end of a chat's quiet hours for alerts that quiet hours
// held. Due times are computed from what is held (see DueAt), so nothing
// but the held alerts themselves needs remembering: a restart, or a
// settings change, simply recomputes them, and digests missed while the bot
// was down go out at the next pass.
type Scheduler struct {
	cfg SchedulerConfig
	log *slog.Logger
}

// NewScheduler returns a Scheduler.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.MaxItems <= 0 {
		cfg.MaxItems = 20
	}
	return &Scheduler{cfg: cfg, log: cfg.Logger}
}

// Run passes over the held alerts at every whole minute of the injected
// clock until ctx is done. Every due time is a whole minute, so no digest
// is late by more than the pass takes. A failed pass is logged and retried
// at the next minute.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		if _, err := s.Tick(s.cfg.Clock.Now()); err != nil {
			s.log.Error("digest pass failed", "err", err)
		}
		now := s.cfg.Clock.Now()
		wait := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
		select {
		case <-ctx.Done():
			return nil
		case <-s.cfg.Clock.After(wait):
		}
	}
}

// Tick makes and enqueues every digest due at now, drops the held alerts
// of deleted subscriptions, and returns the messages enqueued.
func (s *Scheduler) Tick(now time.Time) ([]chat.Message, error) {
	groups, err := s.cfg.Store.HeldGroups()
	if err != nil {
		return nil, fmt.Errorf("digest pass: %w", err)
	}
	var out []chat.Message
	var errs []error
	byChat := map[string][]HeldGroup{}
	var chats []string
	for _, g := range groups {
		if _, ok := byChat[g.Chat]; !ok {
			chats = append(chats, g.Chat)
		}
		byChat[g.Chat] = append(byChat[g.Chat], g)
	}
	for _, key := range chats {
		msgs, err := s.tickChat(now, key, byChat[key])
		out = append(out, msgs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(out) > 0 && s.cfg.Notify != nil {
		s.cfg.Notify(out)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("digest pass: %w (and %d more)", errs[0], len(errs)-1)
	}
	return out, nil
}

func (s *Scheduler) tickChat(now time.Time, key string, groups []HeldGroup) ([]chat.Message, error) {
	cs, err := s.cfg.Store.ChatSettings(key)
	if err != nil {
		return nil, fmt.Errorf("settings of chat %s: %w", key, err)
	}
	var gone, quiet []uint64
	var out []chat.Message
	for _, g := range groups {
		if g.Gone {
			gone = append(gone, g.SubscriptionID)
			continue
		}
		c, err := s.cfg.Store.SubscriptionCadence(g.SubscriptionID)
		if err != nil {
			return out, fmt.Errorf("cadence of subscription %d: %w", g.SubscriptionID, err)
		}
		if DueAt(c, cs, g.Oldest, s.cfg.Location).After(now) {
			continue
		}
		if c.IsInstant() {
			// Everything quiet hours held for the chat's instant
			// subscriptions goes out as one digest.
			quiet = append(quiet, g.SubscriptionID)
			continue
		}
		title := "Hourly digest"
		if c.Mode == Daily {
			title = "Daily digest"
		}
		msgs, err := s.flush(now, key, []uint64{g.SubscriptionID}, title, true)
		out = append(out, msgs...)
		if err != nil {
			return out, err
		}
	}
	if len(quiet) > 0 {
		msgs, err := s.flush(now, key, quiet, "During quiet hours", false)
		out = append(out, msgs...)
		if err != nil {
			return out, err
		}
	}
	if len(gone) > 0 {
		if _, err := s.cfg.Store.FlushHeld(key, gone, func([]chat.Message) []chat.Message { return nil }); err != nil {
			return out, fmt.Errorf("drop alerts held for deleted subscriptions of %s: %w", key, err)
		}
		s.log.Info("dropped alerts held for deleted subscriptions", "chat", key, "subscriptions", len(gone))
	}
	return out, nil
}

// flush turns the held alerts of subs into digest messages in one storage
// transaction. withQuery appends the subscription's query to the title.
func (s *Scheduler) flush(now time.Time, key string, subs []uint64, title string, withQuery bool) ([]chat.Message, error) {
	msgs, err := s.cfg.Store.FlushHeld(key, subs, func(held []chat.Message) []chat.Message {
		return s.Messages(now, title, withQuery, held)
	})
	if err != nil {
		return nil, fmt.Errorf("digest for %s: %w", key, err)
	}
	if len(msgs) > 0 {
		s.log.Info("digest queued", "chat", key, "subscriptions", len(subs), "messages", len(msgs), "items", countItems(msgs))
	}
	return msgs, nil
}

// Messages builds the digest messages of held alerts: one digest (see
// Build), split to fit the platform of the chat they were held for.
func (s *Scheduler) Messages(now time.Time, title string, withQuery bool, held []chat.Message) []chat.Message {
	held = slices.DeleteFunc(slices.Clone(held), func(m chat.Message) bool { return m.Alert == nil })
	if len(held) == 0 {
		return nil
	}
	to := held[0].To
	if withQuery && held[0].Alert.Query != "" {
		title += ": " + held[0].Alert.Query
	}
	var fits func(chat.Digest) bool
	if s.cfg.Fits != nil {
		fits = func(d chat.Digest) bool { return s.cfg.Fits(to.Platform, d) }
	}
	var out []chat.Message
	for _, part := range Split(Build(title, held), fits, s.cfg.MaxItems) {
		d := part
		out = append(out, chat.Message{To: to, Kind: chat.KindDigest, Digest: &d, Created: now})
	}
	return out
}

func countItems(msgs []chat.Message) int {
	n := 0
	for _, m := range msgs {
		if m.Digest != nil {
			n += len(m.Digest.Items)
		}
	}
	return n
}
