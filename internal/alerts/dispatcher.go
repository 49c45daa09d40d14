package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/storage"
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

// Editor replaces a message sent earlier. A platform's Sender that also
// implements Editor can deliver KindEdit messages; m is the new version of
// the original message (Kind KindAlert, Seq the original's).
type Editor interface {
	Edit(ctx context.Context, to chat.Address, messageID string, m chat.Message) error
}

// editOutbox is what the dispatcher needs from the outbox for edits;
// storage.DB has it. Without it, edits go to the dead letters.
type editOutbox interface {
	// Delivered returns the delivery record (platform message id) of
	// message seq, or an error wrapping storage.ErrNotFound.
	Delivered(seq uint64) (storage.Delivery, error)
	// Queued reports whether message seq is still in the outbox: an edit
	// replaced by a newer one, or muted, is not.
	Queued(seq uint64) (bool, error)
}

// DefaultEditInterval is the least time between two edits of one message.
const DefaultEditInterval = time.Minute

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
	// EditInterval is the least time between two edits of one message
	// (default DefaultEditInterval): later edits wait, and meanwhile a
	// newer edit replaces the waiting one.
	EditInterval time.Duration
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
	// lastEdit is when each message (by seq) was last edited, for
	// EditInterval. Entries older than that decide nothing and are swept
	// as the map grows (noteEditLocked): without the sweep it kept one
	// entry per edited alert for as long as the bot ran. It is kept in
	// memory: after a restart the first edit of a message may come
	// sooner.
	lastEdit     map[uint64]time.Time
	sweepEditsAt int // len(lastEdit) at which the next sweep runs
}

// minEditSweep is the fewest entries lastEdit holds before a sweep: small
// enough to stay a few tens of KB, large enough that sweeps are rare.
const minEditSweep = 1024

type chatQueue struct {
	msgs    []chat.Message
	running bool
	buckets []*bucket
	moveTo  *chat.Address // set by Move while the worker runs
	// inflight is the seq being sent (0: none); wake is signalled when
	// messages arrive, so a worker waiting for an edit's turn looks again.
	inflight uint64
	wake     chan struct{}
	// edits maps a message to the newest queued edit of it, so that a
	// newer edit finds the one it replaces without a pass over msgs (a
	// pass per edit made a burst quadratic in a busy chat's queue).
	edits map[uint64]uint64
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
	if cfg.EditInterval <= 0 {
		cfg.EditInterval = DefaultEditInterval
	}
	d := &Dispatcher{
		cfg:          cfg,
		log:          cfg.Logger,
		clk:          cfg.Clock,
		global:       map[string][]*bucket{},
		queues:       map[string]*chatQueue{},
		known:        map[uint64]bool{},
		parked:       map[string]bool{},
		lastEdit:     map[uint64]time.Time{},
		sweepEditsAt: minEditSweep,
		rng:          rand.New(rand.NewPCG(uint64(cfg.Clock.Now().UnixNano()), 0x5eed)),
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
			q = &chatQueue{wake: make(chan struct{}, 1)}
			p := d.cfg.Platforms[m.To.Platform]
			if p.PerChat != nil {
				for _, r := range p.PerChat(m.To) {
					q.buckets = append(q.buckets, newBucket(r, d.clk.Now()))
				}
			}
			d.queues[key] = q
		}
		if m.Kind == chat.KindEdit {
			// A newer edit of the same message replaced the older one in
			// the outbox: forget the queued copy unless it is being sent.
			// (An older edit arriving late is queued, and dropped when its
			// turn comes: the outbox no longer holds it.)
			old, ok := q.edits[m.EditOf]
			if ok && old < m.Seq && old != q.inflight {
				if i, found := q.find(old); found {
					q.msgs = slices.Delete(q.msgs, i, i+1)
				}
				delete(d.known, old)
			}
			if !ok || old < m.Seq {
				if q.edits == nil {
					q.edits = map[uint64]uint64{}
				}
				q.edits[m.EditOf] = m.Seq
			}
		}
		// Keep each queue in outbox order even when a Notify overtakes the
		// initial load. Messages nearly always come in order: appended.
		if n := len(q.msgs); n == 0 || q.msgs[n-1].Seq < m.Seq {
			q.msgs = append(q.msgs, m)
		} else {
			i, _ := q.find(m.Seq)
			q.msgs = slices.Insert(q.msgs, i, m)
		}
		touched[key] = true
	}
	for key := range touched {
		select {
		case d.queues[key].wake <- struct{}{}:
		default:
		}
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
		m, ok, due := d.nextLocked(q)
		if !ok {
			// Only edits waiting for their turn: sleep until the first
			// is due or new messages arrive.
			d.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
			case <-d.clk.After(due):
			}
			continue
		}
		q.inflight = m.Seq
		d.mu.Unlock()
		if m.Kind == chat.KindEdit {
			done, err := d.prepareEdit(q, &m)
			if err != nil {
				attempt++
				delay := d.backoff(attempt)
				d.log.Warn("edit lookup failed; will retry", "chat", key, "seq", m.Seq, "err", err)
				if !d.sleep(ctx, delay) {
					return
				}
				continue
			}
			if done {
				continue
			}
		}

		p := d.cfg.Platforms[m.To.Platform]
		buckets := append(append([]*bucket{}, q.buckets...), d.global[m.To.Platform]...)
		if err := wait(ctx, d.clk, buckets...); err != nil {
			return
		}
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.SendTimeout)
		var sent chat.Sent
		var err error
		if m.Kind == chat.KindEdit {
			sent, err = d.edit(sendCtx, p, m)
		} else {
			sent, err = p.Sender.Send(sendCtx, m)
		}
		cancel()

		var retry *chat.RetryAfterError
		switch {
		case err == nil:
			attempt = 0
			aerr := d.cfg.Outbox.Ack(m.Seq, sent)
			if m.Kind == chat.KindEdit {
				d.mu.Lock()
				d.noteEditLocked(m.EditOf)
				d.mu.Unlock()
				// A newer edit replaced this one in the outbox while it
				// was sent: that one goes out in its turn.
				if errors.Is(aerr, storage.ErrNotFound) {
					aerr = nil
				}
			}
			if aerr != nil {
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
	d.popLocked(q, seq)
}

// popLocked removes seq from q; waiting edits may have let it overtake
// earlier messages, so it need not be first.
func (d *Dispatcher) popLocked(q *chatQueue, seq uint64) {
	if i, found := q.find(seq); found {
		if m := q.msgs[i]; m.Kind == chat.KindEdit && q.edits[m.EditOf] == seq {
			delete(q.edits, m.EditOf)
		}
		q.msgs = slices.Delete(q.msgs, i, i+1)
	}
	if q.inflight == seq {
		q.inflight = 0
	}
	delete(d.known, seq)
}

// find returns where seq is in q.msgs, which are in seq order, or where
// it would go.
func (q *chatQueue) find(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(q.msgs, seq, func(m chat.Message, seq uint64) int {
		return cmp.Compare(m.Seq, seq)
	})
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

// nextLocked picks the message to send next: the first of the queue that
// is not an edit waiting for its turn. An edit waits while its original is
// still queued (edits stay behind the message they change) and until
// EditInterval has passed since the last edit of that original. When every
// message waits, ok is false and wait says when the first is due.
func (d *Dispatcher) nextLocked(q *chatQueue) (m chat.Message, ok bool, wait time.Duration) {
	now := d.clk.Now()
	wait = -1
	for _, c := range q.msgs {
		if c.Kind != chat.KindEdit {
			return c, true, 0
		}
		if d.known[c.EditOf] {
			// The original is queued (here or, after a Move, elsewhere);
			// look again when messages move.
			if wait < 0 || d.cfg.EditInterval < wait {
				wait = d.cfg.EditInterval
			}
			continue
		}
		last, seen := d.lastEdit[c.EditOf]
		if !seen || !now.Before(last.Add(d.cfg.EditInterval)) {
			return c, true, 0
		}
		if w := last.Add(d.cfg.EditInterval).Sub(now); wait < 0 || w < wait {
			wait = w
		}
	}
	return chat.Message{}, false, wait
}

// noteEditLocked records that message seq was edited now, and sweeps the
// entries that no longer hold an edit back once the map has doubled since
// the last sweep, so sweeping costs O(1) per edit.
func (d *Dispatcher) noteEditLocked(seq uint64) {
	now := d.clk.Now()
	d.lastEdit[seq] = now
	if len(d.lastEdit) < d.sweepEditsAt {
		return
	}
	for s, at := range d.lastEdit {
		if !now.Before(at.Add(d.cfg.EditInterval)) {
			delete(d.lastEdit, s)
		}
	}
	d.sweepEditsAt = max(2*len(d.lastEdit), minEditSweep)
}

// prepareEdit checks an edit before it is sent. It reports done when the
// edit left the queue instead: replaced or muted in the outbox meanwhile
// (forgotten), or its original was never delivered (dead letters). An
// error means the outbox could not be read; the caller retries.
func (d *Dispatcher) prepareEdit(q *chatQueue, m *chat.Message) (done bool, err error) {
	eo, ok := d.cfg.Outbox.(editOutbox)
	if !ok {
		return true, d.dropEdit(q, *m, "outbox keeps no delivery records")
	}
	queued, err := eo.Queued(m.Seq)
	if err != nil {
		return false, err
	}
	if !queued {
		d.pop(q, m.Seq)
		return true, nil
	}
	del, err := eo.Delivered(m.EditOf)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		// Not queued (nextLocked saw to that) and not delivered: the
		// original went to the dead letters or was pruned.
		return true, d.dropEdit(q, *m, fmt.Sprintf("original message %d was never delivered", m.EditOf))
	case err != nil:
		return false, err
	case del.MessageID == "":
		return true, d.dropEdit(q, *m, fmt.Sprintf("platform gave no id for message %d", m.EditOf))
	}
	m.Text = del.MessageID // carried to edit below; never rendered for an edit
	return false, nil
}

func (d *Dispatcher) dropEdit(q *chatQueue, m chat.Message, reason string) error {
	d.log.Warn("edit cannot be delivered; moved to dead letters", "chat", m.To.Key(), "seq", m.Seq, "reason", reason)
	if err := d.cfg.Outbox.Drop(m.Seq, reason); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	d.pop(q, m.Seq)
	d.observe(func(o Observer) { o.Failed(m.To.Platform, "edit_undeliverable") })
	return nil
}

// edit sends m, a KindEdit whose Text prepareEdit set to the platform's
// id of the original, as a new version of the original message. A
// platform that cannot edit rejects it for good.
func (d *Dispatcher) edit(ctx context.Context, p Platform, m chat.Message) (chat.Sent, error) {
	ed, ok := p.Sender.(Editor)
	if !ok {
		return chat.Sent{}, fmt.Errorf("edit: %w: platform %s cannot edit messages", chat.ErrRejected, m.To.Platform)
	}
	id := m.Text
	v := m
	v.Kind, v.Seq, v.Text, v.EditOf = chat.KindAlert, m.EditOf, "", 0
	if err := ed.Edit(ctx, m.To, id, v); err != nil {
		return chat.Sent{}, err
	}
	return chat.Sent{MessageID: id}, nil
}
