package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// startBotFsizeLimited starts the bot like startBot, but through bash with
// RLIMIT_FSIZE lowered to limitKiB: no file the bot writes can grow past
// that size, which is what a full disk looks like to bbolt (writes past
// the limit fail with EFBIG) without mounting a small filesystem. SIGXFSZ
// is ignored first, so the kernel answers with the error instead of
// killing the process; an ignored signal stays ignored across exec.
func startBotFsizeLimited(t *testing.T, limitKiB int64, args ...string) *proc {
	t.Helper()
	script := `trap '' XFSZ; ulimit -f "$1" || exit 99; shift; exec "$@"`
	// bash counts ulimit -f in 1024-byte blocks.
	cmd := exec.Command("bash", append([]string{"-c", script, "bash", fmt.Sprint(limitKiB), binaryPath}, args...)...)
	return startCmd(t, cmd)
}

// startCmd starts cmd with the same minimal environment and bookkeeping as
// startBot.
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bot: %v", err)
	}
	p := &proc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		p.exited = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitOutput waits until the process's output matches re, failing if the
// process exits first or timeout passes.
func (p *proc) waitOutput(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := re.FindString(p.out.String()); m != "" {
			return m
		}
		select {
		case <-deadline:
			t.Fatalf("no output matching %s within %s:\n%s", re, timeout, p.out.String())
		case <-p.done:
			if m := re.FindString(p.out.String()); m != "" {
				return m
			}
			t.Fatalf("bot exited (%v) before printing %s:\n%s", p.err, re, p.out.String())
		// Output has no change signal; poll it briefly.
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dbContents is what a check after a run reads from the database.
type dbContents struct {
	subs   map[uint64]string // id -> chat key + query
	outbox int
}

func readContents(t *testing.T, path string) dbContents {
	t.Helper()
	c := dbContents{subs: map[uint64]string{}}
	withDB(t, path, func(db *storage.DB) {
		if err := db.ForEachSubscription(func(s *subscriptions.Subscription) error {
			c.subs[s.ID] = fmt.Sprintf("%s %s", s.Chat.Key(), s.Query)
			return nil
		}); err != nil {
			t.Fatalf("read subscriptions: %v", err)
		}
		var err error
		if c.outbox, err = db.OutboxLen(); err != nil {
			t.Fatalf("read outbox: %v", err)
		}
	})
	return c
}

// bigItems returns stories first…last like distinctItems, with a long
// description each so that storing them must grow the database file.
func bigItems(first, last int) []string {
	items := distinctItems(first, last)
	pad := strings.Repeat("Negotiators met again in the afternoon to go over the draft line by line. ", 40)
	for i := range items {
		items[i] = strings.Replace(items[i], "</description>", " "+pad+"</description>", 1)
	}
	return items
}

// TestDiskFull fills the disk under the bot while stories arrive, by
// lowering RLIMIT_FSIZE to the database file's current size. The bot must
// log a clear error and stay up, the file must stay intact with every
// subscription and every queued alert it held, and once restarted without
// the limit it must deliver everything, each alert once.
func TestDiskFull(t *testing.T) {
	const chats, before, after = 20, 3, 40
	tg := telegramtest.NewServer(t, telegramtest.Options{})
	api := newFaultyAPI(t, tg.URL())
	site := &feedtest.Site{}
	feed := httptest.NewServer(site)
	defer feed.Close()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "frontwire.db")
	cfgPath := botConfig{
		DataDir: filepath.Join(dir, "data"), Telegram: true, TelegramURL: api.srv.URL, Token: tg.Token(),
		MessagesPerSecond: 200, AllowPrivate: true,
		Sources: []source{{Name: "Test Wire", URL: feed.URL}},
	}.write(t, dir)

	// Run 1, disk fine: 20 chats subscribe; Telegram then fails every send
	// so that the first stories' alerts stay queued in the outbox.
	p := startBot(t, nil, "run", "-config", cfgPath)
	for u := int64(1); u <= chats; u++ {
		tg.PushUpdate(command(u, u, "private", "/subscribe Witkoff"))
	}
	if _, err := tg.WaitSent(chats, 30*time.Second); err != nil {
		t.Fatalf("subscribing: %v\n%s", err, p.out.String())
	}
	site.WaitRequests(t, 1, 30*time.Second)
	api.set(fault5xx)
	site.Set(distinctItems(1, before)...)
	api.waitUntil(t, "the first alerts to be tried", 30*time.Second, func(faulted, _ int) bool { return faulted >= chats })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 15*time.Second); err != nil {
		t.Fatalf("run 1 exit: %v\n%s", err, p.out.String())
	}
	stored := readContents(t, dbPath)
	if len(stored.subs) != chats || stored.outbox != chats*before {
		t.Fatalf("before the disk fills: %d subscriptions and %d queued, want %d and %d", len(stored.subs), stored.outbox, chats, chats*before)
	}
	// bbolt grows its file 16 MiB ahead of need, so the file's size says
	// nothing about room; the disk is "full" at the end of the pages in
	// use (the high-water mark): a write past it fails.
	limitKiB := usedKiB(t, dbPath)

	// Run 2, the disk is full: the file may not grow by a byte. Many large
	// stories arrive; storing them needs room that is not there.
	p = startBotFsizeLimited(t, limitKiB, "run", "-config", cfgPath)
	polls := site.Requests()
	site.Set(bigItems(1, after)...)
	errLine := p.waitOutput(t, regexp.MustCompile(`(?m)^.*poll failed.*commit.*file too large.*$`), 30*time.Second)
	// The bot keeps polling on schedule (and failing to store) rather than
	// dying or resting the source: the feed is asked three more times.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of the run with the disk full:\n%s", p.out.String())
		}
	})
	site.WaitRequests(t, polls+4, 30*time.Second)
	select {
	case <-p.done:
		t.Fatalf("bot exited while the disk was full: %v\n%s", p.err, p.out.String())
	default:
	}
	errCount := strings.Count(p.out.String(), "file too large")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.wait(t, 15*time.Second)
	full, fullExit := p.out.String(), p.exitCode()
	if strings.Contains(full, "panic") {
		t.Errorf("panic while the disk was full:\n%s", full)
	}
	if err != nil || p.exitCode() != 0 {
		t.Errorf("exit after SIGTERM with the disk full: %v (code %d)\n%s", err, p.exitCode(), full)
	}
	if err := openCleanly(dbPath); err != nil {
		t.Fatalf("database after the disk filled: %v", err)
	}
	kept := readContents(t, dbPath)
	lostSubs := 0
	for id, s := range stored.subs {
		if kept.subs[id] != s {
			lostSubs++
			t.Errorf("subscription %d was %q, now %q", id, s, kept.subs[id])
		}
	}
	if kept.outbox < stored.outbox {
		t.Errorf("outbox shrank from %d to %d while nothing could be sent", stored.outbox, kept.outbox)
	}
	if used := usedKiB(t, dbPath); used > limitKiB {
		t.Errorf("pages in use grew past the limit: %d KiB > %d KiB", used, limitKiB)
	}

	// Run 3, room again and Telegram back: everything arrives, once.
	api.set(faultNone)
	p = startBot(t, nil, "run", "-config", cfgPath)
	want := chats * after
	for {
		sent := tg.Sent()
		if tally(sent).unique >= want {
			break
		}
		if _, err := tg.WaitSent(len(sent)+1, 60*time.Second); err != nil {
			t.Fatalf("after the disk was freed: %d of %d alerts: %v\n%s", tally(tg.Sent()).unique, want, err, p.out.String())
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 15*time.Second); err != nil {
		t.Errorf("run 3 exit: %v", err)
	}
	final := readContents(t, dbPath)
	d := tally(tg.Sent())
	if d.dupes != 0 {
		t.Errorf("%d duplicates", d.dupes)
	}
	if final.outbox != 0 {
		t.Errorf("%d alerts left in the outbox", final.outbox)
	}
	if len(final.subs) != chats {
		t.Errorf("%d subscriptions at the end, want %d", len(final.subs), chats)
	}
	t.Logf("FIGURE disk-full: limit=%d KiB (the pages in use) subscriptions kept=%d/%d queued alerts kept=%d/%d (outbox %d after the full run) lines saying file too large=%d exit=%d first error=%q; after the limit was lifted: alerts=%d delivered=%d duplicates=%d outbox_left=%d, file %d KiB",
		limitKiB, len(stored.subs)-lostSubs, len(stored.subs), min(kept.outbox, stored.outbox), stored.outbox, kept.outbox, errCount, fullExit, strings.TrimSpace(errLine), want, d.unique, d.dupes, final.outbox, fileKiB(t, dbPath))
}

// usedKiB is how much of the bbolt file holds pages in use: the size of the
// last committed transaction's view. Only storage imports bbolt in the
// product; the test reads this one number, which storage does not expose,
// from a read-only open after the bot has exited.
func usedKiB(t *testing.T, path string) int64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open %s read-only: %v", path, err)
	}
	defer db.Close()
	var size int64
	if err := db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return (size + 1023) / 1024
}

func fileKiB(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size() / 1024
}

// TestDiskFullAtStartUp starts the bot on a fresh data directory with
// RLIMIT_FSIZE too small for bbolt's first pages: a clear error naming the
// file, exit 1, promptly, no panic.
func TestDiskFullAtStartUp(t *testing.T) {
	dir := t.TempDir()
	cfgPath := botConfig{DataDir: filepath.Join(dir, "data")}.write(t, dir)
	start := time.Now()
	p := startBotFsizeLimited(t, 4, "run", "-config", cfgPath)
	err := p.wait(t, 15*time.Second)
	took := p.exited.Sub(start)
	out := p.out.String()
	if err == nil || p.exitCode() != 1 {
		t.Errorf("exit: %v (code %d), want 1\n%s", err, p.exitCode(), out)
	}
	if !strings.Contains(out, filepath.Join(dir, "data")) || !regexp.MustCompile(`(?i)file too large|no space|resize`).MatchString(out) {
		t.Errorf("message does not name the file and say the disk is full:\n%s", out)
	}
	if strings.Contains(out, "panic") {
		t.Errorf("panic:\n%s", out)
	}
	t.Logf("FIGURE disk-full at start-up: limit=4 KiB exit=%d took=%s message=%q", p.exitCode(), took.Round(time.Millisecond), lastLine(out))
}
