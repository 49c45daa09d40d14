package subscriptions_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// runtimeAdmin is the same thin glue the daemon uses: sources.Runtime's
// refusals become SourceErrors.
type runtimeAdmin struct{ rt *sources.Runtime }

func (a runtimeAdmin) AddSource(ctx context.Context, rawURL, name, by string) (string, error) {
	got, err := a.rt.Add(ctx, sources.AddRequest{URL: rawURL, Name: name, By: by})
	var re *sources.RefusedError
	if errors.As(err, &re) {
		return "", &subscriptions.SourceError{Reason: re.Error()}
	}
	return got.Source.Name, err
}

func (a runtimeAdmin) RemoveSource(ctx context.Context, name string) (string, error) {
	got, err := a.rt.Remove(ctx, name)
	var re *sources.RefusedError
	if errors.As(err, &re) {
		return "", &subscriptions.SourceError{Reason: re.Error()}
	}
	return got.Name, err
}

const testFeed = `<?xml version="1.0"?><rss version="2.0"><channel><title>Test Wire</title>
<item><guid>1</guid><title>Envoy lands</title><link>https://news.example/1</link></item></channel></rss>`

func TestAdminSourceCommands(t *testing.T) {
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write([]byte(testFeed))
	}))
	defer feed.Close()
	db, err := storage.Open(filepath.Join(t.TempDir(), "frontwire.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Two runtimes over one store: the real SSRF-guarded client, and a
	// plain one for the loopback test feed (as allow_private_sources
	// would).
	guarded := &sources.Runtime{Store: db, Fetcher: sources.NewFetcher(sources.NewHTTPClient(false), "test", nil),
		Configured: []config.Source{{Name: "Configured", URL: "https://configured.example/feed"}}}
	open := &sources.Runtime{Store: db, Fetcher: sources.NewFetcher(&http.Client{Timeout: 5 * time.Second}, "test", nil),
		Configured: guarded.Configured, AllowPrivate: true}
	newSvc := func(rt *sources.Runtime) *subscriptions.Service {
		return subscriptions.NewService(subscriptions.ServiceConfig{
			Store: db, Index: subscriptions.NewIndex(), Clock: clock.NewFake(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)),
			CommandsPerMinute: 1000,
			Admins:            []string{"telegram:42", "discord:9000"},
			SourceAdmin:       runtimeAdmin{rt},
		})
	}
	strict, lax := newSvc(guarded), newSvc(open)
	group := chat.Address{Platform: "telegram", Chat: "-100"}
	do := func(svc *subscriptions.Service, from chat.Address, user, line string) string {
		name, args, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
		// CanManage is true throughout: a chat administrator is not
		// thereby an operator of the bot.
		return svc.Handle(context.Background(), chat.Command{From: from, User: user, Kind: chat.Group, Name: name, Args: args, CanManage: true}).Text
	}
	added := func() []string {
		list, err := db.AddedSources()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range list {
			out = append(out, a.Name)
		}
		return out
	}

	refusals := []struct {
		name string
		from chat.Address
		user string
		line string
	}{
		{"a group member", group, "7", "/addsource " + feed.URL + " Sneaky"},
		{"an admin's id on the other platform", chat.Address{Platform: "discord", Chat: "1"}, "42", "/addsource " + feed.URL},
		{"an anonymous channel post", chat.Address{Platform: "telegram", Chat: "-200"}, "", "/addsource " + feed.URL},
		{"a member removing", group, "7", "/removesource Configured"},
	}
	for _, tc := range refusals {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			got := do(lax, tc.from, tc.user, tc.line)
			if !strings.Contains(got, "Only the operators") {
				t.Errorf("reply %q, want the operators-only refusal", got)
			}
			if strings.Contains(got, "42") || strings.Contains(got, "9000") {
				t.Errorf("refusal %q names an admin", got)
			}
			if a := added(); len(a) != 0 {
				t.Errorf("stored %v after a refusal", a)
			}
		})
	}

	ssrf := []struct{ name, line, says string }{
		{"loopback", "/addsource " + feed.URL + " Local", "loopback or private"},
		{"cloud metadata", "/addsource http://169.254.169.254/latest/meta-data/ Meta", "loopback or private"},
		{"a file path", "/addsource /etc/passwd", "http:// or https://"},
		{"no argument", "/addsource", "Which feed?"},
	}
	for _, tc := range ssrf {
		t.Run("admin refused: "+tc.name, func(t *testing.T) {
			got := do(strict, group, "42", tc.line)
			if !strings.Contains(got, tc.says) {
				t.Errorf("reply %q, want it to say %q", got, tc.says)
			}
			if a := added(); len(a) != 0 {
				t.Errorf("stored %v", a)
			}
		})
	}

	t.Run("admin adds, clash refused, removes", func(t *testing.T) {
		if got := do(lax, group, "42", "/addsource "+feed.URL+"  Kyiv   Desk "); !strings.Contains(got, `Added source "Kyiv Desk"`) {
			t.Fatalf("reply %q", got)
		}
		if a := added(); len(a) != 1 || a[0] != "Kyiv Desk" {
			t.Fatalf("stored %v", a)
		}
		if got := do(lax, chat.Address{Platform: "discord", Chat: "5"}, "9000", "/addsource "+feed.URL+"?x=1 configured"); !strings.Contains(got, "Not added") || !strings.Contains(got, "already exists") {
			t.Errorf("clash with a configured name: %q", got)
		}
		if got := do(lax, group, "42", "/removesource Configured"); !strings.Contains(got, "config.toml") {
			t.Errorf("removing a configured source: %q", got)
		}
		if got := do(lax, group, "42", "/removesource kyiv desk"); !strings.Contains(got, `Removed source "Kyiv Desk"`) {
			t.Errorf("reply %q", got)
		}
		if a := added(); len(a) != 0 {
			t.Errorf("still stored: %v", a)
		}
	})
}
