package storage

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/story"
)

// Story clusters in storage: one record per chat and cluster saying which
// alert of that cluster the chat got, which other outlets reported the event
// since, and which edit of the alert is waiting in the outbox. The records
// are read and written inside CommitPoll's transaction, so the choice
// "new alert or edit of the earlier one" is made under bbolt's single
// writer: two sources polled at once cannot both send a first alert.

// DefaultEditWindow is how long after a chat's alert of a cluster later
// stories of the cluster edit that alert instead of alerting again.
const DefaultEditWindow = 6 * time.Hour

// maxOutlets caps the outlets remembered for one alert, so a cluster fed
// by a flood of stories cannot grow a record without bound. Renderers show
// far fewer and summarise the rest as "(n more)".
const maxOutlets = 100

// ErrMuted means the chat muted the alert's cluster.
var ErrMuted = errors.New("cluster muted in this chat")

// ClusterPolicy tunes how clustered alerts are turned into edits.
type ClusterPolicy struct {
	// EditWindow: a story of a cluster whose alert the chat got less than
	// EditWindow ago becomes an edit of that alert; later, a new alert.
	// Zero means DefaultEditWindow.
	EditWindow time.Duration
	// Merged, when set, lists the IDs of the clusters merged into the
	// cluster root (clusters.Clusterer.Merged). Alerts arrive filed under
	// the root's ID; a chat whose record of the event is filed under a
	// merged cluster's older ID is found by looking each ID up, so its
	// alert is edited (or stays muted) rather than sent again. (Until the
	// fourth session storage took Canonical instead and mapped every
	// record of the chat through it: in the pipeline benchmark a chat
	// holds up to 45,000 records, and the new-content cycle did not end
	// within five minutes; docs/PERFORMANCE.md, "Cluster records round".)
	Merged func(root string) []string
}

// ClusterAlert is what storage keeps about one chat's alert of one cluster.
type ClusterAlert struct {
	To        chat.Address `json:"to"`
	ClusterID string       `json:"cluster_id"`
	AlertSeq  uint64       `json:"alert_seq"` // outbox seq of the alert; edits name it in EditOf
	Alert     chat.Alert   `json:"alert"`     // current version: Also grows with each outlet
	At        time.Time    `json:"at"`        // when the alert was queued
	Muted     bool         `json:"muted,omitempty"`
	// PendingEdit is the seq of the edit queued for this alert and maybe
	// still in the outbox (0: none). A later outlet replaces that edit
	// rather than queueing a second one.
	PendingEdit uint64 `json:"pending_edit,omitempty"`
}

// SetClusterPolicy sets how clustered alerts become edits. Call it before
// the first CommitPoll; it is not synchronised with running transactions.
func (db *DB) SetClusterPolicy(p ClusterPolicy) {
	if p.EditWindow <= 0 {
		p.EditWindow = DefaultEditWindow
	}
	db.clusterPolicy = p
}

func (db *DB) editWindow() time.Duration {
	if db.clusterPolicy.EditWindow <= 0 {
		return DefaultEditWindow
	}
	return db.clusterPolicy.EditWindow
}

// clusterKey is the key of a chat's record of a cluster: cluster ID, a
// zero byte (in no cluster ID), chat key. The cluster comes first so that
// a story's records, one per chat it alerts (about 21 in the pipeline
// benchmark), sit side by side and a poll's transaction rewrites a page
// or two per story rather than a page per record: the new-content cycle
// with the clusterer went from 1,266 to 2,178 stories/s with this order
// (docs/PERFORMANCE.md). Listing one chat's records (MoveChat) reads the
// whole bucket; that is rare.
func clusterKey(chatKey, clusterID string) []byte {
	k := make([]byte, 0, len(chatKey)+1+len(clusterID))
	k = append(k, clusterID...)
	k = append(k, 0)
	return append(k, chatKey...)
}

// migrateV5toV6 moves the cluster records of v5, keyed chat key, zero
// byte, cluster ID in the bucket "cluster_alerts", to bucketClusterAlerts
// keyed as clusterKey now keys them (cluster first), and points the alert
// numbers at the new keys. Values are kept as they are: a compact
// record's flag for "the cluster ID is the key's" reads the ID from
// wherever clusterKeyID finds it. It holds the records' keys in memory
// once (a few tens of MB for a million records).
func migrateV5toV6(tx *bolt.Tx) error {
	old := tx.Bucket([]byte("cluster_alerts"))
	if old == nil {
		return nil
	}
	recs, err := tx.CreateBucketIfNotExists([]byte(bucketClusterAlerts))
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketClusterAlerts, err)
	}
	// v5 key: chat, 0, cluster. Chat keys hold no zero byte.
	rekey := func(k []byte) ([]byte, bool) {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			return nil, false
		}
		return clusterKey(string(k[:i]), string(k[i+1:])), true
	}
	err = old.ForEach(func(k, v []byte) error {
		nk, ok := rekey(k)
		if !ok {
			return fmt.Errorf("cluster record key %q has no separator", k)
		}
		// A copy: v is in the old bucket's pages, freed below.
		return recs.Put(nk, bytes.Clone(v))
	})
	if err != nil {
		return fmt.Errorf("move cluster records: %w", err)
	}
	if nums := tx.Bucket([]byte(bucketClusterSeqs)); nums != nil {
		if err := repointNumbers(nums, rekey); err != nil {
			return err
		}
	}
	return tx.DeleteBucket([]byte("cluster_alerts"))
}

// repointNumbers points every alert number whose record key newKey maps
// (ok) at the new key. Several numbers may name one record. The changes
// are collected first: bbolt's ForEach must not run beside Puts.
func repointNumbers(nums *bolt.Bucket, newKey func(old []byte) ([]byte, bool)) error {
	var renumber [][2][]byte
	err := nums.ForEach(func(k, v []byte) error {
		if nk, ok := newKey(v); ok {
			renumber = append(renumber, [2][]byte{append([]byte(nil), k...), nk})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range renumber {
		if err := nums.Put(r[0], r[1]); err != nil {
			return fmt.Errorf("repoint cluster alert number %x: %w", r[0], err)
		}
	}
	return nil
}

// splitClusterKey returns the cluster ID and the chat key of key
// (clusterKey); ok is false for a key without the zero byte.
func splitClusterKey(key []byte) (clusterID, chatKey []byte, ok bool) {
	i := bytes.IndexByte(key, 0)
	if i < 0 {
		return nil, nil, false
	}
	return key[:i], key[i+1:], true
}

// putClusterRecord stores r under key (cluster_codec.go); a compact
// record is cut from arena (nil: allocated alone).
func putClusterRecord(b *bolt.Bucket, key []byte, r *clusterRecord, arena *valueArena) error {
	v, err := encodeClusterRecord(arena, key, r)
	if err != nil {
		return err
	}
	if err := b.Put(key, v); err != nil {
		return fmt.Errorf("store cluster alert: %w", err)
	}
	return nil
}

// place queues one message of a poll inside CommitPoll's transaction and
// returns what it queued (one alert or one edit) and whether it queued
// anything. A message that is
// not a clustered alert is queued as it is. A clustered alert becomes:
//   - a new alert, numbered and remembered, when the chat had no alert of
//     the cluster within the edit window;
//   - nothing, when the chat muted the cluster or the outlet is already
//     listed;
//   - otherwise an edit of the earlier alert carrying its new version
//     (the outlet added to Also). An edit still waiting in the outbox for
//     that alert is replaced by it, so at most one edit per alert waits at
//     a time; the dispatcher spaces the edits it sends.
//
// An alert of story s (nil: none), whose recent record is under ref, is
// stored referring to it (outbox_codec.go); edits are stored whole.
func (db *DB) place(tx *bolt.Tx, out *bolt.Bucket, m chat.Message, now time.Time, s *story.Story, ref []byte, arena *valueArena, res *resolver) (chat.Message, bool, error) {
	if m.Kind != chat.KindAlert || m.Alert == nil || m.Alert.ClusterID == "" {
		q, err := enqueueOf(out, m, now, s, ref, arena)
		if err != nil {
			return q, false, err
		}
		return q, true, nil
	}
	when := m.Created
	if when.IsZero() {
		when = now
	}
	recs, bySeq := bucket(tx, bucketClusterAlerts), bucket(tx, bucketClusterSeqs)
	key := clusterKey(m.To.Key(), m.Alert.ClusterID)
	// Only the record's time and mute are read here: most alerts are a
	// chat's first of their cluster, or come after the edit window, and
	// need nothing else of it.
	v := recs.Get(key)
	var at time.Time
	if v != nil {
		t, muted, err := clusterHead(v)
		if err != nil {
			return chat.Message{}, false, fmt.Errorf("decode cluster alert %q: %w", key, err)
		}
		if muted {
			return chat.Message{}, false, nil
		}
		at = t
	}
	if merged := db.clusterPolicy.Merged; merged != nil {
		akey, av, aat, muted, err := aliasedRecord(recs, m.To.Key(), m.Alert.ClusterID, merged(m.Alert.ClusterID))
		if err != nil {
			return chat.Message{}, false, err
		}
		if muted {
			return chat.Message{}, false, nil
		}
		// The record under the canonical ID, if any, is the chat's
		// alert of the merged event; else the latest under an old ID.
		if v == nil && av != nil {
			key, v, at = akey, av, aat
		}
	}
	if v == nil || when.Sub(at) >= db.editWindow() {
		return db.placeAlert(out, recs, bySeq, key, m, when, now, s, ref, arena)
	}
	// An outlet already listed, or one too many, changes nothing: known
	// before the record is decoded (it lists up to maxOutlets outlets)
	// and its story read (each read inflates a recent record).
	if known, err := clusterOutletKnown(v, m.Alert.Source); err != nil {
		return chat.Message{}, false, fmt.Errorf("decode cluster alert %q: %w", key, err)
	} else if known {
		return chat.Message{}, false, nil
	}
	rec, err := decodeClusterRecord(key, v)
	if err != nil {
		return chat.Message{}, false, err
	}
	o := chat.Outlet{Source: m.Alert.Source, Title: m.Alert.Title, Link: m.Alert.Link}
	if err := res.resolveCluster(key, &rec); err != nil {
		// The story of the chat's alert is gone (Prune keeps it while
		// the record lives, so only a damaged file gets here): an edit
		// could not show the alert, so the chat gets this story as a
		// new alert rather than the whole poll failing.
		if errors.Is(err, ErrNotFound) {
			return db.placeAlert(out, recs, bySeq, key, m, when, now, s, ref, arena)
		}
		return chat.Message{}, false, err
	}
	if !addOutlet(&rec.Alert, o) {
		return chat.Message{}, false, nil
	}
	rec.Alert.Matched = mergeMatched(rec.Alert.Matched, m.Alert.Matched)
	if rec.PendingEdit != 0 {
		if err := db.outbox.remove(tx, out, u64(rec.PendingEdit)); err != nil {
			return chat.Message{}, false, fmt.Errorf("replace edit %d: %w", rec.PendingEdit, err)
		}
	}
	a := rec.Alert
	a.Also = append([]chat.Outlet(nil), rec.Alert.Also...)
	edit, err := enqueue(out, chat.Message{To: rec.To, Kind: chat.KindEdit, Alert: &a, EditOf: rec.AlertSeq, Created: when}, now)
	if err != nil {
		return chat.Message{}, false, err
	}
	rec.PendingEdit = edit.Seq
	if err := putClusterRecord(recs, key, &rec, arena); err != nil {
		return chat.Message{}, false, err
	}
	return edit, true, nil
}

// aliasedRecord finds the chat's records of clusters merged into the
// cluster root: it returns the latest one (key, stored value, time), and
// whether any is muted (a mute of either half of a merged event holds for
// the whole of it). Only each record's time and mute are decoded. The
// records are looked up under each ID of merged, the IDs merged into root.
func aliasedRecord(recs *bolt.Bucket, chatKey, root string, merged []string) ([]byte, []byte, time.Time, bool, error) {
	var (
		key, val []byte
		at       time.Time
		muted    bool
	)
	for _, id := range merged {
		if id == root {
			continue
		}
		k := clusterKey(chatKey, id)
		v := recs.Get(k)
		if v == nil {
			continue
		}
		t, m, err := clusterHead(v)
		if err != nil {
			return nil, nil, time.Time{}, false, fmt.Errorf("decode cluster alert %q: %w", k, err)
		}
		if m {
			muted = true
		}
		if val == nil || t.After(at) {
			key, val, at = k, v, t
		}
	}
	return key, val, at, muted, nil
}

// placeAlert queues m as the chat's alert of its cluster, numbered by its
// own seq, and starts the cluster's record for the chat.
func (db *DB) placeAlert(out, recs, bySeq *bolt.Bucket, key []byte, m chat.Message, when, now time.Time, s *story.Story, ref []byte, arena *valueArena) (chat.Message, bool, error) {
	seq, err := out.NextSequence()
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("enqueue: %w", err)
	}
	a := *m.Alert
	a.Number = seq
	a.Also = nil
	m.Alert = &a
	m.Seq = seq
	if m.Created.IsZero() {
		m.Created = now
	}
	v, err := storedMessage(arena, &m, s, ref)
	if err != nil {
		return chat.Message{}, false, err
	}
	if err := out.Put(u64(seq), v); err != nil {
		return chat.Message{}, false, fmt.Errorf("enqueue message %d: %w", seq, err)
	}
	// The record refers to the story as the outbox record does, when
	// that one could (compactable); else it is stored whole.
	rec := &clusterRecord{ClusterAlert: ClusterAlert{To: m.To, ClusterID: a.ClusterID, AlertSeq: seq, Alert: a, At: when}, resolved: true}
	if s != nil && len(ref) == clusterRefLen && compactable(&m, s) {
		rec.ref = ref
	}
	if err := putClusterRecord(recs, key, rec, arena); err != nil {
		return chat.Message{}, false, err
	}
	if err := bySeq.Put(u64(seq), key); err != nil {
		return chat.Message{}, false, fmt.Errorf("index cluster alert %d: %w", seq, err)
	}
	return m, true, nil
}

// addOutlet lists o on a unless its outlet is the alert's own or already
// listed, and reports whether it did. Outlets are told apart by source
// name: a second story from the same outlet updates nothing a reader
// needs.
func addOutlet(a *chat.Alert, o chat.Outlet) bool {
	if o.Source == a.Source || len(a.Also) >= maxOutlets || listed(a.Also, o.Source) {
		return false
	}
	a.Also = append(a.Also, o)
	return true
}

// listed reports whether the outlet source is among also.
func listed(also []chat.Outlet, source string) bool {
	for _, x := range also {
		if x.Source == source {
			return true
		}
	}
	return false
}

func mergeMatched(dst, add []string) []string {
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

// ClusterAlert returns the record of the alert numbered seq (chat.Alert.Number)
// if it was sent to the chat chatKey. ErrNotFound otherwise, also when the
// number belongs to another chat, so one chat cannot read another's alerts.
func (db *DB) ClusterAlert(chatKey string, seq uint64) (ClusterAlert, error) {
	var rec ClusterAlert
	err := db.bolt.View(func(tx *bolt.Tx) error {
		key, r, err := clusterAlertBySeq(tx, chatKey, seq)
		if err != nil {
			return err
		}
		if err := db.resolver(tx).resolveCluster(key, r); err != nil {
			return err
		}
		rec = r.ClusterAlert
		return nil
	})
	if err != nil {
		return ClusterAlert{}, fmt.Errorf("alert %d: %w", seq, err)
	}
	return rec, nil
}

// clusterAlertBySeq returns the key and the record, not yet resolved, of
// the alert numbered seq in the chat chatKey.
func clusterAlertBySeq(tx *bolt.Tx, chatKey string, seq uint64) ([]byte, *clusterRecord, error) {
	key := bucket(tx, bucketClusterSeqs).Get(u64(seq))
	if key == nil {
		return nil, nil, ErrNotFound
	}
	v := bucket(tx, bucketClusterAlerts).Get(key)
	if v == nil {
		return nil, nil, ErrNotFound
	}
	rec, err := decodeClusterRecord(key, v)
	if err != nil {
		return nil, nil, err
	}
	// The record may since belong to a newer alert of the cluster (after
	// the edit window); the number still names the cluster in this chat.
	if rec.To.Key() != chatKey {
		return nil, nil, ErrNotFound
	}
	return bytes.Clone(key), &rec, nil
}

// AlertInfo returns the current version of the alert numbered seq in the
// chat chatKey (query, matched terms, outlets), for /why.
func (db *DB) AlertInfo(chatKey string, seq uint64) (chat.Alert, error) {
	rec, err := db.ClusterAlert(chatKey, seq)
	if err != nil {
		return chat.Alert{}, err
	}
	return rec.Alert, nil
}

// MuteAlert stops further edits of the alert numbered seq, and of any
// later alert of its cluster, in the chat chatKey: the edit waiting in the
// outbox, if any, is removed with it. It returns the alert. The mute needs
// nothing of the alert's story: should its record be gone (see
// cluster_codec.go), the cluster is muted all the same and the alert
// returned lacks the story's title, link and summary.
func (db *DB) MuteAlert(chatKey string, seq uint64) (chat.Alert, error) {
	var a chat.Alert
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		key, rec, err := clusterAlertBySeq(tx, chatKey, seq)
		if err != nil {
			return err
		}
		if rec.PendingEdit != 0 {
			if err := db.outbox.remove(tx, bucket(tx, bucketOutbox), u64(rec.PendingEdit)); err != nil {
				return err
			}
			rec.PendingEdit = 0
		}
		rec.Muted = true
		if err := putClusterRecord(bucket(tx, bucketClusterAlerts), key, rec, nil); err != nil {
			return err
		}
		if err := db.resolver(tx).resolveCluster(key, rec); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		a = rec.Alert
		return nil
	})
	if err != nil {
		return chat.Alert{}, fmt.Errorf("mute alert %d: %w", seq, err)
	}
	return a, nil
}

// Queued reports whether message seq is still in the outbox: an edit that
// was replaced or muted while the dispatcher held it is not.
func (db *DB) Queued(seq uint64) (bool, error) {
	ok := false
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ok = bucket(tx, bucketOutbox).Get(u64(seq)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("outbox lookup %d: %w", seq, err)
	}
	return ok, nil
}

// PruneClusterAlerts forgets the cluster records of alerts queued before
// before (and their numbers), and returns how many records went. Records
// are needed for the edit window and for /why and /mute, so before should
// lie at least a day behind.
func (db *DB) PruneClusterAlerts(before time.Time) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		recs, bySeq := bucket(tx, bucketClusterAlerts), bucket(tx, bucketClusterSeqs)
		var doomed [][]byte
		// Only each record's time is read; an unreadable record is
		// kept, as it was when records were JSON.
		err := recs.ForEach(func(k, v []byte) error {
			if at, _, err := clusterHead(v); err == nil && at.Before(before) {
				doomed = append(doomed, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := recs.Delete(k); err != nil {
				return err
			}
		}
		// Numbers whose record went, or now names a newer alert queued
		// after the cut, are dropped when they point at a missing record.
		var stale [][]byte
		err = bySeq.ForEach(func(k, v []byte) error {
			if recs.Get(v) == nil {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := bySeq.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("prune cluster alerts: %w", err)
	}
	return n, nil
}

// moveClusterAlerts re-files chat from's cluster records under chat to,
// inside MoveChat's transaction, and points the alert numbers at the new
// keys. Should both chats hold a record of one cluster, the newer stays.
func moveClusterAlerts(tx *bolt.Tx, from, to string, rehome func(chat.Address) chat.Address) error {
	recs, bySeq := bucket(tx, bucketClusterAlerts), bucket(tx, bucketClusterSeqs)
	type move struct {
		old, new []byte
		rec      clusterRecord
	}
	var moves []move
	// Keys begin with the cluster (clusterKey), so the chat's records are
	// found by reading them all: a chat moves seldom (a Telegram group
	// becoming a supergroup).
	cur := recs.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		id, chatKey, ok := splitClusterKey(k)
		if !ok || string(chatKey) != from {
			continue
		}
		// Not resolved: a compact record stays compact, referring to
		// the same story.
		r, err := decodeClusterRecord(k, v)
		if err != nil {
			return err
		}
		r.To = rehome(r.To)
		moves = append(moves, move{append([]byte(nil), k...), clusterKey(to, string(id)), r})
	}
	if len(moves) == 0 {
		return nil
	}
	renamed := make(map[string][]byte, len(moves))
	for _, m := range moves {
		if err := recs.Delete(m.old); err != nil {
			return fmt.Errorf("move cluster alert %q: %w", m.old, err)
		}
		renamed[string(m.old)] = m.new
		if have := recs.Get(m.new); have != nil {
			at, _, err := clusterHead(have)
			if err != nil {
				return fmt.Errorf("decode cluster alert %q: %w", m.new, err)
			}
			if at.After(m.rec.At) {
				continue
			}
		}
		if err := putClusterRecord(recs, m.new, &m.rec, nil); err != nil {
			return err
		}
	}
	// Alert numbers name records by key.
	return repointNumbers(bySeq, func(old []byte) ([]byte, bool) {
		nk, ok := renamed[string(old)]
		return nk, ok
	})
}
