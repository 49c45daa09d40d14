package discord

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"frontwire/internal/clock"
)

func TestTokenBucketPacesRequests(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fc := clock.NewFake(start)
	b := newTokenBucket(fc, 10, 1) // one request per 100 ms
	ctx := t.Context()
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("first request waited: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Wait(ctx) }()
	fc.WaitForWaiters(1)
	fc.Advance(99 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("second request went before its token was earned")
	default:
	}
	fc.Advance(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// An idle second earns one token only: the burst is capped.
	fc.Advance(time.Second)
	if d := b.reserve(); d != 0 {
		t.Errorf("after idling, first wait = %v, want 0", d)
	}
	if d := b.reserve(); d != 100*time.Millisecond {
		t.Errorf("after idling, second wait = %v, want 100ms", d)
	}
}

func TestTokenBucketCancelled(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	b := newTokenBucket(fc, 1, 1)
	_ = b.reserve()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Wait(ctx); err == nil {
		t.Fatal("cancelled wait returned nil")
	}
	// The abandoned token was given back: the next caller waits one
	// interval, not two.
	if d := b.reserve(); d != time.Second {
		t.Errorf("wait after cancel = %v, want 1s", d)
	}
}

func TestTransportRewritesAndExemptsInteractions(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Host+" "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/proxy/")
	fc := clock.NewFake(time.Unix(0, 0))
	tr := &transport{base: http.DefaultTransport, rewrite: u, limit: newTokenBucket(fc, 1, 1)}
	c := &http.Client{Transport: tr}
	for _, p := range []string{
		"https://discord.com/api/v9/channels/1/messages?x=1",
		// The bucket is empty now; interaction answers must not wait for it.
		"https://discord.com/api/v9/interactions/5/tok/callback",
		"https://discord.com/api/v9/webhooks/1/tok/messages/@original",
	} {
		resp, err := c.Get(p)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	want := []string{
		u.Host + " /proxy/api/v9/channels/1/messages?x=1",
		u.Host + " /proxy/api/v9/interactions/5/tok/callback?",
		u.Host + " /proxy/api/v9/webhooks/1/tok/messages/@original?",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d went to %q, want %q", i, got[i], want[i])
		}
	}
}
