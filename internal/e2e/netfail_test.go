package e2e

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// TestDNSAndTLSFailures runs the bot with a source whose host name does
// not resolve (.invalid is reserved never to resolve) and one behind a TLS
// certificate the bot does not trust, beside a good source polled every
// second. Each bad source must get a clear last_error and back off; the
// good one must keep its schedule.
func TestDNSAndTLSFailures(t *testing.T) {
	if _, err := net.LookupHost("feeds.frontwire.invalid"); err == nil {
		t.Skip("this machine's resolver answers for .invalid")
	}
	good := &feedtest.Site{}
	goodSrv := listenOn(t, 240, good)
	var tlsHits atomic.Int32
	// On 127.0.0.1, for which httptest's certificate is valid: the
	// handshake fails only because no one the bot trusts signed it.
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tlsHits.Add(1)
		writeFeed(w, validFeed())
	}))
	// The server's own log would report every refused handshake.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	dir := t.TempDir()
	cfgPath := botConfig{
		DataDir: filepath.Join(dir, "data"), PollSchedule: "@every 1s", AllowPrivate: true,
		Sources: []source{
			{Name: "Nowhere", URL: "http://feeds.frontwire.invalid/rss"},
			{Name: "Untrusted", URL: tlsSrv.URL + "/rss"},
			{Name: "Good Wire", URL: goodSrv.URL},
		},
	}.write(t, dir)
	p := startBot(t, nil, "run", "-config", cfgPath)
	start := time.Now()
	for _, name := range []string{"Nowhere", "Untrusted"} {
		p.waitOutput(t, regexp.MustCompile(`poll failed" source="?`+name), 30*time.Second)
	}
	pollsBefore := good.Requests()
	// Five more polls of the good source, one a second: its schedule holds.
	since := time.Now()
	good.WaitRequests(t, pollsBefore+5, 20*time.Second)
	span := time.Since(since)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 15*time.Second); err != nil || p.exitCode() != 0 {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.out.String())
	}
	out := p.out.String()
	if strings.Contains(out, "panic") {
		t.Errorf("panic:\n%s", out)
	}
	if n := tlsHits.Load(); n != 0 {
		t.Errorf("the untrusted server served %d requests", n)
	}
	if span > 8*time.Second {
		t.Errorf("the good source took %s for 5 polls on a 1 s schedule", span)
	}
	withDB(t, filepath.Join(dir, "data", "frontwire.db"), func(db *storage.DB) {
		for _, c := range []struct {
			name string
			want *regexp.Regexp
		}{
			{"Nowhere", regexp.MustCompile(`no such host`)},
			{"Untrusted", regexp.MustCompile(`certificate signed by unknown authority`)},
		} {
			st, err := db.SourceState(c.name)
			if err != nil {
				t.Fatal(err)
			}
			backoff := st.NextPoll.Sub(st.LastAttempt)
			if !c.want.MatchString(st.LastError) {
				t.Errorf("%s: last_error %q does not match %s", c.name, st.LastError, c.want)
			}
			if st.Failures < 1 || backoff < 30*time.Second {
				t.Errorf("%s: %d failures, next poll %s after the attempt: no backoff", c.name, st.Failures, backoff)
			}
			t.Logf("FIGURE net-fail %s: failures=%d backoff=%s last_error=%q", c.name, st.Failures, backoff.Round(time.Second), st.LastError)
		}
		st, err := db.SourceState("Good Wire")
		if err != nil {
			t.Fatal(err)
		}
		if st.LastError != "" || st.Failures != 0 {
			t.Errorf("good source: %+v", st)
		}
	})
	total := good.Requests()
	t.Logf("FIGURE net-fail good source: 5 polls in %s (schedule @every 1s), %d polls in %s of run, last_error none",
		span.Round(time.Millisecond), total, time.Since(start).Round(time.Second))
}
