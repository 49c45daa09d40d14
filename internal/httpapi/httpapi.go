// Package httpapi is Frontwire's small operations listener: /healthz for
// container health checks and load balancers, and /metrics for Prometheus.
// It carries no chat traffic and no secrets; it is meant to be reachable by
// the operator's monitoring, not by the public.
//
// The same package holds Probe, the client side of /healthz, which the
// bot's "healthcheck" subcommand uses because minimal images have no curl.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"frontwire/internal/metrics"
)

// Checker reports whether one part of the bot is healthy. A platform that
// is reconnecting should report ok: the bot will recover on its own, and a
// restart by the orchestrator would not help.
type Checker interface {
	Health(ctx context.Context) (ok bool, reason string)
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func(ctx context.Context) (ok bool, reason string)

// Health calls f.
func (f CheckerFunc) Health(ctx context.Context) (bool, string) { return f(ctx) }

// Check is a named Checker; the name prefixes its reason in a 503 answer.
type Check struct {
	Name    string
	Checker Checker
}

// Health answers as served by /healthz.
type Health struct {
	Status string `json:"status"`           // StatusOK or StatusUnavailable
	Reason string `json:"reason,omitempty"` // why not, for each failing check
}

// The two values of Health.Status.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
)

// Defaults for Server; they may be changed before Run.
const (
	DefaultCheckTimeout    = 2 * time.Second
	DefaultShutdownTimeout = 5 * time.Second
)

// Server serves /healthz and /metrics.
type Server struct {
	listen string
	m      *metrics.Metrics
	checks []Check

	// Logger receives one line per listener start, stop and failure.
	// Nil discards.
	Logger *slog.Logger
	// CheckTimeout bounds the whole of one /healthz evaluation, so that
	// a stuck check answers 503 instead of hanging the probe.
	CheckTimeout time.Duration
	// ShutdownTimeout bounds the wait for requests in flight when Run's
	// context ends.
	ShutdownTimeout time.Duration
}

// New returns a server that will listen on listen (such as ":8080") and
// serve m's instruments at /metrics and the result of checks at /healthz.
// A nil m leaves /metrics answering 404.
func New(listen string, m *metrics.Metrics, checks ...Check) *Server {
	return &Server{
		listen:          listen,
		m:               m,
		checks:          checks,
		CheckTimeout:    DefaultCheckTimeout,
		ShutdownTimeout: DefaultShutdownTimeout,
	}
}

// Handler returns the routes, for embedding or for tests.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.m.Handler())
	return mux
}

// Run listens on the configured address and serves until ctx ends, then
// shuts down gracefully. It returns nil after a shutdown caused by ctx.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.listen)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", s.listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests pass one on port 0
// and so know the address before the first request). It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	log := s.logger()
	srv := &http.Server{
		Handler: s.Handler(),
		// The listener faces monitoring, but may be exposed by mistake:
		// do not let slow clients hold connections open for ever.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("http listening", slog.String("addr", ln.Addr().String()))

	select {
	case err := <-errc:
		return fmt.Errorf("http serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc // Serve has returned http.ErrServerClosed by now.
	if err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	log.Info("http stopped")
	return nil
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	timeout := s.CheckTimeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	h := s.evaluate(ctx)
	code := http.StatusOK
	if h.Status != StatusOK {
		code = http.StatusServiceUnavailable
		s.logger().Warn("health check failed", slog.String("reason", h.Reason))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	// The body is tiny; an error here means the client went away.
	_ = json.NewEncoder(w).Encode(h)
}

// evaluate runs every check concurrently and waits for all of them or for
// ctx, whichever comes first. A check that has not answered by then fails
// with "timed out"; one that panics fails with "panicked".
func (s *Server) evaluate(ctx context.Context) Health {
	type result struct {
		i      int
		ok     bool
		reason string
	}
	results := make(chan result, len(s.checks)) // buffered: late checks never block
	for i, c := range s.checks {
		go func() {
			defer func() {
				if p := recover(); p != nil {
					results <- result{i, false, "panicked"}
				}
			}()
			if c.Checker == nil {
				results <- result{i, false, "no checker"}
				return
			}
			ok, reason := c.Checker.Health(ctx)
			results <- result{i, ok, reason}
		}()
	}
	failed := make(map[int]string)
	pending := make(map[int]bool, len(s.checks))
	for i := range s.checks {
		pending[i] = true
	}
	for len(pending) > 0 {
		select {
		case r := <-results:
			delete(pending, r.i)
			if !r.ok {
				if r.reason == "" {
					r.reason = "failed"
				}
				failed[r.i] = r.reason
			}
		case <-ctx.Done():
			for i := range pending {
				failed[i] = "timed out"
			}
			pending = nil
		}
	}
	if len(failed) == 0 {
		return Health{Status: StatusOK}
	}
	idx := make([]int, 0, len(failed))
	for i := range failed {
		idx = append(idx, i)
	}
	sort.Ints(idx) // in the order the checks were given, for stable answers
	parts := make([]string, 0, len(idx))
	for _, i := range idx {
		name := s.checks[i].Name
		if name == "" {
			name = fmt.Sprintf("check %d", i)
		}
		parts = append(parts, name+": "+failed[i])
	}
	return Health{Status: StatusUnavailable, Reason: strings.Join(parts, "; ")}
}

// ErrUnhealthy is wrapped by Probe's error when the server answered but not
// with 200 OK.
var ErrUnhealthy = errors.New("unhealthy")

// maxProbeBody caps what Probe reads of an answer: /healthz answers are a
// few dozen bytes, and the URL may point somewhere unexpected.
const maxProbeBody = 64 << 10

// Probe GETs url (a /healthz address) and returns nil on 200 OK. Any other
// status returns an error wrapping ErrUnhealthy with the reason the server
// gave; a connection failure returns that error. A nil client uses one with
// a five-second timeout.
func Probe(ctx context.Context, url string, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health probe %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health probe: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil && resp.StatusCode == http.StatusOK {
		return fmt.Errorf("health probe %s: read answer: %w", url, err)
	}
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	reason := strings.TrimSpace(string(body))
	var h Health
	if json.Unmarshal(body, &h) == nil && h.Reason != "" {
		reason = h.Reason
	}
	reason = truncate(reason, 200)
	if reason == "" {
		return fmt.Errorf("health probe %s: %w: %s", url, ErrUnhealthy, resp.Status)
	}
	return fmt.Errorf("health probe %s: %w: %s: %s", url, ErrUnhealthy, resp.Status, reason)
}

// truncate shortens s to at most n runes, so that a large error page does
// not flood the health check log.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// ProbeURL turns a listen address such as ":8080", "0.0.0.0:8080" or
// "[::]:8080" into the loopback /healthz URL a probe inside the same
// container or host should use.
func ProbeURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return "", fmt.Errorf("http listen %q: want host:port such as \":8080\"", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
