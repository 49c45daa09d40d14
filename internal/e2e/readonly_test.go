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

	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/feedtest"
)

// ext4Image is a small ext4 file system in a file, mounted only inside
// the bot's own mount namespace (unshare -m), so the machine's mounts are
// never touched and the mount ends with the process.
type ext4Image struct {
	img, mnt string
}

func newExt4Image(t *testing.T) ext4Image {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a loop device needs root")
	}
	for _, tool := range []string{"unshare", "mount", "mkfs.ext4", "e2fsck", "findmnt"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not available: %v", tool, err)
		}
	}
	dir := t.TempDir()
	im := ext4Image{img: filepath.Join(dir, "disk.img"), mnt: filepath.Join(dir, "mnt")}
	if err := os.Mkdir(im.mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("truncate", "-s", "64M", im.img).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", im.img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	// Can this container mount a loop device at all?
	if out, err := im.inNamespace(`mount -o loop "$IMG" "$MNT" && mkdir -p "$MNT/data"`).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a loop device here: %v %s", err, out)
	}
	return im
}

// inNamespace is a bash command run in a new mount namespace with IMG and
// MNT set.
func (im ext4Image) inNamespace(script string, args ...string) *exec.Cmd {
	// t.TempDir paths hold no quote characters.
	script = fmt.Sprintf("IMG='%s'; MNT='%s'; %s", im.img, im.mnt, script)
	return exec.Command("unshare", append([]string{"-m", "bash", "-c", script, "bash"}, args...)...)
}

// startBot mounts the image with errors=remount-ro (ext4's usual setting)
// and execs the bot in that namespace; the first output line names the
// loop device.
func (im ext4Image) startBot(t *testing.T, args ...string) *proc {
	t.Helper()
	script := `mount -o loop,errors=remount-ro "$IMG" "$MNT" || exit 98; echo "loopdev=$(findmnt -no SOURCE "$MNT")"; exec "$@"`
	cmd := im.inNamespace(script, append([]string{binaryPath}, args...)...)
	return startCmd(t, cmd)
}

// copyDB copies the database out of the image (mounted read-only) so the
// test can inspect it after the bot has exited.
func (im ext4Image) copyDB(t *testing.T, to string) {
	t.Helper()
	if out, err := im.inNamespace(`mount -o loop,ro "$IMG" "$MNT" && cp "$MNT/data/frontwire.db" "$1"`, to).CombinedOutput(); err != nil {
		t.Fatalf("copy the database out: %v %s", err, out)
	}
}

// TestReadOnlyDuringRun turns the data directory's file system read-only
// under the running bot the way the kernel does after an I/O error (ext4
// with errors=remount-ro; the error is injected through ext4's
// trigger_fs_error knob), while alerts are queued and stories arrive. The
// bot must log a clear error and stay up, lose nothing it had stored, and
// after fsck and a restart deliver everything once.
func TestReadOnlyDuringRun(t *testing.T) {
	const chats, before, after = 10, 3, 10
	im := newExt4Image(t)
	tg := telegramtest.NewServer(t, telegramtest.Options{})
	api := newFaultyAPI(t, tg.URL())
	site := &feedtest.Site{}
	feed := httptest.NewServer(site)
	defer feed.Close()
	dir := t.TempDir()
	cfgPath := botConfig{
		DataDir: filepath.Join(im.mnt, "data"), Telegram: true, TelegramURL: api.srv.URL, Token: tg.Token(),
		MessagesPerSecond: 100, AllowPrivate: true,
		Sources: []source{{Name: "Test Wire", URL: feed.URL}},
	}.write(t, dir)

	p := im.startBot(t, "run", "-config", cfgPath)
	dev := p.waitOutput(t, regexp.MustCompile(`loopdev=/dev/(loop\d+)`), 15*time.Second)
	dev = filepath.Base(strings.TrimPrefix(dev, "loopdev="))
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

	// The file system fails: ext4 remounts itself read-only.
	if err := os.WriteFile(filepath.Join("/sys/fs/ext4", dev, "trigger_fs_error"), []byte("frontwire reliability test"), 0o200); err != nil {
		t.Skipf("cannot trigger an ext4 error on %s: %v", dev, err)
	}
	polls := site.Requests()
	site.Set(distinctItems(1, after)...)
	errLine := p.waitOutput(t, regexp.MustCompile(`(?m)^.*level=(?:ERROR|WARN).*read-only file system.*$`), 30*time.Second)
	site.WaitRequests(t, polls+4, 30*time.Second)
	select {
	case <-p.done:
		t.Fatalf("bot exited when the file system turned read-only: %v\n%s", p.err, p.out.String())
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.wait(t, 15*time.Second)
	roOut, roExit := p.out.String(), p.exitCode()
	if strings.Contains(roOut, "panic") {
		t.Errorf("panic:\n%s", roOut)
	}
	if err != nil {
		// Closing may fail on a read-only file system; it must say so
		// plainly and the data must still be there (checked below).
		t.Logf("exit after SIGTERM on the read-only file system: %v: %s", err, lastLine(roOut))
	}

	// What an administrator does: fsck, then mount again.
	fsck := exec.Command("e2fsck", "-fy", im.img)
	fsckOut, fsckErr := fsck.CombinedOutput()
	if fsckErr != nil && fsck.ProcessState.ExitCode() > 1 {
		t.Fatalf("e2fsck: %v\n%s", fsckErr, fsckOut)
	}
	copyPath := filepath.Join(dir, "after-ro.db")
	im.copyDB(t, copyPath)
	if err := openCleanly(copyPath); err != nil {
		t.Fatalf("database after the read-only episode: %v", err)
	}
	kept := readContents(t, copyPath)
	if len(kept.subs) != chats || kept.outbox < chats*before {
		t.Errorf("after the read-only episode: %d subscriptions, %d queued; want %d and at least %d", len(kept.subs), kept.outbox, chats, chats*before)
	}

	api.set(faultNone)
	p = im.startBot(t, "run", "-config", cfgPath)
	want := chats * after
	for {
		sent := tg.Sent()
		if tally(sent).unique >= want {
			break
		}
		if _, err := tg.WaitSent(len(sent)+1, 60*time.Second); err != nil {
			t.Fatalf("after the file system was repaired: %d of %d alerts: %v\n%s", tally(tg.Sent()).unique, want, err, p.out.String())
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 15*time.Second); err != nil {
		t.Errorf("last run exit: %v\n%s", err, p.out.String())
	}
	finalPath := filepath.Join(dir, "final.db")
	im.copyDB(t, finalPath)
	final := readContents(t, finalPath)
	d := tally(tg.Sent())
	if d.dupes != 0 {
		t.Errorf("%d duplicates", d.dupes)
	}
	if final.outbox != 0 {
		t.Errorf("%d alerts left in the outbox", final.outbox)
	}
	t.Logf("FIGURE read-only during a run: ext4 errors=remount-ro on %s, error injected via trigger_fs_error; subscriptions kept=%d/%d queued alerts kept=%d (had %d) exit=%d first error=%q; after e2fsck and restart: alerts=%d delivered=%d duplicates=%d outbox_left=%d",
		dev, len(kept.subs), chats, kept.outbox, chats*before, roExit, strings.TrimSpace(errLine), want, d.unique, d.dupes, final.outbox)
}
