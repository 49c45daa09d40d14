package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"frontwire/internal/config"
	"frontwire/internal/storage"
)

// ErrDuplicateSource means a source of that name (ignoring case) or that
// address is already scheduled.
var ErrDuplicateSource = errors.New("a source of that name or address already exists")

// RefusedError is a source an operator asked for that Frontwire will not
// add, with a reason meant for that person: a bad address, a private
// address, a page that is not a feed, a name in use. It wraps the cause,
// so errors.Is(err, ErrPrivateAddress) and the like still hold.
type RefusedError struct {
	Reason string
	Err    error
}

func (e *RefusedError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *RefusedError) Unwrap() error { return e.Err }

// maxNameRunes bounds a source name typed in chat; names appear in every
// alert and in /sources.
const maxNameRunes = 80

// snapshot returns the scheduled entries in order.
func (s *Scheduler) snapshot() []*entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*entry(nil), s.entries...)
}

// lookup finds the entry of the source called name.
func (s *Scheduler) lookup(name string) (*entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byName[name]
	return e, ok
}

// AddSource schedules src beside the others. While Run runs, the source
// gets its cron entry at once; otherwise Run schedules it when it starts.
// It does not poll: call PollNow for an immediate first poll. A name
// already in use (ignoring case) or an address already scheduled is
// ErrDuplicateSource.
func (s *Scheduler) AddSource(src config.Source) error {
	src.Name = strings.TrimSpace(src.Name)
	if src.Name == "" {
		return fmt.Errorf("add source: empty name")
	}
	spec := src.Schedule
	if spec == "" {
		spec = s.defaultSpec
	}
	sched, err := config.ParseSchedule(spec)
	if err != nil {
		return fmt.Errorf("add source %q: %w", src.Name, err)
	}
	e := &entry{src: src, spec: strings.TrimSpace(spec), schedule: sched, host: hostKey(src.URL)}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.entries {
		if strings.EqualFold(o.src.Name, src.Name) {
			return fmt.Errorf("add source %q: the name is taken by %q: %w", src.Name, o.src.Name, ErrDuplicateSource)
		}
		if strings.TrimSpace(o.src.URL) == strings.TrimSpace(src.URL) {
			return fmt.Errorf("add source %q: %q already polls that address: %w", src.Name, o.src.Name, ErrDuplicateSource)
		}
	}
	if s.cron != nil {
		ctx, name := s.runCtx, src.Name
		id, err := s.cron.AddFunc(e.spec, func() { s.scheduled(ctx, name) })
		if err != nil {
			return fmt.Errorf("schedule source %q: %w", name, err)
		}
		s.cronIDs[name] = id
	}
	s.entries = append(s.entries, e)
	s.byName[src.Name] = e
	if _, ok := s.hosts[e.host]; !ok {
		s.hosts[e.host] = make(chan struct{}, s.perHost)
	}
	return nil
}

// RemoveSource stops polling the source called name and waits for a poll
// of it in flight to finish, so that nothing writes its state afterwards.
// ErrUnknownSource when no source has that name.
func (s *Scheduler) RemoveSource(name string) error {
	s.mu.Lock()
	e, ok := s.byName[name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("remove source %q: %w", name, ErrUnknownSource)
	}
	delete(s.byName, name)
	for i, o := range s.entries {
		if o == e {
			s.entries = append(s.entries[:i:i], s.entries[i+1:]...)
			break
		}
	}
	if id, ok := s.cronIDs[name]; ok {
		if s.cron != nil {
			s.cron.Remove(id)
		}
		delete(s.cronIDs, name)
	}
	s.mu.Unlock()
	// A poll that had already started holds busy until its handler has
	// stored the state.
	e.busy.Lock()
	defer e.busy.Unlock()
	return nil
}

// AddedStore keeps the sources added at run time. *storage.DB satisfies it.
type AddedStore interface {
	AddSource(storage.AddedSource) error
	RemoveAddedSource(name string) (storage.AddedSource, error)
	AddedSources() ([]storage.AddedSource, error)
}

// Runtime adds and removes sources while Frontwire runs (the admins'
// /addsource and /removesource) or while it is stopped (`bot sources
// import`). Configured sources are fixed: they change only in the
// configuration file.
type Runtime struct {
	// Scheduler receives added sources at once; nil when Frontwire is not
	// running (the command line), where sources are only stored.
	Scheduler *Scheduler
	Store     AddedStore
	// Fetcher validates a new source by fetching it; it must be built on
	// NewHTTPClient(AllowPrivate) so that the first fetch obeys the same
	// address rules as every later one.
	Fetcher *Fetcher
	// Configured are the sources of the configuration file; their names
	// win over added ones.
	Configured   []config.Source
	AllowPrivate bool
	Logger       *slog.Logger
}

// AddRequest asks Runtime.Add for a source.
type AddRequest struct {
	URL string
	// Name is optional: the feed's own title (else the host) is used.
	Name string
	// By records who added it ("telegram:123", "cli").
	By string
	// NoFetch skips the validating fetch (offline imports); the address
	// rules still apply, and the first scheduled poll does the checking.
	NoFetch bool
}

// Added describes a source Runtime.Add accepted.
type Added struct {
	Source config.Source
	// Items is how many items the validating fetch found (0 with NoFetch).
	Items int
}

// Add validates req and, if it is acceptable, stores the source,
// schedules it and (with a Scheduler) runs its first poll. The address must be http(s), never a file path; unless
// AllowPrivate it must not name a loopback, private or link-local host,
// and the validating fetch goes through the guarded client, which refuses
// such addresses after DNS and on every redirect. The document must parse
// as a feed. Refusals are *RefusedError; storage failures are returned
// as they are.
func (r *Runtime) Add(ctx context.Context, req AddRequest) (Added, error) {
	raw := strings.TrimSpace(req.URL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Added{}, &RefusedError{Reason: "the address must be an http:// or https:// URL of a feed"}
	}
	if msg := config.CheckSourceURL(raw, r.AllowPrivate); msg != "" {
		return Added{}, &RefusedError{Reason: "the address " + msg, Err: ErrPrivateAddress}
	}
	name, err := cleanName(req.Name)
	if err != nil {
		return Added{}, err
	}
	src := config.Source{Name: name, URL: raw}
	res := FetchResult{}
	if !req.NoFetch {
		if r.Fetcher == nil {
			return Added{}, errors.New("add source: no fetcher to validate it with")
		}
		res, err = r.Fetcher.Fetch(ctx, src, storage.SourceState{}, 0)
		if err != nil {
			if ctx.Err() != nil {
				return Added{}, fmt.Errorf("add source: %w", err)
			}
			return Added{}, &RefusedError{Reason: "the first fetch failed, so the source was not added", Err: err}
		}
	}
	if src.Name == "" {
		src.Name, _ = cleanName(res.FeedTitle)
	}
	if src.Name == "" {
		src.Name = u.Hostname()
	}
	if err := r.clash(src); err != nil {
		return Added{}, err
	}
	if err := r.Store.AddSource(storage.AddedSource{Name: src.Name, URL: src.URL, By: req.By}); err != nil {
		if errors.Is(err, storage.ErrSourceExists) {
			return Added{}, &RefusedError{Reason: fmt.Sprintf("a source called %q already exists; choose another name", src.Name), Err: ErrDuplicateSource}
		}
		return Added{}, fmt.Errorf("add source: %w", err)
	}
	if r.Scheduler != nil {
		if err := r.Scheduler.AddSource(src); err != nil {
			// Keep storage and schedule in step.
			if _, rerr := r.Store.RemoveAddedSource(src.Name); rerr != nil {
				r.log().Error("undo added source", "source", src.Name, "error", rerr)
			}
			if errors.Is(err, ErrDuplicateSource) {
				return Added{}, &RefusedError{Reason: "that source is already polled", Err: err}
			}
			return Added{}, fmt.Errorf("add source: %w", err)
		}
		// The first poll now, rather than at the next tick: it marks what
		// the feed already lists as seen (no flood of old stories), so
		// that from the next poll on only new stories alert. A failure
		// here is the source's ordinary failure, shown by /sources.
		if err := r.Scheduler.PollNow(ctx, src.Name); err != nil {
			r.log().Warn("first poll of added source", "source", src.Name, "error", err)
		}
	}
	r.log().Info("source added", "source", src.Name, "by", req.By, "validated", !req.NoFetch)
	return Added{Source: src, Items: res.Items}, nil
}

// clash refuses a name or address already used by a configured or an
// added source.
func (r *Runtime) clash(src config.Source) error {
	added, err := r.Store.AddedSources()
	if err != nil {
		return fmt.Errorf("add source: %w", err)
	}
	all := append([]config.Source(nil), r.Configured...)
	for _, a := range added {
		all = append(all, config.Source{Name: a.Name, URL: a.URL})
	}
	for _, o := range all {
		if strings.EqualFold(strings.TrimSpace(o.Name), src.Name) {
			return &RefusedError{Reason: fmt.Sprintf("a source called %q already exists; choose another name", o.Name), Err: ErrDuplicateSource}
		}
		if strings.TrimSpace(o.URL) == src.URL {
			return &RefusedError{Reason: fmt.Sprintf("that address is already polled as %q", o.Name), Err: ErrDuplicateSource}
		}
	}
	return nil
}

// Remove stops polling an added source and forgets it and its state.
// Configured sources are refused (they live in the configuration file);
// an unknown name is ErrUnknownSource inside a *RefusedError.
func (r *Runtime) Remove(ctx context.Context, name string) (storage.AddedSource, error) {
	name = strings.TrimSpace(name)
	for _, c := range r.Configured {
		if strings.EqualFold(c.Name, name) {
			return storage.AddedSource{}, &RefusedError{Reason: fmt.Sprintf("%q comes from the configuration file; remove it from config.toml and restart Frontwire", c.Name)}
		}
	}
	added, err := r.Store.AddedSources()
	if err != nil {
		return storage.AddedSource{}, fmt.Errorf("remove source: %w", err)
	}
	var found *storage.AddedSource
	for i := range added {
		if strings.EqualFold(added[i].Name, name) {
			found = &added[i]
			break
		}
	}
	if found == nil {
		return storage.AddedSource{}, &RefusedError{Reason: fmt.Sprintf("no added source is called %q; /sources lists them", name), Err: ErrUnknownSource}
	}
	if r.Scheduler != nil {
		if err := r.Scheduler.RemoveSource(found.Name); err != nil && !errors.Is(err, ErrUnknownSource) {
			return storage.AddedSource{}, fmt.Errorf("remove source: %w", err)
		}
	}
	removed, err := r.Store.RemoveAddedSource(found.Name)
	if err != nil {
		return storage.AddedSource{}, fmt.Errorf("remove source: %w", err)
	}
	r.log().Info("source removed", "source", removed.Name)
	return removed, nil
}

func (r *Runtime) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// cleanName collapses white space and refuses names that would be
// confusing in alerts: control and format characters (zero-width,
// right-to-left overrides) and names over maxNameRunes.
func cleanName(s string) (string, error) {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ")
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", &RefusedError{Reason: "the name holds invisible or control characters; use plain text"}
		}
	}
	if utf8.RuneCountInString(s) > maxNameRunes {
		return "", &RefusedError{Reason: fmt.Sprintf("the name is longer than %d characters", maxNameRunes)}
	}
	return s, nil
}

// MergeSources returns the configured sources followed by the added ones
// whose name and address no configured source uses; the configuration
// wins a clash, and each clash is logged.
func MergeSources(configured []config.Source, added []storage.AddedSource, log *slog.Logger) []config.Source {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := append([]config.Source(nil), configured...)
	names := map[string]bool{}
	urls := map[string]bool{}
	for _, c := range configured {
		names[strings.ToLower(strings.TrimSpace(c.Name))] = true
		urls[strings.TrimSpace(c.URL)] = true
	}
	for _, a := range added {
		key := strings.ToLower(strings.TrimSpace(a.Name))
		if names[key] || urls[strings.TrimSpace(a.URL)] {
			log.Warn("added source clashes with a configured one; the configured one is used", "source", a.Name)
			continue
		}
		names[key] = true
		out = append(out, config.Source{Name: a.Name, URL: a.URL})
	}
	return out
}
