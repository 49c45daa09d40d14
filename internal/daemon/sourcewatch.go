package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// Defaults of the source watcher.
const (
	// DefaultOutage is how long a source must have been failing before the
	// admin chat hears about it: shorter blips are the norm for news sites
	// and the backoff handles them.
	DefaultOutage = time.Hour
	// DefaultWatchInterval is how often the watcher reads source states.
	DefaultWatchInterval = time.Minute
)

// watchKeyPrefix prefixes the key-value records of the watcher: one per
// source, holding since when it fails and whether the admins were told.
const watchKeyPrefix = "sourcewatch/"

// watchRecord is what the watcher remembers of one source across restarts.
type watchRecord struct {
	// Since is when the current outage began: the last success before it,
	// or, for a source that never succeeded, when the watcher first saw it
	// failing. Zero while the source is healthy.
	Since    time.Time `json:"since,omitzero"`
	Notified bool      `json:"notified,omitempty"`
}

// SourceWatch tells the admin chat when a source has been failing for
// longer than Outage, once, and once more when it recovers. Subscribers
// never hear of it. What was said is stored with the notice in one
// transaction, so a restart neither repeats nor loses a notice.
type SourceWatch struct {
	DB *storage.DB
	// Sources lists the sources to watch (configured and added).
	Sources   func() []config.Source
	AdminChat chat.Address
	// Notify hands queued notices to the dispatcher.
	Notify   func([]chat.Message)
	Clock    clock.Clock
	Logger   *slog.Logger
	Outage   time.Duration // default DefaultOutage
	Interval time.Duration // default DefaultWatchInterval
}

// ParseAdminChat reads bot.admin_chat ("telegram:123", "discord:456").
func ParseAdminChat(s string) (chat.Address, error) {
	platform, id, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || platform == "" || id == "" {
		return chat.Address{}, fmt.Errorf("bot.admin_chat %q: want \"telegram:CHAT_ID\" or \"discord:CHANNEL_ID\"", s)
	}
	return chat.Address{Platform: platform, Chat: id}, nil
}

// Run checks the sources every Interval until ctx is done.
func (w *SourceWatch) Run(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	for {
		if err := w.Check(); err != nil {
			w.log().Error("watch sources", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.Clock.After(interval):
		}
	}
}

// Check reads every watched source's state once and queues the notices
// due. It returns the errors of sources it could not check.
func (w *SourceWatch) Check() error {
	outage := w.Outage
	if outage <= 0 {
		outage = DefaultOutage
	}
	now := w.Clock.Now()
	var errs []error
	for _, src := range w.Sources() {
		if err := w.checkOne(src.Name, now, outage); err != nil {
			errs = append(errs, fmt.Errorf("source %q: %w", src.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (w *SourceWatch) checkOne(name string, now time.Time, outage time.Duration) error {
	st, err := w.DB.SourceState(name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // never polled
	}
	if err != nil {
		return err
	}
	key := watchKeyPrefix + name
	var rec watchRecord
	raw, err := w.DB.Get(key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(raw, &rec); err != nil {
			// A damaged record is replaced, not fatal.
			rec = watchRecord{}
		}
	}

	if st.Failures == 0 {
		if rec.Notified {
			text := fmt.Sprintf("Source %q works again after %s of failures.", name, words(now.Sub(rec.Since)))
			return w.send(key, text, watchRecord{})
		}
		if !rec.Since.IsZero() {
			return w.put(key, watchRecord{})
		}
		return nil
	}

	if rec.Since.IsZero() {
		rec.Since = st.LastSuccess
		if rec.Since.IsZero() {
			rec.Since = now
		}
		if now.Sub(rec.Since) < outage || rec.Notified {
			return w.put(key, rec)
		}
	}
	if rec.Notified || now.Sub(rec.Since) < outage {
		return nil
	}
	text := fmt.Sprintf("Source %q has been failing for %s (%d attempts in a row). Last error: %s\nIts subscribers have not been told; /sources shows every source.",
		name, words(now.Sub(rec.Since)), st.Failures, truncateRunes(st.LastError, 300))
	rec.Notified = true
	return w.send(key, text, rec)
}

func (w *SourceWatch) send(key, text string, rec watchRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	msgs, err := w.DB.EnqueueAndPut([]chat.Message{{To: w.AdminChat, Kind: chat.KindText, Text: text}}, key, v)
	if err != nil {
		return err
	}
	w.log().Info("source notice queued for the admin chat", "key", key, "chat", w.AdminChat.Key())
	if w.Notify != nil {
		w.Notify(msgs)
	}
	return nil
}

func (w *SourceWatch) put(key string, rec watchRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return w.DB.Put(key, v)
}

func (w *SourceWatch) log() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// words writes a duration for people: "3h10m", "2d4h".
func words(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// sourceAdmin lets the chat commands add and remove sources through the
// daemon's sources.Runtime, turning its refusals into the SourceErrors the
// commands show. It reads d.Runtime at each call: the Service is built
// before the scheduler.
type sourceAdmin struct{ d *Daemon }

func (a sourceAdmin) AddSource(ctx context.Context, rawURL, name, by string) (string, error) {
	if a.d.Runtime == nil {
		return "", errors.New("sources runtime not ready")
	}
	got, err := a.d.Runtime.Add(ctx, sources.AddRequest{URL: rawURL, Name: name, By: by})
	if err != nil {
		return "", asSourceError(err)
	}
	return got.Source.Name, nil
}

func (a sourceAdmin) RemoveSource(ctx context.Context, name string) (string, error) {
	if a.d.Runtime == nil {
		return "", errors.New("sources runtime not ready")
	}
	got, err := a.d.Runtime.Remove(ctx, name)
	if err != nil {
		return "", asSourceError(err)
	}
	return got.Name, nil
}

func asSourceError(err error) error {
	var re *sources.RefusedError
	if errors.As(err, &re) {
		return &subscriptions.SourceError{Reason: re.Error()}
	}
	return err
}

// Compile-time check that the glue satisfies the commands' interface.
var _ subscriptions.SourceAdmin = sourceAdmin{}

// wireSources builds the runtime that /addsource and /removesource use
// and, when bot.admin_chat is set, the watcher that tells it about failing
// sources. The runtime validates new sources through a client built from
// the configuration (refusing private addresses unless allowed), whatever
// client polls the feeds.
func (d *Daemon) wireSources(opt Options) error {
	cfg := d.Config
	d.Runtime = &sources.Runtime{
		Scheduler:    d.Scheduler,
		Store:        d.DB,
		Fetcher:      sources.NewFetcher(sources.NewHTTPClient(cfg.Bot.AllowPrivateSources), sources.UserAgent(opt.Version), d.clk),
		Configured:   cfg.Sources,
		AllowPrivate: cfg.Bot.AllowPrivateSources,
		Logger:       d.log,
	}
	if cfg.Bot.AdminChat == "" {
		return nil
	}
	to, err := ParseAdminChat(cfg.Bot.AdminChat)
	if err != nil {
		return err
	}
	w := &SourceWatch{
		DB:        d.DB,
		Sources:   d.Scheduler.Sources,
		AdminChat: to,
		Notify:    d.Dispatcher.Notify,
		Clock:     d.clk,
		Logger:    d.log,
	}
	d.runners = append(d.runners, w.Run)
	return nil
}
