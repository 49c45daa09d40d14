package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/demo"
	"frontwire/internal/httpapi"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/subscriptions"
)

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// configPath is the -config flag, else $FRONTWIRE_CONFIG, else config.toml.
func configPath(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := getenv("FRONTWIRE_CONFIG"); p != "" {
		return p
	}
	return "config.toml"
}

// loadConfig reads the configuration file; when the file does not exist and
// no path was asked for explicitly, the whole configuration comes from the
// environment (the Docker way).
func loadConfig(flagValue string, getenv func(string) string) (config.Config, error) {
	path := configPath(flagValue, getenv)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && flagValue == "" && getenv("FRONTWIRE_CONFIG") == "" {
		return config.FromEnv(getenv)
	}
	return config.Load(path, getenv)
}

func runDaemon(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	cfg, err := loadConfig(*cfgFlag, getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Bot.LogFormat)
	// A soft memory limit that follows the live heap, unless the
	// environment sets one (GOMEMLIMIT, which "off" disables); see
	// daemon.DefaultMemoryLimit.
	var memLimit int64
	if getenv("GOMEMLIMIT") == "" {
		memLimit = daemon.DefaultMemoryLimit
	}
	d, err := daemon.New(ctx, daemon.Options{Config: cfg, Version: version, Logger: log, MemoryLimit: memLimit})
	if err != nil {
		return err
	}
	defer d.Close()
	log.Info("frontwire starting", "version", version, "sources", len(cfg.Sources), "data", d.DB.Path())
	err = d.Run(ctx)
	log.Info("frontwire stopped")
	return err
}

func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	interactive := fs.Bool("i", false, "interactive: type commands yourself")
	step := fs.Duration("step", 0, "pause between publishing steps (default 1s, 8s with -i)")
	verbose := fs.Bool("v", false, "show Frontwire's log on stderr")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = newLogger(stderr, "text")
	}
	return demo.Run(ctx, demo.Options{Stdin: stdin, Stdout: stdout, Logger: log, Version: version, Interactive: *interactive, StepDelay: *step})
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// previewLine is one story of `bot preview --json`.
type previewLine struct {
	ID        string   `json:"id"`
	Source    string   `json:"source"`
	Title     string   `json:"title"`
	Link      string   `json:"link"`
	Published string   `json:"published"`
	Summary   string   `json:"summary"`
	Matched   []string `json:"matched"`
}

func runPreview(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	query := fs.String("query", "", "query to match (default: print every story)")
	var feeds multiFlag
	fs.Var(&feeds, "feed", "feed path or URL (repeatable; default: the configured sources)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	cfgFlag := fs.String("config", "", "configuration file for the sources (when no --feed)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	var q *subscriptions.Query
	if *query != "" {
		var err error
		if q, err = subscriptions.Parse(*query); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("query: %w", err)}
		}
	}
	cfg := config.Default()
	var srcs []config.Source
	if len(feeds) == 0 {
		var err error
		if cfg, err = loadConfig(*cfgFlag, getenv); err != nil {
			return err
		}
		srcs = cfg.Sources
		if len(srcs) == 0 {
			return &exitError{code: 2, err: errors.New("no --feed given and no sources configured")}
		}
	} else {
		for _, f := range feeds {
			srcs = append(srcs, config.Source{URL: f})
		}
	}
	fetcher := sources.NewFetcher(&http.Client{Timeout: 20 * time.Second}, sources.UserAgent(version), nil)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, src := range srcs {
		res, err := fetcher.Fetch(ctx, src, storage.SourceState{}, cfg.Bot.SummaryMaxChars)
		if err != nil {
			fmt.Fprintf(stderr, "bot: %s: %v\n", previewName(src), err)
			failed++
			continue
		}
		for i := range res.Stories {
			st := &res.Stories[i]
			if src.Name == "" {
				st.Source = res.FeedTitle
			}
			var terms []string
			if q != nil {
				ok, t := q.Match(subscriptions.NewDoc(st))
				if !ok {
					continue
				}
				terms = t
			}
			if terms == nil {
				terms = []string{}
			}
			if *asJSON {
				pub := ""
				if !st.Published.IsZero() {
					pub = st.Published.UTC().Format(time.RFC3339)
				}
				if err := enc.Encode(previewLine{ID: st.ID, Source: st.Source, Title: st.Title, Link: st.Link, Published: pub, Summary: st.Summary, Matched: terms}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(stdout, "%s\n  %s", st.Title, st.Source)
			if !st.Published.IsZero() {
				fmt.Fprintf(stdout, " · %s", st.Published.UTC().Format("2006-01-02 15:04 MST"))
			}
			fmt.Fprintln(stdout)
			if st.Summary != "" {
				fmt.Fprintf(stdout, "  %s\n", st.Summary)
			}
			if st.Link != "" {
				fmt.Fprintf(stdout, "  %s\n", st.Link)
			}
			if len(terms) > 0 {
				fmt.Fprintf(stdout, "  matched: %v\n", terms)
			}
			fmt.Fprintln(stdout)
		}
	}
	if failed == len(srcs) {
		return &exitError{code: 1, err: errors.New("no feed could be read")}
	}
	return nil
}

func previewName(src config.Source) string {
	if src.Name != "" {
		return src.Name
	}
	return src.URL
}

func runCheckConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	path := configPath(*cfgFlag, getenv)
	cfg, err := config.Load(path, getenv)
	var cerr *config.Error
	if errors.As(err, &cerr) {
		for _, p := range cerr.Problems {
			fmt.Fprintln(stdout, p.String())
		}
		return &exitError{code: 1}
	}
	if err != nil {
		fmt.Fprintln(stdout, err)
		return &exitError{code: 1}
	}
	fmt.Fprintf(stdout, "%s: ok (%d sources)\n", path, len(cfg.Sources))
	return nil
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "pipeline" {
		return benchPipeline(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "match" {
		return &exitError{code: 2, err: errors.New("usage: bot bench match [-subs N] [-stories M] [-seed S] [-naive-sample K] [-json] | bot bench pipeline [-feeds N] [-items M] [-subs S] [-rss] [-json]")}
	}
	return benchMatch(ctx, args[1:], stdout, stderr)
}

// runHealthcheck probes the running bot's /healthz: the Docker HEALTHCHECK,
// since minimal images have no curl. The address comes from -url, else the
// configuration's [http] listen, else :8080.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "health URL (default from [http] listen)")
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if *url == "" {
		listen := ":8080"
		if cfg, err := loadConfig(*cfgFlag, getenv); err == nil && cfg.HTTP.Listen != "" {
			listen = cfg.HTTP.Listen
		}
		u, err := httpapi.ProbeURL(listen)
		if err != nil {
			return err
		}
		*url = u
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return httpapi.Probe(ctx, *url, nil)
}
