package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"frontwire/internal/config"
	"frontwire/internal/opml"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
)

// runSourcesOPML is `bot sources import|export`: moving the list of
// sources in and out as OPML, the format feed readers exchange.
func runSourcesOPML(ctx context.Context, verb string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch verb {
	case "import":
		return runSourcesImport(ctx, args, getenv, stdout, stderr)
	case "export":
		return runSourcesExport(ctx, args, getenv, stdout, stderr)
	}
	return &exitError{code: 2, err: fmt.Errorf("unknown sources command %q: want import or export", verb)}
}

// runSourcesImport is `bot sources import [-config PATH] [-no-fetch]
// FILE.opml`. It needs the bot stopped (it writes the database). Each feed
// goes through the checks of /addsource: http(s) only, no private
// addresses unless allowed, and a first fetch that must parse as a feed;
// -no-fetch skips that fetch (offline), and the first scheduled poll then
// does the checking. Feeds whose name or address is already a source are
// skipped. It exits 1 when any feed was refused.
func runSourcesImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sources import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	noFetch := fs.Bool("no-fetch", false, "do not fetch each feed to check it (offline import)")
	const usage = "bot sources import [-config PATH] [-no-fetch] FILE.opml"
	rest, err := parseOps(fs, args, 1, usage)
	if err != nil {
		return err
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	feeds, err := opml.Parse(f)
	f.Close()
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s: %w", rest[0], err)}
	}
	cfg, p, err := loadOpsPaths(*cfgFlag, getenv)
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
	rt := &sources.Runtime{
		Store:        db,
		Fetcher:      sources.NewFetcher(sources.NewHTTPClient(cfg.Bot.AllowPrivateSources), sources.UserAgent(version), nil),
		Configured:   cfg.Sources,
		AllowPrivate: cfg.Bot.AllowPrivateSources,
	}
	var added, skipped, refused int
	for _, feed := range feeds {
		got, err := rt.Add(ctx, sources.AddRequest{URL: feed.URL, Name: feed.Title, By: "cli", NoFetch: *noFetch})
		var re *sources.RefusedError
		switch {
		case err == nil:
			added++
			fmt.Fprintf(stdout, "added   %s (%s)\n", got.Source.Name, feed.URL)
		case errors.Is(err, sources.ErrDuplicateSource):
			skipped++
			fmt.Fprintf(stdout, "skipped %s: %v\n", feed.URL, err)
		case errors.As(err, &re):
			refused++
			fmt.Fprintf(stderr, "refused %s: %v\n", feed.URL, err)
		default:
			return err
		}
	}
	fmt.Fprintf(stdout, "%d feeds in %s: %d added, %d already sources, %d refused\n", len(feeds), filepath.Base(rest[0]), added, skipped, refused)
	if refused > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// runSourcesExport is `bot sources export [-config PATH] [-o FILE]`: the
// configured sources, then those added at run time, as OPML. It works
// while the bot runs (through a snapshot) and before it ever ran (the
// configured sources only).
func runSourcesExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sources export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := fs.String("config", "", "configuration file (default $FRONTWIRE_CONFIG or config.toml)")
	out := fs.String("o", "", "write to FILE instead of standard output")
	if _, err := parseOps(fs, args, 0, "bot sources export [-config PATH] [-o FILE]"); err != nil {
		return err
	}
	cfg, p, err := loadOpsPaths(*cfgFlag, getenv)
	if err != nil {
		return err
	}
	var added []storage.AddedSource
	if _, statErr := os.Stat(p.db); statErr == nil {
		db, closeDB, err := openSnapshot(ctx, p)
		if err != nil {
			return err
		}
		added, err = db.AddedSources()
		closeDB()
		if err != nil {
			return err
		}
	}
	feeds := exportFeeds(cfg.Sources, added)
	write := func(w io.Writer) error { return opml.Write(w, "Frontwire sources", time.Now(), feeds) }
	if *out == "" {
		return write(stdout)
	}
	tmp := *out + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = write(fh)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, *out)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(stderr, "wrote %d sources to %s\n", len(feeds), *out)
	return nil
}

// exportFeeds lists the sources the bot polls, in the order it loads them.
func exportFeeds(configured []config.Source, added []storage.AddedSource) []opml.Feed {
	var feeds []opml.Feed
	for _, s := range sources.MergeSources(configured, added, nil) {
		feeds = append(feeds, opml.Feed{Title: s.Name, URL: s.URL})
	}
	return feeds
}
