package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// TestSIGTERMStopsCleanly stops the bot with SIGTERM in the middle of a
// delivery: it must exit 0 within 10 s, say it stopped, leave a database
// that opens, and deliver what was left once it runs again.
func TestSIGTERMStopsCleanly(t *testing.T) {
	const chats, stories = 5, 10
	tg := telegramtest.NewServer(t, telegramtest.Options{})
	site := &feedtest.Site{}
	feed := httptest.NewServer(site)
	defer feed.Close()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "frontwire.db")
	cfgPath := botConfig{
		DataDir: filepath.Join(dir, "data"), Telegram: true, TelegramURL: tg.URL(), Token: tg.Token(),
		MessagesPerSecond: 5, AllowPrivate: true,
		Sources: []source{{Name: "Test Wire", URL: feed.URL}},
	}.write(t, dir)

	p := startBot(t, nil, "run", "-config", cfgPath)
	for u := int64(1); u <= chats; u++ {
		tg.PushUpdate(command(u, u, "private", "/subscribe Witkoff"))
	}
	if _, err := tg.WaitSent(chats, 30*time.Second); err != nil {
		t.Fatalf("subscribing: %v\n%s", err, p.out.String())
	}
	site.WaitRequests(t, 1, 30*time.Second)
	base := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	var items []string
	for i := 1; i <= stories; i++ {
		items = append(items, feedtest.Item(fmt.Sprintf("s%02d", i), fmt.Sprintf("Witkoff story %02d", i), "Envoy talks.", base.Add(time.Duration(i)*time.Minute)))
	}
	site.Set(items...)
	// Stop while alerts are still queued: a few sent, most waiting.
	if _, err := tg.WaitSent(chats+3, 30*time.Second); err != nil {
		t.Fatalf("delivery did not start: %v\n%s", err, p.out.String())
	}
	sentAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := p.wait(t, 10*time.Second)
	took := p.exited.Sub(sentAt)
	if err != nil || p.exitCode() != 0 {
		t.Errorf("exit after SIGTERM: %v (code %d), want 0\n%s", err, p.exitCode(), p.out.String())
	}
	if !strings.Contains(p.out.String(), "frontwire stopped") {
		t.Errorf("log does not say the bot stopped:\n%s", p.out.String())
	}
	var left int
	withDB(t, dbPath, func(db *storage.DB) {
		var err error
		if left, err = db.OutboxLen(); err != nil {
			t.Fatal(err)
		}
	})
	delivered := tally(tg.Sent()).unique
	if delivered+left != chats*stories {
		t.Errorf("after SIGTERM: %d delivered + %d queued != %d", delivered, left, chats*stories)
	}
	t.Logf("FIGURE sigterm: exit_code=%d took=%s delivered=%d still_queued=%d", p.exitCode(), took.Round(time.Millisecond), delivered, left)

	// Started again, it delivers the rest, once each.
	p = startBot(t, nil, "run", "-config", cfgPath)
	for {
		sent := tg.Sent()
		if tally(sent).unique >= chats*stories {
			break
		}
		if _, err := tg.WaitSent(len(sent)+1, 30*time.Second); err != nil {
			t.Fatalf("after restart: %v\n%s", err, p.out.String())
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Errorf("second run exit: %v", err)
	}
	if d := tally(tg.Sent()); d.dupes != 0 {
		t.Errorf("%d duplicates after a clean stop", d.dupes)
	}
}

// TestSecondInstanceFailsFast starts a second bot on the data directory of
// a running one: it must give up within a few seconds, exit 1 and name the
// locked file.
func TestSecondInstanceFailsFast(t *testing.T) {
	site := &feedtest.Site{}
	feed := httptest.NewServer(site)
	defer feed.Close()
	dir := t.TempDir()
	cfgPath := botConfig{
		DataDir: filepath.Join(dir, "data"), AllowPrivate: true,
		Sources: []source{{Name: "Test Wire", URL: feed.URL}},
	}.write(t, dir)
	first := startBot(t, nil, "run", "-config", cfgPath)
	// The first poll happens after the database is open.
	site.WaitRequests(t, 1, 30*time.Second)

	start := time.Now()
	second := startBot(t, nil, "run", "-config", cfgPath)
	err := second.wait(t, 15*time.Second)
	took := second.exited.Sub(start)
	out := second.out.String()
	if err == nil || second.exitCode() != 1 {
		t.Errorf("second instance: %v (code %d), want exit 1", err, second.exitCode())
	}
	if !strings.Contains(out, filepath.Join(dir, "data", "frontwire.db")) || !strings.Contains(out, "locked") {
		t.Errorf("second instance's message does not name the locked file:\n%s", out)
	}
	if took > 5*time.Second {
		t.Errorf("second instance took %s to give up", took)
	}
	select {
	case <-first.done:
		t.Errorf("first instance exited: %v\n%s", first.err, first.out.String())
	default:
	}
	t.Logf("FIGURE second-instance: exit_code=%d took=%s message=%q", second.exitCode(), took.Round(time.Millisecond), strings.TrimSpace(lastLine(out)))
	_ = first.cmd.Process.Signal(syscall.SIGTERM)
	if err := first.wait(t, 10*time.Second); err != nil {
		t.Errorf("first instance exit: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestUnusableDataDir starts the bot on data directories it cannot create
// or write (root ignores file modes, so the tests use paths no mode can
// fix): a clear error naming the path, exit 1, promptly.
func TestUnusableDataDir(t *testing.T) {
	dir := t.TempDir()
	aFile := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbAsDir := filepath.Join(dir, "db-is-dir")
	if err := os.MkdirAll(filepath.Join(dbAsDir, "frontwire.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, dataDir string
		want          *regexp.Regexp
	}{
		{"parent is a regular file", filepath.Join(aFile, "data"), regexp.MustCompile(`not a directory`)},
		{"under read-only /proc", "/proc/frontwire-data", regexp.MustCompile(`(?i)(permission denied|read-only|no such file|not permitted)`)},
		{"database path is a directory", dbAsDir, regexp.MustCompile(`(?i)(is a directory|invalid argument)`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub := t.TempDir()
			cfgPath := botConfig{DataDir: tc.dataDir}.write(t, sub)
			p := startBot(t, nil, "run", "-config", cfgPath)
			err := p.wait(t, 10*time.Second)
			out := p.out.String()
			if err == nil || p.exitCode() != 1 {
				t.Errorf("exit: %v (code %d), want 1\n%s", err, p.exitCode(), out)
			}
			if !strings.Contains(out, tc.dataDir) || !tc.want.MatchString(out) {
				t.Errorf("message does not name %s and say %s:\n%s", tc.dataDir, tc.want, out)
			}
			if strings.Contains(out, "panic") {
				t.Errorf("panic:\n%s", out)
			}
			t.Logf("FIGURE data-dir %q: exit_code=%d message=%q", tc.name, p.exitCode(), lastLine(out))
		})
	}
}
