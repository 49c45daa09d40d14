package telegram_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/chat/telegram/telegramtest"
	"frontwire/internal/config"
	"frontwire/internal/daemon"
	"frontwire/internal/feedtest"
	"frontwire/internal/storage"
)

// Telegram's published limits scaled ×20, so that the benchmark runs in
// seconds: the fake enforces them and Frontwire is configured with them.
const (
	benchGlobalPerSecond = 600
	benchChatPerSecond   = 20
	benchGroupPerMinute  = 400
)

// BenchmarkDeliver3000To300Chats delivers 3,000 alerts to 300 chats (100 of
// them groups) through the limit-enforcing fake Bot API, on the real clock,
// through the real path: 300 subscriptions made by command, one feed poll
// of 10 matching stories (so the pipeline writes 3,000 alerts to the
// outbox in one transaction and notifies the dispatcher), and the
// dispatcher pacing them to the fake.
//
// It reports the throughput as a fraction of the allowed rate: the alerts
// over the shortest time the limits permit. Every chat gets 10 alerts: at
// 20/s per chat that needs 0.45 s, at 400/min per group 1.35 s, while 3,000
// at 600/s over all chats need 5 s, so the global limit binds. Also
// reported: the 429s the fake answered and the alerts that arrived out of
// order in their chat (both should be 0).
func BenchmarkDeliver3000To300Chats(b *testing.B) {
	const (
		privates, groups = 200, 100
		stories          = 10
	)
	var elapsed time.Duration
	var got429, disorder, delivered int
	for range b.N {
		b.StopTimer()
		tg := telegramtest.NewServer(b, telegramtest.Options{Limits: telegramtest.Limits{
			GlobalPerSecond: benchGlobalPerSecond, ChatPerSecond: benchChatPerSecond, GroupPerMinute: benchGroupPerMinute,
		}})
		site := &feedtest.Site{}
		feed := httptest.NewServer(site)

		cfg := config.Default()
		cfg.Bot.DataDir = b.TempDir()
		cfg.Bot.PollSchedule = "@every 1h"
		cfg.Bot.AllowPrivateSources = true
		cfg.Sources = []config.Source{{Name: "Test Wire", URL: feed.URL}}
		cfg.Telegram.Enabled = true
		cfg.Telegram.Token = tg.Token()
		cfg.Telegram.APIURL = tg.URL()
		cfg.Telegram.MessagesPerSecond = benchGlobalPerSecond
		cfg.Telegram.ChatMessagesPerSecond = benchChatPerSecond
		cfg.Telegram.GroupMessagesPerMinute = benchGroupPerMinute
		ctx, cancel := context.WithCancel(context.Background())
		d, err := daemon.New(ctx, daemon.Options{
			Config:              cfg,
			DBOptions:           storage.Options{NoSync: true, Timeout: time.Second},
			PlatformClient:      tg.Client(),
			TelegramPollTimeout: 5 * time.Second,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Scheduler.PollAll(ctx); err != nil { // the first poll only marks
			b.Fatal(err)
		}
		for i := range privates + groups {
			id, kind := int64(100001+i), chat.Private
			if i >= privates {
				id, kind = -id, chat.Group
			}
			r := d.Service.Handle(ctx, chat.Command{
				From: chat.Address{Platform: "telegram", Chat: strconv.FormatInt(id, 10)},
				User: strconv.Itoa(i + 1), Kind: kind, Name: "subscribe", Args: "Witkoff", CanManage: true,
			})
			if !strings.HasPrefix(r.Text, "Subscribed #") {
				b.Fatalf("subscribe: %s", r.Text)
			}
		}
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		var items []string
		for s := range stories {
			items = append(items, rssItem(fmt.Sprintf("b-%d", s), fmt.Sprintf("Witkoff update %d", s), "News.", s))
		}
		site.Set(items...)
		want := (privates + groups) * stories

		b.StartTimer()
		start := time.Now()
		if err := d.Scheduler.PollAll(ctx); err != nil {
			b.Fatal(err)
		}
		sent, err := tg.WaitSent(want, time.Minute)
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}

		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		d.Close()
		feed.Close()

		// Every alert exactly once; within each chat, story order.
		last := map[string]int{}
		seen := map[string]bool{}
		for _, m := range sent {
			n := -1
			if i := strings.Index(m.Text, "Witkoff update "); i >= 0 {
				n, _ = strconv.Atoi(strings.TrimSuffix(strings.Fields(m.Text[i+len("Witkoff update "):])[0], "</a></b>"))
			}
			key := m.ChatID + "/" + strconv.Itoa(n)
			if n < 0 || seen[key] {
				b.Fatalf("unexpected or duplicate message in chat %s: %.80q", m.ChatID, m.Text)
			}
			seen[key] = true
			if prev, ok := last[m.ChatID]; ok && n < prev {
				disorder++
			}
			last[m.ChatID] = n
		}
		if len(sent) != want || len(last) != privates+groups {
			b.Fatalf("%d messages to %d chats, want %d to %d", len(sent), len(last), want, privates+groups)
		}
		delivered += len(sent)
		got429 += tg.Count429()
	}
	perChat := float64(stories - 1)
	minTime := max(
		float64(privates+groups)*stories/benchGlobalPerSecond,
		perChat/benchChatPerSecond,
		perChat/(benchGroupPerMinute/60.0),
	)
	allowed := float64(privates+groups) * stories / minTime
	achieved := float64(delivered) / elapsed.Seconds()
	b.ReportMetric(achieved, "alerts/s")
	b.ReportMetric(achieved/allowed, "of_allowed_rate")
	b.ReportMetric(float64(got429)/float64(b.N), "429s/op")
	b.ReportMetric(float64(disorder)/float64(b.N), "order_violations/op")
}
