// Command bot is Frontwire: a self-hosted chat bot that polls news feeds,
// matches new stories against people's keyword subscriptions and posts a
// concise summary of each match to Telegram, Discord or a console.
//
// main only calls run, which takes its dependencies as arguments, so that
// tests run the real command line in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones work in minimal container images
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(os.Stderr, "bot:", ee.err)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "bot:", err)
		os.Exit(1)
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

const usage = `Frontwire: keyword alerts from news feeds to Telegram, Discord and a console.

Usage:
  bot [run] [-config PATH]      run the bot (config: -config, $FRONTWIRE_CONFIG, or config.toml)
  bot demo [-i]                 play the offline demo (-i: type commands yourself)
  bot preview [--query Q] [--feed PATH_OR_URL]... [--json] [--config PATH]
                                show the stories of feeds that match a query
  bot check-config [-config PATH]
                                validate a configuration file
  bot bench match [-subs N] [-stories M] [-seed S] [-naive-sample K] [-json]
                                measure the matcher
  bot bench pipeline [-feeds N] [-items M] [-subs K] [-no-clusters] [-rss] ...
                                measure feed bytes to outbox (docs/PERFORMANCE.md)
  bot healthcheck [-url URL]    exit 0 when the running bot's /healthz answers 200
  bot backup [-config PATH] FILE
                                copy the database to FILE, also while the bot runs
  bot restore [-config PATH] [-force] FILE
                                replace the database with a backup (bot stopped)
  bot export-subscriptions [-config PATH] [-o FILE]
                                write every subscription as JSON
  bot import-subscriptions [-config PATH] FILE
                                add the subscriptions of an export (bot stopped)
  bot sources [-config PATH] [-json]
                                each source's last success, errors and next poll
  bot sources import [-config PATH] [-no-fetch] FILE.opml
                                add an OPML list's feeds as sources (bot stopped)
  bot sources export [-config PATH] [-o FILE]
                                write the configured and added sources as OPML
  bot version                   print the version
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runDaemon(ctx, args, getenv, stderr)
	case "demo":
		return runDemo(ctx, args, stdin, stdout, stderr)
	case "preview":
		return runPreview(ctx, args, getenv, stdout, stderr)
	case "check-config":
		return runCheckConfig(args, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, getenv, stderr)
	case "backup":
		return runBackup(ctx, args, getenv, stdout, stderr)
	case "restore":
		return runRestore(args, getenv, stdin, stdout, stderr)
	case "export-subscriptions":
		return runExportSubscriptions(ctx, args, getenv, stdout, stderr)
	case "import-subscriptions":
		return runImportSubscriptions(args, getenv, stdout, stderr)
	case "sources":
		if len(args) > 0 && (args[0] == "import" || args[0] == "export") {
			return runSourcesOPML(ctx, args[0], args[1:], getenv, stdout, stderr)
		}
		return runSources(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "frontwire", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &exitError{code: 2, err: fmt.Errorf("unknown command %q", cmd)}
	}
}
