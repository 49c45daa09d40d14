package digest_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/digest"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

// rig is Frontwire's path from a poll to the outbox and on to digests,
// on a real bbolt file and a fake clock: the pipeline with the digest
// policy, the chat commands, and the digest scheduler running.
type rig struct {
	t      *testing.T
	clk    *clock.Fake
	db     *storage.DB
	svc    *subscriptions.Service
	pipe   *alerts.Pipeline
	chat   chat.Address
	mu     sync.Mutex
	digest []chat.Message // what the scheduler reported through Notify
	nextID int
}

func newRig(t *testing.T, start time.Time, botZone *time.Location) *rig {
	t.Helper()
	clk := clock.NewFake(start)
	db, err := storage.Open(filepath.Join(t.TempDir(), "frontwire.db"), storage.Options{NoSync: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix := subscriptions.NewIndex()
	r := &rig{t: t, clk: clk, db: db, chat: chat.Address{Platform: "telegram", Chat: "42"}}
	r.svc = subscriptions.NewService(subscriptions.ServiceConfig{
		Store: db, Index: ix, Stories: db, Clock: clk, Cadence: db, Location: botZone,
		NotFound: func(err error) bool { return errors.Is(err, storage.ErrNotFound) },
	})
	r.pipe = &alerts.Pipeline{Store: db, Matcher: ix, Clock: clk, Cadence: &digest.Policy{Settings: db, Location: botZone}}
	sched := digest.NewScheduler(digest.SchedulerConfig{
		Store: db, Clock: clk, Location: botZone,
		Notify: func(m []chat.Message) {
			r.mu.Lock()
			r.digest = append(r.digest, m...)
			r.mu.Unlock()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	clk.WaitForWaiters(1) // the first pass is done
	return r
}

// cmd runs a chat command as an administrator and returns the reply.
func (r *rig) cmd(line string) string {
	r.t.Helper()
	name, args, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
	return r.svc.Handle(context.Background(), chat.Command{From: r.chat, User: "7", Kind: chat.Private, Name: name, Args: args, CanManage: true}).Text
}

// poll feeds stories with these titles through the pipeline as one poll.
func (r *rig) poll(titles ...string) {
	r.t.Helper()
	var ss []story.Story
	for _, title := range titles {
		r.nextID++
		id := title + "#" + time.Duration(r.nextID).String()
		ss = append(ss, story.Story{ID: id, Source: "Wire", Title: title, Link: "https://wire.example/" + time.Duration(r.nextID).String(), FirstSeen: r.clk.Now()})
	}
	r.pollStories(ss...)
}

func (r *rig) pollStories(ss ...story.Story) {
	r.t.Helper()
	err := r.pipe.Handle(context.Background(), sources.Poll{Source: config.Source{Name: "Wire"}, State: storage.SourceState{Name: "Wire", Initialized: true}, Stories: ss})
	if err != nil {
		r.t.Fatal(err)
	}
}

// at moves the clock to t and waits until the scheduler's pass at t is
// done (it is waiting on the clock again).
func (r *rig) at(t time.Time) {
	r.t.Helper()
	r.clk.Set(t)
	r.clk.WaitForWaiters(1)
}

// outbox returns the messages waiting in the outbox, by kind.
func (r *rig) outbox() (alertsN int, digests []chat.Message) {
	r.t.Helper()
	msgs, err := r.db.Pending()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, m := range msgs {
		switch m.Kind {
		case chat.KindAlert:
			alertsN++
		case chat.KindDigest:
			digests = append(digests, m)
		}
	}
	return alertsN, digests
}

func (r *rig) held() int {
	r.t.Helper()
	h, err := r.db.Held(r.chat.Key())
	if err != nil {
		r.t.Fatal(err)
	}
	return len(h)
}

func (r *rig) expect(wantAlerts, wantDigests, wantHeld int) []chat.Message {
	r.t.Helper()
	a, d := r.outbox()
	if a != wantAlerts || len(d) != wantDigests || r.held() != wantHeld {
		r.t.Fatalf("at %s: %d alerts, %d digests queued, %d held; want %d, %d, %d", r.clk.Now().UTC().Format(time.RFC3339), a, len(d), r.held(), wantAlerts, wantDigests, wantHeld)
	}
	return d
}

func titles(d *chat.Digest) []string {
	var out []string
	for _, it := range d.Items {
		out = append(out, it.Title)
	}
	return out
}

func TestHourlyDigestAtTheHour(t *testing.T) {
	start := time.Date(2026, 1, 15, 10, 20, 0, 0, time.UTC)
	r := newRig(t, start, time.UTC)
	if reply := r.cmd("/subscribe Witkoff"); !strings.Contains(reply, "Subscribed #1") {
		t.Fatal(reply)
	}
	if reply := r.cmd("/set 1 digest hourly"); !strings.Contains(reply, "one digest an hour") {
		t.Fatal(reply)
	}
	r.poll("Witkoff lands in Moscow", "Weather in Kyiv")
	r.at(start.Add(15 * time.Minute))
	r.poll("Witkoff meets Putin", "Witkoff leaves the Kremlin")
	r.expect(0, 0, 3)

	r.at(time.Date(2026, 1, 15, 10, 59, 0, 0, time.UTC))
	r.expect(0, 0, 3)

	r.at(time.Date(2026, 1, 15, 11, 0, 0, 0, time.UTC))
	d := r.expect(0, 1, 0)
	got := d[0].Digest
	if got == nil || got.Title != "Hourly digest: Witkoff" || len(got.Items) != 3 || d[0].To != r.chat {
		t.Fatalf("digest = %+v to %s", got, d[0].To)
	}
	if strings.Join(titles(got), "|") != "Witkoff lands in Moscow|Witkoff meets Putin|Witkoff leaves the Kremlin" {
		t.Errorf("items %q", titles(got))
	}
	r.mu.Lock()
	notified := len(r.digest)
	r.mu.Unlock()
	if notified != 1 {
		t.Errorf("dispatcher told of %d digests, want 1", notified)
	}
	// Nothing held: the next hour sends nothing.
	r.at(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	r.expect(0, 1, 0)
}

func TestDailyDigestInKyivFiresAtSixUTCInWinter(t *testing.T) {
	start := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	r := newRig(t, start, time.UTC)
	r.cmd("/subscribe Witkoff")
	if reply := r.cmd("/timezone Europe/Kyiv"); !strings.Contains(reply, "Europe/Kyiv") {
		t.Fatal(reply)
	}
	if reply := r.cmd("/set 1 digest daily 08:00"); !strings.Contains(reply, "08:00 (Europe/Kyiv)") {
		t.Fatal(reply)
	}
	r.poll("Witkoff arrives")
	r.at(time.Date(2026, 1, 15, 21, 0, 0, 0, time.UTC))
	r.poll("Witkoff talks go late")
	r.at(time.Date(2026, 1, 16, 5, 59, 0, 0, time.UTC)) // 07:59 in Kyiv
	r.expect(0, 0, 2)
	r.at(time.Date(2026, 1, 16, 6, 0, 0, 0, time.UTC)) // 08:00 in Kyiv
	d := r.expect(0, 1, 0)
	if got := d[0].Digest; got.Title != "Daily digest: Witkoff" || len(got.Items) != 2 {
		t.Fatalf("digest %+v", got)
	}
}

func TestQuietHoursHoldAndDeliverOneDigestAtTheirEnd(t *testing.T) {
	start := time.Date(2026, 1, 15, 22, 30, 0, 0, time.UTC)
	r := newRig(t, start, time.UTC)
	r.cmd("/subscribe Witkoff")
	r.cmd("/subscribe Kushner")
	if reply := r.cmd("/quiet 23:00-07:00"); !strings.Contains(reply, "posted as one digest at 07:00") {
		t.Fatal(reply)
	}
	r.poll("Witkoff before bedtime")
	r.expect(1, 0, 0) // outside quiet hours: an alert as usual

	r.at(time.Date(2026, 1, 15, 23, 30, 0, 0, time.UTC))
	r.poll("Witkoff at midnight")
	r.at(time.Date(2026, 1, 16, 2, 0, 0, 0, time.UTC))
	r.poll("Kushner at two", "Witkoff at two")
	r.expect(1, 0, 3)

	r.at(time.Date(2026, 1, 16, 6, 59, 0, 0, time.UTC))
	r.expect(1, 0, 3)
	r.at(time.Date(2026, 1, 16, 7, 0, 0, 0, time.UTC))
	d := r.expect(1, 1, 0)
	if got := d[0].Digest; got.Title != "During quiet hours" || len(got.Items) != 3 {
		t.Fatalf("digest %+v", got)
	}

	r.at(time.Date(2026, 1, 16, 7, 30, 0, 0, time.UTC))
	r.poll("Witkoff at breakfast")
	r.expect(2, 1, 0)
}

// TestInstantSubscriptionWinsOverDigest: when a story matches a daily
// subscription and an instant one of the same chat, the chat gets its
// alert at once, once.
func TestInstantSubscriptionWinsOverDigest(t *testing.T) {
	r := newRig(t, time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), time.UTC)
	r.cmd("/subscribe Witkoff")
	r.cmd("/subscribe Kremlin")
	r.cmd("/set 1 digest daily 08:00")
	r.poll("Witkoff in the Kremlin")
	r.expect(1, 0, 0)
	r.poll("Witkoff in Geneva")
	r.expect(1, 0, 1)
}

// TestNewSubscriptionNeverFloods: stories first seen before a subscription
// was made never alert it, though the feed keeps listing them.
func TestNewSubscriptionNeverFloods(t *testing.T) {
	for _, cadence := range []string{"instant", "hourly"} {
		t.Run(cadence, func(t *testing.T) {
			start := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
			r := newRig(t, start, time.UTC)
			old := []story.Story{
				{ID: "old-1", Source: "Wire", Title: "Witkoff flies to Moscow", Link: "https://wire.example/1"},
				{ID: "old-2", Source: "Wire", Title: "Witkoff meets envoys", Link: "https://wire.example/2"},
			}
			r.pollStories(old...)
			r.at(start.Add(10 * time.Minute))
			r.cmd("/subscribe Witkoff")
			r.cmd("/set 1 digest " + cadence)
			fresh := story.Story{ID: "new-1", Source: "Wire", Title: "Witkoff returns", Link: "https://wire.example/3"}
			r.pollStories(append(old, fresh)...)
			a, _ := r.outbox()
			if a+r.held() != 1 {
				t.Fatalf("%d alerts and %d held after the subscription, want exactly one for the new story", a, r.held())
			}
			r.at(start.Add(time.Hour))
			_, d := r.outbox()
			if cadence == "hourly" && (len(d) != 1 || len(d[0].Digest.Items) != 1 || d[0].Digest.Items[0].Title != "Witkoff returns") {
				t.Fatalf("digests %+v", d)
			}
		})
	}
}

// TestDeletedSubscriptionDropsItsHeldAlerts: unsubscribing means the held
// alerts are never sent.
func TestDeletedSubscriptionDropsItsHeldAlerts(t *testing.T) {
	start := time.Date(2026, 1, 15, 10, 20, 0, 0, time.UTC)
	r := newRig(t, start, time.UTC)
	r.cmd("/subscribe Witkoff")
	r.cmd("/set 1 digest hourly")
	r.poll("Witkoff meets Putin")
	r.expect(0, 0, 1)
	r.cmd("/unsubscribe 1")
	r.at(start.Add(time.Minute))
	r.expect(0, 0, 0)
}
