package story

import (
	"net/url"
	"strings"
	"testing"
)

func TestCanonicalLink(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"already canonical", "https://example.com/world/2025/ukraine", "https://example.com/world/2025/ukraine"},
		{"whitespace trimmed", " \t https://example.com/a \n", "https://example.com/a"},
		{"scheme and host lowercased, path kept", "HTTPS://News.Example.COM/World/Ukraine-Peace", "https://news.example.com/World/Ukraine-Peace"},
		{"default http port dropped", "http://example.com:80/a", "http://example.com/a"},
		{"default https port dropped", "https://example.com:443/a", "https://example.com/a"},
		{"other port kept", "https://example.com:8443/a", "https://example.com:8443/a"},
		{"http port on https kept", "https://example.com:80/a", "https://example.com:80/a"},
		{"fragment dropped", "https://example.com/a#comments", "https://example.com/a"},
		{"utm parameters dropped in any case", "https://example.com/a?utm_source=rss&UTM_Medium=feed&Utm_Campaign=x", "https://example.com/a"},
		{"click ids dropped", "https://example.com/a?fbclid=IwAR0&gclid=Cj0&msclkid=1&yclid=2&dclid=3", "https://example.com/a"},
		{"newsletter and social ids dropped", "https://example.com/a?mc_cid=1&mc_eid=2&igshid=3&ref_src=twsrc&_hsenc=4&_hsmi=5", "https://example.com/a"},
		{"content parameters kept and sorted", "https://example.com/article?p=2&id=42&utm_source=x", "https://example.com/article?id=42&p=2"},
		{"repeated parameter keeps its order", "https://example.com/s?tag=b&a=1&tag=a", "https://example.com/s?a=1&tag=b&tag=a"},
		{"value encoding kept", "https://example.com/s?q=peace%20talks&lang=uk", "https://example.com/s?lang=uk&q=peace%20talks"},
		{"query bytes a browser escapes are escaped", "https://example.com/s?q=мир talks&x=\"1\" ", "https://example.com/s?q=%D0%BC%D0%B8%D1%80%20talks&x=%221%22"},
		{"empty query dropped", "https://example.com/a?", "https://example.com/a"},
		{"empty pieces dropped", "https://example.com/a?&&id=1&", "https://example.com/a?id=1"},
		{"empty path becomes slash", "https://Example.com", "https://example.com/"},
		{"trailing slash kept", "https://example.com/a/", "https://example.com/a/"},
		{"user info dropped", "https://user:pass@example.com/a", "https://example.com/a"},
		{"disguised host resolved to the real one", "http://bbc.com@evil.example/a", "http://evil.example/a"},
		{"internationalised host in punycode", "https://Пример.рф/новости", "https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8"},
		{"ipv6 with default port", "https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"},
		{"ipv6 with port", "http://[::1]:8080/a", "http://[::1]:8080/a"},
		{"javascript", "javascript:alert(document.cookie)", ""},
		{"javascript with spaces and case", "  JavaScript:alert(1)", ""},
		{"data", "data:text/html;base64,PHNjcmlwdD4=", ""},
		{"mailto", "mailto:news@example.com", ""},
		{"ftp", "ftp://example.com/file", ""},
		{"relative path", "/world/ukraine", ""},
		{"protocol relative", "//example.com/a", ""},
		{"no host", "https:///a", ""},
		{"opaque", "http:example.com/a", ""},
		{"unparsable", "http://exa mple.com/", ""},
		{"bad escape in host", "http://%zz/", ""},
		{"control character", "https://example.com/a\x00b", ""},
		{"empty", "", ""},
		{"too long", "https://example.com/" + strings.Repeat("a", MaxLinkLength), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CanonicalLink(tt.in)
			if got != tt.want {
				t.Errorf("CanonicalLink(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := CanonicalLink(got); again != got {
				t.Errorf("not idempotent: CanonicalLink(%q) = %q", got, again)
			}
		})
	}
}

// One story shared through two channels must be recognised as one.
func TestCanonicalLinkTrackingVariantsAgree(t *testing.T) {
	variants := []string{
		"https://example.com/2025/11/peace-talks?id=7&utm_source=telegram&utm_medium=social#top",
		"HTTPS://EXAMPLE.COM:443/2025/11/peace-talks?fbclid=IwAR3x&id=7",
		"https://example.com/2025/11/peace-talks?gclid=abc&id=7&utm_campaign=morning",
		" https://example.com/2025/11/peace-talks?id=7 ",
	}
	want := "https://example.com/2025/11/peace-talks?id=7"
	for _, v := range variants {
		if got := CanonicalLink(v); got != want {
			t.Errorf("CanonicalLink(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestIsTrackingParam(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"utm_source", true}, {"UTM_TERM", true}, {"utm_", true}, {"fbclid", true},
		{"GCLID", true}, {"id", false}, {"utm", false}, {"ref", false}, {"p", false},
		{"utmsource", false}, {"page", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := isTrackingParam(tt.key); got != tt.want {
				t.Errorf("isTrackingParam(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

// checkLink asserts what every non-empty canonical link is.
func checkLink(t testing.TB, in, out string) {
	t.Helper()
	if out == "" {
		return
	}
	u, err := url.Parse(out)
	if err != nil {
		t.Fatalf("CanonicalLink(%q) = %q, which does not parse: %v", in, out, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		t.Fatalf("CanonicalLink(%q) = %q: scheme %q", in, out, u.Scheme)
	}
	if u.Host == "" || u.Fragment != "" || u.User != nil {
		t.Fatalf("CanonicalLink(%q) = %q: host %q, fragment %q, user %v", in, out, u.Host, u.Fragment, u.User)
	}
	if u.Host != strings.ToLower(u.Host) {
		t.Fatalf("CanonicalLink(%q) = %q: host not lowercase", in, out)
	}
	for piece := range strings.SplitSeq(u.RawQuery, "&") {
		key, _, _ := strings.Cut(piece, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if isTrackingParam(key) {
			t.Fatalf("CanonicalLink(%q) = %q: tracking parameter %q kept", in, out, key)
		}
	}
	if again := CanonicalLink(out); again != out {
		t.Fatalf("CanonicalLink not idempotent: %q -> %q -> %q", in, out, again)
	}
}
