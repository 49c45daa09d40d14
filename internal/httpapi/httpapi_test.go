package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"frontwire/internal/httpapi"
	"frontwire/internal/metrics"
)

func okCheck(name string) httpapi.Check {
	return httpapi.Check{Name: name, Checker: httpapi.CheckerFunc(func(context.Context) (bool, string) { return true, "" })}
}

func failCheck(name, reason string) httpapi.Check {
	return httpapi.Check{Name: name, Checker: httpapi.CheckerFunc(func(context.Context) (bool, string) { return false, reason })}
}

// start serves s on a loopback port until the test ends and returns its
// base URL.
func start(t *testing.T, s *httpapi.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		checks     []httpapi.Check
		wantCode   int
		wantStatus string
		wantReason string
	}{
		{"no checks", nil, 200, "ok", ""},
		{"all ok", []httpapi.Check{okCheck("storage"), okCheck("telegram")}, 200, "ok", ""},
		{"storage closed", []httpapi.Check{failCheck("storage", "database is closed"), okCheck("telegram")}, 503, "unavailable", "storage: database is closed"},
		{"two failing, in given order", []httpapi.Check{failCheck("telegram", "auth failed"), okCheck("storage"), failCheck("discord", "token revoked")}, 503, "unavailable", "telegram: auth failed; discord: token revoked"},
		{"failing without reason", []httpapi.Check{failCheck("storage", "")}, 503, "unavailable", "storage: failed"},
		{"unnamed check", []httpapi.Check{failCheck("", "broken")}, 503, "unavailable", "check 0: broken"},
		{"nil checker", []httpapi.Check{{Name: "storage"}}, 503, "unavailable", "storage: no checker"},
		{"panicking check", []httpapi.Check{{Name: "discord", Checker: httpapi.CheckerFunc(func(context.Context) (bool, string) { panic("boom") })}}, 503, "unavailable", "discord: panicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := start(t, httpapi.New("", nil, tt.checks...))
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var h httpapi.Health
			if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if h.Status != tt.wantStatus || h.Reason != tt.wantReason {
				t.Errorf("got %+v, want status %q reason %q", h, tt.wantStatus, tt.wantReason)
			}
		})
	}
}

func TestHealthzExactBody(t *testing.T) {
	h := httpapi.New("", nil, failCheck("storage", "database is closed")).Handler()
	tests := []struct {
		name   string
		h      http.Handler
		want   string
		status int
	}{
		{"ok", httpapi.New("", nil).Handler(), `{"status":"ok"}`, 200},
		{"unavailable", h, `{"status":"unavailable","reason":"storage: database is closed"}`, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tt.status || strings.TrimSpace(rec.Body.String()) != tt.want {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
		})
	}
}

func TestHealthzStuckCheckTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := httpapi.CheckerFunc(func(ctx context.Context) (bool, string) {
		// Ignores ctx on purpose: the server must not wait for it.
		<-release
		return true, ""
	})
	s := httpapi.New("", nil, okCheck("storage"), httpapi.Check{Name: "telegram", Checker: stuck})
	s.CheckTimeout = 20 * time.Millisecond
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "telegram: timed out") {
		t.Fatalf("got %d %s, want 503 naming telegram as timed out", rec.Code, rec.Body.String())
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name    string
		metrics bool
		method  string
		path    string
		want    int
	}{
		{"healthz HEAD", false, http.MethodHead, "/healthz", 200},
		{"healthz POST refused", false, http.MethodPost, "/healthz", 405},
		{"metrics without Metrics", false, http.MethodGet, "/metrics", 404},
		{"metrics", true, http.MethodGet, "/metrics", 200},
		{"unknown path", true, http.MethodGet, "/admin", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *metrics.Metrics
			if tt.metrics {
				m = metrics.New("test")
			}
			rec := httptest.NewRecorder()
			httpapi.New("", m).Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.want)
			}
		})
	}
}

// TestMetricsScrape reads /metrics over HTTP with Prometheus' text parser
// after driving every instrument, as Prometheus itself would scrape it.
func TestMetricsScrape(t *testing.T) {
	m := metrics.New("1.4.0")
	base := start(t, httpapi.New("", m, okCheck("storage")))

	m.PollDone("bbc", metrics.OutcomeOK, 120*time.Millisecond)
	m.PollDone("bbc", metrics.OutcomeError, 3*time.Second)
	m.StoriesSeen(25)
	m.Matched(6)
	m.Queued("telegram", 4)
	m.Queued("discord", 2)
	m.Sent("telegram")
	m.Sent("discord")
	m.Failed("telegram", metrics.ReasonRateLimited)
	m.RateLimited("telegram")
	m.SetOutboxDepth(3)
	m.SetSubscriptions("telegram", 8)

	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}

	type series struct {
		family string
		typ    dto.MetricType
		labels string // name=value pairs joined by ",", in label-name order
		want   float64
	}
	tests := []series{
		{"frontwire_polls_total", dto.MetricType_COUNTER, "outcome=ok,source=bbc", 1},
		{"frontwire_polls_total", dto.MetricType_COUNTER, "outcome=error,source=bbc", 1},
		{"frontwire_poll_duration_seconds", dto.MetricType_HISTOGRAM, "source=bbc", 2},
		{"frontwire_stories_seen_total", dto.MetricType_COUNTER, "", 25},
		{"frontwire_matches_total", dto.MetricType_COUNTER, "", 6},
		{"frontwire_alerts_queued_total", dto.MetricType_COUNTER, "platform=telegram", 4},
		{"frontwire_alerts_queued_total", dto.MetricType_COUNTER, "platform=discord", 2},
		{"frontwire_alerts_sent_total", dto.MetricType_COUNTER, "platform=telegram", 1},
		{"frontwire_alerts_sent_total", dto.MetricType_COUNTER, "platform=discord", 1},
		{"frontwire_alerts_failed_total", dto.MetricType_COUNTER, "platform=telegram,reason=rate_limited", 1},
		{"frontwire_rate_limited_total", dto.MetricType_COUNTER, "platform=telegram", 1},
		{"frontwire_outbox_depth", dto.MetricType_GAUGE, "", 3},
		{"frontwire_subscriptions", dto.MetricType_GAUGE, "platform=telegram", 8},
		{"frontwire_build_info", dto.MetricType_GAUGE, "goversion=" + goVersion(t, fams) + ",version=1.4.0", 1},
	}
	for _, tt := range tests {
		t.Run(tt.family+"{"+tt.labels+"}", func(t *testing.T) {
			f, ok := fams[tt.family]
			if !ok {
				t.Fatalf("family missing; have %d families", len(fams))
			}
			if f.GetType() != tt.typ {
				t.Fatalf("type %s, want %s", f.GetType(), tt.typ)
			}
			for _, s := range f.GetMetric() {
				if labelString(s) != tt.labels {
					continue
				}
				var got float64
				switch tt.typ {
				case dto.MetricType_COUNTER:
					got = s.GetCounter().GetValue()
				case dto.MetricType_GAUGE:
					got = s.GetGauge().GetValue()
				case dto.MetricType_HISTOGRAM:
					got = float64(s.GetHistogram().GetSampleCount())
				}
				if got != tt.want {
					t.Errorf("value %v, want %v", got, tt.want)
				}
				return
			}
			t.Errorf("no series with labels %q", tt.labels)
		})
	}
}

// goVersion reads the goversion label of build_info so the table above can
// name the exact series.
func goVersion(t *testing.T, fams map[string]*dto.MetricFamily) string {
	t.Helper()
	for _, s := range fams["frontwire_build_info"].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "goversion" {
				return l.GetValue()
			}
		}
	}
	t.Fatal("build_info has no goversion label")
	return ""
}

func labelString(m *dto.Metric) string {
	parts := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() { // the parser returns labels sorted by name
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

// TestGracefulShutdown cancels Run's context while a /healthz request is in
// flight: the request must still get its answer and Serve must return nil.
func TestGracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := httpapi.CheckerFunc(func(context.Context) (bool, string) {
		close(entered)
		<-release
		return true, ""
	})
	s := httpapi.New("", nil, httpapi.Check{Name: "slow", Checker: slow})
	s.CheckTimeout = time.Minute // the test releases the check itself

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/healthz"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()

	<-entered
	// Shutdown begins while the check is still running; a server that
	// closed connections instead of draining them would drop the request.
	cancel()
	close(release)
	if code := <-answered; code != http.StatusOK {
		t.Fatalf("in-flight request got %d, want 200", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after shutdown: %v", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("server still answering after shutdown")
	}
}

func TestRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The port is taken, so Run must fail at once rather than serve.
	err = httpapi.New(ln.Addr().String(), nil).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "http listen") {
		t.Fatalf("Run on a busy port = %v, want a listen error", err)
	}
}

func TestRunReturnsNilWhenCancelled(t *testing.T) {
	// Serving itself is shown through Serve above; this shows that Run
	// binds the configured address and treats cancellation as a clean stop.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := httpapi.New("127.0.0.1:0", nil).Run(ctx); err != nil {
		t.Fatalf("Run with a cancelled context = %v, want nil", err)
	}
}

func TestProbe(t *testing.T) {
	answer := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name          string
		handler       http.Handler
		wantErr       bool
		wantUnhealthy bool
		wantInErr     string
	}{
		{"healthy server", httpapi.New("", nil, okCheck("storage")).Handler(), false, false, ""},
		{"unhealthy server", httpapi.New("", nil, failCheck("storage", "database is closed")).Handler(), true, true, "storage: database is closed"},
		{"plain 500", answer(500, "proxy error"), true, true, "proxy error"},
		{"empty 502", answer(502, ""), true, true, "502 Bad Gateway"},
		{"huge body is cut", answer(500, strings.Repeat("x", 100000)), true, true, "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			err := httpapi.Probe(context.Background(), srv.URL+"/healthz", srv.Client())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Probe = %v, wantErr %v", err, tt.wantErr)
			}
			if errors.Is(err, httpapi.ErrUnhealthy) != tt.wantUnhealthy {
				t.Errorf("errors.Is(ErrUnhealthy) = %v for %v", !tt.wantUnhealthy, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantInErr)
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}

	t.Run("nothing listening", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/healthz"
		srv.Close()
		err := httpapi.Probe(context.Background(), url, nil)
		if err == nil || errors.Is(err, httpapi.ErrUnhealthy) {
			t.Fatalf("Probe on a closed port = %v, want a connection error", err)
		}
	})
	t.Run("bad url", func(t *testing.T) {
		if err := httpapi.Probe(context.Background(), "http://bad host/", nil); err == nil {
			t.Fatal("Probe accepted a malformed URL")
		}
	})
}

func TestProbeURL(t *testing.T) {
	tests := []struct {
		listen, want string
		wantErr      bool
	}{
		{":8080", "http://127.0.0.1:8080/healthz", false},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/healthz", false},
		{"127.0.0.1:8080", "http://127.0.0.1:8080/healthz", false},
		{"[::]:8080", "http://[::1]:8080/healthz", false},
		{"10.1.2.3:80", "http://10.1.2.3:80/healthz", false},
		{"8080", "", true},
		{"host:", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			got, err := httpapi.ProbeURL(tt.listen)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ProbeURL(%q) = %q, %v; want %q, err %v", tt.listen, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
