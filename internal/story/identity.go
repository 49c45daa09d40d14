package story

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Prefixes of the identities Identity makes; a stored ID says which rule
// made it.
const (
	IDPrefixGUID = "guid:"
	IDPrefixLink = "link:"
	IDPrefixHash = "hash:"
)

// maxGUIDLength is the longest GUID kept verbatim in an identity. Longer ones
// are hashed so that identities stay short storage keys.
const maxGUIDLength = 512

// Identity names a story so that it is recognised when a feed sends it again.
// The feed's GUID comes first ("guid:"+GUID, trimmed), even when the GUID is
// itself a URL, because feeds promise that it stays the same when the link
// changes; a GUID longer than 512 bytes becomes "guid:sha256:" and the hex of
// the first 16 bytes of its SHA-256, and invalid UTF-8 in a GUID becomes
// U+FFFD. Without a GUID the canonical link names the story
// ("link:"+canonicalLink; the caller passes a link already made canonical by
// CanonicalLink). Without either, the story is named by
// "hash:"+hex of the first 16 bytes of the SHA-256 of its normalised title
// (lowercased, whitespace collapsed) and its date in RFC 3339 UTC, so the
// same instant written in two time zones gives one identity.
func Identity(guid, canonicalLink, title string, published time.Time) string {
	if g := strings.TrimSpace(guid); g != "" {
		// Identities are stored and sent as JSON, which would silently
		// rewrite invalid UTF-8 and so change the identity on a round trip.
		g = strings.ToValidUTF8(g, "\uFFFD")
		if len(g) > maxGUIDLength {
			sum := sha256.Sum256([]byte(g))
			return IDPrefixGUID + "sha256:" + hex.EncodeToString(sum[:16])
		}
		return IDPrefixGUID + g
	}
	if canonicalLink != "" {
		return IDPrefixLink + canonicalLink
	}
	h := sha256.New()
	h.Write([]byte(strings.Join(strings.Fields(strings.ToLower(title)), " ")))
	h.Write([]byte{'\n'})
	h.Write([]byte(published.UTC().Format(time.RFC3339)))
	var sum [sha256.Size]byte
	return IDPrefixHash + hex.EncodeToString(h.Sum(sum[:0])[:16])
}
