package daemon

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

var watchT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// watchFixture is a watcher over a real bbolt file and a fake clock.
type watchFixture struct {
	t      *testing.T
	path   string
	db     *storage.DB
	clk    *clock.Fake
	w      *SourceWatch
	mu     sync.Mutex
	notify []chat.Message
}

var adminChat = chat.Address{Platform: "telegram", Chat: "-1001"}

func newWatchFixture(t *testing.T) *watchFixture {
	f := &watchFixture{t: t, path: filepath.Join(t.TempDir(), "frontwire.db"), clk: clock.NewFake(watchT0)}
	f.open()
	t.Cleanup(func() { _ = f.db.Close() })
	return f
}

// open (re)opens the file and builds a fresh watcher, as a restart does.
func (f *watchFixture) open() {
	db, err := storage.Open(f.path, storage.Options{NoSync: true, Clock: f.clk})
	if err != nil {
		f.t.Fatal(err)
	}
	f.db = db
	f.w = &SourceWatch{
		DB:        db,
		Sources:   func() []config.Source { return []config.Source{{Name: "Wire"}, {Name: "Never"}, {Name: "Fine"}} },
		AdminChat: adminChat,
		Notify: func(m []chat.Message) {
			f.mu.Lock()
			f.notify = append(f.notify, m...)
			f.mu.Unlock()
		},
		Clock: f.clk,
	}
}

func (f *watchFixture) state(st storage.SourceState) {
	f.t.Helper()
	if err := f.db.PutSourceState(st); err != nil {
		f.t.Fatal(err)
	}
}

// check runs one watch pass and returns the texts queued by it.
func (f *watchFixture) check() []string {
	f.t.Helper()
	before, _ := f.db.Pending()
	if err := f.w.Check(); err != nil {
		f.t.Fatal(err)
	}
	after, err := f.db.Pending()
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, m := range after[len(before):] {
		if m.To != adminChat || m.Kind != chat.KindText {
			f.t.Errorf("notice %+v went elsewhere than the admin chat", m)
		}
		out = append(out, m.Text)
	}
	return out
}

func TestSourceWatchNoticesOncePerOutage(t *testing.T) {
	f := newWatchFixture(t)
	f.state(storage.SourceState{Name: "Fine", LastSuccess: watchT0, Initialized: true})
	// Wire last succeeded 30 minutes ago and has failed since.
	f.state(storage.SourceState{Name: "Wire", LastSuccess: watchT0.Add(-30 * time.Minute), Failures: 3, LastError: "HTTP 503 Service Unavailable"})
	// Never has never succeeded: its outage starts when first seen.
	f.state(storage.SourceState{Name: "Never", Failures: 1, LastError: "dial tcp: refused"})

	steps := []struct {
		name    string
		advance time.Duration
		before  func()
		want    []string // substrings, one per notice expected in this pass
	}{
		{"failing half an hour: nothing", 0, nil, nil},
		{"29 minutes later, still under the hour", 29 * time.Minute, nil, nil},
		{"past the hour: one notice for Wire", 2 * time.Minute, nil, []string{`Source "Wire" has been failing for 1h01m (3 attempts in a row). Last error: HTTP 503`}},
		{"an hour later: Never, first seen failing 91 minutes ago, once", time.Hour, nil, []string{`Source "Never" has been failing for 1h31m`}},
		{"still failing: nothing", 3 * time.Hour, nil, nil},
		{"Wire recovers: one recovery notice", time.Minute, func() {
			f.state(storage.SourceState{Name: "Wire", LastSuccess: f.clk.Now(), Initialized: true})
		}, []string{`Source "Wire" works again after 5h`}},
		{"recovered: nothing", time.Hour, nil, nil},
		{"Wire fails briefly: nothing", time.Minute, func() {
			f.state(storage.SourceState{Name: "Wire", LastSuccess: f.clk.Now().Add(-time.Minute), Failures: 1})
		}, nil},
		{"and recovers within the hour: nothing", 20 * time.Minute, func() {
			f.state(storage.SourceState{Name: "Wire", LastSuccess: f.clk.Now(), Initialized: true})
		}, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f.t = t
			f.clk.Advance(s.advance)
			if s.before != nil {
				s.before()
			}
			got := f.check()
			if len(got) != len(s.want) {
				t.Fatalf("queued %d notices %q, want %d", len(got), got, len(s.want))
			}
			for i := range s.want {
				if !strings.Contains(got[i], s.want[i]) {
					t.Errorf("notice %q, want it to contain %q", got[i], s.want[i])
				}
			}
		})
	}
	f.t = t
	f.mu.Lock()
	if len(f.notify) != 3 {
		t.Errorf("dispatcher notified of %d messages, want the 3 queued", len(f.notify))
	}
	f.mu.Unlock()
}

func TestSourceWatchRestartDoesNotRepeat(t *testing.T) {
	f := newWatchFixture(t)
	f.state(storage.SourceState{Name: "Wire", LastSuccess: watchT0.Add(-2 * time.Hour), Failures: 9, LastError: "HTTP 500"})
	if got := f.check(); len(got) != 1 {
		t.Fatalf("first pass queued %q, want one notice", got)
	}
	// Restart: a new watcher on the reopened file.
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	f.open()
	f.clk.Advance(10 * time.Minute)
	if got := f.check(); len(got) != 0 {
		t.Fatalf("after a restart queued %q again", got)
	}
	// The recovery is still announced by the new process.
	f.state(storage.SourceState{Name: "Wire", LastSuccess: f.clk.Now(), Initialized: true})
	if got := f.check(); len(got) != 1 || !strings.Contains(got[0], "works again") {
		t.Fatalf("recovery after restart: %q", got)
	}
}

// TestSourceWatchRunsEveryMinute drives Run with the fake clock.
func TestSourceWatchRunsEveryMinute(t *testing.T) {
	f := newWatchFixture(t)
	f.w.Outage = 90 * time.Second
	f.state(storage.SourceState{Name: "Wire", LastSuccess: watchT0.Add(-time.Minute), Failures: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.w.Run(ctx) }()
	f.clk.WaitForWaiters(1) // first pass done: 1 minute into the outage
	if n, _ := f.db.OutboxLen(); n != 0 {
		t.Fatalf("outbox %d after the first pass, want 0", n)
	}
	f.clk.Advance(time.Minute)
	f.clk.WaitForWaiters(1) // second pass done: 2 minutes
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := f.db.OutboxLen(); n != 1 {
		t.Fatalf("outbox %d after two passes, want the one notice", n)
	}
}

func TestParseAdminChat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want chat.Address
		ok   bool
	}{
		{"telegram:-100123", chat.Address{Platform: "telegram", Chat: "-100123"}, true},
		{"discord:456", chat.Address{Platform: "discord", Chat: "456"}, true},
		{"456", chat.Address{}, false},
		{"telegram:", chat.Address{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAdminChat(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseAdminChat(%q) = %+v, %v", tc.in, got, err)
			}
		})
	}
}

// TestAddSourceFromChatThroughDaemon runs /addsource through the daemon's
// own wiring: refused for a member, accepted for an admin, listed by
// /sources, scheduled, and still there after a restart.
func TestAddSourceFromChatThroughDaemon(t *testing.T) {
	site := &feedtest.Site{}
	site.Set(item("a1", "Old story", "already there"))
	srv := httptest.NewServer(site)
	defer srv.Close()
	configured := &feedtest.Site{}
	cfgSrv := httptest.NewServer(configured)
	defer cfgSrv.Close()
	dir := t.TempDir()
	mk := func() *Daemon {
		cfg := config.Default()
		cfg.Bot.DataDir = dir
		cfg.Bot.AllowPrivateSources = true // the test's feeds are on loopback
		cfg.Bot.Admins = []string{"test:42"}
		cfg.Sources = []config.Source{{Name: "Configured", URL: cfgSrv.URL}}
		d, err := New(context.Background(), Options{
			Config:    cfg,
			Platforms: map[string]alerts.Platform{"test": {Sender: newChatService()}},
			DBOptions: storage.Options{NoSync: true, Timeout: time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := mk()
	room := chat.Address{Platform: "test", Chat: "room"}
	say := func(d *Daemon, user, line string) string {
		name, args, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
		return d.Service.Handle(context.Background(), chat.Command{From: room, User: user, Kind: chat.Group, Name: name, Args: args, CanManage: true}).Text
	}
	if got := say(d, "7", "/addsource "+srv.URL+" Side Wire"); !strings.Contains(got, "Only the operators") {
		t.Fatalf("member: %q", got)
	}
	if got := say(d, "42", "/addsource "+srv.URL+" Side Wire"); !strings.Contains(got, `Added source "Side Wire"`) {
		t.Fatalf("admin: %q", got)
	}
	// The first poll ran and marked the old story seen.
	st, err := d.DB.SourceState("Side Wire")
	if err != nil || !st.Initialized {
		t.Fatalf("state after /addsource: %+v, %v", st, err)
	}
	if n, _ := d.DB.OutboxLen(); n != 0 {
		t.Errorf("the first poll queued %d alerts, want none", n)
	}
	if got := say(d, "7", "/sources"); !strings.Contains(got, "Configured") || !strings.Contains(got, "Side Wire") {
		t.Errorf("/sources: %q", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = mk()
	defer d.Close()
	var names []string
	for _, s := range d.Scheduler.Sources() {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "Configured,Side Wire" {
		t.Errorf("after restart scheduled %v", names)
	}
	if got := say(d, "42", "/removesource Side Wire"); !strings.Contains(got, "Removed") {
		t.Errorf("remove: %q", got)
	}
}
