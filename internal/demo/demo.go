package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"frontwire/internal/alerts"
	"frontwire/internal/chat/console"
	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/storage"
)

// Options configure a demo run.
type Options struct {
	Stdin       io.Reader
	Stdout      io.Writer
	Logger      *slog.Logger
	Version     string
	Interactive bool
	// StepDelay is the pause between two publishing steps of the sample
	// feeds (default 1 s, or 8 s when interactive).
	StepDelay time.Duration
}

// Queries are the subscriptions the scripted demo makes.
var scripted = []string{
	"/subscribe Ukraine peace",
	"/subscribe Witkoff",
	`/subscribe "prisoner exchange" OR (обмен пленными)`,
}

// Run plays the demo: it serves the sample feeds on loopback, starts
// Frontwire with a console chat, subscribes, publishes the sample news step
// by step and prints what a person would see.
func Run(ctx context.Context, opt Options) error {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.StepDelay <= 0 {
		opt.StepDelay = time.Second
		if opt.Interactive {
			opt.StepDelay = 8 * time.Second
		}
	}
	tl, err := LoadTimeline()
	if err != nil {
		return err
	}
	srv := NewServer(tl)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "frontwire-demo-*")
	if err != nil {
		return fmt.Errorf("demo: temporary data directory: %w", err)
	}
	defer os.RemoveAll(dir)

	cfg := config.Default()
	cfg.Bot.DataDir = dir
	cfg.Bot.PollSchedule = "@every 1h" // the demo polls by itself, step by step
	cfg.Bot.CommandsPerMinute = 1000
	cfg.Bot.AllowPrivateSources = true // the sample feeds are served on loopback
	for _, f := range tl.Feeds {
		cfg.Sources = append(cfg.Sources, config.Source{Name: f.Name, URL: srv.URL(f)})
	}
	con := console.New(opt.Stdout, nil)
	d, err := daemon.New(ctx, daemon.Options{
		Config:    cfg,
		Version:   opt.Version,
		Logger:    opt.Logger,
		Platforms: map[string]alerts.Platform{console.Platform: {Sender: con}},
		DBOptions: storage.Options{NoSync: true},
	})
	if err != nil {
		return err
	}
	defer d.Close()
	say := func(format string, a ...any) { con.Say(fmt.Sprintf(format, a...)) }
	say("Frontwire demo: %d sample feeds are served on loopback; this console stands in for a Telegram or Discord chat.", len(tl.Feeds))
	say("")
	srv.SetStep(0)
	if err := d.Scheduler.PollAll(ctx); err != nil {
		return fmt.Errorf("demo: first poll: %w", err)
	}
	// Frontwire starts after the first poll, so its own start-up poll
	// finds every source already polled and leaves the pace to the demo.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()

	stored, err := d.DB.RecentStories(time.Time{})
	if err != nil {
		return err
	}
	seen := len(stored)
	say("First poll: %d stories already in the feeds are marked as seen. A new source never floods a chat with its backlog.", seen)
	say("")

	if opt.Interactive {
		return interactive(ctx, opt, d, con, srv, tl)
	}
	for _, line := range scripted {
		run(ctx, d, con, line)
	}
	for step := 1; step < tl.Steps(); step++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opt.StepDelay):
		}
		if err := publish(ctx, d, con, srv, tl, step); err != nil {
			return err
		}
	}
	say("")
	for _, line := range []string{"/why 1", "/preview peace", "/list", "/sources"} {
		run(ctx, d, con, line)
	}
	say("")
	say("That was the demo. Try it yourself with `go run ./cmd/bot demo -i`, then run your own instance with `go run ./cmd/bot run -config config.toml`.")
	return nil
}

func run(ctx context.Context, d *daemon.Daemon, con *console.Console, line string) {
	con.Echo(line)
	cmd, _ := console.Command(line)
	con.Reply(d.Service.Handle(ctx, cmd))
}

// publish moves the sample feeds to a step, polls them and waits until the
// alerts it caused are printed.
func publish(ctx context.Context, d *daemon.Daemon, con *console.Console, srv *Server, tl Timeline, step int) error {
	srv.SetStep(step)
	con.Say(fmt.Sprintf("\n— the sample feeds publish (step %d of %d) —", step, tl.Steps()-1))
	if note := tl.Notes[strconv.Itoa(step)]; note != "" {
		con.Say("(" + note + ")")
	}
	// One source after another, in the timeline's order, so that the
	// alerts and their numbers come out the same on every run.
	for _, src := range tl.Feeds {
		if err := d.Scheduler.PollNow(ctx, src.Name); err != nil {
			return fmt.Errorf("demo: poll %s: %w", src.Name, err)
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.Dispatcher.WaitIdle(waitCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func interactive(ctx context.Context, opt Options, d *daemon.Daemon, con *console.Console, srv *Server, tl Timeline) error {
	con.Say(fmt.Sprintf("Type commands (for example /subscribe Witkoff, /help). New sample stories are published every %s. /quit ends the demo.\n", opt.StepDelay))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for step := 1; step < tl.Steps(); step++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(opt.StepDelay):
			}
			if err := publish(ctx, d, con, srv, tl, step); err != nil {
				return
			}
		}
		con.Say("\n(The sample feeds have published everything. /preview QUERY searches what arrived; /quit ends the demo.)")
	}()
	return con.Run(ctx, opt.Stdin, d.Service, "")
}
