package alerts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/storage"
)

// recorder is a platform that records what it was asked to send and can be
// told to fail per chat. It stands in for a chat service, not for Frontwire.
type recorder struct {
	mu    sync.Mutex
	sent  []chat.Message
	fail  map[string][]error // per chat key: errors to return, in order, before succeeding
	calls chan chat.Message
}

func newRecorder() *recorder {
	return &recorder{fail: map[string][]error{}, calls: make(chan chat.Message, 10000)}
}

func (r *recorder) Send(ctx context.Context, m chat.Message) (chat.Sent, error) {
	r.mu.Lock()
	defer func() { r.calls <- m }()
	defer r.mu.Unlock()
	if errs := r.fail[m.To.Key()]; len(errs) > 0 {
		r.fail[m.To.Key()] = errs[1:]
		return chat.Sent{}, errs[0]
	}
	r.sent = append(r.sent, m)
	return chat.Sent{MessageID: fmt.Sprint(len(r.sent))}, nil
}

func (r *recorder) texts(chatID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.sent {
		if m.To.Chat == chatID {
			out = append(out, m.Text)
		}
	}
	return out
}

type goneLog struct {
	mu    sync.Mutex
	chats []string
}

func (g *goneLog) ChatGone(ctx context.Context, a chat.Address, reason string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.chats = append(g.chats, a.Key())
	return nil
}

func openDB(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "frontwire.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func text(chatID, s string) chat.Message {
	return chat.Message{To: chat.Address{Platform: "test", Chat: chatID}, Kind: chat.KindText, Text: s}
}

// start runs a dispatcher until the test ends.
func start(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitIdle(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.WaitIdle(ctx); err != nil {
		t.Fatalf("dispatcher never became idle: %v", err)
	}
}

func TestDispatcherDeliversInOrderAndEmptiesOutbox(t *testing.T) {
	db := openDB(t)
	rec := newRecorder()
	var msgs []chat.Message
	for i := range 30 {
		msgs = append(msgs, text(fmt.Sprint("c", i%3), fmt.Sprint(i)))
	}
	// Half is in the outbox before the dispatcher starts (a restart), half
	// arrives through Notify while it runs.
	before, err := db.Enqueue(msgs[:15])
	if err != nil {
		t.Fatal(err)
	}
	_ = before
	d := NewDispatcher(DispatcherConfig{Outbox: db, Platforms: map[string]Platform{"test": {Sender: rec}}})
	start(t, d)
	after, err := db.Enqueue(msgs[15:])
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(after)
	d.Notify(after) // a repeated notification must not send twice
	waitIdle(t, d)
	for c := range 3 {
		got := rec.texts(fmt.Sprint("c", c))
		var want []string
		for i := c; i < 30; i += 3 {
			want = append(want, fmt.Sprint(i))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chat c%d got %v, want %v", c, got, want)
		}
	}
	if n, _ := db.OutboxLen(); n != 0 {
		t.Errorf("outbox holds %d messages after delivery, want 0", n)
	}
}

func TestDispatcherWaitsOutRateLimitWithoutStallingOtherChats(t *testing.T) {
	db := openDB(t)
	clk := clock.NewFake(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	rec := newRecorder()
	rec.fail["test:slow"] = []error{&chat.RetryAfterError{After: 30 * time.Second, Err: errors.New("429")}}
	d := NewDispatcher(DispatcherConfig{Outbox: db, Clock: clk, Platforms: map[string]Platform{"test": {Sender: rec}}})
	start(t, d)
	q, err := db.Enqueue([]chat.Message{text("slow", "a"), text("fast", "b"), text("slow", "c")})
	if err != nil {
		t.Fatal(err)
	}
	d.Notify(q)
	// The slow chat waits 30 s on the clock; the fast one is delivered now.
	clk.WaitForWaiters(1)
	for len(rec.texts("fast")) == 0 {
		<-rec.calls
	}
	if got := rec.texts("slow"); len(got) != 0 {
		t.Fatalf("slow chat sent %v before its retry_after passed", got)
	}
	clk.Advance(29 * time.Second)
	if got := rec.texts("slow"); len(got) != 0 {
		t.Fatalf("slow chat sent %v after 29 s of a 30 s retry_after", got)
	}
	clk.Advance(time.Second)
	waitIdle(t, d)
	if got := rec.texts("slow"); fmt.Sprint(got) != "[a c]" {
		t.Errorf("slow chat got %v, want [a c] once each in order", got)
	}
}

func TestDispatcherParksGoneChatAndResumes(t *testing.T) {
	db := openDB(t)
	rec := newRecorder()
	rec.fail["test:gone"] = []error{fmt.Errorf("forbidden: %w", chat.ErrChatGone)}
	gone := &goneLog{}
	d := NewDispatcher(DispatcherConfig{Outbox: db, Gone: gone, Platforms: map[string]Platform{"test": {Sender: rec}}})
	start(t, d)
	q, _ := db.Enqueue([]chat.Message{text("gone", "1"), text("gone", "2"), text("ok", "3")})
	d.Notify(q)
	waitIdle(t, d)
	if fmt.Sprint(gone.chats) != "[test:gone]" {
		t.Errorf("ChatGone calls = %v, want [test:gone]", gone.chats)
	}
	if n, _ := db.OutboxLen(); n != 2 {
		t.Errorf("outbox holds %d, want the 2 messages of the gone chat kept", n)
	}
	d.Resume(chat.Address{Platform: "test", Chat: "gone"})
	waitIdle(t, d)
	if got := rec.texts("gone"); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("after resume got %v, want [1 2]", got)
	}
	if n, _ := db.OutboxLen(); n != 0 {
		t.Errorf("outbox holds %d after resume, want 0", n)
	}
}

func TestDispatcherDropsRejectedAndRetriesTransient(t *testing.T) {
	db := openDB(t)
	clk := clock.NewFake(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	rec := newRecorder()
	rec.fail["test:a"] = []error{fmt.Errorf("bad request: %w", chat.ErrRejected), errors.New("502 bad gateway"), errors.New("connection reset")}
	d := NewDispatcher(DispatcherConfig{Outbox: db, Clock: clk, Platforms: map[string]Platform{"test": {Sender: rec}}})
	start(t, d)
	q, _ := db.Enqueue([]chat.Message{text("a", "rejected"), text("a", "flaky")})
	d.Notify(q)
	// Two transient failures: each waits a backoff on the clock.
	for range 2 {
		clk.WaitForWaiters(1)
		clk.Advance(10 * time.Second)
	}
	waitIdle(t, d)
	if got := rec.texts("a"); fmt.Sprint(got) != "[flaky]" {
		t.Errorf("sent %v, want only [flaky]", got)
	}
	dead, err := db.DeadLetters()
	if err != nil || len(dead) != 1 || dead[0].Message.Text != "rejected" {
		t.Errorf("dead letters = %+v, %v; want the rejected message", dead, err)
	}
}

func TestBucketKeepsAnAbsoluteSchedule(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b := newBucket(Rate{PerSecond: 10, Burst: 1}, t0)
	// Ten reservations at the same instant are spread 100 ms apart: the
	// schedule is absolute, so a late caller does not push later ones.
	for i := range 10 {
		got := b.reserve(t0)
		want := time.Duration(i) * 100 * time.Millisecond
		if got < want-time.Millisecond || got > want+time.Millisecond {
			t.Errorf("reservation %d waits %v, want %v", i, got, want)
		}
	}
	// After a block, nothing goes out before it ends.
	b2 := newBucket(Rate{PerSecond: 10, Burst: 5}, t0)
	b2.block(t0.Add(3 * time.Second))
	if got := b2.reserve(t0); got < 3*time.Second {
		t.Errorf("reservation during a 3 s block waits %v", got)
	}
	// A caller retrying exactly when a block ends (it slept retry_after)
	// goes at once, though its refused attempt spent the last token.
	b3 := newBucket(Rate{PerSecond: 0.95, Burst: 1}, t0)
	b3.reserve(t0)
	b3.block(t0.Add(time.Second))
	if got := b3.reserve(t0.Add(time.Second)); got != 0 {
		t.Errorf("reservation at the end of a block waits %v, want 0", got)
	}
	if got := b3.reserve(t0.Add(time.Second)); got < time.Second {
		t.Errorf("second reservation at the end of a block waits %v, want the pacing interval", got)
	}
}

// TestLastEditTimesAreSwept runs a bot's worth of edits, one a second over
// many alerts, and checks that the edit times kept stay bounded while the
// ones still holding an edit back survive every sweep.
func TestLastEditTimesAreSwept(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	d := NewDispatcher(DispatcherConfig{Clock: clk, EditInterval: time.Minute})
	to := chat.Address{Platform: "test", Chat: "1"}
	held := func(seq uint64) bool {
		q := &chatQueue{msgs: []chat.Message{{Seq: 1 << 40, To: to, Kind: chat.KindEdit, EditOf: seq}}}
		d.mu.Lock()
		defer d.mu.Unlock()
		_, ok, wait := d.nextLocked(q)
		return !ok && wait > 0
	}
	peak := 0
	for seq := uint64(1); seq <= 20000; seq++ {
		clk.Advance(time.Second)
		d.mu.Lock()
		d.noteEditLocked(seq)
		peak = max(peak, len(d.lastEdit))
		d.mu.Unlock()
		// The alert edited 59 s ago must still hold its next edit back,
		// whether or not this edit swept.
		if seq > 59 && !held(seq-59) {
			t.Fatalf("after edit %d: the edit of %d, 59 s ago, is not held back", seq, seq-59)
		}
	}
	if peak > minEditSweep {
		t.Errorf("edit times peaked at %d entries, want at most %d", peak, minEditSweep)
	}
	if held(19000) {
		t.Errorf("the edit of 19000, 1,000 s ago, is held back")
	}
}

// TestNewerEditReplacesQueuedOne checks how a chat's queue keeps edits: a
// newer edit of a message takes the place of the queued one, except one
// being sent; popping an edit forgets it only if it is still the newest.
func TestNewerEditReplacesQueuedOne(t *testing.T) {
	d := NewDispatcher(DispatcherConfig{Platforms: map[string]Platform{"test": {Sender: newRecorder()}}})
	to := chat.Address{Platform: "test", Chat: "1"}
	alert := chat.Message{Seq: 1, To: to, Kind: chat.KindAlert}
	edit := func(seq uint64) chat.Message {
		return chat.Message{Seq: seq, To: to, Kind: chat.KindEdit, EditOf: 1}
	}
	other := chat.Message{Seq: 9, To: to, Kind: chat.KindEdit, EditOf: 8}
	queued := func(step string, want ...uint64) {
		t.Helper()
		d.mu.Lock()
		defer d.mu.Unlock()
		var got []uint64
		for _, m := range d.queues[to.Key()].msgs {
			got = append(got, m.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(d.known) != len(want) {
			t.Fatalf("%s: queued %v (%d known), want %v", step, got, len(d.known), want)
		}
	}
	d.Notify([]chat.Message{alert, edit(2), edit(3)})
	queued("two edits", 1, 3)
	d.Notify([]chat.Message{edit(4), other})
	queued("a third, and another message's", 1, 4, 9)

	q := d.queues[to.Key()]
	d.mu.Lock()
	q.inflight = 4 // being sent: a newer edit may not take it away
	d.mu.Unlock()
	d.Notify([]chat.Message{edit(6)})
	queued("while 4 is sent", 1, 4, 6, 9)
	d.pop(q, 4)
	queued("4 sent", 1, 6, 9)
	d.Notify([]chat.Message{edit(7)})
	queued("after 4 was sent, 7 replaces 6", 1, 7, 9)

	// An older edit arriving late (a Notify overtaking the load) is
	// queued in order; the outbox has dropped it, so its turn drops it.
	d.Notify([]chat.Message{edit(5)})
	queued("a late 5", 1, 5, 7, 9)
	d.pop(q, 7)
	d.Notify([]chat.Message{edit(10)})
	queued("7 sent, then 10", 1, 5, 9, 10)
	d.Notify([]chat.Message{edit(11)})
	queued("11 replaces 10", 1, 5, 9, 11)
	d.pop(q, 11)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(q.edits) != 1 || q.edits[8] != 9 {
		t.Errorf("after 11 was sent the queue maps %v, want only 8 → 9", q.edits)
	}
}
