package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// opsConfig writes a configuration whose data directory is dir/data, with
// the local preview feed as its source plus extra TOML, and returns its
// path.
func opsConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	feed, err := filepath.Abs("testdata/preview.xml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf(`
[bot]
data_dir = %q
poll_schedule = "@every 1h"
[[sources]]
name = "Preview Wire"
url = %q
%s`, filepath.Join(dir, "data"), feed, extra)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func dbPathOf(cfgPath string) string {
	return filepath.Join(filepath.Dir(cfgPath), "data", "frontwire.db")
}

// startBot runs the real daemon in-process on the configuration, as `bot
// run` does, and returns once its control socket listens. stop ends it and
// closes its database.
func startBot(t *testing.T, cfgPath string) (d *daemon.Daemon, stop func()) {
	t.Helper()
	cfg, err := config.Load(cfgPath, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	logs := &watchWriter{want: []string{"control socket listening"}, seen: make(chan struct{})}
	d, err = daemon.New(context.Background(), daemon.Options{
		Config:    cfg,
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
		DBOptions: storage.Options{NoSync: true, Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-logs.seen:
	case err := <-done:
		t.Fatalf("the bot stopped: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("no control socket after 10 s:\n%s", logs)
	}
	return d, stop
}

// runIn runs the command line with stdin.
func runIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb strings.Builder
	err = run(context.Background(), args, noEnv, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func mkSub(platform, id, query string) *subscriptions.Subscription {
	return &subscriptions.Subscription{
		Chat: chat.Address{Platform: platform, Chat: id}, Query: query,
		CreatedBy: "u" + id, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// withDB opens the stopped bot's database, lets fn change it, and closes it.
func withDB(t *testing.T, path string, fn func(db *storage.DB)) {
	t.Helper()
	db, err := storage.Open(path, storage.Options{NoSync: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// queriesIn returns every query of the database file at path, sorted.
func queriesIn(t *testing.T, path string) []string {
	t.Helper()
	db, err := storage.Open(path, storage.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var qs []string
	if err := db.ForEachSubscription(func(s *subscriptions.Subscription) error {
		qs = append(qs, s.Query)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(qs)
	return qs
}

func TestBackupWhileRunningUnderLoad(t *testing.T) {
	dir := t.TempDir()
	cfgPath := opsConfig(t, dir, "")
	d, stop := startBot(t, cfgPath)

	// A file of some size, so that the copy streams while writes go on.
	bulk := make([]*subscriptions.Subscription, 20000)
	for i := range bulk {
		bulk[i] = mkSub("telegram", fmt.Sprint(i%500), fmt.Sprintf("bulk query %d", i))
	}
	if err := d.DB.AddSubscriptions(bulk); err != nil {
		t.Fatal(err)
	}

	// The load: subscriptions and source states committed one after
	// another until told to stop.
	var (
		mu        sync.Mutex
		committed []uint64
	)
	warm := make(chan struct{})
	quit := make(chan struct{})
	loadDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-quit:
				loadDone <- nil
				return
			default:
			}
			s := mkSub("discord", fmt.Sprint(i%7), fmt.Sprintf("load %d", i))
			if err := d.DB.AddSubscription(s); err != nil {
				loadDone <- err
				return
			}
			if err := d.DB.PutSourceState(storage.SourceState{Name: "Preview Wire", ItemsSeen: i, LastSuccess: time.Now()}); err != nil {
				loadDone <- err
				return
			}
			mu.Lock()
			committed = append(committed, s.ID)
			if len(committed) == 50 {
				close(warm)
			}
			mu.Unlock()
		}
	}()
	<-warm
	mu.Lock()
	before := slices.Clone(committed)
	mu.Unlock()

	out := filepath.Join(dir, "backup.db")
	stdout, stderr, err := runIn(t, "", "backup", "-config", cfgPath, out)
	mu.Lock()
	during := len(committed) - len(before)
	mu.Unlock()
	close(quit)
	if lerr := <-loadDone; lerr != nil {
		t.Fatalf("load: %v", lerr)
	}
	if err != nil {
		t.Fatalf("bot backup: %v\n%s", err, stderr)
	}
	t.Logf("%s(%d load commits finished while the backup ran)", stdout, during)
	if !strings.Contains(stdout, "from the running Frontwire") {
		t.Errorf("backup did not go through the running bot: %s", stdout)
	}
	if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}

	copyDB, err := storage.Open(out, storage.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer copyDB.Close()
	for _, id := range before {
		if _, err := copyDB.Subscription(id); err != nil {
			t.Fatalf("subscription %d, committed before the backup started, is missing: %v", id, err)
		}
	}
	c, err := copyDB.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if c.Subscriptions < len(bulk)+len(before) || c.Sources != 1 {
		t.Fatalf("backup counts %+v, want at least %d subscriptions and 1 source", c, len(bulk)+len(before))
	}
	if want := fmt.Sprintf("%d subscriptions", c.Subscriptions); !strings.Contains(stdout, want) {
		t.Errorf("output %q lacks %q", stdout, want)
	}

	// Once the bot is stopped the same command copies the file directly.
	stop()
	stdout, stderr, err = runIn(t, "", "backup", "-config", cfgPath, out)
	if err != nil {
		t.Fatalf("bot backup (stopped): %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "directly") {
		t.Errorf("stopped backup: %s", stdout)
	}
	if got, want := len(queriesIn(t, out)), len(bulk)+len(committed); got != want {
		t.Errorf("stopped backup holds %d subscriptions, want %d", got, want)
	}
}

func TestBackupErrors(t *testing.T) {
	dir := t.TempDir()
	cfgPath := opsConfig(t, dir, "")
	t.Run("no database yet", func(t *testing.T) {
		_, _, err := runIn(t, "", "backup", "-config", cfgPath, filepath.Join(dir, "b.db"))
		if err == nil || !strings.Contains(err.Error(), "no database at") {
			t.Fatalf("backup without a database: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "b.db")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a file was written: %v", err)
		}
	})
	t.Run("usage", func(t *testing.T) {
		_, _, err := runIn(t, "", "backup", "-config", cfgPath)
		if exitCode(err) != 2 {
			t.Fatalf("backup without FILE: %v, want exit 2", err)
		}
	})
}

func TestRestore(t *testing.T) {
	dir := t.TempDir()
	cfgPath := opsConfig(t, dir, "")
	dbPath := dbPathOf(cfgPath)
	withDB(t, dbPath, func(db *storage.DB) {
		for _, q := range []string{"Witkoff", "Ukraine peace"} {
			if err := db.AddSubscription(mkSub("telegram", "1", q)); err != nil {
				t.Fatal(err)
			}
		}
	})
	backup := filepath.Join(dir, "backup.db")
	if _, stderr, err := runIn(t, "", "backup", "-config", cfgPath, backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	withDB(t, dbPath, func(db *storage.DB) {
		if err := db.AddSubscription(mkSub("telegram", "1", "after the backup")); err != nil {
			t.Fatal(err)
		}
	})
	all := []string{"Ukraine peace", "Witkoff", "after the backup"}

	t.Run("refused while the bot runs", func(t *testing.T) {
		d, stop := startBot(t, cfgPath)
		_, _, err := runIn(t, "", "restore", "-config", cfgPath, "-force", backup)
		if err == nil || !strings.Contains(err.Error(), "stop Frontwire first") {
			t.Fatalf("restore while running: %v", err)
		}
		if c, err := d.DB.Counts(); err != nil || c.Subscriptions != 3 {
			t.Fatalf("the running bot's database: %+v, %v", c, err)
		}
		stop()
	})
	t.Run("answer other than yes changes nothing", func(t *testing.T) {
		stdout, _, err := runIn(t, "no\n", "restore", "-config", cfgPath, backup)
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "cancelled") {
			t.Fatalf("restore answered no: %v", err)
		}
		if !strings.Contains(stdout, "3 subscriptions") || !strings.Contains(stdout, "2 subscriptions") {
			t.Errorf("the question does not show both sides: %q", stdout)
		}
		if got := queriesIn(t, dbPath); !slices.Equal(got, all) {
			t.Fatalf("database changed: %v", got)
		}
	})
	t.Run("refuses a file that is not a backup", func(t *testing.T) {
		junk := filepath.Join(dir, "junk.db")
		os.WriteFile(junk, []byte(strings.Repeat("not bbolt ", 1000)), 0o600)
		_, _, err := runIn(t, "", "restore", "-config", cfgPath, "-force", junk)
		if err == nil || !strings.Contains(err.Error(), "cannot be restored") {
			t.Fatalf("restore of junk: %v", err)
		}
		if got := queriesIn(t, dbPath); !slices.Equal(got, all) {
			t.Fatalf("database changed: %v", got)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		stdout, stderr, err := runIn(t, "yes\n", "restore", "-config", cfgPath, backup)
		if err != nil {
			t.Fatalf("restore: %v\n%s", err, stderr)
		}
		if got := queriesIn(t, dbPath); !slices.Equal(got, []string{"Ukraine peace", "Witkoff"}) {
			t.Fatalf("restored database holds %v", got)
		}
		baks, _ := filepath.Glob(dbPath + ".bak-*")
		if len(baks) != 1 {
			t.Fatalf("kept files: %v", baks)
		}
		if !strings.Contains(stdout, baks[0]) {
			t.Errorf("output does not name the kept file %s: %s", baks[0], stdout)
		}
		if got := queriesIn(t, baks[0]); !slices.Equal(got, all) {
			t.Fatalf("kept file holds %v", got)
		}
		// The restored bot starts and serves its subscriptions.
		d, stop := startBot(t, cfgPath)
		defer stop()
		if n := d.Index.Len(); n != 2 {
			t.Fatalf("restored bot indexed %d subscriptions, want 2", n)
		}
	})
}

// export runs export-subscriptions into a file and decodes it.
func export(t *testing.T, cfgPath, out string) exportFile {
	t.Helper()
	if _, stderr, err := runIn(t, "", "export-subscriptions", "-config", cfgPath, "-o", out); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var f exportFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, raw)
	}
	return f
}

func TestExportImportSubscriptions(t *testing.T) {
	srcDir := t.TempDir()
	srcCfg := opsConfig(t, srcDir, "")
	paused := mkSub("telegram", "1", "Kushner OR negotiat*")
	paused.Paused, paused.PausedBy = true, subscriptions.PausedByUser
	threaded := mkSub("discord", "9", `"peace plan" -rumour`)
	threaded.Chat.Thread = "77"
	originals := []*subscriptions.Subscription{mkSub("telegram", "1", "Witkoff"), paused, threaded}
	withDB(t, dbPathOf(srcCfg), func(db *storage.DB) {
		if err := db.AddSubscriptions(originals); err != nil {
			t.Fatal(err)
		}
	})

	stopped := export(t, srcCfg, filepath.Join(srcDir, "stopped.json"))
	if stopped.Format != "frontwire-subscriptions" || stopped.Version != 1 || stopped.Exported.IsZero() {
		t.Fatalf("envelope: %+v", stopped)
	}
	if len(stopped.Subscriptions) != 3 {
		t.Fatalf("exported %d subscriptions, want 3", len(stopped.Subscriptions))
	}

	t.Run("while running, through a snapshot", func(t *testing.T) {
		_, stop := startBot(t, srcCfg)
		defer stop()
		running := export(t, srcCfg, filepath.Join(srcDir, "running.json"))
		if !slices.Equal(running.Subscriptions, stopped.Subscriptions) {
			t.Fatalf("running export differs:\n%+v\n%+v", running.Subscriptions, stopped.Subscriptions)
		}
	})

	dstDir := t.TempDir()
	dstCfg := opsConfig(t, dstDir, "")
	file := filepath.Join(srcDir, "stopped.json")
	t.Run("import into a fresh instance", func(t *testing.T) {
		stdout, stderr, err := runIn(t, "", "import-subscriptions", "-config", dstCfg, file)
		if err != nil {
			t.Fatalf("import: %v\n%s", err, stderr)
		}
		if !strings.Contains(stdout, "imported 3, skipped 0 (already there), invalid 0") {
			t.Fatalf("import said %q", stdout)
		}
		again := export(t, dstCfg, filepath.Join(dstDir, "again.json"))
		if !slices.Equal(again.Subscriptions, stopped.Subscriptions) {
			t.Fatalf("imported subscriptions differ:\n%+v\n%+v", again.Subscriptions, stopped.Subscriptions)
		}
	})
	t.Run("importing again skips every one", func(t *testing.T) {
		stdout, _, err := runIn(t, "", "import-subscriptions", "-config", dstCfg, file)
		if err != nil || !strings.Contains(stdout, "imported 0, skipped 3") {
			t.Fatalf("second import: %q, %v", stdout, err)
		}
	})
	t.Run("invalid entries are reported by index, the rest imported", func(t *testing.T) {
		f := stopped
		f.Subscriptions = append(slices.Clone(f.Subscriptions),
			exportSub{Chat: chat.Address{Platform: "telegram", Chat: "2"}, Query: "Witkoff )"},
			exportSub{Chat: chat.Address{Platform: "telegram"}, Query: "Moscow"},
			exportSub{Chat: chat.Address{Platform: "telegram", Chat: "2"}, Query: "-rumour"},
			exportSub{Chat: chat.Address{Platform: "telegram", Chat: "2"}, Query: "Zelensky"},
			// The same query as #0 in its parser-normal form: a duplicate.
			exportSub{Chat: chat.Address{Platform: "telegram", Chat: "1"}, Query: "  Witkoff "},
		)
		raw, _ := json.Marshal(f)
		mixed := filepath.Join(dstDir, "mixed.json")
		os.WriteFile(mixed, raw, 0o600)
		stdout, _, err := runIn(t, "", "import-subscriptions", "-config", dstCfg, mixed)
		if exitCode(err) != 1 {
			t.Fatalf("import with invalid entries: %v, want exit 1", err)
		}
		for _, want := range []string{"imported 1, skipped 4 (already there), invalid 3", "subscriptions[3]: query", "subscriptions[4]: chat", "subscriptions[5]: query"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
		if got := queriesIn(t, dbPathOf(dstCfg)); !slices.Contains(got, "Zelensky") || len(got) != 4 {
			t.Fatalf("after the mixed import: %v", got)
		}
	})
	t.Run("refused while the bot runs", func(t *testing.T) {
		_, stop := startBot(t, dstCfg)
		defer stop()
		_, _, err := runIn(t, "", "import-subscriptions", "-config", dstCfg, file)
		if err == nil || !strings.Contains(err.Error(), "stop Frontwire first") {
			t.Fatalf("import while running: %v", err)
		}
	})
	for _, tc := range []struct{ name, body, want string }{
		{"not JSON", "hello", "not a subscriptions export"},
		{"other format", `{"format":"opml","version":1}`, `format "opml"`},
		{"newer version", `{"format":"frontwire-subscriptions","version":2}`, "version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dstDir, "bad.json")
			os.WriteFile(p, []byte(tc.body), 0o600)
			_, _, err := runIn(t, "", "import-subscriptions", "-config", dstCfg, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSourcesCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := opsConfig(t, dir, `
[[sources]]
name = "Secret Wire"
url = "https://reader:hunter2@feeds.example/rss?token=s3cr3t&lang=en"
`)
	next := time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)
	ok := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	withDB(t, dbPathOf(cfgPath), func(db *storage.DB) {
		if err := db.AddSource(storage.AddedSource{Name: "Added Wire", URL: "https://added.example/rss?access_token=t0k", By: "cli"}); err != nil {
			t.Fatal(err)
		}
		for _, s := range []storage.SourceState{
			{Name: "Preview Wire", LastSuccess: ok, NextPoll: next, ItemsSeen: 12},
			{Name: "Secret Wire", LastError: "HTTP 503 Service Unavailable", Failures: 3, NextPoll: next},
			{Name: "Old Wire", URL: "https://old.example/feed?api_key=k", ItemsSeen: 40},
		} {
			if err := db.PutSourceState(s); err != nil {
				t.Fatal(err)
			}
		}
	})
	check := func(t *testing.T) {
		stdout, stderr, err := runIn(t, "", "sources", "-config", cfgPath, "-json")
		if err != nil {
			t.Fatalf("sources -json: %v\n%s", err, stderr)
		}
		for _, secret := range []string{"hunter2", "s3cr3t", "api_key=k", "t0k"} {
			if strings.Contains(stdout, secret) {
				t.Errorf("output shows the secret %q:\n%s", secret, stdout)
			}
		}
		var lines []sourceLine
		if err := json.Unmarshal([]byte(stdout), &lines); err != nil {
			t.Fatalf("sources -json: %v\n%s", err, stdout)
		}
		if len(lines) != 4 {
			t.Fatalf("%d sources, want 4: %+v", len(lines), lines)
		}
		if l := lines[2]; l.Name != "Added Wire" || !l.Added || l.Configured {
			t.Errorf("third line %+v, want the added source", l)
		}
		byName := map[string]sourceLine{}
		for _, l := range lines {
			byName[l.Name] = l
		}
		if l := byName["Preview Wire"]; !l.Configured || l.LastSuccess == nil || !l.LastSuccess.Equal(ok) || l.ItemsSeen != 12 {
			t.Errorf("Preview Wire: %+v", l)
		}
		sw := byName["Secret Wire"]
		if sw.Failures != 3 || sw.LastError != "HTTP 503 Service Unavailable" || sw.LastSuccess != nil || sw.NextPoll == nil || !sw.NextPoll.Equal(next) {
			t.Errorf("Secret Wire: %+v", sw)
		}
		if want := "https://xxxxx@feeds.example/rss?lang=en&token=xxxxx"; sw.URL != want {
			t.Errorf("Secret Wire URL %q, want %q", sw.URL, want)
		}
		if l := byName["Old Wire"]; l.Configured || l.ItemsSeen != 40 {
			t.Errorf("Old Wire: %+v", l)
		}

		stdout, _, err = runIn(t, "", "sources", "-config", cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"NAME", "Secret Wire", "HTTP 503 Service Unavailable", "2026-05-01 12:30:00Z", "never", "Added Wire (added)", "Old Wire (not in config)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("table lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(stdout, "hunter2") {
			t.Errorf("table shows the password:\n%s", stdout)
		}
		t.Logf("bot sources:\n%s", stdout)
	}
	t.Run("never run", func(t *testing.T) {
		empty := opsConfig(t, t.TempDir(), "")
		stdout, stderr, err := runIn(t, "", "sources", "-config", empty)
		if err != nil {
			t.Fatalf("sources without a database: %v", err)
		}
		if !strings.Contains(stdout, "Preview Wire") || !strings.Contains(stdout, "never") || !strings.Contains(stderr, "no source has been polled yet") {
			t.Fatalf("sources without a database:\n%s\n%s", stdout, stderr)
		}
	})
	t.Run("bot stopped", check)
	t.Run("bot running", func(t *testing.T) {
		// A config with an http source the daemon would try to fetch:
		// the first poll fails fast (no network), which only changes
		// Secret Wire's state, so check the stable parts.
		_, stop := startBot(t, cfgPath)
		defer stop()
		stdout, stderr, err := runIn(t, "", "sources", "-config", cfgPath, "-json")
		if err != nil {
			t.Fatalf("sources while running: %v\n%s", err, stderr)
		}
		if !strings.Contains(stdout, `"name": "Old Wire"`) || strings.Contains(stdout, "hunter2") {
			t.Fatalf("sources while running:\n%s", stdout)
		}
	})
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://feeds.example/rss", "https://feeds.example/rss"},
		{"https://u:p@feeds.example/rss", "https://xxxxx@feeds.example/rss"},
		{"https://TOKEN@feeds.example/rss", "https://xxxxx@feeds.example/rss"},
		{"https://feeds.example/rss?Key=1&q=ukraine", "https://feeds.example/rss?Key=xxxxx&q=ukraine"},
		{"/srv/feeds/local.xml", "/srv/feeds/local.xml"},
		{"https://bad host/%zz", "(unreadable URL)"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := redactURL(tc.in); got != tc.want {
				t.Fatalf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
