package clusters

import (
	"encoding/hex"
	"hash/fnv"
	"math/rand"
	"strings"
	"testing"

	"frontwire/internal/story"
)

// stem reduces a folded word to a crude phonetic key of at most stemRunes
// letters: Cyrillic transliterated, w→v, y/j→i, g→h, c→k, doubled letters
// once. It is deliberately lossy; rarity weighting keeps the collisions it
// makes between common words cheap. Assign uses its hash, stemHash.
func stem(t string) string {
	var b strings.Builder
	var last rune
	n := 0
	for _, r := range t {
		for _, l := range latin(r) {
			if l == last {
				continue
			}
			b.WriteRune(l)
			last = l
			if n++; n == stemRunes {
				return b.String()
			}
		}
	}
	return b.String()
}

// TestStemHash: stemHash hashes the stem that stem spells, for words of
// every script the stemmer maps and for random bytes.
func TestStemHash(t *testing.T) {
	words := []string{"", "witkoff", "віткофф", "путіним", "putin", "moskau", "москва", "щедрість", "ʼїжак", "talks",
		"東京", "naïve", "aaaaaaa", "wwvvww", "ёжик", "\xff\xfe", "2025", "x"}
	r := rand.New(rand.NewSource(1))
	alphabet := []rune("abcwvyjghqkаввиіїйыгґхкжщюяьъ'ʼ’éß東\uFFFD")
	for range 2000 {
		n := r.Intn(12)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.Intn(len(alphabet))])
		}
		if r.Intn(10) == 0 {
			b.WriteByte(0xff)
		}
		words = append(words, b.String())
	}
	for _, w := range words {
		if got, want := stemHash(w), hashString(stem(w)); got != want {
			t.Errorf("stemHash(%q) = %x, want hash of %q = %x", w, got, stem(w), want)
		}
	}
	for _, p := range [][2]string{{"путіним", "putin"}, {"віткофф", "witkoff"}} {
		if stem(p[0]) != stem(p[1]) {
			t.Errorf("stem(%q) = %q, stem(%q) = %q: want equal", p[0], stem(p[0]), p[1], stem(p[1]))
		}
	}
}

// TestClusterID: IDs round-trip through parseClusterID, which refuses
// every other spelling.
func TestClusterID(t *testing.T) {
	for _, tc := range []struct {
		h uint64
		n uint32
	}{{0, 0}, {1, 0}, {0xdeadbeefcafef00d, 0}, {^uint64(0), 7}, {42, 1234567}} {
		id := formatClusterID(tc.h, tc.n)
		h, n, ok := parseClusterID(id)
		if !ok || h != tc.h || n != tc.n {
			t.Errorf("parse(%q) = %x, %d, %v; want %x, %d", id, h, n, ok, tc.h, tc.n)
		}
	}
	for _, id := range []string{"", "unknown", "0123456789abcde", "0123456789ABCDEF", "0123456789abcdef-0",
		"0123456789abcdef-01", "0123456789abcdef-", "0123456789abcdefx", "0123456789abcdef-1x", "0123456789abcdef-99999999999"} {
		if _, _, ok := parseClusterID(id); ok {
			t.Errorf("parseClusterID(%q) accepted", id)
		}
	}
	// The ID is the FNV-1a hash of the first story's ID, link and title,
	// each followed by a zero byte, as IDs stored before were made.
	s := &story.Story{ID: "a", Link: "https://x.org/1", Title: "Floods in Valencia"}
	h := fnv.New64a()
	for _, f := range []string{s.ID, s.Link, s.Title} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	if got, want := formatClusterID(clusterHash(s), 0), hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("cluster ID %q, want %q", got, want)
	}
}
