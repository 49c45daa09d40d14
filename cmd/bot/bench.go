package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"frontwire/internal/benchmatch"
	"frontwire/internal/storage"
)

// benchMatch is `bot bench match`: it generates the matcher workload,
// stores the subscriptions in a fresh bbolt file in a temporary directory,
// loads and indexes them, and prints the matcher's figures.
func benchMatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	subs := fs.Int("subs", 100000, "subscriptions to generate")
	stories := fs.Int("stories", 10000, "stories to match")
	seed := fs.Int64("seed", 1, "workload seed")
	naive := fs.Int("naive-sample", 0, "stories for the naive full scan (default: max(10, 50,000,000 / subs))")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	dir, err := os.MkdirTemp("", "frontwire-bench-*")
	if err != nil {
		return fmt.Errorf("bench match: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := storage.Open(filepath.Join(dir, "frontwire.db"), storage.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	return benchmatch.Run(ctx, benchmatch.Options{
		Subs: *subs, Stories: *stories, Seed: *seed, NaiveSample: *naive, JSON: *asJSON, Dir: dir,
	}, db, stdout)
}
