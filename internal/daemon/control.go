package daemon

// The control socket lets the command line reach a running Frontwire.
// bbolt locks its file exclusively, so while the bot runs no other process
// can open the database, not even to read it; `bot backup` and the commands
// that read a snapshot ask the bot instead. A unix socket inside the data
// directory rather than an HTTP endpoint: only who may read the data
// directory may connect (the socket is 0600 inside a 0700 directory), no
// port is exposed, and `docker compose exec frontwire bot backup …` reaches
// it inside the container.
//
// The protocol is one command line from the client, then the answer:
// "OK <detail>\n" followed, for backup, by exactly <detail> bytes of the
// database file, or "ERR <message>\n". Then the server closes the
// connection.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SocketName is the control socket's file name inside the data directory.
const SocketName = "frontwire.sock"

// SocketPath is the control socket of the Frontwire whose data directory is
// dataDir.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

const (
	// maxCommandLine bounds what the server reads before giving up on a
	// client: commands are single words.
	maxCommandLine = 256
	// commandTimeout bounds the wait for a client's command line.
	commandTimeout = 5 * time.Second
	// writeStall bounds one write to a client. A backup holds a bbolt read
	// transaction, which keeps the file from growing while it lasts, so a
	// client that stops reading must not hold it for long.
	writeStall = 30 * time.Second
)

// ErrNoDaemon means nothing answers on the control socket: Frontwire is not
// running, or is running with another data directory.
var ErrNoDaemon = errors.New("no running Frontwire answers on the control socket")

// ErrRefused means the running Frontwire answered with an error.
var ErrRefused = errors.New("running Frontwire refused")

// control serves the control socket until ctx is done. A socket it cannot
// create is logged, not fatal: the bot's work does not depend on it.
func (d *Daemon) control(ctx context.Context) error {
	path := SocketPath(d.Config.Bot.DataDir)
	ln, err := listenControl(path)
	if err != nil {
		d.log.Error("control socket unavailable; bot backup will work only while Frontwire is stopped", "path", path, "err", err)
		return nil
	}
	d.log.Info("control socket listening", "path", path)

	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	stopped := make(chan struct{})
	go func() {
		<-ctx.Done()
		// Closing the listener ends Accept; closing the connections ends
		// any backup in flight, whose read transaction must finish before
		// the database can be closed.
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		close(stopped)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				// Out of file descriptors or the like: the socket stays,
				// try again shortly rather than spin.
				d.log.Error("control socket accept", "err", err)
				select {
				case <-ctx.Done():
				case <-d.clk.After(100 * time.Millisecond):
				}
				continue
			}
			<-stopped
			wg.Wait()
			_ = os.Remove(path)
			return nil
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			continue
		}
		conns[c] = struct{}{}
		wg.Add(1)
		mu.Unlock()
		go func() {
			defer wg.Done()
			d.serveControl(c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

// listenControl binds the socket at path, replacing a stale one left by a
// bot that did not stop cleanly (this process holds the database lock, so
// no other bot is using it), and restricts it to the owner.
func listenControl(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; remove it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict socket: %w", err)
	}
	return ln, nil
}

// stallWriter gives each write its own deadline, so a long backup to a
// reading client goes on while a stalled one is cut off.
type stallWriter struct{ c net.Conn }

func (w stallWriter) Write(p []byte) (int, error) {
	if err := w.c.SetWriteDeadline(time.Now().Add(writeStall)); err != nil {
		return 0, err
	}
	return w.c.Write(p)
}

func (d *Daemon) serveControl(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(commandTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, maxCommandLine)).ReadString('\n')
	if err != nil {
		fmt.Fprintf(stallWriter{c}, "ERR send one command line\n")
		return
	}
	w := bufio.NewWriterSize(stallWriter{c}, 64<<10)
	defer w.Flush()
	switch cmd := strings.TrimSpace(line); cmd {
	case "ping":
		fmt.Fprintf(w, "OK %s\n", d.DB.Path())
	case "backup":
		start := time.Now()
		n, err := d.DB.Snapshot(w, func(size int64) error {
			_, err := fmt.Fprintf(w, "OK %d\n", size)
			return err
		})
		if err != nil {
			// The header may already be out; the client then sees a short
			// stream and discards it.
			d.log.Error("backup over control socket", "err", err, "bytes", n)
			return
		}
		if err := w.Flush(); err != nil {
			d.log.Error("backup over control socket", "err", err, "bytes", n)
			return
		}
		d.log.Info("backup streamed", "bytes", n, "took", time.Since(start).Round(time.Millisecond))
	default:
		fmt.Fprintf(w, "ERR unknown command %q (known: ping, backup)\n", cmd)
	}
}

// dialControl connects to the socket and sends cmd. The returned func
// closes the connection.
func dialControl(ctx context.Context, socket, cmd string) (*bufio.Reader, func(), error) {
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "unix", socket)
	if err != nil {
		// No socket file, or a stale one with nobody listening behind it.
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, nil, fmt.Errorf("%s: %w", socket, ErrNoDaemon)
		}
		return nil, nil, fmt.Errorf("connect to %s: %w", socket, err)
	}
	// A cancelled context ends a read or write in flight.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	closeConn := func() {
		stop()
		c.Close()
	}
	if _, err := fmt.Fprintf(c, "%s\n", cmd); err != nil {
		closeConn()
		return nil, nil, fmt.Errorf("send %s to %s: %w", cmd, socket, err)
	}
	return bufio.NewReaderSize(c, 64<<10), closeConn, nil
}

// status reads the "OK …" or "ERR …" line.
func status(r *bufio.Reader, socket string) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read answer from %s: %w", socket, err)
	}
	line = strings.TrimRight(line, "\n")
	if msg, ok := strings.CutPrefix(line, "ERR "); ok {
		return "", fmt.Errorf("%w: %s", ErrRefused, msg)
	}
	detail, ok := strings.CutPrefix(line, "OK ")
	if !ok {
		return "", fmt.Errorf("%s answered %q: not a Frontwire control socket", socket, line)
	}
	return detail, nil
}

// Ping asks the Frontwire behind socket whether it is there, and returns
// the path of the database it holds.
func Ping(ctx context.Context, socket string) (string, error) {
	r, closeConn, err := dialControl(ctx, socket, "ping")
	if err != nil {
		return "", err
	}
	defer closeConn()
	return status(r, socket)
}

// RequestBackup asks the Frontwire behind socket for a consistent copy of
// its database and writes it to w. It returns the bytes written, and fails
// unless the whole announced copy arrived.
func RequestBackup(ctx context.Context, socket string, w io.Writer) (int64, error) {
	r, closeConn, err := dialControl(ctx, socket, "backup")
	if err != nil {
		return 0, err
	}
	defer closeConn()
	detail, err := status(r, socket)
	if err != nil {
		return 0, err
	}
	size, err := strconv.ParseInt(detail, 10, 64)
	if err != nil || size <= 0 {
		return 0, fmt.Errorf("%s announced a backup of %q bytes: not a Frontwire control socket", socket, detail)
	}
	n, err := io.CopyN(w, r, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return n, fmt.Errorf("backup from %s cut short after %d of %d bytes", socket, n, size)
		}
		return n, fmt.Errorf("backup from %s after %d of %d bytes: %w", socket, n, size, err)
	}
	return n, nil
}
