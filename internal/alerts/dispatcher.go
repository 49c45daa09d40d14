package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
)

// Sender delivers one message on one platform. It returns chat.ErrChatGone
// (wrapped) when the chat cannot be reached any more, chat.ErrRejected when
// this message can never be sent, a *chat.RetryAfterError on a rate limit,
// and any other error for a transient failure.
type Sender interface {
	Send(ctx context.Context, m chat.Message) (chat.Sent, error)
}

// Outbox is the durable queue the dispatcher drains. Every message is in it
// before it is sent, and leaves it only once the platform accepted it (Ack)
// or refused it for good (Drop).
type Outbox interface {
	Pending() ([]chat.Message, error)
	Ack(seq uint64, sent chat.Sent) error
	Drop(seq uint64, reason string) error
}

// ChatGoner is told when a chat can no longer be reached, so that its
// subscriptions are paused (and kept).
type ChatGoner interface {
	ChatGone(ctx context.Context, a chat.Address, reason string) error
}

// Platform is one chat platform as the dispatcher sees it.
type Platform struct {
	Sender Sender
	// Global limits every send on the platform; PerChat gives the limits
	// of one chat (nil: none). All apply together.
	Global  []Rate
	PerChat func(chat.Address) []Rate
}

// Observer receives delivery events (metrics). Any method may be a no-op.
type Observer interface {
	Sent(platform string)
	Failed(platform, reason string)
	RateLimited(platform string)
}

// DispatcherConfig wires a Dispatcher.
type DispatcherConfig struct {
	Outbox    Outbox
	Platforms map[string]Platform
	Gone      ChatGoner
	Clock     clock.Clock
	Logger    *slog.Logger
	Observer  Observer
	// SendTimeout bounds one send. An in-flight send is not cancelled by
	// shutdown: it finishes (or times out) and is acknowledged, so a
	// stop never turns a delivered message into a duplicate.
	SendTimeout time.Duration
	// MaxBackoff caps the wait between retries of a transient failure.
	MaxBackoff time.Duration
}

// Dispatcher sends queued messages in order per chat. Each chat with
// pending messages has its own worker, so one slow or rate-limited chat
// never holds up the others; platform-wide limits are shared buckets.
type Dispatcher struct {
	cfg    DispatcherConfig
	log    *slog.Logger
	clk    clock.Clock
	global map[string][]*bucket

	mu      sync.Mutex
	queues  map[string]*chatQueue // by chat.Address.Key()
	known   map[uint64]bool       // seqs queued or in flight
	parked  map[string]bool       // chats whose platform said they are gone
	running bool
	ctx     context.Context
	wg      sync.WaitGroup
	idle    *sync.Cond
	active  int // workers running
	rng     *rand.Rand
}

type chatQueue struct {
	msgs    []chat.Message
	running bool
	buckets []*bucket
	moveTo  *chat.Address // set by Move while the worker runs
}

// NewDispatcher returns a dispatcher; Run starts it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	d := &Dispatcher{
		cfg:    cfg,
		log:    cfg.Logger,
		clk:    cfg.Clock,
		global: map[string][]*bucket{},
		queues: map[string]*chatQueue{},
		known:  map[uint64]bool{},
		parked: map[string]bool{},
		rng:    rand.New(rand.NewPCG(uint64(cfg.Clock.Now().UnixNano()), 0x5eed)),
	}
	d.idle = sync.NewCond(&d.mu)
	now := cfg.Clock.Now()
	for name, p := range cfg.Platforms {
		for _, r := range p.Global {
			d.global[name] = append(d.global[name], newBucket(r, now))
		}
	}
	return d
}

// Run loads the outbox and delivers until ctx is done, then waits for the
// workers to finish their in-flight sends.
func (d *Dispatcher) Run(ctx context.Context) error {
	pending, err := d.cfg.Outbox.Pending()
	if err != nil {
		return fmt.Errorf("dispatcher: load outbox: %w", err)
	}
	d.mu.Lock()
	d.ctx = ctx
	d.running = true
	d.addLocked(pending)
	for key := range d.queues {
		d.startLocked(key)
	}
	d.mu.Unlock()
	if len(pending) > 0 {
		d.log.Info("outbox loaded", "pending", len(pending))
	}
	<-ctx.Done()
	d.wg.Wait()
	d.mu.Lock()
	d.running = false
	d.mu.Unlock()
	return nil
}

// Notify hands the dispatcher messages that were just written to the
// outbox. Messages it already holds are ignored, so Notify and the initial
// load may overlap.
func (d *Dispatcher) Notify(msgs []chat.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(msgs)
}

// Resume restarts delivery to a chat that was parked because its platform
// said it was gone.
func (d *Dispatcher) Resume(a chat.Address) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.parked, a.Key())
	d.startLocked(a.Key())
}

// Move re-homes the messages queued for one chat to another (a Telegram
// group that became a supergroup); storage has already moved them. A queue
// whose worker is sending is moved when the worker stops.
func (d *Dispatcher) Move(from, to chat.Address) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.parked, from.Key())
	q := d.queues[from.Key()]
	if q == nil {
		return
	}
	if q.running {
		q.moveTo = &to
		return
	}
	d.moveLocked(from.Key(), q, to)
}

func (d *Dispatcher) moveLocked(key string, q *chatQueue, to chat.Address) {
	delete(d.queues, key)
	delete(d.parked, key)
	msgs := q.msgs
	for i := range msgs {
		delete(d.known, msgs[i].Seq)
		msgs[i].To.Platform, msgs[i].To.Chat = to.Platform, to.Chat
	}
	d.addLocked(msgs)
}

// Pending returns how many messages the dispatcher holds (queued or in
// flight, parked chats included).
func (d *Dispatcher) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.known)
}

// WaitIdle blocks until no message is deliverable (every queue is empty or
// parked) or ctx is done.
func (d *Dispatcher) WaitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.idle.Broadcast()
		d.mu.Unlock()
	})
	defer stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.active > 0 || !d.running {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.idle.Wait()
	}
	return nil
}

func (d *Dispatcher) addLocked(msgs []chat.Message) {
	touched := map[string]bool{}
	for _, m := range msgs {
		if d.known[m.Seq] {
			continue
		}
		if _, ok := d.cfg.Platforms[m.To.Platform]; !ok {
			d.log.Warn("message for a platform that is not running stays queued", "platform", m.To.Platform, "seq", m.Seq)
			continue
		}
		d.known[m.Seq] = true
		key := m.To.Key()
		q := d.queues[key]
		if q == nil {
			q = &chatQueue{}
			p := d.cfg.Platforms[m.To.Platform]
			if p.PerChat != nil {
				for _, r := range p.PerChat(m.To) {
					q.buckets = append(q.buckets, newBucket(r, d.clk.Now()))
				}
			}
			d.queues[key] = q
		}
		// Keep each queue in outbox order even when a Notify overtakes the
		// initial load.
		i := sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].Seq > m.Seq })
		q.msgs = append(q.msgs, chat.Message{})
		copy(q.msgs[i+1:], q.msgs[i:])
		q.msgs[i] = m
		touched[key] = true
	}
	for key := range touched {
		d.startLocked(key)
	}
}

func (d *Dispatcher) startLocked(key string) {
	q := d.queues[key]
	if !d.running || q == nil || q.running || len(q.msgs) == 0 || d.parked[key] || d.ctx.Err() != nil {
		return
	}
	q.running = true
	d.active++
	d.wg.Add(1)
	go d.work(d.ctx, key, q)
}

// work delivers one chat's queue until it is empty, parked, or ctx ends.
func (d *Dispatcher) work(ctx context.Context, key string, q *chatQueue) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		q.running = false
		d.active--
		switch {
		case q.moveTo != nil:
			d.moveLocked(key, q, *q.moveTo)
		case len(q.msgs) == 0:
			delete(d.queues, key)
		}
		if d.active == 0 {
			d.idle.Broadcast()
		}
		d.mu.Unlock()
	}()
	attempt := 0
	for {
		d.mu.Lock()
		if len(q.msgs) == 0 || d.parked[key] || q.moveTo != nil {
			d.mu.Unlock()
			return
		}
		m := q.msgs[0]
		d.mu.Unlock()

		p := d.cfg.Platforms[m.To.Platform]
		buckets := append(append([]*bucket{}, q.buckets...), d.global[m.To.Platform]...)
		if err := wait(ctx, d.clk, buckets...); err != nil {
			return
		}
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.SendTimeout)
		sent, err := p.Sender.Send(sendCtx, m)
		cancel()

		var retry *chat.RetryAfterError
		switch {
		case err == nil:
			attempt = 0
			if aerr := d.cfg.Outbox.Ack(m.Seq, sent); aerr != nil {
				// The message went out but the outbox could not record it:
				// stop this chat rather than send it again and again.
				d.log.Error("outbox ack failed; chat delivery stopped", "chat", key, "seq", m.Seq, "err", aerr)
				d.fail(m, "ack")
				return
			}
			d.pop(q, m.Seq)
			d.observe(func(o Observer) { o.Sent(m.To.Platform) })
		case errors.As(err, &retry):
			d.observe(func(o Observer) { o.RateLimited(m.To.Platform) })
			until := d.clk.Now().Add(retry.After)
			if retry.Global {
				for _, b := range d.global[m.To.Platform] {
					b.block(until)
				}
			}
			for _, b := range q.buckets {
				b.block(until)
			}
			d.log.Warn("rate limited", "chat", key, "retry_after", retry.After, "global", retry.Global)
			if !d.sleep(ctx, retry.After) {
				return
			}
		case errors.Is(err, chat.ErrChatGone):
			d.log.Warn("chat unreachable; pausing its subscriptions", "chat", key, "err", err)
			d.mu.Lock()
			d.parked[key] = true
			d.mu.Unlock()
			d.observe(func(o Observer) { o.Failed(m.To.Platform, "chat_gone") })
			if d.cfg.Gone != nil {
				if gerr := d.cfg.Gone.ChatGone(ctx, m.To, err.Error()); gerr != nil {
					d.log.Error("pause subscriptions of unreachable chat", "chat", key, "err", gerr)
				}
			}
			return
		case errors.Is(err, chat.ErrRejected):
			d.log.Error("message rejected by the platform; moved to dead letters", "chat", key, "seq", m.Seq, "err", err)
			if derr := d.cfg.Outbox.Drop(m.Seq, err.Error()); derr != nil {
				d.log.Error("outbox drop failed", "seq", m.Seq, "err", derr)
				return
			}
			d.pop(q, m.Seq)
			d.observe(func(o Observer) { o.Failed(m.To.Platform, "rejected") })
		default:
			attempt++
			delay := d.backoff(attempt)
			d.log.Warn("send failed; will retry", "chat", key, "seq", m.Seq, "attempt", attempt, "retry_in", delay, "err", err)
			d.observe(func(o Observer) { o.Failed(m.To.Platform, "transient") })
			if !d.sleep(ctx, delay) {
				return
			}
		}
	}
}

func (d *Dispatcher) fail(m chat.Message, reason string) {
	d.mu.Lock()
	d.parked[m.To.Key()] = true
	d.mu.Unlock()
	d.observe(func(o Observer) { o.Failed(m.To.Platform, reason) })
}

func (d *Dispatcher) pop(q *chatQueue, seq uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(q.msgs) > 0 && q.msgs[0].Seq == seq {
		q.msgs = q.msgs[1:]
	}
	delete(d.known, seq)
}

// backoff is exponential from one second with ±20% jitter, capped.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	delay := time.Second << min(attempt-1, 20)
	if delay > d.cfg.MaxBackoff {
		delay = d.cfg.MaxBackoff
	}
	d.mu.Lock()
	j := 0.8 + 0.4*d.rng.Float64()
	d.mu.Unlock()
	return time.Duration(float64(delay) * j)
}

func (d *Dispatcher) sleep(ctx context.Context, dur time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-d.clk.After(dur):
		return true
	}
}

func (d *Dispatcher) observe(f func(Observer)) {
	if d.cfg.Observer != nil {
		f(d.cfg.Observer)
	}
}
