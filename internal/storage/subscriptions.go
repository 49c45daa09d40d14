package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"frontwire/internal/chat"
	"frontwire/internal/subscriptions"
)

var errNilSubscription = errors.New("nil subscription")

// putSub writes s under its ID and indexes it under its chat.
func putSub(subs, byChat *bolt.Bucket, s *subscriptions.Subscription) error {
	if err := subs.Put(u64(s.ID), encodeSub(s)); err != nil {
		return err
	}
	return byChat.Put(chatIndexKey(s.Chat.Key(), s.ID), nil)
}

// AddSubscription stores s under a new ID, which it writes into s.ID (any ID
// already there is replaced).
func (db *DB) AddSubscription(s *subscriptions.Subscription) error {
	if s == nil {
		return fmt.Errorf("add subscription: %w", errNilSubscription)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		subs := bucket(tx, bucketSubs)
		id, err := subs.NextSequence()
		if err != nil {
			return err
		}
		cp := *s
		cp.ID = id
		if err := putSub(subs, bucket(tx, bucketSubsByChat), &cp); err != nil {
			return err
		}
		s.ID = id
		return nil
	})
	if err != nil {
		return fmt.Errorf("add subscription for %s: %w", s.Chat.Key(), err)
	}
	return nil
}

// AddSubscriptions stores all of subs in one transaction, all or none, and
// assigns consecutive new IDs into each. A million take about 4 s of CPU and
// 1.2 GB of transient memory (bbolt holds a transaction's changes in memory
// until commit); splitting into transactions of 100k was measured slower
// (5.7 s) because each one rewrites the by-chat index pages again.
func (db *DB) AddSubscriptions(subs []*subscriptions.Subscription) error {
	for i, s := range subs {
		if s == nil {
			return fmt.Errorf("add subscriptions: item %d: %w", i, errNilSubscription)
		}
	}
	if len(subs) == 0 {
		return nil
	}
	if err := db.addAll(subs); err != nil {
		return fmt.Errorf("add %d subscriptions: %w", len(subs), err)
	}
	return nil
}

func (db *DB) addAll(subs []*subscriptions.Subscription) error {
	ids := make([]uint64, len(subs))
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketSubs)
		byChat := bucket(tx, bucketSubsByChat)
		// IDs only grow, so every new key lands at the end of the bucket:
		// full pages split less and the file stays smaller.
		b.FillPercent = 0.95
		next := b.Sequence()
		index := make([][]byte, len(subs))
		for i, s := range subs {
			next++
			ids[i] = next
			cp := *s
			cp.ID = next
			if err := b.Put(u64(next), encodeSub(&cp)); err != nil {
				return err
			}
			index[i] = chatIndexKey(cp.Chat.Key(), next)
		}
		// bbolt keeps a transaction's inserts in one in-memory node per
		// leaf until commit, and inserting into the middle of it moves
		// everything after: unsorted index keys made 100k adds take a
		// minute. In key order each insert is an append.
		slices.SortFunc(index, bytes.Compare)
		for _, k := range index {
			if err := byChat.Put(k, nil); err != nil {
				return err
			}
		}
		return b.SetSequence(next)
	})
	if err != nil {
		return err
	}
	// Written only after the commit, so a failure leaves the callers'
	// records as they were.
	for i, s := range subs {
		s.ID = ids[i]
	}
	return nil
}

// UpdateSubscription replaces the stored subscription s.ID with s, moving it
// in the by-chat index when its chat changed. ErrNotFound if absent.
func (db *DB) UpdateSubscription(s *subscriptions.Subscription) error {
	if s == nil {
		return fmt.Errorf("update subscription: %w", errNilSubscription)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		subs := bucket(tx, bucketSubs)
		byChat := bucket(tx, bucketSubsByChat)
		old, err := getSub(subs, s.ID)
		if err != nil {
			return err
		}
		if old.Chat.Key() != s.Chat.Key() {
			if err := byChat.Delete(chatIndexKey(old.Chat.Key(), s.ID)); err != nil {
				return err
			}
		}
		return putSub(subs, byChat, s)
	})
	if err != nil {
		return fmt.Errorf("update subscription %d: %w", s.ID, err)
	}
	return nil
}

// DeleteSubscription removes subscription id. ErrNotFound if absent.
func (db *DB) DeleteSubscription(id uint64) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		subs := bucket(tx, bucketSubs)
		old, err := getSub(subs, id)
		if err != nil {
			return err
		}
		if err := subs.Delete(u64(id)); err != nil {
			return err
		}
		return bucket(tx, bucketSubsByChat).Delete(chatIndexKey(old.Chat.Key(), id))
	})
	if err != nil {
		return fmt.Errorf("delete subscription %d: %w", id, err)
	}
	return nil
}

func getSub(subs *bolt.Bucket, id uint64) (*subscriptions.Subscription, error) {
	v := subs.Get(u64(id))
	if v == nil {
		return nil, ErrNotFound
	}
	return decodeSub(id, v)
}

// Subscription returns subscription id. ErrNotFound if absent.
func (db *DB) Subscription(id uint64) (*subscriptions.Subscription, error) {
	var s *subscriptions.Subscription
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		s, err = getSub(bucket(tx, bucketSubs), id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("subscription %d: %w", id, err)
	}
	return s, nil
}

// chatSubs reads the subscriptions of one chat, in ID order, through the
// by-chat index.
func chatSubs(tx *bolt.Tx, chatKey string) ([]*subscriptions.Subscription, error) {
	subs := bucket(tx, bucketSubs)
	prefix := chatIndexPrefix(chatKey)
	var out []*subscriptions.Subscription
	c := bucket(tx, bucketSubsByChat).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != len(prefix)+8 {
			continue
		}
		id := be64(k[len(prefix):])
		s, err := getSub(subs, id)
		if err != nil {
			return nil, fmt.Errorf("index entry %d: %w", id, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// ChatSubscriptions returns the subscriptions of the chat with key chatKey
// (chat.Address.Key), ordered by ID; none is not an error.
func (db *DB) ChatSubscriptions(chatKey string) ([]*subscriptions.Subscription, error) {
	var out []*subscriptions.Subscription
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		out, err = chatSubs(tx, chatKey)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("subscriptions of %s: %w", chatKey, err)
	}
	return out, nil
}

// forEachBatch is how many subscriptions ForEachSubscription decodes per
// read transaction.
const forEachBatch = 8192

// ForEachSubscription calls fn with every subscription in ID order and stops
// at fn's first error, which it returns. fn runs outside any transaction, so
// it may call the DB's other methods; in exchange the walk is not one
// snapshot: subscriptions added or removed meanwhile may or may not be seen.
func (db *DB) ForEachSubscription(fn func(*subscriptions.Subscription) error) error {
	var after []byte // last key handed out
	batch := make([]*subscriptions.Subscription, 0, forEachBatch)
	for {
		batch = batch[:0]
		err := db.bolt.View(func(tx *bolt.Tx) error {
			c := bucket(tx, bucketSubs).Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(batch) < forEachBatch; k, v = c.Next() {
				if len(k) != 8 {
					continue
				}
				s, err := decodeSub(be64(k), v)
				if err != nil {
					return err
				}
				batch = append(batch, s)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read subscriptions: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, s := range batch {
			if err := fn(s); err != nil {
				return err
			}
		}
		after = u64(batch[len(batch)-1].ID)
		if len(batch) < forEachBatch {
			return nil
		}
	}
}

// SetChatPaused pauses or resumes the subscriptions of one chat and returns
// those it changed. Pausing marks every active subscription Paused with
// PausedBy=by; resuming clears only those whose PausedBy is by, so that a
// platform-level resume leaves the chat's own pauses alone.
func (db *DB) SetChatPaused(chatKey string, paused bool, by string) ([]*subscriptions.Subscription, error) {
	var changed []*subscriptions.Subscription
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		changed = changed[:0]
		all, err := chatSubs(tx, chatKey)
		if err != nil {
			return err
		}
		b := bucket(tx, bucketSubs)
		for _, s := range all {
			switch {
			case paused && !s.Paused:
				s.Paused, s.PausedBy = true, by
			case !paused && s.Paused && s.PausedBy == by:
				s.Paused, s.PausedBy = false, ""
			default:
				continue
			}
			if err := b.Put(u64(s.ID), encodeSub(s)); err != nil {
				return err
			}
			changed = append(changed, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set %s paused=%t by %q: %w", chatKey, paused, by, err)
	}
	return changed, nil
}

// MoveChat re-homes every subscription and every pending outbox message of
// the chat from.Key() to the chat `to` (a Telegram group upgraded to a
// supergroup gets a new chat id), and with them, in the same transaction,
// the chat's held digest alerts, its delivery settings (digest times,
// quiet hours) and its story-cluster records (so later outlets still edit
// its alerts, and /why, /mute and mutes keep working). Platform and Chat
// are taken from `to`; a record's Thread is kept unless `to` names one. It
// returns how many subscriptions moved; the rest move too but are not
// counted.
func (db *DB) MoveChat(from, to chat.Address) (int, error) {
	if from.Key() == to.Key() {
		return 0, nil
	}
	rehome := func(a chat.Address) chat.Address {
		a.Platform, a.Chat = to.Platform, to.Chat
		if to.Thread != "" {
			a.Thread = to.Thread
		}
		return a
	}
	moved := 0
	// The chat's settings move too (moveChatSettings): the copy in
	// memory is read again after the commit.
	db.settings.write.Lock()
	defer db.settings.write.Unlock()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		moved = 0
		all, err := chatSubs(tx, from.Key())
		if err != nil {
			return err
		}
		subs := bucket(tx, bucketSubs)
		byChat := bucket(tx, bucketSubsByChat)
		for _, s := range all {
			if err := byChat.Delete(chatIndexKey(from.Key(), s.ID)); err != nil {
				return err
			}
			s.Chat = rehome(s.Chat)
			if err := putSub(subs, byChat, s); err != nil {
				return err
			}
			moved++
		}
		out := bucket(tx, bucketOutbox)
		type upd struct{ k, v []byte }
		var ups []upd
		err = out.ForEach(func(k, v []byte) error {
			// Each record keeps its form: a compact alert still
			// refers to its story (outbox_codec.go).
			nv, err := rehomeRecord(k, v, from.Key(), rehome)
			if err != nil || nv == nil {
				return err
			}
			ups = append(ups, upd{append([]byte(nil), k...), nv})
			return nil
		})
		if err != nil {
			return err
		}
		// Written after the walk: bbolt forbids changing a bucket inside
		// its own ForEach.
		for _, u := range ups {
			if err := out.Put(u.k, u.v); err != nil {
				return err
			}
		}
		if err := moveHeld(tx, from.Key(), to.Key(), rehome); err != nil {
			return err
		}
		if err := moveChatSettings(tx, from.Key(), to.Key()); err != nil {
			return err
		}
		return moveClusterAlerts(tx, from.Key(), to.Key(), rehome)
	})
	if err != nil {
		return 0, fmt.Errorf("move chat %s to %s: %w", from.Key(), to.Key(), err)
	}
	if err := db.bolt.View(db.settings.load); err != nil {
		return moved, fmt.Errorf("move chat %s to %s: reload settings: %w", from.Key(), to.Key(), err)
	}
	return moved, nil
}
