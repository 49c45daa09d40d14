package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"frontwire/internal/chat"
	"frontwire/internal/metrics"
)

// scrape fetches the handler's text exposition over real HTTP and parses it
// with Prometheus' own text parser, as a Prometheus server would.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ask for the classic text format: the parser below reads only that.
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels are
// exactly labels, failing the test if there is none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("family %s missing", name)
	}
	for _, m := range f.GetMetric() {
		if !sameLabels(m.GetLabel(), labels) {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
		t.Fatalf("family %s has unexpected type %s", name, f.GetType())
	}
	t.Fatalf("family %s has no series %v", name, labels)
	return 0
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
	}
	return true
}

func TestScrapedValues(t *testing.T) {
	m := metrics.New("v1.2.3")
	m.PollDone("bbc", metrics.OutcomeOK, 300*time.Millisecond)
	m.PollDone("bbc", metrics.OutcomeOK, 2*time.Second)
	m.PollDone("bbc", metrics.OutcomeError, time.Second)
	m.PollDone("reuters", metrics.OutcomeNotModified, 40*time.Millisecond)
	m.StoriesSeen(7)
	m.StoriesSeen(3)
	m.StoriesSeen(-5) // ignored: counters never go down
	m.Matched(4)
	m.Matched(0)
	m.Queued("telegram", 3)
	m.Queued("discord", 1)
	m.Sent("telegram")
	m.Sent("telegram")
	m.Failed("discord", metrics.ReasonChatGone)
	m.RateLimited("telegram")
	m.RateLimited("telegram")
	m.RateLimited("discord")
	m.SetOutboxDepth(9)
	m.SetOutboxDepth(5) // a gauge keeps the last value
	m.SetSubscriptions("telegram", 12)
	m.SetSubscriptions("discord", 2)

	fams := scrape(t, m.Handler())

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"frontwire_polls_total", map[string]string{"source": "bbc", "outcome": "ok"}, 2},
		{"frontwire_polls_total", map[string]string{"source": "bbc", "outcome": "error"}, 1},
		{"frontwire_polls_total", map[string]string{"source": "reuters", "outcome": "not_modified"}, 1},
		{"frontwire_poll_duration_seconds", map[string]string{"source": "bbc"}, 3},
		{"frontwire_poll_duration_seconds", map[string]string{"source": "reuters"}, 1},
		{"frontwire_stories_seen_total", nil, 10},
		{"frontwire_matches_total", nil, 4},
		{"frontwire_alerts_queued_total", map[string]string{"platform": "telegram"}, 3},
		{"frontwire_alerts_queued_total", map[string]string{"platform": "discord"}, 1},
		{"frontwire_alerts_sent_total", map[string]string{"platform": "telegram"}, 2},
		{"frontwire_alerts_failed_total", map[string]string{"platform": "discord", "reason": "chat_gone"}, 1},
		{"frontwire_rate_limited_total", map[string]string{"platform": "telegram"}, 2},
		{"frontwire_rate_limited_total", map[string]string{"platform": "discord"}, 1},
		{"frontwire_outbox_depth", nil, 5},
		{"frontwire_subscriptions", map[string]string{"platform": "telegram"}, 12},
		{"frontwire_subscriptions", map[string]string{"platform": "discord"}, 2},
		{"frontwire_build_info", map[string]string{"version": "v1.2.3", "goversion": runtime.Version()}, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v", tt.name, tt.labels), func(t *testing.T) {
			if got := value(t, fams, tt.name, tt.labels); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("histogram sum and buckets", func(t *testing.T) {
		var h *dto.Histogram
		for _, s := range fams["frontwire_poll_duration_seconds"].GetMetric() {
			if sameLabels(s.GetLabel(), map[string]string{"source": "bbc"}) {
				h = s.GetHistogram()
			}
		}
		if h == nil {
			t.Fatal("no bbc histogram")
		}
		if got, want := h.GetSampleSum(), 3.3; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("sum %v, want %v", got, want)
		}
		// 0.3 s and 1 s fall at or under the 1 s bucket, 2 s does not.
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == 1 && b.GetCumulativeCount() != 2 {
				t.Errorf("le=1 bucket holds %d, want 2", b.GetCumulativeCount())
			}
		}
	})

	t.Run("runtime collectors present", func(t *testing.T) {
		for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
			if _, ok := fams[name]; !ok {
				// The process collector exists only where procfs does;
				// the Go collector everywhere.
				if name == "process_start_time_seconds" && runtime.GOOS != "linux" {
					continue
				}
				t.Errorf("family %s missing", name)
			}
		}
	})
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := metrics.New("a"), metrics.New("b")
	a.Sent("telegram")
	fams := scrape(t, b.Handler())
	if f, ok := fams["frontwire_alerts_sent_total"]; ok && len(f.GetMetric()) > 0 {
		t.Fatalf("b saw a's series: %v", f)
	}
	if got := value(t, scrape(t, a.Handler()), "frontwire_alerts_sent_total", map[string]string{"platform": "telegram"}); got != 1 {
		t.Fatalf("a sent = %v, want 1", got)
	}
}

func TestNilMetricsRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	// None of these may panic: components built without metrics call them.
	m.PollDone("x", metrics.OutcomeOK, time.Second)
	m.StoriesSeen(1)
	m.Matched(1)
	m.Queued("telegram", 1)
	m.Sent("telegram")
	m.Failed("telegram", metrics.ReasonOther)
	m.RateLimited("telegram")
	m.SetOutboxDepth(1)
	m.SetSubscriptions("telegram", 1)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("nil handler status %d, want 404", rec.Code)
	}
	if fams, err := m.Gatherer().Gather(); err != nil || len(fams) != 0 {
		t.Fatalf("nil gatherer = %v, %v", fams, err)
	}
}

func TestFailureReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"retry after", fmt.Errorf("send: %w", &chat.RetryAfterError{After: time.Second, Err: errors.New("429")}), metrics.ReasonRateLimited},
		{"chat gone", fmt.Errorf("send: %w", chat.ErrChatGone), metrics.ReasonChatGone},
		{"rejected", fmt.Errorf("send: %w", chat.ErrRejected), metrics.ReasonRejected},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), metrics.ReasonTimeout},
		{"other", errors.New("boom"), metrics.ReasonOther},
		{"nil", nil, metrics.ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metrics.FailureReason(tt.err); got != tt.want {
				t.Errorf("FailureReason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestHandlerTwice(t *testing.T) {
	// Servers may build their routes more than once (tests, restarts of the
	// listener); a second handler must share the registry, not panic.
	m := metrics.New("x")
	_ = m.Handler()
	m.Matched(2)
	if got := value(t, scrape(t, m.Handler()), "frontwire_matches_total", nil); got != 2 {
		t.Fatalf("matches = %v, want 2", got)
	}
}
