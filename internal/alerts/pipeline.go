// Package alerts turns new stories into queued alerts and delivers them.
//
// The Pipeline takes one poll of one source: it drops stories seen before,
// matches the rest against the subscription index, and writes the stories
// and every alert they cause to the outbox in one storage transaction. The
// Dispatcher drains the outbox through the chat platforms, in order per
// chat, within each platform's rate limits.
package alerts

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/sources"
	"frontwire/internal/storage"
	"frontwire/internal/story"
	"frontwire/internal/subscriptions"
)

// Store is the part of storage the pipeline writes through.
type Store interface {
	FilterUnseen(stories []story.Story) ([]story.Story, error)
	CommitPoll(state storage.SourceState, items []storage.NewStory) ([]chat.Message, error)
	// NoteSourceState stores the state of a poll that found nothing new
	// without waiting for it to be written.
	NoteSourceState(state storage.SourceState) error
}

// Matcher finds the subscriptions a story matches: it appends them to dst
// (with their matched terms when terms is set) and reports how many
// candidates it checked.
type Matcher interface {
	AppendMatches(dst []subscriptions.Hit, d *subscriptions.Doc, terms bool) ([]subscriptions.Hit, int)
}

// PollObserver receives pipeline figures (metrics). Any method may be a
// no-op.
type PollObserver interface {
	StoriesSeen(n int)
	Matched(n int)
	Queued(platform string, n int)
}

// Pipeline is the path from a fetched poll to the outbox.
type Pipeline struct {
	Store    Store
	Matcher  Matcher
	Notify   func([]chat.Message) // the dispatcher's Notify; may be nil
	Clock    clock.Clock
	Logger   *slog.Logger
	Observer PollObserver
	// Clusters, when set, files every new story under its event, and
	// alerts carry the cluster's ID: storage then turns a chat's later
	// alerts of one event into edits of the first (clusters.go).
	Clusters Clusters
	// Cadence, when set, decides which alerts wait for a digest (a digest
	// subscription, or the chat's quiet hours): those are held in the
	// poll's transaction instead of enqueued (digest.Policy).
	Cadence Cadence
}

// Cadence is the digest policy the pipeline consults; digest.Policy
// satisfies it.
type Cadence interface {
	// Instant reports whether a subscription delivers at once.
	Instant(subscriptionID uint64) bool
	// Hold splits one story's messages into those sent now and those held.
	Hold(now time.Time, msgs []chat.Message) (send, held []chat.Message, err error)
}

// Handle processes one poll; it is the sources.Handler of the scheduler.
func (p *Pipeline) Handle(ctx context.Context, poll sources.Poll) error {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A poll answered 304 changed nothing but the source's times: no
	// read transaction, and its state is written with others' later
	// (storage.DB.NoteSourceState) instead of in a transaction of its own.
	if poll.NotModified && len(poll.Stories) == 0 {
		if err := p.Store.NoteSourceState(poll.State); err != nil {
			return fmt.Errorf("pipeline %s: %w", poll.Source.Name, err)
		}
		return nil
	}
	var unseen []story.Story
	if len(poll.Stories) > 0 {
		var err error
		if unseen, err = p.Store.FilterUnseen(poll.Stories); err != nil {
			return fmt.Errorf("pipeline %s: %w", poll.Source.Name, err)
		}
	}
	// A new source's first poll marks what is already there as seen and
	// alerts nothing, unless the source asks for a backfill of its newest
	// stories.
	alerting := len(unseen)
	if poll.First {
		alerting = min(poll.Source.Backfill, len(unseen))
		sort.SliceStable(unseen, func(i, j int) bool { return unseen[i].Published.After(unseen[j].Published) })
	}
	var clusterIDs []string
	if p.Clusters != nil {
		now := time.Time{}
		if p.Clock != nil {
			now = p.Clock.Now()
		}
		// Only stories that may alert are clustered: a first poll's
		// backlog alerts nothing, and clustering a 10,000-item backlog
		// under the set's lock stalled every other source's poll for
		// minutes.
		clusterIDs = assignClusters(p.Clusters, unseen[:alerting], now)
	}
	items := make([]storage.NewStory, len(unseen))
	matched := 0
	// One Doc and one hit slice for the poll, reused for each story: the
	// hits' terms never point into the Doc (Doc.Reset), and alertsFor
	// copies what it keeps of a hit, so reusing them is safe and spares
	// each story their allocations (at 100k subscriptions ~9 KB of hits).
	var doc subscriptions.Doc
	var hits []subscriptions.Hit
	for i := range unseen {
		items[i].Story = unseen[i]
		if i >= alerting {
			continue
		}
		var msgs []chat.Message
		msgs, hits = p.alertsFor(&doc, hits[:0], &unseen[i])
		for j := range msgs {
			if clusterIDs != nil && msgs[j].Alert != nil {
				msgs[j].Alert.ClusterID = clusterIDs[i]
			}
		}
		matched += len(msgs)
		if p.Cadence != nil {
			send, held, err := p.Cadence.Hold(p.now(unseen[i].FirstSeen), msgs)
			if err != nil {
				return fmt.Errorf("pipeline %s: %w", poll.Source.Name, err)
			}
			msgs, items[i].Held = send, held
		}
		items[i].Messages = msgs
	}
	poll.State.ItemsSeen += len(unseen)
	queued, err := p.Store.CommitPoll(poll.State, items)
	if err != nil {
		return fmt.Errorf("pipeline %s: commit: %w", poll.Source.Name, err)
	}
	if o := p.Observer; o != nil {
		o.StoriesSeen(len(unseen))
		o.Matched(matched)
		byPlatform := map[string]int{}
		for _, m := range queued {
			byPlatform[m.To.Platform]++
		}
		for pl, n := range byPlatform {
			o.Queued(pl, n)
		}
	}
	if len(unseen) > 0 || len(queued) > 0 {
		log.Info("poll processed", "source", poll.Source.Name, "stories", len(poll.Stories), "new", len(unseen), "alerts", len(queued), "first", poll.First)
	}
	if p.Notify != nil && len(queued) > 0 {
		p.Notify(queued)
	}
	return nil
}

// alertsFor matches one story (normalised into doc) and returns one alert
// per chat: when several subscriptions of one chat match the same story,
// the chat gets a single alert naming the first subscription and every
// matched term. The story's hits are appended to hits, which is returned
// for reuse; no alert refers to it (they keep only the hits' strings and
// terms).
//
// A story at 100k subscriptions in the pipeline benchmark has about 96
// hits in about 21 chats, so the per-hit and per-alert work here is paid
// a million times a cycle: chats are told apart without building their
// key strings, and the alerts share one allocation.
func (p *Pipeline) alertsFor(doc *subscriptions.Doc, hits []subscriptions.Hit, st *story.Story) ([]chat.Message, []subscriptions.Hit) {
	doc.Reset(st)
	hits, _ = p.Matcher.AppendMatches(hits, doc, true)
	if len(hits) == 0 {
		return nil, hits
	}
	slices.SortFunc(hits, func(a, b subscriptions.Hit) int { return cmp.Compare(a.ID, b.ID) })
	now := st.FirstSeen
	if p.Clock != nil {
		now = p.Clock.Now()
	}
	type chatKey struct{ platform, chat string } // chat.Address.Key without the string
	byChat := make(map[chatKey]int, len(hits))
	// At most one alert per hit, so the backing array never moves and
	// the messages may point into it.
	alerts := make([]chat.Alert, 0, len(hits))
	msgs := make([]chat.Message, 0, len(hits))
	for _, h := range hits {
		key := chatKey{h.Chat.Platform, h.Chat.Chat}
		if i, ok := byChat[key]; ok {
			a := msgs[i].Alert
			a.Matched = mergeTerms(a.Matched, h.Terms)
			// An instant subscription names the alert, so that another
			// subscription's digest cadence does not hold it.
			if p.Cadence != nil && !p.Cadence.Instant(a.SubscriptionID) && p.Cadence.Instant(h.ID) {
				a.SubscriptionID, a.Query = h.ID, h.Query
			}
			continue
		}
		byChat[key] = len(msgs)
		alerts = append(alerts, chat.Alert{
			StoryID:        st.ID,
			Source:         st.Source,
			Title:          st.Title,
			Link:           st.Link,
			Published:      st.Published,
			Summary:        st.Summary,
			SubscriptionID: h.ID,
			Query:          h.Query,
			Matched:        ownTerms(h.Terms),
		})
		msgs = append(msgs, chat.Message{
			To:      h.Chat,
			Kind:    chat.KindAlert,
			Created: now,
			Alert:   &alerts[len(alerts)-1],
		})
	}
	return msgs, hits
}

// ownTerms is terms without repeats, as mergeTerms(nil, terms) returns
// it, but without a copy when there are no repeats (nearly always): the
// slice is clipped, so that a later merge appends to a new array instead
// of writing into the matcher's.
func ownTerms(terms []string) []string {
	for i := range terms {
		if slices.Contains(terms[:i], terms[i]) {
			return mergeTerms(nil, terms)
		}
	}
	return slices.Clip(terms)
}

func mergeTerms(dst, add []string) []string {
	for _, t := range add {
		dup := false
		for _, d := range dst {
			if d == t {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, t)
		}
	}
	return dst
}

// now is the clock's time, or fallback without a clock.
func (p *Pipeline) now(fallback time.Time) time.Time {
	if p.Clock != nil {
		return p.Clock.Now()
	}
	return fallback
}
