package storage

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/story"
)

// messageRecord is how an outbox message is stored: the chat.Message as
// JSON, its Seq taken from the key.
type messageRecord = chat.Message

func encodeMessage(m messageRecord) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message %d: %w", m.Seq, err)
	}
	return b, nil
}

func decodeMessage(k, v []byte) (messageRecord, error) {
	var m messageRecord
	if len(k) != 8 {
		return m, fmt.Errorf("outbox key of %d bytes, want 8", len(k))
	}
	if err := json.Unmarshal(v, &m); err != nil {
		return m, fmt.Errorf("decode message %d: %w", be64(k), err)
	}
	m.Seq = be64(k)
	return m, nil
}

// NewStory is a story seen for the first time and the messages it causes:
// Messages go to the outbox, Held (alerts waiting for a digest or for the
// end of quiet hours) to the held alerts.
type NewStory struct {
	Story    story.Story
	Messages []chat.Message
	Held     []chat.Message
}

// Delivery records a message the platform accepted, kept so that it can be
// edited later.
type Delivery struct {
	Seq       uint64       `json:"seq"`
	To        chat.Address `json:"to"`
	MessageID string       `json:"message_id"`
	StoryID   string       `json:"story_id,omitempty"`
	At        time.Time    `json:"at"`
}

// DeadLetter is a message the platform refused for good, kept with why.
type DeadLetter struct {
	Message chat.Message `json:"message"`
	Reason  string       `json:"reason"`
	At      time.Time    `json:"at"`
}

// seen reports whether the story's ID or its canonical link is in the seen
// sets.
func seen(ids, links *bolt.Bucket, s *story.Story) bool {
	if ids.Get(seenKey(s.ID)) != nil {
		return true
	}
	return s.Link != "" && links.Get(seenKey(s.Link)) != nil
}

// FilterUnseen returns, in input order, the stories whose ID and canonical
// link (when not empty) were never seen. Within the input, only the first
// of several stories sharing an ID or link is kept. Stories without an ID
// are dropped: without identity they could not be deduplicated and would
// alert on every poll.
func (db *DB) FilterUnseen(stories []story.Story) ([]story.Story, error) {
	var out []story.Story
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ids, links := bucket(tx, bucketSeenIDs), bucket(tx, bucketSeenLinks)
		batch := make(map[string]bool, len(stories))
		for i := range stories {
			s := &stories[i]
			if s.ID == "" || seen(ids, links, s) || batch["i"+s.ID] || (s.Link != "" && batch["l"+s.Link]) {
				continue
			}
			batch["i"+s.ID] = true
			if s.Link != "" {
				batch["l"+s.Link] = true
			}
			out = append(out, *s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("filter unseen stories: %w", err)
	}
	return out, nil
}

// appendFill is how full bbolt fills a page before splitting it, for
// buckets written in key order.
const appendFill = 0.95

// maxRecentText caps the text kept of a recent story. /preview matches
// queries against it and the clusterer, rebuilt from it at start-up, reads
// only the lead; keeping a long article whole made every story cost its
// full length in the database and, through bbolt's map, in resident
// memory. A query whose words first occur past the cap no longer finds
// that story in /preview; live matching always sees the whole text.
const maxRecentText = 2048

// recentRecord is a recent story as stored. The summary is nearly always
// the text's first sentences, so it is stored as a length of the text's
// prefix (SummaryPrefix) rather than a second copy: a quarter of the
// record in the benchmark's feeds. Records written before hold Summary
// and no prefix length, and decode as they were.
type recentRecord struct {
	story.Story
	SummaryPrefix int `json:"summary_prefix,omitempty"`
}

func encodeRecent(z *deflater, s *story.Story) ([]byte, error) {
	r := recentRecord{Story: *s}
	if len(r.Text) > maxRecentText {
		cut := maxRecentText
		for cut > 0 && !utf8.RuneStart(r.Text[cut]) {
			cut--
		}
		r.Text = r.Text[:cut]
	}
	if r.Summary != "" && strings.HasPrefix(r.Text, r.Summary) {
		r.SummaryPrefix = len(r.Summary)
		r.Summary = ""
	}
	js, err := json.Marshal(&r)
	if err != nil {
		return nil, err
	}
	return z.deflate(js)
}

// decodeRecent reads a recent story's record, deflated (deflate.go) or
// plain JSON as written before.
func decodeRecent(z *deflater, v []byte) (story.Story, error) {
	v, err := z.inflate(v)
	if err != nil {
		return story.Story{}, err
	}
	var r recentRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return story.Story{}, err
	}
	if n := r.SummaryPrefix; n > 0 && r.Summary == "" && n <= len(r.Text) {
		r.Summary = r.Text[:n]
	}
	return r.Story, nil
}

// recentKey orders the recent bucket by first-seen time, then ID.
func recentKey(firstSeen time.Time, id string) []byte {
	k := u64(timeKey(firstSeen))
	return append(k, seenKey(id)...)
}

// CommitPoll records one poll of a source in a single transaction, so that
// a message is in the outbox (or held for a digest) if and only if its
// story is marked seen. For each item not already seen (by ID or canonical link, which makes a retried
// or repeated poll harmless) it marks both seen, keeps the story among the
// recent ones, and appends its messages to the outbox. It stores state
// (unless state.Name is empty) and returns the messages enqueued, Seq set.
// Items without a story ID are skipped; a zero FirstSeen or Created is
// stamped with the clock.
func (db *DB) CommitPoll(state SourceState, items []NewStory) ([]chat.Message, error) {
	var enqueued []chat.Message
	// The recent records are encoded (and deflated) before the write
	// transaction, which holds bbolt's single writer and, through the
	// group commit, other polls' commits.
	now := db.now()
	records := make([][]byte, len(items))
	nmsgs := 0
	for i := range items {
		nmsgs += len(items[i].Messages)
		s := items[i].Story
		if s.ID == "" {
			continue
		}
		if s.FirstSeen.IsZero() {
			s.FirstSeen = now
		}
		var err error
		if records[i], err = encodeRecent(&db.deflate, &s); err != nil {
			return nil, fmt.Errorf("commit poll of %q: encode story %q: %w", state.Name, s.ID, err)
		}
	}
	// Through the group commit: concurrent polls share a transaction and
	// its fsync. The function may run twice; it starts from nothing.
	// Sized once: about 21 messages per new story in the benchmark.
	enqueued = make([]chat.Message, 0, nmsgs)
	err := db.update(func(tx *bolt.Tx) error {
		enqueued = enqueued[:0]
		var arena valueArena // outbox and cluster records, kept until the commit
		// Reads the stories of cluster records that edits need, each
		// story once per transaction.
		res := db.resolver(tx)
		res.byRef = map[string]*story.Story{}
		ids, links := bucket(tx, bucketSeenIDs), bucket(tx, bucketSeenLinks)
		recent, out := bucket(tx, bucketRecent), bucket(tx, bucketOutbox)
		// Both are appended to in key order (first-seen time, sequence):
		// pages split at bbolt's default of half full stay half empty
		// for good, and the file, mapped, is resident memory.
		recent.FillPercent, out.FillPercent = appendFill, appendFill
		// Alert numbers are appended in seq order too.
		bucket(tx, bucketClusterSeqs).FillPercent = appendFill
		held := bucket(tx, bucketHeld)
		for i := range items {
			s := items[i].Story
			if s.ID == "" || seen(ids, links, &s) {
				continue
			}
			if s.FirstSeen.IsZero() {
				s.FirstSeen = now
			}
			at := u64(timeKey(s.FirstSeen))
			if err := ids.Put(seenKey(s.ID), at); err != nil {
				return fmt.Errorf("mark story %q seen: %w", s.ID, err)
			}
			if s.Link != "" {
				if err := links.Put(seenKey(s.Link), at); err != nil {
					return fmt.Errorf("mark link of story %q seen: %w", s.ID, err)
				}
			}
			ref := recentKey(s.FirstSeen, s.ID)
			if err := recent.Put(ref, records[i]); err != nil {
				return fmt.Errorf("keep story %q: %w", s.ID, err)
			}
			sref := shortRef(ref)
			for _, m := range items[i].Messages {
				// place turns a clustered alert into an edit of the
				// chat's earlier alert when there is one (clusters.go).
				// An alert of this story is stored referring to its
				// recent record (outbox_codec.go).
				q, ok, err := db.place(tx, out, m, now, &s, sref, &arena, res)
				if err != nil {
					return err
				}
				if ok {
					enqueued = append(enqueued, q)
				}
			}
			for _, m := range items[i].Held {
				if err := hold(held, m, now); err != nil {
					return err
				}
			}
		}
		if state.Name == "" {
			return nil
		}
		db.forgetNote(state.Name)
		return putSource(tx, state)
	})
	if err != nil {
		return nil, fmt.Errorf("commit poll of %q: %w", state.Name, err)
	}
	return enqueued, nil
}

func enqueue(out *bolt.Bucket, m chat.Message, now time.Time) (chat.Message, error) {
	return enqueueOf(out, m, now, nil, nil, nil)
}

// enqueueOf appends m to the outbox; when m is an alert of story s, kept
// under ref in the recent bucket of the same transaction, it is stored as
// a compact record referring to it (outbox_codec.go).
//
// Its record is cut from arena (nil: allocated alone).
func enqueueOf(out *bolt.Bucket, m chat.Message, now time.Time, s *story.Story, ref []byte, arena *valueArena) (chat.Message, error) {
	seq, err := out.NextSequence()
	if err != nil {
		return m, fmt.Errorf("enqueue: %w", err)
	}
	m.Seq = seq
	if m.Created.IsZero() {
		m.Created = now
	}
	v, err := storedMessage(arena, &m, s, ref)
	if err != nil {
		return m, err
	}
	// bbolt copies keys, so the key may come from the arena too.
	if err := out.Put(binary.BigEndian.AppendUint64(arena.take(8), seq), v); err != nil {
		return m, fmt.Errorf("enqueue message %d: %w", seq, err)
	}
	return m, nil
}

// Enqueue appends messages not caused by a story (replies, notices) to the
// outbox, in order, and returns them with Seq set.
func (db *DB) Enqueue(msgs []chat.Message) ([]chat.Message, error) {
	var enqueued []chat.Message
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		enqueued = enqueued[:0]
		out := bucket(tx, bucketOutbox)
		out.FillPercent = appendFill
		now := db.now()
		for _, m := range msgs {
			m, err := enqueue(out, m, now)
			if err != nil {
				return err
			}
			enqueued = append(enqueued, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue %d messages: %w", len(msgs), err)
	}
	return enqueued, nil
}

// Pending returns the whole outbox in Seq (delivery) order.
func (db *DB) Pending() ([]chat.Message, error) {
	var msgs []chat.Message
	err := db.bolt.View(func(tx *bolt.Tx) error {
		r := db.resolver(tx)
		return bucket(tx, bucketOutbox).ForEach(func(k, v []byte) error {
			m, err := r.message(k, v)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return msgs, nil
}

// OutboxLen is the number of messages waiting in the outbox. It reads one
// value, however many are queued (outbox_count.go).
func (db *DB) OutboxLen() (int, error) {
	var seq uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		seq = bucket(tx, bucketOutbox).Sequence()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return db.outbox.len(seq), nil
}

// take removes message seq from the outbox and returns it.
func (db *DB) take(tx *bolt.Tx, seq uint64) (chat.Message, error) {
	out := bucket(tx, bucketOutbox)
	k := u64(seq)
	v := out.Get(k)
	if v == nil {
		return chat.Message{}, ErrNotFound
	}
	m, err := db.resolver(tx).message(k, v)
	if err != nil {
		return m, err
	}
	if err := out.Delete(k); err != nil {
		return m, err
	}
	db.outbox.countRemoved(tx)
	return m, nil
}

// Ack removes message seq from the outbox and records its delivery (chat,
// platform message id, story id, time) for later edits. ErrNotFound if seq
// is not in the outbox, for example acknowledged already.
func (db *DB) Ack(seq uint64, sent chat.Sent) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		m, err := db.take(tx, seq)
		if err != nil {
			return err
		}
		d := Delivery{Seq: seq, To: m.To, MessageID: sent.MessageID, At: db.now()}
		if m.Alert != nil {
			d.StoryID = m.Alert.StoryID
		}
		v, err := json.Marshal(d)
		if err != nil {
			return err
		}
		return bucket(tx, bucketDelivered).Put(u64(seq), v)
	})
	if err != nil {
		return fmt.Errorf("ack message %d: %w", seq, err)
	}
	return nil
}

// Drop moves message seq, which the platform refused for good, from the
// outbox to the dead letters, with reason. ErrNotFound if seq is not in the
// outbox.
func (db *DB) Drop(seq uint64, reason string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		m, err := db.take(tx, seq)
		if err != nil {
			return err
		}
		v, err := json.Marshal(DeadLetter{Message: m, Reason: reason, At: db.now()})
		if err != nil {
			return err
		}
		return bucket(tx, bucketDead).Put(u64(seq), v)
	})
	if err != nil {
		return fmt.Errorf("drop message %d: %w", seq, err)
	}
	return nil
}

// Delivered returns the delivery record of message seq. ErrNotFound if it
// was never acknowledged or has been pruned.
func (db *DB) Delivered(seq uint64) (Delivery, error) {
	var d Delivery
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := bucket(tx, bucketDelivered).Get(u64(seq))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &d)
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery of message %d: %w", seq, err)
	}
	return d, nil
}

// Deliveries returns the delivery records of the messages sent for the
// story storyID, in Seq order, so that they can be edited when the story
// changes. It reads every record kept (they are pruned with the retention),
// so it is meant for occasional use.
func (db *DB) Deliveries(storyID string) ([]Delivery, error) {
	var out []Delivery
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketDelivered).ForEach(func(k, v []byte) error {
			var d Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode delivery %x: %w", k, err)
			}
			if d.StoryID == storyID && storyID != "" {
				out = append(out, d)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries of story %q: %w", storyID, err)
	}
	return out, nil
}

// DeadLetters returns the messages dropped for good, in Seq order.
func (db *DB) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketDead).ForEach(func(k, v []byte) error {
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode dead letter %x: %w", k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return out, nil
}

// RecentStories returns the stories first seen at or after since, oldest
// first.
func (db *DB) RecentStories(since time.Time) ([]story.Story, error) {
	var out []story.Story
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := bucket(tx, bucketRecent).Cursor()
		for k, v := c.Seek(u64(timeKey(since))); k != nil; k, v = c.Next() {
			s, err := decodeRecent(&db.deflate, v)
			if err != nil {
				return fmt.Errorf("decode recent story %x: %w", k, err)
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recent stories since %s: %w", since.Format(time.RFC3339), err)
	}
	return out, nil
}

// pruneBatch bounds how many keys Prune collects before deleting them, so a
// huge backlog does not need one huge slice.
const pruneBatch = 10000

// Prune forgets what is older than the retention cut: seen IDs and links
// first seen before seenBefore, recent stories likewise, and delivery
// records and dead letters made before it. It returns how many records it
// removed. A story whose ID and link are both forgotten alerts again if a
// feed still carries it, so the cut must lie well behind what the feeds
// still list.
func (db *DB) Prune(seenBefore time.Time) (int, error) {
	cut := timeKey(seenBefore)
	total := 0
	// Seen sets: value is the first-seen time.
	for _, name := range []string{bucketSeenIDs, bucketSeenLinks} {
		n, err := db.pruneWhere(name, func(k, v []byte) bool {
			return len(v) == 8 && be64(v) < cut
		})
		total += n
		if err != nil {
			return total, err
		}
	}
	// Recent: key starts with the first-seen time. A story that a queued
	// alert refers to is kept until the alert leaves the outbox, and one
	// that a chat's cluster record refers to until the record is pruned.
	n, err := db.pruneRecent(cut)
	total += n
	if err != nil {
		return total, err
	}
	// Delivery records and dead letters (Delivery, DeadLetter: both
	// JSON with the time they were made as "at") go at the same cut;
	// dead letters are kept for the operator that long, and no longer,
	// so a chat that refuses every message for months cannot grow the
	// file without end. An unreadable record is kept: Prune is no place
	// to lose data silently.
	for _, name := range []string{bucketDelivered, bucketDead} {
		n, err := db.pruneWhere(name, func(k, v []byte) bool {
			var r struct {
				At time.Time `json:"at"`
			}
			return json.Unmarshal(v, &r) == nil && !r.At.IsZero() && timeKey(r.At) < cut
		})
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// pruneWhere deletes the keys of bucket name for which old is true, in
// transactions of at most pruneBatch deletions.
func (db *DB) pruneWhere(name string, old func(k, v []byte) bool) (int, error) {
	return db.pruneWhereTx(name, func(*bolt.Tx) (func(k, v []byte) bool, error) { return old, nil })
}

// pruneRecent deletes the recent stories first seen before cut, except
// those a compact outbox record refers to (outbox_codec.go): their alerts
// read the story from that record when they are sent; and those a compact
// cluster record refers to (cluster_codec.go). The references are
// collected in each deleting transaction, so an alert queued meanwhile is
// seen.
func (db *DB) pruneRecent(cut uint64) (int, error) {
	return db.pruneWhereTx(bucketRecent, func(tx *bolt.Tx) (func(k, v []byte) bool, error) {
		c := bucket(tx, bucketRecent).Cursor()
		if k, _ := c.First(); len(k) == 0 || len(k) >= 8 && be64(k) >= cut {
			// Nothing old: no need to read the outbox.
			return func(k, v []byte) bool { return false }, nil
		}
		// Referred to by recent key (older records) or by shortRef.
		kept, keptShort := map[string]bool{}, map[string]bool{}
		err := bucket(tx, bucketOutbox).ForEach(func(k, v []byte) error {
			ref, short, err := outboxRef(v)
			if err != nil {
				return fmt.Errorf("outbox message %x: %w", k, err)
			}
			switch {
			case len(ref) < 8 || be64(ref) >= cut:
			case short:
				keptShort[string(ref)] = true
			default:
				kept[string(ref)] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// A compact cluster record (cluster_codec.go) reads its alert's
		// title, link and summary from the story for /why, /mute and
		// edits, as long as the record is kept (PruneClusterAlerts, at
		// the same retention): its story is kept as long. Only the
		// reference, at a fixed place, is read of each record.
		err = bucket(tx, bucketClusterAlerts).ForEach(func(k, v []byte) error {
			if ref := clusterRef(v); ref != nil && be64(ref) < cut && !keptShort[string(ref)] {
				keptShort[string(ref)] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return func(k, v []byte) bool {
			if len(k) < 8 || be64(k) >= cut || kept[string(k)] {
				return false
			}
			return len(keptShort) == 0 || !keptShort[string(shortRef(k))]
		}, nil
	})
}

// pruneWhereTx is pruneWhere with the test made in each transaction by
// prepare.
func (db *DB) pruneWhereTx(name string, prepare func(tx *bolt.Tx) (func(k, v []byte) bool, error)) (int, error) {
	total := 0
	var from []byte
	for {
		var doomed [][]byte
		more := false
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			doomed = doomed[:0]
			old, err := prepare(tx)
			if err != nil {
				return err
			}
			b := bucket(tx, name)
			c := b.Cursor()
			var k, v []byte
			if from == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(from)
			}
			for ; k != nil; k, v = c.Next() {
				if len(doomed) == pruneBatch {
					more = true
					from = append([]byte(nil), k...)
					break
				}
				if old(k, v) {
					doomed = append(doomed, append([]byte(nil), k...))
				}
			}
			// Deleted after the walk: deleting under a cursor can make
			// it skip the next key.
			for _, k := range doomed {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", name, err)
		}
		total += len(doomed)
		if !more {
			return total, nil
		}
	}
}
