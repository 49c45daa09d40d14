package telegram_test

// End-to-end: one alert per event. Five outlets publish the same event; the
// subscriber gets one alert, edited (coalesced) to list the others, and
// the clusters survive a restart. Frontwire runs as `bot run` runs it, on
// a real bbolt file, against the fake Bot API.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

var outletNames = []string{"Reuters", "AP", "BBC", "Kyiv Independent", "DW", "NPR", "Meduza", "RFE"}

// outletTitles word the same event a little differently per outlet.
var outletTitles = []string{
	"Witkoff and Putin end Kremlin talks without breakthrough on Ukraine",
	"Putin and Witkoff end Kremlin talks on Ukraine without a breakthrough",
	"Kremlin talks between Witkoff and Putin end without breakthrough on Ukraine",
	"No breakthrough on Ukraine as Witkoff and Putin end Kremlin talks",
	"Witkoff, Putin end Kremlin talks on Ukraine with no breakthrough",
	"Witkoff and Putin end Kremlin talks on Ukraine, no breakthrough",
	"Kremlin: Putin and Witkoff end talks on Ukraine without breakthrough",
	"Putin, Witkoff end Kremlin talks without a Ukraine breakthrough",
}

const eventLead = "U.S. envoy Steve Witkoff and Vladimir Putin ended talks in the Kremlin late on Tuesday."

// clusterE2E is Frontwire with one feed per outlet.
type clusterE2E struct {
	t     *testing.T
	clk   *clock.Fake
	tg    *telegramtest.Server
	sites []*feedtest.Site
	cfg   config.Config
	d     *daemon.Daemon
	stop  func()
}

func newClusterE2E(t *testing.T) *clusterE2E {
	e := &clusterE2E{t: t, clk: clock.NewFake(e2eStart)}
	e.tg = telegramtest.NewServer(t, telegramtest.Options{Clock: serverClock{e.clk}})
	cfg := config.Default()
	cfg.Bot.DataDir = t.TempDir()
	cfg.Bot.PollSchedule = "@every 1h"
	cfg.Bot.AllowPrivateSources = true
	cfg.Telegram.Enabled = true
	cfg.Telegram.Token = e.tg.Token()
	cfg.Telegram.APIURL = e.tg.URL()
	cfg.Sources = nil
	for _, name := range outletNames {
		site := &feedtest.Site{}
		srv := httptest.NewServer(site)
		t.Cleanup(srv.Close)
		e.sites = append(e.sites, site)
		cfg.Sources = append(cfg.Sources, config.Source{Name: name, URL: srv.URL})
	}
	e.cfg = cfg
	return e
}

// build makes the daemon as `bot run` does, without running it.
func (e *clusterE2E) build() {
	e.t.Helper()
	d, err := daemon.New(context.Background(), daemon.Options{
		Config: e.cfg, Version: "test", Clock: e.clk,
		Logger:              slog.New(slog.NewTextHandler(tWriter{e.t}, nil)),
		DBOptions:           storage.Options{NoSync: true, Timeout: time.Second},
		PlatformClient:      e.tg.Client(),
		TelegramPollTimeout: 5 * time.Second,
	})
	if err != nil {
		e.t.Fatalf("daemon.New: %v", err)
	}
	e.d = d
}

func (e *clusterE2E) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.d.Run(ctx) }()
	var once sync.Once
	d := e.d
	e.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run: %v", err)
				}
			case <-time.After(e2eWait):
				e.t.Error("Run did not return after cancel")
			}
			if err := d.Close(); err != nil {
				e.t.Errorf("Close: %v", err)
			}
		})
	}
	e.t.Cleanup(e.stop)
}

func (e *clusterE2E) poll() {
	e.t.Helper()
	if err := e.d.Scheduler.PollAll(context.Background()); err != nil {
		e.t.Fatalf("poll: %v", err)
	}
}

// report puts outlet i's story of the event on its feed.
func (e *clusterE2E) report(i int) {
	e.sites[i].Set(rssItem(fmt.Sprintf("kremlin-%d", i), outletTitles[i], eventLead, 10+i))
}

func (e *clusterE2E) waitEdits(n int) []telegramtest.SentMessage {
	e.t.Helper()
	// Accepted edits, not calls: a call answered 429 is retried, and
	// counting calls once let this return fewer edits than asked for.
	edits, err := e.tg.WaitEdits(n, e2eWait)
	if err != nil {
		e.t.Fatalf("waiting for %d edits: %v", n, err)
	}
	return edits
}

func TestE2EOneAlertPerEventEditedAsOutletsReport(t *testing.T) {
	e := newClusterE2E(t)
	e.build()
	e.poll() // new sources: nothing alerts on a first poll

	const user = 2002
	reply := e.d.Service.Handle(context.Background(), chat.Command{
		From: chat.Address{Platform: "telegram", Chat: fmt.Sprint(user)}, User: fmt.Sprint(user),
		Kind: chat.Private, Name: "subscribe", Args: "Witkoff", CanManage: true})
	if !strings.HasPrefix(reply.Text, "Subscribed #") {
		t.Fatalf("subscribe: %q", reply.Text)
	}

	// Five outlets report the event in one poll cycle, and one of them a
	// different event with the same name in it. Polled before delivery
	// starts, so that the outbox holds the whole cycle's outcome.
	for i := range 5 {
		e.report(i)
	}
	e.sites[4].Set(rssItem("kremlin-4", outletTitles[4], eventLead, 14),
		rssItem("kyiv-1", "Witkoff meets Zelensky in Kyiv to discuss drone production deal", "The U.S. envoy arrived in the Ukrainian capital on Thursday.", 20))
	e.poll()
	e.run()

	// Telegram allows about one message a second per chat: the fake clock
	// moves a second at a time until the two alerts and the first edit
	// are out (each wait is bounded, not a sleep).
	for range 30 {
		if len(alertsIn(e.tg.Sent())) >= 2 && len(e.tg.Edits()) >= 1 {
			break
		}
		e.clk.Advance(time.Second)
		_, _ = e.tg.WaitSent(2, 200*time.Millisecond)
		_, _ = e.tg.WaitEdits(1, 200*time.Millisecond)
	}
	sent := e.tg.Sent()
	alerts := alertsIn(sent)
	if len(alerts) != 2 {
		t.Fatalf("want two alerts (the Kremlin talks, the Kyiv visit), got:%s", describe(sent))
	}
	var kremlin telegramtest.SentMessage
	for _, a := range alerts {
		if strings.Contains(a.Text, "Kremlin") {
			kremlin = a
		} else if !strings.Contains(a.Text, "Zelensky") {
			t.Errorf("unexpected alert %q", a.Text)
		}
	}
	edits := e.waitEdits(1)
	first := edits[0]
	if first.MessageID != kremlin.MessageID {
		t.Errorf("edit changed message %d, want the Kremlin alert %d", first.MessageID, kremlin.MessageID)
	}
	visible, links := linksOf(t, first)
	if !strings.Contains(visible, "Also reported by: ") || strings.Count(visible, ", ")+1 < 4 {
		t.Errorf("edit does not list four other outlets:\n%s", visible)
	}
	for _, o := range outletNames[:5] {
		if !strings.Contains(visible, o) {
			t.Errorf("edit lacks outlet %q:\n%s", o, visible)
		}
	}
	if len(links) != 5 {
		t.Errorf("edit links %v, want the story's and four outlets'", links)
	}

	// Two more outlets within the minute: their edit waits for the minute
	// and the second replaces the first, so one edit goes out.
	e.report(5)
	e.poll()
	e.report(6)
	e.poll()
	if n := len(e.tg.Edits()); n != 1 {
		t.Fatalf("%d edits before the minute passed, want 1", n)
	}
	e.clk.Advance(time.Minute)
	edits = e.waitEdits(2)
	visible, _ = linksOf(t, edits[1])
	if !strings.Contains(visible, "(1 more)") || !strings.Contains(visible, "NPR") {
		t.Errorf("second edit does not show six other outlets:\n%s", visible)
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	if err := e.d.Dispatcher.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.tg.Edits()); n != 2 {
		t.Errorf("%d edits in all, want 2 (coalesced)", n)
	}
	if n := len(alertsIn(e.tg.Sent())); n != 2 {
		t.Errorf("%d alerts sent, want still 2", n)
	}

	// Restart: the clusters are rebuilt from storage, so an eighth outlet
	// edits the same alert rather than alerting again.
	e.stop()
	e.build()
	e.report(7)
	e.clk.Advance(time.Minute)
	e.poll()
	e.run()
	for range 30 {
		if len(e.tg.Edits()) >= 3 {
			break
		}
		e.clk.Advance(time.Second)
		_, _ = e.tg.WaitEdits(3, 200*time.Millisecond)
	}
	edits = e.waitEdits(3)
	if edits[2].MessageID != kremlin.MessageID {
		t.Errorf("after restart the edit changed message %d, want %d", edits[2].MessageID, kremlin.MessageID)
	}
	if visible, _ := linksOf(t, edits[2]); !strings.Contains(visible, "(2 more)") {
		t.Errorf("after restart the edit does not list seven other outlets:\n%s", visible)
	}
	if n := len(alertsIn(e.tg.Sent())); n != 2 {
		t.Errorf("after restart %d alerts sent, want still 2", n)
	}
}
