package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
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
//	markShortRef (0x03), or markCompactAlert (0x02) in records written
//	  before the short key
//	flags byte (1: Created is zero; 2: Created is a difference)
//	uvarint-length strings: platform, chat, thread
//	Created: with flag 2, a varint of nanoseconds from the first-seen
//	  time in the story's key (a few bytes: an alert is made as its story
//	  is first seen); else varint seconds since 1970, uvarint nanoseconds
//	uvarint-length bytes: the story's key: with markShortRef, its
//	  first-seen time and a 64-bit FNV-1a hash of the rest of its recent
//	  key (16 bytes, see shortRef); with markCompactAlert, the whole
//	  recent key (first-seen time + seen key, as long as the story's ID)
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

// markCompactAlert starts a compact alert record holding its story's
// whole recent key (written by 0bc7074 to 682cf01, still read).
const markCompactAlert = 0x02

// markShortRef starts a compact alert record holding a short key of its
// story (shortRef): a story's ID is often a URL of 60–100 bytes, and the
// key was repeated in each of the story's alerts.
const markShortRef = 0x03

// isCompact reports whether an outbox record is compact (not JSON).
func isCompact(v []byte) bool {
	return len(v) > 0 && (v[0] == markCompactAlert || v[0] == markShortRef)
}

// shortRef is the short key of the story under recent key k: its
// first-seen time and a 64-bit FNV-1a hash of the rest. Stories first
// seen at the same instant (one poll's) are told apart by the hash; two
// of them sharing one is a 1 in 2^64 chance per pair.
func shortRef(k []byte) []byte {
	if len(k) < 8 {
		return nil
	}
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 16), k[:8]...), fnv64a(k[8:]))
}

// fnv64a is FNV-1a: stable across processes and builds, unlike maphash.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

const (
	compactNoCreated    = 1
	compactCreatedDelta = 2
)

// createdDelta is c.Created in nanoseconds from the time its story key
// starts with, when both are times UnixNano can hold.
func createdDelta(c *compactAlert) (int64, bool) {
	if c.Created.IsZero() || len(c.Ref) < 8 {
		return 0, false
	}
	rt := be64(c.Ref)
	if y := c.Created.Year(); rt == 0 || rt > math.MaxInt64 || y < 1700 || y > 2200 {
		return 0, false
	}
	return c.Created.UnixNano() - int64(rt), true
}

// compactAlert is a compact outbox record, unresolved.
type compactAlert struct {
	To             chat.Address
	Created        time.Time
	Ref            []byte // the story's recent key, or its shortRef when Short
	Short          bool
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
	delta, isDelta := createdDelta(c)
	switch {
	case c.Created.IsZero():
		flags |= compactNoCreated
	case isDelta:
		flags |= compactCreatedDelta
	}
	mark := byte(markCompactAlert)
	if c.Short {
		mark = markShortRef
	}
	dst = append(dst, mark, flags)
	dst = appendString(dst, c.To.Platform)
	dst = appendString(dst, c.To.Chat)
	dst = appendString(dst, c.To.Thread)
	if flags&compactCreatedDelta != 0 {
		dst = binary.AppendVarint(dst, delta)
	} else {
		dst = binary.AppendVarint(dst, c.Created.Unix())
		dst = binary.AppendUvarint(dst, uint64(c.Created.Nanosecond()))
	}
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

// decodeCompact parses a compact record (isCompact). The returned Ref is
// a copy: v may be bbolt's, valid only in its transaction.
func decodeCompact(v []byte) (compactAlert, error) {
	var c compactAlert
	if len(v) < 2 || !isCompact(v) {
		return c, errShortRecord
	}
	c.Short = v[0] == markShortRef
	flags := v[1]
	r := compactReader{b: v[2:]}
	c.To = chat.Address{Platform: r.string(), Chat: r.string(), Thread: r.string()}
	var sec, delta int64
	var nsec uint64
	if flags&compactCreatedDelta != 0 {
		delta = r.varint()
	} else {
		sec, nsec = r.varint(), r.uvarint()
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
	if r.err || len(r.b) != 0 || len(c.Ref) < 8 || c.Short && len(c.Ref) != 16 {
		return c, errShortRecord
	}
	switch {
	case flags&compactNoCreated != 0:
	case flags&compactCreatedDelta != 0:
		c.Created = time.Unix(0, int64(be64(c.Ref))+delta).UTC()
	case nsec >= 1e9:
		return c, errShortRecord
	default:
		c.Created = time.Unix(sec, int64(nsec)).UTC()
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
// story s, ref the shortRef of its recent key (see compactable), JSON
// otherwise (s nil). A compact record is cut from arena.
func storedMessage(arena *valueArena, m *chat.Message, s *story.Story, ref []byte) ([]byte, error) {
	if s == nil || ref == nil || !compactable(m, s) {
		return encodeMessage(*m)
	}
	a := m.Alert
	c := compactAlert{
		To: m.To, Created: m.Created, Ref: ref, Short: true, SubscriptionID: a.SubscriptionID, Query: a.Query,
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
	recent    *bolt.Bucket
	z         *deflater
	lastRef   []byte
	lastShort bool
	last      story.Story
	// byRef, when not nil, remembers every story read by its shortRef:
	// in CommitPoll the edits of one story go to chats whose alerts
	// name different first stories of the cluster, one after another,
	// so the last story alone is rarely the one asked for.
	byRef map[string]*story.Story
}

func (db *DB) resolver(tx *bolt.Tx) *resolver {
	return &resolver{recent: bucket(tx, bucketRecent), z: &db.deflate}
}

// story returns the recent story that ref names: its recent key, or its
// shortRef when short.
func (r *resolver) story(ref []byte, short bool) (*story.Story, error) {
	if r.lastRef != nil && short == r.lastShort && bytes.Equal(ref, r.lastRef) {
		return &r.last, nil
	}
	if s, ok := r.byRef[string(ref)]; ok && short {
		return s, nil
	}
	var v []byte
	if short {
		v = findShort(r.recent, ref)
	} else {
		v = r.recent.Get(ref)
	}
	if v == nil {
		return nil, fmt.Errorf("story record %x: %w", ref, ErrNotFound)
	}
	s, err := decodeRecent(r.z, v)
	if err != nil {
		return nil, fmt.Errorf("story record %x: %w", ref, err)
	}
	if r.byRef != nil && short {
		r.byRef[string(ref)] = &s
		return &s, nil
	}
	r.last, r.lastRef, r.lastShort = s, append(r.lastRef[:0], ref...), short
	return &r.last, nil
}

// message decodes outbox record k, v of either form.
func (r *resolver) message(k, v []byte) (chat.Message, error) {
	if !isCompact(v) {
		return decodeMessage(k, v)
	}
	if len(k) != 8 {
		return chat.Message{}, fmt.Errorf("outbox key of %d bytes, want 8", len(k))
	}
	c, err := decodeCompact(v)
	if err != nil {
		return chat.Message{}, fmt.Errorf("decode message %d: %w", be64(k), err)
	}
	s, err := r.story(c.Ref, c.Short)
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

// findShort returns the recent record whose key has shortRef ref: one of
// the stories first seen at ref's time (one poll's, usually a few tens).
func findShort(recent *bolt.Bucket, ref []byte) []byte {
	if len(ref) != 16 {
		return nil
	}
	prefix, h := ref[:8], be64(ref[8:])
	c := recent.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if fnv64a(k[8:]) == h {
			return v
		}
	}
	return nil
}

// outboxRef returns the story key a compact record holds and whether it
// is a shortRef; nil for a JSON record. An unreadable compact record is
// an error.
func outboxRef(v []byte) ([]byte, bool, error) {
	if !isCompact(v) {
		return nil, false, nil
	}
	c, err := decodeCompact(v)
	if err != nil {
		return nil, false, err
	}
	return c.Ref, c.Short, nil
}

// rehomeRecord returns record v with its address changed by rehome, in
// the form it had, or nil when it is not addressed to chat key from.
func rehomeRecord(k, v []byte, from string, rehome func(chat.Address) chat.Address) ([]byte, error) {
	if !isCompact(v) {
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
