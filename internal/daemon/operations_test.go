package daemon

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"frontwire/internal/chat"
)

// subscriptionGauge refreshes the gauges once and returns
// frontwire_subscriptions for platform, as /metrics shows it (-1: absent).
func subscriptionGauge(t *testing.T, d *Daemon, platform string) float64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one refresh, then return
	if err := d.refreshGauges(ctx); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	d.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, m := range fams["frontwire_subscriptions"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "platform" && l.GetValue() == platform {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// TestSubscriptionGaugeCountsActive checks that the subscriptions gauge
// counts a platform's active subscriptions, not paused ones, follows
// commands, and falls to 0 when the last one goes.
func TestSubscriptionGaugeCountsActive(t *testing.T) {
	d := newDaemon(t, t.TempDir(), "http://127.0.0.1:1/feed", newChatService())
	defer d.Close()
	command := func(name, args string) string {
		t.Helper()
		return d.Service.Handle(context.Background(), chat.Command{
			From: chat.Address{Platform: "test", Chat: "42"}, User: "7", Kind: chat.Private,
			Name: name, Args: args, CanManage: true,
		}).Text
	}
	subscribe(t, d, "Witkoff")
	subscribe(t, d, "Kushner")
	if got := subscriptionGauge(t, d, "test"); got != 2 {
		t.Fatalf("two subscriptions: gauge %v, want 2", got)
	}
	if r := command("pause", "1"); !strings.Contains(strings.ToLower(r), "paused") {
		t.Fatalf("pause 1: %s", r)
	}
	if got := subscriptionGauge(t, d, "test"); got != 1 {
		t.Errorf("one of two paused: gauge %v, want 1", got)
	}
	if r := command("unsubscribe", "all"); !strings.HasPrefix(r, "Removed all 2") {
		t.Fatalf("unsubscribe all: %s", r)
	}
	if got := subscriptionGauge(t, d, "test"); got != 0 {
		t.Errorf("none left: gauge %v, want 0", got)
	}
}
