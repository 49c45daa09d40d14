package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// watchWriter collects output and closes a channel once it has seen a
// string, so a test can wait for a log line instead of sleeping.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want []string // every one must appear
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, want := range w.want {
		if !strings.Contains(w.buf.String(), want) {
			return len(p), nil
		}
	}
	w.once.Do(func() { close(w.seen) })
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunServesHealthAndMetrics runs `bot run` in-process with a local feed
// file and an HTTP listener, probes it with `bot healthcheck`, scrapes
// /metrics with the Prometheus text parser, and stops it.
func TestRunServesHealthAndMetrics(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	feed, _ := filepath.Abs("testdata/preview.xml")
	cfgPath := filepath.Join(dir, "config.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[bot]
data_dir = %q
poll_schedule = "@every 1h"
[http]
listen = %q
[[sources]]
name = "Preview Wire"
url = %q
`, filepath.Join(dir, "data"), addr, feed)), 0o600)

	logs := &watchWriter{want: []string{"http listening", "poll processed"}, seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "-config", cfgPath}, noEnv, strings.NewReader(""), io.Discard, logs)
	}()
	select {
	case <-logs.seen:
	case err := <-done:
		t.Fatalf("bot run stopped: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("no listener and no first poll after 10 s:\n%s", logs)
	}

	if _, _, err := runCmd(t, "healthcheck", "-url", "http://"+addr+"/healthz"); err != nil {
		t.Errorf("healthcheck: %v", err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, name := range []string{"frontwire_build_info", "frontwire_outbox_depth", "frontwire_polls_total", "frontwire_poll_duration_seconds"} {
		if families[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// The first poll of the feed file is counted by source and outcome.
	if polls := families["frontwire_polls_total"]; polls != nil {
		found := false
		for _, m := range polls.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["source"] == "Preview Wire" && labels["outcome"] == "ok" && m.GetCounter().GetValue() >= 1 {
				found = true
			}
		}
		if !found {
			t.Errorf("no ok poll of Preview Wire in frontwire_polls_total: %v", polls)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("bot run: %v\n%s", err, logs)
	}
	if !strings.Contains(logs.String(), "frontwire stopped") {
		t.Errorf("no stop line in the log:\n%s", logs)
	}
	if _, _, err := runCmd(t, "healthcheck", "-url", "http://"+addr+"/healthz"); err == nil {
		t.Error("healthcheck passed after the bot stopped")
	}
}
