package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/story"
)

// Outbox records come in two forms.
//
// A story alert queued by CommitPoll is a compact binary record that refers
// to its story's record in the recent bucket instead of copying the story's
// title, link and summary: in the pipeline benchmark a new story becomes
// about 21 alerts, and each JSON copy was about 870 bytes, so the outbox
// grew by some 18 KB per story and JSON encoding and bbolt puts of those
// copies were most of a new story's cost. The compact record is:
//
//	markCompactAlert (0x02)
//	flags byte (1: Created is zero)
//	uvarint-length strings: platform, chat, thread
//	Created: varint seconds since 1970, uvarint nanoseconds
//	uvarint-length bytes: the story's recent key (first-seen time + seen key)
//	uvarint subscription ID, uvarint-length query
//	uvarint count of matched terms, each a uvarint-length string
//	uvarint-length cluster ID, uvarint alert number
//
// and resolves, when read, to the chat.Message it was made from: the
// alert's story ID, source, title, link, published time and summary come
// from the recent record. Every other message (replies, notices, digests,
// edits, alerts that do not come with their story) is the chat.Message as
// JSON, as all records were before schema v4; JSON starts with '{', never
// with the marker, so both forms are read side by side and no migration
// rewrites the old ones.
//
// A recent record that a queued alert refers to is kept by Prune until the
// alert leaves the outbox (pruneRecent).

// migrateV3toV4 changes nothing stored: JSON outbox records stay readable
// beside compact ones. The version is raised so that a Frontwire of
// schema v3, which could not read compact records, refuses the file
// (ErrSchemaTooNew) instead of failing on its outbox.
func migrateV3toV4(*bolt.Tx) error { return nil }

// markCompactAlert starts a compact alert record.
const markCompactAlert = 0x02

const compactNoCreated = 1

// compactAlert is a compact outbox record, unresolved.
type compactAlert struct {
	To             chat.Address
	Created        time.Time
	Ref            []byte // the story's key in the recent bucket
	SubscriptionID uint64
	Query          string
	Matched        []string
	ClusterID      string
	Number         uint64
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeCompact appends c's record to dst.
func encodeCompact(dst []byte, c *compactAlert) []byte {
	var flags byte
	if c.Created.IsZero() {
		flags |= compactNoCreated
	}
	dst = append(dst, markCompactAlert, flags)
	dst = appendString(dst, c.To.Platform)
	dst = appendString(dst, c.To.Chat)
	dst = appendString(dst, c.To.Thread)
	dst = binary.AppendVarint(dst, c.Created.Unix())
	dst = binary.AppendUvarint(dst, uint64(c.Created.Nanosecond()))
	dst = binary.AppendUvarint(dst, uint64(len(c.Ref)))
	dst = append(dst, c.Ref...)
	dst = binary.AppendUvarint(dst, c.SubscriptionID)
	dst = appendString(dst, c.Query)
	dst = binary.AppendUvarint(dst, uint64(len(c.Matched)))
	for _, t := range c.Matched {
		dst = appendString(dst, t)
	}
	dst = appendString(dst, c.ClusterID)
	return binary.AppendUvarint(dst, c.Number)
}

// compactReader reads a compact record field by field; the first error
// sticks and every later read returns zero values.
type compactReader struct {
	b   []byte
	err bool
}

func (r *compactReader) uvarint() uint64 {
	if r.err {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *compactReader) varint() int64 {
	if r.err {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *compactReader) bytes() []byte {
	l := r.uvarint()
	if r.err || l > uint64(len(r.b)) {
		r.err = true
		return nil
	}
	v := r.b[:l:l]
	r.b = r.b[l:]
	return v
}

func (r *compactReader) string() string { return string(r.bytes()) }

// decodeCompact parses a compact record (v[0] == markCompactAlert). The
// returned Ref is a copy: v may be bbolt's, valid only in its transaction.
func decodeCompact(v []byte) (compactAlert, error) {
	var c compactAlert
	if len(v) < 2 || v[0] != markCompactAlert {
		return c, errShortRecord
	}
	flags := v[1]
	r := compactReader{b: v[2:]}
	c.To = chat.Address{Platform: r.string(), Chat: r.string(), Thread: r.string()}
	sec := r.varint()
	nsec := r.uvarint()
	if flags&compactNoCreated == 0 && !r.err {
		if nsec >= 1e9 {
			return c, errShortRecord
		}
		c.Created = time.Unix(sec, int64(nsec)).UTC()
	}
	c.Ref = bytes.Clone(r.bytes())
	c.SubscriptionID = r.uvarint()
	c.Query = r.string()
	n := r.uvarint()
	// Each term takes at least its length byte: a damaged count cannot
	// make the slice larger than the record.
	if n > uint64(len(r.b)) {
		return c, errShortRecord
	}
	if n > 0 {
		c.Matched = make([]string, n)
		for i := range c.Matched {
			c.Matched[i] = r.string()
		}
	}
	c.ClusterID = r.string()
	c.Number = r.uvarint()
	if r.err || len(r.b) != 0 || len(c.Ref) < 8 {
		return c, errShortRecord
	}
	return c, nil
}

// compactable reports whether alert message m of story s can be stored as
// a compact record: the alert's story fields must be the story's, since
// they are read back from its recent record, and an alert listing other
// outlets (an edit's content) is kept whole.
func compactable(m *chat.Message, s *story.Story) bool {
	a := m.Alert
	return m.Kind == chat.KindAlert && a != nil && m.Text == "" && m.Digest == nil && m.EditOf == 0 &&
		len(a.Also) == 0 && a.StoryID == s.ID && a.Source == s.Source && a.Title == s.Title &&
		a.Link == s.Link && a.Summary == s.Summary && a.Published.Equal(s.Published) &&
		a.Published.IsZero() == s.Published.IsZero()
}

// valueArena hands out buffers cut from larger chunks, for the values a
// write transaction puts: bbolt keeps a value by reference until the
// commit, so a chunk is never written twice, only replaced when full. One
// allocation per 64 KB instead of one per queued message (about a million
// in the benchmark's new-content cycle). The zero value is ready; nil
// allocates each buffer alone.
type valueArena struct{ chunk []byte }

// take returns an empty slice with capacity n.
func (a *valueArena) take(n int) []byte {
	if a == nil {
		return make([]byte, 0, n)
	}
	if cap(a.chunk)-len(a.chunk) < n {
		a.chunk = make([]byte, 0, max(n, 64<<10))
	}
	start := len(a.chunk)
	a.chunk = a.chunk[:start+n]
	return a.chunk[start : start : start+n]
}

// storedMessage encodes m for the outbox: compact when m is an alert of
// story s whose recent record is under ref (see compactable), JSON
// otherwise (s nil). A compact record is cut from arena.
func storedMessage(arena *valueArena, m *chat.Message, s *story.Story, ref []byte) ([]byte, error) {
	if s == nil || ref == nil || !compactable(m, s) {
		return encodeMessage(*m)
	}
	a := m.Alert
	c := compactAlert{
		To: m.To, Created: m.Created, Ref: ref, SubscriptionID: a.SubscriptionID, Query: a.Query,
		Matched: a.Matched, ClusterID: a.ClusterID, Number: a.Number,
	}
	n := 2 + 3*binary.MaxVarintLen64 + len(m.To.Platform) + len(m.To.Chat) + len(m.To.Thread) +
		4*binary.MaxVarintLen64 + len(ref) + len(a.Query) + len(a.ClusterID) + 2*binary.MaxVarintLen64
	for _, t := range a.Matched {
		n += binary.MaxVarintLen64 + len(t)
	}
	// n bounds the record, so the append stays in the arena's slice.
	return encodeCompact(arena.take(n), &c), nil
}

// resolver turns outbox records into messages inside one transaction. It
// remembers the last story it read: the alerts of one story are queued
// one after another, so reading the whole outbox decodes each story once.
type resolver struct {
	recent  *bolt.Bucket
	z       *deflater
	lastRef []byte
	last    story.Story
}

func (db *DB) resolver(tx *bolt.Tx) *resolver {
	return &resolver{recent: bucket(tx, bucketRecent), z: &db.deflate}
}

// story returns the recent story under ref.
func (r *resolver) story(ref []byte) (*story.Story, error) {
	if r.lastRef != nil && bytes.Equal(ref, r.lastRef) {
		return &r.last, nil
	}
	v := r.recent.Get(ref)
	if v == nil {
		return nil, fmt.Errorf("story record %x: %w", ref, ErrNotFound)
	}
	s, err := decodeRecent(r.z, v)
	if err != nil {
		return nil, fmt.Errorf("story record %x: %w", ref, err)
	}
	r.last, r.lastRef = s, append(r.lastRef[:0], ref...)
	return &r.last, nil
}

// message decodes outbox record k, v of either form.
func (r *resolver) message(k, v []byte) (chat.Message, error) {
	if len(v) == 0 || v[0] != markCompactAlert {
		return decodeMessage(k, v)
	}
	if len(k) != 8 {
		return chat.Message{}, fmt.Errorf("outbox key of %d bytes, want 8", len(k))
	}
	c, err := decodeCompact(v)
	if err != nil {
		return chat.Message{}, fmt.Errorf("decode message %d: %w", be64(k), err)
	}
	s, err := r.story(c.Ref)
	if err != nil {
		return chat.Message{}, fmt.Errorf("decode message %d: %w", be64(k), err)
	}
	return chat.Message{
		Seq:     be64(k),
		To:      c.To,
		Kind:    chat.KindAlert,
		Created: c.Created,
		Alert: &chat.Alert{
			StoryID:        s.ID,
			Source:         s.Source,
			Title:          s.Title,
			Link:           s.Link,
			Published:      s.Published,
			Summary:        s.Summary,
			SubscriptionID: c.SubscriptionID,
			Query:          c.Query,
			Matched:        c.Matched,
			ClusterID:      c.ClusterID,
			Number:         c.Number,
		},
	}, nil
}

// outboxRef returns the recent key a compact record refers to, nil for a
// JSON record; an unreadable compact record is an error.
func outboxRef(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != markCompactAlert {
		return nil, nil
	}
	c, err := decodeCompact(v)
	if err != nil {
		return nil, err
	}
	return c.Ref, nil
}

// rehomeRecord returns record v with its address changed by rehome, in
// the form it had, or nil when it is not addressed to chat key from.
func rehomeRecord(k, v []byte, from string, rehome func(chat.Address) chat.Address) ([]byte, error) {
	if len(v) == 0 || v[0] != markCompactAlert {
		m, err := decodeMessage(k, v)
		if err != nil || m.To.Key() != from {
			return nil, err
		}
		m.To = rehome(m.To)
		return encodeMessage(m)
	}
	c, err := decodeCompact(v)
	if err != nil {
		return nil, fmt.Errorf("decode message %d: %w", be64(k), err)
	}
	if c.To.Key() != from {
		return nil, nil
	}
	c.To = rehome(c.To)
	return encodeCompact(nil, &c), nil
}
