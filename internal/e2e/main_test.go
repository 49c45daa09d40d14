package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/storage"
)

var long = flag.Bool("long", false, "run the long reliability tests (more kills, more hostile sources)")

// binaryPath is the bot binary built once by TestMain. It is written once
// before any test runs and only read afterwards: building the binary once
// per test would cost every test a link on a busy 2-core machine.
var binaryPath string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "frontwire-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, "bot")
	build := exec.Command("go", "build", "-o", binaryPath, "frontwire/cmd/bot")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the bot:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is an io.Writer safe for the exec package's copying goroutine
// and the test reading it at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is one running bot process.
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer // stdout and stderr together
	done   chan struct{}
	err    error // cmd.Wait's result, valid once done is closed
	exited time.Time
}

// startBot starts the binary with args and the environment extra added to
// a minimal one (no FRONTWIRE_* variables leak in from the test's).
func startBot(t *testing.T, extraEnv []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binaryPath, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, extraEnv...)
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

// wait waits for the process to exit and returns Wait's error; it fails the
// test if that takes longer than timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("bot still running after %s; output:\n%s", timeout, p.out.String())
		return nil
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		select {
		case <-p.done: // it had exited already
			t.Fatalf("bot exited before the kill: %v\n%s", p.err, p.out.String())
		default:
			t.Fatalf("kill: %v", err)
		}
	}
	<-p.done
}

// exitCode is the process's exit status, or -1 if a signal ended it.
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// peakRSSKiB reads VmHWM, the process's peak resident set, from /proc.
func (p *proc) peakRSSKiB(t *testing.T) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from /proc")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err != nil {
				t.Fatalf("parse %q: %v", line, err)
			}
			return kib
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
	return 0
}

// openCleanly opens the database file the way the bot does, with a short
// lock timeout, and closes it: the check that a crash left it usable.
func openCleanly(path string) error {
	db, err := storage.Open(path, storage.Options{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	if _, err := db.OutboxLen(); err != nil {
		db.Close()
		return fmt.Errorf("read outbox: %w", err)
	}
	return db.Close()
}

// withDB opens the database for a check after the bot has exited.
func withDB(t *testing.T, path string, f func(db *storage.DB)) {
	t.Helper()
	db, err := storage.Open(path, storage.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	f(db)
}
