package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/chat"
	"frontwire/internal/config"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// item is one feed item, all published at the same fixed time.
func item(guid, title, desc string) string {
	return feedtest.Item(guid, title, desc, time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
}

// chatService is a fake chat platform: it records messages and fails while
// told to.
type chatService struct {
	mu      sync.Mutex
	down    bool
	got     []chat.Message
	arrived chan struct{}
}

func newChatService() *chatService { return &chatService{arrived: make(chan struct{}, 1000)} }

func (c *chatService) Send(ctx context.Context, m chat.Message) (chat.Sent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return chat.Sent{}, errors.New("503 service unavailable")
	}
	c.got = append(c.got, m)
	c.arrived <- struct{}{}
	return chat.Sent{MessageID: fmt.Sprint(len(c.got))}, nil
}

func (c *chatService) titles() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.got {
		out = append(out, m.Alert.Title)
	}
	return out
}

func (c *chatService) waitFor(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for len(c.titles()) < n {
		select {
		case <-c.arrived:
		case <-timeout:
			t.Fatalf("got %d alerts, want %d: %v", len(c.titles()), n, c.titles())
		}
	}
}

func newDaemon(t *testing.T, dir, feedURL string, svc *chatService) *Daemon {
	t.Helper()
	cfg := config.Default()
	cfg.Bot.DataDir = dir
	cfg.Bot.PollSchedule = "@every 1h"
	cfg.Bot.AllowPrivateSources = true // the test's feed is on loopback
	cfg.Sources = []config.Source{{Name: "Test Wire", URL: feedURL}}
	d, err := New(context.Background(), Options{
		Config:    cfg,
		Platforms: map[string]alerts.Platform{"test": {Sender: svc}},
		DBOptions: storage.Options{NoSync: true, Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func runDaemon(t *testing.T, d *Daemon) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func subscribe(t *testing.T, d *Daemon, query string) {
	t.Helper()
	r := d.Service.Handle(context.Background(), chat.Command{
		From: chat.Address{Platform: "test", Chat: "42"}, User: "7", Kind: chat.Private,
		Name: "subscribe", Args: query, CanManage: true,
	})
	if !strings.HasPrefix(r.Text, "Subscribed #") {
		t.Fatalf("subscribe %q: %s", query, r.Text)
	}
}

// TestStoryToAlertAcrossRestart drives the whole job: a feed served over
// HTTP, a subscription made by command, polls, the outbox in a real bbolt
// file, a chat service that is down while Frontwire restarts, and delivery
// exactly once afterwards.
func TestStoryToAlertAcrossRestart(t *testing.T) {
	site := &feedtest.Site{}
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	ctx := context.Background()

	site.Set(item("old-1", "Witkoff met officials last week", "Background."))
	svc := newChatService()
	d := newDaemon(t, dir, srv.URL, svc)
	// Poll before Run, so that Run's start-up poll (of sources that are
	// due) has nothing to do and the test sets the pace.
	if err := d.Scheduler.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	stop := runDaemon(t, d)
	subscribe(t, d, "Witkoff")
	subscribe(t, d, "Ukraine peace")

	// The chat service goes down; three matching stories and one that
	// matches nothing are published.
	svc.mu.Lock()
	svc.down = true
	svc.mu.Unlock()
	site.Set(
		item("old-1", "Witkoff met officials last week", "Background."),
		item("n-1", "Witkoff arrives in Moscow", "<p>The envoy <b>arrived</b>.</p>"),
		item("n-2", "Talks on a Ukraine peace plan resume", "Delegations met."),
		item("n-3", "Grain exports rise", "Odesa ports."),
		item("n-4", "Witkoff's talks end without breakthrough", "No deal."),
	)
	if err := d.Scheduler.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DB.OutboxLen(); err != nil || n != 3 {
		t.Fatalf("outbox holds %d (%v), want 3 alerts", n, err)
	}
	stop()
	if got := svc.titles(); len(got) != 0 {
		t.Fatalf("alerts delivered while the service was down: %v", got)
	}

	// Restart over the same file with the service back: every pending
	// alert arrives once, in order, and polling again adds nothing.
	svc2 := newChatService()
	d2 := newDaemon(t, dir, srv.URL, svc2)
	stop2 := runDaemon(t, d2)
	defer stop2()
	svc2.waitFor(t, 3)
	if err := d2.Scheduler.PollAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d2.Dispatcher.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	want := "[Witkoff arrives in Moscow Talks on a Ukraine peace plan resume Witkoff's talks end without breakthrough]"
	if got := fmt.Sprint(svc2.titles()); got != want {
		t.Errorf("alerts after restart = %s, want %s", got, want)
	}
	if n, _ := d2.DB.OutboxLen(); n != 0 {
		t.Errorf("outbox holds %d after delivery", n)
	}
	first := svc2.got[0]
	if first.To.Chat != "42" || first.Alert.Summary != "The envoy arrived." || first.Alert.Link != "https://news.example/n-1" {
		t.Errorf("first alert = %+v / %+v", first, *first.Alert)
	}
}

func TestSecondInstanceOnSameDataDirFailsFast(t *testing.T) {
	dir := t.TempDir()
	d := newDaemon(t, dir, "https://news.example/feed", newChatService())
	defer d.Close()
	cfg := config.Default()
	cfg.Bot.DataDir = dir
	_, err := New(context.Background(), Options{Config: cfg, DBOptions: storage.Options{Timeout: 200 * time.Millisecond}})
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second instance: err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "frontwire.db") {
		t.Errorf("error %q does not name the file", err)
	}
}
