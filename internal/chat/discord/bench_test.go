package discord_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"frontwire/internal/chat/discord"
	"frontwire/internal/chat/discord/discordtest"
	"frontwire/internal/clock"
)

// BenchmarkSendManyChannels delivers 2,000 alerts to 100 channels (one
// ordered sender per channel, as the dispatcher's per-chat queues do)
// through the limit-enforcing fake, with Discord's limits scaled up ten
// times. It reports throughput as a fraction of the allowed global rate,
// the 429s the fake answered and whether every channel kept its order.
func BenchmarkSendManyChannels(b *testing.B) {
	const (
		channels   = 100
		perChannel = 20
		allowed    = 500 // requests per second the fake allows: 10 × Discord's 50
	)
	for _, rate := range []float64{allowed, allowed * 0.95} {
		b.Run(fmt.Sprintf("cap=%g", rate), func(b *testing.B) {
			srv := discordtest.New(discordtest.Options{
				Token: token, GlobalLimit: allowed, GlobalWindow: time.Second,
				ChannelLimit: 10, ChannelWindow: time.Second, // 10 × Discord's 5 per 5 s
			})
			defer srv.Close()
			c := newCore()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: channels + 10}, Timeout: time.Minute}
			bot, err := discord.New(context.Background(), discord.Config{
				Token: token, APIURL: srv.URL(), RequestsPerSecond: rate, HTTPClient: client, Clock: clock.Real{},
			}, c, c, c)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var total time.Duration
			sent := 0
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				base := len(srv.Messages())
				startTime := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, channels)
				for ch := range channels {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range perChannel {
							m := alertMessage("ch"+strconv.Itoa(ch), strconv.Itoa(i), "s")
							if _, err := bot.Send(ctx, m); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				total += time.Since(startTime)
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				// Order: within each channel the titles must count up.
				next := map[string]int{}
				for _, m := range srv.Messages()[base:] {
					want := strconv.Itoa(next[m.ChannelID])
					if m.Send.Embeds[0].Title != want {
						b.Fatalf("channel %s: got alert %s, want %s", m.ChannelID, m.Send.Embeds[0].Title, want)
					}
					next[m.ChannelID]++
				}
				sent += channels * perChannel
			}
			b.StopTimer()
			perSec := float64(sent) / total.Seconds()
			b.ReportMetric(perSec, "alerts/s")
			b.ReportMetric(perSec/allowed, "fraction_of_allowed")
			b.ReportMetric(float64(srv.TooManyRequests()), "429s")
			b.ReportMetric(1, "order_kept") // reaching here means it was: a break fails the benchmark
		})
	}
}
