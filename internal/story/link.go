package story

import (
	"net"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

// MaxLinkLength is the longest raw link CanonicalLink accepts. Real article
// links are far shorter; a longer one would only bloat storage keys and chat
// messages.
const MaxLinkLength = 4096

// CanonicalLink returns the stable form of an article link, so that the same
// story reached through differently tagged links is recognised as one.
//
// Only absolute http and https links survive; anything else (javascript:,
// data:, mailto:, relative or unparsable links, links with no host) gives "".
// Surrounding whitespace is trimmed, scheme and host are lowercased, the
// default port (80 for http, 443 for https), user info and the fragment are
// dropped, an internationalised host is written in its ASCII (punycode)
// form, an empty path becomes "/", and tracking parameters are dropped
// from the query (see isTrackingParam). The remaining query parameters are
// sorted by name, keeping the order of repeated names and their original
// encoding. The path is kept exactly as it was.
func CanonicalLink(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxLinkLength {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	// url.Parse has already lowercased the scheme.
	if u.Scheme != "http" && u.Scheme != "https" {
		return ""
	}
	if u.Opaque != "" || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return ""
	}
	if !hostIsASCII(host) {
		// The ASCII (punycode) form is the host's one spelling on the wire;
		// url.URL.String would otherwise percent-encode it, and the same
		// site written both ways would give two links.
		a, err := idna.Lookup.ToASCII(host)
		if err != nil || a == "" {
			return ""
		}
		host = a
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	switch {
	case port != "":
		u.Host = net.JoinHostPort(host, port)
	case strings.IndexByte(host, ':') >= 0:
		u.Host = "[" + host + "]" // IPv6 literal
	default:
		u.Host = host
	}
	// Credentials in a news link are at best noise and at worst a disguise
	// ("https://bbc.com@evil.example/").
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	u.RawQuery = cleanQuery(u.RawQuery)
	u.ForceQuery = false
	if u.Path == "" && u.RawPath == "" {
		u.Path = "/"
	}
	out := u.String()
	// A link the url package itself cannot read back is no link to store.
	if _, err := url.Parse(out); err != nil {
		return ""
	}
	return out
}

// cleanQuery drops tracking parameters and empty pieces from a raw query and
// sorts what is left by parameter name. It works on the raw pieces so that
// the encoding of values is kept as the site wrote it.
func cleanQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type param struct{ key, piece string }
	var params []param
	for piece := range strings.SplitSeq(raw, "&") {
		if piece == "" {
			continue
		}
		key, _, _ := strings.Cut(piece, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if isTrackingParam(key) {
			continue
		}
		params = append(params, param{key, escapeQueryPiece(piece)})
	}
	slices.SortStableFunc(params, func(a, b param) int { return strings.Compare(a.key, b.key) })
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.piece)
	}
	return b.String()
}

// isTrackingParam reports whether a query parameter only tracks the reader
// and never selects content: utm_* in any case, and the click and campaign
// ids of Facebook (fbclid), Google (gclid, dclid, gbraid, wbraid), Microsoft
// (msclkid), Yandex (yclid), Twitter (twclid, ref_src), Instagram (igshid),
// Mailchimp (mc_cid, mc_eid) and HubSpot (_hsenc, _hsmi).
func isTrackingParam(key string) bool {
	if len(key) >= 4 && strings.EqualFold(key[:4], "utm_") {
		return true
	}
	switch strings.ToLower(key) {
	case "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
		"twclid", "ref_src", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi":
		return true
	}
	return false
}

func hostIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// escapeQueryPiece percent-encodes the bytes a browser would encode in a
// query (spaces, quotes, angle brackets, non-ASCII …) and url.Parse lets
// through, so that a canonical link reads back as itself and is safe to put
// in a message.
func escapeQueryPiece(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if queryByteNeedsEscape(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hexDigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if queryByteNeedsEscape(c) {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func queryByteNeedsEscape(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return true
	}
	switch c {
	case '"', '<', '>', '\\', '^', '`', '{', '|', '}':
		return true
	}
	return false
}
