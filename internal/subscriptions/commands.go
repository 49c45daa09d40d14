package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"frontwire/internal/chat"
	"frontwire/internal/clock"
	"frontwire/internal/story"
)

// Store persists subscriptions. storage.DB satisfies it.
type Store interface {
	AddSubscription(s *Subscription) error
	UpdateSubscription(s *Subscription) error
	DeleteSubscription(id uint64) error
	Subscription(id uint64) (*Subscription, error)
	ChatSubscriptions(chatKey string) ([]*Subscription, error)
	ForEachSubscription(fn func(*Subscription) error) error
	SetChatPaused(chatKey string, paused bool, by string) ([]*Subscription, error)
	MoveChat(from, to chat.Address) (int, error)
}

// StoryLister gives the stories stored since a time, for /preview.
type StoryLister interface {
	RecentStories(since time.Time) ([]story.Story, error)
}

// SourceInfo is one source's health as /sources shows it.
type SourceInfo struct {
	Name        string
	LastSuccess time.Time
	LastError   string
	Failures    int
	NextPoll    time.Time
	ItemsSeen   int
}

// ServiceConfig wires a Service.
type ServiceConfig struct {
	Store   Store
	Index   *Index
	Stories StoryLister
	// Sources lists the sources' health for /sources.
	Sources func() ([]SourceInfo, error)
	// NotFound reports whether an error from Store means "no such
	// subscription" (storage.ErrNotFound), so that this package need not
	// import storage.
	NotFound          func(error) bool
	Clock             clock.Clock
	Logger            *slog.Logger
	MaxPerChat        int // default 50
	CommandsPerMinute int // per user; default 20
	PreviewWindow     time.Duration
	PreviewMax        int
	// Admins are the users ("telegram:USERID", "discord:USERID") who may
	// add and remove sources from chat (admin_commands.go).
	Admins []string
	// SourceAdmin adds and removes sources for /addsource and
	// /removesource; nil turns those commands off.
	SourceAdmin SourceAdmin
	// Cadence keeps digest cadences, time zones and quiet hours for /set,
	// /quiet and /timezone; nil turns those commands off.
	Cadence CadenceStore
	// Location is the bot's time zone, for chats that set none.
	Location *time.Location
}

// Service runs the platform-neutral chat commands and keeps the index in
// step with the store. Adapters translate their updates into chat.Command
// and call Handle.
type Service struct {
	cfg ServiceConfig
	log *slog.Logger

	mu     sync.Mutex
	recent map[string][]time.Time // command times per user, for the rate limit
}

// NewService returns a Service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxPerChat <= 0 {
		cfg.MaxPerChat = 50
	}
	if cfg.CommandsPerMinute <= 0 {
		cfg.CommandsPerMinute = 20
	}
	if cfg.PreviewWindow <= 0 {
		cfg.PreviewWindow = 24 * time.Hour
	}
	if cfg.PreviewMax <= 0 {
		cfg.PreviewMax = 5
	}
	if cfg.NotFound == nil {
		cfg.NotFound = func(error) bool { return false }
	}
	return &Service{cfg: cfg, log: cfg.Logger, recent: map[string][]time.Time{}}
}

// LoadIndex adds every active subscription in the store to the index and
// returns how many it added. Queries are parsed on every core (at a million
// subscriptions parsing is most of start-up). Subscriptions whose stored
// query no longer parses are logged and skipped, not fatal.
func (s *Service) LoadIndex() (int, error) {
	bulk := s.cfg.Index.NewBulk(runtime.GOMAXPROCS(0))
	walkErr := s.cfg.Store.ForEachSubscription(func(sub *Subscription) error {
		if !sub.Paused {
			bulk.Add(*sub)
		}
		return nil
	})
	n, parseErr := bulk.Close()
	if parseErr != nil {
		s.log.Warn("stored subscriptions that do not parse were skipped", "err", parseErr)
	}
	return n, walkErr
}

// maxCommandLen bounds the text a command may carry; the query limit is
// lower, so this only stops abuse early.
const maxCommandLen = 4096

var mutating = map[string]bool{"subscribe": true, "unsubscribe": true, "pause": true, "resume": true, "set": true}

// Handle runs one command and returns the reply. It never panics on user
// input and always answers.
func (s *Service) Handle(ctx context.Context, cmd chat.Command) chat.Reply {
	if len(cmd.Args) > maxCommandLen {
		return chat.Reply{Text: fmt.Sprintf("That message is too long (%d bytes); a command may be at most %d.", len(cmd.Args), maxCommandLen)}
	}
	if !utf8.ValidString(cmd.Args) {
		cmd.Args = strings.ToValidUTF8(cmd.Args, "")
	}
	if !s.allow(cmd) {
		return chat.Reply{Text: fmt.Sprintf("Slow down: at most %d commands a minute. Try again in a minute.", s.cfg.CommandsPerMinute)}
	}
	if mutating[cmd.Name] && !cmd.CanManage {
		return chat.Reply{Text: "Only this chat's administrators can change its subscriptions. You can still use /list, /preview and /sources."}
	}
	switch cmd.Name {
	case "start":
		return chat.Reply{Text: "Frontwire follows the news for you: subscribe to a query and every new matching story arrives here once, with a short summary.\n\n" + helpText}
	case "help":
		return chat.Reply{Text: helpText}
	case "subscribe":
		return s.subscribe(cmd)
	case "unsubscribe":
		return s.unsubscribe(cmd)
	case "list":
		return s.list(cmd)
	case "pause":
		return s.setPaused(cmd, true)
	case "resume":
		return s.setPaused(cmd, false)
	case "preview":
		return s.preview(cmd)
	case "sources":
		return s.sources()
	case "why":
		return s.why(cmd)
	case "mute":
		return s.mute(cmd)
	case "addsource":
		return s.addSource(ctx, cmd)
	case "removesource":
		return s.removeSource(ctx, cmd)
	case "set":
		return s.setCommand(cmd)
	case "quiet":
		return s.quiet(cmd)
	case "timezone":
		return s.timezone(cmd)
	default:
		return chat.Reply{Text: fmt.Sprintf("Unknown command /%s. Send /help for the list.", truncate(cmd.Name, 32))}
	}
}

const helpText = `Commands:
/subscribe QUERY – get an alert for every new story matching QUERY
/unsubscribe ID – stop one subscription (/unsubscribe all stops every one)
/list – this chat's subscriptions
/pause [ID] – pause one subscription, or all
/resume [ID] – resume one subscription, or all
/preview QUERY – what QUERY would have matched in the last 24 hours
/sources – the news sources and their health
/why N – why you got alert N and who else reported it; /mute N – no more updates of that story here
/addsource URL [name], /removesource NAME – add or remove a feed (the bot's operators only)
/set ID digest hourly|daily 08:00|instant – a digest instead of an alert per story
/quiet 23:00-07:00 – hold alerts at night, one digest when quiet hours end (/quiet off)
/timezone Europe/Kyiv – the chat's time zone for digests and quiet hours

Queries: words are all required (Ukraine peace); "peace plan" is a phrase; Witkoff OR Kushner; -word excludes; (a OR b) c groups; negotiat* is a prefix; title:Witkoff and source:reuters restrict a term. Case and accents do not matter.`

// allow applies the per-user command rate limit: a sliding minute.
func (s *Service) allow(cmd chat.Command) bool {
	user := cmd.From.Platform + ":" + cmd.User
	if cmd.User == "" {
		user = cmd.From.Key() // anonymous channel posts count against the chat
	}
	now := s.cfg.Clock.Now()
	cut := now.Add(-time.Minute)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) > 10000 {
		for u, ts := range s.recent {
			if len(ts) == 0 || ts[len(ts)-1].Before(cut) {
				delete(s.recent, u)
			}
		}
	}
	ts := s.recent[user]
	keep := ts[:0]
	for _, t := range ts {
		if t.After(cut) {
			keep = append(keep, t)
		}
	}
	if len(keep) >= s.cfg.CommandsPerMinute {
		s.recent[user] = keep
		return false
	}
	s.recent[user] = append(keep, now)
	return true
}

func (s *Service) subscribe(cmd chat.Command) chat.Reply {
	text := strings.TrimSpace(cmd.Args)
	if text == "" {
		return chat.Reply{Text: "Tell me what to follow, for example: /subscribe Ukraine peace"}
	}
	q, err := Parse(text)
	if err != nil {
		return chat.Reply{Text: "That query does not work: " + err.Error()}
	}
	existing, err := s.cfg.Store.ChatSubscriptions(cmd.From.Key())
	if err != nil {
		return s.internal("list subscriptions", err)
	}
	norm := q.String()
	for _, e := range existing {
		if eq, err := Parse(e.Query); err == nil && eq.String() == norm {
			return chat.Reply{Text: fmt.Sprintf("This chat already follows that query as #%d.", e.ID)}
		}
	}
	if len(existing) >= s.cfg.MaxPerChat {
		return chat.Reply{Text: fmt.Sprintf("This chat has reached its limit of %d subscriptions. Remove one with /unsubscribe ID first.", s.cfg.MaxPerChat)}
	}
	sub := &Subscription{Chat: cmd.From, Query: text, CreatedBy: cmd.User, Created: s.cfg.Clock.Now()}
	if err := s.cfg.Store.AddSubscription(sub); err != nil {
		return s.internal("add subscription", err)
	}
	if err := s.cfg.Index.Add(*sub); err != nil {
		return s.internal("index subscription", err)
	}
	s.log.Info("subscribed", "chat", cmd.From.Key(), "id", sub.ID)
	return chat.Reply{Public: true, Text: fmt.Sprintf("Subscribed #%d: %s\nEvery new matching story will be posted here. /preview %s shows what matched recently.", sub.ID, text, text)}
}

// owned finds subscription id of the command's chat. IDs typed by users or
// carried by buttons are checked against the chat, so nobody can touch
// another chat's subscription by guessing its number.
func (s *Service) owned(cmd chat.Command, arg string) (*Subscription, *chat.Reply) {
	id, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(arg), "#"), 10, 64)
	if err != nil {
		return nil, &chat.Reply{Text: fmt.Sprintf("%q is not a subscription ID. /list shows the IDs.", truncate(arg, 40))}
	}
	sub, err := s.cfg.Store.Subscription(id)
	if err != nil && !s.cfg.NotFound(err) {
		r := s.internal("load subscription", err)
		return nil, &r
	}
	if err != nil || sub.Chat.Key() != cmd.From.Key() {
		return nil, &chat.Reply{Text: fmt.Sprintf("This chat has no subscription #%d. /list shows the IDs.", id)}
	}
	return sub, nil
}

func (s *Service) unsubscribe(cmd chat.Command) chat.Reply {
	arg := strings.TrimSpace(cmd.Args)
	if arg == "" {
		return chat.Reply{Text: "Which one? /unsubscribe ID, or /unsubscribe all. /list shows the IDs."}
	}
	if strings.EqualFold(arg, "all") {
		subs, err := s.cfg.Store.ChatSubscriptions(cmd.From.Key())
		if err != nil {
			return s.internal("list subscriptions", err)
		}
		for _, sub := range subs {
			if err := s.cfg.Store.DeleteSubscription(sub.ID); err != nil && !s.cfg.NotFound(err) {
				return s.internal("delete subscription", err)
			}
			s.cfg.Index.Remove(sub.ID)
		}
		return chat.Reply{Text: fmt.Sprintf("Removed all %d subscriptions of this chat.", len(subs))}
	}
	sub, refusal := s.owned(cmd, arg)
	if refusal != nil {
		return *refusal
	}
	if err := s.cfg.Store.DeleteSubscription(sub.ID); err != nil {
		return s.internal("delete subscription", err)
	}
	s.cfg.Index.Remove(sub.ID)
	return chat.Reply{Text: fmt.Sprintf("Unsubscribed #%d: %s", sub.ID, sub.Query)}
}

func (s *Service) list(cmd chat.Command) chat.Reply {
	subs, err := s.cfg.Store.ChatSubscriptions(cmd.From.Key())
	if err != nil {
		return s.internal("list subscriptions", err)
	}
	if len(subs) == 0 {
		return chat.Reply{Text: "This chat has no subscriptions yet. Try /subscribe Ukraine peace"}
	}
	var b strings.Builder
	var actions []chat.Action
	fmt.Fprintf(&b, "This chat's subscriptions (%d of %d):", len(subs), s.cfg.MaxPerChat)
	for _, sub := range subs {
		state := ""
		if sub.Paused {
			state = " (paused)"
		}
		fmt.Fprintf(&b, "\n#%d %s%s", sub.ID, sub.Query, state)
		id := strconv.FormatUint(sub.ID, 10)
		toggle := chat.Action{Label: "Pause #" + id, Command: "pause", Args: id}
		if sub.Paused {
			toggle = chat.Action{Label: "Resume #" + id, Command: "resume", Args: id}
		}
		actions = append(actions, chat.Action{Label: "Unsubscribe #" + id, Command: "unsubscribe", Args: id}, toggle)
	}
	return chat.Reply{Text: b.String(), Actions: actions}
}

func (s *Service) setPaused(cmd chat.Command, paused bool) chat.Reply {
	verb := map[bool]string{true: "Paused", false: "Resumed"}[paused]
	arg := strings.TrimSpace(cmd.Args)
	var targets []*Subscription
	if arg == "" || strings.EqualFold(arg, "all") {
		subs, err := s.cfg.Store.ChatSubscriptions(cmd.From.Key())
		if err != nil {
			return s.internal("list subscriptions", err)
		}
		targets = subs
	} else {
		sub, refusal := s.owned(cmd, arg)
		if refusal != nil {
			return *refusal
		}
		targets = []*Subscription{sub}
	}
	n := 0
	for _, sub := range targets {
		if sub.Paused == paused {
			continue
		}
		sub.Paused, sub.PausedBy = paused, ""
		if paused {
			sub.PausedBy = PausedByUser
		}
		if err := s.cfg.Store.UpdateSubscription(sub); err != nil {
			return s.internal("update subscription", err)
		}
		s.reindex(sub)
		n++
	}
	if len(targets) == 1 && arg != "" && !strings.EqualFold(arg, "all") {
		return chat.Reply{Text: fmt.Sprintf("%s #%d: %s", verb, targets[0].ID, targets[0].Query)}
	}
	return chat.Reply{Text: fmt.Sprintf("%s %d subscription(s).", verb, n)}
}

func (s *Service) reindex(sub *Subscription) {
	if sub.Paused {
		s.cfg.Index.Remove(sub.ID)
		return
	}
	if err := s.cfg.Index.Add(*sub); err != nil {
		s.log.Warn("subscription does not parse; left out of the index", "id", sub.ID, "err", err)
	}
}

func (s *Service) preview(cmd chat.Command) chat.Reply {
	text := strings.TrimSpace(cmd.Args)
	if text == "" {
		return chat.Reply{Text: "Tell me which query to try, for example: /preview Witkoff"}
	}
	q, err := Parse(text)
	if err != nil {
		return chat.Reply{Text: "That query does not work: " + err.Error()}
	}
	if s.cfg.Stories == nil {
		return chat.Reply{Text: "No stories are stored yet."}
	}
	stories, err := s.cfg.Stories.RecentStories(s.cfg.Clock.Now().Add(-s.cfg.PreviewWindow))
	if err != nil {
		return s.internal("load recent stories", err)
	}
	var hits []story.Story
	for i := len(stories) - 1; i >= 0; i-- { // newest first
		if ok, _ := q.Match(NewDoc(&stories[i])); ok {
			hits = append(hits, stories[i])
		}
	}
	if len(hits) == 0 {
		return chat.Reply{Text: fmt.Sprintf("Nothing in the last %s of %d stories matches %s.", durationWords(s.cfg.PreviewWindow), len(stories), text)}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d stories from the last %s match %s", len(hits), len(stories), durationWords(s.cfg.PreviewWindow), text)
	if len(hits) > s.cfg.PreviewMax {
		fmt.Fprintf(&b, " (newest %d shown)", s.cfg.PreviewMax)
		hits = hits[:s.cfg.PreviewMax]
	}
	b.WriteString(":")
	for _, st := range hits {
		fmt.Fprintf(&b, "\n\n• %s — %s", st.Title, st.Source)
		if st.Link != "" {
			fmt.Fprintf(&b, "\n%s", st.Link)
		}
	}
	return chat.Reply{Text: b.String()}
}

func (s *Service) sources() chat.Reply {
	if s.cfg.Sources == nil {
		return chat.Reply{Text: "No sources are configured."}
	}
	infos, err := s.cfg.Sources()
	if err != nil {
		return s.internal("list sources", err)
	}
	if len(infos) == 0 {
		return chat.Reply{Text: "No sources are configured."}
	}
	now := s.cfg.Clock.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "%d sources:", len(infos))
	for _, in := range infos {
		fmt.Fprintf(&b, "\n\n%s", in.Name)
		switch {
		case in.LastSuccess.IsZero() && in.LastError == "":
			b.WriteString(": not polled yet")
		case in.LastError != "":
			fmt.Fprintf(&b, ": failing (%d in a row): %s", in.Failures, truncate(in.LastError, 200))
			if !in.LastSuccess.IsZero() {
				fmt.Fprintf(&b, "; last success %s ago", durationWords(now.Sub(in.LastSuccess)))
			}
		default:
			fmt.Fprintf(&b, ": ok, last success %s ago", durationWords(now.Sub(in.LastSuccess)))
		}
		if in.ItemsSeen > 0 {
			fmt.Fprintf(&b, "; %d stories seen", in.ItemsSeen)
		}
		if !in.NextPoll.IsZero() && in.NextPoll.After(now) {
			fmt.Fprintf(&b, "; next poll in %s", durationWords(in.NextPoll.Sub(now)))
		}
	}
	return chat.Reply{Text: b.String()}
}

// Complete offers the chat's subscriptions whose query contains prefix, for
// platforms with autocomplete.
func (s *Service) Complete(ctx context.Context, from chat.Address, prefix string) []chat.Action {
	subs, err := s.cfg.Store.ChatSubscriptions(from.Key())
	if err != nil {
		s.log.Error("complete: list subscriptions", "err", err)
		return nil
	}
	prefix = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(prefix), "#"))
	var out []chat.Action
	for _, sub := range subs {
		id := strconv.FormatUint(sub.ID, 10)
		if prefix != "" && !strings.Contains(strings.ToLower(sub.Query), prefix) && !strings.HasPrefix(id, prefix) {
			continue
		}
		out = append(out, chat.Action{Label: truncate("#"+id+" "+sub.Query, 100), Args: id})
		if len(out) == 25 { // Discord's limit for choices, plenty elsewhere
			break
		}
	}
	return out
}

// ChatGone pauses every active subscription of a chat the platform can no
// longer reach. They are kept, and resume when the chat comes back.
func (s *Service) ChatGone(ctx context.Context, a chat.Address, reason string) error {
	changed, err := s.cfg.Store.SetChatPaused(a.Key(), true, PausedByPlatform)
	if err != nil {
		return fmt.Errorf("pause chat %s: %w", a.Key(), err)
	}
	for _, sub := range changed {
		s.cfg.Index.Remove(sub.ID)
	}
	if len(changed) > 0 {
		s.log.Warn("chat unreachable; subscriptions paused", "chat", a.Key(), "paused", len(changed), "reason", reason)
	}
	return nil
}

// ChatBack resumes the subscriptions that ChatGone paused (those a user
// paused stay paused). It returns how many resumed.
func (s *Service) ChatBack(ctx context.Context, a chat.Address) (int, error) {
	changed, err := s.cfg.Store.SetChatPaused(a.Key(), false, PausedByPlatform)
	if err != nil {
		return 0, fmt.Errorf("resume chat %s: %w", a.Key(), err)
	}
	for _, sub := range changed {
		s.reindex(sub)
	}
	if len(changed) > 0 {
		s.log.Info("chat reachable again; subscriptions resumed", "chat", a.Key(), "resumed", len(changed))
	}
	return len(changed), nil
}

// ChatMoved re-homes a chat's subscriptions (a Telegram group that became a
// supergroup) and refreshes them in the index.
func (s *Service) ChatMoved(ctx context.Context, from, to chat.Address) error {
	n, err := s.cfg.Store.MoveChat(from, to)
	if err != nil {
		return fmt.Errorf("move chat %s to %s: %w", from.Key(), to.Key(), err)
	}
	subs, err := s.cfg.Store.ChatSubscriptions(to.Key())
	if err != nil {
		return fmt.Errorf("move chat %s: %w", to.Key(), err)
	}
	for _, sub := range subs {
		s.reindex(sub)
	}
	s.log.Info("chat moved", "from", from.Key(), "to", to.Key(), "subscriptions", n)
	return nil
}

func (s *Service) internal(what string, err error) chat.Reply {
	s.log.Error("command failed", "step", what, "err", err)
	if errors.Is(err, context.Canceled) {
		return chat.Reply{Text: "Frontwire is shutting down; try again in a moment."}
	}
	return chat.Reply{Text: "Something went wrong on Frontwire's side (" + what + "); nothing was changed. Please try again later."}
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func durationWords(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
