package main

// Operations from the command line: backup, restore, moving subscriptions
// between instances, and the health of each source.
//
// bbolt locks the database file exclusively while the bot runs, so these
// commands first try to open it themselves with a short wait; when a running
// bot holds it, the reading commands ask that bot for a consistent snapshot
// over its control socket (internal/daemon/control.go), and the writing
// commands refuse, since two writers would need the bot to reload.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

// lockWait is how long an operation waits for the database lock before
// concluding that a bot is running.
const lockWait = 300 * time.Millisecond

// backupTimeout bounds a backup over the control socket.
const backupTimeout = 10 * time.Minute

// The envelope of `bot export-subscriptions`.
const (
	exportFormat  = "frontwire-subscriptions"
	exportVersion = 1
)

// opsPaths are the files an operation works on, from the configuration.
type opsPaths struct {
	db, socket string
}

func loadOpsPaths(cfgFlag string, getenv func(string) string) (config.Config, opsPaths, error) {
	cfg, err := loadConfig(cfgFlag, getenv)
	if err != nil {
		return cfg, opsPaths{}, err
	}
	return cfg, opsPaths{
		db:     filepath.Join(cfg.Bot.DataDir, "frontwire.db"),
		socket: daemon.SocketPath(cfg.Bot.DataDir),
	}, nil
}

// parseOps parses an operation's flags and returns its positional
// arguments; want is how many it takes.
func parseOps(fs *flag.FlagSet, args []string, want int, usage string) ([]string, error) {
	fs.Usage = func() { fmt.Fprintf(fs.Output(), "usage: %s\n", usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return nil, &exitError{code: 2}
	}
	if fs.NArg() != want {
		fs.Usage()
		return nil, &exitError{code: 2, err: fmt.Errorf("usage: %s", usage)}
	}
	return fs.Args(), nil
}

// errNoDatabase means data_dir holds no database yet.
var errNoDatabase = errors.New("no database")

// errRunning is the answer of the commands that need the bot stopped.
func errRunning(db string) error {
	return &exitError{code: 1, err: fmt.Errorf("stop Frontwire first: it is running and holds %s (for example `docker compose stop frontwire`), then run this again", db)}
}

// copyDatabase writes a consistent copy of the database to w: directly when
// no bot holds it, else through the running bot's control socket. It
// returns how it was taken.
func copyDatabase(ctx context.Context, p opsPaths, w io.Writer) (via string, err error) {
	db, err := storage.Open(p.db, storage.Options{ReadOnly: true, Timeout: lockWait})
	if err == nil {
		defer db.Close()
		if _, err := db.Backup(w); err != nil {
			return "", err
		}
		return "directly (Frontwire is stopped)", nil
	}
	if !errors.Is(err, storage.ErrLocked) {
		if _, statErr := os.Stat(p.db); errors.Is(statErr, os.ErrNotExist) {
			return "", fmt.Errorf("%w at %s: check data_dir in the configuration", errNoDatabase, p.db)
		}
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, backupTimeout)
	defer cancel()
	if _, err := daemon.RequestBackup(ctx, p.socket, w); err != nil {
		if errors.Is(err, daemon.ErrNoDaemon) {
			return "", fmt.Errorf("%s is locked by another process, but no Frontwire answers on %s: %w", p.db, p.socket, err)
		}
		return "", err
	}
	return "from the running Frontwire", nil
}

// openSnapshot opens the database read-only for reading: the file itself
// when the bot is stopped, else a snapshot taken through the bot into a
// private temporary file. close releases it and removes the snapshot.
func openSnapshot(ctx context.Context, p opsPaths) (db *storage.DB, closeFn func(), err error) {
	db, err = storage.Open(p.db, storage.Options{ReadOnly: true, Timeout: lockWait})
	if err == nil {
		return db, func() { db.Close() }, nil
	}
	if !errors.Is(err, storage.ErrLocked) {
		if _, statErr := os.Stat(p.db); errors.Is(statErr, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w at %s: check data_dir in the configuration", errNoDatabase, p.db)
		}
		return nil, nil, err
	}
	// CreateTemp makes the file 0600: the snapshot holds who follows what.
	f, err := os.CreateTemp("", "frontwire-snapshot-*.db")
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	remove := func() { os.Remove(f.Name()) }
	_, err = copyDatabase(ctx, p, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	db, err = storage.Open(f.Name(), storage.Options{ReadOnly: true, Timeout: lockWait})
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	return db, func() { db.Close(); remove() }, nil
}

// writeFileAtomic writes through fill into path+".tmp", lets check inspect
// the finished temporary file, then renames it over path; nothing is left
// at path when any step fails.
func writeFileAtomic(path string, fill func(io.Writer) error, check func(tmp string) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && check != nil {
		err = check(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func describeCounts(c storage.Counts) string {
	return fmt.Sprintf("%d subscriptions, %d outbox messages, %d sources", c.Subscriptions, c.Outbox, c.Sources)
}

// runBackup is `bot backup [-config PATH] FILE`.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	rest, err := parseOps(fs, args, 1, "bot backup [-config PATH] FILE")
	if err != nil {
		return err
	}
	out := rest[0]
	_, p, err := loadOpsPaths(*cfgFlag, getenv)
	if err != nil {
		return err
	}
	var via string
	var info storage.FileInfo
	err = writeFileAtomic(out, func(w io.Writer) error {
		var err error
		via, err = copyDatabase(ctx, p, w)
		return err
	}, func(tmp string) error {
		// A copy that does not open is no backup: keep whatever FILE was.
		var err error
		info, err = storage.Inspect(tmp, lockWait)
		if err != nil {
			return fmt.Errorf("the copy does not open, nothing written: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup to %s: %w", out, err)
	}
	fmt.Fprintf(stdout, "backed up %s %s to %s: %d bytes, %s\n", p.db, via, out, info.Size, describeCounts(info.Counts))
	return nil
}

// runRestore is `bot restore [-config PATH] [-force] FILE`.
func runRestore(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	force := fs.Bool("force", false, "replace the current database without asking")
	rest, err := parseOps(fs, args, 1, "bot restore [-config PATH] [-force] FILE")
	if err != nil {
		return err
	}
	from := rest[0]
	_, p, err := loadOpsPaths(*cfgFlag, getenv)
	if err != nil {
		return err
	}
	in, err := storage.Inspect(from, lockWait)
	switch {
	case errors.Is(err, storage.ErrSchemaTooNew):
		return &exitError{code: 1, err: fmt.Errorf("%s was written by a newer Frontwire; install that version (or newer) before restoring it: %w", from, err)}
	case err != nil:
		return &exitError{code: 1, err: fmt.Errorf("%s cannot be restored: %w", from, err)}
	}
	cur, err := storage.Inspect(p.db, lockWait)
	exists := true
	switch {
	case errors.Is(err, storage.ErrLocked):
		return errRunning(p.db)
	case errors.Is(err, os.ErrNotExist):
		exists = false
	case err != nil:
		// A damaged or newer current file is still moved aside, not lost.
		fmt.Fprintf(stderr, "bot: the current database does not open (%v); it will be kept aside\n", err)
	}
	if exists && !*force {
		fmt.Fprintf(stdout, "Replace %s (%s)\n   with %s (%s)?\nThe current file is kept as a .bak copy. Type yes to go on: ", p.db, describeCounts(cur.Counts), from, describeCounts(in.Counts))
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(stdout)
			return &exitError{code: 1, err: errors.New("restore cancelled, nothing changed (-force skips the question)")}
		}
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	bak, err := storage.Replace(p.db, from, stamp, lockWait)
	if errors.Is(err, storage.ErrLocked) {
		return errRunning(p.db)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s: %s\n", p.db, from, describeCounts(in.Counts))
	if bak != "" {
		fmt.Fprintf(stdout, "the previous database is kept as %s\n", bak)
	}
	return nil
}

// exportFile is the JSON of `bot export-subscriptions`: a versioned
// envelope, so that a later Frontwire can read older files and an older one
// refuses newer files instead of misreading them.
type exportFile struct {
	Format        string      `json:"format"`
	Version       int         `json:"version"`
	Exported      time.Time   `json:"exported"`
	Subscriptions []exportSub `json:"subscriptions"`
}

// exportSub is one subscription in an export; IDs are not carried, the
// importing instance assigns its own.
type exportSub struct {
	Chat      chat.Address `json:"chat"`
	Query     string       `json:"query"`
	Paused    bool         `json:"paused"`
	PausedBy  string       `json:"paused_by,omitempty"`
	CreatedBy string       `json:"created_by,omitempty"`
	Created   time.Time    `json:"created"`
}

// runExportSubscriptions is `bot export-subscriptions [-config PATH] [-o FILE]`.
func runExportSubscriptions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export-subscriptions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	outFlag := fs.String("o", "", "write to FILE instead of standard output")
	if _, err := parseOps(fs, args, 0, "bot export-subscriptions [-config PATH] [-o FILE]"); err != nil {
		return err
	}
	_, p, err := loadOpsPaths(*cfgFlag, getenv)
	if err != nil {
		return err
	}
	db, closeDB, err := openSnapshot(ctx, p)
	if err != nil {
		return err
	}
	defer closeDB()
	file := exportFile{Format: exportFormat, Version: exportVersion, Exported: time.Now().UTC(), Subscriptions: []exportSub{}}
	err = db.ForEachSubscription(func(s *subscriptions.Subscription) error {
		file.Subscriptions = append(file.Subscriptions, exportSub{
			Chat: s.Chat, Query: s.Query, Paused: s.Paused, PausedBy: s.PausedBy,
			CreatedBy: s.CreatedBy, Created: s.Created,
		})
		return nil
	})
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(file)
	}
	if *outFlag == "" {
		return write(stdout)
	}
	if err := writeFileAtomic(*outFlag, write, nil); err != nil {
		return fmt.Errorf("export to %s: %w", *outFlag, err)
	}
	fmt.Fprintf(stdout, "exported %d subscriptions to %s\n", len(file.Subscriptions), *outFlag)
	return nil
}

// dupKey is what makes two subscriptions the same: the chat (not the
// thread, as a chat owns its subscriptions) and the query in the parser's
// normal form, the rule /subscribe applies.
func dupKey(a chat.Address, query string) string {
	if q, err := subscriptions.Parse(query); err == nil {
		query = q.String()
	}
	return a.Key() + "\x00" + query
}

// runImportSubscriptions is `bot import-subscriptions [-config PATH] FILE`.
func runImportSubscriptions(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import-subscriptions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	rest, err := parseOps(fs, args, 1, "bot import-subscriptions [-config PATH] FILE")
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(rest[0])
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	var file exportFile
	if err := json.Unmarshal(raw, &file); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s is not a subscriptions export: %w", rest[0], err)}
	}
	if file.Format != exportFormat {
		return &exitError{code: 1, err: fmt.Errorf("%s has format %q, want %q (made by bot export-subscriptions)", rest[0], file.Format, exportFormat)}
	}
	if file.Version < 1 || file.Version > exportVersion {
		return &exitError{code: 1, err: fmt.Errorf("%s is version %d of the export format; this Frontwire reads version %d: upgrade Frontwire", rest[0], file.Version, exportVersion)}
	}
	_, p, err := loadOpsPaths(*cfgFlag, getenv)
	if err != nil {
		return err
	}
	db, err := storage.Open(p.db, storage.Options{Timeout: lockWait})
	if errors.Is(err, storage.ErrLocked) {
		return errRunning(p.db)
	}
	if err != nil {
		return err
	}
	defer db.Close()

	have := map[string]bool{}
	if err := db.ForEachSubscription(func(s *subscriptions.Subscription) error {
		have[dupKey(s.Chat, s.Query)] = true
		return nil
	}); err != nil {
		return err
	}
	now := time.Now().UTC()
	var add []*subscriptions.Subscription
	skipped := 0
	var invalid []string
	for i, e := range file.Subscriptions {
		problem := ""
		switch {
		case e.Chat.Platform == "" || e.Chat.Chat == "":
			problem = "chat needs a platform and a chat id"
		case strings.TrimSpace(e.Query) == "":
			problem = "empty query"
		case e.PausedBy != "" && e.PausedBy != subscriptions.PausedByUser && e.PausedBy != subscriptions.PausedByPlatform:
			problem = fmt.Sprintf("paused_by %q is neither %q nor %q", e.PausedBy, subscriptions.PausedByUser, subscriptions.PausedByPlatform)
		default:
			if _, err := subscriptions.Parse(e.Query); err != nil {
				problem = fmt.Sprintf("query %q: %v", e.Query, err)
			}
		}
		if problem != "" {
			invalid = append(invalid, fmt.Sprintf("subscriptions[%d]: %s", i, problem))
			continue
		}
		k := dupKey(e.Chat, e.Query)
		if have[k] {
			skipped++
			continue
		}
		have[k] = true
		created := e.Created
		if created.IsZero() {
			created = now
		}
		add = append(add, &subscriptions.Subscription{
			Chat: e.Chat, Query: strings.TrimSpace(e.Query), Paused: e.Paused, PausedBy: e.PausedBy,
			CreatedBy: e.CreatedBy, Created: created,
		})
	}
	// One transaction: a failure imports nothing, and a retry is clean.
	if err := db.AddSubscriptions(add); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d, skipped %d (already there), invalid %d\n", len(add), skipped, len(invalid))
	for _, line := range invalid {
		fmt.Fprintln(stdout, "  invalid:", line)
	}
	if len(invalid) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d invalid entries were not imported; fix them and import again (what is already there is skipped)", len(invalid))}
	}
	return nil
}

// sourceLine is one source in `bot sources -json`; times are null when
// they never happened.
type sourceLine struct {
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	Configured  bool       `json:"configured"`
	Added       bool       `json:"added"` // by /addsource or bot sources import
	LastSuccess *time.Time `json:"last_success"`
	LastError   string     `json:"last_error"`
	Failures    int        `json:"consecutive_failures"`
	NextPoll    *time.Time `json:"next_poll"`
	ItemsSeen   int        `json:"items_seen"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// secretParams are query parameter names whose values are credentials.
var secretParams = []string{"token", "key", "apikey", "api_key", "access_token", "auth", "secret", "password", "passwd", "sig", "signature"}

// redactURL hides the credentials a feed URL may carry: the user
// information and the values of query parameters named like secrets.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		// Not a URL we can take apart: show nothing of it rather than a
		// secret.
		return "(unreadable URL)"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for name := range q {
			if slices.Contains(secretParams, strings.ToLower(name)) {
				q[name] = []string{"xxxxx"}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// runSources is `bot sources [-config PATH] [-json]`.
func runSources(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sources", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if _, err := parseOps(fs, args, 0, "bot sources [-config PATH] [-json]"); err != nil {
		return err
	}
	cfg, p, err := loadOpsPaths(*cfgFlag, getenv)
	if err != nil {
		return err
	}
	var states []storage.SourceState
	var added []storage.AddedSource
	db, closeDB, err := openSnapshot(ctx, p)
	switch {
	case errors.Is(err, errNoDatabase):
		// Never run yet: the configured sources, none polled.
		fmt.Fprintf(stderr, "bot: %v; no source has been polled yet\n", err)
	case err != nil:
		return err
	default:
		states, err = db.SourceStates()
		if err == nil {
			added, err = db.AddedSources()
		}
		closeDB()
		if err != nil {
			return err
		}
	}
	lines := sourceLines(cfg.Sources, added, states)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(lines)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLAST SUCCESS\tFAILURES\tNEXT POLL\tITEMS\tURL\tLAST ERROR")
	for _, l := range lines {
		name := l.Name
		switch {
		case l.Added:
			name += " (added)"
		case !l.Configured:
			name += " (not in config)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\n", oneLine(name, 40), showTime(l.LastSuccess, "never"), l.Failures, showTime(l.NextPoll, "-"), l.ItemsSeen, l.URL, oneLine(l.LastError, 80))
	}
	return tw.Flush()
}

// sourceLines lists the configured sources in configuration order, then
// those added at run time, then any other source storage remembers (removed
// from the configuration since), by name.
func sourceLines(srcs []config.Source, added []storage.AddedSource, states []storage.SourceState) []sourceLine {
	byName := map[string]storage.SourceState{}
	for _, s := range states {
		byName[s.Name] = s
	}
	line := func(name, rawURL string, configured bool, s storage.SourceState) sourceLine {
		return sourceLine{
			Name: name, URL: redactURL(rawURL), Configured: configured,
			LastSuccess: timePtr(s.LastSuccess), LastError: s.LastError, Failures: s.Failures,
			NextPoll: timePtr(s.NextPoll), ItemsSeen: s.ItemsSeen,
		}
	}
	out := []sourceLine{}
	done := map[string]bool{}
	for _, src := range srcs {
		name := src.Name
		if name == "" {
			name = src.URL
		}
		out = append(out, line(name, src.URL, true, byName[name]))
		done[name] = true
	}
	for _, a := range added {
		if done[a.Name] {
			continue
		}
		l := line(a.Name, a.URL, false, byName[a.Name])
		l.Added = true
		out = append(out, l)
		done[a.Name] = true
	}
	for _, s := range states {
		if !done[s.Name] {
			out = append(out, line(s.Name, s.URL, false, s))
		}
	}
	return out
}

func showTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format("2006-01-02 15:04:05Z")
}

// oneLine keeps a table row on one line and within max runes.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}
