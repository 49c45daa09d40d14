// Package discordtest is a fake Discord for tests: an httptest server that
// the real discordgo session talks to, over REST (gateway discovery, command
// registration, channel messages, interaction callbacks and @original edits)
// and over a gorilla/websocket gateway (HELLO, IDENTIFY/READY, RESUME,
// heartbeats and events the test injects).
//
// It records everything the bot sends, enforces a per-channel bucket and a
// global limit with X-RateLimit-* headers and 429 answers (counting them),
// and can fail chosen channels with 403, 404 or 500 on demand. Time for the
// limits comes from the clock.Clock given in Options.
package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"frontwire/internal/clock"
)

// Options configures a Server. Zero values give a permissive server with
// rate limits switched off.
type Options struct {
	// Token is the bot token the server accepts, without the "Bot " prefix.
	// Empty accepts any token.
	Token string
	// AppID and BotUserID are announced in READY and GET /users/@me.
	AppID     string
	BotUserID string
	// Clock drives the rate limits; nil means the real clock.
	Clock clock.Clock
	// ChannelLimit requests per ChannelWindow are allowed on each channel's
	// message routes; 0 switches the per-channel bucket off.
	ChannelLimit  int
	ChannelWindow time.Duration
	// GlobalLimit requests per GlobalWindow are allowed over all
	// authenticated routes; 0 switches the global limit off.
	GlobalLimit  int
	GlobalWindow time.Duration
	// HeartbeatInterval is announced in HELLO (default 41.25 s).
	HeartbeatInterval time.Duration
}

// Message is one message the bot created with POST /channels/{id}/messages.
type Message struct {
	ID        string
	ChannelID string
	Raw       json.RawMessage       // the request body exactly as received
	Send      discordgo.MessageSend // without components; see Buttons
	Buttons   []Button
	Received  time.Time
}

// Edit is one PATCH of a channel message.
type Edit struct {
	ChannelID string
	MessageID string
	Raw       json.RawMessage
}

// Callback is one POST /interactions/{id}/{token}/callback. Response.Data
// has its components moved to Buttons, since discordgo cannot decode its own
// component interfaces.
type Callback struct {
	InteractionID string
	Token         string
	Raw           json.RawMessage
	Response      discordgo.InteractionResponse
	Buttons       []Button
}

// Button is a button found in a message's action rows.
type Button struct {
	Label    string `json:"label"`
	CustomID string `json:"custom_id"`
	Style    int    `json:"style"`
}

// rows is the JSON of a message's components: action rows of buttons.
type rows []struct {
	Type       int      `json:"type"`
	Components []Button `json:"components"`
}

func (r rows) buttons() []Button {
	var out []Button
	for _, row := range r {
		out = append(out, row.Components...)
	}
	return out
}

// WebhookEdit is one PATCH /webhooks/{app}/{token}/messages/{id}; MessageID
// is "@original" for the original interaction response.
type WebhookEdit struct {
	AppID     string
	Token     string
	MessageID string
	Raw       json.RawMessage
	Edit      discordgo.WebhookEdit // without components; see Buttons
	Buttons   []Button
}

// Followup is one POST /webhooks/{app}/{token} (an interaction follow-up).
type Followup struct {
	AppID string
	Token string
	Raw   json.RawMessage
}

// Registration is one bulk overwrite of application commands; GuildID is
// empty for global commands.
type Registration struct {
	AppID    string
	GuildID  string
	Raw      json.RawMessage
	Commands []*discordgo.ApplicationCommand
}

// Failure is a canned error answer for one channel.
type Failure struct {
	Status  int    // HTTP status: 403, 404, 500...
	Code    int    // Discord JSON error code, e.g. 50001 Missing Access
	Message string // Discord error message
}

// Server is the fake. Create it with New and Close it when done.
type Server struct {
	opts  Options
	clock clock.Clock
	http  *httptest.Server
	up    websocket.Upgrader

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every recorded change
	messages      []Message
	edits         []Edit
	callbacks     []Callback
	webhookEdits  []WebhookEdit
	followups     []Followup
	registrations []Registration
	identifies    int
	resumes       int
	tooMany       int
	nextID        uint64
	failures      map[string]Failure
	forced429     map[string]forced
	channelWins   map[string]*window
	global        window
	conn          *gatewayConn // the current gateway connection, if any
	seq           int64
	sessions      int
}

type forced struct {
	n     int
	after time.Duration
}

// window is a fixed-window request counter.
type window struct {
	start time.Time
	count int
}

// New starts a fake Discord on a loopback port.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.AppID == "" {
		opts.AppID = "100000000000000001"
	}
	if opts.BotUserID == "" {
		opts.BotUserID = opts.AppID
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 41250 * time.Millisecond
	}
	if opts.ChannelWindow <= 0 {
		opts.ChannelWindow = 5 * time.Second
	}
	if opts.GlobalWindow <= 0 {
		opts.GlobalWindow = time.Second
	}
	s := &Server{
		opts:        opts,
		clock:       opts.Clock,
		changed:     make(chan struct{}),
		failures:    map[string]Failure{},
		forced429:   map[string]forced{},
		channelWins: map[string]*window{},
		nextID:      200000000000000000,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/{v}/gateway", s.auth(s.gateway))
	mux.HandleFunc("GET /api/{v}/gateway/bot", s.auth(s.gateway))
	mux.HandleFunc("GET /api/{v}/users/{id}", s.auth(s.user))
	mux.HandleFunc("PUT /api/{v}/applications/{app}/commands", s.auth(s.overwrite))
	mux.HandleFunc("PUT /api/{v}/applications/{app}/guilds/{guild}/commands", s.auth(s.overwrite))
	mux.HandleFunc("POST /api/{v}/channels/{ch}/messages", s.auth(s.createMessage))
	mux.HandleFunc("PATCH /api/{v}/channels/{ch}/messages/{msg}", s.auth(s.editMessage))
	// Interaction endpoints are authenticated by their token, not the bot's.
	mux.HandleFunc("POST /api/{v}/interactions/{id}/{token}/callback", s.callback)
	mux.HandleFunc("PATCH /api/{v}/webhooks/{app}/{token}/messages/{msg}", s.webhookEdit)
	mux.HandleFunc("POST /api/{v}/webhooks/{app}/{token}", s.followup)
	// discordgo adds a trailing slash and the query to the URL it was given.
	mux.HandleFunc("GET /ws/", s.websocket)
	s.http = httptest.NewServer(mux)
	return s
}

// URL is the base URL to give the adapter as its API URL.
func (s *Server) URL() string { return s.http.URL }

// AppID is the application id announced in READY.
func (s *Server) AppID() string { return s.opts.AppID }

// Close drops the gateway connection and stops the server.
func (s *Server) Close() {
	s.DropGateway()
	s.http.CloseClientConnections()
	s.http.Close()
}

// FailChannel makes every message request for channel answer f until
// ClearChannel is called.
func (s *Server) FailChannel(channelID string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[channelID] = f
}

// ClearChannel removes a failure set with FailChannel.
func (s *Server) ClearChannel(channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, channelID)
}

// RateLimitNext makes the next n message requests for channel answer 429
// with retry_after = after. It is bounded on purpose: discordgo retries a
// 429 forever.
func (s *Server) RateLimitNext(channelID string, n int, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced429[channelID] = forced{n: n, after: after}
}

// Messages returns a copy of every created message, in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Edits returns a copy of every channel message edit.
func (s *Server) Edits() []Edit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Edit(nil), s.edits...)
}

// Callbacks returns a copy of every interaction callback.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// WebhookEdits returns a copy of every webhook message edit (@original).
func (s *Server) WebhookEdits() []WebhookEdit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookEdit(nil), s.webhookEdits...)
}

// Followups returns a copy of every interaction follow-up message.
func (s *Server) Followups() []Followup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Followup(nil), s.followups...)
}

// Registrations returns a copy of every command bulk overwrite.
func (s *Server) Registrations() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Registration(nil), s.registrations...)
}

// TooManyRequests is how many 429 answers the server gave.
func (s *Server) TooManyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// Sessions counts gateway sessions established: IDENTIFYs answered with
// READY plus RESUMEs answered with RESUMED.
func (s *Server) Sessions() (identifies, resumes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identifies, s.resumes
}

// Wait blocks until cond returns true (it is called with no lock held each
// time the server records something) or ctx ends.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discordtest: wait: %w", ctx.Err())
		}
	}
}

// WaitMessages waits until at least n messages were created and returns them.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	err := s.Wait(ctx, func() bool { return len(s.Messages()) >= n })
	return s.Messages(), err
}

// WaitCallback waits for the callback to the interaction with the given id.
func (s *Server) WaitCallback(ctx context.Context, interactionID string) (Callback, error) {
	var got Callback
	err := s.Wait(ctx, func() bool {
		for _, c := range s.Callbacks() {
			if c.InteractionID == interactionID {
				got = c
				return true
			}
		}
		return false
	})
	return got, err
}

// WaitWebhookEdit waits for an edit of a message of the interaction whose
// token is given.
func (s *Server) WaitWebhookEdit(ctx context.Context, token string) (WebhookEdit, error) {
	var got WebhookEdit
	err := s.Wait(ctx, func() bool {
		for _, e := range s.WebhookEdits() {
			if e.Token == token {
				got = e
				return true
			}
		}
		return false
	})
	return got, err
}

// WaitRegistrations waits until at least n bulk overwrites arrived.
func (s *Server) WaitRegistrations(ctx context.Context, n int) ([]Registration, error) {
	err := s.Wait(ctx, func() bool { return len(s.Registrations()) >= n })
	return s.Registrations(), err
}

// WaitSessions waits until at least n gateway sessions (READY or RESUMED)
// were established.
func (s *Server) WaitSessions(ctx context.Context, n int) error {
	return s.Wait(ctx, func() bool {
		i, r := s.Sessions()
		return i+r >= n
	})
}

// notifyLocked wakes every Wait; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return strconv.FormatUint(s.nextID, 10)
}

// auth checks the bot token and the global limit before calling next.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if !strings.HasPrefix(got, "Bot ") || (s.opts.Token != "" && got != "Bot "+s.opts.Token) {
			writeError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
		s.mu.Lock()
		ok := s.takeGlobalLocked(w)
		s.mu.Unlock()
		if !ok {
			return
		}
		next(w, r)
	}
}

// takeGlobalLocked counts one request against the global limit, answering
// 429 itself when it is exhausted.
func (s *Server) takeGlobalLocked(w http.ResponseWriter) bool {
	if s.opts.GlobalLimit <= 0 {
		return true
	}
	now := s.clock.Now()
	g := &s.global
	if g.start.IsZero() || !now.Before(g.start.Add(s.opts.GlobalWindow)) {
		g.start, g.count = now, 0
	}
	if g.count >= s.opts.GlobalLimit {
		after := g.start.Add(s.opts.GlobalWindow).Sub(now)
		s.tooMany++
		s.notifyLocked()
		w.Header().Set("X-RateLimit-Global", "true")
		w.Header().Set("X-RateLimit-Scope", "global")
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
		writeTooMany(w, after, true)
		return false
	}
	g.count++
	return true
}

// takeChannelLocked applies the per-channel bucket, forced 429s and
// failures to a channel message request. It writes the answer itself and
// returns false when the request must not proceed.
func (s *Server) takeChannelLocked(w http.ResponseWriter, channelID string) bool {
	if f, ok := s.forced429[channelID]; ok && f.n > 0 {
		f.n--
		s.forced429[channelID] = f
		s.tooMany++
		s.notifyLocked()
		w.Header().Set("X-RateLimit-Limit", "1")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset-After", seconds(f.after))
		w.Header().Set("X-RateLimit-Bucket", "channel-"+channelID)
		w.Header().Set("X-RateLimit-Scope", "user")
		writeTooMany(w, f.after, false)
		return false
	}
	if f, ok := s.failures[channelID]; ok {
		writeError(w, f.Status, f.Code, f.Message)
		return false
	}
	if s.opts.ChannelLimit <= 0 {
		return true
	}
	now := s.clock.Now()
	win := s.channelWins[channelID]
	if win == nil {
		win = &window{}
		s.channelWins[channelID] = win
	}
	if win.start.IsZero() || !now.Before(win.start.Add(s.opts.ChannelWindow)) {
		win.start, win.count = now, 0
	}
	resetAfter := win.start.Add(s.opts.ChannelWindow).Sub(now)
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.opts.ChannelLimit))
	w.Header().Set("X-RateLimit-Reset-After", seconds(resetAfter))
	w.Header().Set("X-RateLimit-Bucket", "channel-"+channelID)
	if win.count >= s.opts.ChannelLimit {
		s.tooMany++
		s.notifyLocked()
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Scope", "user")
		writeTooMany(w, resetAfter, false)
		return false
	}
	win.count++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.ChannelLimit-win.count))
	return true
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func writeTooMany(w http.ResponseWriter, after time.Duration, global bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	// retry_after is in seconds, as a float, as Discord sends it.
	_ = json.NewEncoder(w).Encode(map[string]any{
		"message":     "You are being rate limited.",
		"retry_after": after.Seconds(),
		"global":      global,
	})
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, map[string]any{"message": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func readBody(w http.ResponseWriter, r *http.Request) (json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !json.Valid(b) {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return nil, false
	}
	return b, true
}

func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	ws := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/ws/"
	writeJSON(w, http.StatusOK, map[string]any{"url": ws, "shards": 1})
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != "@me" && r.PathValue("id") != s.opts.BotUserID {
		writeError(w, http.StatusNotFound, 10013, "Unknown User")
		return
	}
	writeJSON(w, http.StatusOK, s.botUser())
}

func (s *Server) botUser() map[string]any {
	return map[string]any{"id": s.opts.BotUserID, "username": "frontwire", "bot": true, "discriminator": "0"}
}

func (s *Server) overwrite(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var cmds []*discordgo.ApplicationCommand
	if err := json.Unmarshal(body, &cmds); err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	s.mu.Lock()
	for _, c := range cmds {
		c.ID = s.newIDLocked()
		c.ApplicationID = r.PathValue("app")
		c.GuildID = r.PathValue("guild")
	}
	s.registrations = append(s.registrations, Registration{
		AppID: r.PathValue("app"), GuildID: r.PathValue("guild"), Raw: body, Commands: cmds,
	})
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cmds)
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	ch := r.PathValue("ch")
	s.mu.Lock()
	if !s.takeChannelLocked(w, ch) {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var send struct {
		discordgo.MessageSend
		Components rows `json:"components"` // shadows the undecodable interface slice
	}
	if err := json.Unmarshal(body, &send); err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	s.mu.Lock()
	id := s.newIDLocked()
	s.messages = append(s.messages, Message{ID: id, ChannelID: ch, Raw: body, Send: send.MessageSend,
		Buttons: send.Components.buttons(), Received: s.clock.Now()})
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "channel_id": ch, "content": send.Content, "embeds": send.Embeds, "author": s.botUser(),
	})
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	ch := r.PathValue("ch")
	s.mu.Lock()
	if !s.takeChannelLocked(w, ch) {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.edits = append(s.edits, Edit{ChannelID: ch, MessageID: r.PathValue("msg"), Raw: body})
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("msg"), "channel_id": ch, "author": s.botUser()})
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var resp struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data *struct {
			discordgo.InteractionResponseData
			Components rows `json:"components"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	cb := Callback{InteractionID: r.PathValue("id"), Token: r.PathValue("token"), Raw: body}
	cb.Response.Type = resp.Type
	if resp.Data != nil {
		cb.Response.Data = &resp.Data.InteractionResponseData
		cb.Buttons = resp.Data.Components.buttons()
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, cb)
	s.notifyLocked()
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhookEdit(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var e struct {
		discordgo.WebhookEdit
		Components rows `json:"components"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	s.mu.Lock()
	s.webhookEdits = append(s.webhookEdits, WebhookEdit{
		AppID: r.PathValue("app"), Token: r.PathValue("token"), MessageID: r.PathValue("msg"), Raw: body,
		Edit: e.WebhookEdit, Buttons: e.Components.buttons(),
	})
	id := s.newIDLocked()
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "author": s.botUser()})
}

func (s *Server) followup(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.followups = append(s.followups, Followup{AppID: r.PathValue("app"), Token: r.PathValue("token"), Raw: body})
	id := s.newIDLocked()
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "author": s.botUser()})
}
