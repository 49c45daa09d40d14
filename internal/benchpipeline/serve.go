package benchpipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The feed server can run in a process of its own, so that a cycle's CPU
// time (getrusage of the bot's process) is the bot's alone, and the
// server's is reported apart. ServeFeeds is that process's body; it is
// driven through its standard input and output, one line per command:
//
//	advance   → "ok": publish a new generation
//	requests  → "TOTAL NOT_MODIFIED CPU_SECONDS": requests answered and
//	            the server process's own CPU time
//
// Its first output line is "ADDRESS FEED_BYTES": where it listens and the
// size of one generation of feeds. End of input stops it.

// ServeFeeds serves feeds × items feeds of seed on a loopback port until
// in ends or ctx is done, answering the commands above.
func ServeFeeds(ctx context.Context, feeds, items int, seed int64, in io.Reader, out io.Writer) error {
	fs := NewFeedServer(feeds, items, seed)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("serve feeds: %w", err)
	}
	srv := &http.Server{Handler: fs, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer srv.Close()
	if _, err := fmt.Fprintf(out, "%s %d\n", ln.Addr(), fs.GenerationBytes()); err != nil {
		return fmt.Errorf("serve feeds: %w", err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("serve feeds: %w", err)
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			var reply string
			switch strings.TrimSpace(line) {
			case "advance":
				fs.Advance()
				reply = "ok"
			case "requests":
				total, nm := fs.Requests()
				reply = fmt.Sprintf("%d %d %.6f", total, nm, cpuSeconds())
			default:
				reply = "error: unknown command " + strconv.Quote(line)
			}
			if _, err := fmt.Fprintln(out, reply); err != nil {
				return fmt.Errorf("serve feeds: %w", err)
			}
		}
	}
}

// feedSource is the feed server a Bench polls: in this process (a
// *FeedServer behind httptest) or in a child process (remoteFeeds).
type feedSource interface {
	Advance() error
	// Requests returns the requests answered, those answered 304, and
	// the server's own CPU seconds when it runs apart (else 0).
	Requests() (total, notModified int64, cpu float64, err error)
	GenerationBytes() int64
	Close()
}

// localFeeds is a FeedServer in this process.
type localFeeds struct{ *FeedServer }

func (l localFeeds) Advance() error { l.FeedServer.Advance(); return nil }
func (l localFeeds) Requests() (int64, int64, float64, error) {
	t, nm := l.FeedServer.Requests()
	return t, nm, 0, nil
}
func (l localFeeds) Close() {}

// remoteFeeds is ServeFeeds in a child process.
type remoteFeeds struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	addr  string
	bytes int64
	mu    sync.Mutex
}

// startRemoteFeeds starts argv (a command that runs ServeFeeds) and reads
// its address.
func startRemoteFeeds(argv []string) (*remoteFeeds, error) {
	if len(argv) == 0 {
		return nil, errors.New("no feed server command")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("feed server: %w", err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("feed server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("feed server: start %s: %w", argv[0], err)
	}
	r := &remoteFeeds{cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	line, err := r.out.ReadString('\n')
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("feed server: no address: %w", err)
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		r.Close()
		return nil, fmt.Errorf("feed server: unexpected first line %q", line)
	}
	r.addr = f[0]
	if r.bytes, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		r.Close()
		return nil, fmt.Errorf("feed server: first line %q: %w", line, err)
	}
	return r, nil
}

func (r *remoteFeeds) ask(cmd string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := fmt.Fprintln(r.in, cmd); err != nil {
		return "", fmt.Errorf("feed server %s: %w", cmd, err)
	}
	line, err := r.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("feed server %s: %w", cmd, err)
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "error:") {
		return "", fmt.Errorf("feed server %s: %s", cmd, line)
	}
	return line, nil
}

func (r *remoteFeeds) Advance() error {
	_, err := r.ask("advance")
	return err
}

func (r *remoteFeeds) Requests() (int64, int64, float64, error) {
	line, err := r.ask("requests")
	if err != nil {
		return 0, 0, 0, err
	}
	var total, nm int64
	var cpu float64
	if _, err := fmt.Sscanf(line, "%d %d %g", &total, &nm, &cpu); err != nil {
		return 0, 0, 0, fmt.Errorf("feed server requests: %q: %w", line, err)
	}
	return total, nm, cpu, nil
}

func (r *remoteFeeds) GenerationBytes() int64 { return r.bytes }

// Close ends the child's input, which stops it, and waits for it.
func (r *remoteFeeds) Close() {
	_ = r.in.Close()
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
}
