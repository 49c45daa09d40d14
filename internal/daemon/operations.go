package daemon

import (
	"context"
	"time"

	"frontwire/internal/httpapi"
	"frontwire/internal/subscriptions"
)

// gaugeInterval is how often the outbox depth and subscription counts are
// refreshed for /metrics; both are read from storage, so not on every
// scrape.
const gaugeInterval = 30 * time.Second

// refreshGauges keeps the outbox depth and subscription gauges current.
func (d *Daemon) refreshGauges(ctx context.Context) error {
	for {
		if n, err := d.DB.OutboxLen(); err == nil {
			d.Metrics.SetOutboxDepth(n)
		}
		counts := map[string]int{}
		err := d.DB.ForEachSubscription(func(s *subscriptions.Subscription) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			counts[s.Chat.Platform]++
			return nil
		})
		if err == nil {
			for platform, n := range counts {
				d.Metrics.SetSubscriptions(platform, n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.clk.After(gaugeInterval):
		}
	}
}

// httpServer returns the /healthz and /metrics listener. Health means the
// database answers; platforms reconnect by themselves, so a platform outage
// is not a reason for an orchestrator to restart Frontwire.
func (d *Daemon) httpServer() *httpapi.Server {
	srv := httpapi.New(d.Config.HTTP.Listen, d.Metrics, httpapi.Check{
		Name: "storage",
		Checker: httpapi.CheckerFunc(func(ctx context.Context) (bool, string) {
			if _, err := d.DB.OutboxLen(); err != nil {
				return false, err.Error()
			}
			return true, ""
		}),
	})
	srv.Logger = d.log
	return srv
}
