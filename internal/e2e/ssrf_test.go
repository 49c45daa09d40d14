package e2e

import (
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// TestPrivateSourcesRefused checks that, unless the configuration allows
// it, the bot fetches no source on a loopback, private or link-local
// address: literal addresses are refused at start-up, and a name that
// resolves to loopback ("vm" and "localhost" style names in /etc/hosts) is
// refused when dialled.
func TestPrivateSourcesRefused(t *testing.T) {
	t.Run("literal addresses refused by the configuration", func(t *testing.T) {
		for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/feed", "http://10.0.0.1/", "http://[::1]/", "http://localhost/"} {
			dir := t.TempDir()
			cfgPath := botConfig{DataDir: filepath.Join(dir, "data"), Sources: []source{{Name: "Inside", URL: u}}}.write(t, dir)
			p := startBot(t, nil, "run", "-config", cfgPath)
			err := p.wait(t, 10*time.Second)
			if err == nil || !strings.Contains(p.out.String(), "sources[0].url") || !strings.Contains(p.out.String(), "private") {
				t.Errorf("%s: %v\n%s", u, err, p.out.String())
			}
		}
	})
	t.Run("a name resolving to loopback is refused when dialled", func(t *testing.T) {
		addrs, err := net.LookupHost("vm")
		if err != nil || len(addrs) == 0 || !strings.HasPrefix(addrs[0], "127.") {
			t.Skipf("no host name resolving to loopback here (vm -> %v, %v)", addrs, err)
		}
		site := &feedtest.Site{}
		srv := httptest.NewServer(site)
		defer srv.Close()
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		dir := t.TempDir()
		cfgPath := botConfig{
			DataDir: filepath.Join(dir, "data"),
			Sources: []source{{Name: "Inside", URL: "http://vm:" + port + "/feed"}},
		}.write(t, dir)
		p := startBot(t, nil, "run", "-config", cfgPath)
		// The failed poll is logged; the feed server must never be asked.
		deadline := time.After(20 * time.Second)
		for !strings.Contains(p.out.String(), "poll failed") {
			select {
			case <-deadline:
				t.Fatalf("no failed poll logged:\n%s", p.out.String())
			case <-p.done:
				t.Fatalf("bot exited: %v\n%s", p.err, p.out.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.wait(t, 10*time.Second)
		fetched := site.Requests()
		if fetched != 0 {
			t.Errorf("the loopback feed was fetched %d times", fetched)
		}
		withDB(t, filepath.Join(dir, "data", "frontwire.db"), func(db *storage.DB) {
			st, err := db.SourceState("Inside")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(st.LastError, "private") {
				t.Errorf("last_error = %q, want it to name the private address", st.LastError)
			}
			t.Logf("FIGURE ssrf: http://vm:%s/feed (vm -> %s): fetched=%d last_error=%q", port, addrs[0], fetched, st.LastError)
		})
	})
}
