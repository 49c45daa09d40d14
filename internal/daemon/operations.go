package daemon

import (
	"context"
	"time"

	"frontwire/internal/httpapi"
)

// gaugeInterval is how often the outbox depth and subscription counts are
// refreshed for /metrics; both are read from storage, so not on every
// scrape.
const gaugeInterval = 30 * time.Second

// refreshGauges keeps the outbox depth and subscription gauges current.
// Subscriptions are counted by the index, which holds the active ones:
// walking the store instead decoded every subscription (0.3 CPU-s and two
// million allocations each refresh at a million subscriptions) and counted
// paused ones too, though the gauge is of active subscriptions.
func (d *Daemon) refreshGauges(ctx context.Context) error {
	for {
		if n, err := d.DB.OutboxLen(); err == nil {
			d.Metrics.SetOutboxDepth(n)
		}
		for platform, n := range d.Index.Platforms() {
			d.Metrics.SetSubscriptions(platform, n)
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
			if err := d.DB.Ping(); err != nil {
				return false, err.Error()
			}
			return true, ""
		}),
	})
	srv.Logger = d.log
	return srv
}
