package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/chat"
	"frontwire/internal/config"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// logWatch collects log output and closes seen once want appears in it.
type logWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startWithSocket starts a daemon on dir and returns once its control
// socket (or its failure to make one) has been logged.
func startWithSocket(t *testing.T, dir string, want string) (*Daemon, *logWatch, func()) {
	t.Helper()
	site := httptest.NewServer(&feedtest.Site{})
	t.Cleanup(site.Close)
	cfg := config.Default()
	cfg.Bot.DataDir = dir
	cfg.Bot.PollSchedule = "@every 1h"
	cfg.Bot.AllowPrivateSources = true
	cfg.Sources = []config.Source{{Name: "Test Wire", URL: site.URL}}
	logs := &logWatch{want: want, seen: make(chan struct{})}
	d, err := New(context.Background(), Options{
		Config:    cfg,
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
		Platforms: map[string]alerts.Platform{"test": {Sender: newChatService()}},
		DBOptions: storage.Options{NoSync: true, Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runDaemon(t, d)
	select {
	case <-logs.seen:
	case <-time.After(10 * time.Second):
		stop()
		t.Fatalf("no %q in the log after 10 s:\n%s", want, logs)
	}
	return d, logs, stop
}

func TestControlBackup(t *testing.T) {
	dir := t.TempDir()
	d, logs, stop := startWithSocket(t, dir, "control socket listening")
	sock := SocketPath(dir)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	for _, q := range []string{"Witkoff", "Ukraine peace"} {
		if err := d.DB.AddSubscription(&subscriptions.Subscription{Chat: chat.Address{Platform: "test", Chat: "1"}, Query: q}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()

	t.Run("ping", func(t *testing.T) {
		got, err := Ping(ctx, sock)
		if err != nil || got != d.DB.Path() {
			t.Fatalf("Ping = %q, %v; want %q", got, err, d.DB.Path())
		}
	})
	t.Run("backup", func(t *testing.T) {
		var buf bytes.Buffer
		n, err := RequestBackup(ctx, sock, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(buf.Len()) || n == 0 {
			t.Fatalf("RequestBackup = %d bytes, buffer %d", n, buf.Len())
		}
		path := filepath.Join(t.TempDir(), "copy.db")
		os.WriteFile(path, buf.Bytes(), 0o600)
		info, err := storage.Inspect(path, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if info.Subscriptions != 2 {
			t.Fatalf("backup holds %d subscriptions, want 2", info.Subscriptions)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("drop tables\n"))
		buf := make([]byte, 200)
		n, _ := c.Read(buf)
		if !strings.HasPrefix(string(buf[:n]), "ERR unknown command") {
			t.Fatalf("answer %q", buf[:n])
		}
	})

	stop()
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left after stop: %v", err)
	}
	if _, err := Ping(ctx, sock); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Ping after stop: %v, want ErrNoDaemon", err)
	}
	if !strings.Contains(logs.String(), "backup streamed") {
		t.Errorf("no backup line in the log:\n%s", logs)
	}
}

func TestControlSocketAtStart(t *testing.T) {
	t.Run("stale socket is replaced", func(t *testing.T) {
		dir := t.TempDir()
		sock := SocketPath(dir)
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		if _, err := Ping(context.Background(), sock); !errors.Is(err, ErrNoDaemon) {
			t.Fatalf("Ping on a stale socket: %v, want ErrNoDaemon", err)
		}
		_, _, stop := startWithSocket(t, dir, "control socket listening")
		defer stop()
		if _, err := Ping(context.Background(), sock); err != nil {
			t.Fatalf("Ping after start: %v", err)
		}
	})
	t.Run("a file in the way is kept and the bot runs", func(t *testing.T) {
		dir := t.TempDir()
		sock := SocketPath(dir)
		os.WriteFile(sock, []byte("mine"), 0o600)
		d, _, stop := startWithSocket(t, dir, "control socket unavailable")
		// The bot still works without its socket.
		if _, err := d.DB.OutboxLen(); err != nil {
			t.Fatal(err)
		}
		stop()
		if b, err := os.ReadFile(sock); err != nil || string(b) != "mine" {
			t.Fatalf("the file in the way was touched: %q, %v", b, err)
		}
	})
}

func TestControlStopEndsABackupInFlight(t *testing.T) {
	dir := t.TempDir()
	d, _, stop := startWithSocket(t, dir, "control socket listening")
	// A client that asks for a backup and never reads: the bot must still
	// stop (the read transaction ends when the connection closes).
	subs := make([]*subscriptions.Subscription, 20000)
	for i := range subs {
		subs[i] = &subscriptions.Subscription{Chat: chat.Address{Platform: "test", Chat: "1"}, Query: "Witkoff peace plan"}
	}
	if err := d.DB.AddSubscriptions(subs); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("backup\n"))
	head := make([]byte, 3)
	if _, err := c.Read(head); err != nil || string(head) != "OK " {
		t.Fatalf("answer %q, %v", head, err)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not stop while a backup client stalled")
	}
}
