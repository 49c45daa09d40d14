package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
)

// Cluster records (clusters.go) come in two forms, told apart by their
// first byte as outbox records are (outbox_codec.go).
//
// A chat's first alert of a cluster queued with its story by CommitPoll is
// remembered as a compact binary record that refers to the story's recent
// record, by the same shortRef its compact outbox record holds, instead of
// copying the alert's title, link, published time and summary. In the
// pipeline benchmark about a million of these are written per cycle of
// new content (some 21 per story), and the JSON copies, about 1.5 KB each,
// made the file 1.5 GB larger and the cycle seven times slower. The
// compact record is:
//
//	markClusterRef (0x04)
//	flags byte (1: muted; 2: At is a difference; 4: At is zero;
//	  8: the cluster ID is the one the record's key starts with)
//	16 bytes: the story's shortRef (first-seen time, FNV-1a of the rest
//	  of its recent key)
//	At: with flag 2, a varint of nanoseconds from the shortRef's time;
//	  with flag 4 nothing; else varint seconds since 1970, uvarint
//	  nanoseconds
//	uvarint alert seq (also the alert's Number), uvarint pending edit
//	uvarint-length strings: platform, chat, thread
//	without flag 8, a uvarint-length cluster ID (also the alert's)
//	uvarint subscription ID, uvarint-length query
//	uvarint count of matched terms, each a uvarint-length string
//	uvarint count of other outlets, each three uvarint-length strings:
//	  source, title, link
//
// Flags and At come first, right after the reference, so that the hot
// path (is there a record, is it muted, is it inside the edit window)
// reads them without decoding the rest (clusterHead).
//
// Every per-chat field is in the record; the story's fields are read from
// its recent record when the record is resolved (resolver.clusterRecord).
// Records written before are JSON of ClusterAlert, start with '{' and are
// read as they were; a record that cannot be compact (no story record in
// the same transaction, an alert whose story fields differ from its
// story's) is still written as JSON.
//
// A recent record that a compact cluster record refers to is kept by
// Prune as long as the cluster record is (pruneRecent), so /why, /mute and
// later edits of an old alert still find its title and link. Should the
// story be gone all the same (a damaged or hand-edited file), reading the
// record fails with an error wrapping ErrNotFound, /mute still mutes it,
// and a later outlet of the cluster sends a new alert instead of failing
// the poll (place).
//
// The schema version was raised to 5 for these records (migrateV4toV5).

// markClusterRef starts a compact cluster record. JSON starts with '{'.
const markClusterRef = 0x04

const (
	clusterMuted      = 1
	clusterAtDelta    = 2
	clusterNoAt       = 4
	clusterIDFromKey  = 8
	clusterKnownFlags = clusterMuted | clusterAtDelta | clusterNoAt | clusterIDFromKey
)

// clusterRefLen is the length of the shortRef a compact record holds.
const clusterRefLen = 16

// clusterHeadLen is the fixed start of a compact record: mark, flags, ref.
const clusterHeadLen = 2 + clusterRefLen

// migrateV4toV5 changes nothing stored: JSON cluster records stay readable
// beside compact ones. The version is raised so that a Frontwire of
// schema v4, which reads every cluster record as JSON, refuses the file
// (ErrSchemaTooNew) instead of failing each poll that reaches a compact
// record: its CommitPoll would return the decoding error and alert no one.
func migrateV4toV5(*bolt.Tx) error { return nil }

// clusterRecord is a cluster record as read: the ClusterAlert and, for a
// compact record, the shortRef of its story (nil for JSON). Until it is
// resolved, a compact record's Alert lacks the story's fields.
type clusterRecord struct {
	ClusterAlert
	ref      []byte
	resolved bool
}

// isClusterCompact reports whether cluster record v is compact.
func isClusterCompact(v []byte) bool { return len(v) > 0 && v[0] == markClusterRef }

// clusterKeyID is the cluster ID that cluster key k starts with
// (clusterKey).
func clusterKeyID(k []byte) []byte {
	id, _, _ := splitClusterKey(k)
	return id
}

// clusterAtDiff is at in nanoseconds from the time ref starts with, when
// both are times UnixNano can hold (as createdDelta).
func clusterAtDiff(at time.Time, ref []byte) (int64, bool) {
	if at.IsZero() || len(ref) < 8 {
		return 0, false
	}
	rt := be64(ref)
	if y := at.Year(); rt == 0 || rt > math.MaxInt64 || y < 1700 || y > 2200 {
		return 0, false
	}
	return at.UnixNano() - int64(rt), true
}

// clusterCompactable reports whether r can be stored compact: it refers
// to a story, its alert carries the record's own seq and cluster ID (as
// placeAlert makes it), and its strings fit what the decoder accepts.
func clusterCompactable(r *clusterRecord) bool {
	return len(r.ref) == clusterRefLen && r.Alert.Number == r.AlertSeq && r.Alert.ClusterID == r.ClusterID
}

// encodeClusterRecord returns the stored form of r under key: compact
// when clusterCompactable (cut from arena, nil: allocated alone), JSON of
// the ClusterAlert otherwise. A compact
// record read and not resolved cannot be turned into JSON (its story's
// fields are missing): that is an error, never a record missing them.
func encodeClusterRecord(arena *valueArena, key []byte, r *clusterRecord) ([]byte, error) {
	if !clusterCompactable(r) {
		if r.ref != nil && !r.resolved {
			return nil, fmt.Errorf("encode cluster alert %q: unresolved record cannot be stored whole", key)
		}
		v, err := json.Marshal(&r.ClusterAlert)
		if err != nil {
			return nil, fmt.Errorf("encode cluster alert %q: %w", key, err)
		}
		return v, nil
	}
	a := &r.Alert
	var flags byte
	if r.Muted {
		flags |= clusterMuted
	}
	delta, isDelta := clusterAtDiff(r.At, r.ref)
	switch {
	case r.At.IsZero():
		flags |= clusterNoAt
	case isDelta:
		flags |= clusterAtDelta
	}
	if string(clusterKeyID(key)) == r.ClusterID {
		flags |= clusterIDFromKey
	}
	n := clusterHeadLen + 6*binary.MaxVarintLen64 + len(r.To.Platform) + len(r.To.Chat) + len(r.To.Thread) +
		len(r.ClusterID) + len(a.Query) + 4*binary.MaxVarintLen64
	for _, t := range a.Matched {
		n += binary.MaxVarintLen64 + len(t)
	}
	for _, o := range a.Also {
		n += 3*binary.MaxVarintLen64 + len(o.Source) + len(o.Title) + len(o.Link)
	}
	// n bounds the record, so the appends stay in the arena's slice.
	b := arena.take(n)
	b = append(b, markClusterRef, flags)
	b = append(b, r.ref...)
	switch {
	case flags&clusterNoAt != 0:
	case isDelta:
		b = binary.AppendVarint(b, delta)
	default:
		b = binary.AppendVarint(b, r.At.Unix())
		b = binary.AppendUvarint(b, uint64(r.At.Nanosecond()))
	}
	b = binary.AppendUvarint(b, r.AlertSeq)
	b = binary.AppendUvarint(b, r.PendingEdit)
	b = appendString(b, r.To.Platform)
	b = appendString(b, r.To.Chat)
	b = appendString(b, r.To.Thread)
	if flags&clusterIDFromKey == 0 {
		b = appendString(b, r.ClusterID)
	}
	b = binary.AppendUvarint(b, a.SubscriptionID)
	b = appendString(b, a.Query)
	b = binary.AppendUvarint(b, uint64(len(a.Matched)))
	for _, t := range a.Matched {
		b = appendString(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(a.Also)))
	for _, o := range a.Also {
		b = appendString(b, o.Source)
		b = appendString(b, o.Title)
		b = appendString(b, o.Link)
	}
	return b, nil
}

// clusterHead reads only when record v was queued and whether it is
// muted: all the new-alert path and PruneClusterAlerts need. A compact
// record is read without allocating; a JSON one is decoded.
func clusterHead(v []byte) (at time.Time, muted bool, err error) {
	if !isClusterCompact(v) {
		var r struct {
			At    time.Time `json:"at"`
			Muted bool      `json:"muted"`
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return time.Time{}, false, err
		}
		return r.At, r.Muted, nil
	}
	if len(v) < clusterHeadLen || v[1]&^clusterKnownFlags != 0 {
		return time.Time{}, false, errShortRecord
	}
	r := compactReader{b: v[clusterHeadLen:]}
	at, ok := readClusterAt(&r, v[1], v[2:clusterHeadLen])
	if !ok {
		return time.Time{}, false, errShortRecord
	}
	return at, v[1]&clusterMuted != 0, nil
}

func readClusterAt(r *compactReader, flags byte, ref []byte) (time.Time, bool) {
	switch {
	case flags&clusterNoAt != 0:
		return time.Time{}, flags&clusterAtDelta == 0
	case flags&clusterAtDelta != 0:
		d := r.varint()
		return time.Unix(0, int64(be64(ref))+d).UTC(), !r.err
	default:
		sec, nsec := r.varint(), r.uvarint()
		if r.err || nsec >= 1e9 {
			return time.Time{}, false
		}
		return time.Unix(sec, int64(nsec)).UTC(), true
	}
}

// clusterRef returns the shortRef a compact cluster record refers to, nil
// for a JSON record, without decoding the rest.
func clusterRef(v []byte) []byte {
	if !isClusterCompact(v) || len(v) < clusterHeadLen {
		return nil
	}
	return v[2:clusterHeadLen]
}

// decodeClusterRecord parses cluster record k, v of either form. A
// compact one comes back unresolved (resolver.resolveCluster fills in
// its story); nothing in it shares memory with v, which may be bbolt's.
func decodeClusterRecord(k, v []byte) (clusterRecord, error) {
	var rec clusterRecord
	if !isClusterCompact(v) {
		if err := json.Unmarshal(v, &rec.ClusterAlert); err != nil {
			return rec, fmt.Errorf("decode cluster alert %q: %w", k, err)
		}
		rec.resolved = true
		return rec, nil
	}
	if err := decodeClusterCompact(k, v, &rec); err != nil {
		return clusterRecord{}, fmt.Errorf("decode cluster alert %q: %w", k, err)
	}
	return rec, nil
}

func decodeClusterCompact(k, v []byte, rec *clusterRecord) error {
	if len(v) < clusterHeadLen || v[1]&^clusterKnownFlags != 0 {
		return errShortRecord
	}
	flags := v[1]
	rec.ref = bytes.Clone(v[2:clusterHeadLen])
	r := compactReader{b: v[clusterHeadLen:]}
	at, ok := readClusterAt(&r, flags, rec.ref)
	if !ok {
		return errShortRecord
	}
	rec.At = at
	rec.Muted = flags&clusterMuted != 0
	rec.AlertSeq = r.uvarint()
	rec.PendingEdit = r.uvarint()
	rec.To = chat.Address{Platform: r.string(), Chat: r.string(), Thread: r.string()}
	if flags&clusterIDFromKey != 0 {
		rec.ClusterID = string(clusterKeyID(k))
	} else {
		rec.ClusterID = r.string()
	}
	a := &rec.Alert
	a.SubscriptionID = r.uvarint()
	a.Query = r.string()
	// Each string takes at least its length byte: a damaged count cannot
	// make a slice larger than the record.
	if n := r.uvarint(); n > uint64(len(r.b)) {
		return errShortRecord
	} else if n > 0 {
		a.Matched = make([]string, n)
		for i := range a.Matched {
			a.Matched[i] = r.string()
		}
	}
	if n := r.uvarint(); n > uint64(len(r.b))/3 {
		return errShortRecord
	} else if n > 0 {
		a.Also = make([]chat.Outlet, n)
		for i := range a.Also {
			a.Also[i] = chat.Outlet{Source: r.string(), Title: r.string(), Link: r.string()}
		}
	}
	if r.err || len(r.b) != 0 {
		return errShortRecord
	}
	a.Number, a.ClusterID = rec.AlertSeq, rec.ClusterID
	return nil
}

// clusterOutletKnown reports, without decoding compact record v, whether
// its alert already lists the outlet source or lists as many as it may
// (maxOutlets): then a story of that outlet changes nothing. A JSON
// record reports false; place decodes it whole.
func clusterOutletKnown(v []byte, source string) (bool, error) {
	if !isClusterCompact(v) {
		return false, nil
	}
	if len(v) < clusterHeadLen || v[1]&^clusterKnownFlags != 0 {
		return false, errShortRecord
	}
	flags := v[1]
	r := compactReader{b: v[clusterHeadLen:]}
	if _, ok := readClusterAt(&r, flags, v[2:clusterHeadLen]); !ok {
		return false, errShortRecord
	}
	r.uvarint() // alert seq
	r.uvarint() // pending edit
	r.bytes()   // platform
	r.bytes()   // chat
	r.bytes()   // thread
	if flags&clusterIDFromKey == 0 {
		r.bytes()
	}
	r.uvarint() // subscription
	r.bytes()   // query
	for n := r.uvarint(); n > 0 && !r.err; n-- {
		r.bytes()
	}
	n := r.uvarint()
	if r.err {
		return false, errShortRecord
	}
	if n >= maxOutlets {
		return true, nil
	}
	for ; n > 0 && !r.err; n-- {
		src := r.bytes()
		r.bytes()
		r.bytes()
		if !r.err && string(src) == source {
			return true, nil
		}
	}
	if r.err {
		return false, errShortRecord
	}
	return false, nil
}

// resolveCluster fills in rec's story fields (nothing to do for JSON).
func (r *resolver) resolveCluster(k []byte, rec *clusterRecord) error {
	if rec.resolved {
		return nil
	}
	s, err := r.story(rec.ref, true)
	if err != nil {
		return fmt.Errorf("cluster alert %q: %w", k, err)
	}
	a := &rec.Alert
	a.StoryID, a.Source, a.Title, a.Link, a.Published, a.Summary = s.ID, s.Source, s.Title, s.Link, s.Published, s.Summary
	rec.resolved = true
	return nil
}
