package storage

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"frontwire/internal/chat"
	"frontwire/internal/subscriptions"
)

func TestSubscriptionCodecRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := &subscriptions.Subscription{
			ID: rapid.Uint64().Draw(t, "id"),
			Chat: chat.Address{
				Platform: rapid.String().Draw(t, "platform"),
				Chat:     rapid.String().Draw(t, "chat"),
				Thread:   rapid.String().Draw(t, "thread"),
			},
			Query:     rapid.String().Draw(t, "query"),
			Paused:    rapid.Bool().Draw(t, "paused"),
			PausedBy:  rapid.String().Draw(t, "paused_by"),
			CreatedBy: rapid.String().Draw(t, "created_by"),
		}
		if rapid.Bool().Draw(t, "has_time") {
			// Any second from year 1 to 9999, not only the UnixNano range.
			sec := rapid.Int64Range(-62135596800, 253402300799).Draw(t, "sec")
			s.Created = time.Unix(sec, rapid.Int64Range(0, 999999999).Draw(t, "nsec"))
		}
		got, err := decodeSub(s.ID, encodeSub(s))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got.ID != s.ID || got.Chat != s.Chat || got.Query != s.Query || got.Paused != s.Paused ||
			got.PausedBy != s.PausedBy || got.CreatedBy != s.CreatedBy || !got.Created.Equal(s.Created) ||
			got.Created.IsZero() != s.Created.IsZero() {
			t.Fatalf("round trip: got %+v, want %+v", got, s)
		}
	})
}

func TestDecodeSubRejectsDamage(t *testing.T) {
	good := encodeSub(&subscriptions.Subscription{Chat: chat.Address{Platform: "telegram", Chat: "1"}, Query: "peace", Created: t0})
	cases := map[string][]byte{
		"empty":          nil,
		"unknown codec":  append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte(nil), good...), 0),
		"huge length":    {subCodecV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeSub(1, b); err == nil {
				t.Errorf("decodeSub accepted %x", b)
			}
		})
	}
}

// FuzzDecodeSub checks that no stored bytes, however damaged, make the
// decoder panic, and that whatever it accepts encodes back to the same bytes.
func FuzzDecodeSub(f *testing.F) {
	f.Add(encodeSub(&subscriptions.Subscription{Chat: chat.Address{Platform: "discord", Chat: "9", Thread: "t"}, Query: "Witkoff", Paused: true, PausedBy: "user", Created: t0}))
	f.Add(encodeSub(&subscriptions.Subscription{}))
	f.Add([]byte{subCodecV1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSub(7, b)
		if err != nil {
			return
		}
		again := encodeSub(s)
		s2, err := decodeSub(7, again)
		if err != nil || s2.Query != s.Query || s2.Chat != s.Chat || !s2.Created.Equal(s.Created) {
			t.Fatalf("re-encoded record differs: %+v vs %+v (%v)", s2, s, err)
		}
	})
}
