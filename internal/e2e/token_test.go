package e2e

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/chat/telegram/telegramtest"
)

// secretToken is distinctive enough that any trace of it in output is a
// leak, including its halves.
const secretToken = "987654321:AAFrontwireSecretE2eTokenZq7Xv"

// leaks reports which parts of the token appear in out.
func leaks(out string) []string {
	var found []string
	id, secret, _ := strings.Cut(secretToken, ":")
	for _, s := range []string{secretToken, secret, id + ":" + secret[:8], url.PathEscape(secretToken)} {
		if strings.Contains(out, s) {
			found = append(found, s)
		}
	}
	return found
}

// TestTokenNeverPrinted runs the bot through failure paths with a
// distinctive token, in the file and in the environment, and greps
// everything it printed for the token.
func TestTokenNeverPrinted(t *testing.T) {
	// A fake that knows the token, behind a proxy the test can cut.
	tg := telegramtest.NewServer(t, telegramtest.Options{Token: secretToken})
	target, _ := url.Parse(tg.URL())
	var down atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	// The proxy reports the bot's cancelled long polls; they are expected.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			// A network failure: the connection closes without an answer.
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer cut.Close()
	// A fake that knows another token: every call answers 401.
	other := telegramtest.NewServer(t, telegramtest.Options{Token: "111:other"})
	// A proxy's error page instead of JSON.
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway " + r.URL.Path + "</body></html>"))
	}))
	defer html.Close()
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name     string
		apiURL   string
		viaEnv   bool
		startErr bool // the bot must refuse to start
		midRun   func(t *testing.T, p *proc)
	}{
		{name: "401 from the API", apiURL: other.URL(), startErr: true},
		{name: "401 from the API, token from env", apiURL: other.URL(), viaEnv: true, startErr: true},
		{name: "connection refused", apiURL: closedURL, startErr: true},
		{name: "HTML error page", apiURL: html.URL, startErr: true},
		{name: "bad api_url", apiURL: "http://%zz", startErr: true},
		{name: "network drops while running", apiURL: cut.URL, viaEnv: true, midRun: func(t *testing.T, p *proc) {
			if err := tg.WaitPolling(30 * time.Second); err != nil {
				t.Fatalf("bot never polled: %v\n%s", err, p.out.String())
			}
			calls := tg.Calls("getUpdates")
			down.Store(true)
			// The long poll in flight is cut too.
			cut.CloseClientConnections()
			// Cut connections until the bot has logged a failed poll and
			// retried (the retry goes through the cut proxy too).
			deadline := time.After(30 * time.Second)
			for !strings.Contains(p.out.String(), "getUpdates failed") {
				select {
				case <-deadline:
					t.Fatalf("no failed poll logged:\n%s", p.out.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
			down.Store(false)
			if err := tg.WaitCalls("getUpdates", calls+1, 30*time.Second); err != nil {
				t.Errorf("bot did not poll again after the network came back: %v", err)
			}
		}},
	}
	tried, leaked := 0, 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := botConfig{DataDir: filepath.Join(dir, "data"), Telegram: true, TelegramURL: tc.apiURL, Token: secretToken}
			var env []string
			if tc.viaEnv {
				cfg.Token = ""
				env = []string{"FRONTWIRE_TELEGRAM_TOKEN=" + secretToken}
			}
			cfgPath := cfg.write(t, dir)
			p := startBot(t, env, "run", "-config", cfgPath)
			if tc.startErr {
				err := p.wait(t, 60*time.Second)
				if err == nil || p.exitCode() != 1 {
					t.Errorf("exit: %v (code %d), want 1\n%s", err, p.exitCode(), p.out.String())
				}
			} else {
				tc.midRun(t, p)
				_ = p.cmd.Process.Signal(syscall.SIGTERM)
				if err := p.wait(t, 10*time.Second); err != nil {
					t.Errorf("exit after SIGTERM: %v", err)
				}
			}
			out := p.out.String()
			// check-config prints the configuration's problems and summary.
			chk := startBot(t, env, "check-config", "-config", cfgPath)
			_ = chk.wait(t, 10*time.Second)
			out += chk.out.String()
			if found := leaks(out); len(found) > 0 {
				leaked++
				t.Errorf("token printed (%q):\n%s", found, out)
			}
			if strings.Contains(out, "panic") {
				t.Errorf("panic:\n%s", out)
			}
			tried++
			t.Logf("bot said: %s", lastLine(p.out.String()))
		})
	}
	t.Logf("FIGURE token: failure paths tried=%d, runs whose output contained the token=%d", tried, leaked)
}
