package storage

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"frontwire/internal/chat"
	"frontwire/internal/subscriptions"
)

// u64 encodes a sequence number or time as a big-endian key, so that bbolt's
// byte order is numeric order.
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// timeKey maps a time to an ordered uint64: nanoseconds since 1970, with
// earlier times (and the zero time) clamped to 0 so that ordering holds.
func timeKey(t time.Time) uint64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

// maxPlainKey is the longest story ID or link kept as is in the seen sets.
// Longer ones (feeds are outside input, and bbolt refuses keys over 32 KiB)
// are replaced by a digest, which keeps keys small and lookups exact.
const maxPlainKey = 512

// seenKey is the key of a story ID or canonical link in a seen bucket. The
// digest form starts with 0x00, which no ID or URL text starts with.
func seenKey(s string) []byte {
	if len(s) <= maxPlainKey {
		return []byte(s)
	}
	sum := sha256.Sum256([]byte(s))
	return append([]byte{0}, sum[:]...)
}

// Subscriptions are kept in a small binary form rather than JSON because
// ForEachSubscription must load a million of them at start-up: a version
// byte, six length-prefixed strings (platform, chat, thread, query, paused
// by, created by), a flag byte (1 paused, 2 no creation time) and the
// creation time as Unix seconds and nanoseconds, big-endian.
const subCodecV1 = 1

const (
	flagPaused = 1 << iota
	flagNoCreated
)

// subTail is the fixed part after the strings: flags, seconds, nanoseconds.
const subTail = 1 + 8 + 4

var errShortRecord = errors.New("record truncated or damaged")

func encodeSub(s *subscriptions.Subscription) []byte {
	strs := [...]string{s.Chat.Platform, s.Chat.Chat, s.Chat.Thread, s.Query, s.PausedBy, s.CreatedBy}
	n := 1 + subTail
	for _, x := range strs {
		n += binary.MaxVarintLen64 + len(x)
	}
	b := make([]byte, 0, n)
	b = append(b, subCodecV1)
	for _, x := range strs {
		b = binary.AppendUvarint(b, uint64(len(x)))
		b = append(b, x...)
	}
	var flags byte
	if s.Paused {
		flags |= flagPaused
	}
	if s.Created.IsZero() {
		flags |= flagNoCreated
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Created.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(s.Created.Nanosecond()))
}

func decodeSub(id uint64, b []byte) (*subscriptions.Subscription, error) {
	if len(b) == 0 || b[0] != subCodecV1 {
		return nil, fmt.Errorf("subscription %d: unknown encoding", id)
	}
	// One string for the whole record, its fields cut from it: one
	// allocation instead of six, which is most of the cost of loading a
	// million subscriptions.
	all := string(b[1:])
	rest := b[1:]
	off := 0
	var strs [6]string
	for i := range strs {
		l, n := binary.Uvarint(rest)
		if n <= 0 || uint64(len(rest)-n) < l {
			return nil, fmt.Errorf("subscription %d: %w", id, errShortRecord)
		}
		strs[i] = all[off+n : off+n+int(l)]
		rest = rest[n+int(l):]
		off += n + int(l)
	}
	if len(rest) != subTail {
		return nil, fmt.Errorf("subscription %d: %w", id, errShortRecord)
	}
	flags := rest[0]
	s := &subscriptions.Subscription{
		ID:        id,
		Chat:      chat.Address{Platform: strs[0], Chat: strs[1], Thread: strs[2]},
		Query:     strs[3],
		Paused:    flags&flagPaused != 0,
		PausedBy:  strs[4],
		CreatedBy: strs[5],
	}
	if flags&flagNoCreated == 0 {
		sec := int64(binary.BigEndian.Uint64(rest[1:9]))
		nsec := int64(binary.BigEndian.Uint32(rest[9:]))
		s.Created = time.Unix(sec, nsec).UTC()
	}
	return s, nil
}

// chatIndexPrefix is the by-chat index prefix of a chat key: its length as
// a uvarint, then the key, so that "tg:1" never prefixes "tg:12".
func chatIndexPrefix(chatKey string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(chatKey)+8)
	b = binary.AppendUvarint(b, uint64(len(chatKey)))
	return append(b, chatKey...)
}

func chatIndexKey(chatKey string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(chatIndexPrefix(chatKey), id)
}
