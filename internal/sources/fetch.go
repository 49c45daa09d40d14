// Package sources fetches news feeds and turns their items into stories:
// polite HTTP (conditional GET, size and time limits, Retry-After), local
// files, feed parsing with gofeed in any common character encoding, and the
// per-source schedule with exponential backoff for failing sources.
package sources

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"frontwire/internal/clock"
	"frontwire/internal/config"
	"frontwire/internal/storage"
	"frontwire/internal/story"
)

// MaxFeedBytes caps the decoded size of one feed document. A larger feed
// fails that poll with ErrTooLarge.
const MaxFeedBytes = 10 << 20

// MaxRedirects is how many redirects one fetch follows.
const MaxRedirects = 10

// DefaultTimeout is the total time one HTTP fetch may take, headers and
// body, when the caller does not supply its own client.
const DefaultTimeout = 20 * time.Second

// Sentinel errors; callers branch on them with errors.Is.
var (
	// ErrTooLarge means the feed's decoded body exceeded MaxFeedBytes.
	ErrTooLarge = errors.New("feed larger than 10 MiB")
	// ErrNotFeed means the document is not RSS, Atom or JSON Feed (for
	// example an HTML page).
	ErrNotFeed = errors.New("not an RSS, Atom or JSON feed")
	// ErrTooManyRedirects means the server redirected more than
	// MaxRedirects times.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrPrivateAddress means the source resolved to a loopback or private
	// address while that is not allowed.
	ErrPrivateAddress = errors.New("source address is loopback or private (set bot.allow_private_sources to allow it)")
)

// HTTPError is a non-2xx answer other than 304 and rate limits.
type HTTPError struct {
	Status int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// RetryAfterError is a 429 or 503 answer carrying Retry-After: the source
// must not be asked again before After has passed.
type RetryAfterError struct {
	Status int
	After  time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("HTTP %d %s, retry after %s", e.Status, http.StatusText(e.Status), e.After)
}

// UserAgent returns the User-Agent Frontwire sends, naming its version.
func UserAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "Frontwire/" + version + " (+https://github.com/frontwire/frontwire)"
}

// NewHTTPClient returns the client Frontwire fetches feeds with: a total
// timeout of DefaultTimeout, at most MaxRedirects redirects and, unless
// allowPrivate, a dialer that refuses loopback, private and link-local
// addresses after DNS resolution, so that a source name cannot be pointed
// at the host's own services.
func NewHTTPClient(allowPrivate bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, ErrPrivateAddress)
			}
			if config.IsPrivateAddr(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", ap.Addr(), ErrPrivateAddress)
			}
			return nil
		}
	}
	tr.DialContext = dialer.DialContext
	tr.ResponseHeaderTimeout = DefaultTimeout
	return &http.Client{
		Transport:     tr,
		Timeout:       DefaultTimeout,
		CheckRedirect: checkRedirect,
	}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	// via holds every request made so far: the original and the redirects
	// already followed.
	if len(via) > MaxRedirects {
		return fmt.Errorf("stopped after %d redirects: %w", MaxRedirects, ErrTooManyRedirects)
	}
	return nil
}

// Fetcher fetches and parses feeds. It is safe for concurrent use.
type Fetcher struct {
	client    *http.Client
	userAgent string
	clock     clock.Clock
}

// NewFetcher returns a Fetcher using client (nil: NewHTTPClient(false)),
// sending userAgent (empty: UserAgent("dev")), and reading the time from
// clk (nil: the system clock). The redirect limit is enforced even when the
// caller's client sets no CheckRedirect of its own.
func NewFetcher(client *http.Client, userAgent string, clk clock.Clock) *Fetcher {
	if client == nil {
		client = NewHTTPClient(false)
	} else if client.CheckRedirect == nil {
		c := *client
		c.CheckRedirect = checkRedirect
		client = &c
	}
	if userAgent == "" {
		userAgent = UserAgent("")
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Fetcher{client: client, userAgent: userAgent, clock: clk}
}

// FetchResult is what one fetch found.
type FetchResult struct {
	// NotModified means the source answered 304 (or the file is unchanged):
	// Stories is empty and the stored validators still hold.
	NotModified bool
	Stories     []story.Story
	// ETag and LastModified are the validators to send next time.
	ETag, LastModified string
	// FeedTitle is the feed's own title.
	FeedTitle string
	// Items is how many items the feed document held.
	Items int
}

// Fetch fetches src and parses it into stories, each normalised by
// story.FromItem with summaryMax. state supplies the validators of the last
// successful fetch for a conditional request; they are used only while
// state.URL is src.URL. Errors are *HTTPError, *RetryAfterError,
// ErrTooLarge, ErrNotFeed, ErrTooManyRedirects, ErrPrivateAddress or
// transport and file errors, wrapped with context; their text never holds
// credentials from the URL.
func (f *Fetcher) Fetch(ctx context.Context, src config.Source, state storage.SourceState, summaryMax int) (FetchResult, error) {
	etag, lastMod := state.ETag, state.LastModified
	if state.URL != "" && state.URL != src.URL {
		etag, lastMod = "", ""
	}
	loc, err := locate(src.URL)
	if err != nil {
		return FetchResult{}, err
	}
	var (
		doc  document
		res  FetchResult
		base *url.URL
	)
	if loc.path != "" {
		doc, res, err = f.readFile(loc.path, lastMod)
	} else {
		base = loc.url
		doc, res, err = f.get(ctx, loc.url, etag, lastMod)
	}
	if err != nil || res.NotModified {
		return res, err
	}
	feed, err := parseFeed(doc.body, doc.contentType)
	if err != nil {
		return res, err
	}
	res.FeedTitle = strings.Join(strings.Fields(feed.Title), " ")
	now := f.clock.Now()
	res.Items = len(feed.Items)
	res.Stories = make([]story.Story, 0, len(feed.Items))
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		res.Stories = append(res.Stories, story.FromItem(toItem(it, feedBase(feed.Link, base)), src.Name, summaryMax, now))
	}
	return res, nil
}

// location is where a source lives: exactly one of url and path is set.
type location struct {
	url  *url.URL
	path string
}

func locate(raw string) (location, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return location{}, errors.New("source has no URL")
	}
	u, err := url.Parse(raw)
	if err != nil || len(u.Scheme) <= 1 {
		// No scheme (or a Windows drive letter): a local path.
		return location{path: raw}, nil
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return location{}, errors.New("source URL has no host")
		}
		return location{url: u}, nil
	case "file":
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		if p == "" {
			return location{}, errors.New("file URL has no path")
		}
		return location{path: filepath.FromSlash(p)}, nil
	default:
		return location{}, fmt.Errorf("unsupported URL scheme %q", u.Scheme)
	}
}

// document is a raw feed body and the media type it was served with.
type document struct {
	body        []byte
	contentType string
}

func (f *Fetcher) get(ctx context.Context, u *url.URL, etag, lastMod string) (document, FetchResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return document{}, FetchResult{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastMod != "" {
		req.Header.Set("If-Modified-Since", lastMod)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return document{}, FetchResult{}, cleanURLError(err)
	}
	defer resp.Body.Close()

	res := FetchResult{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		// A 304 may omit the validators; the ones sent still hold.
		if res.ETag == "" {
			res.ETag = etag
		}
		if res.LastModified == "" {
			res.LastModified = lastMod
		}
		res.NotModified = true
		return document{}, res, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), f.clock.Now()); ok {
			return document{}, FetchResult{}, &RetryAfterError{Status: resp.StatusCode, After: after}
		}
		return document{}, FetchResult{}, &HTTPError{Status: resp.StatusCode}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return document{}, FetchResult{}, &HTTPError{Status: resp.StatusCode}
	}

	body := io.Reader(resp.Body)
	// The transport decompresses transparently only when it asked for gzip
	// itself; a caller's transport may not, and some servers compress
	// unasked.
	if !resp.Uncompressed && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return document{}, FetchResult{}, fmt.Errorf("read gzip body: %w", err)
		}
		defer zr.Close()
		body = zr
	}
	data, err := readCapped(body)
	if err != nil {
		return document{}, FetchResult{}, cleanURLError(err)
	}
	return document{body: data, contentType: resp.Header.Get("Content-Type")}, res, nil
}

// readFile reads a local feed. Its modification time and size stand in for
// Last-Modified, so an unchanged file is reported as not modified.
func (f *Fetcher) readFile(path, lastMod string) (document, FetchResult, error) {
	fh, err := os.Open(path)
	if err != nil {
		return document{}, FetchResult{}, fmt.Errorf("open feed file: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return document{}, FetchResult{}, fmt.Errorf("stat feed file: %w", err)
	}
	if fi.IsDir() {
		return document{}, FetchResult{}, fmt.Errorf("feed file %s is a directory", filepath.Base(path))
	}
	validator := fi.ModTime().UTC().Format(time.RFC3339Nano) + " " + strconv.FormatInt(fi.Size(), 10)
	if validator == lastMod {
		return document{}, FetchResult{NotModified: true, LastModified: lastMod}, nil
	}
	data, err := readCapped(fh)
	if err != nil {
		return document{}, FetchResult{}, fmt.Errorf("read feed file: %w", err)
	}
	return document{body: data}, FetchResult{LastModified: validator}, nil
}

// readCapped reads at most MaxFeedBytes of decoded bytes; a longer stream
// is ErrTooLarge. Reading stops there, so a compression bomb costs no more
// than the cap.
func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(data) > MaxFeedBytes {
		return nil, ErrTooLarge
	}
	return data, nil
}

// maxRetryAfter bounds what a server may ask for, so that a silly value
// cannot overflow durations; the backoff caps it further.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return min(d, maxRetryAfter), true
}

// cleanURLError drops the request URL from transport errors: it may carry
// credentials (user:password@ or a key in the query string), and the
// source name already says which feed failed.
func cleanURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, ErrTooManyRedirects) || errors.Is(ue.Err, ErrPrivateAddress) {
			return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
		}
		if ue.Timeout() {
			return fmt.Errorf("%s: timed out: %w", strings.ToLower(ue.Op), ue.Err)
		}
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// contentCharset returns the charset parameter of a Content-Type.
func contentCharset(contentType string) string {
	if contentType == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return params["charset"]
}
