package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/digest"
)

// Buckets of schema v3, for digests and quiet hours.
const (
	// bucketHeld holds alerts waiting for a digest, keyed by chat
	// (chatIndexPrefix), subscription ID and a held sequence number, so
	// that one prefix scan finds a subscription's held alerts in order.
	bucketHeld = "held_alerts"
	// bucketCadence maps a subscription ID to its digest.Cadence (JSON);
	// no entry means instant.
	bucketCadence = "digest_cadence"
	// bucketChatSettings maps a chat key to its digest.ChatSettings (JSON).
	bucketChatSettings = "chat_settings"
)

// migrateV2toV3 creates the buckets of digests and quiet hours.
func migrateV2toV3(tx *bolt.Tx) error {
	for _, name := range []string{bucketHeld, bucketCadence, bucketChatSettings} {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

func heldPrefix(chatKey string, subID uint64) []byte {
	return binary.BigEndian.AppendUint64(chatIndexPrefix(chatKey), subID)
}

// parseHeldKey splits a held key into chat key and subscription ID.
func parseHeldKey(k []byte) (chatKey string, subID uint64, ok bool) {
	l, n := binary.Uvarint(k)
	if n <= 0 || uint64(len(k)-n) != l+16 {
		return "", 0, false
	}
	return string(k[n : n+int(l)]), be64(k[n+int(l):]), true
}

// hold writes an alert to the held bucket, stamping a zero Created with now.
func hold(held *bolt.Bucket, m chat.Message, now time.Time) error {
	if m.Alert == nil {
		return fmt.Errorf("hold message for %s: %w", m.To, errNotAlert)
	}
	seq, err := held.NextSequence()
	if err != nil {
		return fmt.Errorf("hold alert: %w", err)
	}
	if m.Created.IsZero() {
		m.Created = now
	}
	m.Seq = 0
	v, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode held alert: %w", err)
	}
	k := binary.BigEndian.AppendUint64(heldPrefix(m.To.Key(), m.Alert.SubscriptionID), seq)
	if err := held.Put(k, v); err != nil {
		return fmt.Errorf("hold alert of story %q: %w", m.Alert.StoryID, err)
	}
	return nil
}

var errNotAlert = errors.New("only alerts can be held")

// HeldGroups lists every chat and subscription that has held alerts, with
// the time the oldest was held and whether the subscription still exists.
// It implements digest.Store.
func (db *DB) HeldGroups() ([]digest.HeldGroup, error) {
	var out []digest.HeldGroup
	err := db.bolt.View(func(tx *bolt.Tx) error {
		subs := bucket(tx, bucketSubs)
		var last []byte
		return bucket(tx, bucketHeld).ForEach(func(k, v []byte) error {
			chatKey, subID, ok := parseHeldKey(k)
			if !ok {
				return fmt.Errorf("held key %x: %w", k, errShortRecord)
			}
			var m chat.Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode held alert %x: %w", k, err)
			}
			if last == nil || !bytes.Equal(last, k[:len(k)-8]) {
				last = append(last[:0], k[:len(k)-8]...)
				out = append(out, digest.HeldGroup{
					Chat: chatKey, SubscriptionID: subID, Oldest: m.Created,
					Gone: subs.Get(u64(subID)) == nil,
				})
			}
			g := &out[len(out)-1]
			g.Count++
			if m.Created.Before(g.Oldest) {
				g.Oldest = m.Created
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("held alerts: %w", err)
	}
	return out, nil
}

// Held returns the alerts held for one chat, in the order they were held.
func (db *DB) Held(chatKey string) ([]chat.Message, error) {
	var out []chat.Message
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		out, _, err = heldOf(bucket(tx, bucketHeld), chatIndexPrefix(chatKey), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("held alerts of %s: %w", chatKey, err)
	}
	return out, nil
}

// heldOf reads the held alerts under prefix (of the listed subscriptions
// only, when subIDs is not nil), ordered by held sequence, with their keys.
func heldOf(held *bolt.Bucket, prefix []byte, subIDs []uint64) ([]chat.Message, [][]byte, error) {
	type rec struct {
		seq uint64
		key []byte
		m   chat.Message
	}
	var recs []rec
	c := held.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, subID, ok := parseHeldKey(k)
		if !ok {
			return nil, nil, fmt.Errorf("held key %x: %w", k, errShortRecord)
		}
		if subIDs != nil && !slices.Contains(subIDs, subID) {
			continue
		}
		var m chat.Message
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, nil, fmt.Errorf("decode held alert %x: %w", k, err)
		}
		recs = append(recs, rec{seq: be64(k[len(k)-8:]), key: append([]byte(nil), k...), m: m})
	}
	slices.SortFunc(recs, func(a, b rec) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	msgs := make([]chat.Message, len(recs))
	keys := make([][]byte, len(recs))
	for i, r := range recs {
		msgs[i], keys[i] = r.m, r.key
	}
	return msgs, keys, nil
}

// FlushHeld removes the alerts held for the listed subscriptions of a chat
// and enqueues the messages build makes of them (in held order), all in one
// transaction: a crash leaves either the held alerts or the digest, never
// both and never neither. It returns the messages enqueued, Seq set; build
// may return nil to drop the alerts. It implements digest.Store.
func (db *DB) FlushHeld(chatKey string, subIDs []uint64, build func(held []chat.Message) []chat.Message) ([]chat.Message, error) {
	var enqueued []chat.Message
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		enqueued = enqueued[:0]
		held := bucket(tx, bucketHeld)
		msgs, keys, err := heldOf(held, chatIndexPrefix(chatKey), subIDs)
		if err != nil || len(msgs) == 0 {
			return err
		}
		out := bucket(tx, bucketOutbox)
		now := db.now()
		for _, m := range build(msgs) {
			m, err := enqueue(out, m, now)
			if err != nil {
				return err
			}
			enqueued = append(enqueued, m)
		}
		for _, k := range keys {
			if err := held.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("flush held alerts of %s: %w", chatKey, err)
	}
	return enqueued, nil
}

// SubscriptionCadence returns the cadence of subscription id: the zero
// (instant) cadence when none was set. It implements digest.Settings.
func (db *DB) SubscriptionCadence(id uint64) (digest.Cadence, error) {
	// From the copy in memory (settings_cache.go), not a transaction.
	v := db.settings.getCadence(id)
	if v == nil {
		// Before c is declared: decoding into it moves it to the heap.
		return digest.Cadence{}, nil
	}
	var c digest.Cadence
	if err := json.Unmarshal(v, &c); err != nil {
		return digest.Cadence{}, fmt.Errorf("cadence of subscription %d: %w", id, err)
	}
	return c, nil
}

// SetSubscriptionCadence sets the cadence of subscription id; instant
// removes the setting. ErrNotFound if the subscription does not exist.
func (db *DB) SetSubscriptionCadence(id uint64, c digest.Cadence) error {
	if !c.Valid() {
		return fmt.Errorf("set cadence of subscription %d: invalid cadence %+v", id, c)
	}
	db.settings.write.Lock()
	defer db.settings.write.Unlock()
	var v []byte
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if bucket(tx, bucketSubs).Get(u64(id)) == nil {
			return ErrNotFound
		}
		b := bucket(tx, bucketCadence)
		if c.IsInstant() {
			v = nil
			return b.Delete(u64(id))
		}
		var err error
		if v, err = json.Marshal(c); err != nil {
			return err
		}
		return b.Put(u64(id), v)
	})
	if err != nil {
		return fmt.Errorf("set cadence of subscription %d: %w", id, err)
	}
	db.settings.setCadence(id, v)
	return nil
}

// ChatSettings returns the delivery settings of a chat (chat.Address.Key),
// the zero value when none were set. It implements digest.Settings.
func (db *DB) ChatSettings(chatKey string) (digest.ChatSettings, error) {
	// From the copy in memory (settings_cache.go), not a transaction.
	v := db.settings.getChat(chatKey)
	if v == nil {
		// Before s is declared: decoding into it moves it to the heap.
		return digest.ChatSettings{}, nil
	}
	var s digest.ChatSettings
	if err := json.Unmarshal(v, &s); err != nil {
		return digest.ChatSettings{}, fmt.Errorf("settings of chat %s: %w", chatKey, err)
	}
	return s, nil
}

// SetChatSettings stores a chat's delivery settings; the zero value removes
// them.
func (db *DB) SetChatSettings(chatKey string, s digest.ChatSettings) error {
	if chatKey == "" {
		return fmt.Errorf("set chat settings: empty chat key")
	}
	db.settings.write.Lock()
	defer db.settings.write.Unlock()
	var v []byte
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketChatSettings)
		if s == (digest.ChatSettings{}) {
			v = nil
			return b.Delete([]byte(chatKey))
		}
		var err error
		if v, err = json.Marshal(s); err != nil {
			return err
		}
		return b.Put([]byte(chatKey), v)
	})
	if err != nil {
		return fmt.Errorf("set settings of chat %s: %w", chatKey, err)
	}
	db.settings.setChat(chatKey, v)
	return nil
}

// moveHeld re-files the alerts held for chat from under chat to, inside
// MoveChat's transaction. Held keys carry the bucket's own sequence, so
// the moved keys cannot collide with the new chat's.
func moveHeld(tx *bolt.Tx, from, to string, rehome func(chat.Address) chat.Address) error {
	held := bucket(tx, bucketHeld)
	msgs, keys, err := heldOf(held, chatIndexPrefix(from), nil)
	if err != nil {
		return err
	}
	for i, m := range msgs {
		_, subID, _ := parseHeldKey(keys[i])
		m.To = rehome(m.To)
		v, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode held alert: %w", err)
		}
		k := binary.BigEndian.AppendUint64(heldPrefix(to, subID), be64(keys[i][len(keys[i])-8:]))
		if err := held.Delete(keys[i]); err != nil {
			return fmt.Errorf("move held alert %x: %w", keys[i], err)
		}
		if err := held.Put(k, v); err != nil {
			return fmt.Errorf("move held alert %x: %w", keys[i], err)
		}
	}
	return nil
}

// moveChatSettings gives chat to the settings of chat from, unless it has
// its own, and removes from's.
func moveChatSettings(tx *bolt.Tx, from, to string) error {
	b := bucket(tx, bucketChatSettings)
	v := b.Get([]byte(from))
	if v == nil {
		return nil
	}
	if b.Get([]byte(to)) == nil {
		if err := b.Put([]byte(to), append([]byte(nil), v...)); err != nil {
			return fmt.Errorf("move settings of chat %s: %w", from, err)
		}
	}
	if err := b.Delete([]byte(from)); err != nil {
		return fmt.Errorf("move settings of chat %s: %w", from, err)
	}
	return nil
}
