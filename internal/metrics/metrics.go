// Package metrics holds Frontwire's Prometheus instruments: what the bot
// counts about polling feeds, matching stories and delivering alerts, kept in
// a registry of its own so that nothing depends on the process-wide default
// registry and tests can build as many independent sets as they like.
//
// A nil *Metrics is valid and records nothing, so components can be built in
// tests without metrics.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"frontwire/internal/chat"
)

// Namespace prefixes every metric name.
const Namespace = "frontwire"

// Poll outcomes for PollDone. Sources may use others, but a small fixed set
// keeps the number of series bounded.
const (
	OutcomeOK          = "ok"           // fetched and parsed
	OutcomeNotModified = "not_modified" // conditional GET answered 304
	OutcomeError       = "error"        // fetch or parse failed
)

// Failure reasons for Failed, as returned by FailureReason.
const (
	ReasonRateLimited = "rate_limited"
	ReasonChatGone    = "chat_gone"
	ReasonRejected    = "rejected"
	ReasonTimeout     = "timeout"
	ReasonOther       = "other"
)

// Metrics is the set of Frontwire's instruments and the registry they are
// served from.
type Metrics struct {
	reg *prometheus.Registry

	polls         *prometheus.CounterVec
	pollDuration  *prometheus.HistogramVec
	storiesSeen   prometheus.Counter
	matches       prometheus.Counter
	queued        *prometheus.CounterVec
	sent          *prometheus.CounterVec
	failed        *prometheus.CounterVec
	outboxDepth   prometheus.Gauge
	rateLimited   *prometheus.CounterVec
	subscriptions *prometheus.GaugeVec
}

// New builds the instruments on a fresh registry, together with the Go
// runtime and process collectors and a build_info gauge carrying version.
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "polls_total",
			Help: "Feed polls by source and outcome (ok, not_modified, error).",
		}, []string{"source", "outcome"}),
		pollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "poll_duration_seconds",
			Help: "Time taken by one feed poll, fetch and parse, by source.",
			// From a quick 304 on a near server to a slow feed close to
			// the fetch timeout.
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"source"}),
		storiesSeen: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "stories_seen_total",
			Help: "New stories read from all feeds (duplicates excluded).",
		}),
		matches: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "matches_total",
			Help: "Story and subscription pairs that matched.",
		}),
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "alerts_queued_total",
			Help: "Alerts written to the outbox, by platform.",
		}, []string{"platform"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "alerts_sent_total",
			Help: "Alerts the platform accepted, by platform.",
		}, []string{"platform"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "alerts_failed_total",
			Help: "Failed alert deliveries, by platform and reason.",
		}, []string{"platform", "reason"}),
		outboxDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "outbox_depth",
			Help: "Messages waiting in the outbox.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rate_limited_total",
			Help: "Rate-limit answers (HTTP 429) received, by platform.",
		}, []string{"platform"}),
		subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "subscriptions",
			Help: "Active subscriptions, by platform.",
		}, []string{"platform"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help: "Always 1; labelled with the Frontwire version and the Go version that built it.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)

	m.reg.MustRegister(
		m.polls, m.pollDuration, m.storiesSeen, m.matches,
		m.queued, m.sent, m.failed, m.outboxDepth, m.rateLimited,
		m.subscriptions, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// PollDone records one poll of source that ended with outcome after d.
func (m *Metrics) PollDone(source, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(source, outcome).Inc()
	m.pollDuration.WithLabelValues(source).Observe(d.Seconds())
}

// StoriesSeen adds n new stories. Negative n is ignored: a counter only grows.
func (m *Metrics) StoriesSeen(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.storiesSeen.Add(float64(n))
}

// Matched adds n story and subscription matches. Negative n is ignored.
func (m *Metrics) Matched(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.matches.Add(float64(n))
}

// Queued adds n alerts written to the outbox for platform. Negative n is
// ignored.
func (m *Metrics) Queued(platform string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.queued.WithLabelValues(platform).Add(float64(n))
}

// Sent records one alert accepted by platform.
func (m *Metrics) Sent(platform string) {
	if m == nil {
		return
	}
	m.sent.WithLabelValues(platform).Inc()
}

// Failed records one failed delivery to platform. reason should come from a
// small fixed set (see FailureReason) so the number of series stays bounded.
func (m *Metrics) Failed(platform, reason string) {
	if m == nil {
		return
	}
	m.failed.WithLabelValues(platform, reason).Inc()
}

// RateLimited records one rate-limit answer (HTTP 429) from platform.
func (m *Metrics) RateLimited(platform string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(platform).Inc()
}

// SetOutboxDepth sets the number of messages waiting in the outbox.
func (m *Metrics) SetOutboxDepth(n int) {
	if m == nil {
		return
	}
	m.outboxDepth.Set(float64(n))
}

// SetSubscriptions sets the number of active subscriptions on platform.
func (m *Metrics) SetSubscriptions(platform string, n int) {
	if m == nil {
		return
	}
	m.subscriptions.WithLabelValues(platform).Set(float64(n))
}

// Handler serves the registry in the Prometheus exposition formats. A nil
// Metrics serves 404, so a server built without metrics says so plainly.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// Keep serving the instruments that did gather when one collector
		// fails, rather than answering 500 and losing them all.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// Gatherer exposes the registry for callers that read values directly, such
// as a status command.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return prometheus.Gatherers{}
	}
	return m.reg
}

// FailureReason maps a delivery error to one of the Reason constants, using
// the sentinel and typed errors of package chat.
func FailureReason(err error) string {
	var retry *chat.RetryAfterError
	switch {
	case err == nil:
		return ReasonOther
	case errors.As(err, &retry):
		return ReasonRateLimited
	case errors.Is(err, chat.ErrChatGone):
		return ReasonChatGone
	case errors.Is(err, chat.ErrRejected):
		return ReasonRejected
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	default:
		return ReasonOther
	}
}
