package discord_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/chat/discord/discordtest"
	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// Discord's limits scaled up ten times, so that 2,000 alerts take seconds:
// 500 requests per second over the bot (Discord: 50) and 5 messages per
// 0.5 s per channel (Discord: 5 per 5 s).
const (
	benchGlobalLimit   = 500
	benchChannelLimit  = 5
	benchChannelWindow = 500 * time.Millisecond
)

// BenchmarkDispatchManyChannels delivers 2,000 alerts (20 stories matched
// by 100 channels' subscriptions) through the whole path: the feed polled
// into the outbox, then daemon.Run's dispatcher with its per-channel
// queues and pacing, the adapter with its global cap, discordgo, and the
// fake Discord enforcing the scaled limits with 429s. The outbox is filled
// before Run, so the timed part is delivery alone (plus the gateway and
// command registration Run starts with, a few requests).
//
// The allowed rate is the binding one of the fake's limits: the global
// 500/s, or 100 channels × 5 per 0.5 s = 1,000/s. Frontwire is set to 95 %
// of both (requests_per_second = 475, each channel paced at 9.5/s), as
// the defaults are to Discord's. It reports alerts/s, the fraction of the
// allowed rate, the fake's 429 answers and messages out of order within
// their channel.
func BenchmarkDispatchManyChannels(b *testing.B) {
	const (
		channels   = 100
		perChannel = 20
	)
	allowed := min(float64(benchGlobalLimit), channels*benchChannelLimit/benchChannelWindow.Seconds())
	var elapsed time.Duration
	tooMany, disorder, sent := 0, 0, 0
	b.StopTimer()
	for n := 0; n < b.N; n++ {
		r := newDispatchRun(b, channels, perChannel)
		b.StartTimer()
		took := r.deliver()
		b.StopTimer()
		elapsed += took
		tooMany += r.dc.TooManyRequests()
		disorder += r.disorder()
		sent += channels * perChannel
		r.close()
	}
	perSec := float64(sent) / elapsed.Seconds()
	b.ReportMetric(perSec, "alerts/s")
	b.ReportMetric(perSec/allowed, "fraction_of_allowed")
	b.ReportMetric(float64(tooMany)/float64(b.N), "429s/op")
	b.ReportMetric(float64(disorder)/float64(b.N), "out_of_order/op")
	if disorder > 0 {
		b.Errorf("%d messages out of order within their channel", disorder)
	}
}

// dispatchRun is one Frontwire with a full outbox, ready to deliver.
type dispatchRun struct {
	b      *testing.B
	dc     *discordtest.Server
	feed   *httptest.Server
	d      *daemon.Daemon
	want   map[string][]string // channel → titles in outbox order
	total  int
	cancel context.CancelFunc
	done   chan error
}

func newDispatchRun(b *testing.B, channels, perChannel int) *dispatchRun {
	b.Helper()
	ctx := context.Background()
	r := &dispatchRun{b: b, want: map[string][]string{}}
	r.dc = discordtest.New(discordtest.Options{Token: e2eToken,
		GlobalLimit: benchGlobalLimit, GlobalWindow: time.Second,
		ChannelLimit: benchChannelLimit, ChannelWindow: benchChannelWindow})
	site := &feedtest.Site{}
	r.feed = httptest.NewServer(site)

	cfg := config.Default()
	cfg.Bot.DataDir = b.TempDir()
	cfg.Bot.PollSchedule = "@every 1h"
	cfg.Bot.CommandsPerMinute = 1000
	cfg.Sources = []config.Source{{Name: "Test Wire", URL: r.feed.URL}}
	cfg.Bot.AllowPrivateSources = true
	cfg.Discord.Enabled = true
	cfg.Discord.Token = e2eToken
	cfg.Discord.APIURL = r.dc.URL()
	cfg.Discord.RequestsPerSecond = benchGlobalLimit * 0.95
	d, err := daemon.New(ctx, daemon.Options{
		Config:    cfg,
		Version:   "bench",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:     clock.Real{},
		DBOptions: storage.Options{NoSync: true, Timeout: time.Second},
		// One connection per busy channel, kept alive.
		PlatformClient: &http.Client{Timeout: time.Minute,
			Transport: &http.Transport{MaxIdleConns: channels + 16, MaxIdleConnsPerHost: channels + 16}},
		DiscordChannelLimit:  benchChannelLimit,
		DiscordChannelWindow: benchChannelWindow,
	})
	if err != nil {
		b.Fatal(err)
	}
	r.d = d
	// A new source's first poll only marks what is there as seen.
	if err := d.Scheduler.PollAll(ctx); err != nil {
		b.Fatal(err)
	}
	for c := range channels {
		ch := "bc" + strconv.Itoa(c)
		reply := d.Service.Handle(ctx, chat.Command{
			From: chat.Address{Platform: "discord", Chat: ch}, User: "u" + strconv.Itoa(c), Kind: chat.Group,
			Name: "subscribe", Args: "Witkoff", CanManage: true,
		})
		if !strings.HasPrefix(reply.Text, "Subscribed #") {
			b.Fatalf("subscribe %s: %q", ch, reply.Text)
		}
	}
	var items []string
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range perChannel {
		// Words and names of their own per story, so that no two are
		// filed under one event (whose later alerts would become edits).
		title := "Witkoff " + words(rng, 5)
		desc := words(rng, 12) + "."
		items = append(items, rssItem(fmt.Sprintf("bench-%d", i), title, desc, i))
	}
	site.Set(items...)
	if err := d.Scheduler.PollAll(ctx); err != nil {
		b.Fatal(err)
	}
	pending, err := d.DB.Pending()
	if err != nil {
		b.Fatal(err)
	}
	if len(pending) != channels*perChannel {
		b.Fatalf("outbox holds %d alerts, want %d", len(pending), channels*perChannel)
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Seq < pending[j].Seq })
	for _, m := range pending {
		if m.Kind != chat.KindAlert || m.Alert == nil {
			b.Fatalf("outbox holds a %s message; want alerts only", m.Kind)
		}
		r.want[m.To.Chat] = append(r.want[m.To.Chat], m.Alert.Title)
	}
	r.total = len(pending)
	return r
}

// deliver runs Frontwire until the fake has every alert and says how long
// that took.
func (r *dispatchRun) deliver() time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	start := time.Now()
	go func() { r.done <- r.d.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if _, err := r.dc.WaitMessages(wctx, r.total); err != nil {
		r.b.Fatalf("%d of %d alerts delivered: %v", len(r.dc.Messages()), r.total, err)
	}
	return time.Since(start)
}

// disorder counts messages not where the outbox order puts them in their
// channel (missing, extra or swapped ones included).
func (r *dispatchRun) disorder() int {
	got := map[string][]string{}
	for _, m := range r.dc.Messages() {
		title := ""
		if len(m.Send.Embeds) > 0 {
			title = m.Send.Embeds[0].Title
		}
		got[m.ChannelID] = append(got[m.ChannelID], title)
	}
	bad := 0
	for ch, want := range r.want {
		g := got[ch]
		for i := range max(len(want), len(g)) {
			if i >= len(want) || i >= len(g) || want[i] != g[i] {
				bad++
			}
		}
	}
	for ch, g := range got {
		if _, ok := r.want[ch]; !ok {
			bad += len(g)
		}
	}
	return bad
}

func (r *dispatchRun) close() {
	if r.cancel != nil {
		r.cancel()
		if err := <-r.done; err != nil {
			r.b.Errorf("Run: %v", err)
		}
	}
	if err := r.d.Close(); err != nil {
		r.b.Errorf("Close: %v", err)
	}
	r.dc.Close()
	r.feed.Close()
}

// words makes n made-up words of seven letters, a capital first, so that
// stories made of them share no word, stem or name.
func words(rng *rand.Rand, n int) string {
	out := make([]string, n)
	for i := range out {
		w := make([]byte, 7)
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		w[0] -= 'a' - 'A'
		out[i] = string(w)
	}
	return strings.Join(out, " ")
}
